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

Two formulations of the same stages: under ``--scope host`` one integer port per slot with an
all-different per host (``IntAssignModel``, hinted with a greedy keep-else-lowest-free
assignment); under ``--scope global``, where a service's own bindings may share a port that no
other service may use on any host, a Boolean per (slot, port) (``AssignModel``). Under host scope
"one port per service" counts a service's bindings not on its first (or pinned) port; under
global scope the distinct ports it uses.

Decomposition: slots coupled by a shared port, a service, a pair or a capacity form a component;
each component is its own model (per range, in practice). Every solve goes through
``reorg.planners.sat``: deterministic time limit, one worker, fixed seed. Every status has a
branch: INFEASIBLE is returned for the caller to explain, MODEL_INVALID is a bug, UNKNOWN keeps
the previous stage's solution (or raises when there is none).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from reorg.model import ReorgError, Scope
from reorg.planners import sat
from reorg.problem import join

log = logging.getLogger("reorg.assign")

Lit = Any  # a CP-SAT Boolean variable (ortools annotates its expression types only in part)
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
    """At most ``limit`` slots on ``host`` (None: distinct ports of the fleet) in lo..hi, counting
    only ports outside ``taken``: those are not free whoever ends there (held, reserved or avoided
    on the host; on the fleet: on any host), and ``limit`` already counts them."""

    host: str | None
    lo: int
    hi: int
    limit: int
    label: str = ""
    taken: frozenset[int] = frozenset()


@dataclass(frozen=True)
class AssignInput:
    slots: tuple[Slot, ...]
    pairs: tuple[PairTerm, ...] = ()
    capacities: tuple[Capacity, ...] = ()
    scope: Scope = Scope.HOST
    pair_digits: int = 1
    time_limit: float = 10.0
    fixed_ports: dict[str, frozenset[int]] = field(default_factory=dict)  # service -> kept ports


class Clock:
    """The wall-clock side of --time-limit: each solve may take its share of what is left.

    Deterministic time (the solver's own measure) decides the answer while the machine keeps
    up; on a loaded machine the wall cap stops a solve first, and the answer may then differ
    from run to run (it is never worse than the previous stage's)."""

    def __init__(self, deadline: float, budget: float):
        self.deadline = deadline
        self.left = budget  # deterministic seconds not yet handed out

    def wall_for(self, budget: float) -> float:
        share = budget / self.left if self.left > 0 else 1.0
        self.left = max(0.0, self.left - budget)
        return max(0.05, (self.deadline - time.monotonic()) * min(1.0, share))


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
    first: dict[tuple[str, int], int] = {}
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
    kind = IntAssignModel if problem.scope is Scope.HOST else AssignModel
    comps = components(problem)
    total = max(1, len(problem.slots))
    clock = Clock(time.monotonic() + problem.time_limit, problem.time_limit)
    for comp in comps:
        # --time-limit bounds the whole assignment: each component gets its share by size
        budget = max(0.05, problem.time_limit * len(comp) / total)
        model = kind(problem, comp, budget, clock)
        status, figures, chosen = model.solve()
        for i, p in chosen.items():
            ports[i] = p
        results.append(ComponentResult(comp, status, figures))
    return Assignment(tuple(ports), tuple(results))


class AssignModel:
    """One component: build variables, add constraints, solve the stages in sequence, extract."""

    def __init__(self, problem: AssignInput, slots: tuple[int, ...], time_limit: float | None = None,
                 clock: Clock | None = None):
        self.problem = problem
        self.slots = slots
        self.clock = clock
        self.time_limit = problem.time_limit if time_limit is None else time_limit
        self.model = sat.CpModel()
        self.x: dict[int, dict[int, Lit]] = {}
        self.figures: dict[str, Any] = {}  # figure -> its linear expression, or None
        self._build()

    # -- building ------------------------------------------------------------------------------

    def _build(self) -> None:
        m, pr = self.model, self.problem
        at: dict[tuple[str, int], list[Lit]] = defaultdict(list)  # (host, port) -> literals
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
        self.uses: dict[str, dict[int, Lit]] = {}
        for service, members in sorted(by_service.items()):
            if len(members) == 1 and pr.scope is Scope.HOST:
                continue
            if len(members) == 1:
                self.uses[service] = dict(self.x[members[0]])
                continue
            uses: dict[int, Lit] = {}
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
            per_port: dict[int, list[Lit]] = defaultdict(list)
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
                    for p, lit in self.x[i].items() if cap.lo <= p <= cap.hi and p not in cap.taken
                ]
            else:
                lits = [
                    lit for uses in self.uses.values() for p, lit in uses.items()
                    if cap.lo <= p <= cap.hi and p not in cap.taken
                ] if pr.scope is Scope.GLOBAL else [
                    lit for i in mine for p, lit in self.x[i].items() if cap.lo <= p <= cap.hi and p not in cap.taken
                ]
            if len(lits) > cap.limit:
                self.model.add(sum(lits) <= cap.limit)

    def _digit(self, i: int, k: int) -> Any:
        mod = 10 ** self.problem.pair_digits
        return sum(lit for p, lit in self.x[i].items() if p % mod == k)

    def _within(self, side: int | None, port: int | None, lo: int, hi: int) -> Any:
        if side is None:
            assert port is not None  # a pair side without a slot has a fixed port
            return int(lo <= port <= hi)
        return sum(lit for p, lit in self.x[side].items() if lo <= p <= hi)

    def _add_objectives(self) -> None:
        m, pr = self.model, self.problem
        mod = 10 ** pr.pair_digits
        mine = set(self.slots)
        judged, matched = [], []
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
                assert t.back is not None and t.front_port is not None  # sides is not empty
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
        self.model.clear_hints()  # type: ignore[no-untyped-call]
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
        budget = self.time_limit / len(stages)
        for name in stages:
            expr = self.figures.get(name)
            if expr is not None:
                self.model.minimize(expr)
            self._hint(chosen)
            wall = self.clock.wall_for(budget) if self.clock else None
            # the first solution is never cut short by the wall clock: only the deterministic
            # limit bounds it (a loaded machine makes the command late rather than fail)
            solver = sat.new_solver(budget, log, wall if chosen is not None else None)
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
                        f"{self.time_limit:.2g} s; pass a larger --time-limit"
                    )
                break
        assert chosen is not None
        return ("optimal" if proven else "feasible"), figures, chosen

    def _value(self, solver: sat.CpSolver, i: int) -> int:
        for p, lit in self.x[i].items():
            if solver.boolean_value(lit):
                return p
        raise RuntimeError("a slot without a port in a solution")  # exactly_one forbids it


class IntAssignModel(AssignModel):
    """The same stages with one integer port per slot, for ``--scope host``: an all-different
    per host instead of a Boolean per (slot, port), so a range of 200 ports on ten hosts stays a
    few hundred variables. Hinted with a greedy assignment (keep where possible, else the lowest
    free port), so the first stage starts from a solution."""

    def _build(self) -> None:
        m, pr = self.model, self.problem
        self.port: dict[int, object] = {}
        for i in self.slots:
            s = pr.slots[i]
            self.port[i] = m.new_int_var_from_domain(sat.Domain.from_values(s.domain), f"port[{s.service}@{s.host}]")
        on_host: dict[str, list[int]] = defaultdict(list)
        for i in self.slots:
            on_host[pr.slots[i].host].append(i)
        for members in on_host.values():
            if len(members) > 1:
                m.add_all_different([self.port[i] for i in members])
        self._in_cache: dict[tuple[int, int, int], object] = {}
        for cap in pr.capacities:
            if cap.host is None:
                continue
            terms = [self._counted(i, cap) for i in on_host.get(cap.host, [])]
            variable = [t for t in terms if not isinstance(t, int)]
            fixed = sum(t for t in terms if isinstance(t, int))
            if fixed + len(variable) > cap.limit:
                m.add(sum(variable) + fixed <= cap.limit)
        self._add_objectives()

    def _within(self, side: int | None, port: int | None, lo: int, hi: int):
        """1/0 when known, else a literal true iff the slot's port lies in lo..hi."""
        if side is None:
            return int(lo <= port <= hi)
        domain = self.problem.slots[side].domain
        inside = [p for p in domain if lo <= p <= hi]
        if not inside:
            return 0
        if len(inside) == len(domain):
            return 1
        key = (side, lo, hi)
        if key not in self._in_cache:
            lit = self.model.new_bool_var(f"in[{side}:{lo}-{hi}]")
            self.model.add_linear_expression_in_domain(self.port[side], sat.Domain(lo, hi)).only_enforce_if(lit)
            outside = sat.Domain.from_intervals([[1, lo - 1], [hi + 1, 65535]] if lo > 1 else [[hi + 1, 65535]])
            self.model.add_linear_expression_in_domain(self.port[side], outside).only_enforce_if(~lit)
            self._in_cache[key] = lit
        return self._in_cache[key]

    def _counted(self, i: int, cap: Capacity):
        """1/0 when known, else a literal true iff slot i's port counts against ``cap``."""
        inside = [p for p in self.problem.slots[i].domain if cap.lo <= p <= cap.hi and p not in cap.taken]
        if len(inside) == len(self.problem.slots[i].domain) or not inside:
            return int(bool(inside))
        lit = self.model.new_bool_var(f"counted[{i}:{cap.label}]")
        self.model.add_linear_expression_in_domain(self.port[i], sat.Domain.from_values(inside)).only_enforce_if(lit)
        rest = [p for p in self.problem.slots[i].domain if p not in set(inside)]
        self.model.add_linear_expression_in_domain(self.port[i], sat.Domain.from_values(rest)).only_enforce_if(~lit)
        return lit

    def _digit_var(self, i: int):
        mod = 10 ** self.problem.pair_digits
        d = self.model.new_int_var(0, mod - 1, f"digit[{i}]")
        self.model.add_modulo_equality(d, self.port[i], mod)
        return d

    def _add_objectives(self) -> None:
        m, pr = self.model, self.problem
        mod = 10 ** pr.pair_digits
        mine = set(self.slots)
        judged, matched = [], []
        digits: dict[int, object] = {}
        for t in pr.pairs:
            sides = [x for x in (t.front, t.back) if x is not None]
            if not sides or not set(sides) <= mine:
                continue
            for x in sides:
                if x not in digits:
                    digits[x] = self._digit_var(x)
            match = m.new_bool_var(f"match[{t.host}:{t.front}/{t.back}]")
            if t.front is not None and t.back is not None:
                m.add(digits[t.front] == digits[t.back]).only_enforce_if(match)
            elif t.front is not None:
                m.add(digits[t.front] == t.back_port % mod).only_enforce_if(match)
            else:
                m.add(digits[t.back] == t.front_port % mod).only_enforce_if(match)
            matched.append(match)
            front50 = self._within(t.front, t.front_port, *JUDGED_FRONT)
            back30 = self._within(t.back, t.back_port, *JUDGED_BACK)
            if (isinstance(front50, int) and front50 == 0) or (isinstance(back30, int) and back30 == 0):
                continue
            mis = m.new_bool_var(f"judged_mismatch[{t.host}:{t.front}/{t.back}]")
            clause = [mis, match] + [~x for x in (front50, back30) if not isinstance(x, int)]
            m.add_bool_or(clause)
            judged.append(mis)
        changes = []
        for i in self.slots:
            s = pr.slots[i]
            if s.current in s.domain:
                keep = m.new_bool_var(f"keep[{s.service}@{s.host}]")
                m.add(self.port[i] == s.current).only_enforce_if(keep)
                m.add(self.port[i] != s.current).only_enforce_if(~keep)
                changes.append(s.weight * (1 - keep))
            else:
                changes.append(s.weight)
        spread = []
        by_service: dict[str, list[int]] = defaultdict(list)
        for i in self.slots:
            by_service[pr.slots[i].service].append(i)
        for service, members in sorted(by_service.items()):
            fixed = sorted(pr.fixed_ports.get(service, frozenset()))
            reference = fixed[0] if fixed else self.port[members[0]]
            for i in (members if fixed else members[1:]):
                same = m.new_bool_var(f"same[{service}:{i}]")
                m.add(self.port[i] == reference).only_enforce_if(same)
                spread.append(1 - same)
        ports = [self.port[i] - pr.slots[i].domain[0] for i in self.slots if len(pr.slots[i].domain) > 1]
        self.figures = {
            "judged_mismatches": sum(judged) if judged else None,
            "changes": sum(changes) if changes else None,
            "unmatched": len(matched) - sum(matched) if matched else None,
            "spread": sum(spread) if spread else None,
            "ports": sum(ports) if ports else None,
        }
        if changes:
            m.add(sum(changes) >= self._changes_bound())

    def _changes_bound(self) -> int:
        """Every binding whose port is not allowed changes, and of the bindings sharing one port
        of one host all but the heaviest: a bound the greedy hint meets when pairs do not interfere."""
        pr = self.problem
        bound = 0
        at: dict[tuple[str, int], list[int]] = defaultdict(list)
        for i in self.slots:
            s = pr.slots[i]
            if s.current in s.domain:
                at[(s.host, s.current)].append(s.weight)
            else:
                bound += s.weight
        return bound + sum(sum(w) - max(w) for w in at.values())

    def _greedy(self) -> dict[int, int] | None:
        """Keep every port that can be kept, then the lowest free port: the first stage's hint."""
        pr = self.problem
        taken: set[tuple[str, int]] = set()
        chosen: dict[int, int] = {}
        for i in sorted(self.slots, key=lambda i: -pr.slots[i].weight):  # the heaviest keeps
            s = pr.slots[i]
            if s.current in s.domain and (s.host, s.current) not in taken:
                chosen[i] = s.current
                taken.add((s.host, s.current))
        for i in self.slots:
            if i in chosen:
                continue
            s = pr.slots[i]
            port = next((p for p in s.domain if (s.host, p) not in taken), None)
            if port is None:
                return None
            chosen[i] = port
            taken.add((s.host, port))
        return chosen

    def _hint(self, chosen: dict[int, int] | None) -> None:
        self.model.clear_hints()
        chosen = chosen or self._greedy()
        if chosen:
            for i in self.slots:
                self.model.add_hint(self.port[i], chosen[i])

    def _value(self, solver, i: int) -> int:
        return solver.value(self.port[i])
