"""The verifier's own lower bounds, rebuilt from the raw goals (never from ``reorg.problem``).

Part of the independent verifier: it imports only ``reorg.model``, so a mistake in
``reorg.problem`` cannot hide in both. ``reorg.verify`` checks every plan's claimed bounds
against these.
"""

from __future__ import annotations

import math
from collections import defaultdict

from reorg.model import Instance, Scope

# ---- lower bounds, from the raw goals -------------------------------------------------------


def lower_bounds(
    instance: Instance,
    scope: Scope,
    moves: int,
    cap: int | None = None,
    temp_ports: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """(n + c, the fewest waves of a plan with ``moves`` moves), from the goals alone.

    The blocking graph: mover A -> binding B when B currently holds A's goal port (on A's host
    under host scope; on any host, for another service, under global scope). It is built with a
    hub node per group of holders, so a port that one service holds on many hosts costs one
    node, not a quadratic fan of arrows. No hub closes a cycle on a single binding, so an SCC
    is non-trivial when it holds at least two bindings.

    Waves, for ``moves == n + c``: max(longest wait chain, where a cycle member may leave in
    wave 1; longest simple cycle + 1; 2 if any cycle; ceil(moves / cap); 1; and, given the
    ``temp_ports`` range, the temp-port volume: each cycle's one temp is held k + 1 waves (a
    k-cycle) or at least 2, and a pool of P free ports holds at most P per wave). With more moves,
    temps can cut chains: max(2 if anyone waits else 1, ceil(moves / cap)). 0 with no mover.
    """
    goals = instance.goals
    size = len(goals)
    is_global = scope is Scope.GLOBAL
    movers = [i for i, g in enumerate(goals) if g.moves]
    if not movers:
        return 0, 0

    hub_of: dict[tuple[object, object], int] = {}
    members: list[list[int]] = []
    services_at: dict[int, list[str]] = defaultdict(list)
    for i, g in enumerate(goals):
        group = (g.from_port, g.service) if is_global else (g.host, g.from_port)
        if group not in hub_of:
            hub_of[group] = size + len(members)
            members.append([])
            if is_global:
                services_at[g.from_port].append(g.service)
        members[hub_of[group] - size].append(i)
    succ: list[list[int]] = [[] for _ in range(size)] + members
    for i in movers:
        g = goals[i]
        if g.to_port is None:
            continue
        if is_global:
            others = [s for s in services_at.get(g.to_port, ()) if s != g.service]
            succ[i] = [hub_of[(g.to_port, s)] for s in others]
        elif (g.host, g.to_port) in hub_of:
            succ[i] = [hub_of[(g.host, g.to_port)]]

    comp, comps = _strong_components(succ)
    bindings_in = [0] * len(comps)
    for i in range(size):
        bindings_in[comp[i]] += 1
    cyclic = [count >= 2 for count in bindings_in]
    c = sum(cyclic)
    lb_moves = len(movers) + c
    by_cap = math.ceil(moves / cap) if cap else 1
    if moves > lb_moves:
        waits = any(succ[i] for i in movers)
        return lb_moves, max(2 if waits else 1, by_cap)

    # A simple cycle is an SCC with as many arrows between its bindings as bindings.
    arrows = [0] * len(comps)
    for i in movers:
        k = comp[i]
        if cyclic[k]:
            arrows[k] += sum(1 for h in succ[i] if comp[h] == k for j in succ[h] if comp[j] == k)
    best = 2 if c else 1
    for k, count in enumerate(bindings_in):
        if cyclic[k] and arrows[k] == count:
            best = max(best, count + 1)
    if temp_ports is not None and c:
        named = {b.port for b in instance.bindings} | {r.port for r in instance.reservations}
        named |= {g.to_port for g in goals if g.to_port is not None}
        pool = sum(1 for p in range(temp_ports[0], temp_ports[1] + 1) if p not in named)
        holds: dict[str, list[int]] = defaultdict(list)
        for k, count in enumerate(bindings_in):
            if cyclic[k]:
                first = min(v for v in comps[k] if v < size)
                holds["*" if is_global else goals[first].host].append(count + 1 if arrows[k] == count else 2)
        for lengths in holds.values() if pool else ():
            # the volume, and: the j longest holds (each >= h waves) fit floor(W / h) per port
            best = max(best, -(-sum(lengths) // pool))
            for j, h in enumerate(sorted(lengths, reverse=True), start=1):
                best = max(best, h * -(-j // pool))

    # Longest wait chain. Components come out sources first, so walk them backwards and every
    # successor is known. leave[binding] = the earliest wave it can leave its port (0 = never);
    # leave[hub] = the latest leave among its holders.
    moving = set(movers)
    leave = [0] * len(succ)
    for k in reversed(range(len(comps))):
        nodes = comps[k]
        if cyclic[k]:
            for v in nodes:
                if v < size:
                    leave[v] = 1  # a cycle member may step aside to a temp port in wave 1
        for v in nodes:
            if v >= size:
                leave[v] = max(leave[j] for j in succ[v])
        if not cyclic[k]:
            for v in nodes:
                if v in moving:
                    leave[v] = 1 + max((leave[h] for h in succ[v]), default=0)
                    best = max(best, leave[v])
    return lb_moves, max(best, by_cap)


def _strong_components(succ: list[list[int]]) -> tuple[list[int], list[list[int]]]:
    """Kosaraju, iteratively: the component of each node, and the components sources first."""
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
        nodes = [root]
        todo = [root]
        while todo:
            for w in pred[todo.pop()]:
                if comp[w] == -1:
                    comp[w] = k
                    nodes.append(w)
                    todo.append(w)
        comps.append(nodes)
    return comp, comps
