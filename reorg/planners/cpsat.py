"""CP-SAT strategy: fewest moves, then fewest waves, then fewest split pairs (or waves first).

The only module that imports ortools. How it uses the problem's structure:

1. **Decompose.** Movers split into components that nothing couples except the wave cap and
   the temp pool (``Problem.components``). Each component gets its own small model.
2. **Solve each shape once.** A component that is a plain chain or a plain cycle is solved once
   per shape (kind, length, pool) and the schedule is reused for every component of that shape;
   the 10k-binding fleets are mostly such shapes.
3. **Model** (``WaveModel``): per binding an arrival wave, a leave wave and a temp literal.
   A temp means ``leave < arrive`` (to-temp, then from-temp); otherwise they are equal. A mover
   arrives strictly after every binding on its goal port has left. Bindings leaving one port
   leave in distinct waves; temp ports are a cumulative resource per pool; the wave cap is a
   cumulative over unit steps; hard pairs arrive together. Wave variables are integer positions,
   not a time-indexed grid (THEORY.md: that does not prove optimality at 100 bindings).
4. **Objectives in sequence**, each stage hinted with the previous solution and pinned with
   ``==`` only when proven, ``<=`` otherwise; the analytic lower bounds go in as constraints so
   the solver can stop as soon as it meets them.
5. **Combine.** Without a cap, components run side by side from wave 1. With a cap (or when the
   components' temp needs overflow the pool) a highest-level-first list schedule (Hu 1961,
   optimal for chains) merges them, and a joint CP-SAT model hinted with it closes any gap on
   instances small enough to solve whole.

Every solve has a deterministic time limit, one worker and a fixed seed, so the same input gives
the same plan. The solver log goes to the ``reorg.cpsat`` logger through a callback.
"""

from __future__ import annotations

import heapq
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Callable

from ortools.sat.python import cp_model

from reorg.model import Objective, PairMode, Plan, ReorgError, Step, StepKind
from reorg.planners import make_plan
from reorg.problem import (
    Problem,
    cyclic_components,
    lower_bound_moves,
    lower_bound_waves,
    lower_bound_waves_any,
    pair_groups,
)

log = logging.getLogger("reorg.cpsat")

JOINT_LIMIT = 4000  # movers up to which a capped or pool-bound instance is also solved whole
SEED = 20260408

Progress = Callable[[str], None]


@dataclass
class Sub:
    """A part of the problem handed to one model: nodes are problem indices."""

    nodes: tuple[int, ...]
    blockers: dict[int, tuple[int, ...]]
    retire: frozenset[int]
    pairs: tuple[tuple[int, int], ...]
    shared: tuple[tuple[int, ...], ...]
    domain: dict[int, str]
    pool: int  # free temp ports per domain
    cap: int | None = None
    names: dict[int, str] = field(default_factory=dict)


@dataclass
class Schedule:
    """Arrival and leave waves per node; ``leave < arrive`` marks a temp."""

    arrive: dict[int, int]
    leave: dict[int, int]
    proven: bool

    @property
    def temps(self) -> int:
        return sum(1 for i in self.arrive if self.leave[i] < self.arrive[i])

    @property
    def waves(self) -> int:
        return max(self.arrive.values(), default=0)


class Infeasible(Exception):
    """The model has no solution; ``rules`` names the business rules in conflict."""

    def __init__(self, rules: list[str]):
        super().__init__(", ".join(rules))
        self.rules = rules


class WaveModel:
    """Build variables, add constraints, solve objectives in sequence, extract a Schedule."""

    def __init__(self, sub: Sub, horizon: int, time_limit: float, enforce: bool = False):
        self.sub = sub
        self.horizon = max(1, horizon)
        self.time_limit = time_limit
        self.model = cp_model.CpModel()
        self.rules: dict[str, cp_model.IntVar] = {}  # enforcement literals, when explaining
        self.enforce = enforce
        self._build_variables()
        self._add_constraints()

    # -- building ------------------------------------------------------------------------------

    def _name(self, i: int) -> str:
        return self.sub.names.get(i, str(i))

    def _rule(self, constraint, name: str) -> None:
        """Tie a business rule to an enforcement literal, only when explaining infeasibility."""
        if not self.enforce:
            return
        if name not in self.rules:
            self.rules[name] = self.model.new_bool_var(f"rule[{name}]")
        constraint.only_enforce_if(self.rules[name])

    def _build_variables(self) -> None:
        m, sub, h = self.model, self.sub, self.horizon
        self.arrive = {i: m.new_int_var(1, h, f"arrive[{self._name(i)}]") for i in sub.nodes}
        self.temp: dict[int, cp_model.IntVar] = {}
        self.leave: dict[int, cp_model.IntVar] = {}
        for i in sub.nodes:
            if i in sub.retire or sub.pool == 0:
                self.leave[i] = self.arrive[i]
                continue
            self.temp[i] = m.new_bool_var(f"temp[{self._name(i)}]")
            self.leave[i] = m.new_int_var(1, h, f"leave[{self._name(i)}]")
        self.waves = m.new_int_var(1, h, "waves")
        self.split = {
            (a, b): m.new_bool_var(f"split[{self._name(a)}/{self._name(b)}]") for a, b in sub.pairs
        }

    def _add_constraints(self) -> None:
        m, sub = self.model, self.sub
        for i, t in self.temp.items():
            m.add(self.leave[i] + 1 <= self.arrive[i]).only_enforce_if(t)
            m.add(self.leave[i] == self.arrive[i]).only_enforce_if(~t)
        for i in sub.nodes:
            m.add(self.waves >= self.arrive[i])
            for j in sub.blockers[i]:
                m.add(self.arrive[i] >= self.leave[j] + 1)
        for group in sub.shared:
            m.add_all_different([self.leave[j] for j in group])
        for a, b in sub.pairs:
            m.add(self.arrive[a] == self.arrive[b]).only_enforce_if(~self.split[(a, b)])
        self._add_temp_pool()
        self._add_cap()

    def _add_temp_pool(self) -> None:
        """Temp ports per domain: a temp is held from its leave wave through its arrival wave."""
        by_domain: dict[str, list[int]] = defaultdict(list)
        for i in self.temp:
            by_domain[self.sub.domain[i]].append(i)
        for domain, nodes in sorted(by_domain.items()):
            if len(nodes) <= self.sub.pool:
                continue
            m = self.model
            intervals = []
            for i in nodes:
                size = m.new_int_var(1, self.horizon, f"held[{self._name(i)}]")
                m.add(size == self.arrive[i] + 1 - self.leave[i]).only_enforce_if(self.temp[i])
                intervals.append(
                    m.new_optional_interval_var(
                        self.leave[i], size, self.arrive[i] + 1, self.temp[i],
                        f"temp_port[{self._name(i)}]",
                    )
                )
            self._rule(
                m.add_cumulative(intervals, [1] * len(intervals), self.sub.pool),
                f"temp pool on {domain} ({self.sub.pool} free ports)",
            )

    def _add_cap(self) -> None:
        cap = self.sub.cap
        if cap is None or len(self.sub.nodes) <= cap:
            return
        m = self.model
        steps = [m.new_fixed_size_interval_var(self.arrive[i], 1, f"step[{self._name(i)}]") for i in self.sub.nodes]
        for i, t in self.temp.items():
            steps.append(
                m.new_optional_fixed_size_interval_var(self.leave[i], 1, t, f"to_temp[{self._name(i)}]")
            )
        self._rule(m.add_cumulative(steps, [1] * len(steps), cap), f"--max-per-wave {cap}")

    def add_hard_pairs(self) -> None:
        for a, b in self.sub.pairs:
            self._rule(
                self.model.add(self.split[(a, b)] == 0),
                f"pair {self._name(a)} + {self._name(b)} arrive in one wave",
            )

    # -- solving -------------------------------------------------------------------------------

    def _solver(self) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = 1
        p.random_seed = SEED
        p.max_deterministic_time = self.time_limit
        p.max_time_in_seconds = 4 * self.time_limit + 5  # a wall-clock guard only
        p.log_search_progress = log.isEnabledFor(logging.DEBUG)
        p.log_to_stdout = False
        solver.log_callback = log.debug
        return solver

    def _hint(self, sched: Schedule | None) -> None:
        self.model.clear_hints()
        if sched is None:
            return
        for i in self.sub.nodes:
            a, lv = sched.arrive[i], sched.leave[i]
            self.model.add_hint(self.arrive[i], a)
            if i in self.temp:
                self.model.add_hint(self.temp[i], lv < a)
                self.model.add_hint(self.leave[i], lv)
        self.model.add_hint(self.waves, sched.waves)
        for (a, b), s in self.split.items():
            self.model.add_hint(s, sched.arrive[a] != sched.arrive[b])

    def _stage(self, name: str, objective, lower: int, hint: Schedule | None) -> tuple[Schedule, bool, int]:
        """Minimise figure ``name`` (>= ``lower``); return the schedule, proof, and value."""
        m = self.model
        m.add(objective >= lower)
        m.minimize(objective)
        self._hint(hint)
        solver = self._solver()
        status = solver.solve(m)
        if status == cp_model.OPTIMAL or status == cp_model.FEASIBLE:
            value = int(round(solver.objective_value))
            return self._extract(solver, status == cp_model.OPTIMAL), status == cp_model.OPTIMAL, value
        if status == cp_model.INFEASIBLE:
            raise Infeasible([])
        if status == cp_model.MODEL_INVALID:  # a bug in this module, not the user's input
            raise RuntimeError(f"CP-SAT model invalid: {m.validate()}")
        if hint is not None:  # UNKNOWN: the limit hit before any solution; keep the hint
            return hint, False, self._figure(name, hint)
        raise TimeoutError("CP-SAT found no solution within the time limit")

    def _figure(self, name: str, sched: Schedule) -> int:
        if name == "waves":
            return sched.waves
        if name == "temps":
            return sched.temps
        return sum(1 for a, b in self.split if sched.arrive[a] != sched.arrive[b])

    def _extract(self, solver: cp_model.CpSolver, proven: bool) -> Schedule:
        arrive = {i: solver.value(self.arrive[i]) for i in self.sub.nodes}
        leave = {i: solver.value(self.leave[i]) for i in self.sub.nodes}
        return Schedule(arrive, leave, proven)

    def solve(
        self,
        stages: list[str],
        pairs: PairMode,
        hint: Schedule | None,
        lower: dict[str, int],
        wave_budget: int | None = None,
    ) -> Schedule:
        """Minimise the named figures in sequence ("temps", "waves", "splits")."""
        if pairs is PairMode.HARD:
            self.add_hard_pairs()
        if wave_budget is not None:
            self.model.add(self.waves <= wave_budget)
        figures = {
            "temps": sum(self.temp.values()) if self.temp else None,
            "waves": self.waves,
            "splits": sum(self.split.values()) if self.split else None,
        }
        proven = True
        best = hint
        extra_temps = False
        for name in stages:
            expr = figures[name]
            if expr is None:
                continue
            floor = lower.get(name, 0)
            if name == "waves" and extra_temps:
                floor = lower.get("waves_any", 1)  # more temps than cycles can cut any chain
            best, ok, value = self._stage(name, expr, floor, best)
            if name == "temps":
                extra_temps = value > lower.get("temps", 0)
            proven &= ok
            if ok:
                self.model.add(expr == value)
            else:
                self.model.add(expr <= value)
        if best is None:  # nothing to optimise: any feasible schedule will do
            best, ok, _ = self._stage("waves", self.waves, lower.get("waves", 1), None)
            proven &= ok
        best.proven = proven
        return best

    def explain(self, pairs: PairMode) -> list[str]:
        """Names of rules that together make the model infeasible (assumption core)."""
        if pairs is PairMode.HARD:
            self.add_hard_pairs()
        self.model.add_assumptions(list(self.rules.values()))
        solver = self._solver()
        status = solver.solve(self.model)
        if status != cp_model.INFEASIBLE:
            return []
        core = set(solver.sufficient_assumptions_for_infeasibility())
        return sorted(name for name, lit in self.rules.items() if lit.index in core)



# ---- the strategy --------------------------------------------------------------------------


def plan_cpsat(
    problem: Problem,
    progress: Progress | None = None,
    wave_budget: int | None = None,
    greedy: Plan | None = None,
) -> Plan:
    """The default strategy. Raises ReorgError when no plan exists, naming the rules in conflict.

    ``wave_budget`` asks for the fewest moves with at most that many waves per component (the
    points of the moves-versus-waves front); ``greedy`` passes a greedy plan already made.
    """
    say = progress or (lambda _msg: None)
    opts = problem.options
    if not problem.movers:
        return make_plan(problem, "cpsat", [], proven_optimal=True)
    greedy = greedy or _greedy_or_none(problem)
    hints = _hints_from_steps(problem, greedy.steps) if greedy else {}
    build = _SubBuilder(problem)
    comps = problem.components
    if wave_budget is not None:
        first = ["temps", "waves"]
    elif opts.objective is Objective.MOVES:
        first = ["temps", "waves"]
    else:
        first = ["waves", "temps"]
    say(f"cpsat: {len(comps)} component(s) of {problem.n} moving binding(s)")
    # 1. each component alone: fewest temps then waves (or waves then temps)
    cache: dict[tuple, tuple[tuple[int, ...], Schedule]] = {}
    schedules: dict[tuple[int, ...], Schedule] = {}
    for k, comp in enumerate(comps, start=1):
        hint = _compress(comp, hints)
        if wave_budget is not None and hint is not None and hint.waves > wave_budget:
            hint = None
        schedules[comp] = _solve_component(build(comp), problem, first, hint, wave_budget, cache)
        if k % 500 == 0:
            say(f"cpsat: {k}/{len(comps)} components, {len(cache)} distinct shapes")
    # 2. the slowest component sets the waves; the others may use that slack for the later
    #    objectives: fewer temps when waves come first, fewer split pairs with --pairs soft
    budget = max(s.waves for s in schedules.values())
    for comp in comps:
        sub = build(comp)
        waves_first = opts.objective is Objective.WAVES and wave_budget is None
        if waves_first or (opts.pairs is PairMode.SOFT and sub.pairs):
            schedules[comp] = _solve_component(
                sub, problem, ["temps", "splits"], schedules[comp], budget, cache
            )
    merged = Schedule({}, {}, all(s.proven for s in schedules.values()))
    for s in schedules.values():
        merged.arrive.update(s.arrive)
        merged.leave.update(s.leave)
    # 3. the wave cap and a shared temp pool couple the components
    notes: list[str] = []
    pool = len(problem.temp_pool)
    coupled = opts.max_per_wave is not None or _pool_overflows(problem, merged, pool)
    moves_first = None
    if wave_budget is None and opts.objective is Objective.WAVES and coupled:
        # when the cap or the pool couples components, extra temps also cost wave slots and
        # temp ports, so the fewest-moves plan may well be the faster one
        moves_opts = replace(opts, objective=Objective.MOVES)
        moves_first = plan_cpsat(replace(problem, options=moves_opts), None, greedy=greedy)
    if coupled:
        say("cpsat: merging components under the wave cap and the temp pool")
        alt = None
        if moves_first is not None:
            h = _hints_from_steps(problem, moves_first.steps)
            alt = Schedule({i: a for i, (_, a) in h.items()}, {i: lv for i, (lv, _) in h.items()}, False)
        try:
            merged = _merge(problem, merged, build, notes, say, alt)
        except ReorgError:
            fallback = moves_first or greedy
            if fallback is None:
                raise
            note = "CP-SAT found no joint schedule; this is its fewest-moves plan" \
                if moves_first else "CP-SAT found no joint schedule; this is the greedy plan"
            return make_plan(problem, "cpsat", fallback.steps, notes=(note,))
    plan = make_plan(problem, "cpsat", _steps(problem, merged), merged.proven, tuple(notes))
    if wave_budget is not None:
        return plan
    if moves_first is not None:
        if _worse(plan, moves_first, Objective.WAVES):
            plan = make_plan(problem, "cpsat", moves_first.steps, notes=plan.notes)
    if greedy is not None and _worse(plan, greedy, opts.objective):
        note = "CP-SAT did not beat the greedy plan within the time limit; this is the greedy plan"
        return make_plan(problem, "cpsat", greedy.steps, notes=(note,))
    return plan


class _SubBuilder:
    """Cuts the problem into ``Sub`` parts: one per component, or all movers for the joint model."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.pool = len(problem.temp_pool)
        self.pair_of: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for a, b in problem.pair_links:
            self.pair_of[a].append((a, b))
        self.shared_of: dict[int, list[tuple[int, ...]]] = defaultdict(list)
        for group in problem.shared_leavers:
            self.shared_of[group[0]].append(group)

    def __call__(self, comp: tuple[int, ...], cap: int | None = None) -> Sub:
        p = self.problem
        nodes = set(comp)
        return Sub(
            nodes=comp,
            blockers={i: p.blockers[i] for i in comp},
            retire=frozenset(i for i in comp if p.is_retire(i)),
            pairs=tuple(pr for i in comp for pr in self.pair_of.get(i, ()) if pr[1] in nodes),
            shared=tuple(g for i in comp for g in self.shared_of.get(i, ()) if set(g) <= nodes),
            domain={i: p.temp_domain(i) for i in comp},
            pool=self.pool,
            cap=cap,
            names={i: f"{p.goals[i].service}@{p.goals[i].host}" for i in comp},
        )


def _greedy_or_none(problem: Problem) -> Plan | None:
    """The greedy plan, used as the hint and the fallback; None when greedy finds none."""
    from reorg.planners.greedy import plan_greedy

    try:
        return plan_greedy(problem)
    except ReorgError:
        return None


def _worse(plan: Plan, other: Plan, objective: Objective) -> bool:
    a, b = plan.metrics, other.metrics
    if objective is Objective.MOVES:
        return (a.moves, a.waves, a.pairs_split) > (b.moves, b.waves, b.pairs_split)
    return (a.waves, a.moves, a.pairs_split) > (b.waves, b.moves, b.pairs_split)


def _hints_from_steps(problem: Problem, steps) -> dict[int, tuple[int, int]]:
    """(leave, arrive) waves per mover, read from a plan's steps."""
    index = {problem.goals[i].key: i for i in problem.movers}
    leave: dict[int, int] = {}
    arrive: dict[int, int] = {}
    for s in steps:
        i = index[(s.service, s.host)]
        if s.kind is StepKind.TO_TEMP:
            leave[i] = s.wave
        else:
            arrive[i] = s.wave
    return {i: (leave.get(i, a), a) for i, a in arrive.items()}


def _compress(comp: tuple[int, ...], hints: dict[int, tuple[int, int]]) -> Schedule | None:
    """A plan restricted to one component, its waves renumbered 1..k (order is kept)."""
    if any(i not in hints for i in comp):
        return None
    used = sorted({w for i in comp for w in hints[i]})
    rank = {w: r for r, w in enumerate(used, start=1)}
    return Schedule({i: rank[hints[i][1]] for i in comp}, {i: rank[hints[i][0]] for i in comp}, False)


def _shape(sub: Sub) -> tuple[tuple, tuple[int, ...]] | None:
    """A plain chain or cycle: (key, nodes in canonical order); None for anything else."""
    if sub.pairs or sub.shared or any(len(sub.blockers[i]) > 1 for i in sub.nodes):
        return None
    waiter: dict[int, int] = {}
    for i in sub.nodes:
        for j in sub.blockers[i]:
            if j in waiter:
                return None
            waiter[j] = i
    heads = [i for i in sub.nodes if not sub.blockers[i]]
    order: list[int] = []
    if len(heads) == 1:  # chain: from the free end; each next one wants the port just vacated
        node: int | None = heads[0]
        while node is not None:
            order.append(node)
            node = waiter.get(node)
        key: tuple = ("chain", len(order), heads[0] in sub.retire)
    elif not heads:  # cycle: from the smallest index, following blockers
        node = sub.nodes[0]
        seen: set[int] = set()
        while node not in seen:
            seen.add(node)
            order.append(node)
            node = sub.blockers[node][0]
        key = ("cycle", len(order))
    else:
        return None
    if len(order) != len(sub.nodes):
        return None
    return key, tuple(order)


def _solve_component(
    sub: Sub,
    problem: Problem,
    stages: list[str],
    hint: Schedule | None,
    budget: int | None,
    cache: dict,
) -> Schedule:
    """Solve one component, or reuse the schedule of an earlier component of the same shape."""
    opts = problem.options
    shape = _shape(sub)
    key = None
    if shape is not None:
        key = shape[0] + (sub.pool, tuple(stages), budget)
        if key in cache:
            rep_order, rep = cache[key]
            pos = dict(zip(shape[1], rep_order))
            return Schedule(
                {i: rep.arrive[pos[i]] for i in sub.nodes},
                {i: rep.leave[pos[i]] for i in sub.nodes},
                rep.proven,
            )
        hint = None  # a hint from another component would not match this one's indices
    cycles = len(cyclic_components(sub.nodes, sub.blockers))
    waits = any(sub.blockers[i] for i in sub.nodes) or bool(sub.shared)
    lower = {"temps": cycles, "waves_any": 2 if waits else 1}
    if budget is None and stages[0] == "temps":
        lower["waves"] = _chain_bound(sub, cycles)  # valid while temps stay at one per cycle
    else:
        lower["waves"] = lower["waves_any"]
    horizon = budget or max(hint.waves if hint else 2 * len(sub.nodes) + 2, lower.get("waves", 1))
    wm = WaveModel(sub, horizon, opts.time_limit)
    try:
        sched = wm.solve(stages, opts.pairs, hint, lower, budget)
    except Infeasible:
        raise _explain(sub, problem) from None
    except TimeoutError:
        raise ReorgError(
            f"CP-SAT found no plan for {_describe(sub)} within --time-limit {opts.time_limit}; "
            "raise --time-limit or use --strategy greedy"
        ) from None
    if key is not None:
        cache[key] = (shape[1], sched)
    return sched


def _chain_bound(sub: Sub, cycles: int) -> int:
    """Waves bound of one component for fewest-move plans: its longest wait chain (2 with a cycle)."""
    if cycles:
        return 2
    depth: dict[int, int] = {}
    for start in sub.nodes:
        stack = [start]
        while stack:
            node = stack[-1]
            pending = [j for j in sub.blockers[node] if j not in depth]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            depth[node] = 1 + max((depth[j] for j in sub.blockers[node]), default=0)
    return max(depth.values(), default=1)


def _describe(sub: Sub) -> str:
    names = sorted(sub.names.values())
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more


def _explain(sub: Sub, problem: Problem) -> ReorgError:
    """Name the rules in conflict, from an assumption core, and what would fix each."""
    horizon = 2 * len(sub.nodes) + 2
    wm = WaveModel(sub, horizon, problem.options.time_limit, enforce=True)
    rules = wm.explain(problem.options.pairs)
    fixes = []
    for rule in rules:
        if rule.startswith("pair"):
            fixes.append("--pairs soft")
        elif rule.startswith("temp pool"):
            fixes.append("a larger --temp-ports range")
        elif rule.startswith("--max-per-wave"):
            fixes.append("a larger --max-per-wave")
    why = "; ".join(rules) if rules else "the moves wait on each other and no temp port is free"
    fix = " or ".join(dict.fromkeys(fixes)) or "a larger --temp-ports range"
    return ReorgError(f"no plan for {_describe(sub)}: {why}; try {fix}")


def _pool_overflows(problem: Problem, sched: Schedule, pool: int) -> bool:
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


def _merge(
    problem: Problem,
    merged: Schedule,
    build: _SubBuilder,
    notes: list[str],
    say: Progress,
    alt: Schedule | None = None,
) -> Schedule:
    """All components together under the cap and the pool: a list schedule, then joint CP-SAT.

    ``alt`` is another valid joint schedule (the fewest-moves plan, when waves come first); the
    faster of the two hints the joint model.
    """
    opts = problem.options
    temps = {i for i in merged.arrive if merged.leave[i] < merged.arrive[i]}
    try:
        listed = _list_schedule(problem, temps, len(problem.temp_pool), opts.max_per_wave)
    except ReorgError:
        if alt is not None:
            listed = alt
        elif problem.n <= JOINT_LIMIT:  # let the joint model find or explain
            sub = build(tuple(sorted(problem.movers)), opts.max_per_wave)
            return _solve_component(sub, problem, ["temps", "waves"], None, None, {})
        else:
            raise
    if alt is not None and (alt.waves, alt.temps) <= (listed.waves, listed.temps):
        listed = alt
        temps = {i for i in alt.arrive if alt.leave[i] < alt.arrive[i]}
    moves = problem.n + len(temps)
    bound = lower_bound_waves(problem, moves)
    if opts.objective is Objective.MOVES and merged.proven:
        # each component already needs its own proven waves with its fewest temps, and a plan
        # with the fewest moves gives every component exactly those temps
        bound = max(bound, merged.waves)
    if opts.objective is Objective.MOVES and listed.waves <= bound:
        listed.proven = merged.proven or moves == lower_bound_moves(problem)
        return listed
    if problem.n > JOINT_LIMIT:
        notes.append(
            f"{problem.n} moving bindings exceed the joint-model limit ({JOINT_LIMIT}): "
            f"waves come from the list schedule ({listed.waves}; bound {bound})"
        )
        return listed
    say(f"cpsat: joint model of {problem.n} bindings (list schedule {listed.waves} waves, bound {bound})")
    sub = build(tuple(sorted(problem.movers)), opts.max_per_wave)
    stages = ["temps", "waves"] if opts.objective is Objective.MOVES else ["waves", "temps"]
    if opts.pairs is PairMode.SOFT:
        stages.append("splits")
    lower = {"temps": problem.c}
    if opts.objective is Objective.MOVES:
        lower["waves"] = lower_bound_waves(problem)
        if merged.proven:  # each component needs its proven temps, and then its proven waves
            lower["temps"] = len(temps)
            lower["waves"] = lower["waves_any"] = bound  # bound for exactly these moves
    else:
        lower["waves"] = lower_bound_waves_any(problem)
    wm = WaveModel(sub, listed.waves, opts.time_limit)
    try:
        return wm.solve(stages, opts.pairs, listed, lower)
    except (Infeasible, TimeoutError):
        return listed


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


def _list_schedule(problem: Problem, temps: set[int], pool: int, cap: int | None) -> Schedule:
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


def _steps(problem: Problem, sched: Schedule) -> list[Step]:
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


def plan_front(problem: Problem, progress: Progress | None = None, greedy: Plan | None = None) -> list[Plan]:
    """Plans along the moves-versus-waves front: for each wave budget between the fewest-moves
    plan's waves and the fewest possible waves, the fewest moves that fit it.

    Each extra temp move can cut a chain or a cycle, so fewer waves cost more moves; the sweep
    stops where more temps stop helping (the waves-first optimum).
    """
    say = progress or (lambda _msg: None)
    if not problem.movers:
        return []
    greedy = greedy or _greedy_or_none(problem)
    moves_first = plan_cpsat(problem, None, greedy=greedy)
    waves_opts = replace(problem.options, objective=Objective.WAVES)
    waves_first = plan_cpsat(replace(problem, options=waves_opts), None, greedy=greedy)
    low, high = waves_first.metrics.waves, moves_first.metrics.waves
    plans = [moves_first]
    budget = high - 1
    while budget > low:
        say(f"pareto: fewest moves within {budget} waves ({len(plans)} plan(s) so far)")
        try:
            plan = plan_cpsat(problem, None, wave_budget=budget, greedy=greedy)
        except ReorgError:
            break
        plans.append(plan)
        budget = min(budget, plan.metrics.waves) - 1  # skip budgets this plan already meets
    plans.append(waves_first)  # the budget applies per component; a shared pool or cap can
    # spread components out again, so the waves-first plan itself closes the front
    first: dict[tuple[int, int], Plan] = {}
    for plan in plans:
        first.setdefault((plan.metrics.moves, plan.metrics.waves), plan)
    front = [
        plan for point, plan in first.items()
        if not any(q[0] <= point[0] and q[1] <= point[1] and q != point for q in first)
    ]
    return sorted(front, key=lambda plan: (-plan.metrics.waves, plan.metrics.moves))
