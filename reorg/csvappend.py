"""Append one row to a CSV file in the file's own style, never touching the lines already there.

``reorg port --add`` adds a row to target.csv (and current.csv). A hand-kept table has its own
habits: CRLF or LF line ends, a BOM, every cell quoted or only where needed, columns in its own
order. The new line copies them; the bytes before it stay as they were (the file is replaced
atomically with the old bytes plus the new line).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from reorg.atomic import write_text_atomic
from reorg.model import ReorgError
from reorg.safeio import decode_text, read_bytes


def csv_line(header: list[str], values: dict[str, str], newline: str, quote_all: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, lineterminator=newline, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    writer.writerow([values.get(name.strip().lower(), "") for name in header])
    return buffer.getvalue()


def append_row(path: Path, values: dict[str, str], required: tuple[str, ...] = ()) -> str:
    """Append ``values`` (column name -> cell) as one line; returns the line written.

    A value for a column the file lacks is left out, unless the column is ``required``."""
    text = decode_text(read_bytes(path, "CSV file"), path, "CSV file")
    body = text[1:] if text.startswith("\ufeff") else text
    first = body.split("\n", 1)[0]
    if not first.strip():
        raise ReorgError(f"{path}: has no header line; cannot append to it")
    newline = "\r\n" if first.endswith("\r") else "\n"
    header_text = first.rstrip("\r")
    header = next(csv.reader([header_text]))
    names = [h.strip().lower() for h in header]
    for name in required:
        if values.get(name) and name not in names:
            raise ReorgError(f"{path}:1: no column '{name}' to put {values[name]!r} in; add it to the header")
    cells = [c.strip() for c in header_text.split(",")]
    quote_all = all(len(c) >= 2 and c.startswith('"') and c.endswith('"') for c in cells)
    line = csv_line(header, values, newline, quote_all)
    separator = "" if text.endswith("\n") or not body else newline
    write_text_atomic(path, text + separator + line)
    return line
