"""The scan's files: ``current.csv`` (the bundled table's columns, ``source`` = ``file:line``) and
``references.csv`` (``file,line,column,port,kind,service,host,role``), written and read back.

Written with the standard ``csv`` module (pandas stays in ``reorg.tables``, which reads the
scan's current.csv like any other). Deterministic: sorted rows, ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from reorg.model import ReorgError
from reorg.safeio import parse_int, read_text
from reorg.scan.model import Role, Row, Scan

CURRENT_COLUMNS = ("service", "host", "port", "category", "status", "pair", "source", "note")
REFERENCE_COLUMNS = ("file", "line", "column", "port", "kind", "service", "host", "role")
SCAN_FORMAT = "reorg-scan/1"


def _csv(header: tuple[str, ...], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def render_current_csv(scan: Scan) -> str:
    rows = sorted(scan.bindings, key=lambda b: (b.host, b.port, b.service))
    return _csv(CURRENT_COLUMNS, [[b.service, b.host, b.port, "", b.status, "", b.source, b.note] for b in rows])


def render_references_csv(scan: Scan) -> str:
    return _csv(REFERENCE_COLUMNS, [[r.file, r.line, r.column, r.port, r.kind, r.service, r.host, r.role.value] for r in scan.rows])


def scan_to_dict(scan: Scan) -> dict[str, Any]:
    return {
        "format": SCAN_FORMAT,
        "root": scan.root,
        "files_read": scan.files_read,
        "files_unread": list(scan.unread),
        "bindings": [
            {"service": b.service, "host": b.host, "port": b.port, "status": b.status, "source": b.source, "note": b.note}
            for b in scan.bindings
        ],
        "references": [r.to_dict() for r in scan.rows],
        "notices": [str(n) for n in scan.notices],
    }


def render_scan_json(scan: Scan, extra: dict[str, Any] | None = None) -> str:
    return json.dumps({**scan_to_dict(scan), **(extra or {})}, indent=2, sort_keys=True) + "\n"


def read_references(path: Path) -> tuple[Row, ...]:
    """Rows of a references.csv; a ReorgError naming ``file:line`` for anything malformed."""
    text = read_text(Path(path), "references")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ReorgError(f"{path}: empty; write it with `reorg scan`") from None
    missing = [c for c in REFERENCE_COLUMNS if c not in header]
    if missing:
        raise ReorgError(f"{path}:1: missing column(s) {', '.join(missing)}; write it with `reorg scan`")
    index = {c: header.index(c) for c in REFERENCE_COLUMNS}
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            raise ReorgError(f"{path}:{number}: {len(cells)} cells, expected {len(header)}")
        get = {c: cells[i].strip() for c, i in index.items()}
        numbers: dict[str, int] = {}
        for column in ("line", "column", "port"):
            value = parse_int(get[column])
            if value is None or value < 1 or (column == "port" and value > 65535):
                raise ReorgError(f"{path}:{number}: {column} {get[column]!r} is not a positive integer")
            numbers[column] = value
        try:
            role = Role(get["role"])
        except ValueError:
            raise ReorgError(f"{path}:{number}: role {get['role']!r} is neither binding nor reference") from None
        if not get["file"] or get["file"].startswith("/") or ".." in get["file"].split("/"):
            raise ReorgError(f"{path}:{number}: file {get['file']!r} must be a path inside the scanned tree")
        rows.append(Row(get["file"], numbers["line"], numbers["column"], numbers["port"], get["kind"], get["service"], get["host"], role))
    return tuple(rows)
