"""Independent verifier: replay a plan against the raw instance and name every broken rule.

This is the executable form of docs/semantics.md. It imports only ``reorg.model``: occupancy,
the temp pool, the blocking graph and both lower bounds are rebuilt here from the raw bindings,
goals and reservations, so a mistake in ``reorg.problem`` or a planner cannot hide in both.

The replay is plain: waves run in order; every step of a wave is judged against the state at
the start of that wave, and only then are all of them applied. Each problem becomes one
``Violation`` with a short rule id (listed in ``RULES``), a one-line message and the step number
(None for whole-plan rules). The work is linear in steps + bindings, with dicts throughout.
"""

from __future__ import annotations

import math
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

RULES = {
    "instance": "goals do not match the bindings one to one",
    "options": "max_per_wave is at least 1",
    "numbering": "steps are numbered 1..N in order and every wave is >= 1",
    "wave-order": "wave never decreases along the steps",
    "empty-wave": "waves run 1..W with none empty",
    "cap": "at most max_per_wave steps in one wave",
    "unknown-binding": "a step names a (service, host) with no binding",
    "unchanged": "a binding that keeps its port gets no step",
    "wave-twice": "a binding appears at most once per wave",
    "after-final": "no step after a binding's final step (move, from-temp, retire)",
    "from-port": "from_port is where the binding is at the start of the wave",
    "kind": "the step kind fits the binding (move/to-temp from its port, from-temp from its temp, "
    "retire only to retire, to_port null only for retire)",
    "wrong-goal": "move and from-temp arrive at the binding's goal port",
    "temp-twice": "a binding has at most one to-temp",
    "temp-pool": "a to-temp goes to the temp range minus every port the tables or reservations name",
    "port-busy": "a step binds only a port free at the start of its wave (under the scope rule)",
    "wave-touch": "no two steps of one wave touch the same (host, port); under global scope no "
    "two services bind one port in one wave",
    "reserved": "no step binds, and no binding keeps, a port reserved for another service",
    "pair-split": "under hard pairs a frontend and its backend arrive in the same wave",
    "missing-step": "every binding that changes gets a final step",
    "final-state": "every binding ends on its goal port (retired ones gone, no temp held)",
    "final-collision": "the final state has no collision under the scope rule",
    "metric-moves": "the plan's moves equal the number of steps",
    "metric-temp_moves": "the plan's temp_moves equal the number of to-temp steps",
    "metric-waves": "the plan's waves equal W",
    "metric-lower_bound_moves": "the plan's lower_bound_moves equal n + c",
    "metric-lower_bound_waves": "the plan's lower_bound_waves equal the recomputed bound",
    "metric-pairs_split": "the plan's pairs_split equal the recomputed count",
    "bound-above": "a lower bound is never above the figure the plan achieves",
}

_ARRIVE = (StepKind.MOVE, StepKind.FROM_TEMP)

# A binding's phase during the replay.
_AT_START, _IN_TEMP, _DONE = "start", "temp", "done"


def verify(plan: Plan, instance: Instance) -> Verdict:
    """Replay ``plan`` on ``instance``; the verdict lists every violation and the true metrics.

    ``Verdict.metrics`` holds the recomputed figures and bounds, with ``optimal`` copied from the
    plan (the verifier cannot check a solver's proof, only that no bound is above its figure).
    """
    found: list[Violation] = []
    opts = plan.options
    steps = plan.steps
    cap = _check_options(opts, found)
    goal_of = _index_goals(instance, found)

    _check_numbering(steps, found)
    arrival, temp_moves = _replay(steps, instance, opts, cap, goal_of, found)

    split = _count_pairs_split(instance, goal_of, arrival, opts.pairs, found)
    moves = len(steps)
    waves = max((s.wave for s in steps), default=0)
    lb_moves, lb_waves = lower_bounds(instance, opts.scope, moves, cap)
    metrics = Metrics(
        moves=moves,
        temp_moves=temp_moves,
        waves=waves,
        lower_bound_moves=lb_moves,
        lower_bound_waves=lb_waves,
        optimal=plan.metrics.optimal,
        pairs_split=split,
    )
    _check_metrics(plan.metrics, metrics, found)
    return Verdict(violations=tuple(found), metrics=metrics)


# ---- inputs ---------------------------------------------------------------------------------


def _check_options(opts: PlanOptions, found: list[Violation]) -> int | None:
    """The wave cap to enforce (None = no cap); a cap below 1 is reported and ignored."""
    cap = opts.max_per_wave
    if cap is not None and cap < 1:
        found.append(Violation("options", f"max_per_wave {cap} is below 1"))
        return None
    return cap


def _index_goals(instance: Instance, found: list[Violation]) -> dict[tuple[str, str], Goal]:
    goal_of: dict[tuple[str, str], Goal] = {}
    for g in instance.goals:
        key = (g.service, g.host)
        if key in goal_of:
            found.append(Violation("instance", f"{g.service}@{g.host} has two goals"))
        goal_of[key] = g
    seen: set[tuple[str, str]] = set()
    for b in instance.bindings:
        key = (b.service, b.host)
        if key in seen:
            found.append(Violation("instance", f"{b.service}@{b.host} has two bindings"))
        seen.add(key)
        g = goal_of.get(key)
        if g is None:
            found.append(Violation("instance", f"{b.service}@{b.host} has no goal"))
        elif g.from_port != b.port:
            found.append(
                Violation(
                    "instance",
                    f"{b.service}@{b.host} holds port {b.port} but its goal starts from {g.from_port}",
                )
            )
    for key in goal_of.keys() - seen:
        found.append(Violation("instance", f"goal for {key[0]}@{key[1]} has no binding"))
    return goal_of


def _check_numbering(steps: tuple[Step, ...], found: list[Violation]) -> None:
    for pos, s in enumerate(steps, start=1):
        if s.step != pos:
            found.append(
                Violation(
                    "numbering",
                    f"steps must be numbered 1..N in order; step at position {pos} is numbered {s.step}",
                    s.step,
                )
            )
            break
    previous = 1
    present: set[int] = set()
    for s in steps:
        if s.wave < 1:
            found.append(Violation("numbering", f"step {s.step} is in wave {s.wave}; waves start at 1", s.step))
        elif s.wave < previous:
            found.append(
                Violation("wave-order", f"step {s.step} is in wave {s.wave}, after a step of wave {previous}", s.step)
            )
        previous = max(previous, s.wave)
        present.add(s.wave)
    last = max(present, default=0)
    for w in range(1, last + 1):
        if w not in present:
            found.append(Violation("empty-wave", f"wave {w} has no step (waves run 1..{last})"))


# ---- replay ---------------------------------------------------------------------------------


def _who(key: tuple[str, str]) -> str:
    return f"{key[0]}@{key[1]}"


def _port(p: int | None) -> str:
    return "nothing" if p is None else str(p)


def _flag(found: list[Violation], rule: str, s: Step, text: str) -> None:
    """A violation of one step; the message starts by naming the step in full."""
    head = f"step {s.step} ({s.kind.value} {s.service}@{s.host} {_port(s.from_port)} -> {_port(s.to_port)})"
    found.append(Violation(rule, f"{head}: {text}", s.step))


class _Occupancy:
    """Who holds which port right now, keyed the way the scope rule reads it.

    Host scope: (host, port) -> bindings there. Global scope: port -> service -> hosts.
    """

    def __init__(self, scope: Scope) -> None:
        self.is_global = scope is Scope.GLOBAL
        self.on_host: dict[tuple[str, int], set[tuple[str, str]]] = {}
        self.by_service: dict[int, dict[str, set[str]]] = {}

    def add(self, key: tuple[str, str], port: int | None) -> None:
        if port is None:
            return
        if self.is_global:
            self.by_service.setdefault(port, {}).setdefault(key[0], set()).add(key[1])
        else:
            self.on_host.setdefault((key[1], port), set()).add(key)

    def remove(self, key: tuple[str, str], port: int | None) -> None:
        if port is None:
            return
        if self.is_global:
            services = self.by_service[port]
            hosts = services[key[0]]
            hosts.discard(key[1])
            if not hosts:
                del services[key[0]]
                if not services:
                    del self.by_service[port]
        else:
            holders = self.on_host[(key[1], port)]
            holders.discard(key)
            if not holders:
                del self.on_host[(key[1], port)]

    def blocker(self, key: tuple[str, str], port: int) -> str | None:
        """Who keeps ``port`` from ``key`` under the scope rule, or None when it is free."""
        if self.is_global:
            services = self.by_service.get(port)
            if not services:
                return None
            others = [s for s in services if s != key[0]]
            return f"{min(others)}@{min(services[min(others)])}" if others else None
        holders = self.on_host.get((key[1], port))
        if not holders:
            return None
        others = [k for k in holders if k != key]
        return _who(min(others)) if others else None


def _reservation_against(
    by_port: dict[int, list[Reservation]], scope: Scope, service: str, host: str, port: int
) -> Reservation | None:
    for r in by_port.get(port, ()):
        if r.service == service:
            continue
        if scope is Scope.GLOBAL or r.host is None or r.host == host:
            return r
    return None


def _replay(
    steps: tuple[Step, ...],
    instance: Instance,
    opts: PlanOptions,
    cap: int | None,
    goal_of: dict[tuple[str, str], Goal],
    found: list[Violation],
) -> tuple[dict[tuple[str, str], tuple[int, int]], int]:
    """Run the waves; return each binding's arrival (wave, step) and the number of to-temps."""
    scope = opts.scope
    lo, hi = opts.temp_ports
    named = {b.port for b in instance.bindings}
    named |= {g.from_port for g in instance.goals}
    named |= {g.to_port for g in instance.goals if g.to_port is not None}
    named |= {r.port for r in instance.reservations}
    reserved: dict[int, list[Reservation]] = defaultdict(list)
    for r in sorted(instance.reservations):
        reserved[r.port].append(r)

    position: dict[tuple[str, str], int | None] = {}
    phase: dict[tuple[str, str], str] = {}
    finals: dict[tuple[str, str], int] = defaultdict(int)
    used_temp: set[tuple[str, str]] = set()
    arrival: dict[tuple[str, str], tuple[int, int]] = {}
    occupancy = _Occupancy(scope)
    for b in instance.bindings:
        key = (b.service, b.host)
        if key in position:
            continue
        position[key] = b.port
        phase[key] = _AT_START
        occupancy.add(key, b.port)

    by_wave: dict[int, list[Step]] = defaultdict(list)
    for s in steps:
        by_wave[s.wave].append(s)

    temp_moves = 0
    for wave in sorted(by_wave):
        group = by_wave[wave]
        if cap is not None and len(group) > cap:
            found.append(
                Violation("cap", f"wave {wave} has {len(group)} steps; at most {cap} allowed", group[cap].step)
            )
        touched: dict[tuple[str, int], Step] = {}
        bound_here: dict[int, Step] = {}  # global scope: port -> first step binding it
        seen: dict[tuple[str, str], Step] = {}
        for s in group:
            key = (s.service, s.host)
            if s.kind is StepKind.TO_TEMP:
                temp_moves += 1
            goal = goal_of.get(key)
            if goal is None or key not in position:
                _flag(found, "unknown-binding", s, f"no binding of {s.service} on {s.host}")
                continue
            if key in seen:
                _flag(found, "wave-twice", s, f"{_who(key)} already has step {seen[key].step} in wave {wave}")
            seen[key] = s
            if not goal.moves:
                _flag(found, "unchanged", s, f"{_who(key)} keeps port {goal.from_port} and needs no step")
            if phase[key] == _DONE:
                _flag(found, "after-final", s, f"{_who(key)} already had its final step")
            if s.from_port != position[key]:
                _flag(found, "from-port", s, f"{_who(key)} is on {_port(position[key])} at the start of wave {wave}")
            _check_kind(s, goal, phase[key], key in used_temp, lo, hi, named, found)

            for port in (s.from_port, s.to_port):
                if port is None:
                    continue
                other = touched.get((s.host, port))
                if other is not None and other is not s:
                    _flag(found, "wave-touch", s, f"step {other.step} of wave {wave} also touches {s.host}:{port}")
                else:
                    touched[(s.host, port)] = s
            if s.to_port is None:
                continue
            holder = occupancy.blocker(key, s.to_port)
            if holder is not None:
                _flag(found, "port-busy", s, f"port {s.to_port} is held by {holder} at the start of wave {wave}")
            if scope is Scope.GLOBAL:
                first = bound_here.get(s.to_port)
                if first is None:
                    bound_here[s.to_port] = s
                elif first.service != s.service:
                    _flag(
                        found,
                        "wave-touch",
                        s,
                        f"step {first.step} ({first.service}@{first.host}) binds port {s.to_port} "
                        "in the same wave (global scope)",
                    )
            r = _reservation_against(reserved, scope, s.service, s.host, s.to_port)
            if r is not None:
                where = f"on {r.host}" if r.host else "on every host"
                _flag(found, "reserved", s, f"port {s.to_port} is reserved for {r.service} {where}")

        # Apply the whole wave at once: everything above saw the state at its start.
        for s in group:
            key = (s.service, s.host)
            if key not in position or key not in goal_of:
                continue
            occupancy.remove(key, position[key])
            position[key] = s.to_port
            occupancy.add(key, s.to_port)
            if s.kind is StepKind.TO_TEMP:
                used_temp.add(key)
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
    """Does the step's kind fit the binding's goal and where it is in its own sequence?"""
    retiring = goal.to_port is None
    if s.kind is StepKind.RETIRE:
        if not retiring:
            _flag(found, "kind", s, f"{s.service}@{s.host} has goal port {goal.to_port}, not retire")
        if s.to_port is not None:
            _flag(found, "kind", s, f"a retire step has to_port null")
        return
    if s.to_port is None:
        _flag(found, "kind", s, f"only a retire step has to_port null")
        return
    if retiring:
        _flag(found, "kind", s, f"{s.service}@{s.host} retires; its only step is retire")
        return
    if s.kind is StepKind.MOVE:
        if phase == _IN_TEMP:
            _flag(found, "kind", s, f"the binding holds a temp port; leave it with from-temp")
        if s.to_port != goal.to_port:
            _flag(found, "wrong-goal", s, f"goal of {s.service}@{s.host} is {goal.to_port}")
    elif s.kind is StepKind.TO_TEMP:
        if had_temp:
            _flag(found, "temp-twice", s, f"{s.service}@{s.host} already had a to-temp")
        if not (lo <= s.to_port <= hi) or s.to_port in named:
            why = "outside the range" if not (lo <= s.to_port <= hi) else "named in the tables or reservations"
            _flag(found, "temp-pool", s, f"port {s.to_port} is not in the temp pool {lo}-{hi} ({why})")
    elif s.kind is StepKind.FROM_TEMP:
        if phase != _IN_TEMP:
            _flag(found, "kind", s, f"{s.service}@{s.host} holds no temp port")
        if s.to_port != goal.to_port:
            _flag(found, "wrong-goal", s, f"goal of {s.service}@{s.host} is {goal.to_port}")


def _check_final(
    instance: Instance,
    scope: Scope,
    goal_of: dict[tuple[str, str], Goal],
    position: dict[tuple[str, str], int | None],
    finals: dict[tuple[str, str], int],
    occupancy: _Occupancy,
    reserved: dict[int, list[Reservation]],
    found: list[Violation],
) -> None:
    for b in instance.bindings:
        key = (b.service, b.host)
        goal = goal_of.get(key)
        if goal is None:
            continue
        where = position[key]
        if goal.to_port != goal.from_port and not finals[key]:
            found.append(
                Violation(
                    "missing-step",
                    f"{_who(key)} should go {b.port} -> {_port(goal.to_port)} but has no final step",
                )
            )
        if where != goal.to_port:
            found.append(
                Violation("final-state", f"{_who(key)} ends on {_port(where)}, its goal is {_port(goal.to_port)}")
            )
        if not goal.moves and goal.to_port is not None:
            r = _reservation_against(reserved, scope, b.service, b.host, goal.to_port)
            if r is not None:
                found.append(
                    Violation("reserved", f"{_who(key)} keeps port {goal.to_port}, reserved for {r.service}")
                )
    if scope is Scope.GLOBAL:
        for port in sorted(occupancy.by_service):
            services = occupancy.by_service[port]
            if len(services) > 1:
                found.append(
                    Violation("final-collision", f"port {port} ends held by {', '.join(sorted(services))} (global scope)")
                )
    else:
        for (host, port) in sorted(occupancy.on_host):
            holders = occupancy.on_host[(host, port)]
            if len(holders) > 1:
                names = ", ".join(s for s, _ in sorted(holders))
                found.append(Violation("final-collision", f"{host}:{port} ends held by {names}"))


# ---- pairs and metrics ----------------------------------------------------------------------


def _count_pairs_split(
    instance: Instance,
    goal_of: dict[tuple[str, str], Goal],
    arrival: dict[tuple[str, str], tuple[int, int]],
    mode: PairMode,
    found: list[Violation],
) -> int:
    """(pair, host) where frontend and backend both go to a new port but arrive in different waves."""
    hosts_of: dict[str, list[str]] = defaultdict(list)
    for service, host in goal_of:
        hosts_of[service].append(host)
    split = 0
    for front, back in sorted(set(instance.pairs)):
        if front == back:
            continue
        for host in sorted(hosts_of.get(front, ())):
            gf, gb = goal_of[(front, host)], goal_of.get((back, host))
            if gb is None:
                continue
            if not (gf.moves and gb.moves and gf.to_port is not None and gb.to_port is not None):
                continue
            af, ab = arrival.get((front, host)), arrival.get((back, host))
            if (af[0] if af else None) == (ab[0] if ab else None):
                continue
            split += 1
            if mode is PairMode.HARD:
                wf = f"wave {af[0]}" if af else "never"
                wb = f"wave {ab[0]}" if ab else "never"
                at = max((a[1] for a in (af, ab) if a), default=None)
                found.append(
                    Violation(
                        "pair-split",
                        f"pair {front}/{back} on {host} is split: {front} arrives {wf}, {back} {wb}",
                        at,
                    )
                )
    return split


def _check_metrics(claimed: Metrics, actual: Metrics, found: list[Violation]) -> None:
    for name in ("moves", "temp_moves", "waves", "lower_bound_moves", "lower_bound_waves", "pairs_split"):
        said, true = getattr(claimed, name), getattr(actual, name)
        if said != true:
            found.append(Violation(f"metric-{name}", f"plan says {name} = {said}, the replay gives {true}"))
    for bound, figure in (("lower_bound_moves", "moves"), ("lower_bound_waves", "waves")):
        for label, m in (("plan", claimed), ("recomputed", actual)):
            if getattr(m, bound) > getattr(actual, figure):
                found.append(
                    Violation(
                        "bound-above",
                        f"{label} {bound} = {getattr(m, bound)} is above the achieved {figure} = {getattr(actual, figure)}",
                    )
                )


# ---- lower bounds, from the raw goals -------------------------------------------------------


def lower_bounds(instance: Instance, scope: Scope, moves: int, cap: int | None = None) -> tuple[int, int]:
    """(n + c, the wave bound for a plan with ``moves`` moves), computed from the goals alone.

    The blocking graph: mover A -> binding B when B currently holds A's goal port (on A's host
    under host scope; on any host, for another service, under global scope). It is built with one
    hub node per holder group, so a port held by one service on many hosts costs one node, not a
    quadratic fan of arrows. Hubs never form a cycle with a single binding, so an SCC is
    non-trivial when it holds at least two bindings.
    """
    goals = instance.goals
    size = len(goals)
    is_global = scope is Scope.GLOBAL
    movers = [i for i, g in enumerate(goals) if g.moves]
    if not movers:
        return 0, 0

    hub_id: dict[tuple, int] = {}
    members: list[list[int]] = []
    services_at: dict[int, list[str]] = defaultdict(list)
    for i, g in enumerate(goals):
        hub_key = (g.from_port, g.service) if is_global else (g.host, g.from_port)
        h = hub_id.get(hub_key)
        if h is None:
            h = hub_id[hub_key] = size + len(members)
            members.append([])
            if is_global:
                services_at[g.from_port].append(g.service)
        members[h - size].append(i)

    succ: list[list[int]] = [[] for _ in range(size)] + members
    for i in movers:
        g = goals[i]
        if g.to_port is None:
            continue
        if is_global:
            succ[i] = [hub_id[(g.to_port, s)] for s in services_at.get(g.to_port, ()) if s != g.service]
        else:
            h = hub_id.get((g.host, g.to_port))
            succ[i] = [h] if h is not None else []

    comp, comps = _strong_components(succ)
    real_in: list[int] = [0] * len(comps)
    for i in range(size):
        real_in[comp[i]] += 1
    cyclic = [real_in[k] >= 2 for k in range(len(comps))]
    c = sum(cyclic)
    n = len(movers)
    lb_moves = n + c

    by_cap = math.ceil(moves / cap) if cap else 1
    if moves > lb_moves:
        waits = any(succ[i] for i in movers)
        return lb_moves, max(2 if waits else 1, by_cap)

    # Longest simple cycle: an SCC with as many internal arrows (between bindings) as bindings.
    edges = [0] * len(comps)
    for i in movers:
        k = comp[i]
        if cyclic[k]:
            edges[k] += sum(1 for h in succ[i] if comp[h] == k for m in succ[h] if comp[m] == k)
    best = 2 if c else 1
    for k in range(len(comps)):
        if cyclic[k] and edges[k] == real_in[k]:
            best = max(best, real_in[k] + 1)

    # Longest wait chain: components come out sources first, so walk them backwards.
    is_mover = [False] * size
    for i in movers:
        is_mover[i] = True
    value = [0] * len(succ)  # binding: wave it leaves its port; hub: latest leave of its holders
    for k in reversed(range(len(comps))):
        if cyclic[k]:
            for v in comps[k]:
                if v < size:
                    value[v] = 1  # a cycle member may leave for a temp port in wave 1
        for v in comps[k]:
            if v >= size:
                value[v] = max((value[m] for m in succ[v]), default=0)
        if not cyclic[k]:
            for v in comps[k]:
                if v < size and is_mover[v]:
                    value[v] = 1 + max((value[h] for h in succ[v]), default=0)
                    best = max(best, value[v])
    return lb_moves, max(best, by_cap)


def _strong_components(succ: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    """Kosaraju, iteratively: (component of each node, components in topological order)."""
    total = len(succ)
    seen = bytearray(total)
    finished: list[int] = []
    for root in range(total):
        if seen[root]:
            continue
        seen[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, rest = stack[-1]
            for nxt in rest:
                if not seen[nxt]:
                    seen[nxt] = 1
                    stack.append((nxt, iter(succ[nxt])))
                    break
            else:
                stack.pop()
                finished.append(node)
    pred: list[list[int]] = [[] for _ in range(total)]
    for v in range(total):
        for w in succ[v]:
            pred[w].append(v)
    comp = [-1] * total
    comps: list[list[int]] = []
    for root in reversed(finished):
        if comp[root] != -1:
            continue
        k = len(comps)
        comp[root] = k
        group = [root]
        todo = [root]
        while todo:
            v = todo.pop()
            for w in pred[v]:
                if comp[w] == -1:
                    comp[w] = k
                    group.append(w)
                    todo.append(w)
        comps.append(group)
    return comp, comps
