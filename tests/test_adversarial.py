"""Regressions found by attacking the planners (review of issues 3 and 4).

Each test is a minimal instance, checked against the verifier and the brute-force oracle.
"""

from __future__ import annotations

from bruteforce import brute_force, brute_force_waves_first, instance_of
from reorg.model import Objective, PlanOptions, ReorgError, Strategy
from reorg.planners import get_planner, plan_front
from reorg.problem import build_problem
from reorg.verify import verify


def _cpsat(inst, options):
    return get_planner(Strategy.CPSAT)(build_problem(inst, options), None)


# ---- a service in two hard pairs (a pair group of 3+) under a wave cap ------------------------
# cpsat's list schedule (_list_schedule) keeps one partner per binding, so a group of three
# bindings joined by two pairs is either split (an invalid plan) or never scheduled (a refusal).


def test_service_in_two_pairs_under_a_cap_is_not_split():
    # a, b, c all hold port 2 (a collision); d wants 2. Pairs a/b and d/a join a, b, d.
    inst = instance_of("a h 2 3", "b h 2 5", "c h 2 7", "d h 3 2", pairs=[("a", "b"), ("d", "a")])
    options = PlanOptions(max_per_wave=3)
    plan = _cpsat(inst, options)
    verdict = verify(plan, inst)
    assert verdict.ok, verdict.violations  # was: pair a/b on h is split (wave 4 vs wave 3)
    assert (plan.metrics.moves, plan.metrics.waves) == brute_force(inst, options) == (7, 4)


def test_pair_group_of_three_under_a_cap_plans_waves_first():
    # three free moves joined a/b and b/c: one wave of three steps fits --max-per-wave 3
    inst = instance_of("a h 1 2", "b h 3 4", "c h 5 6", pairs=[("a", "b"), ("b", "c")])
    options = PlanOptions(max_per_wave=3, objective=Objective.WAVES)
    assert brute_force_waves_first(inst, options) == (1, 3)
    plan = _cpsat(inst, options)  # was: ReorgError "... leave no step runnable"
    assert verify(plan, inst).ok
    assert (plan.metrics.waves, plan.metrics.moves) == (1, 3)


def test_pair_group_of_three_under_a_cap_has_a_front():
    # `reorg compare --max-per-wave 3` runs plan_front, which solves waves first internally
    inst = instance_of("a h 1 2", "b h 3 4", "c h 5 6", pairs=[("a", "b"), ("b", "c")])
    plans = plan_front(build_problem(inst, PlanOptions(max_per_wave=3)))  # was: ReorgError
    assert [(p.metrics.moves, p.metrics.waves) for p in plans] == [(3, 1)]
    assert all(verify(p, inst).ok for p in plans)


# ---- reservations of one service, on every host and on one host -------------------------------


def test_verifier_accepts_reservations_with_and_without_a_host():
    # target.csv rows "z,4000,," and "z,4001,h," for a service that runs nowhere give exactly
    # these two reservations; `reorg plan` then crashed in verify (sorted() compares None < str)
    inst = instance_of("a h 1 2", reservations=[("z", None, 4000), ("z", "h", 4001)])
    options = PlanOptions()
    plan = get_planner(Strategy.GREEDY)(build_problem(inst, options), None)
    assert verify(plan, inst).ok  # was: TypeError '<' not supported between 'str' and 'NoneType'


def test_refusals_are_one_line_and_name_a_fix():
    # sanity companion for the cap/pair tests above: a real infeasibility still refuses well
    inst = instance_of("a h 1 2", "b h 3 4", "c h 5 6", pairs=[("a", "b"), ("b", "c")])
    options = PlanOptions(max_per_wave=2)
    assert brute_force(inst, options) is None
    try:
        _cpsat(inst, options)
    except ReorgError as exc:
        message = str(exc)
        assert "\n" not in message
        assert "--max-per-wave" in message or "--pairs soft" in message
    else:
        raise AssertionError("cpsat planned an instance the oracle calls infeasible")
