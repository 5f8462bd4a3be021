"""Schedules without a solver: compress hints, check the temp pool, list-schedule, turn into steps.

The list schedule is highest-level-first (Hu 1961, optimal for chains); it merges components
under a wave cap or a shared temp pool. ``schedule_steps`` turns a Schedule into numbered steps
and gives each temp move its temp port.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable

from reorg.model import PairMode, ReorgError, Step, StepKind
from reorg.planners.parts import Schedule
from reorg.problem import Problem, pair_groups


def compress(comp: tuple[int, ...], hints: dict[int, tuple[int, int]]) -> Schedule | None:
    """A plan restricted to one component, its waves renumbered 1..k (order is kept)."""
    if any(i not in hints for i in comp):
        return None
    used = sorted({w for i in comp for w in hints[i]})
    rank = {w: r for r, w in enumerate(used, start=1)}
    return Schedule({i: rank[hints[i][1]] for i in comp}, {i: rank[hints[i][0]] for i in comp}, False)


def pool_overflows(problem: Problem, sched: Schedule, pool: int) -> bool:
    """True when components running side by side would hold more temp ports than exist."""
    events: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for i, a in sched.arrive.items():
        lv = sched.leave[i]
        if lv < a:
            events[problem.temp_domain(i)][lv] += 1
            events[problem.temp_domain(i)][a + 1] -= 1
    for per_wave in events.values():
        held = 0
        for w in sorted(per_wave):
            held += per_wave[w]
            if held > pool:
                return True
    return False


def _levels(problem: Problem, temps: set[int], waiters: dict[int, list[int]]) -> dict[int, int]:
    """Priority of each mover's departure: the longest run of arrivals that wait on it, plus one."""
    level: dict[int, int] = {}

    def arrival(k: int) -> int:
        return 1 if k in temps else level.get(k, 1)

    for start in problem.movers:
        if start in level:
            continue
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if node in level:
                continue
            if not expanded:
                stack.append((node, True))
                stack.extend((k, False) for k in waiters[node] if k not in temps and k not in level)
                continue
            own = 1 if node in temps else 0  # a temp holder still has its own arrival to make
            level[node] = 1 + max([arrival(k) for k in waiters[node]] + [own])
    return level


def list_schedule(problem: Problem, temps: set[int], pool: int, cap: int | None) -> Schedule:
    """Highest-level-first list scheduling of unit steps under the cap, the pool and pairs.

    Tasks are a departure to a temp port (for nodes in ``temps``) and an arrival per mover. An
    arrival waits for each blocker's departure (its arrival, or its to-temp) in an earlier wave.
    Readiness is event-driven (a count of unmet waits per arrival), so a wave costs
    O(steps in it * log n), not a scan of every mover.
    """
    temps = set(temps)  # a planned temp may turn into a direct move below
    hard = problem.options.pairs is PairMode.HARD
    group_of = {i: list(g) for g in pair_groups(problem) for i in g} if hard else {}
    waiters: dict[int, list[int]] = defaultdict(list)
    for i in problem.movers:
        for j in problem.blockers[i]:
            waiters[j].append(i)
    level = _levels(problem, temps, waiters)
    shared_of = {j: g for g, group in enumerate(problem.shared_leavers) for j in group}
    unmet = {i: len(problem.blockers[i]) + (1 if i in temps else 0) for i in problem.movers}
    ready: list[tuple[int, int, int]] = []  # heap of (-priority, 0 departure / 1 arrival, node)
    for i in problem.movers:
        if i in temps:
            heapq.heappush(ready, (-level[i], 0, i))
        if unmet[i] == 0:
            heapq.heappush(ready, (-(1 if i in temps else level[i]), 1, i))
    arrive: dict[int, int] = {}
    left: dict[int, int] = {}
    holding: dict[str, int] = defaultdict(int)  # temp ports held per pool
    wave = 0
    while len(arrive) < len(problem.movers):
        wave += 1
        room = cap if cap is not None else len(problem.movers)
        deferred: list[tuple[int, int, int]] = []
        shared_used: set[int] = set()
        taken_pool: dict[str, int] = defaultdict(int)
        departs: list[int] = []
        arrivals: list[int] = []
        chosen: set[int] = set()
        while ready and room > 0:
            task = heapq.heappop(ready)
            _, is_arrival, i = task
            if not is_arrival:
                if unmet[i] == 1 and i not in shared_of and i not in group_of:
                    # every blocker has left: go straight to the goal, no temp (not for a
                    # temp taken to leave a shared port apart or to arrive with a pair)
                    temps.discard(i)
                    unmet[i] = 0
                    heapq.heappush(ready, (-level[i], 1, i))
                    continue
                d = problem.temp_domain(i)
                if holding[d] + taken_pool[d] >= pool or shared_of.get(i, -1) in shared_used:
                    deferred.append(task)
                    continue
                taken_pool[d] += 1
                departs.append(i)
                if i in shared_of:
                    shared_used.add(shared_of[i])
                room -= 1
                continue
            if i in chosen:
                continue
            group = group_of.get(i, [i])  # hard pairs (and chains of them) arrive together
            if len(group) > room or any(unmet[k] != 0 or k in arrive for k in group):
                deferred.append(task)
                continue
            leaving = [k for k in group if k not in temps and k in shared_of]
            if any(shared_of[k] in shared_used for k in leaving):
                deferred.append(task)
                continue
            arrivals += group
            chosen.update(group)
            shared_used.update(shared_of[k] for k in leaving)
            room -= len(group)
        if not departs and not arrivals:
            raise ReorgError(
                "the wave cap, the temp pool and the pairs leave no step runnable; "
                "raise --max-per-wave or --temp-ports, or use --pairs soft"
            )
        # a partner popped after its mate was taken is already placed: drop it from the heap
        ready = [t for t in ready if not (t[1] == 1 and t[2] in chosen)] + deferred
        heapq.heapify(ready)
        freed: list[int] = []
        for i in departs:
            left[i] = wave
            holding[problem.temp_domain(i)] += 1
            freed.append(i)
            unmet[i] -= 1  # its own arrival no longer waits for the departure
            if unmet[i] == 0:
                heapq.heappush(ready, (-1, 1, i))
        for i in arrivals:
            arrive[i] = wave
            if i in temps:
                holding[problem.temp_domain(i)] -= 1  # free again from the next wave on
            else:
                left[i] = wave
                freed.append(i)
        for j in freed:
            for k in waiters[j]:
                unmet[k] -= 1
                if unmet[k] == 0:
                    heapq.heappush(ready, (-(1 if k in temps else level[k]), 1, k))
    return Schedule(arrive, {i: left[i] for i in arrive}, False)


def schedule_steps(problem: Problem, sched: Schedule) -> list[Step]:
    """Steps from a schedule, with concrete temp ports by interval colouring per pool."""
    steps: list[Step] = []
    temp_of = _assign_temp_ports(problem, sched)
    for i in problem.movers:
        g = problem.goals[i]
        a, lv = sched.arrive[i], sched.leave[i]
        if g.to_port is None:
            steps.append(Step(0, a, g.service, g.host, g.from_port, None, StepKind.RETIRE))
        elif lv < a:
            t = temp_of[i]
            steps.append(Step(0, lv, g.service, g.host, g.from_port, t, StepKind.TO_TEMP))
            steps.append(Step(0, a, g.service, g.host, t, g.to_port, StepKind.FROM_TEMP))
        else:
            steps.append(Step(0, a, g.service, g.host, g.from_port, g.to_port, StepKind.MOVE))
    return steps


def _assign_temp_ports(problem: Problem, sched: Schedule) -> dict[int, int]:
    """Lowest free pool port per holder, in order of leave wave (optimal for intervals)."""
    by_domain: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for i in problem.movers:
        lv, a = sched.leave[i], sched.arrive[i]
        if lv < a:
            by_domain[problem.temp_domain(i)].append((lv, a, i))
    out: dict[int, int] = {}
    for _, holders in sorted(by_domain.items()):
        held_until = {p: 0 for p in problem.temp_pool}  # the last wave each port is held
        for lv, a, i in sorted(holders):
            port = next((p for p in problem.temp_pool if held_until[p] < lv), None)
            if port is None:
                raise RuntimeError("temp ports over-committed: the pool constraint is broken")
            held_until[port] = a
            out[i] = port
    return out



def pack(problem: Problem, steps: Iterable[Step]) -> Schedule:
    """A sequential plan's steps packed into few waves: each unit as early as the rules allow.

    A unit is one wave of the plan (one step, or a hard pair's arrivals). Taken in the plan's
    order, each goes to the earliest wave where the wave model's rules hold: an arrival after
    every blocker has left (blockers left earlier in the plan, so their waves are known), movers
    leaving one port in distinct waves, at most ``--max-per-wave`` steps a wave, and temp ports
    as slots of the pool, each holding one binding from its to-temp wave through its from-temp
    wave (the plan never holds more than the pool, so a slot is always there). Valid whenever
    the plan is; never more waves than it. Linear in the steps (the cap may add a scan).
    """
    index = {problem.goals[i].key: i for i in problem.movers}
    cap = problem.options.max_per_wave
    shared_of = {j: g for g, group in enumerate(problem.shared_leavers) for j in group}
    units: dict[int, list[Step]] = defaultdict(list)
    for s in steps:
        units[s.wave].append(s)
    arrive: dict[int, int] = {}
    left: dict[int, int] = {}
    per_wave: dict[int, int] = defaultdict(int)  # steps placed in each wave
    shared_waves: dict[int, set[int]] = defaultdict(set)  # waves a shared port is left in
    slots: dict[str, list[list[int]]] = {}  # per pool: [free from wave, holder or -1]
    slot_of: dict[int, list[int]] = {}
    for w in sorted(units):
        unit = units[w]
        earliest = 1
        for s in unit:
            i = index[(s.service, s.host)]
            if s.kind is StepKind.TO_TEMP:
                pool = slots.setdefault(problem.temp_domain(i), [[1, -1] for _ in problem.temp_pool])
                slot = min((sl for sl in pool if sl[1] < 0), key=lambda sl: sl[0])
                slot[1] = i
                slot_of[i] = slot
                earliest = max(earliest, slot[0])
            else:
                earliest = max([earliest] + [left[j] + 1 for j in problem.blockers[i]])
                if s.kind is StepKind.FROM_TEMP:
                    earliest = max(earliest, left[i] + 1)
        leaving = [shared_of[index[(s.service, s.host)]] for s in unit
                   if s.kind is not StepKind.FROM_TEMP and index[(s.service, s.host)] in shared_of]
        wave = earliest
        while (cap is not None and per_wave[wave] + len(unit) > cap) or any(
            wave in shared_waves[g] for g in leaving
        ):
            wave += 1
        per_wave[wave] += len(unit)
        for g in leaving:
            shared_waves[g].add(wave)
        for s in unit:
            i = index[(s.service, s.host)]
            if s.kind is StepKind.TO_TEMP:
                left[i] = wave
            elif s.kind is StepKind.FROM_TEMP:
                arrive[i] = wave
                slot = slot_of.pop(i)
                slot[0], slot[1] = wave + 1, -1
            else:
                left[i] = arrive[i] = wave
    return Schedule(arrive, {i: left[i] for i in arrive}, False)
