"""CP-SAT strategy: fewest moves, then fewest waves, then fewest split pairs (or waves first).

How it uses the problem's structure:

1. **Decompose.** Movers split into components that nothing couples except the wave cap and
   the temp pool (``Problem.components``). Each component gets its own small model.
2. **Solve each shape once.** A component that is a plain chain or a plain cycle is solved once
   per shape (kind, length, pool) and the schedule is reused for every component of that shape;
   the 10k-binding fleets are mostly such shapes.
3. **Model** (``reorg.planners.wavemodel``): per binding an arrival wave, a leave wave and a temp
   literal, with the objectives solved in sequence; when a component has no solution, the model's
   assumption core names the business rules in conflict.
4. **Combine.** Without a cap, components run side by side from wave 1. With a cap (or when the
   components' temp needs overflow the pool) a highest-level-first list schedule
   (``reorg.planners.schedule``) merges them, and a joint CP-SAT model hinted with it closes any
   gap on instances small enough to solve whole.

Every solve goes through ``reorg.planners.sat`` (the only ortools user): a deterministic time
limit, one worker and a fixed seed, so the same input gives the same plan.

**Time.** ``--time-limit T`` is the whole command's budget (``reorg.planners.budget``). Each solve
gets a deterministic share of T, fixed by the instance alone: a component ``COMPONENTS * T *
size / movers`` (at least ``MIN_SOLVE``), the joint model ``JOINT * T``; and at most what is left
of the command's deadline in wall time. When time runs out a component keeps its greedy
schedule, the merge keeps its list schedule, and the plan says in its notes that it is not
proven and how far it is from the bounds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from reorg.model import Objective, PairMode, Plan, ReorgError, Step, StepKind
from reorg.planners import make_plan
from reorg.planners.budget import Deadline
from reorg.planners.parts import Clock, Infeasible, Schedule, Sub
from reorg.planners.schedule import compress, list_schedule, pack, pool_overflows, schedule_steps
from reorg.problem import (
    Problem,
    cyclic_components,
    lower_bound_moves,
    lower_bound_waves,
    lower_bound_waves_any,
)

JOINT_LIMIT = 4000  # movers up to which a capped or pool-bound instance is also solved whole
COMPONENTS = 0.4  # share of --time-limit (deterministic seconds) for all per-component solves
JOINT = 0.4  # share for the joint model
MIN_SOLVE = 0.02  # the least deterministic time of one component solve

Progress = Callable[[str], None]


def plan_cpsat(
    problem: Problem,
    progress: Progress | None = None,
    wave_budget: int | None = None,
    greedy: Plan | None = None,
    deadline: Deadline | None = None,
    share: float = 1.0,
) -> Plan:
    """The default strategy. Raises ReorgError when no plan exists, naming the rules in conflict.

    ``wave_budget`` asks for the fewest moves with at most that many waves per component (the
    points of the moves-versus-waves front); ``greedy`` passes a greedy plan already made;
    ``deadline`` is the wall-clock end, ``share`` the part of --time-limit this call may use.
    """
    say = progress or (lambda _msg: None)
    opts = problem.options
    if not problem.movers:
        return make_plan(problem, "cpsat", [], proven_optimal=True)
    clock = Clock(deadline)
    total = opts.time_limit * share
    greedy = greedy or greedy_or_none(problem, deadline)
    if greedy is not None and wave_budget is None:
        # The greedy plan in fewer waves often meets the lower bounds of the objective already
        # (the generated fleets do: chains and cycles): then no plan is better, and no model is
        # built (nor ortools imported).
        packed = make_plan(problem, "cpsat", schedule_steps(problem, greedy_schedule(problem, greedy)))
        if packed.metrics.optimal:
            say("cpsat: the greedy plan in fewer waves meets the lower bounds; no model needed")
            return packed
    hints = _hints_from_steps(problem, greedy.steps) if greedy else {}
    build = _SubBuilder(problem, clock)

    def limit(comp: tuple[int, ...]) -> float:
        return max(MIN_SOLVE, COMPONENTS * total * len(comp) / problem.n)

    try:
        plan = _plan(problem, say, wave_budget, greedy, deadline, share, clock, hints, build, limit, total)
    except _OutOfTime:
        if greedy is None:
            raise ReorgError(
                f"no plan found within --time-limit {opts.time_limit:g}: greedy found none and CP-SAT "
                "ran out of time before it found one (no plan was proven impossible); raise --time-limit"
            ) from None
        clock.cut = True
        plan = _greedy_plan(problem, greedy, "the time limit ran out before CP-SAT found a plan")
    if greedy is not None and wave_budget is None and not plan.metrics.optimal:
        packed = _greedy_plan(problem, greedy, "CP-SAT did not beat the greedy plan within the time limit")
        if _worse(plan, packed, opts.objective):
            plan = packed
    return _with_time_note(plan, clock, opts.time_limit)


def greedy_schedule(problem: Problem, greedy: Plan) -> Schedule:
    """The greedy plan in fewer waves: its temps list-scheduled, or its steps packed in order
    (``schedule.pack``), whichever is better for the objective. The fallback of every stage."""
    packed = pack(problem, greedy.steps)
    index = {problem.goals[i].key: i for i in problem.movers}
    temps = {index[(s.service, s.host)] for s in greedy.steps if s.kind is StepKind.TO_TEMP}
    try:
        listed = list_schedule(problem, temps, len(problem.temp_pool), problem.options.max_per_wave)
    except ReorgError:
        return packed
    if problem.options.objective is Objective.WAVES:
        better = (listed.waves, listed.temps) < (packed.waves, packed.temps)
    else:
        better = (listed.temps, listed.waves) < (packed.temps, packed.waves)
    return listed if better else packed


def _greedy_plan(problem: Problem, greedy: Plan, why: str) -> Plan:
    steps = schedule_steps(problem, greedy_schedule(problem, greedy))
    return make_plan(problem, "cpsat", steps, notes=(f"{why}; this is the greedy plan in fewer waves",))


class _OutOfTime(Exception):
    """A component got no schedule before the deadline, and there is no greedy one to keep."""


def _with_time_note(plan: Plan, clock: Clock, time_limit: float) -> Plan:
    """Say, when a limit cut a solve short, that the plan is the best found and how far off."""
    if not clock.cut or plan.metrics.optimal:
        return plan
    m = plan.metrics
    note = (
        f"time limit: the best plan found within --time-limit {time_limit:g}, not proven optimal; "
        f"gap to the bounds: {m.moves - m.lower_bound_moves:+d} moves, {m.waves - m.lower_bound_waves:+d} waves"
    )
    if clock.wall_cut:
        note += " (the wall clock ran out first, so another run may give another plan)"
    return replace(plan, notes=plan.notes + (note,))


def _plan(
    problem: Problem,
    say: Progress,
    wave_budget: int | None,
    greedy: Plan | None,
    deadline: Deadline | None,
    share: float,
    clock: Clock,
    hints: dict[int, tuple[int, int]],
    build: _SubBuilder,
    limit: Callable[[tuple[int, ...]], float],
    total: float,
) -> Plan:
    opts = problem.options
    comps = problem.components
    if wave_budget is not None or opts.objective is Objective.MOVES:
        first = ["temps", "waves"]
    else:
        first = ["waves", "temps"]
    say(f"cpsat: {len(comps)} component(s) of {problem.n} moving binding(s)")
    # 1. each component alone: fewest temps then waves (or waves then temps)
    cache: dict[tuple[Any, ...], tuple[tuple[int, ...], Schedule]] = {}
    schedules: dict[tuple[int, ...], Schedule] = {}
    for k, comp in enumerate(comps, start=1):
        hint = compress(comp, hints)
        if wave_budget is not None and hint is not None and hint.waves > wave_budget:
            hint = None
        schedules[comp] = _solve_component(
            build(comp), problem, first, hint, wave_budget, cache, limit(comp), compress(comp, hints), clock
        )
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
                sub, problem, ["temps", "splits"], schedules[comp], budget, cache, limit(comp), schedules[comp], clock
            )
    merged = Schedule({}, {}, all(s.proven for s in schedules.values()))
    for s in schedules.values():
        merged.arrive.update(s.arrive)
        merged.leave.update(s.leave)
    # 3. the wave cap and a shared temp pool couple the components
    notes: list[str] = []
    pool = len(problem.temp_pool)
    coupled = opts.max_per_wave is not None or pool_overflows(problem, merged, pool)
    moves_first = None
    if wave_budget is None and opts.objective is Objective.WAVES and coupled:
        # when the cap or the pool couples components, extra temps also cost wave slots and
        # temp ports, so the fewest-moves plan may well be the faster one
        moves_opts = replace(opts, objective=Objective.MOVES)
        moves_first = plan_cpsat(
            replace(problem, options=moves_opts), None, greedy=greedy, deadline=deadline, share=share / 2
        )
    if coupled:
        say("cpsat: merging components under the wave cap and the temp pool")
        alt = None
        if moves_first is not None:
            h = _hints_from_steps(problem, moves_first.steps)
            alt = Schedule({i: a for i, (_, a) in h.items()}, {i: lv for i, (lv, _) in h.items()}, False)
        try:
            merged = _merge(problem, merged, build, notes, say, alt, JOINT * total, greedy)
        except ReorgError:
            if moves_first is not None:
                note = "CP-SAT found no joint schedule; this is its fewest-moves plan"
                return make_plan(problem, "cpsat", moves_first.steps, notes=(note,))
            if greedy is None:
                raise
            return _greedy_plan(problem, greedy, "CP-SAT found no joint schedule")
    plan = make_plan(problem, "cpsat", schedule_steps(problem, merged), merged.proven, tuple(notes))
    if wave_budget is not None:
        return plan
    if moves_first is not None and _worse(plan, moves_first, Objective.WAVES):
        plan = make_plan(problem, "cpsat", moves_first.steps, notes=plan.notes)
    return plan


class _SubBuilder:
    """Cuts the problem into ``Sub`` parts: one per component, or all movers for the joint model."""

    def __init__(self, problem: Problem, clock: Clock):
        self.problem = problem
        self.clock = clock
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


def greedy_or_none(problem: Problem, deadline: Deadline | None = None) -> Plan | None:
    """The greedy plan, used as the hint and the fallback; None when greedy finds none."""
    from reorg.planners.greedy import plan_greedy

    try:
        return plan_greedy(problem, deadline)
    except ReorgError:
        return None


def _worse(plan: Plan, other: Plan, objective: Objective) -> bool:
    a, b = plan.metrics, other.metrics
    if objective is Objective.MOVES:
        return (a.moves, a.waves, a.pairs_split) > (b.moves, b.waves, b.pairs_split)
    return (a.waves, a.moves, a.pairs_split) > (b.waves, b.moves, b.pairs_split)


def _hints_from_steps(problem: Problem, steps: Iterable[Step]) -> dict[int, tuple[int, int]]:
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


def _shape(sub: Sub) -> tuple[tuple[Any, ...], tuple[int, ...]] | None:
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
        key: tuple[Any, ...] = ("chain", len(order), heads[0] in sub.retire)
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
    cache: dict[Any, Any],
    limit: float,
    fallback: Schedule | None = None,
    clock: Clock | None = None,
) -> Schedule:
    """Solve one component, or reuse the schedule of an earlier component of the same shape.

    ``limit`` is the solve's deterministic time; ``fallback`` (the component's greedy schedule)
    is kept when the time runs out before CP-SAT finds one.
    """
    opts = problem.options
    if clock is not None and clock.deadline.expired() and fallback is not None:
        clock.cut = clock.wall_cut = True  # no time left to build a model: keep the greedy one
        if budget is None or fallback.waves <= budget:
            return Schedule(dict(fallback.arrive), dict(fallback.leave), False)
    shape = _shape(sub)
    key = None
    if shape is not None:
        key = shape[0] + (sub.pool, tuple(stages), budget)
        if key in cache:
            rep_order, rep = cache[key]
            pos = dict(zip(shape[1], rep_order, strict=False))
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
    from reorg.planners.wavemodel import WaveModel  # ortools: only once a model is needed

    wm = WaveModel(sub, horizon, limit, clock=clock)
    try:
        sched = wm.solve(stages, opts.pairs, hint, lower, budget)
    except Infeasible:
        raise _explain(sub, problem, limit, clock) from None
    except TimeoutError:
        if fallback is None or (budget is not None and fallback.waves > budget):
            raise _OutOfTime() from None
        return Schedule(dict(fallback.arrive), dict(fallback.leave), False)
    if key is not None and shape is not None:
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


def _explain(sub: Sub, problem: Problem, limit: float, clock: Clock | None) -> ReorgError:
    """Name the rules in conflict, from an assumption core, and what would fix each."""
    from reorg.planners.wavemodel import WaveModel

    horizon = 2 * len(sub.nodes) + 2
    wm = WaveModel(sub, horizon, max(limit, MIN_SOLVE), enforce=True, clock=clock)
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


def _merge(
    problem: Problem,
    merged: Schedule,
    build: _SubBuilder,
    notes: list[str],
    say: Progress,
    alt: Schedule | None = None,
    limit: float = 1.0,
    greedy: Plan | None = None,
) -> Schedule:
    """All components together under the cap and the pool: a list schedule, then joint CP-SAT.

    ``alt`` is another valid joint schedule (the fewest-moves plan, when waves come first); the
    faster of the two hints the joint model.
    """
    opts = problem.options
    temps = {i for i in merged.arrive if merged.leave[i] < merged.arrive[i]}
    fewest = len(temps)  # the components' own temps: the fewest when merged.proven
    try:
        listed = list_schedule(problem, temps, len(problem.temp_pool), opts.max_per_wave)
    except ReorgError:
        if alt is not None:
            listed = alt
        elif greedy is not None:  # the greedy plan in fewer waves hints the joint model
            listed = greedy_schedule(problem, greedy)
            temps = {i for i in listed.arrive if listed.leave[i] < listed.arrive[i]}
        elif problem.n <= JOINT_LIMIT:  # let the joint model find or explain
            sub = build(tuple(sorted(problem.movers)), opts.max_per_wave)
            return _solve_component(sub, problem, ["temps", "waves"], None, None, {}, limit, None, build.clock)
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
    splits = sum(1 for a, b in problem.pair_links if listed.arrive[a] != listed.arrive[b])
    at_fewest = len(temps) == fewest
    if opts.objective is Objective.MOVES and listed.waves <= bound and splits == 0 and at_fewest:
        # at the bounds for moves and waves; under --pairs soft the splits must be 0 as well
        listed.proven = merged.proven or moves == lower_bound_moves(problem)
        return listed
    if problem.n > JOINT_LIMIT:
        notes.append(
            f"{problem.n} moving bindings exceed the joint-model limit ({JOINT_LIMIT}): "
            f"waves come from the list schedule ({listed.waves}; bound {bound})"
        )
        return listed
    if build.clock.deadline.expired():  # no time left to build the joint model
        build.clock.cut = build.clock.wall_cut = True
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
            lower["temps"] = fewest
            if at_fewest:
                lower["waves"] = lower["waves_any"] = bound  # bound for exactly these moves
    else:
        lower["waves"] = lower_bound_waves_any(problem)
    from reorg.planners.wavemodel import WaveModel

    wm = WaveModel(sub, listed.waves, limit, clock=build.clock)
    try:
        return wm.solve(stages, opts.pairs, listed, lower)
    except (Infeasible, TimeoutError):
        return listed
