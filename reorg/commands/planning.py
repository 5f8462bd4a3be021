"""The planning commands ``check``, ``plan`` and ``compare``: take paths and options, return values.

Every plan a planner returns is verified here before it is written or compared.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from reorg.atomic import write_text_atomic
from reorg.check import CheckReport, find_check
from reorg.comparison import (
    CapBounds,
    Comparison,
    InputFile,
    Preference,
    mark_front,
    recommend,
)
from reorg.journal import journal_path_for
from reorg.model import (
    DEFAULT_TEMP_PORTS,
    Candidate,
    Compared,
    Failed,
    Instance,
    Objective,
    Plan,
    PlanOptions,
    ReorgError,
    Scope,
    Strategy,
)
from reorg.planfile import check_plan_name, render_plan_json, write_plan_files
from reorg.planners import get_planner, plan_front
from reorg.planners.budget import (
    SLACK,
    Deadline,
    planning_need,
    reading_need,
    require,
    writing_need,
)
from reorg.problem import (
    Problem,
    build_problem,
    lower_bound_moves,
    lower_bound_waves,
    lower_bound_waves_any,
)
from reorg.render import render_compare_markdown
from reorg.safeio import read_bytes
from reorg.tables import load_inputs, load_instance
from reorg.verify import verify

Progress = Callable[[str], None]

# ---- check (issue 2) -------------------------------------------------------------------------

DEFAULT_RANGES = Path("data/ranges.csv")


def check(
    current: Path,
    target: Path,
    ranges: Path | None = None,
    scope: Scope = Scope.HOST,
    pair_digits: int = 1,
    hosts: Path | None = None,
    temp_ports: tuple[int, int] = DEFAULT_TEMP_PORTS,
) -> CheckReport:
    """Read and validate both tables (and the ranges) and return every finding of ``reorg check``.

    ``ranges`` None means the default ``data/ranges.csv`` if it exists, else no range checks;
    a path given explicitly must exist.
    """
    if ranges is None and DEFAULT_RANGES.is_file():
        ranges = DEFAULT_RANGES
    from reorg.commands.target import load_facts

    inputs = load_inputs(current, target, ranges)
    return find_check(inputs, scope, pair_digits, load_facts(hosts), temp_ports)


# ---- plan (issue 3) --------------------------------------------------------------------------


class PlanRejected(RuntimeError):
    """A planner returned a plan the verifier rejects: a bug in reorg, never the user's input."""


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    instance: Instance
    problem: Problem
    paths: tuple[Path, ...]
    seconds: float  # solve time, for the summary only (never written to plan files)


def check_verified(plan: Plan, instance: Instance) -> None:
    """Raise PlanRejected unless the independent verifier accepts ``plan``."""
    verdict = verify(plan, instance)
    if not verdict.ok:
        first = "; ".join(f"[{v.rule}] {v.message}" for v in verdict.violations[:5])
        raise PlanRejected(
            f"the {plan.strategy} plan failed verification ({len(verdict.violations)} violations): {first}"
        )


def make_verified_plan(
    instance: Instance,
    options: PlanOptions,
    strategy: Strategy,
    progress: Progress | None = None,
    deadline: Deadline | None = None,
) -> tuple[Plan, Problem, float]:
    """Plan with ``strategy`` and verify it; raises PlanRejected when the verifier says no.

    ``deadline`` is when planning must end (default: --time-limit from now)."""
    problem = build_problem(instance, options)
    started = time.perf_counter()
    plan = get_planner(strategy)(problem, progress, deadline or Deadline(options.time_limit))
    seconds = time.perf_counter() - started
    check_verified(plan, instance)
    return plan, problem, seconds


def plan(
    current: Path,
    target: Path,
    out: Path,
    strategy: Strategy,
    options: PlanOptions,
    name: str,
    progress: Progress | None = None,
    refs: Path | None = None,
    hosts: Path | None = None,
    deadline: Deadline | None = None,
) -> PlanResult:
    """Read the tables, plan, verify, and write OUT/NAME.md and OUT/NAME.json.

    ``refs`` (a scan's references.csv) makes the runbook list every line to edit per step.
    ``hosts`` (default data/hosts.csv when it exists): temp ports a host's OS uses are left out.
    ``deadline`` ends the whole command (default: ``options.time_limit`` from now); planning
    gets it less the reserve for verifying and writing (``reorg.planners.budget``).
    """
    from reorg.commands.target import with_temp_avoid

    deadline = deadline or Deadline(options.time_limit)
    check_plan_name(name)  # before solving: a solve may take minutes
    check_out_dir(out)
    with no_gc():
        fits_reading(deadline, (current, target), notify=progress)
        instance = load_instance(current, target)
        options = with_temp_avoid(options, {b.host for b in instance.bindings}, hosts)
        rows = None
        if refs is not None:  # the scan package only when asked: 0.1-0.3 s of imports
            from reorg.scan.table import read_references

            rows = read_references(refs)
        n = len(instance.bindings)
        require(deadline, planning_need(n) + writing_need(n), f"the greedy plan, verifying and writing {n:,} bindings",
                notify=progress)
        planning = deadline.until(writing_need(n) + SLACK * (deadline.seconds or 0.0))
        result, problem, seconds = make_verified_plan(instance, options, strategy, progress, planning)
        refuse_replacing_executed_plan(result, instance, out, name)
        edits = None
        if rows is not None:
            from reorg.scan.patch import lines_per_step

            edits = lines_per_step(result, rows)
        paths = write_plan_files(result, instance, out, name, edits=edits)
    return PlanResult(result, instance, problem, tuple(paths), seconds)


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a plan is made: the plan's objects form no cycles
    worth collecting (reference counting frees them), and at 100,000 bindings the collector's
    full passes over millions of live objects cost 5 of 22 s of CPU."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def fits_reading(
    deadline: Deadline, tables: tuple[Path, ...], command: str = "reorg plan", notify: Progress | None = None
) -> None:
    """Before reading: fail fast when the tables' size alone says the limit is too short."""
    size = 0
    for path in tables:
        try:
            size += os.stat(path).st_size
        except OSError:
            continue  # reading names the problem
    shown = f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"
    require(deadline, reading_need(size), f"reading {shown} of tables, planning and writing", command, notify)


def check_out_dir(out: Path) -> None:
    """Refuse an ``--out`` that cannot become a directory, before any solving."""
    for path in (Path(out), *Path(out).parents):
        if path.exists():
            if not path.is_dir():
                raise ReorgError(f"{path}: exists and is not a directory; pass another --out")
            return


def refuse_replacing_executed_plan(plan: Plan, instance: Instance, out: Path, name: str) -> None:
    """Refuse to overwrite ``OUT/NAME.json`` with a different plan while a journal executes it.

    The journal names its plan by hash, so it would refuse the new file anyway, but by then the
    plan being executed is gone. Writing the same plan again is fine.
    """
    json_path = Path(out) / f"{name}.json"
    journal = journal_path_for(json_path)
    if not journal.is_file() or not json_path.is_file():
        return
    if read_bytes(json_path, "plan") == render_plan_json(plan, instance).encode("utf-8"):
        return
    raise ReorgError(
        f"{json_path} is being executed ({journal.as_posix()} exists) and the new plan differs; "
        f"write it under another --name or --out, or, once that run is over, move its journal aside "
        f"with `reorg reset --plan {json_path.as_posix()}` (it is kept as .bak-N)"
    )


# ---- compare (issue 4) -----------------------------------------------------------------------


@no_gc()
def compare(
    current: Path,
    target: Path,
    options: PlanOptions,
    candidates: list[Candidate],
    caps: list[int | None],
    out: Path | None = None,
    progress: Progress | None = None,
    hosts: Path | None = None,
    deadline: Deadline | None = None,
    prefer: Preference = Preference.MOVES,
) -> Comparison:
    """Plan with each candidate (and each cap), verify every plan, and mark the front.

    A candidate that finds no plan is a failed row with its reason; only when none finds a plan
    does compare raise. ``deadline`` ends the whole command (default: --time-limit from now);
    each candidate gets an equal share of what is left for planning. ``prefer``: what the
    recommendation minimises first (``reorg.comparison.recommend``).
    """
    from reorg.commands.target import with_temp_avoid

    deadline = deadline or Deadline(options.time_limit)
    say = progress or (lambda _msg: None)
    if out is not None:
        check_out_dir(out)  # before solving
    fits_reading(deadline, (current, target), "reorg compare", notify=progress)
    instance = load_instance(current, target)
    options = with_temp_avoid(options, {b.host for b in instance.bindings}, hosts)
    chosen = [c for c in Candidate if c in candidates]
    slots = [len(chosen) * (len(caps) - k) for k in range(len(caps))]
    n, plans = len(instance.bindings), max(1, slots[0])
    require(deadline, planning_need(n, plans) + writing_need(n, plans),
            f"{plans} greedy plans, verifying and writing them ({n:,} bindings)", "reorg compare", notify=progress)
    planning = deadline.until(writing_need(n, plans) + SLACK * (deadline.seconds or 0.0))
    rows: list[Compared] = []
    failed: list[Failed] = []
    shown: list[str] = []  # pareto points that another row already shows
    bounds: list[CapBounds] = []
    for k, cap in enumerate(caps):
        capped = replace(options, max_per_wave=cap)
        made, repeats, lost, cap_bound = _compare_cap(instance, capped, chosen, say, progress, planning, slots[k])
        bounds.append(cap_bound)
        rows += made
        shown += repeats
        failed += lost
    if not rows and failed:
        reasons = dict.fromkeys(f.reason for f in failed)  # the CP-SAT candidates often agree
        raise ReorgError("no strategy found a plan: " + " | ".join(reasons))
    rows = _unique_labels(mark_front(rows))
    notes: tuple[str, ...] = ()
    if shown:
        notes = (f"pareto: {len(shown)} front point(s) already shown by the rows above ({'; '.join(shown)})",)
    result = Comparison(
        tuple(rows), instance, (), notes, tuple(failed), tuple(bounds), recommend(rows, prefer),
        _compare_inputs(instance, hosts), options, tuple(chosen), tuple(caps), prefer,
    )
    paths: list[Path] = []
    if out is not None:
        for r in rows:
            refuse_replacing_executed_plan(r.plan, instance, out, r.label)
        for r in rows:
            paths += write_plan_files(r.plan, instance, out, r.label)
        write_text_atomic(out / "compare.md", render_compare_markdown(result))
        paths.append(out / "compare.md")
    return replace(result, paths=tuple(paths))


def cap_bounds(problem: Problem) -> CapBounds:
    """The lower bounds of one cap's problem: moves, waves at the fewest moves, waves of any plan."""
    return CapBounds(
        problem.options.max_per_wave, lower_bound_moves(problem), lower_bound_waves(problem),
        lower_bound_waves_any(problem),
    )


def _compare_inputs(instance: Instance, hosts: Path | None) -> tuple[InputFile, ...]:
    """The tables compare read, with their hashes; hosts.csv when one was read (it shapes the
    temp pool)."""
    import hashlib

    from reorg.commands.target import DEFAULT_HOSTS

    inputs = [
        InputFile("current", instance.current_path, instance.current_sha256),
        InputFile("target", instance.target_path, instance.target_sha256),
    ]
    if hosts is None and DEFAULT_HOSTS.is_file():
        hosts = DEFAULT_HOSTS
    if hosts is not None:
        digest = hashlib.sha256(read_bytes(hosts, "hosts")).hexdigest()
        inputs.append(InputFile("hosts", hosts.as_posix(), digest))
    return tuple(inputs)


def _compare_cap(
    instance: Instance,
    options: PlanOptions,
    candidates: list[Candidate],
    say: Progress,
    progress: Progress | None,
    planning: Deadline,
    slots: int,
) -> tuple[list[Compared], list[str], list[Failed], CapBounds]:
    """The candidates' verified plans under one cap, the pareto points other rows show, the
    candidates that found no plan (with the reason), and the cap's lower bounds. ``slots``:
    candidates left to plan in all."""
    cap = options.max_per_wave
    suffix = f"-cap{cap}" if cap else ""
    problem = build_problem(instance, replace(options, objective=Objective.MOVES))
    made: list[Compared] = []
    repeats: list[str] = []
    greedy: list[Plan] = []  # the greedy plan, once made, hints the pareto sweep
    lost: list[Failed] = []

    def waves_first(deadline: Deadline) -> Plan:
        waves = build_problem(instance, replace(options, objective=Objective.WAVES))
        return get_planner(Strategy.CPSAT)(waves, None, deadline)

    makers: dict[Candidate, Callable[[Deadline], Plan | list[Plan]]] = {
        Candidate.GREEDY: lambda d: get_planner(Strategy.GREEDY)(problem, None, d),
        Candidate.CPSAT_MOVES: lambda d: get_planner(Strategy.CPSAT)(problem, None, d),
        Candidate.CPSAT_WAVES: waves_first,
        Candidate.PARETO: lambda d: plan_front(problem, progress, greedy[0] if greedy else None, d),
    }
    for k, candidate in enumerate(candidates):  # always in the enum's order
        label = candidate.value
        say(f"compare: solving {label}{suffix}")
        started = time.perf_counter()
        try:
            result = makers[candidate](planning.share(slots - k))
        except ReorgError as exc:  # no plan from this strategy: a row with the reason
            lost.append(Failed(label + suffix, candidate, cap, str(exc), time.perf_counter() - started))
            say(f"compare:   {label}{suffix}: failed: {exc}")
            continue
        seconds = time.perf_counter() - started
        plans = result if isinstance(result, list) else [result]
        if candidate is Candidate.GREEDY:
            greedy += plans
        for p in plans:
            check_verified(p, instance)
            m = p.metrics
            figures = (m.moves, m.waves, m.pairs_split)
            if candidate is Candidate.PARETO and any(
                (r.plan.metrics.moves, r.plan.metrics.waves, r.plan.metrics.pairs_split) == figures for r in made
            ):
                repeats.append(f"{m.moves} moves / {m.waves} waves{suffix}")
                continue
            tag = label if p is result else f"{label}-w{m.waves}"
            made.append(Compared(tag + suffix, candidate, cap, p, seconds / len(plans)))
            say(f"compare:   {tag}{suffix}: {m.moves} moves (bound {m.lower_bound_moves}), "
                f"{m.waves} waves (bound {m.lower_bound_waves})")
    return made, repeats, lost, cap_bounds(problem)


def _unique_labels(rows: list[Compared]) -> list[Compared]:
    """Pareto points that landed on the same figures keep one row each, labelled apart."""
    seen: dict[str, int] = {}
    out: list[Compared] = []
    for r in rows:
        n = seen.get(r.label, 0)
        seen[r.label] = n + 1
        out.append(r if n == 0 else replace(r, label=f"{r.label}-{n + 1}"))
    return out
