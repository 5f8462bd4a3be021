"""The execute commands ``status``, ``next``, ``done``, ``undo``, ``history`` and ``reset``.

Each reads the plan and its journal, probes when asked, appends an event under the lock, and
returns a record (``reorg.execution``); it never prints or exits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path, PurePosixPath

from reorg.atomic import write_text_atomic
from reorg.execution import BatchReport, HistoryReport, StatusReport, StepContext, StepReport
from reorg.hostfacts import read_host_facts
from reorg.journal import (
    Event,
    EventKind,
    Journal,
    backup_journal,
    check_plan_unchanged,
    done_count,
    journal_path_for,
    load_journal,
    lock_path_for,
    new_journal,
    save_journal,
    twin_journals,
)
from reorg.lock import Lock, locked, read_lock
from reorg.model import Binding, Goal, Instance, Plan, ReorgError, Scope, Step, StepKind
from reorg.names import check_name
from reorg.planfile import PlanFile, read_plan
from reorg.probe import HERE_ENV, Check, CheckSpec, Outcome, read_hosts, run_checks, unverified
from reorg.replay import (
    Position,
    Replayer,
    find_step,
    last_done,
    next_step,
    open_steps,
    replay,
    step_checks,
)
from reorg.safeio import read_bytes
from reorg.tables import read_current
from reorg.verify import RULES, verify

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
    statuses: dict[tuple[str, str], str] | None = None  # binding -> status before the plan
    # The journal file as it was read (inode, size, mtime): unchanged means no re-read is needed.
    stamp: tuple[int, int, int] | None = None
    # The replay that gave ``position``: handed to the one caller that appends to this journal,
    # so a long journal is replayed once per command, not once more for the write.
    live: Replayer | None = field(default=None, compare=False, repr=False)

    @property
    def plan(self) -> Plan:
        return self.planfile.plan

    def status_of(self, step: Step) -> str:
        return (self.statuses or {}).get((step.service, step.host), "")

    def context_of(self, step: Step) -> StepContext:
        """The plan's word on the step's binding (source, note, table line, host OS) for its text."""
        os = dict(self.plan.options.host_os).get(step.host, "")
        binding = next((b for b in self.planfile.base or () if b.key == (step.service, step.host)), None)
        partners = _pair_partners(self.planfile).get(step.step, ())
        if binding is None:
            return StepContext(os=os, partners=partners)
        table = PurePosixPath(str(self.planfile.inputs.get("current", {}).get("path", ""))).name
        line = (f"{table}:{binding.line}" if table else f"line {binding.line}") if binding.line else ""
        return StepContext(binding.source, binding.note, line, os, partners)

    def started(self) -> Journal:
        """The journal to append to, a new one on the first write."""
        return self.journal or new_journal(self.journal_path, self.planfile.path, self.planfile.sha256)

    def replayer(self) -> Replayer:
        """The running replay at ``position``, to apply new events to (call it once)."""
        if self.live is not None:
            return self.live
        replayer = Replayer(self.plan, self.journal_path, self.base)
        for event in self.journal.events if self.journal else ():
            replayer.apply(event)
        return replayer


def _pair_partners(planfile: PlanFile) -> dict[int, tuple[int, ...]]:
    """Step number -> its pair partners' steps on the same host (final arrivals), as the runbook."""
    arrival = {
        (s.service, s.host): s.step for s in planfile.plan.steps if s.kind in (StepKind.MOVE, StepKind.FROM_TEMP)
    }
    partners: dict[int, set[int]] = {}
    for front, back in planfile.pairs:
        for (service, host), number in arrival.items():
            other = arrival.get((back, host)) if service == front else None
            if other is not None:
                partners.setdefault(number, set()).add(other)
                partners.setdefault(other, set()).add(number)
    return {n: tuple(sorted(p)) for n, p in partners.items()}


def _find_table(planfile: PlanFile, table: str = "current") -> tuple[Path | None, str]:
    """The table (current or target) the plan was made from, if found: (path, recorded path)."""
    entry = planfile.inputs.get(table, {})
    recorded = entry.get("path", "")
    if not recorded:
        return None, ""
    # The table's path is as `reorg plan` was given it, usually from the folder above the plan's;
    # absolute() finds it too when the commands run inside the plan's folder.
    above = planfile.path.absolute().parent.parent / recorded
    for path in dict.fromkeys((Path(recorded), planfile.path.parent.parent / recorded, above)):
        if path.is_file():
            return path, recorded
    return None, recorded


def _table_changed(planfile: PlanFile, path: Path, table: str = "current") -> bool:
    try:
        data = read_bytes(path, "CSV")
    except (OSError, ReorgError):
        return False  # unreadable now: nothing to compare, and execution does not need it
    recorded: object = planfile.inputs.get(table, {}).get("sha256")
    return hashlib.sha256(data).hexdigest() != recorded


def base_bindings(planfile: PlanFile) -> tuple[dict[tuple[str, str], int], tuple[str, ...]]:
    """Who holds which port before the plan: the plan's own ``held`` list.

    It tells which ports a moving binding shares with one that stays (a collision), so that
    ``old port free`` is not expected where it cannot be. A plan written before plans carried
    it falls back to the current table it names, when that is found unchanged.
    """
    path, recorded = _find_table(planfile)
    if planfile.base is not None:
        base = {binding.key: binding.port for binding in planfile.base}
        notices: tuple[str, ...] = ()
        if path is not None and _table_changed(planfile, path):
            notices += (
                f"{path} changed since the plan was made; the checks use the state the plan recorded "
                "(its `held` list), so they are right for this plan. If the fleet changed outside "
                f"this plan, write where it is now with `reorg state --out {path}` and re-plan",
            )
        target, _ = _find_table(planfile, "target")
        if target is not None and _table_changed(planfile, target, "target"):
            notices += (
                f"{target} changed since the plan was made: this plan still reaches the old target; "
                "to reach the new one, finish or undo this plan, write where the hosts are with "
                "`reorg state --out FILE`, and re-plan from it",
            )
        return base, notices
    if not recorded:
        return {}, ()
    if path is None:
        return {}, (
            f"the current table {recorded} was not found; ports shared with bindings that have no "
            "step are unknown, so an 'old port is free' check may fail for them (re-plan: new plans "
            "carry this themselves)",
        )
    if _table_changed(planfile, path):
        return {}, (
            f"{path} changed since the plan was made; ports shared with bindings that have no "
            "step are unknown, so an 'old port is free' check may fail for them",
        )
    return {binding.key: binding.port for binding in read_current(path)}, ()


def open_execution(plan: Path | PlanFile, journal: Path | None = None) -> Execution:
    """Read the plan and its journal, refuse a changed plan, replay the events. Never writes."""
    planfile = plan if isinstance(plan, PlanFile) else read_plan(plan)
    journal_path = journal if journal is not None else journal_path_for(planfile.path)
    stamp = journal_stamp(journal_path)  # before reading: a write in between shows as a change
    loaded = load_journal(journal_path)
    if loaded is not None:
        check_plan_unchanged(loaded, planfile.path, planfile.sha256)
    base, notices = base_bindings(planfile)
    statuses = {b.key: b.status for b in planfile.base} if planfile.base is not None else {}
    live = Replayer(planfile.plan, journal_path, base)
    for event in loaded.events if loaded else ():
        live.apply(event)
    twins = () if loaded is not None else twin_journals(journal_path, planfile.path, planfile.sha256)
    notices += tuple(_twin_text(planfile, path, count) for path, count in twins)
    return Execution(planfile, journal_path, loaded, base, live.position(), notices, twins, statuses, stamp, live)


def journal_stamp(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime in ns) of the journal, None when there is none. Every save renames a
    new file into place, so any write changes the inode."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def reopen_locked(ex: Execution) -> Execution:
    """``ex`` again, read under the lock (no lost update): re-read only when the journal changed
    since ``ex`` was read (another session wrote it), else ``ex`` as it is."""
    if ex.stamp is not None and journal_stamp(ex.journal_path) == ex.stamp:
        return ex
    return open_execution(ex.planfile, ex.journal_path)


# ---- the plan file is verified before execution touches anything (issue 8) -----------------------

# Rules about figures, not about what runs: a hand-edited metric cannot make a step unsafe.
_FIGURE_RULES = ("metric-", "bound-above")
_ECHO_RULES = ("wrong-goal", "final-state", "missing-step", "final-collision")


def plan_instance(planfile: PlanFile) -> Instance:
    """The instance a plan file describes on its own: its ``held`` bindings, goals from its steps.

    Without ``held`` (an older plan), each moving binding starts on its first step's from-port.
    """
    last: dict[tuple[str, str], Step] = {}
    for step in planfile.plan.steps:
        last[(step.service, step.host)] = step
    if planfile.base is not None:
        bindings = planfile.base
    else:
        first: dict[tuple[str, str], int] = {}
        for step in planfile.plan.steps:
            first.setdefault((step.service, step.host), step.from_port)
        bindings = tuple(Binding(s, h, port) for (s, h), port in first.items())
    goals = []
    for binding in bindings:
        final = last.get(binding.key)
        if final is None or final.kind is StepKind.TO_TEMP:
            goals.append(Goal(binding.service, binding.host, binding.port, binding.port))
        else:
            goals.append(Goal(binding.service, binding.host, binding.port, final.to_port))
    return Instance(bindings=tuple(bindings), goals=tuple(goals), pairs=planfile.pairs)


def verify_planfile(planfile: PlanFile) -> None:
    """Refuse a plan file that breaks a rule of the plan contract, naming the rule and the step."""
    verdict = verify(planfile.plan, plan_instance(planfile))
    broken = [v for v in verdict.violations if not v.rule.startswith(_FIGURE_RULES)]
    # Goals here come from the plan's own last steps, so a goal mismatch is the echo of another
    # rule broken earlier (a step added or moved): name that one first.
    broken.sort(key=lambda v: v.rule in _ECHO_RULES)
    if broken:
        first = broken[0]
        where = f"step {first.step}: " if first.step is not None else ""
        more = f" (and {len(broken) - 1} more)" if len(broken) > 1 else ""
        raise ReorgError(
            f"{planfile.path}: {where}the plan breaks rule '{first.rule}' ({RULES.get(first.rule, first.rule)}): "
            f"{first.message}{more}; nothing was run or recorded: restore the file or make a new plan with `reorg plan`"
        )


def verify_once(ex: Execution) -> None:
    """Verify the plan file before its journal exists, i.e. once per plan: a journal exists only
    once a ``next`` or ``done`` verified this plan, and names it by sha256, so a plan changed since
    is refused by ``open_execution`` before this. (Verifying a 10,000-binding plan took most of a
    second on every ``next`` and ``done``.)"""
    if ex.journal is None:
        verify_planfile(ex.planfile)


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


def here_host(here: str | None) -> str | None:
    """The host reorg runs on: ``--here``, else ``REORG_HERE``, else unknown."""
    value = here if here is not None else os.environ.get(HERE_ENV) or None
    if value is not None:
        check_name(value, "host", "--here")
    return value


@dataclass(frozen=True)
class Probing:
    """How checks run: the hosts' addresses, the host reorg runs on, and whether to probe."""

    hosts: dict[str, str]
    here: str | None = None
    probe: bool = True

    def run(self, specs: tuple[CheckSpec, ...]) -> tuple[tuple[Check, ...], int]:
        """The checks' verdicts and how many could not run (the step is then unverified)."""
        checks = run_checks(specs, self.hosts, self.probe, here=self.here)
        return checks, unverified(specs, checks)


def _probing(plan_path: Path, hosts: Path | None, here: str | None, probe: bool) -> Probing:
    return Probing(load_hosts(plan_path, hosts), here_host(here), probe)


def _failed(checks: tuple[Check, ...]) -> tuple[Check, ...]:
    return tuple(check for check in checks if check.outcome is Outcome.FAILED)


def _skipped_text(checks: tuple[Check, ...]) -> str:
    """What the skipped checks left unproven: ``1 check(s) were not probed; 1 got no answer (...)``.

    Checks skipped by design (a port another binding holds) need nothing by hand and are not named."""
    skipped = [check for check in checks if check.outcome is Outcome.SKIPPED]
    not_probed = [check for check in skipped if check.detail.startswith("not probed")]
    unanswered = [check for check in skipped if not check.detail.startswith(("not probed", "not checked"))]
    parts = [f"{len(not_probed)} check(s) were not probed"] if not_probed else []
    parts += [
        f"{c.service} did not answer on {c.host}:{c.port} ({c.detail.split(';', 1)[0]}): see whether it runs"
        for c in unanswered
    ]
    return "; ".join(parts)


def _skipped_note(checks: tuple[Check, ...]) -> str:
    text = _skipped_text(checks)
    return f" {text[0].upper()}{text[1:]}: verify by hand." if text else ""


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


def _last_event_text(journal_path: Path) -> str:
    """The journal's last event in words, for a stale-lock message; '' when it cannot be read."""
    try:
        journal = load_journal(journal_path)
    except ReorgError:
        return ""
    if journal is None or not journal.events:
        return "the journal records no event yet"
    event = journal.events[-1]
    return f"the journal's last event is #{event.seq}: {event.label} step {event.step} at {event.time}"


def _locked(journal_path: Path, force_unlock: bool) -> AbstractContextManager[Lock]:
    return locked(lock_path_for(journal_path), force_unlock, last_event=lambda: _last_event_text(journal_path))


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
        unverified=_unverified_steps(ex),
    )


def _unverified_steps(ex: Execution) -> tuple[int, ...]:
    """Done steps whose last ``done`` could not run every check, in step order."""
    last: dict[int, bool] = {}
    for event in ex.journal.events if ex.journal else ():
        if event.event is EventKind.DONE:
            last[event.step] = event.unverified
    done = set(ex.position.done)
    return tuple(sorted(step for step, flag in last.items() if flag and step in done))


# ---- next: choose an open step, pre-check it, record that it started ----------------------------


def prepare_next(
    plan: Path | None = None,
    journal: Path | None = None,
    hosts: Path | None = None,
    probe: bool = True,
    step: int | None = None,
    host: str | None = None,
    here: str | None = None,
    force_unlock: bool = False,
    preview: bool = False,
) -> StepReport:
    """``reorg next [STEP] [--host H]``: an open step, its pre-check, and ``started`` recorded.

    Without STEP: the first open step (on ``host``, if given) that is not started yet. A failed
    pre-check records nothing (exit 1). The plan file is verified first. ``preview``
    (``--preview``) shows and checks the step but records nothing, so reading a step never
    starts it.
    """
    plan_path = find_plan(plan)
    planfile = read_plan(plan_path)
    probing = _probing(plan_path, hosts, here, probe)
    ex = open_execution(planfile, journal)
    verify_once(ex)
    if ex.position.dirty is not None:
        raise ReorgError(f"next is blocked: {_blocked(ex)}")
    total = len(ex.plan.steps)
    scope = ex.plan.options.scope
    target = _choose_next(ex, step, host)
    notices = ex.notices + _lock_notice(ex.journal_path)
    if target is None:
        advice = f"all {total} steps are done; nothing is left to run" if total else "the plan has no steps"
        return StepReport("next", None, scope, (), None, True, advice, ex.position, total, (), notices)
    pre, _ = step_checks(ex.plan, ex.position, target, status=ex.status_of(target))
    checks, _ = probing.run(pre)
    failed = _failed(checks)
    also = tuple(s for s in open_steps(ex.plan, ex.position.done) if s.step != target.step)
    status = ex.status_of(target)
    if failed:
        bad = failed[0]
        advice = (
            f"pre-check failed: port {bad.port} on {bad.host} is not free ({bad.detail}); find what holds it "
            f"(`lsof -nP -iTCP:{bad.port} -sTCP:LISTEN` on {bad.host}), free it, then run `reorg next` "
            "again; nothing was recorded"
        )
        return StepReport("next", target, scope, checks, None, False, advice, ex.position, total, also, notices, status, context=ex.context_of(target))
    event = None
    position = ex.position
    if preview:
        state = "is started already" if target.step in ex.position.started else "is not started"
        advice = (
            f"preview only: nothing was recorded (step {target.step} {state}); run `reorg next {target.step}` to "
            f"start it, then make the change and run `reorg done`.{_skipped_note(checks)}"
        )
        return StepReport("next", target, scope, checks, None, True, advice, position, total, also, notices, status,
                          context=ex.context_of(target))
    if target.step not in ex.position.started:
        with _locked(ex.journal_path, force_unlock):
            ex = reopen_locked(ex)  # read under the lock: no lost update
            if ex.twins:
                path, count = ex.twins[0]
                raise ReorgError(f"refusing to start a new journal: {_twin_text(ex.planfile, path, count)}")
            replayer = ex.replayer()
            if not replayer.is_open(target.step):
                raise ReorgError(f"step {target.step} is no longer open (another session recorded it); run `reorg status`")
            updated = ex.started().append(EventKind.STARTED, target.step, checks)
            replayer.apply(updated.events[-1])
            save_journal(updated)
        event = updated.events[-1]
        position = replayer.position()
    again = " (started before: shown again)" if event is None else ""
    advice = (
        f"step {target.step} is started{again}: make the change, then run `reorg done` (it records step "
        f"{target.step}).{_skipped_note(checks)}"
    )
    return StepReport("next", target, scope, checks, event, True, advice, position, total, also, notices, status, context=ex.context_of(target))


def _choose_next(ex: Execution, number: int | None, host: str | None) -> Step | None:
    allowed = open_steps(ex.plan, ex.position.done, ex.position.dirty)
    if number is not None:
        step = find_step(ex.plan, number)
        _check_open(ex, step, allowed)
        if host is not None and step.host != host:
            raise ReorgError(f"step {number} runs on {step.host}, not on {host}; drop --host or pick another step")
        return step
    if host is not None:
        allowed = tuple(s for s in allowed if s.host == host)
        if not allowed:
            hosts = sorted({s.host for s in open_steps(ex.plan, ex.position.done)})
            known = {s.host for s in ex.plan.steps}
            if host not in known:
                raise ReorgError(f"the plan has no step on host {host!r}; its hosts are {', '.join(sorted(known))}")
            return _nothing_open_on(ex, host, hosts)
    # A step already started (here) is shown again rather than a second one started: a bare
    # `reorg done` records the started step, so `next` typed twice must not start two.
    started = [s for s in allowed if s.step in ex.position.started]
    if started:
        return max(started, key=lambda s: ex.position.started.index(s.step))
    return allowed[0] if allowed else None


def _nothing_open_on(ex: Execution, host: str, hosts: list[str]) -> Step | None:
    if not hosts:
        return None
    wave = open_steps(ex.plan, ex.position.done)[0].wave
    raise ReorgError(
        f"no open step on {host}: wave {wave} has open steps only on {', '.join(hosts)}; "
        "they come first (`reorg status`)"
    )


def _check_open(ex: Execution, step: Step, allowed: tuple[Step, ...]) -> None:
    number = step.step
    if number in ex.position.done:
        raise ReorgError(
            f"step {number} is already done; run `reorg status` to see what comes next, or `reorg undo` to step back"
        )
    if ex.position.dirty is not None and number != ex.position.dirty:
        raise ReorgError(_blocked(ex))
    if step not in allowed:
        listed = ", ".join(str(s.step) for s in allowed[:12]) + (", ..." if len(allowed) > 12 else "")
        raise ReorgError(
            f"step {number} is in wave {step.wave}, but wave {allowed[0].wave} is not finished (open: {listed}); "
            "do those first (`reorg next`)"
        )


# ---- done: one step, the started one, or a batch ---------------------------------------------------


def parse_step_list(text: str) -> tuple[int, ...]:
    """``3-9,12`` -> (3, 4, ..., 9, 12); one-line errors for anything else."""
    numbers: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        ok = all(p.isascii() and p.isdigit() and len(p) <= 9 for p in ((lo, hi) if dash else (lo,)))
        if not ok or (dash and int(lo) > int(hi)):
            raise ReorgError(f"step list {text!r}: {part!r} is not a step number or a range LOW-HIGH; e.g. 3-9,12")
        numbers.extend(range(int(lo), int(hi) + 1) if dash else [int(lo)])
    if len(numbers) > 10_000_000:
        raise ReorgError(f"step list {text!r} names too many steps")
    return tuple(dict.fromkeys(numbers))


def record_done(
    plan: Path | None = None,
    step: int | str | None = None,
    journal: Path | None = None,
    hosts: Path | None = None,
    probe: bool = True,
    force: bool = False,
    force_unlock: bool = False,
    wave: int | None = None,
    host: str | None = None,
    here: str | None = None,
) -> StepReport | BatchReport:
    """``reorg done [STEPS] [--wave W] [--host H]``: post-check steps and record them.

    A bare ``done`` records the step ``next`` started (or the failed one, retried); ``STEPS``
    (``3``, ``3-9,12``) or ``--wave``/``--host`` name several, recorded in step order, each
    post-checked. A failed post-check is recorded as ``failed`` and stops the batch; ``force``
    records ``done`` anyway, marked forced. One step (bare or by number) gives a ``StepReport``; a
    list, ``--wave`` or ``--host`` a ``BatchReport``. The plan file is verified first.
    """
    plan_path = find_plan(plan)
    planfile = read_plan(plan_path)
    probing = _probing(plan_path, hosts, here, probe)
    journal_path = journal if journal is not None else journal_path_for(planfile.path)
    numbers = parse_step_list(step) if isinstance(step, str) else ((step,) if step is not None else None)
    total = len(planfile.plan.steps)
    scope = planfile.plan.options.scope
    with _locked(journal_path, force_unlock):
        ex = open_execution(planfile, journal_path)  # read under the lock: no lost update
        verify_once(ex)
        if ex.twins:
            path, count = ex.twins[0]
            raise ReorgError(f"refusing to start a new journal: {_twin_text(ex.planfile, path, count)}")
        targets = _choose_done(ex, numbers, wave, host)
        replayer = ex.replayer()
        updated = ex.started()
        reports: list[StepReport] = []
        for target in targets:
            if not replayer.is_open(target.step):
                allowed = open_steps(ex.plan, replayer.done_set, replayer.dirty)
                _check_open(_at(ex, replayer), target, allowed)
            status = ex.status_of(target)
            _, post = step_checks(ex.plan, replayer, target, status=status)
            checks, missing = probing.run(post)
            failed = _failed(checks)
            if failed and not force:
                updated = updated.append(EventKind.FAILED, target.step, checks)
            else:
                updated = updated.append(EventKind.DONE, target.step, checks, forced=bool(failed), unverified=missing > 0)
            replayer.apply(updated.events[-1])
            last = target is targets[-1] or (bool(failed) and not force)
            reports.append(_done_report(ex, target, checks, bool(failed) and not force, bool(failed), missing,
                                        updated.events[-1], replayer, status, last))
            if failed and not force:
                break
        save_journal(updated)
    position = replayer.position()
    end = ""
    if len(position.done) == total and total:
        # The end of the migration: say how many steps were recorded without proof.
        unproven = _unverified_steps(replace(ex, journal=updated, position=position))
        end = (
            f" {len(unproven)} of the {total} steps are unverified (checks that could not run: "
            f"{_ranges(list(unproven))}); verify them by hand (`reorg status`)." if unproven
            else " Every step was verified. Write the new inventory with `reorg state --at end --out FILE`."
        )
    listed = isinstance(step, str) and any(c in step for c in ",-")
    if len(targets) == 1 and not listed and wave is None and host is None:
        only = reports[0]
        number = only.step.step if only.step is not None else None
        also = tuple(s for s in open_steps(ex.plan, position.done, position.dirty) if s.step != number)
        return replace(only, position=position, also=also, notices=ex.notices, advice=only.advice + end)
    batch = _batch_report(ex, targets, reports, position, total, scope)
    return replace(batch, advice=batch.advice + end)


def _at(ex: Execution, replayer: Replayer) -> Execution:
    return replace(ex, position=replayer.position())


def _done_report(
    ex: Execution, target: Step, checks: tuple[Check, ...], failed_now: bool, forced: bool, missing: int,
    event: Event, replayer: Replayer, status: str, last: bool = True,
) -> StepReport:
    """One step's report. Inside a batch (``last`` False) it is cheap: no full state and no
    search for the next step, so a batch of thousands of steps stays linear."""
    total = len(ex.plan.steps)
    position = replayer.position() if last else Position(tuple(replayer.done), replayer.dirty, (), ())
    if failed_now:
        bad = _failed(checks)[0]
        advice = (
            f"step {target.step} is recorded as failed: {bad.what} is not true ({bad.detail}); fix it and run "
            f"`reorg done {target.step}` again, roll it back and run `reorg undo`, or, after checking by hand, "
            f"`reorg done {target.step} --force`"
        )
        return StepReport("done", target, ex.plan.options.scope, checks, event, False, advice,
                          position, total, (), (), status, context=ex.context_of(target))
    after = _next_open(ex.plan, replayer) if last else None
    then = f"next: `reorg next` (step {after.step})" if after else f"all {total} steps are done"
    note = " (forced past a failed check)" if forced else ""
    if missing:
        note += f" as unverified (nothing proved it: {_skipped_text(checks)}; verify by hand)"
    advice = f"step {target.step} is recorded as done{note}" + (f"; {then}." if last else ".")
    if not missing:
        advice += _skipped_note(checks)
    return StepReport("done", target, ex.plan.options.scope, checks, event, True, advice,
                      position, total, (), (), status, context=ex.context_of(target))


def _next_open(plan: Plan, replayer: Replayer) -> Step | None:
    if replayer.dirty is not None:
        return replayer.steps[replayer.dirty]
    for number in sorted(replayer.steps):
        step = replayer.steps[number]
        if step.wave == replayer.low and number not in replayer.done_set:
            return step
    return None


def _batch_report(
    ex: Execution, targets: list[Step], reports: list[StepReport], position: Position, total: int, scope: Scope
) -> BatchReport:
    recorded = [r for r in reports if r.ok]
    failed = [r for r in reports if not r.ok]
    unverified_steps = tuple(
        r.step.step for r in reports if r.step is not None and r.event is not None and r.event.unverified
    )
    left = [t.step for t in targets[len(reports):]]
    parts = [f"{len(recorded)} of {len(targets)} step(s) recorded as done"]
    if unverified_steps:
        parts.append(f"{len(unverified_steps)} of them unverified (checks that could not run: verify by hand)")
    if failed:
        bad = failed[0].step
        parts.append(f"step {bad.step if bad is not None else '?'} failed: {failed[0].advice}")
    if left:
        parts.append(f"not attempted: {_ranges(left)}")
    after = next_step(ex.plan, position)
    if not failed:
        parts.append(f"next: `reorg next` (step {after.step})" if after else f"all {total} steps are done")
    return BatchReport(tuple(reports), not failed, "; ".join(parts) + ".", position, total, ex.notices, unverified_steps)


def _ranges(numbers: list[int]) -> str:
    out: list[tuple[int, int]] = []  # (first, last) of each run
    for n in sorted(numbers):
        if out and out[-1][1] == n - 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in out)


def _choose_done(ex: Execution, numbers: tuple[int, ...] | None, wave: int | None, host: str | None) -> list[Step]:
    """The steps ``done`` records: those named, those of ``--wave``/``--host``, or the started one."""
    position, plan = ex.position, ex.plan
    if numbers is not None:
        steps = [find_step(plan, n) for n in numbers]
        for s in steps:
            if s.step in position.done:
                _check_open(ex, s, ())
            if wave is not None and s.wave != wave or host is not None and s.host != host:
                raise ReorgError(f"step {s.step} is in wave {s.wave} on {s.host}, outside --wave/--host; drop one")
        if len(steps) == 1:
            _check_open(ex, steps[0], open_steps(plan, position.done, position.dirty))
        return sorted(steps)
    if wave is not None:
        if position.dirty is not None:
            raise ReorgError(_blocked(ex))
        done = set(position.done)
        steps = [s for s in plan.steps if s.step not in done and s.wave == wave and (host is None or s.host == host)]
        if not steps:
            where = f" on {host}" if host else ""
            raise ReorgError(f"no step of wave {wave}{where} is left to record; run `reorg status`")
        return steps
    if host is not None:
        if position.dirty is not None:
            raise ReorgError(_blocked(ex))
        started = [find_step(plan, n) for n in position.started if find_step(plan, n).host == host]
        if not started:
            raise ReorgError(
                f"no step on {host} is started; run `reorg next --host {host}` to check and start one, "
                f"or name the wave: `reorg done --wave W --host {host}`"
            )
        return sorted(started)
    if position.dirty is not None:
        return [find_step(plan, position.dirty)]
    if len(position.started) == 1:
        return [find_step(plan, position.started[0])]
    if position.started:
        listed = ", ".join(str(n) for n in position.started)
        raise ReorgError(f"steps {listed} are started; name the one you performed, e.g. `reorg done {position.started[-1]}`")
    after = next_step(plan, position)
    if after is None:
        raise ReorgError(f"all {len(plan.steps)} steps are already done; nothing to record (`reorg status`)")
    last = last_done(plan, position)
    if last is not None:
        raise ReorgError(
            f"step {last.step} is already done; next: `reorg next` (step {after.step}) to check and start it, "
            f"then `reorg done`, or record a step by number: `reorg done {after.step}`"
        )
    raise ReorgError(
        f"no step is started; run `reorg next` (step {after.step}) to check and start it, then `reorg done`, "
        f"or record a step by number: `reorg done {after.step}`"
    )
def record_undo(
    plan: Path | None = None,
    journal: Path | None = None,
    hosts: Path | None = None,
    probe: bool = True,
    force: bool = False,
    force_unlock: bool = False,
    preview: bool = False,
    here: str | None = None,
    expect_step: int | None = None,
    confirming: bool = False,
) -> StepReport:
    """``reorg undo``: the reverse of the last done (or failed) step, checked and recorded.

    ``preview`` (``--preview``, and what the CLI shows before it asks) only shows it and runs the
    reversed pre-check (the old port is free), writing nothing, like ``next``. Otherwise the
    operator has rolled the step back: the reversed post-checks (the service answers on its old
    port, unless it was stopped or the port is held by another binding; the new port is free)
    run and, if they pass or ``force`` is given, ``undone`` is recorded. A failed rollback records
    nothing. ``expect_step`` (the step the operator confirmed) refuses to record another one.

    The order is: ``undo --preview`` before rolling back (its old port must be free; run after
    the rollback, it finds the rollback's checks passing and says so), then the rollback by hand,
    then ``undo``. ``confirming`` is what ``undo`` shows before it asks: the rollback, no checks
    (the operator has rolled back already, so the pre-check no longer applies), and that the
    answer runs the rollback's checks.
    """
    plan_path = find_plan(plan)
    planfile = read_plan(plan_path)
    probing = _probing(plan_path, hosts, here, probe)
    journal_path = journal if journal is not None else journal_path_for(planfile.path)
    total = len(planfile.plan.steps)
    scope = planfile.plan.options.scope
    if preview:
        ex = open_execution(planfile, journal_path)
        target = _choose_undo(ex)
        status = ex.status_of(target)
        if _cancels(ex, target):
            advice = (
                f"step {target.step} is started, not done: `reorg undo` cancels its start (it asks first; --yes "
                "for scripts); nothing on the hosts changes, so put back anything you already changed"
            )
            return StepReport("cancel-preview", target, scope, (), None, True, advice, ex.position, total, (),
                              ex.notices + _lock_notice(journal_path), status, context=ex.context_of(target))
        pre, post = step_checks(ex.plan, ex.position, target, reverse=True, status=status)
        notices = ex.notices + _lock_notice(journal_path)
        if confirming:
            advice = (
                f"if you have rolled step {target.step} back as shown, answer y: its rollback checks run and it is "
                "recorded as undone; if not, answer n, roll it back, and run `reorg undo` again"
            )
            return StepReport("undo-preview", target, scope, (), None, True, advice, ex.position, total, (),
                              notices, status, context=ex.context_of(target))
        checks, _ = probing.run(pre)
        failed = _failed(checks)
        rolled, _ = probing.run(post) if failed else ((), 0)
        if failed and rolled and not _failed(rolled) and any(c.outcome is Outcome.OK for c in rolled):
            # the old port answers because the rollback is done already: say so, not "not free"
            checks, failed = rolled, _failed(rolled)
            advice = (
                f"step {target.step} looks rolled back already (its rollback checks pass); run `reorg undo` to "
                "record it as undone"
            )
        elif failed:
            bad = failed[0]
            advice = (
                f"port {bad.port} on {bad.host} is not free ({bad.detail}), so {target.service} cannot go back to it; "
                "free it first, then roll back and run `reorg undo`"
            )
        else:
            advice = (
                f"roll the step back as shown, then run `reorg undo`: it asks, then checks the rollback and records "
                f"it.{_skipped_note(checks)}"
            )
        return StepReport("undo-preview", target, scope, checks, None, not failed, advice, ex.position, total, (),
                          notices, status, context=ex.context_of(target))
    with _locked(journal_path, force_unlock):
        ex = open_execution(planfile, journal_path)
        target = _choose_undo(ex)
        if expect_step is not None and target.step != expect_step:
            raise ReorgError(
                f"the step to undo is now {target.step}, not {expect_step} (another session recorded meanwhile); "
                "run `reorg undo` again"
            )
        status = ex.status_of(target)
        if _cancels(ex, target):
            assert ex.journal is not None  # a started step is in it
            updated = ex.journal.append(EventKind.CANCELLED, target.step, ())
            save_journal(updated)
            position = replay(ex.plan, updated.events, journal_path, ex.base)
            advice = (
                f"the start of step {target.step} is cancelled: it is open again and not started "
                f"(`reorg next {target.step}` starts it again)."
            )
            return StepReport("cancel", target, scope, (), updated.events[-1], True, advice, position, total, (),
                              ex.notices, status, context=ex.context_of(target))
        _, post = step_checks(ex.plan, ex.position, target, reverse=True, status=status)
        checks, missing = probing.run(post)
        failed = _failed(checks)
        if failed and not force:
            bad = failed[0]
            advice = (
                f"the rollback of step {target.step} is not complete: {bad.what} is not true ({bad.detail}); "
                f"finish it and run `reorg undo` again, or, after checking by hand, `reorg undo --force`; "
                "nothing was recorded"
            )
            return StepReport("undo", target, scope, checks, None, False, advice, ex.position, total, (),
                              ex.notices, status, context=ex.context_of(target))
        assert ex.journal is not None  # _choose_undo found a done or failed step in it
        updated = ex.journal.append(EventKind.UNDONE, target.step, checks, forced=bool(failed), unverified=missing > 0)
        save_journal(updated)
    position = replay(ex.plan, updated.events, journal_path, ex.base)
    after = next_step(ex.plan, position)
    forced = " (forced past a failed check)" if failed else ""
    then = f"step {after.step} is next (`reorg next`)" if after else "nothing is open"
    advice = f"step {target.step} is recorded as undone{forced}; {then}.{_skipped_note(checks)}"
    return StepReport("undo", target, scope, checks, updated.events[-1], True, advice, position, total, (),
                      ex.notices, status, context=ex.context_of(target))


def _choose_undo(ex: Execution) -> Step:
    """What ``undo`` takes back: the failed step; else the latest of the last done step and a
    step started (by ``next``) and not done, whose start it cancels (see ``_cancels``)."""
    if ex.position.dirty is not None:
        return find_step(ex.plan, ex.position.dirty)
    step = last_done(ex.plan, ex.position)
    started = set(ex.position.started)
    for event in reversed(ex.journal.events if ex.journal else ()):
        if event.event is EventKind.STARTED and event.step in started:
            return find_step(ex.plan, event.step)
        if step is not None and event.event is EventKind.DONE and event.step == step.step:
            return step
    if step is None:
        raise ReorgError("nothing to undo: no step is done or started yet; run `reorg next` to start")
    return step


def _cancels(ex: Execution, step: Step) -> bool:
    """True when ``undo`` of ``step`` cancels its start: it is started and not done nor failed."""
    return step.step in ex.position.started and step.step != ex.position.dirty and step.step not in ex.position.done


def journal_history(plan: Path | None = None, journal: Path | None = None) -> HistoryReport:
    """``reorg history``: every event of the journal, oldest first. Never writes."""
    ex = open_execution(find_plan(plan), journal)
    events = ex.journal.events if ex.journal else ()
    return HistoryReport(ex.planfile.path, ex.journal_path, ex.plan.steps, events)


def _reset_paths(plan: Path | None, journal: Path | None) -> tuple[Path, Path]:
    plan_path = find_plan(plan)
    return plan_path, journal if journal is not None else journal_path_for(plan_path)


def _checked_journal(journal_path: Path) -> Journal | None:
    """The journal about to be moved aside, or a refusal when the file is not a journal.

    ``reset`` must work for a corrupt journal, so a file named like one (``*.journal.json``) is
    moved aside even when it does not load; any other file (``data/current.csv``, a plan) is
    moved only when it really is a ``reorg-journal/1`` file.
    """
    if journal_path.is_dir():
        raise ReorgError(f"{journal_path}: is a directory, not a journal; nothing was moved")
    try:
        return load_journal(journal_path)
    except ReorgError as exc:
        if journal_path.name.endswith(".journal.json"):
            return None
        raise ReorgError(f"{exc.args[0].split('; ')[0]}; {journal_path} is not a journal, so nothing was moved") from None


def journal_done_steps(plan: Path | None = None, journal: Path | None = None) -> tuple[Path, int]:
    """How many steps the journal records as done (for ``reset``'s warning). Never writes."""
    _, journal_path = _reset_paths(plan, journal)
    loaded = _checked_journal(journal_path)
    return journal_path, done_count(loaded) if loaded is not None else 0


def reset_journal(
    plan: Path | None = None, journal: Path | None = None, force_unlock: bool = False
) -> tuple[Path, Path | None]:
    """``reorg reset``: move the journal aside (``.bak-N``) so the next ``done`` starts a new one.

    The plan is not read, so this works for a changed plan or a corrupt journal; a file that is
    not a journal is refused before anything moves. Returns the journal path and where it went
    (None if there was none).
    """
    _, journal_path = _reset_paths(plan, journal)
    _checked_journal(journal_path)
    with _locked(journal_path, force_unlock):
        _checked_journal(journal_path)
        return journal_path, backup_journal(journal_path)


# ---- state: the inventory the journal says is true; hosts init: a hosts.csv to fill in ----------


class At(str, Enum):
    """Which state ``reorg state`` writes: as the journal says now, or after the last step."""

    NOW = "now"
    END = "end"


@dataclass(frozen=True)
class StateResult:
    """``reorg state``: the table's text, where it went (None: stdout), and what to know."""

    text: str
    out: Path | None
    rows: int
    moved: int
    retired: int
    notices: tuple[str, ...] = ()


def write_state(
    plan: Path | None = None,
    journal: Path | None = None,
    at: At = At.NOW,
    out: Path | None = None,
    current: Path | None = None,
) -> StateResult:
    """``reorg state``: the current table with every binding of the plan where the journal puts it.

    The columns and rows of the table the plan was made from (``--current``, else the one its
    inputs name) are kept, status, source and note included; the port of each binding the plan
    moves is set to where it is at ``at`` (now: the journal's position; end: after the last step),
    and a retired binding's row is left out. Rows of moving bindings come from the plan's ``held``
    list when the table has none. ``out`` is written atomically; an existing file is replaced
    only when it is a current table (``service,host,port`` header), never a plan or a journal.
    """
    planfile = read_plan(find_plan(plan))
    ex = open_execution(planfile, journal)
    notices = list(ex.notices)
    if at is At.END:
        replayer = Replayer(ex.plan, ex.journal_path, ex.base)
        state = dict(replayer.state)
        for step in ex.plan.steps:
            state[(step.service, step.host)] = step.to_port
    else:
        state = ex.position.state_dict()
        if ex.position.dirty is not None:
            step = find_step(ex.plan, ex.position.dirty)
            notices.append(
                f"step {step.step} failed its post-check: {step.service}@{step.host} is written on its old "
                f"port {step.from_port}; check where it really listens"
            )
    moving = {(step.service, step.host) for step in ex.plan.steps}
    table = current if current is not None else _find_table(planfile)[0]
    header, rows = _read_table_rows(table) if table is not None else (["service", "host", "port", "status"], [])
    if table is None:
        if planfile.base is None:
            raise ReorgError(
                f"{planfile.path} carries no `held` list and its current table was not found; pass --current PATH"
            )
        notices.append("the current table was not found: the rows are the plan's `held` list (service, host, port, status)")
    index = {name.strip().lower(): i for i, name in enumerate(header)}
    for column in ("service", "host", "port"):
        if column not in index:
            raise ReorgError(f"{table}:1: header has no '{column}' column; pass the current table with --current")
    out_rows: list[list[str]] = []
    seen: set[tuple[str, str]] = set()
    moved = retired = 0
    for row in rows:
        cells = row + [""] * (len(header) - len(row))
        key = (cells[index["service"]].strip(), cells[index["host"]].strip())
        seen.add(key)
        if key in moving:
            port = state.get(key)
            if port is None:
                retired += 1
                continue
            if str(port) != cells[index["port"]].strip():
                moved += 1
            cells[index["port"]] = str(port)
        out_rows.append(cells)
    for binding in planfile.base or ():
        if binding.key in moving and binding.key not in seen and state.get(binding.key) is not None:
            cells = [""] * len(header)
            cells[index["service"]], cells[index["host"]] = binding.service, binding.host
            cells[index["port"]] = str(state[binding.key])
            if "status" in index:
                cells[index["status"]] = binding.status
            out_rows.append(cells)
            moved += 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(out_rows)
    text = buffer.getvalue()
    if out is not None:
        _refuse_overwrite(out, planfile, ex.journal_path)
        write_text_atomic(out, text)
    return StateResult(text, out, len(out_rows), moved, retired, tuple(notices))


def _read_table_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        raw = read_bytes(path, "CSV")
    except FileNotFoundError as exc:
        raise ReorgError(f"{path}: no such table; pass the current table with --current") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReorgError(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [row for row in reader if row and any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ReorgError(f"{path}:{reader.line_num}: not a valid CSV line ({exc}); fix the line") from None
    if not rows:
        raise ReorgError(f"{path}: empty table; pass the current table with --current")
    return rows[0], rows[1:]


def _refuse_overwrite(out: Path, planfile: PlanFile, journal_path: Path) -> None:
    """Write over ``out`` only when it is a current table: never a plan, journal or other file."""
    if out.is_dir():
        raise ReorgError(f"{out}: is a directory; pass --out FILE.csv")
    resolved = out.resolve()
    if resolved in (planfile.path.resolve(), journal_path.resolve()):
        raise ReorgError(f"{out}: is the plan or its journal; pass another --out")
    if not os.path.lexists(out):
        return
    try:
        head = read_bytes(out, "CSV")[:4096].decode("utf-8-sig", errors="replace")
    except FileNotFoundError:
        return
    first = [cell.strip().lower() for cell in (head.splitlines() or [""])[0].split(",")]
    if not {"service", "host", "port"} <= set(first):
        raise ReorgError(
            f"{out}: exists and is not a current table (no service,host,port header); it was left alone: "
            "pass another --out"
        )


def _known_os(planfile: PlanFile) -> dict[str, str]:
    """Each host's os from the ``hosts.csv`` beside the plan's current table (data/hosts.csv), if any."""
    table, _ = _find_table(planfile)
    beside = table.parent / "hosts.csv" if table is not None else None
    if beside is None or not beside.is_file():
        return {}
    try:
        facts = read_host_facts(beside)
    except ReorgError:
        return {}
    return {host: fact.os.value for host, fact in facts.items() if fact.os is not None}


def hosts_init(plan: Path | None = None, out: Path | None = None) -> tuple[Path, tuple[str, ...]]:
    """``reorg hosts init``: ``hosts.csv`` beside the plan with every host of the plan, to fill in.

    Never overwrites: an existing file is refused. Columns ``host,address,os`` with the address left
    empty (a host without an address is probed only with ``--here``) and the os copied from the
    ``hosts.csv`` beside the current table when it names one.
    """
    planfile = read_plan(find_plan(plan))
    target = out if out is not None else planfile.path.parent / "hosts.csv"
    hosts = sorted({step.host for step in planfile.plan.steps} | {b.host for b in planfile.base or ()})
    known = _known_os(planfile)
    text = "host,address,os\n" + "".join(f"{host},,{known.get(host, '')}\n" for host in hosts)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ReorgError(f"{target}: exists; it was left alone (edit it, or pass --out for another file)") from None
    except OSError as exc:
        raise ReorgError(f"{target}: cannot create ({exc.strerror or exc}); check the folder") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return target, tuple(hosts)
