"""Derived facts of an instance: movers, who blocks whom, components, cycles, bounds, temp pool.

Planners build on a ``Problem``; the verifier deliberately does not (it replays plans from the
raw ``Instance``), so a mistake here cannot hide in both.

The *blocking graph* has an arrow A -> B when binding B currently holds the port that mover A
wants (on A's host under ``--scope host``; on any host, for another service, under
``--scope global``). A cannot arrive until B has left. Without collisions and with host scope
every node has at most one arrow in and one out, so the graph is disjoint chains and cycles.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reorg.model import Goal, Instance, PlanOptions, ReorgError, Scope


@dataclass(frozen=True)
class Conflict:
    """A reason the target cannot be reached, whatever the plan."""

    kind: str  # "same-target", "held-by-fixed", "reserved", "final-collision"
    host: str
    port: int
    services: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Problem:
    """Index-based view of an instance for planners. Index i refers to ``instance.goals[i]``."""

    instance: Instance
    options: PlanOptions
    goals: tuple[Goal, ...]
    movers: tuple[int, ...]  # indices of goals whose port changes (retirements included)
    blockers: dict[int, tuple[int, ...]]  # mover -> indices that must leave its target first
    temp_pool: tuple[int, ...]
    components: tuple[tuple[int, ...], ...]  # movers only, sorted, coupled by blocking or pairs
    pair_links: tuple[tuple[int, int], ...]  # (frontend idx, backend idx), both arriving movers
    shared_leavers: tuple[tuple[int, ...], ...]  # movers leaving one (host, port) together
    cyclic: tuple[tuple[int, ...], ...]  # non-trivial strongly connected components
    # lower_bound_waves per move count, computed once (a plan's metrics and its optimal claim ask
    # for it several times); not an init field, so dataclasses.replace starts it empty
    wave_bounds: dict[int, int] = field(init=False, default_factory=dict, compare=False, repr=False)

    @property
    def n(self) -> int:
        return len(self.movers)

    @property
    def c(self) -> int:
        return len(self.cyclic)

    def is_retire(self, i: int) -> bool:
        return self.goals[i].to_port is None

    def temp_domain(self, i: int) -> str:
        """The resource a temp port belongs to: one pool per host, or one for all hosts."""
        return self.goals[i].host if self.options.scope is Scope.HOST else "*"


def port_owner_key(scope: Scope, host: str, port: int) -> tuple[str, int]:
    return (host, port) if scope is Scope.HOST else ("*", port)


def find_conflicts(instance: Instance, scope: Scope) -> list[Conflict]:
    """Every reason the target is infeasible, sorted. Empty means a plan exists (given temps)."""
    conflicts: list[Conflict] = []
    final: dict[tuple[str, int], list[Goal]] = defaultdict(list)
    for g in instance.goals:
        if g.to_port is not None:
            final[port_owner_key(scope, g.host, g.to_port)].append(g)
    for (_, port), goals in sorted(final.items()):
        services = sorted({g.service for g in goals})
        if len(services) < 2 and len(goals) < 2:
            continue
        if scope is Scope.GLOBAL and len(services) < 2:
            continue  # a service's own bindings on several hosts never clash
        movers = [g for g in goals if g.moves]
        fixed = [g for g in goals if not g.moves]
        hosts = sorted({g.host for g in goals})
        where = hosts[0] if scope is Scope.HOST else ",".join(hosts)
        names = ", ".join(f"{g.service}@{g.host}" for g in sorted(goals))
        every = "both" if len(goals) == 2 else "all"
        if len(fixed) >= 2 and not movers:
            kind, why = "final-collision", f"{names} {every} keep port {port}"
        elif fixed:
            wants = "targets" if len(movers) == 1 else "target"
            kind, why = "held-by-fixed", (
                f"{', '.join(f'{g.service}@{g.host}' for g in sorted(movers))} {wants} port {port}, "
                f"which {', '.join(f'{g.service}@{g.host}' for g in sorted(fixed))} keeps"
            )
        else:
            kind, why = "same-target", f"{names} {every} target port {port}"
        conflicts.append(Conflict(kind, where, port, tuple(services), why))
    for r in instance.reservations:
        for g in instance.goals:
            if g.to_port != r.port or g.service == r.service:
                continue
            if scope is Scope.HOST and r.host is not None and r.host != g.host:
                continue
            conflicts.append(
                Conflict(
                    "reserved",
                    g.host,
                    r.port,
                    (g.service, r.service),
                    f"{g.service}@{g.host} ends on port {r.port}, reserved for {r.service}"
                    + (f" on {r.host}" if r.host else " on every host"),
                )
            )
    return sorted(set(conflicts), key=lambda c: (c.host, c.port, c.kind, c.services))


def temp_pool(instance: Instance, options: PlanOptions) -> tuple[int, ...]:
    """Ports of the temp range that no table and no reservation mentions on any host, and that
    no host avoids (``options.temp_avoid``: its OS's listeners and ephemeral range, hosts.csv)."""
    lo, hi = options.temp_ports
    used = {b.port for b in instance.bindings}
    used |= {g.to_port for g in instance.goals if g.to_port is not None}
    used |= {r.port for r in instance.reservations}
    return tuple(p for p in range(lo, hi + 1) if p not in used and p not in options.temp_avoid)


def build_problem(instance: Instance, options: PlanOptions) -> Problem:
    """Derive the planning view, or raise ``ReorgError`` explaining why no plan can exist."""
    conflicts = find_conflicts(instance, options.scope)
    if conflicts:
        first = conflicts[0]
        more = f" (and {len(conflicts) - 1} more; run 'reorg check')" if len(conflicts) > 1 else ""
        raise ReorgError(
            f"target is infeasible on {first.host} port {first.port}: {first.message}{more}; "
            "give one of them another port in target.csv"
        )
    goals = instance.goals
    scope = options.scope
    holders: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, g in enumerate(goals):
        holders[port_owner_key(scope, g.host, g.from_port)].append(i)
    movers = tuple(i for i, g in enumerate(goals) if g.moves)
    blockers: dict[int, tuple[int, ...]] = {}
    for i in movers:
        g = goals[i]
        if g.to_port is None:
            blockers[i] = ()
            continue
        found = holders.get(port_owner_key(scope, g.host, g.to_port), ())
        blockers[i] = tuple(j for j in found if j != i and goals[j].service != g.service)
    # "no two steps of a wave touch one (host, port)" holds in every scope: movers leaving one
    # port of one host (an initial collision) leave in distinct waves
    leaving: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i in movers:
        leaving[(goals[i].host, goals[i].from_port)].append(i)
    shared = tuple(tuple(idx) for _, idx in sorted(leaving.items()) if len(idx) >= 2)
    pair_links = _pair_links(instance, goals)
    components = _components(movers, blockers, pair_links, shared)
    cyclic = cyclic_components(movers, blockers)
    pool = temp_pool(instance, options)
    if cyclic and not pool:
        lo, hi = options.temp_ports
        sample = goals[cyclic[0][0]]
        raise ReorgError(
            f"{len(cyclic)} cycle(s) need a temp port but the pool {lo}-{hi} has none free "
            f"(first on {sample.host}, port {sample.from_port}); pass a larger --temp-ports range"
            + (" outside the hosts' ephemeral ranges (hosts.csv os)" if options.temp_avoid else "")
        )
    return Problem(
        instance=instance,
        options=options,
        goals=goals,
        movers=movers,
        blockers=blockers,
        temp_pool=pool,
        components=components,
        pair_links=pair_links,
        shared_leavers=shared,
        cyclic=cyclic,
    )


def _pair_links(instance: Instance, goals: tuple[Goal, ...]) -> tuple[tuple[int, int], ...]:
    """(frontend, backend) index pairs on one host where both move to a new port."""
    at = {(g.service, g.host): i for i, g in enumerate(goals)}
    by_service: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(goals):
        by_service[g.service].append(i)
    links = []
    for front, back in instance.pairs:
        for i in by_service.get(front, ()):
            j = at.get((back, goals[i].host))
            if j is None:
                continue
            if goals[i].moves and goals[j].moves and goals[i].to_port and goals[j].to_port:
                links.append((i, j))
    return tuple(sorted(links))


def join(nodes: Iterable[int], links: Iterable[tuple[int, int]]) -> tuple[tuple[int, ...], ...]:
    """Connected groups of ``nodes`` under ``links`` (pairs of nodes), each sorted, in order.

    Links naming a node outside ``nodes`` are ignored. Union-find with path halving.
    """
    parent = {i: i for i in nodes}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in nodes:
        groups[find(i)].append(i)
    return tuple(sorted(tuple(sorted(g)) for g in groups.values()))


def _components(
    movers: tuple[int, ...],
    blockers: dict[int, tuple[int, ...]],
    pair_links: tuple[tuple[int, int], ...],
    shared: tuple[tuple[int, ...], ...],
) -> tuple[tuple[int, ...], ...]:
    """Movers coupled by waiting, by a pair, or by leaving one port together."""
    links = [(i, j) for i in movers for j in blockers[i]]
    links += list(pair_links)
    links += [(group[0], j) for group in shared for j in group[1:]]
    return join(movers, links)


def pair_groups(problem: Problem) -> tuple[tuple[int, ...], ...]:
    """Movers joined by pairs, directly or through a shared partner (a service in two pairs):
    under hard pairs each group arrives in one wave. Groups of two or more only."""
    nodes = sorted({i for link in problem.pair_links for i in link})
    return tuple(g for g in join(nodes, problem.pair_links) if len(g) > 1)


def cyclic_components(
    movers: Iterable[int], blockers: Mapping[int, tuple[int, ...]]
) -> tuple[tuple[int, ...], ...]:
    """Non-trivial strongly connected components of the blocking graph (iterative Tarjan)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    result = []
    counter = 0
    for root in movers:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = [j for j in blockers.get(node, ()) if j in blockers]
            if pos < len(succ):
                work.append((node, pos + 1))
                nxt = succ[pos]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    result.append(tuple(sorted(comp)))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return tuple(sorted(result))


def lower_bound_moves(problem: Problem) -> int:
    """n + c: every mover moves once, and each cycle needs one extra move through a temp port."""
    return problem.n + problem.c


def lower_bound_waves(problem: Problem, moves: int | None = None) -> int:
    """The fewest waves any plan with ``moves`` moves can take (default: the fewest moves).

    For fewest-move plans: max(longest chain, longest simple cycle + 1, ceil(moves / cap), and
    the temp-port volume: each cycle holds its one temp port k + 1 waves (a simple k-cycle) or
    at least 2, and each pool has only so many ports per wave). A plan that spends extra temps
    can cut chains, so it only gets: 2 if anyone waits, and ceil(moves / cap).
    """
    if not problem.movers:
        return 0
    lb_moves = lower_bound_moves(problem)
    moves = lb_moves if moves is None else moves
    if moves not in problem.wave_bounds:
        problem.wave_bounds[moves] = _lower_bound_waves(problem, moves, lb_moves)
    return problem.wave_bounds[moves]


def _lower_bound_waves(problem: Problem, moves: int, lb_moves: int) -> int:
    cap = problem.options.max_per_wave
    by_cap = math.ceil(moves / cap) if cap else 1
    anyone_waits = any(problem.blockers[i] for i in problem.movers)
    if moves > lb_moves:
        return max(by_cap, 2 if anyone_waits else 1)
    in_cycle = {i for comp in problem.cyclic for i in comp}
    best = 2 if problem.cyclic else 1
    holds: dict[str, list[int]] = defaultdict(list)  # waves each cycle holds its temp port
    for comp in problem.cyclic:
        edges = sum(1 for i in comp for j in problem.blockers[i] if j in in_cycle)
        simple = edges == len(comp)  # one temp, then k - 1 moves, then back: k + 1 waves
        if simple:
            best = max(best, len(comp) + 1)
        holds[problem.temp_domain(comp[0])].append(len(comp) + 1 if simple else 2)
    pool = len(problem.temp_pool)
    if pool:
        for lengths in holds.values():
            best = max(best, _pool_bound(sorted(lengths, reverse=True), pool))
    depth = _acyclic_depths(problem, in_cycle)
    if depth:
        best = max(best, max(depth.values()))
    return max(best, by_cap)


def _pool_bound(holds: list[int], pool: int) -> int:
    """Waves needed to give ``pool`` temp ports to intervals of these lengths (longest first).

    The total volume needs ceil(sum / pool) waves; and the m longest intervals, each at least
    h long, fit only floor(W / h) to a port, so W >= h * ceil(m / pool).
    """
    best = math.ceil(sum(holds) / pool)
    for m, h in enumerate(holds, start=1):
        best = max(best, h * math.ceil(m / pool))
    return best


def lower_bound_waves_any(problem: Problem) -> int:
    """The fewest waves of any plan, however many temps it spends: 2 if anyone waits (a temp
    lets every waiting move go in wave 2), and ceil((n + c) / cap) since no plan has fewer moves."""
    if not problem.movers:
        return 0
    cap = problem.options.max_per_wave
    by_cap = math.ceil(lower_bound_moves(problem) / cap) if cap else 1
    waits = any(problem.blockers[i] for i in problem.movers) or bool(problem.shared_leavers)
    return max(by_cap, 2 if waits else 1)


def _acyclic_depths(problem: Problem, in_cycle: set[int]) -> dict[int, int]:
    """Longest wait chain ending at each acyclic mover: its earliest possible arrival wave.

    A cycle member may leave in wave 1 (to a temp), so it contributes a leave time of 1.
    """
    depth: dict[int, int] = {}
    for start in problem.movers:
        if start in depth or start in in_cycle:
            continue
        stack = [start]
        while stack:
            node = stack[-1]
            pending = [
                j for j in problem.blockers[node]
                if j not in in_cycle and j in problem.blockers and j not in depth
            ]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if node in depth:
                continue
            leave = [
                1 if j in in_cycle else depth.get(j, 0) for j in problem.blockers[node]
            ]
            depth[node] = 1 + max(leave, default=0)
    return depth
