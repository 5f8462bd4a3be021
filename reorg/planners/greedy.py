"""Greedy strategy: sequentialise the moves the way compilers sequentialise parallel copies.

The idea is Boissinot et al., *Revisiting Out-of-SSA Translation* (CGO 2009), Algorithm 1,
written from the idea rather than transcribed (the published pseudo-code has a known typo):

- a mover is *ready* when nobody still holds its goal port at the start of the wave
  (every one of ``problem.blockers[i]`` has left its original port); retirements are always
  ready. Ready movers go one per wave, and each departure may make its waiters ready;
- when nothing is ready but movers remain, every remaining mover waits on someone, so the
  *waits-on graph* has a cycle. Following waits-on edges from a stuck mover until one repeats
  finds it; one mover on it goes to a temp port, which breaks it. That mover later returns
  with a ``from-temp`` step once its goal port is free.

Without hard pairs, with host scope, each cycle of the blocking graph costs exactly one temp,
so the plan has n + c moves. Under global scope a strongly connected component can hold
several disjoint cycles (a service on two hosts swapping with another); each needs its own
temp, and greedy then spends more than n + c (so does every plan).

Hard pairs (``options.pairs == HARD``) join a frontend and its backend into one *unit*: the
unit is ready only when every member's goal is free, and then all members arrive in one wave
(the only waves with more than one step). A member's waits-on edges include its partner's
blockers, so a pair where one member wants the other's current port is a self-loop that a temp
breaks. Greedy ignores ``max_per_wave`` otherwise: one step per wave meets any cap >= 1.

Choices that do not change the move count on simple cycles but help elsewhere: the search for
a cycle starts from the waiting unit with the fewest holders left, so the temp it spends comes
back soon (hard pairs competing for a small pool); on the cycle, the member whose departure
brings a waiter closest to ready goes to temp. Temp ports are the lowest free of the pool in
the mover's domain: per host, or one for all hosts under global scope, where a temp port holds
one binding at a time (docs/semantics.md), even for one service on several hosts.

Everything is indexed (holders are counted, not searched), so 100k bindings take seconds.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import replace
from typing import Any

from reorg.model import Goal, PairMode, Plan, ReorgError, Step, StepKind
from reorg.planners import make_plan
from reorg.planners.budget import Deadline
from reorg.problem import Problem, join

SEARCH_WORK = 400_000  # movers x runs the backtracking search may spend before giving up
SEARCH_ALWAYS = 40_000  # ... and spends even when the deadline has passed


def plan_greedy(problem: Problem, deadline: Deadline | None = None) -> Plan:
    """One step per wave (a hard pair's arrivals share one), cycles broken through temp ports."""
    return make_plan(problem, "greedy", greedy_steps(problem, deadline))


class _DeadEnd(Exception):
    """A run needed a temp port where none was free (or reached a state already searched)."""

    def __init__(self, path: list[int], message: str) -> None:
        super().__init__(message)
        self.path = path


def greedy_steps(problem: Problem, deadline: Deadline | None = None) -> list[Step]:
    """The greedy steps; when a small pool leaves greedy stuck, a backtracking search.

    The first run takes the default choice at every stuck point (see ``_cycle_member``). When
    it finds every temp port of the pool held, the search goes back to the latest stuck point
    and sends another mover to a temp port instead, depth first (``_candidates``). States already
    searched are skipped. Arrivals that are ready always go first, which never hurts (an arrival
    takes no temp port and frees ports), and the choice at a stuck point ranges over every mover
    still on its port that someone waits for, so the search is exhaustive: when it ends without
    a plan, no plan exists with this pool. It stops after ``SEARCH_WORK`` movers' worth of runs
    (or at the deadline), and then says how many temp ports a plan needs.
    """
    try:
        return _Greedy(problem).run()
    except _DeadEnd as dead:
        first = dead
    # the pool is scarce. Each temp pool (a host, or all hosts under global scope) is searched
    # alone, since nothing but the pool couples them (one step per wave meets any cap), and the
    # plans run one pool after another
    steps: list[Step] = []
    for part in _per_pool(problem):
        offset = max((s.wave for s in steps), default=0)
        for s in _search(part, first, deadline):
            steps.append(Step(0, s.wave + offset, s.service, s.host, s.from_port, s.to_port, s.kind))
    return steps


def _per_pool(problem: Problem) -> list[Problem]:
    """The problem cut into one part per temp pool (host scope: per host), in pool order."""
    by_pool: dict[str, list[int]] = defaultdict(list)
    for i in problem.movers:
        by_pool[problem.temp_domain(i)].append(i)
    if len(by_pool) < 2:
        return [problem]
    parts = []
    for _, movers in sorted(by_pool.items()):
        inside = set(movers)
        parts.append(replace(
            problem,
            movers=tuple(movers),
            pair_links=tuple(link for link in problem.pair_links if link[0] in inside and link[1] in inside),
        ))
    return parts


def _search(problem: Problem, first: _DeadEnd, deadline: Deadline | None) -> list[Step]:
    """Depth-first search over the stuck points' choices (see ``greedy_steps``)."""
    # from here on a hard-pair member whose own unit is then ready goes to temp first
    stack: list[tuple[int, ...]] = [()]
    visited: set[tuple[int, int, int, int]] = set()
    work = 0
    while stack:
        # greedy is the fallback when time is up, so the first SEARCH_ALWAYS of work goes anyway
        late = work > SEARCH_ALWAYS and deadline is not None and deadline.expired()
        if work > SEARCH_WORK or late:
            raise ReorgError(_gave_up_message(problem, first, exhaustive=False))
        prefix = stack.pop()
        run = _Greedy(problem, prefix, visited, scarce=True)
        work += max(1, problem.n)
        try:
            return run.run()
        except _DeadEnd as dead:
            path = dead.path
            first = dead if not prefix else first
            for depth in range(max(0, len(prefix) - 1), len(path)):
                stack.append(tuple(path[:depth]) + (path[depth] + 1,))
    raise ReorgError(_gave_up_message(problem, first, exhaustive=True))


def _gave_up_message(problem: Problem, first: _DeadEnd | None, exhaustive: bool) -> str:
    """Why greedy has no plan, and the pool that would do (greedy with a pool per mover)."""
    base = str(first) if first is not None else "greedy found no plan"
    need = _temps_needed(problem)
    lo, hi = problem.options.temp_ports
    have = len(problem.temp_pool)
    if exhaustive:
        head = (
            f"no plan exists with the {have} free temp port(s) of {lo}-{hi}: every order of "
            f"temp moves was tried ({base})"
        )
    else:
        head = (
            f"greedy found no order of temp moves with the {have} free temp port(s) of {lo}-{hi} "
            f"within its search limit ({base})"
        )
    if need is None:
        return head
    return f"{head}; with {need} free temp ports a plan exists: pass e.g. --temp-ports {_range_for(problem, need)}"


def _temps_needed(problem: Problem) -> int | None:
    """The most temp ports greedy holds at once per pool when the pool never runs out."""
    wide = replace(problem, temp_pool=tuple(range(-problem.n - 1, 0)))  # placeholders, never written
    try:
        steps = _Greedy(wide, (), set()).run()
    except (_DeadEnd, ReorgError):
        return None
    held: dict[str, int] = defaultdict(int)
    peak = 0
    domain = {problem.goals[i].key: problem.temp_domain(i) for i in problem.movers}
    for s in steps:
        d = domain[(s.service, s.host)]
        if s.kind is StepKind.TO_TEMP:
            held[d] += 1
            peak = max(peak, held[d])
        elif s.kind is StepKind.FROM_TEMP:
            held[d] -= 1
    return max(peak, 1)


def _range_for(problem: Problem, need: int) -> str:
    """A --temp-ports range from the current low end holding ``need`` ports no table names."""
    lo = problem.options.temp_ports[0]
    named = {b.port for b in problem.instance.bindings}
    named |= {g.to_port for g in problem.goals if g.to_port is not None}
    named |= {r.port for r in problem.instance.reservations}
    named |= problem.options.temp_avoid
    hi, free = lo - 1, 0
    while free < need and hi < 65535:
        hi += 1
        free += hi not in named
    return f"{lo}-{hi}"


class _Greedy:
    """The state of one run: who still holds its original port, who sits on which temp port.

    ``prefix`` gives the choice (an index into ``_candidates``) at the first stuck points;
    later stuck points take choice 0. ``visited`` holds the states of stuck points searched.
    ``scarce`` (once a first run found the pool too small) first sends to temp a member of a
    hard pair that is all its unit waits for, so the temp port comes back in the next wave.
    """

    def __init__(
        self, problem: Problem, prefix: tuple[int, ...] = (), visited: set[Any] | None = None, scarce: bool = False
    ) -> None:
        self.problem = problem
        self.prefix = prefix
        self.scarce = scarce
        self.visited = visited if visited is not None else set()
        self.path: list[int] = []  # the choice taken at each stuck point so far
        # the state as a hash: (xor of done, xor of temp holders, counts); O(1) to keep
        self.sig = [0, 0, 0, 0]
        self.goals = problem.goals
        self.is_mover = set(problem.movers)
        self.unit_of, self.units = _units(problem)
        self.multi = [u for u, members in enumerate(self.units) if len(members) > 1]
        self.unit_members = {u: set(self.units[u]) for u in self.multi}
        self.at_origin = set(problem.movers)  # movers still on their current port
        self.temp_of: dict[int, int] = {}  # mover -> temp port it sits on
        self.done: set[int] = set()
        self.free_temps: dict[str, list[int]] = {}
        self.steps: list[Step] = []
        self.wave = 0
        # waits[u]: the holders unit u waits for (with multiplicity); pending[u] counts the
        # ones still on their original port; waiters[j]: units waiting for holder j.
        self.waits: list[list[int]] = [[] for _ in self.units]
        self.waiters: dict[int, list[int]] = defaultdict(list)
        for u, members in enumerate(self.units):
            for m in members:
                self.waits[u].extend(problem.blockers[m])
            self.waits[u].extend(_shared_origins(self.goals, members))
            for j in self.waits[u]:
                self.waiters[j].append(u)
        self.pending = [len(w) for w in self.waits]
        self.ready = [u for u, count in enumerate(self.pending) if count == 0]
        # (pending, unit) of waiting units, stale entries skipped lazily: when stuck, the
        # search starts from the unit closest to ready, so the temp it spends is soon back
        # (this matters when hard pairs compete for a small pool).
        self.closest = [(count, u) for u, count in enumerate(self.pending) if count]

    def run(self) -> list[Step]:
        self._check_cap()
        heapq.heapify(self.ready)
        heapq.heapify(self.closest)
        unit_left = len(self.units)
        while unit_left:
            if self.ready:
                self._arrive(heapq.heappop(self.ready))
                unit_left -= 1
                continue
            self._to_temp(self._choose())
        return self.steps

    def _choose(self) -> int:
        """The mover that goes to a temp port at this stuck point (see ``greedy_steps``)."""
        depth = len(self.path)
        if depth >= len(self.prefix):
            key = tuple(self.sig)
            if key in self.visited:
                raise _DeadEnd(self.path, "a state already searched")
            self.visited.add(key)
        want = self.prefix[depth] if depth < len(self.prefix) else 0
        default = (self.scarce and self._self_release()) or self._cycle_member(self._stuck_start())
        if want == 0 and self._has_temp(default):
            self.path.append(0)
            return default
        options = self._candidates(default)
        if want >= len(options):
            if want == 0:
                raise _DeadEnd(self.path, self._stuck_message(default))
            raise _DeadEnd(self.path, "no other choice")
        self.path.append(want)
        return options[want]

    def _self_release(self) -> int | None:
        """A member of a waiting hard-pair unit that is the only holder the unit waits for (and
        has a temp port free): it goes to temp and the unit arrives, temp port and all, next."""
        best = None
        for u in self.multi:
            if self.pending[u] == 0 or self.units[u][0] in self.done:
                continue
            holders = {j for j in self.waits[u] if j in self.at_origin or j not in self.is_mover}
            if len(holders) == 1:
                (m,) = holders
                if m in self.unit_members[u] and self._has_temp(m) and (best is None or m < best):
                    best = m
        return best

    def _has_temp(self, m: int) -> bool:
        pool = self.free_temps.get(self.problem.temp_domain(m))
        return bool(self.problem.temp_pool) if pool is None else bool(pool)

    def _candidates(self, default: int) -> list[int]:
        """Every mover that may go to a temp here: on its own port, waited for, a temp free in
        its pool; the default first, then the one whose departure brings a waiter closest to
        ready. O(movers): computed only when the search backtracks."""
        others = sorted(
            (m for m in self.at_origin if m != default and self.waiters.get(m) and self._has_temp(m)),
            key=self._victim_rank,
        )
        return ([default] if self._has_temp(default) else []) + others

    # ---- steps ------------------------------------------------------------------------------

    def _arrive(self, u: int) -> None:
        """Every member of unit u reaches its goal (or retires) in one new wave."""
        self.wave += 1
        for m in self.units[u]:
            g = self.goals[m]
            if m in self.temp_of:
                temp = self.temp_of.pop(m)
                self.sig[1] ^= hash((m, 7))
                self.sig[3] -= 1
                self._emit(g, temp, g.to_port, StepKind.FROM_TEMP)
                # Free again from the next wave on; every later step is in a later wave.
                heapq.heappush(self.free_temps[self.problem.temp_domain(m)], temp)
            else:
                kind = StepKind.RETIRE if g.to_port is None else StepKind.MOVE
                self._emit(g, g.from_port, g.to_port, kind)
            self.done.add(m)
            self.sig[0] ^= hash((m, 3))
            self.sig[2] += 1
        for m in self.units[u]:
            if m in self.at_origin:
                self._leave_origin(m)

    def _to_temp(self, m: int) -> None:
        domain = self.problem.temp_domain(m)
        pool = self.free_temps.get(domain)
        if pool is None:
            pool = self.free_temps[domain] = list(self.problem.temp_pool)  # sorted: a heap
        if not pool:  # _choose picks a mover with a free temp port
            raise AssertionError(self._stuck_message(m))
        temp = heapq.heappop(pool)
        self.sig[1] ^= hash((m, 7))
        self.sig[3] += 1
        self.wave += 1
        g = self.goals[m]
        self._emit(g, g.from_port, temp, StepKind.TO_TEMP)
        self.temp_of[m] = temp
        self._leave_origin(m)

    def _emit(self, g: Goal, from_port: int, to_port: int | None, kind: StepKind) -> None:
        self.steps.append(Step(0, self.wave, g.service, g.host, from_port, to_port, kind))

    def _leave_origin(self, j: int) -> None:
        self.at_origin.discard(j)
        for u in self.waiters.get(j, ()):
            self.pending[u] -= 1
            if self.pending[u] == 0:
                heapq.heappush(self.ready, u)
            else:
                heapq.heappush(self.closest, (self.pending[u], u))

    # ---- breaking cycles --------------------------------------------------------------------

    def _stuck_start(self) -> int:
        """A member of the waiting unit with the fewest holders left (then the lowest index)."""
        while True:
            count, u = self.closest[0]
            if self.pending[u] == count and self.units[u][0] not in self.done:
                return self.units[u][0]
            heapq.heappop(self.closest)

    def _cycle_member(self, start: int) -> int:
        """A mover on a cycle of the waits-on graph reached from ``start``, chosen to free most.

        Every node on the cycle is a holder still on its original port, so it can go to a temp.
        On a simple cycle any member costs one temp. Where cycles interlock (global scope: a
        service on several hosts swapping with another) the choice matters, so prefer the
        member whose departure brings some waiter closest to ready (fewest holders left), then
        the one with most waiters, then the smallest index.
        """
        seen: dict[int, int] = {}
        path: list[int] = []
        node = start
        while node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = self._next_holder(node)
        cycle = path[seen[node]:]
        return min(cycle, key=self._victim_rank)

    def _victim_rank(self, i: int) -> tuple[int, int, int]:
        waiting = self.waiters.get(i, ())
        return (min(self.pending[u] for u in waiting), -len(waiting), i)

    def _next_holder(self, node: int) -> int:
        """The smallest holder that ``node``'s unit still waits for."""
        if node not in self.is_mover:
            holder = self.goals[node]
            raise ReorgError(
                f"greedy is stuck on {holder.host}: {holder.service} keeps port "
                f"{holder.from_port}, which another service needs; give one of them another port"
            )
        u = self.unit_of[node]
        holders = [j for j in self.waits[u] if j in self.at_origin or j not in self.is_mover]
        if not holders:  # pending[u] > 0 says otherwise: the counts are out of step
            raise AssertionError(f"unit {self.units[u]} is stuck without a holder")
        return min(holders)

    def _stuck_message(self, m: int) -> str:
        g = self.goals[m]
        lo, hi = self.problem.options.temp_ports
        where = "all hosts" if self.problem.temp_domain(m) == "*" else g.host
        if not self.problem.temp_pool:
            why = f"the temp range {lo}-{hi} has no port that the tables leave free"
        else:
            domain = self.problem.temp_domain(m)
            held = sorted(
                f"{self.goals[i].service}@{self.goals[i].host}"
                for i in self.temp_of
                if self.problem.temp_domain(i) == domain
            )
            names = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
            why = f"every temp port of {lo}-{hi} on {where} is held (by {names})"
        paired = len(self.units[self.unit_of[m]]) > 1 or any(
            len(self.units[self.unit_of[i]]) > 1 for i in self.temp_of
        )
        return (
            f"greedy is stuck on {g.host}: {g.service} ({g.from_port} -> {g.to_port}) must go "
            f"to a temp port to break a cycle, but {why}; pass a larger --temp-ports range"
            + (" or --pairs soft" if paired else "")
        )

    def _check_cap(self) -> None:
        cap = self.problem.options.max_per_wave
        if cap is None:
            return
        for members in self.units:
            if len(members) > cap:
                g = self.goals[members[0]]
                names = "/".join(self.goals[i].service for i in members)
                raise ReorgError(
                    f"hard pair {names} on {g.host} must arrive in one wave ({len(members)} "
                    f"steps), but --max-per-wave is {cap}; pass --pairs soft or "
                    f"--max-per-wave {len(members)}"
                )


def _units(problem: Problem) -> tuple[dict[int, int], list[tuple[int, ...]]]:
    """Movers grouped into what arrives together: hard-pair groups, else single movers.

    A service in two pairs joins both partners into one group. Units are numbered by their
    smallest member, so the ready heap pops them in index order.
    """
    links = problem.pair_links if problem.options.pairs is PairMode.HARD else ()
    units = list(join(problem.movers, links))
    unit_of = {m: u for u, members in enumerate(units) for m in members}
    return unit_of, units


def _shared_origins(goals: tuple[Goal, ...], members: tuple[int, ...]) -> list[int]:
    """Members that start on the same port as an earlier member (an initial collision).

    Two steps of one wave may not touch the same port, so such a unit cannot leave that port
    in one wave: it waits until all but one of them sit on temp ports.
    """
    if len(members) < 2:
        return []
    first: dict[tuple[str, int], int] = {}
    extra = []
    for m in members:
        key = (goals[m].host, goals[m].from_port)
        if key in first:
            extra.append(m)
        else:
            first[key] = m
    return extra
