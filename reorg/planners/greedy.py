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

from reorg.model import Goal, PairMode, Plan, ReorgError, Step, StepKind
from reorg.planners import make_plan
from reorg.problem import Problem, join


def plan_greedy(problem: Problem) -> Plan:
    """One step per wave (a hard pair's arrivals share one), cycles broken through temp ports."""
    return make_plan(problem, "greedy", _Greedy(problem).run())


class _Greedy:
    """The state of one run: who still holds its original port, who sits on which temp port."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.goals = problem.goals
        self.is_mover = set(problem.movers)
        self.unit_of, self.units = _units(problem)
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
            self._to_temp(self._cycle_member(self._stuck_start()))
        return self.steps

    # ---- steps ------------------------------------------------------------------------------

    def _arrive(self, u: int) -> None:
        """Every member of unit u reaches its goal (or retires) in one new wave."""
        self.wave += 1
        for m in self.units[u]:
            g = self.goals[m]
            if m in self.temp_of:
                temp = self.temp_of.pop(m)
                self._emit(g, temp, g.to_port, StepKind.FROM_TEMP)
                # Free again from the next wave on; every later step is in a later wave.
                heapq.heappush(self.free_temps[self.problem.temp_domain(m)], temp)
            else:
                kind = StepKind.RETIRE if g.to_port is None else StepKind.MOVE
                self._emit(g, g.from_port, g.to_port, kind)
            self.done.add(m)
        for m in self.units[u]:
            if m in self.at_origin:
                self._leave_origin(m)

    def _to_temp(self, m: int) -> None:
        domain = self.problem.temp_domain(m)
        pool = self.free_temps.get(domain)
        if pool is None:
            pool = self.free_temps[domain] = list(self.problem.temp_pool)  # sorted: a heap
        if not pool:
            raise ReorgError(self._stuck_message(m))
        temp = heapq.heappop(pool)
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
