"""The execute commands ``status``, ``next``, ``done``, ``undo``, ``history`` and ``reset``.

Each reads the plan and its journal, probes when asked, appends an event under the lock, and
returns a record (``reorg.execution``); it never prints or exits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from reorg.execution import HistoryReport, StatusReport, StepReport
from reorg.journal import (
    EventKind,
    Journal,
    backup_journal,
    check_plan_unchanged,
    journal_path_for,
    load_journal,
    lock_path_for,
    new_journal,
    save_journal,
    twin_journals,
)
from reorg.lock import locked, read_lock
from reorg.model import Plan, ReorgError, Step
from reorg.planfile import PlanFile, read_plan
from reorg.probe import Check, Outcome, read_hosts, run_checks
from reorg.replay import Position, find_step, last_done, next_step, open_steps, replay, step_checks
from reorg.safeio import read_bytes
from reorg.tables import read_current


PLANS_DIR = Path("plans")


def find_plan(plan: Path | None, plans_dir: Path = PLANS_DIR) -> Path:
    """``plan`` as given, or the only ``*.json`` plan in ``plans_dir`` (journals do not count)."""
    if plan is not None:
        return plan
    found = sorted(p for p in plans_dir.glob("*.json") if not p.name.endswith(".journal.json"))
    if not found and plans_dir == PLANS_DIR and not plans_dir.is_dir():
        # Run from the plan's own folder, as the runbook says: its plan files are right here.
        found = [p for p in sorted(Path(".").glob("*.json")) if _looks_like_plan(p)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ReorgError(f"no plan in {plans_dir}/; write one with `reorg plan` or pass --plan PATH")
    names = ", ".join(p.as_posix() for p in found)
    raise ReorgError(f"{len(found)} plans in {plans_dir}/ ({names}); choose one with --plan PATH")


def _looks_like_plan(path: Path) -> bool:
    """A ``*.json`` that says it is a plan (plans are written with sorted keys: format first)."""
    if path.name.endswith(".journal.json"):
        return False
    try:
        return b'"reorg-plan/' in read_bytes(path, "plan")[:256]  # a FIFO here must not block
    except (OSError, ReorgError):
        return False


@dataclass(frozen=True)
class Execution:
    """A plan with its journal, read and replayed: what every execute command starts from."""

    planfile: PlanFile
    journal_path: Path
    journal: Journal | None
    base: dict[tuple[str, str], int]
    position: Position
    notices: tuple[str, ...]
    twins: tuple[tuple[Path, int], ...] = ()  # other journals of this same plan (no journal here yet)

    @property
    def plan(self) -> Plan:
        return self.planfile.plan

    def started(self) -> Journal:
        """The journal to append to, a new one on the first write."""
        return self.journal or new_journal(self.journal_path, self.planfile.path, self.planfile.sha256)


def base_bindings(planfile: PlanFile) -> tuple[dict[tuple[str, str], int], tuple[str, ...]]:
    """Bindings of the current table the plan was made from, when that table is still the same.

    They tell which ports a moving binding shares with one that stays (a collision), so that
    ``old port free`` is not expected where it cannot be. Without the table the plan alone is used.
    """
    entry = planfile.inputs.get("current", {})
    recorded = entry.get("path", "")
    if not recorded:
        return {}, ()
    # The table's path is as `reorg plan` was given it, usually from the folder above the plan's;
    # absolute() finds it too when the commands run inside the plan's folder.
    above = planfile.path.absolute().parent.parent / recorded
    for path in dict.fromkeys((Path(recorded), planfile.path.parent.parent / recorded, above)):
        if path.is_file():
            if hashlib.sha256(read_bytes(path, "CSV")).hexdigest() != entry.get("sha256"):
                return {}, (
                    f"{path} changed since the plan was made; ports shared with bindings that have "
                    "no step are unknown, so an 'old port is free' check may fail for them",
                )
            return {binding.key: binding.port for binding in read_current(path)}, ()
    return {}, (
        f"the current table {recorded} was not found; ports shared with bindings that have no "
        "step are unknown, so an 'old port is free' check may fail for them",
    )


def open_execution(plan: Path | PlanFile, journal: Path | None = None) -> Execution:
    """Read the plan and its journal, refuse a changed plan, replay the events. Never writes."""
    planfile = plan if isinstance(plan, PlanFile) else read_plan(plan)
    journal_path = journal if journal is not None else journal_path_for(planfile.path)
    loaded = load_journal(journal_path)
    if loaded is not None:
        check_plan_unchanged(loaded, planfile.path, planfile.sha256)
    base, notices = base_bindings(planfile)
    position = replay(planfile.plan, loaded.events if loaded else (), journal_path, base)
    twins = () if loaded is not None else twin_journals(journal_path, planfile.path, planfile.sha256)
    notices += tuple(_twin_text(planfile, path, count) for path, count in twins)
    return Execution(planfile, journal_path, loaded, base, position, notices, twins)


def _twin_text(planfile: PlanFile, twin: Path, count: int) -> str:
    return (
        f"{twin.as_posix()} already records {count} event(s) of this same plan (sha256 "
        f"{planfile.sha256[:12]}), so a new journal would start again at step 1; continue it with "
        f"`--plan {planfile.path.as_posix()} --journal {twin.as_posix()}`, or, to really start over, "
        f"move it aside with `reorg reset --plan {planfile.path.as_posix()} --journal {twin.as_posix()}`"
    )


def load_hosts(plan_path: Path, hosts: Path | None) -> dict[str, str]:
    """``--hosts`` if given, else ``hosts.csv`` beside the plan if there is one, else none."""
    if hosts is not None:
        return read_hosts(hosts)
    beside = plan_path.parent / "hosts.csv"
    return read_hosts(beside) if beside.is_file() else {}


def _failed(checks: tuple[Check, ...]) -> tuple[Check, ...]:
    return tuple(check for check in checks if check.outcome is Outcome.FAILED)


def _skipped_note(checks: tuple[Check, ...]) -> str:
    skipped = [check for check in checks if check.outcome is Outcome.SKIPPED]
    return f" {len(skipped)} check(s) were not probed: verify them by hand." if skipped else ""


def _blocked(ex: Execution) -> str:
    """Why nothing else may be done while a step is dirty, and the three ways out."""
    n = ex.position.dirty
    return (
        f"step {n} failed its post-check; fix it and run `reorg done {n}` again, roll it back and "
        f"run `reorg undo`, or, after checking by hand, record it with `reorg done {n} --force`"
    )


def _lock_notice(journal_path: Path) -> tuple[str, ...]:
    holder = read_lock(lock_path_for(journal_path))
    return (f"the journal is locked by {holder.describe()}",) if holder else ()


def execution_status(plan: Path | None = None, journal: Path | None = None) -> StatusReport:
    """``reorg status``: position, last done, next, any failed step, the lock. Never writes."""
    ex = open_execution(find_plan(plan), journal)
    dirty_checks: tuple[Check, ...] = ()
    if ex.position.dirty is not None and ex.journal is not None:
        last_failed = [e for e in ex.journal.events if e.event is EventKind.FAILED and e.step == ex.position.dirty]
        dirty_checks = _failed(last_failed[-1].checks)
    return StatusReport(
        plan_path=ex.planfile.path,
        plan_sha256=ex.planfile.sha256,
        journal_path=ex.journal_path,
        journal_exists=ex.journal is not None,
        plan=ex.plan,
        position=ex.position,
        events=len(ex.journal.events) if ex.journal else 0,
        lock=read_lock(lock_path_for(ex.journal_path)),
        dirty_checks=dirty_checks,
        notices=ex.notices,
    )


def prepare_next(
    plan: Path | None = None, journal: Path | None = None, hosts: Path | None = None, probe: bool = True
) -> StepReport:
    """``reorg next``: the next step and its pre-check (its new port is free). Never writes."""
    plan_path = find_plan(plan)
    ex = open_execution(plan_path, journal)
    if ex.position.dirty is not None:
        raise ReorgError(f"next is blocked: {_blocked(ex)}")
    step = next_step(ex.plan, ex.position)
    total = len(ex.plan.steps)
    notices = ex.notices + _lock_notice(ex.journal_path)
    if step is None:
        advice = f"all {total} steps are done; nothing is left to run" if total else "the plan has no steps"
        return StepReport("next", None, ex.plan.options.scope, (), None, True, advice, ex.position, total, (), notices)
    pre, _ = step_checks(ex.plan, ex.position, step)
    checks = run_checks(pre, load_hosts(plan_path, hosts), probe)
    failed = _failed(checks)
    if failed:
        bad = failed[0]
        advice = (
            f"pre-check failed: port {bad.port} on {bad.host} is not free ({bad.detail}); find what holds it "
            f"(`lsof -nP -iTCP:{bad.port} -sTCP:LISTEN` on {bad.host}), free it, then run `reorg next` again"
        )
    else:
        advice = f"make the change, then run `reorg done {step.step}`.{_skipped_note(checks)}"
    also = tuple(s for s in open_steps(ex.plan, ex.position.done) if s.step != step.step)
    return StepReport("next", step, ex.plan.options.scope, checks, None, not failed, advice, ex.position, total, also, notices)


def record_done(
    plan: Path | None = None,
    step: int | None = None,
    journal: Path | None = None,
    hosts: Path | None = None,
    probe: bool = True,
    force: bool = False,
    force_unlock: bool = False,
) -> StepReport:
    """``reorg done [STEP]``: run the step's post-checks and record it as done, or as failed.

    A step out of order is refused unless it is open now (in the lowest wave with open steps).
    A failed post-check is recorded as ``failed``; ``force`` records ``done`` anyway, marked forced.
    """
    plan_path = find_plan(plan)
    planfile = read_plan(plan_path)
    host_map = load_hosts(plan_path, hosts)
    journal_path = journal if journal is not None else journal_path_for(planfile.path)
    with locked(lock_path_for(journal_path), force_unlock):
        ex = open_execution(planfile, journal_path)  # read under the lock: no lost update
        if ex.twins:
            path, count = ex.twins[0]
            raise ReorgError(f"refusing to start a new journal: {_twin_text(ex.planfile, path, count)}")
        target = _choose_done(ex, step)
        _, post = step_checks(ex.plan, ex.position, target)
        checks = run_checks(post, host_map, probe)
        failed = _failed(checks)
        started = ex.started()
        if failed and not force:
            updated = started.append(EventKind.FAILED, target.step, checks)
        else:
            updated = started.append(EventKind.DONE, target.step, checks, forced=bool(failed))
        save_journal(updated)
    position = replay(ex.plan, updated.events, journal_path, ex.base)
    total = len(ex.plan.steps)
    if failed and not force:
        bad = failed[0]
        ok = False
        advice = (
            f"step {target.step} is recorded as failed: {bad.what} is not true ({bad.detail}); fix it and run "
            f"`reorg done {target.step}` again, roll it back and run `reorg undo`, or, after checking by hand, "
            f"`reorg done {target.step} --force`"
        )
    else:
        ok = True
        after = next_step(ex.plan, position)
        then = f"next: `reorg next` (step {after.step})" if after else f"all {total} steps are done"
        forced = " (forced past a failed check)" if failed else ""
        advice = f"step {target.step} is recorded as done{forced}; {then}.{_skipped_note(checks)}"
    also = tuple(s for s in open_steps(ex.plan, position.done, position.dirty) if s.step != target.step)
    event = updated.events[-1]
    return StepReport("done", target, ex.plan.options.scope, checks, event, ok, advice, position, total, also, ex.notices)


def _choose_done(ex: Execution, number: int | None) -> Step:
    """The step ``done`` records: the one named, if it may be done now, else the next one."""
    position, plan = ex.position, ex.plan
    if number is None:
        target = next_step(plan, position)
        if target is None:
            raise ReorgError(f"all {len(plan.steps)} steps are already done; nothing to record (`reorg status`)")
        return target
    step = find_step(plan, number)
    if number in position.done:
        raise ReorgError(
            f"step {number} is already done; run `reorg status` to see what comes next, or `reorg undo` to step back"
        )
    if position.dirty is not None and number != position.dirty:
        raise ReorgError(_blocked(ex))
    allowed = open_steps(plan, position.done, position.dirty)
    if step not in allowed:
        listed = ", ".join(str(s.step) for s in allowed[:12]) + (", ..." if len(allowed) > 12 else "")
        raise ReorgError(
            f"step {number} is in wave {step.wave}, but wave {allowed[0].wave} is not finished (open: {listed}); "
            "do those first (`reorg next`)"
        )
    return step


def record_undo(
    plan: Path | None = None,
    journal: Path | None = None,
    hosts: Path | None = None,
    probe: bool = True,
    force: bool = False,
    force_unlock: bool = False,
    preview: bool = False,
) -> StepReport:
    """``reorg undo``: the reverse of the last done (or failed) step, checked and recorded.

    ``preview`` (``--preview``) only shows it and runs the reversed pre-check (the old port is
    free), writing nothing, like ``next``. Otherwise the operator has rolled the step back: the
    reversed post-checks (the service answers on its old port, the new port is free) run and,
    if they pass or ``force`` is given, ``undone`` is recorded. A failed rollback records nothing.
    """
    plan_path = find_plan(plan)
    planfile = read_plan(plan_path)
    host_map = load_hosts(plan_path, hosts)
    journal_path = journal if journal is not None else journal_path_for(planfile.path)
    total = len(planfile.plan.steps)
    scope = planfile.plan.options.scope
    if preview:
        ex = open_execution(planfile, journal_path)
        target = _choose_undo(ex)
        pre, _ = step_checks(ex.plan, ex.position, target, reverse=True)
        checks = run_checks(pre, host_map, probe)
        failed = _failed(checks)
        if failed:
            bad = failed[0]
            advice = (
                f"port {bad.port} on {bad.host} is not free ({bad.detail}), so {target.service} cannot go back to it; "
                "free it first, then roll back and run `reorg undo`"
            )
        else:
            advice = f"roll the step back as shown, then run `reorg undo` to record it.{_skipped_note(checks)}"
        notices = ex.notices + _lock_notice(journal_path)
        return StepReport("undo-preview", target, scope, checks, None, not failed, advice, ex.position, total, (), notices)
    with locked(lock_path_for(journal_path), force_unlock):
        ex = open_execution(planfile, journal_path)
        target = _choose_undo(ex)
        _, post = step_checks(ex.plan, ex.position, target, reverse=True)
        checks = run_checks(post, host_map, probe)
        failed = _failed(checks)
        if failed and not force:
            bad = failed[0]
            advice = (
                f"the rollback of step {target.step} is not complete: {bad.what} is not true ({bad.detail}); "
                f"finish it and run `reorg undo` again, or, after checking by hand, `reorg undo --force`; "
                "nothing was recorded"
            )
            return StepReport("undo", target, scope, checks, None, False, advice, ex.position, total, (), ex.notices)
        assert ex.journal is not None  # _choose_undo found a done or failed step in it
        updated = ex.journal.append(EventKind.UNDONE, target.step, checks, forced=bool(failed))
        save_journal(updated)
    position = replay(ex.plan, updated.events, journal_path, ex.base)
    after = next_step(ex.plan, position)
    forced = " (forced past a failed check)" if failed else ""
    then = f"step {after.step} is next (`reorg next`)" if after else "nothing is open"
    advice = f"step {target.step} is recorded as undone{forced}; {then}.{_skipped_note(checks)}"
    return StepReport("undo", target, scope, checks, updated.events[-1], True, advice, position, total, (), ex.notices)


def _choose_undo(ex: Execution) -> Step:
    if ex.position.dirty is not None:
        return find_step(ex.plan, ex.position.dirty)
    step = last_done(ex.plan, ex.position)
    if step is None:
        raise ReorgError("nothing to undo: no step is done yet; run `reorg next` to start")
    return step


def journal_history(plan: Path | None = None, journal: Path | None = None) -> HistoryReport:
    """``reorg history``: every event of the journal, oldest first. Never writes."""
    ex = open_execution(find_plan(plan), journal)
    events = ex.journal.events if ex.journal else ()
    return HistoryReport(ex.planfile.path, ex.journal_path, ex.plan.steps, events)


def reset_journal(
    plan: Path | None = None, journal: Path | None = None, force_unlock: bool = False
) -> tuple[Path, Path | None]:
    """``reorg reset``: move the journal aside (``.bak-N``) so the next ``done`` starts a new one.

    The plan is not read, so this works for a changed plan or a corrupt journal. Returns the
    journal path and where it went (None if there was none).
    """
    plan_path = find_plan(plan)
    journal_path = journal if journal is not None else journal_path_for(plan_path)
    with locked(lock_path_for(journal_path), force_unlock):
        return journal_path, backup_journal(journal_path)
