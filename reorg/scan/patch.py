"""The lines a plan's steps edit, and the patch that rewrites them.

A step moves one binding (service, host) from one port to another. Its lines are the rows of
``references.csv`` that belong to that binding and name its port as the scan saw it (the
binding's port before its first step): binding lines first, then references. Every step of one
binding rewrites the same literals, so a temp port goes out and comes back through the same
places. The patch rewrites exactly those literals (the standalone number nearest the recorded
column, as earlier steps may have changed the line's length), prints a unified diff
(``difflib``), and with ``write`` replaces the files atomically: only regular files inside the
scanned root, and never when a line no longer says what the scan saw.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from reorg.atomic import write_texts_atomic
from reorg.model import Plan, ReorgError, Step
from reorg.scan.model import Role, Row
from reorg.scan.walk import MAX_BYTES


def base_ports(plan: Plan) -> dict[tuple[str, str], int]:
    """Each moving binding's port before the plan: the from-port of its first step."""
    first: dict[tuple[str, str], int] = {}
    for step in sorted(plan.steps, key=lambda s: s.step):
        first.setdefault((step.service, step.host), step.from_port)
    return first


def lines_per_step(plan: Plan, rows: tuple[Row, ...]) -> dict[int, tuple[Row, ...]]:
    """Step number -> the rows it edits, binding lines first, then references."""
    ports = base_ports(plan)
    mine: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        key = (row.service, row.host)
        if ports.get(key) == row.port:
            mine[key].append(row)
    for key in mine:
        mine[key].sort(key=lambda r: (r.role is not Role.BINDING, r.file, r.line, r.column))
    return {s.step: tuple(mine.get((s.service, s.host), ())) for s in plan.steps}


@dataclass(frozen=True)
class FileChange:
    file: str
    path: Path
    before: str
    after: str
    mode: int

    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
            fromfile=f"a/{self.file}", tofile=f"b/{self.file}",
        ))


@dataclass(frozen=True)
class PatchResult:
    step: Step
    reverse: bool
    rows: tuple[Row, ...]
    changes: tuple[FileChange, ...]
    written: bool = False

    @property
    def diff(self) -> str:
        text = "".join(change.diff() for change in self.changes)
        return text if text.endswith("\n") or not text else text + "\n"


def make_patch(plan: Plan, number: int, rows: tuple[Row, ...], root: Path, reverse: bool = False) -> PatchResult:
    """The patch of step ``number`` (its undo with ``reverse``); ReorgError if a line changed."""
    step = next((s for s in plan.steps if s.step == number), None)
    if step is None:
        raise ReorgError(f"step {number}: no such step; the plan has steps 1-{len(plan.steps)}")
    mine = lines_per_step(plan, rows)[number]
    if step.to_port is None:  # a retirement rewrites nothing: the service is stopped by hand
        return PatchResult(step, reverse, mine, ())
    old, new = (step.to_port, step.from_port) if reverse else (step.from_port, step.to_port)
    per_file: dict[str, list[Row]] = defaultdict(list)
    for row in mine:
        per_file[row.file].append(row)
    changes = []
    for file in sorted(per_file):
        path, text, mode = _read_inside(root, file)
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        lines = text[len(bom):].split("\n")
        for row in sorted(per_file[file], key=lambda r: (r.line, -r.column)):
            if row.line > len(lines):
                raise ReorgError(f"{file}:{row.line}: the file has only {len(lines)} lines now; scan again before patching")
            lines[row.line - 1] = _rewrite(file, row, lines[row.line - 1], old, new)
        after = bom + "\n".join(lines)
        if after != text:
            changes.append(FileChange(file, path, text, after, mode))
    return PatchResult(step, reverse, mine, tuple(changes))


def write_patch(result: PatchResult) -> PatchResult:
    """Replace the files of a patch (all or none as far as the filesystem allows), keeping modes."""
    if result.changes:
        write_texts_atomic([(c.path, c.after) for c in result.changes])
        for change in result.changes:
            os.chmod(change.path, stat.S_IMODE(change.mode))
    return PatchResult(result.step, result.reverse, result.rows, result.changes, written=True)


def _rewrite(file: str, row: Row, line: str, old: int, new: int) -> str:
    body = line[:-1] if line.endswith("\r") else line
    hits = [m.start() for m in re.finditer(r"(?<![0-9])" + str(old) + r"(?![0-9])", body)]
    if not hits:
        shown = body.strip()
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ReorgError(
            f"{file}:{row.line}: expected port {old} here ({row.kind}), but the line says {shown!r}; "
            "scan again and plan again before patching"
        )
    start = min(hits, key=lambda h: (abs(h - (row.column - 1)), h))
    return line[:start] + str(new) + line[start + len(str(old)):]


def _read_inside(root: Path, file: str) -> tuple[Path, str, int]:
    """A regular file inside ``root`` (no symlink on the way), its text and mode."""
    if file.startswith("/") or ".." in file.split("/"):
        raise ReorgError(f"{file}: not a path inside the scanned tree; refusing to patch it")
    base = Path(root).resolve()
    path = base / file
    current = base
    for part in file.split("/"):
        current = current / part
        try:
            info = os.lstat(current)
        except OSError as exc:
            raise ReorgError(f"{file}: cannot read ({exc.strerror or exc}); is --root the scanned tree?") from None
        if stat.S_ISLNK(info.st_mode):
            raise ReorgError(f"{file}: {current.relative_to(base)} is a symlink; refusing to patch through it")
    if not stat.S_ISREG(info.st_mode):
        raise ReorgError(f"{file}: not a regular file; refusing to patch it")
    if info.st_size > MAX_BYTES:
        raise ReorgError(f"{file}: larger than {MAX_BYTES} bytes; refusing to patch it")
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except OSError as exc:
        raise ReorgError(f"{file}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ReorgError(f"{file}: not UTF-8 text; refusing to patch it") from None
    return path, text, info.st_mode
