"""The position of an execution: the journal's events replayed over the plan, and each step's checks.

There is no cursor: the position is derived by replaying the events over the plan (``replay``),
which also re-checks that every event fits the plan, so a hand-edited or foreign journal is
caught rather than trusted.

Rules the replay enforces (and the commands only ever append events that keep them):

- a step is done at most once until it is undone; ``undo`` reverses the last done step;
- a step may be done when it is in the lowest wave that still has open steps (wave members run in
  any order, as the plan contract allows);
- a ``failed`` step makes the journal *dirty*: nothing else may be done until that step is done
  (retried or forced) or undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reorg.journal import BindingKey, Event, EventKind, Journal
from reorg.model import Plan, ReorgError, Step
from reorg.probe import CheckSpec, Expect


@dataclass(frozen=True)
class Position:
    """Where execution stands. ``done`` is in the order the steps were done (the undo stack)."""

    done: tuple[int, ...]
    dirty: int | None
    state: tuple[tuple[BindingKey, int | None], ...]  # binding -> port (None: retired), sorted

    def state_dict(self) -> dict[BindingKey, int | None]:
        return dict(self.state)

    def to_dict(self) -> dict:
        return {"done": list(self.done), "dirty": self.dirty}


def start_state(plan: Plan, base: dict[BindingKey, int] | None = None) -> dict[BindingKey, int | None]:
    """The state before step 1: each binding of the plan on the from-port of its first step.

    ``base`` adds the bindings that have no step (from the current table), so that a port a
    moving binding shares with a staying one (a collision) is known to stay in use.
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
    remaining = [step for step in plan.steps if step.step not in done]
    if not remaining:
        return ()
    wave = min(step.wave for step in remaining)
    return tuple(step for step in remaining if step.wave == wave)


def replay(
    plan: Plan,
    events: tuple[Event, ...],
    where: Path | str = "journal",
    base: dict[BindingKey, int] | None = None,
) -> Position:
    """The position after ``events``; any event that does not fit the plan is a ReorgError."""
    steps = {step.step: step for step in plan.steps}
    state = start_state(plan, base)
    done: list[int] = []
    done_set: set[int] = set()
    dirty: int | None = None
    # Open steps per wave and the lowest open wave, kept up to date so that a long journal
    # replays in linear time (the same rule as ``open_steps``).
    remaining: dict[int, int] = {}
    for step in plan.steps:
        remaining[step.wave] = remaining.get(step.wave, 0) + 1
    last_wave = max(remaining, default=0)
    low = min(remaining, default=1)
    fix = "repair it, or move it aside and start a new journal with `reorg reset`"
    for event in events:
        step = steps.get(event.step)
        bad = f"{where}: event {event.seq} ({event.event.value} step {event.step})"
        if step is None:
            raise ReorgError(f"{bad}: the plan has no such step (1-{len(steps)}); {fix}")
        key = (step.service, step.host)
        if event.event is EventKind.UNDONE:
            if dirty == event.step:
                dirty = None  # the failed attempt was rolled back; the plan's state never changed
            elif dirty is None and done and done[-1] == event.step:
                # While a step is dirty only that step may be undone: stepping back past it would
                # let the dirty step (maybe of a later wave) be done with its wave order broken.
                if state[key] != step.to_port:
                    raise ReorgError(f"{bad}: {step.service}@{step.host} is not on {step.to_port}; {fix}")
                done.pop()
                done_set.discard(event.step)
                state[key] = step.from_port
                remaining[step.wave] += 1
                low = min(low, step.wave)
            elif dirty is not None:
                raise ReorgError(f"{bad}: step {dirty} is failed, so only it can be undone; {fix}")
            else:
                raise ReorgError(f"{bad}: only the last done or failed step can be undone; {fix}")
            continue
        if event.step in done_set:
            raise ReorgError(f"{bad}: the step is already done; {fix}")
        is_open = event.step == dirty if dirty is not None else step.wave == low
        if not is_open:
            raise ReorgError(f"{bad}: the step is not open at that point (out of wave order); {fix}")
        if state[key] != step.from_port:
            raise ReorgError(f"{bad}: {step.service}@{step.host} is not on {step.from_port}; {fix}")
        if event.event is EventKind.FAILED:
            dirty = event.step
        else:
            dirty = None
            done.append(event.step)
            done_set.add(event.step)
            state[key] = step.to_port
            remaining[step.wave] -= 1
            while low <= last_wave and remaining.get(low, 0) == 0:
                low += 1
    return Position(tuple(done), dirty, tuple(sorted(state.items())))


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
    plan: Plan, position: Position, step: Step, reverse: bool = False
) -> tuple[tuple[CheckSpec, ...], tuple[CheckSpec, ...]]:
    """Pre- and post-checks of ``step`` (or of its reverse, for ``undo``) from ``position``.

    Forward: pre = the new port is free; post = the service answers on the new port and the old
    port is free (a retirement only frees). Reverse swaps the ports. A port that another binding
    of the plan still holds (a collision of the current table) cannot be expected free, so that
    check is skipped with the reason. Probes are per host, also under ``--scope global``: the
    plan already kept other hosts apart, and a host's own port is what the operator can check.
    """
    key = (step.service, step.host)
    leave, arrive = (step.to_port, step.from_port) if reverse else (step.from_port, step.to_port)
    before = position.state_dict()
    after = dict(before)
    after[key] = arrive
    pre: list[CheckSpec] = []
    post: list[CheckSpec] = []
    if arrive is not None:
        skip = ""
        if reverse and position.dirty == step.step:
            skip = f"not checked: step {step.step} failed midway, so what holds the port is unknown"
        elif reverse and (others := holders(before, step.host, arrive, key)):
            skip = f"not checked: port {arrive} is also held by {', '.join(others)}, as before step {step.step}"
        pre.append(CheckSpec("pre", step.service, step.host, arrive, Expect.FREE, skip))
        post.append(CheckSpec("post", step.service, step.host, arrive, Expect.IN_USE))
    if leave is not None:
        skip = ""
        if others := holders(after, step.host, leave, key):
            skip = f"not checked: port {leave} stays held by {', '.join(others)} (they shared it)"
        post.append(CheckSpec("post", step.service, step.host, leave, Expect.FREE, skip))
    return tuple(pre), tuple(post)
