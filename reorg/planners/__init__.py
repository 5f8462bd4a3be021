"""Planner registry: a strategy name maps to a function ``Problem -> Plan``.

Planners never import the verifier; ``commands`` verifies every plan they return.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from reorg.model import Metrics, Objective, PairMode, Plan, ReorgError, Step, StepKind, Strategy
from reorg.problem import Problem, lower_bound_moves, lower_bound_waves, lower_bound_waves_any

if TYPE_CHECKING:
    from reorg.planners.budget import Deadline

Progress = Callable[[str], None]
PlannerFn = Callable[..., Plan]  # fn(problem, progress=None, deadline=None)


def get_planner(strategy: Strategy) -> PlannerFn:
    """The planner for ``strategy``: ``fn(problem, progress=None, deadline=None)``, where
    ``deadline`` (``reorg.planners.budget.Deadline``) is the wall-clock end of planning.
    Imported lazily, so greedy runs without loading ortools."""
    if strategy is Strategy.GREEDY:
        from reorg.planners.greedy import plan_greedy

        return lambda problem, progress=None, deadline=None: plan_greedy(problem, deadline)
    if strategy is Strategy.CPSAT:
        from reorg.planners.cpsat import plan_cpsat

        return lambda problem, progress=None, deadline=None: plan_cpsat(problem, progress, deadline=deadline)
    raise ReorgError(f"unknown strategy {strategy!r}; choose one of {[s.value for s in Strategy]}")


def plan_front(
    problem: Problem,
    progress: Progress | None = None,
    greedy: Plan | None = None,
    deadline: Deadline | None = None,
) -> list[Plan]:
    """CP-SAT plans along the moves-versus-waves front (see ``front.plan_front``)."""
    from reorg.planners.front import plan_front as front

    return front(problem, progress, greedy, deadline)


def count_pairs_split(problem: Problem, steps: tuple[Step, ...]) -> int:
    """Pairs (frontend, backend on one host, both moving) whose arrivals fall in different waves."""
    arrival: dict[tuple[str, str], int] = {}
    for s in steps:
        if s.kind in (StepKind.MOVE, StepKind.FROM_TEMP):
            arrival[(s.service, s.host)] = s.wave
    split = 0
    for a, b in problem.pair_links:
        ga, gb = problem.goals[a], problem.goals[b]
        if arrival.get(ga.key) != arrival.get(gb.key):
            split += 1
    return split


def meets_bounds(problem: Problem, moves: int, waves: int, split: int) -> bool:
    """True when the figures equal lower bounds for the plan's own objective, so no plan is better.

    ``--objective moves`` compares (moves, waves): moves at n + c and waves at the bound for
    fewest-move plans. ``--objective waves`` compares (waves, moves): waves at the bound for any
    plan (``lower_bound_waves_any``: extra temps can cut chains) and moves at n + c (no plan has
    fewer). Under ``--pairs soft`` split pairs come next, and the only bound for them is 0.
    """
    lb_moves = lower_bound_moves(problem)
    if problem.options.objective is Objective.WAVES:
        meets = waves == lower_bound_waves_any(problem) and moves == lb_moves
    else:
        meets = moves == lb_moves and waves == lower_bound_waves(problem, moves)
    if problem.options.pairs is PairMode.SOFT:
        meets = meets and split == 0
    return meets


def make_plan(
    problem: Problem,
    strategy: str,
    steps: list[Step] | tuple[Step, ...],
    proven_optimal: bool = False,
    notes: tuple[str, ...] = (),
) -> Plan:
    """Number the steps in execution order and attach the metrics beside their bounds.

    Steps are sorted by (wave, host, service, kind) so equal plans print identically.
    ``optimal`` is true when the solver proved it for the plan's objective (the caller's
    ``proven_optimal``: every figure of the objective, split pairs included under ``--pairs
    soft``), or when the figures meet their bounds for that objective (``meets_bounds``).
    """
    order = {StepKind.RETIRE: 0, StepKind.TO_TEMP: 1, StepKind.MOVE: 2, StepKind.FROM_TEMP: 3}
    ordered = sorted(steps, key=lambda s: (s.wave, s.host, s.service, order[s.kind]))
    # waves with no step (a solver may leave gaps) are closed up; order, and so validity, stays
    rank = {w: r for r, w in enumerate(sorted({s.wave for s in ordered}), start=1)}
    numbered = tuple(
        Step(k, rank[s.wave], s.service, s.host, s.from_port, s.to_port, s.kind)
        for k, s in enumerate(ordered, start=1)
    )
    moves = len(numbered)
    temp_moves = sum(1 for s in numbered if s.kind is StepKind.TO_TEMP)
    waves = max((s.wave for s in numbered), default=0)
    split = count_pairs_split(problem, numbered)
    metrics = Metrics(
        moves=moves,
        temp_moves=temp_moves,
        waves=waves,
        lower_bound_moves=lower_bound_moves(problem),
        lower_bound_waves=lower_bound_waves(problem, moves),
        optimal=bool(proven_optimal or meets_bounds(problem, moves, waves, split)),
        pairs_split=split,
    )
    return Plan(strategy=strategy, options=problem.options, steps=numbered, metrics=metrics, notes=notes)
