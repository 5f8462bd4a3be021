"""Output of the execute commands: status, next, done, undo, history and reset, as text or JSON.
"""

from __future__ import annotations

import json

from reorg.model import Step
from reorg.probe import Outcome as ExecOutcome
from reorg.render.steptext import describe_step, step_title
from reorg.render.table import text_table


def render_execution_json(report) -> str:
    """Any execute report (status, step, history) as JSON: sorted keys, one trailing newline.

    A step report (next, done, undo) also carries the step's checklist, as the text shows it, so
    ``next --json`` says what to change, verify and roll back; ``null`` when there is no step.
    """
    data = report.to_dict()
    if "action" in data:
        step = report.step
        text = (
            describe_step(step, report.scope, sharing=_sharing(step, report.position))
            if isinstance(step, Step) else None
        )
        data["checklist"] = None if text is None else {
            "title": text.title,
            "precheck": text.precheck,
            "change": text.change,
            "verify": text.verify,
            "rollback": text.rollback,
        }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _change(step: Step, reverse: bool = False) -> str:
    old, new = step.from_port, "retired" if step.to_port is None else step.to_port
    return f"{new} → {old}" if reverse else f"{old} → {new}"


def _step_numbers(steps, limit: int = 12) -> str:
    """``2, 3, 4`` or, for a long wave, ``2, 3, ... (31 in all)``."""
    numbers = [str(step.step) for step in steps]
    if len(numbers) <= limit:
        return ", ".join(numbers)
    return ", ".join(numbers[:limit]) + f", ... ({len(numbers)} in all)"


def _checks_table(checks) -> str:
    rows = [[c.phase, c.what, c.outcome.value, c.detail] for c in checks]
    return text_table(rows, headers=["phase", "check", "result", "detail"], tablefmt="simple", disable_numparse=True)


def _check_summary(checks) -> str:
    if not checks:
        return "-"
    counts = [(o, sum(1 for c in checks if c.outcome is o)) for o in ExecOutcome]
    return ", ".join(f"{n} {o.value}" for o, n in counts if n)


def render_status(report) -> str:
    """``reorg status`` for people: a two-column summary, then notices."""
    done = len(report.position.done)
    nxt, last, dirty = report.next, report.last_done, report.dirty
    if not report.total:
        progress = "the plan has no steps: every binding is already on its target port"
    elif report.finished:
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
        f"{report.journal_path.as_posix()} (not started: the first `reorg done` creates it)"
    )
    rows = [
        ["plan", f"{report.plan_path.as_posix()} (sha256 {report.plan_sha256[:12]})"],
        ["journal", journal],
        ["progress", progress],
        ["last done", step_title(last) if last else "-"],
        ["next", next_text],
        ["failed", step_title(dirty) if dirty else "-"],
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
    out += [f"note: {notice}" for notice in report.notices]
    return "\n".join(out) + "\n"


def _sharing(step: Step, position) -> tuple[str, ...]:
    """Services other than the step's own that hold its old port on its host at ``position``."""
    return tuple(sorted(
        service for (service, host), port in position.state_dict().items()
        if host == step.host and port == step.from_port and (service, host) != (step.service, step.host)
    ))


def render_step_report(report) -> str:
    """``reorg next``, ``done`` and ``undo``: the step's checklist, its checks, what to do next."""
    out: list[str] = []
    step = report.step
    if step is not None:
        text = describe_step(step, report.scope, sharing=_sharing(step, report.position))
        if report.action == "next":
            out.append(f"Step {step.step} of {report.total}, wave {step.wave}: {text.title}")
            if report.also:
                out.append(f"Also open in wave {step.wave}, any order: {_step_numbers(report.also)}")
            out += ["", f"Change:    {text.change}", f"Verify:    {text.verify}", f"Roll back: {text.rollback}"]
        elif report.action in ("undo", "undo-preview"):
            out.append(f"Undo step {step.step}: {step.service} on {step.host}: {_change(step, reverse=True)}")
            if report.action == "undo-preview":
                out += ["", f"Roll back: {text.rollback}"]
        else:
            out.append(f"Step {step.step} of {report.total}, wave {step.wave}: {text.title}")
        if report.checks:
            out += ["", _checks_table(report.checks)]
    out += ["", report.advice]
    out += [f"note: {notice}" for notice in report.notices]
    return "\n".join(out).lstrip("\n") + "\n"


def render_history(report) -> str:
    """``reorg history``: the journal as a table, oldest event first."""
    if not report.events:
        return f"{report.journal_path.as_posix()}: no events yet (the first `reorg done` starts the journal)\n"
    rows = []
    for event in report.events:
        step = report.step(event.step)
        reverse = event.event.value == "undone"
        rows.append([
            event.seq,
            event.time,
            event.event.value,
            event.step,
            step.wave if step else "?",
            f"{step.service}@{step.host}" if step else "?",
            _change(step, reverse) if step else "?",
            _check_summary(event.checks),
            "yes" if event.forced else "",
        ])
    headers = ["seq", "time", "event", "step", "wave", "binding", "change", "checks", "forced"]
    return text_table(rows, headers=headers, tablefmt="simple", disable_numparse=True) + "\n"


def render_reset(journal_path, backup) -> str:
    if backup is None:
        return f"{journal_path.as_posix()}: no journal to move aside; the next `reorg done` starts one\n"
    return (
        f"moved {journal_path.as_posix()} to {backup.as_posix()}; "
        "the next `reorg done` starts a new journal at step 1\n"
    )


def render_reset_json(journal_path, backup) -> str:
    data = {"journal": journal_path.as_posix(), "backup": backup.as_posix() if backup else None}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
