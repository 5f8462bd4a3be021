"""Output of the execute commands: status, next, done, undo, history and reset, as text or JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from reorg.execution import BatchReport, HistoryReport, StatusReport, StepReport
from reorg.model import Step, StepKind
from reorg.probe import Check
from reorg.probe import Outcome as ExecOutcome
from reorg.render.steptext import StepFacts, StepText, describe_step, step_title
from reorg.render.table import text_table
from reorg.replay import Position


def render_execution_json(report: StatusReport | StepReport | BatchReport | HistoryReport) -> str:
    """Any execute report (status, step, batch, history) as JSON: sorted keys, one trailing newline.

    A step report (next, done, undo) also carries the step's checklist, as the text shows it, so
    ``next --json`` says what to change, verify and roll back; ``undo`` carries the rollback's
    checklist; ``null`` when there is no step. A batch carries one per step.
    """
    data = report.to_dict()
    if isinstance(report, BatchReport):
        data["steps"] = [dict(item, checklist=_checklist(r)) for item, r in zip(data["steps"], report.reports, strict=False)]
    elif isinstance(report, StepReport):
        data["checklist"] = _checklist(report)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _checklist(report: StepReport) -> dict[str, Any] | None:
    step = report.step
    if not isinstance(step, Step):
        return None
    text = step_text(step, report)
    if report.action in ("undo", "undo-preview"):
        back = undo_text(step, report)
        return {"title": back[0], "precheck": back[1], "change": back[2], "verify": back[3], "rollback": back[4]}
    return {
        "title": text.title,
        "precheck": text.precheck,
        "change": text.change,
        "verify": text.verify,
        "rollback": text.rollback,
    }


def step_text(step: Step, report: StepReport) -> StepText:
    """The step's checklist, said for its binding's status (stopped, unsure) and its shared ports.

    The same text as the runbook's (``describe_step``), so ``reorg next`` and the runbook never
    disagree with what ``reorg done`` checks."""
    c = report.context
    facts = StepFacts(report.status, c.source, c.note, c.line, c.os)
    return describe_step(step, report.scope, sharing=_sharing(step, report.position), facts=facts)


def undo_text(step: Step, report: StepReport) -> tuple[str, str, str, str, str]:
    """The rollback's checklist: title, pre-check, change, verify, and how to redo it."""
    text = step_text(step, report)
    status = getattr(report, "status", "")
    svc, host, old, new = step.service, step.host, step.from_port, step.to_port
    title = f"Undo step {step.step}: {svc} on {host}: {_change(step, reverse=True)}"
    held = _sharing_port(step, report.position, old)
    change = text.rollback
    if step.kind is StepKind.RETIRE and held and status != "stopped":
        change = (
            f"Restore {svc}'s configuration with port {old} on {host} but do not start it: port {old} is held "
            f"by {', '.join(held)} at this point of the plan; start it only once that port is free (`reorg undo`)."
        )
    precheck = (
        f"Port {old} is held by {', '.join(held)} too, so it cannot be shown free."
        if held else f"`! nc -z -w 2 {host} {old}` (port {old} is free on {host}), or `reorg undo --preview`."
    )
    if status == "stopped" or (step.kind is StepKind.RETIRE and held):
        verify = (f"`! nc -z -w 2 {host} {new}` (port {new} is free); " if new is not None else "") + (
            f"{svc} is not started, so nothing of it answers on {old}; or `reorg undo`, which records it."
        )
    elif new is None:
        verify = f"`nc -z -w 2 {host} {old}` ({svc} answers on {old} again), or `reorg undo`, which records it."
    else:
        verify = (
            f"`nc -z -w 2 {host} {old} && ! nc -z -w 2 {host} {new}` ({svc} answers on {old} again, {new} is "
            "free), or `reorg undo`, which records it."
        )
    redo = f"Do step {step.step} again as the runbook says (`reorg next {step.step}`)."
    return title, precheck, change, verify, redo


def _sharing_port(step: Step, position: Position, port: int) -> tuple[str, ...]:
    """Services other than the step's own that hold ``port`` on its host at ``position``."""
    return tuple(sorted(
        service for (service, host), held in position.state_dict().items()
        if host == step.host and held == port and (service, host) != (step.service, step.host)
    ))


def _change(step: Step, reverse: bool = False) -> str:
    old, new = step.from_port, "retired" if step.to_port is None else step.to_port
    return f"{new} → {old}" if reverse else f"{old} → {new}"


def _step_numbers(steps: Iterable[Step], limit: int = 12) -> str:
    """``2, 3, 4`` or, for a long wave, ``2, 3, ... (31 in all)``."""
    numbers = [str(step.step) for step in steps]
    if len(numbers) <= limit:
        return ", ".join(numbers)
    return ", ".join(numbers[:limit]) + f", ... ({len(numbers)} in all)"


def _checks_table(checks: Sequence[Check]) -> str:
    rows = [[c.phase, c.what, c.outcome.value, c.detail] for c in checks]
    return text_table(rows, headers=["phase", "check", "result", "detail"], tablefmt="simple", disable_numparse=True)


def _check_summary(checks: Sequence[Check]) -> str:
    if not checks:
        return "-"
    counts = [(o, sum(1 for c in checks if c.outcome is o)) for o in ExecOutcome]
    return ", ".join(f"{n} {o.value}" for o, n in counts if n)


def render_status(report: StatusReport) -> str:
    """``reorg status`` for people: a two-column summary, then notices."""
    done = len(report.position.done)
    nxt, last, dirty = report.next, report.last_done, report.dirty
    if not report.total:
        progress = "the plan has no steps: every binding is already on its target port"
    elif report.finished or nxt is None:
        progress = f"all {report.total} steps done"
    else:
        progress = f"{done} of {report.total} steps done; wave {nxt.wave} of {report.waves} is open"
    if dirty is not None:
        next_text = f"blocked until step {dirty.step} is retried, undone or forced"
    elif nxt is None:
        next_text = "-"
    else:
        others = [s for s in report.open if s.step != nxt.step]
        next_text = step_title(nxt) + (f"  (also open in wave {nxt.wave}: {_step_numbers(others)})" if others else "")
    noun = "event" if report.events == 1 else "events"
    journal = f"{report.journal_path.as_posix()} ({report.events} {noun})" if report.journal_exists else (
        f"{report.journal_path.as_posix()} (not started: the first `reorg next` or `reorg done` creates it)"
    )
    rows = [
        ["plan", f"{report.plan_path.as_posix()} (sha256 {report.plan_sha256[:12]})"],
        ["journal", journal],
        ["progress", progress],
        ["last done", step_title(last) if last else "-"],
        ["next", next_text],
        ["started", _step_numbers(_steps_of(report, report.position.started)) if report.position.started else "-"],
        ["failed", step_title(dirty) if dirty else "-"],
        ["unverified", (
            f"{len(report.unverified)} done step(s) whose checks could not all run: "
            f"{_step_numbers(_steps_of(report, report.unverified))}; verify them by hand"
        ) if report.unverified else "-"],
        ["lock", report.lock.describe() if report.lock else "-"],
    ]
    out = [text_table(rows, tablefmt="plain", disable_numparse=True)]
    if dirty is not None:
        for check in report.dirty_checks:
            out.append(f"  failed check: {check.what} ({check.detail})")
        n = dirty.step
        out.append(
            f"Step {n} is dirty: fix it and run `reorg done {n}`, roll it back and run `reorg undo`, "
            f"or record it with `reorg done {n} --force`."
        )
    elif report.lock is not None and (report.lock.pid is None or report.lock.alive() is False):
        out.append("The lock looks stale: the next `reorg done` or `reorg undo` needs --force-unlock.")
    elif report.lock is not None and report.lock.alive() is None:
        out.append(
            f"Check on {report.lock.host} whether pid {report.lock.pid} still runs; only if it does not, "
            "the next `reorg done` or `reorg undo` needs --force-unlock."
        )
    elif nxt is not None:
        out.append("Run `reorg next` for the next step's checklist.")
    return "\n".join(out) + "\n"


def _steps_of(report: StatusReport, numbers: Iterable[int]) -> list[Step]:
    by_number = {step.step: step for step in report.plan.steps}
    return [by_number[n] for n in numbers if n in by_number]


def _sharing(step: Step, position: Position) -> tuple[str, ...]:
    """Services other than the step's own that hold its old port on its host at ``position``."""
    return tuple(sorted(
        service for (service, host), port in position.state_dict().items()
        if host == step.host and port == step.from_port and (service, host) != (step.service, step.host)
    ))


def render_step_report(report: StepReport) -> str:
    """``reorg next``, ``done`` and ``undo``: the step's checklist, its checks, what to do next."""
    out: list[str] = []
    step = report.step
    if step is not None:
        text = step_text(step, report)
        said = f" ({report.status})" if report.status in ("stopped", "unsure") else ""
        if report.action == "next":
            out.append(f"Step {step.step} of {report.total}, wave {step.wave}: {text.title}{said}")
            if report.context.partners:
                partners = " + ".join(map(str, report.context.partners))
                out.append(f"Pair with {partners}: a frontend and its backend, done together (same wave and host)")
            if report.also:
                out.append(f"Also open in wave {step.wave}, any order: {_step_numbers(report.also)}")
            out += ["", f"Change:    {text.change}", f"Verify:    {text.verify}", f"Roll back: {text.rollback}"]
        elif report.action in ("undo", "undo-preview"):
            title, _, change, verify, _ = undo_text(step, report)
            out.append(title + said)
            if report.action == "undo-preview":
                out += ["", f"Roll back: {change}", f"Verify:    {verify}"]
        else:
            out.append(f"Step {step.step} of {report.total}, wave {step.wave}: {text.title}{said}")
        if report.checks:
            out += ["", _checks_table(report.checks)]
    out += ["", report.advice]
    return "\n".join(out).lstrip("\n") + "\n"


def render_batch_report(report: BatchReport) -> str:
    """``reorg done 3-9,12``: one line per step attempted, its checks summed up, then the advice."""
    rows = []
    for item in report.reports:
        event = item.event
        if item.step is None:
            continue  # a batch reports only steps it attempted
        rows.append([
            item.step.step,
            item.step.wave,
            f"{item.step.service}@{item.step.host}",
            _change(item.step),
            event.label if event is not None else "-",
            _check_summary(item.checks),
        ])
    table = text_table(rows, headers=["step", "wave", "binding", "change", "recorded", "checks"],
                       tablefmt="simple", disable_numparse=True)
    return table + "\n\n" + report.advice + "\n"


def render_history(report: HistoryReport) -> str:
    """``reorg history``: the journal as a table, oldest event first."""
    if not report.events:
        return f"{report.journal_path.as_posix()}: no events yet (the first `reorg next` starts the journal)\n"
    rows = []
    for event in report.events:
        step = report.step(event.step)
        reverse = event.event.value == "undone"
        rows.append([
            event.seq,
            event.time,
            event.label,
            event.step,
            step.wave if step else "?",
            f"{step.service}@{step.host}" if step else "?",
            _change(step, reverse) if step else "?",
            _check_summary(event.checks),
            "yes" if event.forced else "",
        ])
    headers = ["seq", "time", "event", "step", "wave", "binding", "change", "checks", "forced"]
    table = text_table(rows, headers=headers, tablefmt="simple", disable_numparse=True) + "\n"
    unverified = sorted({e.step for e in report.events if e.unverified})
    if unverified:
        table += (
            f"{len(unverified)} step(s) recorded as unverified (checks that could not run): "
            f"{', '.join(map(str, unverified))}; verify them by hand\n"
        )
    return table


def render_reset(journal_path: Path, backup: Path | None) -> str:
    if backup is None:
        return f"{journal_path.as_posix()}: no journal to move aside; the next `reorg done` starts one\n"
    return (
        f"moved {journal_path.as_posix()} to {backup.as_posix()}; "
        "the next `reorg done` starts a new journal at step 1\n"
    )


def render_reset_json(journal_path: Path, backup: Path | None) -> str:
    data = {"journal": journal_path.as_posix(), "backup": backup.as_posix() if backup else None}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
