"""What the execute commands return: one small record per command (status, a step, history).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reorg.journal import Event
from reorg.lock import Lock
from reorg.model import Plan, Scope, Step
from reorg.probe import Check
from reorg.replay import Position, find_step, last_done, next_step, open_steps


@dataclass(frozen=True)
class StatusReport:
    """``reorg status``: where execution stands, read without writing anything."""

    plan_path: Path
    plan_sha256: str
    journal_path: Path
    journal_exists: bool
    plan: Plan
    position: Position
    events: int
    lock: Lock | None
    dirty_checks: tuple[Check, ...]  # the failed checks of the dirty step's last attempt
    notices: tuple[str, ...] = ()
    unverified: tuple[int, ...] = ()  # done steps whose checks could not all run

    @property
    def total(self) -> int:
        return len(self.plan.steps)

    @property
    def waves(self) -> int:
        return max((step.wave for step in self.plan.steps), default=0)

    @property
    def last_done(self) -> Step | None:
        return last_done(self.plan, self.position)

    @property
    def dirty(self) -> Step | None:
        return find_step(self.plan, self.position.dirty) if self.position.dirty is not None else None

    @property
    def open(self) -> tuple[Step, ...]:
        return open_steps(self.plan, self.position.done, self.position.dirty)

    @property
    def next(self) -> Step | None:
        return next_step(self.plan, self.position)

    @property
    def finished(self) -> bool:
        return len(self.position.done) == self.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": {"path": self.plan_path.as_posix(), "sha256": self.plan_sha256},
            "journal": {"path": self.journal_path.as_posix(), "exists": self.journal_exists, "events": self.events},
            "steps": self.total,
            "waves": self.waves,
            "done": list(self.position.done),
            "last_done": _dict(self.last_done),
            "next": _dict(self.next),
            "open": [step.step for step in self.open],
            "dirty": _dict(self.dirty),
            "dirty_checks": [check.to_dict() for check in self.dirty_checks],
            "lock": self.lock.to_dict() if self.lock else None,
            "finished": self.finished,
            "notices": list(self.notices),
            "started": list(self.position.started),
            "unverified": list(self.unverified),
        }


@dataclass(frozen=True)
class StepContext:
    """What the plan file says about a step's binding beyond its status, for the step's text.

    ``source`` and ``note``: current.csv's free-text columns; ``line``: where its row was, e.g.
    ``current.csv:4``; ``os``: the host's OS; ``partners``: the steps it pairs with (same wave and
    host), as the runbook shows them.
    """

    source: str = ""
    note: str = ""
    line: str = ""
    os: str = ""
    partners: tuple[int, ...] = ()


@dataclass(frozen=True)
class StepReport:
    """``reorg next``, ``done`` and ``undo``: the step, its checks, what was recorded, what next.

    ``action`` is ``next`` (which records ``started``), ``done``, ``undo``, ``undo-preview``, ``cancel`` (an ``undo`` that
    cancels a start) or ``cancel-preview``. ``ok`` False means a check
    failed (exit 1); ``advice`` says what to do next in either case.
    """

    action: str
    step: Step | None
    scope: Scope
    checks: tuple[Check, ...]
    event: Event | None
    ok: bool
    advice: str
    position: Position
    total: int
    also: tuple[Step, ...] = ()  # other open steps of the same wave, any order
    notices: tuple[str, ...] = ()
    status: str = ""  # the binding's status before the plan: running, stopped, unsure
    context: StepContext = StepContext()

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "started": list(self.position.started),
            "action": self.action,
            "step": _dict(self.step),
            "checks": [check.to_dict() for check in self.checks],
            "recorded": self.event.to_dict() if self.event else None,
            "ok": self.ok,
            "advice": self.advice,
            "done": list(self.position.done),
            "dirty": self.position.dirty,
            "steps": self.total,
            "also_open": [step.step for step in self.also],
            "notices": list(self.notices),
        }


@dataclass(frozen=True)
class BatchReport:
    """``reorg done 3-9,12`` or ``done --wave W --host H``: one report per step attempted, in order.

    A failed post-check stops the batch (that step is recorded as failed); ``ok`` is False then.
    """

    reports: tuple[StepReport, ...]
    ok: bool
    advice: str
    position: Position
    total: int
    notices: tuple[str, ...] = ()
    unverified: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": "done-batch",
            "steps": [report.to_dict() for report in self.reports],
            "ok": self.ok,
            "advice": self.advice,
            "done": list(self.position.done),
            "dirty": self.position.dirty,
            "total": self.total,
            "unverified": list(self.unverified),
            "notices": list(self.notices),
        }


@dataclass(frozen=True)
class HistoryReport:
    """``reorg history``: the journal's events beside the steps they name."""

    plan_path: Path
    journal_path: Path
    steps: tuple[Step, ...]
    events: tuple[Event, ...]

    def step(self, number: int) -> Step | None:
        return _step(self.steps, number)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan_path.as_posix(),
            "journal": self.journal_path.as_posix(),
            "events": [dict(event.to_dict(), detail=_dict(self.step(event.step))) for event in self.events],
        }


def _step(steps: tuple[Step, ...], number: int) -> Step | None:
    return next((step for step in steps if step.step == number), None)


def _dict(step: Step | None) -> dict[str, Any] | None:
    return step.to_dict() if step else None
