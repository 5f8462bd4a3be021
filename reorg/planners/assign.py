"""CP-SAT port assignment for ``reorg target``: each free binding gets one port of its domain.

The caller (``reorg.targeting``) turns tables into ``Slot``s: a binding that no pin covers and
whose category has a range, with its *domain* already cut to the ports it may take (in its
category's ranges, not held by a pinned or unranged binding, not reserved for another service,
not avoided on its host). What is left for the solver:

- **hard**: one port per slot; no two slots on one (host, port) under ``--scope host``, no two
  services on one port under ``--scope global`` (a service's own bindings may share it); at most
  ``limit`` slots on ports not already ``taken`` in each ``Capacity`` (``--spare N``);
- **objectives, in sequence** (each pinned with ``==`` when proven, ``<=`` otherwise, and each
  stage hinted with the previous solution):
  0. fewest *judged* pair mismatches (a 50xx frontend and its 30xx backend on one host whose last
     digit(s) differ: what ``reorg check`` reports), so the output passes check whenever it can;
  1. fewest changed bindings, weighted per host (``--host-weight``);
  2. most pairs whose last digit(s) match (any pair, e.g. a 51xx game frontend too);
  3. one port per service across its hosts: fewest ports a service uses besides its pinned ones;
  4. lowest ports.

One formulation for both scopes: a Boolean per (slot, candidate port), an at-most-one per
(host, port) (``--scope host``) or per port over the services using it (``--scope global``), so
the linear relaxation is an assignment polytope and the lowest-ports stage is proven at once.

How it stays small and fast (1,000 services over 10 ranges and 10 hosts in well under a second
of solving):

- **Components.** Slots coupled by a service, a pair, a capacity or overlapping domains on one
  host (one fleet under global scope) are solved together; the others apart.
- **Keepers, analytically.** Without judged pairs, stage 1's optimum has a closed form: a slot
  whose port is not in its domain changes, and of the slots on one (host, port) all but the
  heaviest (global scope: all but the heaviest service). When a greedy assignment (keepers keep,
  the rest take the lowest free port) meets that bound and the capacities, the bound is the
  optimum, proven: every slot alone on its port keeps it in *every* optimal assignment, so it
  is fixed and leaves the model; heaviest ties stay as "exactly one of them keeps". Only the
  slots that must move (and ties) go to CP-SAT, for stages 2-4. Otherwise (judged pairs, or the
  greedy falls short) every slot goes to the model with its keep as a choice.
- **Candidate ports.** A slot gets its current port, its service's other current and pinned
  ports, and in each *class* (the port's last digit(s) when its service is in a pair, whether it
  lies in the judged 50xx/30xx spans when its service is in a judged pair, which capacities it
  counts against) the ports up to the (M+1)-th lowest port the service's slots all may take,
  with M the other slots that could compete for them (on the service's hosts; on the fleet under
  global scope). Exact, not a heuristic: in an assignment using a port p above that, all of the
  service's slots on p move together to a lower free port of the same class, which no earlier
  stage sees and the last one counts as better; so every optimum uses candidates only.

Every solve goes through ``reorg.planners.sat``: deterministic time limit, one worker, fixed
seed. Every status has a branch: INFEASIBLE is returned for the caller to explain, MODEL_INVALID
is a bug, UNKNOWN keeps the previous stage's solution (or raises when there is none).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reorg.model import ReorgError, Scope
from reorg.planners import sat
from reorg.problem import join

log = logging.getLogger("reorg.assign")

Lit = Any  # a CP-SAT Boolean variable (ortools annotates its expression types only in part)
Expr = Any  # a CP-SAT linear expression
STAGES = ("judged_mismatches", "changes", "unmatched", "spread", "ports")
JUDGED_FRONT = (5000, 5099)  # check.pair_verdict: 50xx frontends ...
JUDGED_BACK = (3000, 3099)  # ... of 30xx backends
INF = 1 << 30


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


# ---- the parts of a problem ----------------------------------------------------------------


def _key(scope: Scope, host: str) -> str:
    """Where two slots on one port collide: their host, or the fleet under global scope."""
    return host if scope is Scope.HOST else "*"


def components(problem: AssignInput, slots: Sequence[int] | None = None,
               domains: Mapping[int, Sequence[int]] | None = None) -> tuple[tuple[int, ...], ...]:
    """Slots (all, or ``slots``) coupled by a service, a pair, a capacity, or domains whose spans
    overlap on one host (on the fleet under global scope); ``domains`` replaces the slots' own."""
    pr = problem
    nodes = list(range(len(pr.slots))) if slots is None else list(slots)

    def domain(i: int) -> Sequence[int]:
        return domains[i] if domains is not None else pr.slots[i].domain

    links: list[tuple[int, int]] = []
    by_service: dict[str, int] = {}
    spans: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for i in nodes:
        s = pr.slots[i]
        if s.service in by_service:
            links.append((by_service[s.service], i))
        else:
            by_service[s.service] = i
        d = domain(i)
        if d:
            spans[_key(pr.scope, s.host)].append((d[0], d[-1], i))
    for items in spans.values():  # a sweep: overlapping spans on one host join
        items.sort()
        reach, last = -1, -1
        for lo, hi, i in items:
            if lo <= reach:
                links.append((last, i))
            else:
                last = i
            reach = max(reach, hi)
    for t in pr.pairs:
        if t.front is not None and t.back is not None:
            links.append((t.front, t.back))
    for cap in pr.capacities:
        inside = [
            i for i in nodes
            if (cap.host is None or pr.slots[i].host == cap.host) and domain(i)
            and domain(i)[0] <= cap.hi and domain(i)[-1] >= cap.lo
        ]
        links += [(inside[0], j) for j in inside[1:]]
    return join(nodes, links)


def assign(problem: AssignInput) -> Assignment:
    """Solve every component; the ports per slot and each component's status and figures."""
    ports: list[int | None] = [None] * len(problem.slots)
    results = []
    comps = components(problem)
    total = max(1, len(problem.slots))
    clock = Clock(time.monotonic() + problem.time_limit, problem.time_limit)
    for comp in comps:
        # --time-limit bounds the whole assignment: each component gets its share by size
        budget = max(0.05, problem.time_limit * len(comp) / total)
        status, figures, chosen = _solve_component(problem, comp, budget, clock)
        for i, p in chosen.items():
            ports[i] = p
        results.append(ComponentResult(comp, status, figures))
    return Assignment(tuple(ports), tuple(results))


def _judged_possible(problem: AssignInput, term: PairTerm, domains: Mapping[int, Sequence[int]]) -> bool:
    """Whether this pair could end as a 50xx frontend and a 30xx backend."""

    def can(side: int | None, port: int | None, lo: int, hi: int) -> bool:
        if side is None:
            return port is not None and lo <= port <= hi
        d = domains.get(side, problem.slots[side].domain)
        k = bisect.bisect_left(d, lo)
        return k < len(d) and d[k] <= hi

    return can(term.front, term.front_port, *JUDGED_FRONT) and can(term.back, term.back_port, *JUDGED_BACK)


def _solve_component(problem: AssignInput, comp: tuple[int, ...], budget: float,
                     clock: Clock) -> tuple[str, dict[str, int], dict[int, int]]:
    inside = set(comp)
    terms = [t for t in problem.pairs if {x for x in (t.front, t.back) if x is not None} & inside]
    domains = {i: problem.slots[i].domain for i in comp}
    if not any(_judged_possible(problem, t, domains) for t in terms):
        fast = _Keepers(problem, comp)
        if fast.greedy is not None:
            return fast.solve(budget, clock)
    model = AssignModel(problem, comp, {}, domains, budget, clock, ())
    return model.solve()


class _Keepers:
    """Stage 1 in closed form: who keeps, who must move, which ties are left (see the module)."""

    def __init__(self, problem: AssignInput, comp: tuple[int, ...]):
        pr = self.problem = problem
        self.comp = comp
        at: dict[tuple[str, int], list[int]] = defaultdict(list)  # (host|*, current) -> slots
        self.bound = 0
        sets = {i: set(pr.slots[i].domain) for i in comp}
        for i in comp:
            s = pr.slots[i]
            if s.current in sets[i]:
                at[(_key(pr.scope, s.host), s.current)].append(i)
            else:
                self.bound += s.weight
        self.fixed: dict[int, int] = {}  # slot -> its kept port (proven keepers)
        self.ties: list[tuple[int, tuple[int, ...], int]] = []  # (port, members, heaviest weight)
        for (_, port), members in sorted(at.items()):
            weight: dict[str, int] = defaultdict(int)  # per service (host scope: one slot each)
            for i in members:
                weight[pr.slots[i].service] += pr.slots[i].weight
            top = max(weight.values())
            self.bound += sum(weight.values()) - top
            heaviest = sorted(sv for sv, w in weight.items() if w == top)
            if len(heaviest) == 1:
                for i in members:
                    if pr.slots[i].service == heaviest[0]:
                        self.fixed[i] = port
            else:
                tied = tuple(i for i in members if pr.slots[i].service in heaviest)
                self.ties.append((port, tied, top))
        self.rest = tuple(i for i in comp if i not in self.fixed)
        # domains without what the keepers hold
        held: dict[str, dict[int, str]] = defaultdict(dict)  # host|* -> port -> service
        for i, port in self.fixed.items():
            held[_key(pr.scope, pr.slots[i].host)][port] = pr.slots[i].service
        self.domains: dict[int, list[int]] = {}
        for i in self.rest:
            s = pr.slots[i]
            mine = held.get(_key(pr.scope, s.host), {})
            self.domains[i] = [p for p in s.domain if mine.get(p, s.service) == s.service]
        self.greedy = self._greedy(held)

    def _greedy(self, held: dict[str, dict[int, str]]) -> dict[int, int] | None:
        """Keepers and the first of each tie keep; the rest take the lowest port free on all of
        their service's hosts, else the lowest free on their own; None when a slot finds none or
        a capacity is exceeded (then stage 1 goes to CP-SAT)."""
        pr = self.problem
        taken = {k: dict(v) for k, v in held.items()}
        chosen: dict[int, int] = dict(self.fixed)
        for port, tied, _ in self.ties:
            first = pr.slots[tied[0]].service
            for i in tied:
                if pr.slots[i].service == first:
                    chosen[i] = port
                    taken.setdefault(_key(pr.scope, pr.slots[i].host), {})[port] = first
        movers: dict[str, list[int]] = defaultdict(list)
        for i in self.rest:
            if i not in chosen:
                movers[pr.slots[i].service].append(i)

        def free(i: int, p: int) -> bool:
            s = pr.slots[i]
            return taken.get(_key(pr.scope, s.host), {}).get(p, s.service) == s.service

        sets = {i: set(self.domains[i]) for members in movers.values() for i in members}
        kept: dict[str, set[int]] = defaultdict(set)  # a service's pinned and kept ports: the best to share
        for service, ports in pr.fixed_ports.items():
            kept[service] |= ports
        for i, port in chosen.items():
            kept[pr.slots[i].service].add(port)
        for service, members in sorted(movers.items()):
            order = sorted(kept.get(service, ())) + list(self.domains[members[0]])
            common: int | None = next((p for p in order
                                       if all(free(i, p) for i in members)
                                       and all(p in sets[i] for i in members)), None)
            for i in members:
                got = common if common is not None else next((p for p in self.domains[i] if free(i, p)), None)
                if got is None:
                    return None
                chosen[i] = got
                taken.setdefault(_key(pr.scope, pr.slots[i].host), {})[got] = service
        if not _within_capacities(pr, chosen):
            return None
        return chosen

    def solve(self, budget: float, clock: Clock) -> tuple[str, dict[str, int], dict[int, int]]:
        pr = self.problem
        chosen = dict(self.fixed)
        figures: dict[str, int] = {"changes": self.bound}
        if not self.rest:
            return "optimal", figures, chosen
        # the keepers' ports are now fixed ports of their services; pairs see them as fixed
        fixed_of: dict[str, set[int]] = defaultdict(set)
        for service, kept in pr.fixed_ports.items():
            fixed_of[service] |= kept
        for i, port in self.fixed.items():
            fixed_of[pr.slots[i].service].add(port)
        terms = tuple(_refix(t, self.fixed) for t in pr.pairs)
        reduced = AssignInput(
            pr.slots, tuple(t for t in terms if t.front is not None or t.back is not None), pr.capacities,
            pr.scope, pr.pair_digits, pr.time_limit, {s: frozenset(p) for s, p in fixed_of.items()},
        )
        parts = components(reduced, self.rest, self.domains)
        status = "optimal"
        for part in parts:
            inside = set(part)
            ties = tuple(t for t in self.ties if set(t[1]) <= inside)
            greedy = self.greedy
            hint = {i: greedy[i] for i in part} if greedy is not None else None
            model = AssignModel(reduced, part, self.fixed, {i: self.domains[i] for i in part},
                                max(0.05, budget * len(part) / len(self.rest)), clock, ties, hint, closed_form=True)
            got, numbers, placed = model.solve()
            if got == "infeasible":  # the greedy assignment is a solution
                raise RuntimeError("assignment infeasible although the greedy assignment fits: a bug")
            status = "optimal" if status == "optimal" and got == "optimal" else "feasible"
            chosen.update(placed)
            for name, value in numbers.items():
                if name != "changes":
                    figures[name] = figures.get(name, 0) + value
        return status, figures, chosen


def _refix(t: PairTerm, fixed: dict[int, int]) -> PairTerm:
    """A pair term with sides that became fixed written as fixed ports."""
    front, back, fp, bp = t.front, t.back, t.front_port, t.back_port
    if t.front is not None and t.front in fixed:
        front, fp = None, fixed[t.front]
    if t.back is not None and t.back in fixed:
        back, bp = None, fixed[t.back]
    return PairTerm(t.host, front, back, fp, bp)


def _within_capacities(pr: AssignInput, chosen: dict[int, int]) -> bool:
    for cap in pr.capacities:
        if cap.host is None:
            used = {p for i, p in chosen.items() if cap.lo <= p <= cap.hi and p not in cap.taken}
            count = len(used)
        else:
            count = sum(1 for i, p in chosen.items()
                        if pr.slots[i].host == cap.host and cap.lo <= p <= cap.hi and p not in cap.taken)
        if count > cap.limit:
            return False
    return True


# ---- the CP-SAT model ------------------------------------------------------------------------


class AssignModel:
    """One component: candidate ports, variables, constraints, the stages in sequence, extract.

    ``fixed``: slots outside the model already placed (keepers); ``ties``: (port, slots, weight):
    exactly the heaviest of those slots keeps ``port`` (stage 1 solved in closed form); without
    ties and keepers the model has stage 1 (changes) itself."""

    def __init__(self, problem: AssignInput, slots: tuple[int, ...], fixed: dict[int, int],
                 domains: Mapping[int, Sequence[int]], time_limit: float, clock: Clock | None,
                 ties: tuple[tuple[int, tuple[int, ...], int], ...], hint: dict[int, int] | None = None,
                 closed_form: bool = False):
        self.problem = problem
        self.slots = slots
        self.fixed = fixed
        self.clock = clock
        self.time_limit = time_limit
        self.closed_form = closed_form  # stage 1 solved outside: no "changes" stage
        self.first_hint = hint
        self.model = sat.CpModel()
        self.x: dict[int, dict[int, Lit]] = {}
        self.figures: dict[str, Expr | None] = {}
        self.mod = 10 ** problem.pair_digits
        inside = set(slots)
        self.terms = [
            t for t in problem.pairs
            if {x for x in (t.front, t.back) if x is not None} and {x for x in (t.front, t.back) if x is not None} <= inside
        ]
        self.judged_terms = [t for t in self.terms if _judged_possible(problem, t, domains)]
        self.shared: dict[str, list[int]] = {}  # service -> the ports all its slots choose one of
        self.one_free_port: dict[str, frozenset[int]] = {}  # service -> ports exempt from "one port"
        self.candidates = self._candidates(domains)
        self._build(ties)

    # -- candidates ------------------------------------------------------------------------------

    def _candidates(self, domains: Mapping[int, Sequence[int]]) -> dict[int, list[int]]:
        pr = self.problem
        by_service: dict[str, list[int]] = defaultdict(list)
        on_key: dict[str, dict[tuple[int, int], int]] = defaultdict(lambda: defaultdict(int))  # key -> span -> slots
        for i in self.slots:
            by_service[pr.slots[i].service].append(i)
            d = domains[i]
            on_key[_key(pr.scope, pr.slots[i].host)][(d[0], d[-1])] += 1
        paired = {pr.slots[x].service for t in self.terms for x in (t.front, t.back) if x is not None}
        judged = {pr.slots[x].service for t in self.judged_terms for x in (t.front, t.back) if x is not None}
        out: dict[int, list[int]] = {}
        for service, members in by_service.items():
            hosts = {_key(pr.scope, pr.slots[i].host) for i in members}
            lo = min(domains[i][0] for i in members)
            hi = max(domains[i][-1] for i in members)
            # M: the other slots that may compete, on the service's hosts with a domain that
            # reaches into the service's
            others = sum(n for h in hosts for (a, b), n in on_key[h].items() if a <= hi and b >= lo) - len(members)
            caps = [c for c in pr.capacities if (c.host is None) == (pr.scope is Scope.GLOBAL)
                    and (c.host is None or c.host in {pr.slots[i].host for i in members})]

            def klass(p: int, caps: list[Capacity] = caps, service: str = service) -> tuple[Any, ...]:
                return (
                    p % self.mod if service in paired else None,
                    (JUDGED_FRONT[0] <= p <= JUDGED_FRONT[1], JUDGED_BACK[0] <= p <= JUDGED_BACK[1]) if service in judged else None,
                    tuple((n, p in c.taken) for n, c in enumerate(caps) if c.lo <= p <= c.hi),
                )

            common: Sequence[int] = domains[members[0]]
            for i in members[1:]:
                ds = set(domains[i])
                common = [p for p in common if p in ds]
            keep = {pr.slots[i].current for i in members} | set(pr.fixed_ports.get(service, ()))
            if service not in paired and not caps:  # one class: the lowest M+1 common ports
                limit = common[others] if len(common) > others else INF
                for i in members:
                    out[i] = [p for p in domains[i] if p <= limit or p in keep]
                if len(members) > 1 and limit < INF:
                    # a free common port exists whatever the others do, so an optimum never
                    # spreads the slots off their kept/pinned ports over two ports (one common
                    # port would use fewer, with no earlier stage worse): say so, for the LP
                    if any(p in keep for i in members for p in out[i]):
                        self.one_free_port[service] = frozenset(keep)
                    else:  # none can keep a port: all on one port, one literal per port
                        self.shared[service] = list(common[: others + 1])
                        for i in members:
                            out[i] = self.shared[service]
                continue
            seen: dict[tuple[Any, ...], int] = defaultdict(int)
            limits: dict[tuple[Any, ...], int] = {}
            for p in common:
                c = klass(p)
                seen[c] += 1
                if seen[c] == others + 1:
                    limits[c] = p
            for i in members:
                out[i] = [p for p in domains[i] if p in keep or p <= limits.get(klass(p), INF)]
        return out

    # -- building --------------------------------------------------------------------------------

    def _build(self, ties: tuple[tuple[int, tuple[int, ...], int], ...]) -> None:
        m, pr = self.model, self.problem
        at: dict[tuple[str, int], list[Lit]] = defaultdict(list)  # (host, port) -> literals
        shared: dict[str, dict[int, Lit]] = {}
        for i in self.slots:
            s = pr.slots[i]
            if s.service in self.shared:
                if s.service not in shared:
                    shared[s.service] = {p: m.new_bool_var(f"y[{s.service}={p}]") for p in self.shared[s.service]}
                    m.add_exactly_one(shared[s.service].values())
                self.x[i] = shared[s.service]
            else:
                self.x[i] = {p: m.new_bool_var(f"x[{i}={p}]") for p in self.candidates[i]}
                m.add_exactly_one(self.x[i].values())
            for p, lit in self.x[i].items():
                at[(s.host, p)].append(lit)
        by_service: dict[str, list[int]] = defaultdict(list)
        for i in self.slots:
            by_service[pr.slots[i].service].append(i)
        self.by_service = by_service
        # uses[service][port]: the service ends on port on some host (one slot: its own literal)
        self.uses: dict[str, dict[int, Lit]] = {}
        for service, members in sorted(by_service.items()):
            if len(members) == 1 or service in shared:
                self.uses[service] = dict(self.x[members[0]])
                continue
            uses: dict[int, Lit] = {}
            for i in members:
                for p, lit in self.x[i].items():
                    if p not in uses:
                        uses[p] = m.new_bool_var(f"uses[{service}={p}]")
                    m.add_implication(lit, uses[p])
            self.uses[service] = uses
            exempt = self.one_free_port.get(service)
            if exempt is not None:
                m.add_at_most_one(lit for p, lit in uses.items() if p not in exempt)
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
        for port, tied, weight in ties:  # exactly the heaviest keeps: stage 1 in closed form
            m.add(sum(pr.slots[i].weight * self.x[i][port] for i in tied) == weight)
        self._add_capacities()
        self._add_objectives()

    def _add_capacities(self) -> None:
        pr = self.problem
        for cap in pr.capacities:
            if cap.host is not None:
                if pr.scope is not Scope.HOST:
                    continue
                lits = [
                    lit for i in self.slots if pr.slots[i].host == cap.host
                    for p, lit in self.x[i].items() if cap.lo <= p <= cap.hi and p not in cap.taken
                ]
                fixed = sum(1 for i, p in self.fixed.items()
                            if pr.slots[i].host == cap.host and cap.lo <= p <= cap.hi and p not in cap.taken)
            else:
                if pr.scope is not Scope.GLOBAL:
                    continue
                kept = {p for p in self.fixed.values() if cap.lo <= p <= cap.hi and p not in cap.taken}
                lits = [lit for uses in self.uses.values() for p, lit in uses.items()
                        if cap.lo <= p <= cap.hi and p not in cap.taken and p not in kept]
                fixed = len(kept)
            if len(lits) + fixed > cap.limit:
                self.model.add(sum(lits) <= cap.limit - fixed)

    def _digit(self, i: int, k: int) -> Expr:
        return sum(lit for p, lit in self.x[i].items() if p % self.mod == k)

    def _within(self, side: int | None, port: int | None, lo: int, hi: int) -> Expr:
        if side is None:
            assert port is not None  # a pair side without a slot has a fixed port
            return int(lo <= port <= hi)
        return sum(lit for p, lit in self.x[side].items() if lo <= p <= hi)

    def _add_objectives(self) -> None:
        m, pr = self.model, self.problem
        mod = self.mod
        judged: list[Lit] = []
        matched: list[Lit] = []
        judged_ids = {id(t) for t in self.judged_terms}
        for t in self.terms:
            name = f"{t.host}:{t.front}/{t.back}"
            match = m.new_bool_var(f"match[{name}]")
            if t.front is not None and t.back is not None:
                common = {p % mod for p in self.x[t.front]} & {p % mod for p in self.x[t.back]}
                both = []
                for k in sorted(common):
                    z = m.new_bool_var(f"digit[{name}={k}]")
                    m.add(z <= self._digit(t.front, k))
                    m.add(z <= self._digit(t.back, k))
                    both.append(z)
                m.add(match <= sum(both))
            elif t.front is not None:
                assert t.back_port is not None
                m.add(match <= self._digit(t.front, t.back_port % mod))
            else:
                assert t.back is not None and t.front_port is not None  # the term has a slot
                m.add(match <= self._digit(t.back, t.front_port % mod))
            matched.append(match)
            if id(t) in judged_ids:
                mis = m.new_bool_var(f"judged_mismatch[{name}]")
                front50 = self._within(t.front, t.front_port, *JUDGED_FRONT)
                back30 = self._within(t.back, t.back_port, *JUDGED_BACK)
                m.add(mis - front50 - back30 + match >= -1)
                judged.append(mis)
        changes: list[Expr] = []
        if not self.closed_form:
            for i in self.slots:
                s = pr.slots[i]
                keep = self.x[i].get(s.current)
                changes.append(s.weight * (1 - keep) if keep is not None else s.weight)
        spread: list[Lit] = []
        for service, uses in self.uses.items():
            members = self.by_service[service]
            fixed = pr.fixed_ports.get(service, frozenset())
            if len(members) + len(fixed) < 2:
                continue
            spread += [lit for p, lit in uses.items() if p not in fixed]
        ports = [(p - min(self.x[i])) * lit for i in self.slots for p, lit in self.x[i].items() if p != min(self.x[i])]
        self.figures = {
            "judged_mismatches": sum(judged) if judged else None,
            "changes": sum(changes) if changes else None,
            "unmatched": len(matched) - sum(matched) if matched else None,
            "spread": sum(spread) if spread else None,
            "ports": sum(ports) if ports else None,
        }
        if changes:
            m.add(sum(changes) >= self._changes_bound())
        # what each later figure can reach at most: weights that make one weighted sum of the
        # last three stages exactly lexicographic (one solve instead of three)
        ports_max = sum(max(self.x[i]) - min(self.x[i]) for i in self.slots)
        spread_max = sum(min(len(self.by_service[sv]), len(self.uses[sv])) for sv in self.uses
                         if len(self.by_service[sv]) + len(pr.fixed_ports.get(sv, frozenset())) >= 2)
        self.maxima = {"unmatched": len(matched), "spread": spread_max, "ports": ports_max}

    def _changes_bound(self) -> int:
        """Every slot whose port is not a candidate changes, and of the slots (services under global
        scope) currently on one port of one host all but the heaviest."""
        pr = self.problem
        bound = 0
        at: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for i in self.slots:
            s = pr.slots[i]
            if s.current in self.x[i]:
                at[(_key(pr.scope, s.host), s.current)][s.service] += s.weight
            else:
                bound += s.weight
        return bound + sum(sum(w.values()) - max(w.values()) for w in at.values())

    # -- solving ---------------------------------------------------------------------------------

    def _greedy(self) -> dict[int, int]:
        """Keep every port that can be kept (the heaviest first), then the lowest free candidate:
        a hint for the first stage (it may break a capacity or a judged pair)."""
        pr = self.problem
        taken: dict[tuple[str, int], str] = {}
        chosen: dict[int, int] = {}

        def free(i: int, p: int) -> bool:
            s = pr.slots[i]
            return taken.get((_key(pr.scope, s.host), p), s.service) == s.service

        for i in sorted(self.slots, key=lambda i: -pr.slots[i].weight):
            s = pr.slots[i]
            if s.current in self.x[i] and free(i, s.current):
                chosen[i] = s.current
                taken[(_key(pr.scope, s.host), s.current)] = s.service
        for i in self.slots:
            if i in chosen:
                continue
            s = pr.slots[i]
            port = next((p for p in self.x[i] if free(i, p)), min(self.x[i]))
            chosen[i] = port
            taken[(_key(pr.scope, s.host), port)] = s.service
        return chosen

    def _hint(self, chosen: dict[int, int]) -> None:
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        seen: set[int] = set()
        for i in self.slots:
            if id(self.x[i]) in seen:  # a service's shared literals: its first slot's port
                continue
            seen.add(id(self.x[i]))
            lit = self.x[i].get(chosen[i])
            if lit is not None:
                self.model.add_hint(lit, True)

    def solve(self) -> tuple[str, dict[str, int], dict[int, int]]:
        """Every stage in order; ("infeasible", {}, {}) when no assignment exists."""
        chosen: dict[int, int] | None = None
        proven = True
        figures: dict[str, int] = {}
        tail = [name for name in STAGES[2:] if self.figures[name] is not None]
        stages = [name for name in STAGES[:2] if self.figures[name] is not None] + (["tail"] if tail else [])
        stages = stages or ["feasible"]
        weights: dict[str, int] = {}
        scale = 1
        for name in reversed(tail):  # ports weigh 1, spread more than all ports, ...
            weights[name] = scale
            scale *= self.maxima[name] + 1
        parts: dict[str, Expr] = {n: self.figures[n] for n in tail}
        self.figures["tail"] = sum(weights[n] * parts[n] for n in tail) if tail else None
        budget = self.time_limit / len(stages)
        for name in stages:
            expr = self.figures.get(name)
            if expr is not None:
                self.model.minimize(expr)
            self._hint(chosen or self.first_hint or self._greedy())
            wall = self.clock.wall_for(budget) if self.clock else None
            # the first solution is never cut short by the wall clock: only the deterministic
            # limit bounds it (a loaded machine makes the command late rather than fail)
            solver = sat.new_solver(budget, log, wall if chosen is not None else None)
            # level 2 puts the "a slot on p -> its service uses p" implications into the linear
            # relaxation: the spread and ports stages are then proven at once (level 1 leaves
            # their bound near 0 and searches for seconds)
            solver.parameters.linearization_level = 2
            status = solver.solve(self.model)
            if status in (sat.OPTIMAL, sat.FEASIBLE):
                chosen = {i: self._value(solver, i) for i in self.slots}
                if expr is None:
                    break
                value = int(round(solver.objective_value))
                if name == "tail":
                    figures.update({n: int(solver.value(parts[n])) for n in tail})
                else:
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

    def _value(self, solver: Any, i: int) -> int:
        for p, lit in self.x[i].items():
            if solver.boolean_value(lit):
                return p
        raise RuntimeError("a slot without a port in a solution")  # exactly_one forbids it

