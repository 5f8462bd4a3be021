"""Read and validate the CSV tables into model values; the only module that uses pandas.

Three tables, formats in ``data/README.md``:

- ``current.csv``: one row per binding, ``service,host,port`` (+ ``category,status,pair,note``).
- ``target.csv``: ``service,port`` (+ ``host,category,pair,note``); resolved into one ``Goal``
  per binding plus ``Reservation``s.
- ``ranges.csv``: ``start,end,category`` (+ ``purpose``), the port schema's ranges.

Every cell is read as a string and parsed here, so each mistake gets one ``ReorgError`` naming
the file and line (header = 1) and saying what to do. A DataFrame never leaves this module.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from reorg.model import Binding, Goal, Instance, Range, ReorgError, Reservation, TargetRow
from reorg.names import check_name
from reorg.safeio import parse_int, read_bytes, shorten

CURRENT_REQUIRED = ("service", "host", "port")
TARGET_REQUIRED = ("service", "port")
RANGES_REQUIRED = ("start", "end", "category")
PORT_MIN, PORT_MAX = 1, 65535


@dataclass(frozen=True)
class Inputs:
    """Everything ``reorg check`` reads: the raw rows of each table and the resolved instance."""

    bindings: tuple[Binding, ...]
    targets: tuple[TargetRow, ...]
    ranges: tuple[Range, ...]
    ranges_path: str | None
    instance: Instance


@dataclass(frozen=True)
class _Table:
    """One CSV file, trimmed: ``rows`` are (file line, {column: cell}) with blank lines dropped."""

    path: str
    sha256: str
    rows: tuple[tuple[int, dict[str, str]], ...]


def _read_table(path: Path, required: tuple[str, ...]) -> _Table:
    """Read one CSV as strings; wrap OS, decoding and parser errors with the file named."""
    name = str(path)
    try:
        raw = read_bytes(path, "CSV")  # regular files only, size-capped: no FIFO, no /dev/zero
    except FileNotFoundError:
        raise ReorgError(f"{name}: no such file; check the path or pass another one") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReorgError(
            f"{name}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 CSV"
        ) from None
    text = _unify_line_ends(text)
    if "\0" in text:  # pandas' C parser would end the cell there and read on silently
        raise ReorgError(
            f"{name}:{text.count(chr(10), 0, text.index(chr(0))) + 1}: contains a NUL byte; "
            "save the table as plain UTF-8 CSV text"
        )
    if not text.strip():
        raise ReorgError(f"{name}: file is empty; it needs a header line with {','.join(required)}")
    cells = _plain_cells(text)
    if cells is None:
        cells = _pandas_cells(name, text)
    return _table_of(name, raw, cells, required)


def _unify_line_ends(text: str) -> str:
    """CRLF -> LF, and a lone CR (an old Mac line end) -> LF, so that counting newlines inside
    quoted cells gives exact file lines below. A lone CR inside a quoted cell is the cell's own
    text, not a line end: it is kept (a note holding one shows as ``\\x0d``, not as a newline)."""
    text = text.replace("\r\n", "\n")
    if "\r" not in text:
        return text
    # Split at quotes: even parts lie outside quoted cells (a doubled quote inside a cell adds
    # an empty even part, which holds no CR).
    parts = text.split('"')
    return '"'.join(part.replace("\r", "\n") if i % 2 == 0 else part for i, part in enumerate(parts))


def _plain_cells(text: str) -> list[list[str]] | None:
    """The cells of a table without any quote, where no row has more cells than the header: one
    row per line, split at commas, padded with blanks; what pandas gives for such text (a test
    compares them), without importing pandas (0.3 s of CPU, a tenth of planning 10,000 bindings).
    None for any other text: pandas reads it and names what is wrong."""
    if '"' in text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines[0].strip():  # a blank first line: pandas says what it makes of it
        return None
    width = lines[0].count(",")
    rows = [line.split(",") for line in lines]
    for row in rows:
        if len(row) > width + 1:
            return None
        if len(row) <= width:
            row.extend([""] * (width + 1 - len(row)))
    return rows


def _pandas_cells(name: str, text: str) -> list[list[str]]:
    """The cells of any CSV text, by pandas; its parser errors become one line naming the file line."""
    # Imported here, not at the top: pandas takes a second to import, and commands that read no
    # table (reorg scan, status, --help) should not pay for it. Still the only pandas user.
    import pandas as pd

    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.ParserError as exc:
        message = str(exc)
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if "EOF inside string" in message:  # pandas names a record, not a file line
            raise ReorgError(
                f"{name}: not a valid CSV file (the quote opened on line {_unclosed_quote_line(text)} "
                "is never closed); add the closing '\"' or remove the opening one"
            ) from None
        if found:
            want, record, saw = found.groups()  # pandas counts records, not file lines
            line = _record_line(text, int(record))
            raise ReorgError(
                f"{name}:{line}: {saw} fields but the header has {want}; "
                "quote cells that contain a comma"
            ) from None
        raise ReorgError(
            f"{name}: not a valid CSV file ({message.strip()}); fix the quoting"
        ) from None
    except (pd.errors.EmptyDataError, ValueError) as exc:
        raise ReorgError(f"{name}: not a valid CSV file ({exc}); fix it and retry") from None
    return [[("" if pd.isna(v) else str(v)) for v in row] for row in frame.itertuples(index=False)]


def _table_of(name: str, raw: bytes, cells: list[list[str]], required: tuple[str, ...]) -> _Table:
    """Check the header, drop blank rows, and number each row with its file line."""
    header = [c.strip().lower() for c in cells[0]]
    line = 1 + sum(c.count("\n") for c in cells[0])
    seen: set[str] = set()
    for column in header:
        if column and column in seen:
            raise ReorgError(f"{name}:1: column '{column}' appears twice; keep one")
        seen.add(column)
    missing = [c for c in required if c not in seen]
    if missing:
        other = [sep for sep in (";", "\t", "|") if len(header) == 1 and sep in header[0]]
        hint = f"; columns are separated by ',', not {other[0]!r}" if other else ""
        raise ReorgError(
            f"{name}:1: missing required column '{missing[0]}' "
            f"(the header needs {','.join(required)}){hint}"
        )
    rows = []
    for cells_of_row in cells[1:]:
        line += 1
        values = {col: cell.strip() for col, cell in zip(header, cells_of_row, strict=False) if col}
        if any(values.values()):
            rows.append((line, values))
        line += sum(c.count("\n") for c in cells_of_row)
    return _Table(name, hashlib.sha256(raw).hexdigest(), tuple(rows))


def _record_line(text: str, record: int) -> int:
    """The file line where CSV record ``record`` (1 = header) starts: quoted cells may span lines."""
    line, inside, current = 1, False, 1
    for char in text:
        if char == '"':
            inside = not inside
        elif char == "\n":
            line += 1
            if not inside:
                current += 1
                if current == record:
                    return line
    return line


def _unclosed_quote_line(text: str) -> int:
    """The file line where the quote that is never closed opens (a doubled quote toggles twice)."""
    line, inside, opened = 1, False, 1
    for char in text:
        if char == '"':
            inside = not inside
            opened = line if inside else opened
        elif char == "\n":
            line += 1
    return opened


def _parse_port(where: str, text: str, what: str = "port") -> int:
    port = parse_int(text)  # ASCII digits, at most 10: no '²', no 5,000-digit numbers
    if port is None:
        raise ReorgError(f"{where}: {what} '{shorten(text)}' is not an integer; write a number 1-65535")
    if not PORT_MIN <= port <= PORT_MAX:
        raise ReorgError(f"{where}: {what} {port} is outside 1-65535; use a valid TCP port")
    return port


def _require(where: str, values: dict[str, str], column: str) -> str:
    value = values.get(column, "")
    if not value:
        raise ReorgError(f"{where}: blank {column}; every row needs one")
    return value


def _optional_name(where: str, values: dict[str, str], column: str) -> str:
    """An optional name column: blank, or a valid name (see reorg.names)."""
    value = values.get(column, "")
    return check_name(value, column, where) if value else ""


def read_current(path: Path) -> tuple[Binding, ...]:
    """Bindings of ``current.csv``, sorted by (host, port, service); (service, host) unique."""
    return _bindings_of(_read_table(path, CURRENT_REQUIRED))


def _bindings_of(table: _Table) -> tuple[Binding, ...]:
    bindings: list[Binding] = []
    first_line: dict[tuple[str, str], int] = {}
    for line, values in table.rows:
        where = f"{table.path}:{line}"
        service = check_name(_require(where, values, "service"), "service", where)
        host = check_name(_require(where, values, "host"), "host", where)
        if not values.get("port"):
            raise ReorgError(f"{where}: blank port; every binding needs the port it listens on")
        port = _parse_port(where, values["port"])
        if (service, host) in first_line:
            raise ReorgError(
                f"{where}: duplicate binding {service} on {host} "
                f"(first at line {first_line[(service, host)]}); keep one row per service and host"
            )
        first_line[(service, host)] = line
        bindings.append(
            Binding(
                service=service,
                host=host,
                port=port,
                category=_optional_name(where, values, "category"),
                status=values.get("status", ""),
                pair=_optional_name(where, values, "pair"),
                line=line,
                source=values.get("source", ""),
                note=values.get("note", ""),
            )
        )
    return tuple(sorted(bindings, key=lambda b: (b.host, b.port, b.service)))


def read_target(path: Path) -> tuple[TargetRow, ...]:
    """Rows of ``target.csv`` in file order; at most one row per (service, host or every host)."""
    return _targets_of(_read_table(path, TARGET_REQUIRED))


def _targets_of(table: _Table) -> tuple[TargetRow, ...]:
    rows: list[TargetRow] = []
    first_line: dict[tuple[str, str | None], int] = {}
    for line, values in table.rows:
        where = f"{table.path}:{line}"
        service = check_name(_require(where, values, "service"), "service", where)
        host = _optional_name(where, values, "host") or None
        port = _parse_port(where, values["port"]) if values.get("port") else None
        key = (service, host)
        if key in first_line:
            on = f"on {host}" if host else "on every host"
            raise ReorgError(
                f"{where}: conflicting target rows for {service} {on} "
                f"(first at line {first_line[key]}); keep one"
            )
        first_line[key] = line
        rows.append(
            TargetRow(
                service=service,
                host=host,
                port=port,
                category=_optional_name(where, values, "category"),
                pair=_optional_name(where, values, "pair"),
                line=line,
                note=values.get("note", ""),
            )
        )
    return tuple(rows)


def read_ranges(path: Path) -> tuple[Range, ...]:
    """Port ranges of ``ranges.csv``, sorted by start; each start <= end, category not blank."""
    table = _read_table(path, RANGES_REQUIRED)
    ranges = []
    for line, values in table.rows:
        where = f"{table.path}:{line}"
        start = _parse_port(where, _require(where, values, "start"), "start")
        end = _parse_port(where, _require(where, values, "end"), "end")
        if start > end:
            raise ReorgError(f"{where}: start {start} is after end {end}; swap them")
        category = check_name(_require(where, values, "category"), "category", where)
        ranges.append(Range(start, end, category, values.get("purpose", "")))
    return tuple(sorted(ranges))


def resolve_goals(
    bindings: tuple[Binding, ...], targets: tuple[TargetRow, ...]
) -> tuple[tuple[Goal, ...], tuple[Reservation, ...]]:
    """One goal per binding (host row > every-host row > keep) and the reservations.

    A target row with a port makes a reservation where its service does not run: a row without
    host for a service that runs nowhere reserves the port on every host; a host row for a host
    the service does not run on reserves it on that host. A row with an empty port where the
    service does not run is a dropped reservation and produces nothing.
    """
    by_key = {(t.service, t.host): t for t in targets}
    goals = []
    for b in bindings:
        row = by_key.get((b.service, b.host)) or by_key.get((b.service, None))
        goals.append(Goal(b.service, b.host, b.port, b.port if row is None else row.port))
    running = {(b.service, b.host) for b in bindings}
    services = {b.service for b in bindings}
    reservations = set()
    for t in targets:
        if t.port is None:
            continue
        nowhere = t.host is None and t.service not in services
        elsewhere = t.host is not None and (t.service, t.host) not in running
        if nowhere or elsewhere:
            reservations.add(Reservation(t.service, t.host, t.port, t.line))
    ordered = sorted(reservations, key=lambda r: (r.port, r.host or "", r.service, r.line))
    return tuple(goals), tuple(ordered)


def collect_pairs(
    bindings: tuple[Binding, ...],
    targets: tuple[TargetRow, ...],
    current_path: str,
    target_path: str,
) -> tuple[tuple[str, str], ...]:
    """Sorted unique (frontend, backend) of both tables' ``pair`` columns; both must be known."""
    known = {b.service for b in bindings} | {t.service for t in targets}
    pairs = set()
    named = [
        (current_path, b.line, b.service, b.pair) for b in sorted(bindings, key=lambda b: b.line)
    ]
    named += [(target_path, t.line, t.service, t.pair) for t in targets]
    for path, line, front, back in named:
        if not back:
            continue
        if back == front:
            raise ReorgError(f"{path}:{line}: {front} is paired with itself; name its backend")
        if back not in known:
            raise ReorgError(
                f"{path}:{line}: pair '{back}' is not a service of either table; "
                "fix the name or add the service"
            )
        pairs.add((front, back))
    return tuple(sorted(pairs))


def load_inputs(current_path: Path, target_path: Path, ranges_path: Path | None = None) -> Inputs:
    """Read, validate and resolve the tables. ``ranges_path`` None skips the ranges."""
    current = _read_table(current_path, CURRENT_REQUIRED)
    target = _read_table(target_path, TARGET_REQUIRED)
    bindings = _bindings_of(current)
    targets = _targets_of(target)
    ranges = read_ranges(ranges_path) if ranges_path is not None else ()
    goals, reservations = resolve_goals(bindings, targets)
    pairs = collect_pairs(bindings, targets, current.path, target.path)
    instance = Instance(
        bindings=bindings,
        goals=goals,
        reservations=reservations,
        pairs=pairs,
        current_path=current.path,
        target_path=target.path,
        current_sha256=current.sha256,
        target_sha256=target.sha256,
    )
    return Inputs(
        bindings=bindings,
        targets=targets,
        ranges=ranges,
        ranges_path=None if ranges_path is None else str(ranges_path),
        instance=instance,
    )


def load_instance(current_path: Path, target_path: Path) -> Instance:
    """The planners' input: validated bindings, one goal each, reservations and pairs."""
    return load_inputs(current_path, target_path).instance
