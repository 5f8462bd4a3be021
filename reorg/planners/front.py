"""The moves-versus-waves Pareto front of CP-SAT plans (``reorg compare``).
"""

from __future__ import annotations

from dataclasses import replace

from reorg.model import Objective, Plan, ReorgError
from reorg.planners.budget import Deadline
from reorg.planners.cpsat import Progress, greedy_or_none, plan_cpsat
from reorg.problem import Problem


def plan_front(
    problem: Problem, progress: Progress | None = None, greedy: Plan | None = None, deadline: Deadline | None = None
) -> list[Plan]:
    """Plans along the moves-versus-waves front: for each wave budget between the fewest-moves
    plan's waves and the fewest possible waves, the fewest moves that fit it.

    Each extra temp move can cut a chain or a cycle, so fewer waves cost more moves; the sweep
    stops where more temps stop helping (the waves-first optimum).
    """
    say = progress or (lambda _msg: None)
    if not problem.movers:
        return []
    greedy = greedy or greedy_or_none(problem, deadline)
    moves_first = plan_cpsat(problem, None, greedy=greedy, deadline=deadline, share=0.5)
    waves_opts = replace(problem.options, objective=Objective.WAVES)
    waves_first = plan_cpsat(replace(problem, options=waves_opts), None, greedy=greedy, deadline=deadline, share=0.5)
    low, high = waves_first.metrics.waves, moves_first.metrics.waves
    plans = [moves_first]
    budget = high - 1
    while budget > low:
        say(f"pareto: fewest moves within {budget} waves ({len(plans)} plan(s) so far)")
        try:
            plan = plan_cpsat(problem, None, wave_budget=budget, greedy=greedy, deadline=deadline, share=0.25)
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
