"""Independent verifier: replay a plan against the raw instance and name every broken rule.

This is the executable form of docs/semantics.md. It imports only ``reorg.model`` (and its own
``reorg.verify_bounds``): occupancy, the temp pool, the blocking graph and both lower bounds are
rebuilt here from the raw bindings, goals and reservations, so a mistake in ``reorg.problem`` or
a planner cannot hide in both.

The replay is plain: waves run in order; every step of a wave is judged against the state at
the start of that wave, and only then are all of them applied. Each problem becomes one
``Violation`` with a short rule id (the keys of ``RULES``), a one-line message and the step
number (None for whole-plan rules). The work is linear in steps + bindings, with dicts.
"""

from __future__ import annotations

from collections import defaultdict

from reorg.model import (
    Goal,
    Instance,
    Metrics,
    PairMode,
    Plan,
    PlanOptions,
    Reservation,
    Scope,
    Step,
    StepKind,
    Verdict,
    Violation,
)
from reorg.verify_bounds import lower_bounds

RULES = {
    "instance": "goals match the bindings one to one",
    "options": "max_per_wave is at least 1",
    "numbering": "steps are numbered 1..N in order, and every wave is at least 1",
    "wave-order": "wave never decreases along the steps",
    "empty-wave": "waves run 1..W with none empty",
    "cap": "at most max_per_wave steps in one wave",
    "unknown-binding": "a step names a (service, host) that has a binding",
    "unchanged": "a binding that keeps its port gets no step",
    "wave-twice": "a binding appears at most once per wave",
    "after-final": "no step follows a binding's final step (move, from-temp, retire)",
    "from-port": "from_port is where the binding is at the start of the wave",
    "kind": "the kind fits the binding: move and to-temp leave its own port, from-temp leaves "
    "its temp port, retire only for a retiring binding, to_port null only for retire",
    "wrong-goal": "move and from-temp arrive at the binding's goal port",
    "temp-twice": "a binding has at most one to-temp",
    "temp-pool": "to-temp goes to the temp range minus every port a table or reservation names",
    "port-busy": "a step binds only a port free at the start of its wave (scope rule; under "
    "global scope a temp port is held by one binding at a time, even of the same service)",
    "wave-touch": "no two steps of one wave touch one (host, port); under global scope, no two "
    "services bind one port and no two to-temps bind one temp port in one wave",
    "reserved": "no step binds, and no binding keeps, a port reserved for another service",
    "pair-split": "under hard pairs a frontend and its backend arrive in the same wave",
    "missing-step": "every binding that changes gets a final step",
    "final-state": "every binding ends on its goal port (retired ones gone, no temp held)",
    "final-collision": "the final state has no collision under the scope rule",
    "metric-moves": "moves = number of steps",
    "metric-temp_moves": "temp_moves = number of to-temp steps",
    "metric-waves": "waves = W",
    "metric-lower_bound_moves": "lower_bound_moves = n + c",
    "metric-lower_bound_waves": "lower_bound_waves = the recomputed wave bound",
    "metric-pairs_split": "pairs_split = (pair, host) whose arrivals differ",
    "bound-above": "no lower bound is above the figure the plan achieves",
}

Key = tuple[str, str]  # (service, host)

_ARRIVE = (StepKind.MOVE, StepKind.FROM_TEMP)
_AT_START, _IN_TEMP, _DONE = "start", "temp", "done"  # a binding's phase during the replay


def verify(plan: Plan, instance: Instance) -> Verdict:
    """Replay ``plan`` on ``instance``: every violation, and the metrics recomputed.

    ``Verdict.metrics`` holds the figures and bounds as the verifier computes them, with
    ``optimal`` copied from the plan: a solver's proof cannot be checked here, only that no
    bound is above its figure.
    """
    found: list[Violation] = []
    options = plan.options
    cap = _check_options(options, found)
    goal_of = _index_goals(instance, found)
    _check_numbering(plan.steps, found)
    arrival, temp_moves = _replay(plan.steps, instance, options, cap, goal_of, found)
    split = _count_pairs_split(instance, goal_of, arrival, options.pairs, found)

    moves = len(plan.steps)
    lb_moves, lb_waves = lower_bounds(instance, options.scope, moves, cap, options.temp_ports)
    metrics = Metrics(
        moves=moves,
        temp_moves=temp_moves,
        waves=max((s.wave for s in plan.steps), default=0),
        lower_bound_moves=lb_moves,
        lower_bound_waves=lb_waves,
        optimal=plan.metrics.optimal,
        pairs_split=split,
    )
    _check_metrics(plan.metrics, metrics, found)
    return Verdict(violations=tuple(found), metrics=metrics)


# ---- inputs and numbering -------------------------------------------------------------------


def _check_options(options: PlanOptions, found: list[Violation]) -> int | None:
    """The wave cap to enforce (None = no cap); a cap below 1 is reported and ignored."""
    cap = options.max_per_wave
    if cap is not None and cap < 1:
        found.append(Violation("options", f"max_per_wave {cap} is below 1"))
        return None
    return cap


def _index_goals(instance: Instance, found: list[Violation]) -> dict[Key, Goal]:
    goal_of: dict[Key, Goal] = {}
    for g in instance.goals:
        key = (g.service, g.host)
        if key in goal_of:
            found.append(Violation("instance", f"{_who(key)} has two goals"))
        goal_of[key] = g
    seen: set[Key] = set()
    for b in instance.bindings:
        key = (b.service, b.host)
        if key in seen:
            found.append(Violation("instance", f"{_who(key)} has two bindings"))
        seen.add(key)
        goal = goal_of.get(key)
        if goal is None:
            found.append(Violation("instance", f"{_who(key)} has no goal"))
        elif goal.from_port != b.port:
            text = f"{_who(key)} holds port {b.port}, its goal starts from {goal.from_port}"
            found.append(Violation("instance", text))
    for key in sorted(goal_of.keys() - seen):
        found.append(Violation("instance", f"the goal of {_who(key)} has no binding"))
    return goal_of


def _check_numbering(steps: tuple[Step, ...], found: list[Violation]) -> None:
    for position, s in enumerate(steps, start=1):
        if s.step != position:
            text = f"steps run 1..N in order; the step at position {position} is {s.step}"
            found.append(Violation("numbering", text, s.step))
            break  # one gap shifts every later number; report it once
    highest = 1
    present: set[int] = set()
    for s in steps:
        if s.wave < 1:
            text = f"step {s.step} is in wave {s.wave}; waves start at 1"
            found.append(Violation("numbering", text, s.step))
        elif s.wave < highest:
            found.append(
                Violation(
                    "wave-order", f"step {s.step} is in wave {s.wave}, after wave {highest}", s.step
                )
            )
        highest = max(highest, s.wave)
        present.add(s.wave)
    last = max(present, default=0)
    for w in range(1, last + 1):
        if w not in present:
            found.append(Violation("empty-wave", f"wave {w} has no step (waves run 1..{last})"))


# ---- the replay -----------------------------------------------------------------------------


def _who(key: Key) -> str:
    return f"{key[0]}@{key[1]}"


def _port(port: int | None) -> str:
    return "nothing" if port is None else str(port)


def _flag(found: list[Violation], rule: str, s: Step, text: str) -> None:
    """A violation of one step; its message starts by naming the step in full."""
    head = f"step {s.step} ({s.kind.value} {s.service}@{s.host} {_port(s.from_port)} -> "
    found.append(Violation(rule, f"{head}{_port(s.to_port)}): {text}", s.step))


class _Occupancy:
    """Who holds which port now, keyed the way the scope rule reads it.

    Host scope: (host, port) -> bindings there. Global scope: port -> service -> hosts; a
    temp port there is blocked by every other binding, even of the same service.
    """

    def __init__(self, scope: Scope) -> None:
        self.is_global = scope is Scope.GLOBAL
        self.on_host: dict[tuple[str, int], set[Key]] = {}
        self.by_service: dict[int, dict[str, set[str]]] = {}

    def add(self, key: Key, port: int | None) -> None:
        if port is None:
            return
        if self.is_global:
            self.by_service.setdefault(port, {}).setdefault(key[0], set()).add(key[1])
        else:
            self.on_host.setdefault((key[1], port), set()).add(key)

    def remove(self, key: Key, port: int | None) -> None:
        if port is None:
            return
        if self.is_global:
            services = self.by_service[port]
            services[key[0]].discard(key[1])
            if not services[key[0]]:
                del services[key[0]]
                if not services:
                    del self.by_service[port]
        else:
            holders = self.on_host[(key[1], port)]
            holders.discard(key)
            if not holders:
                del self.on_host[(key[1], port)]

    def blocker(self, key: Key, port: int, temp: bool = False) -> Key | None:
        """The binding that keeps ``port`` from ``key`` under the scope rule; None when free.

        ``temp``: the port is a temp port, which under global scope holds one binding at a
        time, so the service's own bindings on other hosts block it too.
        """
        if self.is_global:
            services = self.by_service.get(port) or {}
            others = sorted(s for s in services if s != key[0])
            if others:
                return (others[0], min(services[others[0]]))
            own = sorted(h for h in services.get(key[0], ()) if h != key[1]) if temp else ()
            return (key[0], own[0]) if own else None
        holders = sorted(k for k in self.on_host.get((key[1], port), ()) if k != key)
        return holders[0] if holders else None


def _reservation_against(
    reserved: dict[int, list[Reservation]], scope: Scope, service: str, host: str, port: int
) -> Reservation | None:
    """The reservation that keeps ``port`` on ``host`` from ``service``, if any."""
    for r in reserved.get(port, ()):
        if r.service != service and (scope is Scope.GLOBAL or r.host in (None, host)):
            return r
    return None


def _replay(
    steps: tuple[Step, ...],
    instance: Instance,
    options: PlanOptions,
    cap: int | None,
    goal_of: dict[Key, Goal],
    found: list[Violation],
) -> tuple[dict[Key, tuple[int, int]], int]:
    """Run the waves; return each binding's arrival (wave, step) and the number of to-temps."""
    scope = options.scope
    lo, hi = options.temp_ports
    named = {b.port for b in instance.bindings} | {g.from_port for g in instance.goals}
    named |= {g.to_port for g in instance.goals if g.to_port is not None}
    named |= {r.port for r in instance.reservations}
    reserved: dict[int, list[Reservation]] = defaultdict(list)
    for r in sorted(instance.reservations, key=lambda r: (r.port, r.service, r.host or "")):
        reserved[r.port].append(r)

    position: dict[Key, int | None] = {}
    phase: dict[Key, str] = {}
    occupancy = _Occupancy(scope)
    for b in instance.bindings:
        key = (b.service, b.host)
        if key not in position:
            position[key] = b.port
            phase[key] = _AT_START
            occupancy.add(key, b.port)
    finals: dict[Key, int] = defaultdict(int)
    had_temp: set[Key] = set()
    arrival: dict[Key, tuple[int, int]] = {}

    by_wave: dict[int, list[Step]] = defaultdict(list)
    for s in steps:
        by_wave[s.wave].append(s)
    temp_moves = 0
    for wave in sorted(by_wave):
        group = by_wave[wave]
        if cap is not None and len(group) > cap:
            found.append(
                Violation(
                    "cap", f"wave {wave} has {len(group)} steps, at most {cap}", group[cap].step
                )
            )
        touched: dict[tuple[str, int], Step] = {}
        bound_port: dict[int, Step] = {}  # global scope: port -> first step of the wave binding it
        seen: dict[Key, Step] = {}
        for s in group:
            key = (s.service, s.host)
            temp_moves += s.kind is StepKind.TO_TEMP
            goal = goal_of.get(key)
            if goal is None or key not in position:
                _flag(found, "unknown-binding", s, f"no binding of {s.service} on {s.host}")
                continue
            if key in seen:
                _flag(found, "wave-twice", s, f"{_who(key)} already has step {seen[key].step}")
            seen[key] = s
            if not goal.moves:
                _flag(found, "unchanged", s, f"{_who(key)} keeps port {goal.from_port}")
            if phase[key] == _DONE:
                _flag(found, "after-final", s, f"{_who(key)} already had its final step")
            if s.from_port != position[key]:
                where = _port(position[key])
                _flag(found, "from-port", s, f"{_who(key)} is on {where} as wave {wave} starts")
            _check_kind(s, goal, phase[key], key in had_temp, lo, hi, named, found)

            for port in (s.from_port, s.to_port):
                if port is None:
                    continue
                other = touched.setdefault((s.host, port), s)
                if other is not s:
                    text = f"step {other.step} of the same wave touches {s.host}:{port}"
                    _flag(found, "wave-touch", s, text)
            if s.to_port is None:
                continue
            to_temp = s.kind is StepKind.TO_TEMP
            holder = occupancy.blocker(key, s.to_port, temp=to_temp)
            if holder is not None:
                text = f"port {s.to_port} is held by {_who(holder)} as wave {wave} starts"
                if holder[0] == s.service:
                    text += " (under global scope a temp port holds one binding at a time)"
                _flag(found, "port-busy", s, text)
            if scope is Scope.GLOBAL:
                first = bound_port.setdefault(s.to_port, s)
                temps = to_temp and first.kind is StepKind.TO_TEMP
                if first is not s and (first.service != s.service or temps):
                    first_who = _who((first.service, first.host))
                    what = "temp port" if temps else "port"
                    text = f"step {first.step} ({first_who}) binds {what} {s.to_port} in the same wave"
                    _flag(found, "wave-touch", s, text)
            held_for = _reservation_against(reserved, scope, s.service, s.host, s.to_port)
            if held_for is not None:
                where = f"on {held_for.host}" if held_for.host else "on every host"
                text = f"port {s.to_port} is reserved for {held_for.service} {where}"
                _flag(found, "reserved", s, text)

        # Apply the whole wave at once: every check above saw the state at its start.
        for s in group:
            key = (s.service, s.host)
            if key not in position or key not in goal_of:
                continue
            occupancy.remove(key, position[key])
            position[key] = s.to_port
            occupancy.add(key, s.to_port)
            if s.kind is StepKind.TO_TEMP:
                had_temp.add(key)
                phase[key] = _IN_TEMP
            else:
                phase[key] = _DONE
                finals[key] += 1
                if s.kind in _ARRIVE:
                    arrival[key] = (wave, s.step)

    _check_final(instance, scope, goal_of, position, finals, occupancy, reserved, found)
    return arrival, temp_moves


def _check_kind(
    s: Step,
    goal: Goal,
    phase: str,
    had_temp: bool,
    lo: int,
    hi: int,
    named: set[int],
    found: list[Violation],
) -> None:
    """Does the step's kind fit the binding's goal and its place in the binding's sequence?"""
    who = f"{s.service}@{s.host}"
    if s.kind is StepKind.RETIRE:
        if goal.to_port is not None:
            _flag(found, "kind", s, f"{who} goes to port {goal.to_port}; it does not retire")
        if s.to_port is not None:
            _flag(found, "kind", s, "a retire step has to_port null")
        return
    if s.to_port is None:
        _flag(found, "kind", s, "only a retire step has to_port null")
        return
    if goal.to_port is None:
        _flag(found, "kind", s, f"{who} retires; its only step is retire")
        return
    if s.kind is StepKind.MOVE:
        if phase == _IN_TEMP:
            _flag(found, "kind", s, f"{who} holds a temp port; it leaves it with from-temp")
        if s.to_port != goal.to_port:
            _flag(found, "wrong-goal", s, f"the goal of {who} is {goal.to_port}")
    elif s.kind is StepKind.TO_TEMP:
        if had_temp:
            _flag(found, "temp-twice", s, f"{who} already had a to-temp")
        if not lo <= s.to_port <= hi:
            _flag(found, "temp-pool", s, f"port {s.to_port} is outside the temp range {lo}-{hi}")
        elif s.to_port in named:
            _flag(found, "temp-pool", s, f"port {s.to_port} is named in a table or reservation")
    elif s.kind is StepKind.FROM_TEMP:
        if phase != _IN_TEMP:
            _flag(found, "kind", s, f"{who} holds no temp port")
        if s.to_port != goal.to_port:
            _flag(found, "wrong-goal", s, f"the goal of {who} is {goal.to_port}")


def _check_final(
    instance: Instance,
    scope: Scope,
    goal_of: dict[Key, Goal],
    position: dict[Key, int | None],
    finals: dict[Key, int],
    occupancy: _Occupancy,
    reserved: dict[int, list[Reservation]],
    found: list[Violation],
) -> None:
    for b in instance.bindings:
        key = (b.service, b.host)
        goal = goal_of.get(key)
        if goal is None:
            continue
        to = _port(goal.to_port)
        if goal.to_port != goal.from_port and not finals[key]:
            text = f"{_who(key)} should go {b.port} -> {to} but has no final step"
            found.append(Violation("missing-step", text))
        if position[key] != goal.to_port:
            text = f"{_who(key)} ends on {_port(position[key])}; its goal is {to}"
            found.append(Violation("final-state", text))
        if goal.to_port == goal.from_port:
            r = _reservation_against(reserved, scope, b.service, b.host, goal.to_port)
            if r is not None:
                text = f"{_who(key)} keeps port {goal.to_port}, reserved for {r.service}"
                found.append(Violation("reserved", text))
    if scope is Scope.GLOBAL:
        for port in sorted(occupancy.by_service):
            services = occupancy.by_service[port]
            if len(services) > 1:
                text = f"port {port} ends held by {', '.join(sorted(services))} (global scope)"
                found.append(Violation("final-collision", text))
    else:
        for host, port in sorted(occupancy.on_host):
            holders = occupancy.on_host[(host, port)]
            if len(holders) > 1:
                names = ", ".join(sorted(service for service, _ in holders))
                found.append(Violation("final-collision", f"{host}:{port} ends held by {names}"))


# ---- pairs and metrics ----------------------------------------------------------------------


def _count_pairs_split(
    instance: Instance,
    goal_of: dict[Key, Goal],
    arrival: dict[Key, tuple[int, int]],
    mode: PairMode,
    found: list[Violation],
) -> int:
    """(pair, host) where frontend and backend both go to a new port, arriving in other waves."""
    hosts_of: dict[str, list[str]] = defaultdict(list)
    for service, host in goal_of:
        hosts_of[service].append(host)
    split = 0
    for front, back in sorted(set(instance.pairs)):
        for host in sorted(hosts_of.get(front, ())) if front != back else ():
            gf, gb = goal_of[(front, host)], goal_of.get((back, host))
            if gb is None or not all(g.moves and g.to_port is not None for g in (gf, gb)):
                continue
            af, ab = arrival.get((front, host)), arrival.get((back, host))
            wave_f, wave_b = (af[0] if af else None), (ab[0] if ab else None)
            if wave_f == wave_b:
                continue
            split += 1
            if mode is PairMode.HARD:
                text = (
                    f"pair {front}/{back} on {host} is split: {front} arrives in wave "
                    f"{_port(wave_f)}, {back} in wave {_port(wave_b)}"
                )
                found.append(Violation("pair-split", text, max(a[1] for a in (af, ab) if a)))
    return split


def _check_metrics(claimed: Metrics, actual: Metrics, found: list[Violation]) -> None:
    names = ("moves", "temp_moves", "waves", "lower_bound_moves", "lower_bound_waves")
    for name in names + ("pairs_split",):
        said, true = getattr(claimed, name), getattr(actual, name)
        if said != true:
            text = f"the plan says {name} = {said}; the replay gives {true}"
            found.append(Violation(f"metric-{name}", text))
    for bound, figure in (("lower_bound_moves", "moves"), ("lower_bound_waves", "waves")):
        achieved = getattr(actual, figure)
        for whose, metrics in (("the plan's", claimed), ("the recomputed", actual)):
            value = getattr(metrics, bound)
            if value > achieved:
                text = f"{whose} {bound} = {value} is above the achieved {figure} = {achieved}"
                found.append(Violation("bound-above", text))
