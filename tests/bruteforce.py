"""Brute-force oracle for tiny instances: the true optimum over every valid plan.

Test code only. It shares nothing with the planners or the verifier: it searches the wave
semantics of docs/semantics.md directly. A state is each mover's phase (at its current port,
in a temp port, done: on its goal or retired); a wave is any non-empty set of steps that may run
together from that state. Dijkstra over states with the cost (moves, waves) (or (waves, moves))
finds the lexicographic optimum exactly.

Temp ports are interchangeable (the pool is free everywhere and never reserved), so a state only
records *who* is in a temp port, not which one; concrete ports are handed out afterwards,
lowest free first. The pool is cut to its first k ports, k = number of movers, which loses
nothing: no more than k bindings ever hold a temp at once. Under global scope a temp port holds
one binding at a time (even across one service's hosts), so temp capacity counts the bindings
in a temp on all hosts together; under host scope it counts them per host.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict

from reorg.model import (
    Binding,
    Goal,
    Instance,
    Metrics,
    PairMode,
    PlanOptions,
    Reservation,
    Scope,
    Step,
    StepKind,
)

START, TEMP, DONE = 0, 1, 2
STAY, FINAL, TO_TEMP, FROM_TEMP = "stay", "final", "to-temp", "from-temp"


def brute_force(
    instance: Instance, options: PlanOptions, max_movers: int = 5
) -> tuple[int, int] | None:
    """(fewest moves, fewest waves for that many moves), or None when no valid plan exists."""
    found = brute_force_plan(instance, options, waves_first=False, max_movers=max_movers)
    return None if found is None else found[0]


def brute_force_waves_first(
    instance: Instance, options: PlanOptions, max_movers: int = 5
) -> tuple[int, int] | None:
    """(fewest waves, fewest moves for that many waves), or None when no valid plan exists."""
    found = brute_force_plan(instance, options, waves_first=True, max_movers=max_movers)
    return None if found is None else found[0]


def brute_force_plan(
    instance: Instance, options: PlanOptions, waves_first: bool = False, max_movers: int = 5,
    splits: bool = False,
) -> tuple[tuple[int, ...], tuple[Step, ...]] | None:
    """The optimum figures (in objective order) and the steps of one optimal plan, or None.

    ``splits`` adds split pairs as the third figure: (moves, waves, splits) or (waves, moves,
    splits), the order ``--pairs soft`` optimises in.
    """
    search = _Search(instance, options)
    if len(search.movers) > max_movers:
        raise ValueError(f"{len(search.movers)} movers; the oracle handles at most {max_movers}")
    if not search.final_state_ok():
        return None
    path = search.run(waves_first, splits)
    if path is None:
        return None
    steps = search.concrete_steps(path)
    moves = len(steps)
    waves = len(path) - 1
    figures = (waves, moves) if waves_first else (moves, waves)
    if splits:
        figures += (search.splits_of(path),)
    return figures, steps


def brute_force_lexicographic(
    instance: Instance, options: PlanOptions, max_movers: int = 5
) -> tuple[int, ...] | None:
    """The optimum in the order of ``options``: (moves, waves) or (waves, moves), then split
    pairs under ``--pairs soft``; None when no valid plan exists."""
    from reorg.model import Objective

    found = brute_force_plan(
        instance, options, waves_first=options.objective is Objective.WAVES,
        max_movers=max_movers, splits=options.pairs is PairMode.SOFT,
    )
    return None if found is None else found[0]


class _Search:
    def __init__(self, instance: Instance, options: PlanOptions) -> None:
        self.goals: tuple[Goal, ...] = instance.goals
        self.is_global = options.scope is Scope.GLOBAL
        self.cap = options.max_per_wave
        self.movers = [i for i, g in enumerate(self.goals) if g.moves]
        lo, hi = options.temp_ports
        named = {g.from_port for g in self.goals} | {b.port for b in instance.bindings}
        named |= {g.to_port for g in self.goals if g.to_port is not None}
        named |= {r.port for r in instance.reservations}
        pool = [p for p in range(lo, hi + 1) if p not in named]
        self.pool = pool[: len(self.movers)]
        self.reservations = instance.reservations
        at = {g.key: i for i, g in enumerate(self.goals)}
        self.links: list[tuple[int, int]] = []
        if options.pairs is PairMode.HARD:
            for front, back in sorted(set(instance.pairs)):
                for g in self.goals:
                    if g.service != front:
                        continue
                    j = at.get((back, g.host))
                    if j is None or front == back:
                        continue
                    i = at[g.key]
                    both = (self.goals[i], self.goals[j])
                    if all(x.moves and x.to_port is not None for x in both):
                        self.links.append((i, j))
        # every frontend/backend pair on one host, both moving to a port: split when their
        # arrivals fall in different waves (what --pairs soft counts)
        self.pair_links: list[tuple[int, int]] = []
        for front, back in sorted(set(instance.pairs)):
            for g in self.goals:
                j = at.get((back, g.host))
                if g.service != front or j is None or front == back:
                    continue
                i = at[g.key]
                if all(x.moves and x.to_port is not None for x in (self.goals[i], self.goals[j])):
                    self.pair_links.append((i, j))

    # -- the rules ---------------------------------------------------------------------------

    def reserved(self, service: str, host: str, port: int) -> bool:
        return any(
            r.port == port
            and r.service != service
            and (self.is_global or r.host is None or r.host == host)
            for r in self.reservations
        )

    def final_state_ok(self) -> bool:
        """The goals themselves: no collision and no binding on another service's reservation."""
        holders: dict[tuple, set] = defaultdict(set)
        for g in self.goals:
            if g.to_port is None:
                continue
            if self.reserved(g.service, g.host, g.to_port):
                return False
            if self.is_global:
                holders[g.to_port].add(g.service)
            else:
                holders[(g.host, g.to_port)].add(g.service)
        return all(len(s) == 1 for s in holders.values())

    def port_of(self, i: int, phase: int) -> int | None:
        """Where binding i is in a phase; None when retired or in a (virtual) temp port."""
        g = self.goals[i]
        if phase == START:
            return g.from_port
        if phase == DONE:
            return g.to_port
        return None

    def options_for(self, i: int, phase: int) -> list[str]:
        if phase == START:
            out = [STAY, FINAL]
            if self.goals[i].to_port is not None and self.pool:
                out.append(TO_TEMP)
            return out
        if phase == TEMP:
            return [STAY, FROM_TEMP]
        return [STAY]

    def waves_from(self, state: tuple[int, ...]):
        """Every valid wave from ``state``: (number of steps, next state, choice per mover)."""
        phase = {i: self.phase_of(state, i) for i in range(len(self.goals))}
        held: dict[tuple[str, int], list[int]] = defaultdict(list)
        held_global: dict[int, set[str]] = defaultdict(set)
        temp_by_host: dict[str, int] = defaultdict(int)
        for i, g in enumerate(self.goals):
            p = self.port_of(i, phase[i])
            if p is not None:
                held[(g.host, p)].append(i)
                held_global[p].add(g.service)
            elif phase[i] == TEMP:
                temp_by_host[g.host] += 1
        choices = [self.options_for(i, state[k]) for k, i in enumerate(self.movers)]
        for combo in itertools.product(*choices):
            acting = [(i, c) for i, c in zip(self.movers, combo, strict=False) if c != STAY]
            if not acting or (self.cap is not None and len(acting) > self.cap):
                continue
            if self.valid_wave(acting, phase, held, held_global, temp_by_host):
                nxt = tuple(
                    {STAY: s, FINAL: DONE, TO_TEMP: TEMP, FROM_TEMP: DONE}[c]
                    for s, c in zip(state, combo, strict=False)
                )
                yield len(acting), nxt, combo

    def phase_of(self, state: tuple[int, ...], i: int) -> int:
        if not self.goals[i].moves:
            return START
        return state[self.movers.index(i)]

    def valid_wave(self, acting, phase, held, held_global, temp_by_host) -> bool:
        touched: set[tuple[str, int]] = set()
        arriving_service: dict[int, str] = {}
        new_temp_by_host: dict[str, int] = defaultdict(int)
        arrives: set[int] = set()
        for i, c in acting:
            g = self.goals[i]
            if phase[i] == START:  # leaves its own port (move, retire or to-temp)
                if (g.host, g.from_port) in touched:
                    return False
                touched.add((g.host, g.from_port))
            if c == TO_TEMP:
                new_temp_by_host[g.host] += 1
                continue
            to = g.to_port
            if to is None:  # retire binds nothing
                continue
            arrives.add(i)
            if (g.host, to) in touched:
                return False
            touched.add((g.host, to))
            if self.is_global:
                if any(s != g.service for s in held_global.get(to, ())):
                    return False
                if arriving_service.setdefault(to, g.service) != g.service:
                    return False
            elif any(j != i for j in held.get((g.host, to), ())):
                return False
            if self.reserved(g.service, g.host, to):
                return False
        k = len(self.pool)
        if self.is_global:
            # A temp held at the start of the wave stays taken through it (from-temp included).
            in_temp = sum(temp_by_host.values()) + sum(new_temp_by_host.values())
            if new_temp_by_host and in_temp > k:
                return False
        else:
            for host, extra in new_temp_by_host.items():
                if temp_by_host.get(host, 0) + extra > k:
                    return False
        return all((a in arrives) == (b in arrives) for a, b in self.links)

    # -- the search --------------------------------------------------------------------------

    def wave_splits(self, state: tuple[int, ...], combo: tuple[str, ...]) -> int:
        """Pairs this wave splits: one arrives, the other has not arrived and does not now.
        Each split pair is counted once, in the wave its first member arrives."""
        pos = {i: k for k, i in enumerate(self.movers)}
        arrives = {i for i, c in zip(self.movers, combo, strict=False) if c in (FINAL, FROM_TEMP)}
        count = 0
        for a, b in self.pair_links:
            for x, y in ((a, b), (b, a)):
                if x in arrives and y not in arrives and state[pos[y]] != DONE:
                    count += 1
        return count

    def splits_of(self, path) -> int:
        return sum(self.wave_splits(path[k][0], path[k + 1][1]) for k in range(len(path) - 1))

    def run(self, waves_first: bool, splits: bool = False):
        """Dijkstra on (moves, waves) or (waves, moves), then split pairs when ``splits``;
        the path as (state, choices into it)."""
        start = tuple(START for _ in self.movers)
        goal = tuple(DONE for _ in self.movers)
        zero = (0, 0, 0)
        best: dict[tuple[int, ...], tuple[int, ...]] = {start: zero}
        came: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[str, ...]]] = {}
        heap = [(zero, start)]
        done: set[tuple[int, ...]] = set()
        while heap:
            cost, state = heapq.heappop(heap)
            if state in done:
                continue
            done.add(state)
            if state == goal:
                path = [(state, None)]
                while state in came:
                    prev, combo = came[state]
                    path[-1] = (state, combo)
                    path.append((prev, None))
                    state = prev
                return list(reversed(path))
            for count, nxt, combo in self.waves_from(state):
                step = (1, count) if waves_first else (count, 1)
                split = self.wave_splits(state, combo) if splits else 0
                new = (cost[0] + step[0], cost[1] + step[1], cost[2] + split)
                if nxt not in best or new < best[nxt]:
                    best[nxt] = new
                    came[nxt] = (state, combo)
                    heapq.heappush(heap, (new, nxt))
        return None

    def concrete_steps(self, path) -> tuple[Step, ...]:
        """Turn the path into numbered steps, handing out real temp ports lowest first."""
        temp_at: dict[int, int] = {}  # binding -> temp port it holds
        raw: list[Step] = []
        for wave, (_, combo) in enumerate(path[1:], start=1):
            held_start = defaultdict(set)  # host (or "*" under global scope) -> temps held
            for i, p in temp_at.items():
                held_start["*" if self.is_global else self.goals[i].host].add(p)
            given: dict[str, set[int]] = defaultdict(set)
            leaving: list[int] = []
            for i, c in zip(self.movers, combo, strict=False):
                g = self.goals[i]
                if c == STAY:
                    continue
                if c == FINAL:
                    kind = StepKind.MOVE if g.to_port is not None else StepKind.RETIRE
                    raw.append(Step(0, wave, g.service, g.host, g.from_port, g.to_port, kind))
                elif c == FROM_TEMP:
                    kind = StepKind.FROM_TEMP
                    raw.append(Step(0, wave, g.service, g.host, temp_at[i], g.to_port, kind))
                    leaving.append(i)
                else:
                    where = "*" if self.is_global else g.host
                    busy = held_start[where] | given[where]
                    port = next(p for p in self.pool if p not in busy)
                    given[where].add(port)
                    temp_at[i] = port
                    kind = StepKind.TO_TEMP
                    raw.append(Step(0, wave, g.service, g.host, g.from_port, port, kind))
            for i in leaving:
                del temp_at[i]
        ordered = sorted(raw, key=lambda s: (s.wave, s.host, s.service))
        return tuple(
            Step(n, s.wave, s.service, s.host, s.from_port, s.to_port, s.kind)
            for n, s in enumerate(ordered, start=1)
        )


# ---- terse builders shared by the tests -------------------------------------------------------


def instance_of(*rows: str, reservations=(), pairs=()) -> Instance:
    """An instance from rows "service host from to", to = '-' retires; e.g. "a h1 1 2".

    ``reservations`` are (service, host or None, port); ``pairs`` are (frontend, backend).
    """
    bindings, goals = [], []
    for line, row in enumerate(rows, start=2):
        service, host, old, new = row.split()
        bindings.append(Binding(service, host, int(old), line=line))
        goals.append(Goal(service, host, int(old), None if new == "-" else int(new)))
    res = tuple(Reservation(s, h, p) for s, h, p in reservations)
    return Instance(tuple(bindings), tuple(goals), res, tuple(pairs))


def hand_metrics(instance: Instance, options: PlanOptions, steps) -> Metrics:
    """A plan's metrics counted from its steps, with the bounds of ``reorg.problem``.

    Independent of ``reorg.verify``: moves, temp moves and waves are counted here, pairs split
    are counted here from the arrival waves, and the lower bounds come from ``reorg.problem``
    (the planners' implementation, written apart from the verifier's). Only for an instance no
    plan can solve (``build_problem`` refuses it), where a test is about the rejection and not
    the figures, the bounds are the verifier's own.
    """
    from reorg.model import ReorgError
    from reorg.problem import build_problem, lower_bound_moves, lower_bound_waves

    steps = tuple(steps)
    moves = len(steps)
    try:
        problem = build_problem(instance, options)
        bounds = lower_bound_moves(problem), lower_bound_waves(problem, moves)
    except ReorgError:
        from reorg.verify_bounds import lower_bounds

        cap = options.max_per_wave if options.max_per_wave and options.max_per_wave > 0 else None
        bounds = lower_bounds(instance, options.scope, moves, cap, options.temp_ports)
    arrival = {
        (s.service, s.host): s.wave
        for s in steps
        if s.kind in (StepKind.MOVE, StepKind.FROM_TEMP)
    }
    goal = {g.key: g for g in instance.goals}
    split = 0
    for front, back in sorted(set(instance.pairs)):
        for (service, host), g in sorted(goal.items()):
            other = goal.get((back, host))
            if service != front or front == back or other is None:
                continue
            if all(x.moves and x.to_port is not None for x in (g, other)):
                split += arrival.get((front, host)) != arrival.get((back, host))
    return Metrics(
        moves=moves,
        temp_moves=sum(1 for s in steps if s.kind is StepKind.TO_TEMP),
        waves=max((s.wave for s in steps), default=0),
        lower_bound_moves=bounds[0],
        lower_bound_waves=bounds[1],
        optimal=False,
        pairs_split=split,
    )
