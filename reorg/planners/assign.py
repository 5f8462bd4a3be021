"""CP-SAT port assignment for ``reorg target``: each free binding gets one port of its domain.

The caller (``reorg.targeting``) turns tables into ``Slot``s: a binding that no pin covers and
whose category has a range, with its *domain* already cut to the ports it may take (in its
category's ranges, not held by a pinned or unranged binding, not reserved for another service,
not avoided on its host). What is left for the solver:

- **hard**: one port per slot; no two slots on one (host, port) under ``--scope host``, no two
  services on one port under ``--scope global`` (a service's own bindings may share it); at most
  ``limit`` slots in each ``Capacity`` (``--spare N``);
- **objectives, in sequence** (each pinned with ``==`` when proven, ``<=`` otherwise, and each
  stage hinted with the previous solution):
  0. fewest *judged* pair mismatches (a 50xx frontend and its 30xx backend on one host whose last
     digit(s) differ: what ``reorg check`` reports), so the output passes check whenever it can;
  1. fewest changed bindings, weighted per host (``--host-weight``);
  2. most pairs whose last digit(s) match (any pair, e.g. a 51xx game frontend too);
  3. one port per service across its hosts (fewest distinct ports per service);
  4. lowest ports.

Decomposition: slots coupled by a shared port, a service, a pair or a capacity form a component;
each component is its own model (per range, in practice). Every solve goes through
``reorg.planners.sat``: deterministic time limit, one worker, fixed seed. Every status has a
branch: INFEASIBLE is returned for the caller to explain, MODEL_INVALID is a bug, UNKNOWN keeps
the previous stage's solution (or raises when there is none).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from reorg.model import ReorgError, Scope
from reorg.planners import sat
from reorg.problem import join

log = logging.getLogger("reorg.assign")

STAGES = ("judged_mismatches", "changes", "unmatched", "spread", "ports")
JUDGED_FRONT = (5000, 5099)  # check.pair_verdict: 50xx frontends ...
JUDGED_BACK = (3000, 3099)  # ... of 30xx backends


@dataclass(frozen=True)
class Slot:
    """A binding to place. ``domain``: its allowed final ports, sorted and not empty."""

    service: str
    host: str
    current: int
    domain: tuple[int, ...]
    weight: int = 1


@dataclass(frozen=True)
class PairTerm:
    """A frontend and its backend on one host; each side a slot index or a fixed port."""

    host: str
    front: int | None
    back: int | None
    front_port: int | None = None  # when ``front`` is None
    back_port: int | None = None  # when ``back`` is None


@dataclass(frozen=True)
class Capacity:
    """At most ``limit`` slots on ``host`` (None: distinct ports of the fleet) in lo..hi."""

    host: str | None
    lo: int
    hi: int
    limit: int
    label: str = ""


@dataclass(frozen=True)
class AssignInput:
    slots: tuple[Slot, ...]
    pairs: tuple[PairTerm, ...] = ()
    capacities: tuple[Capacity, ...] = ()
    scope: Scope = Scope.HOST
    pair_digits: int = 1
    time_limit: float = 10.0
    fixed_ports: dict[str, frozenset[int]] = field(default_factory=dict)  # service -> kept ports


@dataclass(frozen=True)
class ComponentResult:
    slots: tuple[int, ...]
    status: str  # "optimal", "feasible" or "infeasible"
    figures: dict[str, int]


@dataclass(frozen=True)
class Assignment:
    """``ports[i]`` for slot i (None only inside an infeasible component)."""

    ports: tuple[int | None, ...]
    components: tuple[ComponentResult, ...]

    @property
    def infeasible(self) -> tuple[ComponentResult, ...]:
        return tuple(c for c in self.components if c.status == "infeasible")

    @property
    def proven(self) -> bool:
        return all(c.status == "optimal" for c in self.components)


def components(problem: AssignInput) -> tuple[tuple[int, ...], ...]:
    """Slots coupled by a port they could share, a service, a pair or a capacity."""
    links: list[tuple[int, int]] = []
    first: dict[tuple, int] = {}
    by_service: dict[str, int] = {}
    for i, s in enumerate(problem.slots):
        if s.service in by_service:
            links.append((by_service[s.service], i))
        else:
            by_service[s.service] = i
        for p in s.domain:
            key = (s.host, p) if problem.scope is Scope.HOST else ("*", p)
            if key in first:
                links.append((first[key], i))
            else:
                first[key] = i
    for t in problem.pairs:
        if t.front is not None and t.back is not None:
            links.append((t.front, t.back))
    for cap in problem.capacities:
        inside = [
            i for i, s in enumerate(problem.slots)
            if (cap.host is None or s.host == cap.host) and s.domain[0] <= cap.hi and s.domain[-1] >= cap.lo
        ]
        links += [(inside[0], j) for j in inside[1:]]
    return join(range(len(problem.slots)), links)


def assign(problem: AssignInput) -> Assignment:
    """Solve every component; the ports per slot and each component's status and figures."""
    ports: list[int | None] = [None] * len(problem.slots)
    results = []
    for comp in components(problem):
        model = AssignModel(problem, comp)
        status, figures, chosen = model.solve()
        for i, p in chosen.items():
            ports[i] = p
        results.append(ComponentResult(comp, status, figures))
    return Assignment(tuple(ports), tuple(results))


class AssignModel:
    """One component: build variables, add constraints, solve the stages in sequence, extract."""

    def __init__(self, problem: AssignInput, slots: tuple[int, ...]):
        self.problem = problem
        self.slots = slots
        self.model = sat.CpModel()
        self.x: dict[int, dict[int, object]] = {}
        self.figures: dict[str, object] = {}
        self._build()

    # -- building ------------------------------------------------------------------------------

    def _build(self) -> None:
        m, pr = self.model, self.problem
        at: dict[tuple, list] = defaultdict(list)  # (host, port) -> literals
        for i in self.slots:
            s = pr.slots[i]
            self.x[i] = {p: m.new_bool_var(f"x[{s.service}@{s.host}={p}]") for p in s.domain}
            m.add_exactly_one(self.x[i].values())
            for p, lit in self.x[i].items():
                at[(s.host, p)].append(lit)
        # a service's ports (for spread, and global scope's one service per port)
        by_service: dict[str, list[int]] = defaultdict(list)
        for i in self.slots:
            by_service[pr.slots[i].service].append(i)
        self.uses: dict[str, dict[int, object]] = {}
        for service, members in sorted(by_service.items()):
            if len(members) == 1 and pr.scope is Scope.HOST:
                continue
            if len(members) == 1:
                self.uses[service] = dict(self.x[members[0]])
                continue
            uses: dict[int, object] = {}
            for i in members:
                for p, lit in self.x[i].items():
                    if p not in uses:
                        uses[p] = m.new_bool_var(f"uses[{service}={p}]")
                    m.add_implication(lit, uses[p])
            self.uses[service] = uses
        if pr.scope is Scope.HOST:
            for lits in at.values():
                if len(lits) > 1:
                    m.add_at_most_one(lits)
        else:
            per_port: dict[int, list] = defaultdict(list)
            for uses in self.uses.values():
                for p, lit in uses.items():
                    per_port[p].append(lit)
            for lits in per_port.values():
                if len(lits) > 1:
                    m.add_at_most_one(lits)
        self._add_capacities()
        self._add_objectives()

    def _add_capacities(self) -> None:
        pr = self.problem
        mine = set(self.slots)
        for cap in pr.capacities:
            if cap.host is not None:
                lits = [
                    lit for i in self.slots if pr.slots[i].host == cap.host
                    for p, lit in self.x[i].items() if cap.lo <= p <= cap.hi
                ]
            else:
                lits = [
                    lit for uses in self.uses.values() for p, lit in uses.items() if cap.lo <= p <= cap.hi
                ] if pr.scope is Scope.GLOBAL else [
                    lit for i in mine for p, lit in self.x[i].items() if cap.lo <= p <= cap.hi
                ]
            if len(lits) > cap.limit:
                self.model.add(sum(lits) <= cap.limit)

    def _digit(self, i: int, k: int):
        mod = 10 ** self.problem.pair_digits
        return sum(lit for p, lit in self.x[i].items() if p % mod == k)

    def _within(self, side: int | None, port: int | None, lo: int, hi: int):
        if side is None:
            return int(lo <= port <= hi)
        return sum(lit for p, lit in self.x[side].items() if lo <= p <= hi)

    def _add_objectives(self) -> None:
        m, pr = self.model, self.problem
        mod = 10 ** pr.pair_digits
        mine = set(self.slots)
        judged, matched, constant_matched = [], [], 0
        for t in pr.pairs:
            sides = [x for x in (t.front, t.back) if x is not None]
            if not sides or not set(sides) <= mine:
                continue
            name = f"{t.host}:{t.front}/{t.back}"
            match = m.new_bool_var(f"match[{name}]")
            if t.front is not None and t.back is not None:
                both = []
                for k in range(mod):
                    z = m.new_bool_var(f"digit[{name}={k}]")
                    m.add(z <= self._digit(t.front, k))
                    m.add(z <= self._digit(t.back, k))
                    both.append(z)
                m.add(match <= sum(both))
            elif t.front is not None:
                m.add(match <= self._digit(t.front, t.back_port % mod))
            else:
                m.add(match <= self._digit(t.back, t.front_port % mod))
            matched.append(match)
            mis = m.new_bool_var(f"judged_mismatch[{name}]")
            front50 = self._within(t.front, t.front_port, *JUDGED_FRONT)
            back30 = self._within(t.back, t.back_port, *JUDGED_BACK)
            m.add(mis - front50 - back30 + match >= -1)
            judged.append(mis)
        changes = []
        for i in self.slots:
            s = pr.slots[i]
            keep = self.x[i].get(s.current)
            changes.append(s.weight * (1 - keep) if keep is not None else s.weight)
        spread = []
        for service, uses in self.uses.items():
            members = [i for i in self.slots if pr.slots[i].service == service]
            fixed = pr.fixed_ports.get(service, frozenset())
            if len(members) + len(fixed) < 2:
                continue
            spread += [lit for p, lit in uses.items() if p not in fixed]
        base = {i: pr.slots[i].domain[0] for i in self.slots}
        ports = [(p - base[i]) * lit for i in self.slots for p, lit in self.x[i].items() if p != base[i]]
        self.figures = {
            "judged_mismatches": sum(judged) if judged else None,
            "changes": sum(changes) if changes else None,
            "unmatched": len(matched) - sum(matched) if matched else None,
            "spread": sum(spread) if spread else None,
            "ports": sum(ports) if ports else None,
        }
        self._matched = matched
        self._spread = spread

    # -- solving -------------------------------------------------------------------------------

    def _hint(self, chosen: dict[int, int] | None) -> None:
        self.model.clear_hints()
        if not chosen:
            return
        for i in self.slots:
            for p, lit in self.x[i].items():
                self.model.add_hint(lit, p == chosen[i])

    def solve(self) -> tuple[str, dict[str, int], dict[int, int]]:
        """Every stage in order; ("infeasible", {}, {}) when no assignment exists."""
        chosen: dict[int, int] | None = None
        proven = True
        figures: dict[str, int] = {}
        stages = [name for name in STAGES if self.figures[name] is not None] or ["feasible"]
        budget = self.problem.time_limit / len(stages)
        for name in stages:
            expr = self.figures.get(name)
            if expr is not None:
                self.model.minimize(expr)
            self._hint(chosen)
            solver = sat.new_solver(budget, log)
            status = solver.solve(self.model)
            if status in (sat.OPTIMAL, sat.FEASIBLE):
                chosen = {i: self._value(solver, i) for i in self.slots}
                if expr is None:
                    break
                value = int(round(solver.objective_value))
                figures[name] = value
                if status == sat.OPTIMAL:
                    self.model.add(expr == value)
                else:
                    proven = False
                    self.model.add(expr <= value)
            elif status == sat.INFEASIBLE:
                if chosen is not None:  # a pinned earlier figure cannot make it infeasible
                    raise RuntimeError(f"assignment stage {name} infeasible after a solution: a bug")
                return "infeasible", {}, {}
            elif status == sat.MODEL_INVALID:  # a bug in this module, not the user's input
                raise RuntimeError(f"CP-SAT assignment model invalid: {self.model.validate()}")
            else:  # UNKNOWN: the limit hit before a solution of this stage
                proven = False
                if chosen is None:
                    raise ReorgError(
                        f"no port assignment found for {len(self.slots)} binding(s) within "
                        f"{self.problem.time_limit:g} s; pass a larger --time-limit"
                    )
                break
        assert chosen is not None
        return ("optimal" if proven else "feasible"), figures, chosen

    def _value(self, solver, i: int) -> int:
        for p, lit in self.x[i].items():
            if solver.boolean_value(lit):
                return p
        raise RuntimeError("a slot without a port in a solution")  # exactly_one forbids it
