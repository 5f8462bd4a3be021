"""The position of an execution: the journal's events replayed over the plan, and each step's checks.

There is no cursor: the position is derived by replaying the events over the plan (``replay``),
which also re-checks that every event fits the plan, so a hand-edited or foreign journal is
caught rather than trusted.

Rules the replay enforces (and the commands only ever append events that keep them):

- a step is done at most once until it is undone; ``undo`` reverses the last done step;
- a step may be done when it is in the lowest wave that still has open steps (wave members run in
  any order, as the plan contract allows);
- a ``failed`` step makes the journal *dirty*: nothing else may be done until that step is done
  (retried or forced) or undone;
- a ``started`` step (``reorg next`` pre-checked it) must be open; it changes no port, and it
  stays started until it is done or failed (or its wave is reopened by an undo).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reorg.journal import BindingKey, Event, EventKind, Journal
from reorg.model import Plan, ReorgError, Step
from reorg.probe import CheckSpec, Expect


@dataclass(frozen=True)
class Position:
    """Where execution stands. ``done`` is in the order the steps were done (the undo stack).

    ``started`` are the steps ``reorg next`` started (pre-checked) that are not recorded yet, in
    the order they were started: what a bare ``reorg done`` records.
    """

    done: tuple[int, ...]
    dirty: int | None
    state: tuple[tuple[BindingKey, int | None], ...]  # binding -> port (None: retired), sorted
    started: tuple[int, ...] = ()

    def state_dict(self) -> dict[BindingKey, int | None]:
        return dict(self.state)

    def holders(self, host: str, port: int, other_than: BindingKey) -> list[str]:
        return holders(self.state_dict(), host, port, other_than)

    def to_dict(self) -> dict[str, Any]:
        return {"done": list(self.done), "dirty": self.dirty, "started": list(self.started)}


def start_state(plan: Plan, base: dict[BindingKey, int] | None = None) -> dict[BindingKey, int | None]:
    """The state before step 1: each binding of the plan on the from-port of its first step.

    ``base`` adds the bindings that have no step (the plan's ``held`` list, or the current
    table), so that a port a moving binding shares with a staying one (a collision) is known to
    stay in use.
    """
    state: dict[BindingKey, int | None] = dict(base or {})
    first: dict[BindingKey, int | None] = {}
    for step in plan.steps:
        first.setdefault((step.service, step.host), step.from_port)
    state.update(first)
    return dict(sorted(state.items()))


def open_steps(plan: Plan, done: set[int] | tuple[int, ...], dirty: int | None = None) -> tuple[Step, ...]:
    """Steps that may be done now: the dirty one, or the open steps of the lowest open wave."""
    if dirty is not None:
        return tuple(step for step in plan.steps if step.step == dirty)
    done = set(done)
    remaining = [step for step in plan.steps if step.step not in done]
    if not remaining:
        return ()
    wave = min(step.wave for step in remaining)
    return tuple(step for step in remaining if step.wave == wave)


class Replayer:
    """The replay as a running state: ``apply`` one event at a time (a batch ``done`` applies its
    own events as it records them, in linear time). Any event that does not fit is a ReorgError.
    """

    def __init__(self, plan: Plan, where: Path | str = "journal", base: dict[BindingKey, int] | None = None):
        self.plan = plan
        self.where = where
        self.steps = {step.step: step for step in plan.steps}
        self.state = start_state(plan, base)
        self.at: dict[tuple[str, int], set[BindingKey]] = {}
        for key, port in self.state.items():
            if port is not None:
                self.at.setdefault((key[1], port), set()).add(key)
        self.done: list[int] = []
        self.done_set: set[int] = set()
        self.started: dict[int, None] = {}  # insertion-ordered set
        self.dirty: int | None = None
        # Open steps per wave and the lowest open wave, kept up to date so that a long journal
        # replays in linear time (the same rule as ``open_steps``).
        self.remaining: dict[int, int] = {}
        for step in plan.steps:
            self.remaining[step.wave] = self.remaining.get(step.wave, 0) + 1
        self.last_wave = max(self.remaining, default=0)
        self.low = min(self.remaining, default=1)

    def holders(self, host: str, port: int, other_than: BindingKey) -> list[str]:
        return sorted(s for (s, h) in self.at.get((host, port), ()) if (s, h) != other_than)

    def is_open(self, number: int) -> bool:
        step = self.steps.get(number)
        if step is None or number in self.done_set:
            return False
        return number == self.dirty if self.dirty is not None else step.wave == self.low

    def _move(self, key: BindingKey, port: int | None) -> None:
        old = self.state.get(key)
        if old is not None:
            self.at[(key[1], old)].discard(key)
        self.state[key] = port
        if port is not None:
            self.at.setdefault((key[1], port), set()).add(key)

    def apply(self, event: Event) -> None:
        step = self.steps.get(event.step)
        bad = f"{self.where}: event {event.seq} ({event.event.value} step {event.step})"
        fix = "repair it, or move it aside and start a new journal with `reorg reset`"
        if step is None:
            raise ReorgError(f"{bad}: the plan has no such step (1-{len(self.steps)}); {fix}")
        key = (step.service, step.host)
        if event.event is EventKind.UNDONE:
            if self.dirty == event.step:
                self.dirty = None  # the failed attempt was rolled back; the plan's state never changed
            elif self.dirty is None and self.done and self.done[-1] == event.step:
                # While a step is dirty only that step may be undone: stepping back past it would
                # let the dirty step (maybe of a later wave) be done with its wave order broken.
                if self.state[key] != step.to_port:
                    raise ReorgError(f"{bad}: {step.service}@{step.host} is not on {step.to_port}; {fix}")
                self.done.pop()
                self.done_set.discard(event.step)
                self._move(key, step.from_port)
                self.remaining[step.wave] += 1
                self.low = min(self.low, step.wave)
                # A step started in a later wave is no longer open: it must be started again.
                for number in [n for n in self.started if self.steps[n].wave != self.low]:
                    del self.started[number]
            elif self.dirty is not None:
                raise ReorgError(f"{bad}: step {self.dirty} is failed, so only it can be undone; {fix}")
            else:
                raise ReorgError(f"{bad}: only the last done or failed step can be undone; {fix}")
            return
        if event.event is EventKind.CANCELLED:
            if event.step not in self.started:
                raise ReorgError(f"{bad}: the step is not started, so its start cannot be cancelled; {fix}")
            del self.started[event.step]
            return
        if event.step in self.done_set:
            raise ReorgError(f"{bad}: the step is already done; {fix}")
        if not self.is_open(event.step):
            raise ReorgError(f"{bad}: the step is not open at that point (out of wave order); {fix}")
        if self.state[key] != step.from_port:
            raise ReorgError(f"{bad}: {step.service}@{step.host} is not on {step.from_port}; {fix}")
        if event.event is EventKind.STARTED:
            self.started[event.step] = None
            return
        self.started.pop(event.step, None)
        if event.event is EventKind.FAILED:
            self.dirty = event.step
            return
        self.dirty = None
        self.done.append(event.step)
        self.done_set.add(event.step)
        self._move(key, step.to_port)
        self.remaining[step.wave] -= 1
        while self.low <= self.last_wave and self.remaining.get(self.low, 0) == 0:
            self.low += 1

    def position(self) -> Position:
        return Position(tuple(self.done), self.dirty, tuple(sorted(self.state.items())), tuple(self.started))


def replay(
    plan: Plan,
    events: tuple[Event, ...],
    where: Path | str = "journal",
    base: dict[BindingKey, int] | None = None,
) -> Position:
    """The position after ``events``; any event that does not fit the plan is a ReorgError."""
    replayer = Replayer(plan, where, base)
    for event in events:
        replayer.apply(event)
    return replayer.position()


def simulate(
    plan: Plan, journal: Journal | None, base: dict[BindingKey, int] | None = None
) -> dict[BindingKey, int | None]:
    """The state the journal says the fleet is in: binding -> port (None once retired)."""
    events = journal.events if journal else ()
    return replay(plan, events, journal.path if journal else "journal", base).state_dict()


def next_step(plan: Plan, position: Position) -> Step | None:
    candidates = open_steps(plan, position.done, position.dirty)
    return candidates[0] if candidates else None


def last_done(plan: Plan, position: Position) -> Step | None:
    if not position.done:
        return None
    return next(step for step in plan.steps if step.step == position.done[-1])


def find_step(plan: Plan, number: int) -> Step:
    for step in plan.steps:
        if step.step == number:
            return step
    raise ReorgError(
        f"the plan has no step {number}; its steps are 1-{len(plan.steps)}; "
        "run `reorg status` to see which are open"
    )


# ---- checks -------------------------------------------------------------------------------------


def holders(state: dict[BindingKey, int | None], host: str, port: int, other_than: BindingKey) -> list[str]:
    """Services other than ``other_than`` that hold ``port`` on ``host`` in ``state``."""
    return sorted(s for (s, h), p in state.items() if h == host and p == port and (s, h) != other_than)


def step_checks(
    plan: Plan, position: Position | Replayer, step: Step, reverse: bool = False, status: str = ""
) -> tuple[tuple[CheckSpec, ...], tuple[CheckSpec, ...]]:
    """Pre- and post-checks of ``step`` (or of its reverse, for ``undo``) from ``position``.

    ``position`` is a ``Position`` or a ``Replayer`` (anything with ``dirty`` and ``holders``);
    ``status`` is the binding's status before the plan (``running``, ``stopped``, ``unsure``).

    Forward: pre = the new port is free; post = the service answers on the new port and the old
    port is free (a retirement only frees). Reverse swaps the ports. A port that another binding
    of the plan still holds (a collision of the current table) cannot be expected free, so that
    check is skipped with the reason, and an answer there would prove nothing. A stopped binding
    only changes its configuration and stays stopped: nothing is expected to answer. An unsure
    one is expected free where it left; an answer on its new port is checked, and no answer is
    reported as unknown rather than failed. Probes are per host, also under ``--scope global``:
    the plan already kept other hosts apart, and a host's own port is what the operator can check.
    """
    key = (step.service, step.host)
    leave, arrive = (step.to_port, step.from_port) if reverse else (step.from_port, step.to_port)
    pre: list[CheckSpec] = []
    post: list[CheckSpec] = []
    if arrive is not None:
        skip = ""
        others = position.holders(step.host, arrive, key)
        if reverse and position.dirty == step.step:
            skip = f"not checked: step {step.step} failed midway, so what holds the port is unknown"
        elif others:
            when = f", as before step {step.step}" if reverse else ""
            skip = f"not checked: port {arrive} is also held by {', '.join(others)}{when}"
        pre.append(CheckSpec("pre", step.service, step.host, arrive, Expect.FREE, skip))
        if status == STOPPED:
            pass  # it stays stopped: only its configuration changes, nothing answers
        elif others:
            post.append(CheckSpec(
                "post", step.service, step.host, arrive, Expect.IN_USE,
                f"not checked: port {arrive} is held by {', '.join(others)} too, so an answer proves nothing",
            ))
        elif status == UNSURE:
            post.append(CheckSpec(
                "post", step.service, step.host, arrive, Expect.IN_USE,
                optional=f"its status is unsure, so no answer may be right: check whether {step.service} runs",
            ))
        else:
            post.append(CheckSpec("post", step.service, step.host, arrive, Expect.IN_USE))
    if leave is not None:
        skip = ""
        others = [s for s in position.holders(step.host, leave, key)]
        if others:
            skip = f"not checked: port {leave} stays held by {', '.join(others)} (they shared it)"
        post.append(CheckSpec("post", step.service, step.host, leave, Expect.FREE, skip))
    return tuple(pre), tuple(post)


STOPPED, UNSURE = "stopped", "unsure"
