"""The scan commands ``scan``, ``check --scan`` and ``patch``: take paths and options, return values.

``scan`` reads a checkout (``reorg.scan``) and writes ``current.csv`` and ``references.csv``;
``check_scan`` judges a scan (collisions, dangling references, drift) against an optional
baseline; ``patch`` rewrites the literals of one plan step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reorg.atomic import write_texts_atomic
from reorg.commands.execution import find_plan
from reorg.model import Binding, ReorgError, TargetRow
from reorg.planfile import read_plan
from reorg.safeio import read_text
from reorg.scan import DEFAULT_DEV_HOST, parse_maps, scan_tree
from reorg.scan.findings import (
    Problem,
    TableDiff,
    diff_table,
    find_problems,
    parse_baseline,
    render_baseline,
)
from reorg.scan.model import Row, Scan
from reorg.scan.patch import PatchResult, lines_per_step, make_patch, write_patch
from reorg.scan.table import read_references, render_current_csv, render_references_csv
from reorg.tables import read_current, read_target

Progress = Callable[[str], None]
DEFAULT_SCAN_OUT = Path("scan")


@dataclass(frozen=True)
class ScanOptions:
    """Which host a file belongs to and what is skipped: shared by ``scan`` and ``check --scan``."""

    maps: tuple[tuple[str, str], ...] = ()
    dev_host: str = DEFAULT_DEV_HOST
    excludes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, maps: list[str] | None, dev_host: str, excludes: list[str] | None) -> ScanOptions:
        from reorg.names import check_name

        pairs = parse_maps(maps)
        for _glob, host in pairs:
            check_name(host, "host", "--map")
        check_name(dev_host, "host", "--dev-host")
        return cls(pairs, dev_host, tuple(excludes or ()))


@dataclass(frozen=True)
class ScanResult:
    scan: Scan
    paths: tuple[Path, ...]
    diff: TableDiff | None = None


def run_scan(root: Path, options: ScanOptions, progress: Progress | None = None) -> Scan:
    return scan_tree(Path(root), options.maps, options.dev_host, options.excludes, progress)


def scan(
    root: Path,
    options: ScanOptions,
    out: Path | None = DEFAULT_SCAN_OUT,
    diff: Path | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan ``root``; write OUT/current.csv and OUT/references.csv (``out`` None: write nothing)."""
    table = read_current(diff) if diff is not None else None  # bad input first: nothing written
    result = run_scan(root, options, progress)
    paths: tuple[Path, ...] = ()
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise ReorgError(f"{out}: exists and is not a directory; pass another --out")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReorgError(f"{out}: cannot create directory ({exc.strerror or exc})") from exc
        paths = (out / "current.csv", out / "references.csv")
        write_texts_atomic([(paths[0], render_current_csv(result)), (paths[1], render_references_csv(result))])
    return ScanResult(result, paths, diff_table(result, table) if table is not None else None)


@dataclass(frozen=True)
class ScanCheck:
    scan: Scan
    problems: tuple[Problem, ...]
    accepted: tuple[Problem, ...]  # in the baseline
    baseline_written: Path | None = None

    @property
    def exit_code(self) -> int:
        """1 when there are problems or a file the scan should have read was not read."""
        return 1 if self.problems or self.scan.unread else 0


def check_scan(
    root: Path,
    options: ScanOptions,
    current: Path | None = None,
    target: Path | None = None,
    baseline: Path | None = None,
    write_baseline: bool = False,
    progress: Progress | None = None,
) -> ScanCheck:
    """Problems of a scan; those in ``baseline`` are accepted. ``write_baseline`` records every
    problem found now into ``baseline`` instead (and then nothing fails)."""
    if write_baseline and baseline is None:
        raise ReorgError("--write-baseline needs --baseline FILE: the file to write")
    table: tuple[Binding, ...] | None = read_current(current) if current is not None else None
    targets: tuple[TargetRow, ...] | None = read_target(target) if target is not None else None
    accepted_keys: frozenset[str] = frozenset()
    if baseline is not None and not write_baseline:
        accepted_keys = parse_baseline(read_text(baseline, "baseline"))
    result = run_scan(root, options, progress)
    problems = find_problems(result, table, str(current or ""), targets, str(target or ""))
    if write_baseline and baseline is not None:  # (checked above: it is)
        write_texts_atomic([(Path(baseline), render_baseline(problems))])
        return ScanCheck(result, (), problems, Path(baseline))
    new = tuple(p for p in problems if p.key not in accepted_keys)
    old = tuple(p for p in problems if p.key in accepted_keys)
    return ScanCheck(result, new, old)


def read_step_lines(plan: Path | None, refs: Path) -> tuple[object, dict[int, tuple[Row, ...]]]:
    planfile = read_plan(find_plan(plan))
    return planfile, lines_per_step(planfile.plan, read_references(refs))


def patch(
    step: int,
    plan: Path | None,
    refs: Path,
    root: Path,
    reverse: bool = False,
    write: bool = False,
) -> PatchResult:
    """The unified diff of one step (its undo with ``reverse``); ``write`` applies it."""
    planfile = read_plan(find_plan(plan))
    rows = read_references(refs)
    if not Path(root).is_dir():
        raise ReorgError(f"{root}: not a folder; --root must be the scanned tree")
    result = make_patch(planfile.plan, step, rows, Path(root), reverse)
    return write_patch(result) if write else result
