"""The verifier: valid hand-written plans pass, and each hand-broken plan fails with its rule."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bruteforce import hand_metrics, instance_of
from reorg.model import (
    Binding,
    Goal,
    Instance,
    PairMode,
    Plan,
    PlanOptions,
    Scope,
    Step,
    StepKind,
)
from reorg.verify import RULES, lower_bounds, verify

KINDS = {
    "move": StepKind.MOVE,
    "to": StepKind.TO_TEMP,
    "from": StepKind.FROM_TEMP,
    "retire": StepKind.RETIRE,
}


def steps_of(*rows: str, numbers: list[int] | None = None) -> tuple[Step, ...]:
    """Steps from rows "wave kind service host from to" (kind: move/to/from/retire, to '-')."""
    out = []
    for k, row in enumerate(rows):
        wave, kind, service, host, old, new = row.split()
        number = numbers[k] if numbers else k + 1
        to_port = None if new == "-" else int(new)
        out.append(Step(number, int(wave), service, host, int(old), to_port, KINDS[kind]))
    return tuple(out)


def plan_of(instance: Instance, steps, options: PlanOptions = PlanOptions(), **lie) -> Plan:
    """A plan with metrics counted by hand (``hand_metrics``: the steps counted here, the bounds
    from ``reorg.problem``), never from the verifier under test; ``lie`` overrides them."""
    return Plan("hand", options, steps, replace(hand_metrics(instance, options, steps), **lie))


def rules(instance: Instance, steps, options: PlanOptions = PlanOptions(), **lie) -> set[str]:
    verdict = verify(plan_of(instance, steps, options, **lie), instance)
    assert all(v.rule in RULES for v in verdict.violations), verdict.violations
    return {v.rule for v in verdict.violations}


def assert_valid(instance, steps, options=PlanOptions()):
    verdict = verify(plan_of(instance, steps, options), instance)
    assert verdict.ok, verdict.violations
    return verdict.metrics


CHAIN = instance_of("a h 1 2", "b h 2 3", "c h 3 4")
CHAIN_PLAN = steps_of("1 move c h 3 4", "2 move b h 2 3", "3 move a h 1 2")
SWAP = instance_of("a h 1 2", "b h 2 1")
SWAP_PLAN = steps_of("1 to a h 1 39000", "2 move b h 2 1", "3 from a h 39000 2")
CYCLE3 = instance_of("a h 1 2", "b h 2 3", "c h 3 1")
CYCLE3_PLAN = steps_of("1 to a h 1 39000", "2 move c h 3 1", "3 move b h 2 3", "4 from a h 39000 2")
GLOBAL = PlanOptions(scope=Scope.GLOBAL)


# ---- valid plans ------------------------------------------------------------------------------


def test_chain_is_valid_and_meets_its_bounds():
    m = assert_valid(CHAIN, CHAIN_PLAN)
    assert (m.moves, m.temp_moves, m.waves) == (3, 0, 3)
    assert (m.lower_bound_moves, m.lower_bound_waves) == (3, 3)


def test_swap_via_temp_is_valid():
    m = assert_valid(SWAP, SWAP_PLAN)
    assert (m.moves, m.temp_moves, m.waves) == (3, 1, 3)
    assert (m.lower_bound_moves, m.lower_bound_waves) == (3, 3)


def test_three_cycle_is_valid():
    m = assert_valid(CYCLE3, CYCLE3_PLAN)
    assert (m.moves, m.waves, m.lower_bound_moves, m.lower_bound_waves) == (4, 4, 4, 4)


def test_retirement_frees_its_port_for_the_next_wave():
    inst = instance_of("a h 1 -", "b h 2 1")
    m = assert_valid(inst, steps_of("1 retire a h 1 -", "2 move b h 2 1"))
    assert (m.lower_bound_moves, m.lower_bound_waves) == (2, 2)


def test_two_hosts_sharing_a_port_number_are_independent_under_host_scope():
    inst = instance_of("a h1 1 2", "b h2 2 1")
    assert_valid(inst, steps_of("1 move a h1 1 2", "1 move b h2 2 1"))
    # Under global scope the same plan binds ports the other service holds.
    assert "port-busy" in rules(inst, steps_of("1 move a h1 1 2", "1 move b h2 2 1"), GLOBAL)


def test_global_scope_own_binding_on_another_host_does_not_block():
    inst = instance_of("a h1 1 2", "a h2 2 2")
    assert_valid(inst, steps_of("1 move a h1 1 2"), GLOBAL)


def test_global_scope_other_service_on_another_host_blocks():
    inst = instance_of("a h1 1 2", "b h2 2 3")
    assert_valid(inst, steps_of("1 move a h1 1 2", "1 move b h2 2 3"))
    assert "port-busy" in rules(inst, steps_of("1 move a h1 1 2", "1 move b h2 2 3"), GLOBAL)
    assert_valid(inst, steps_of("1 move b h2 2 3", "2 move a h1 1 2"), GLOBAL)


def test_current_collision_resolved():
    inst = instance_of("a h 1 2", "b h 1 1")
    assert_valid(inst, steps_of("1 move a h 1 2"))


def test_empty_plan_for_nothing_to_do():
    m = assert_valid(instance_of("a h 1 1"), ())
    assert (m.moves, m.waves, m.lower_bound_moves, m.lower_bound_waves) == (0, 0, 0, 0)


def test_temp_port_reused_after_it_is_freed():
    inst = instance_of("a h 1 2", "b h 2 1", "c h 3 4", "d h 4 3")
    plan = steps_of(
        "1 to a h 1 39000", "2 move b h 2 1", "3 from a h 39000 2",
        "4 to c h 3 39000", "5 move d h 4 3", "6 from c h 39000 4",
    )
    assert_valid(inst, plan)


def test_metrics_of_the_verdict_are_recomputed():
    plan = plan_of(SWAP, SWAP_PLAN, moves=99, optimal=True)
    verdict = verify(plan, SWAP)
    assert verdict.metrics.moves == 3 and verdict.metrics.optimal is True


# ---- broken plans -----------------------------------------------------------------------------


def test_binding_a_busy_port():
    backwards = steps_of("1 move a h 1 2", "2 move b h 2 3", "3 move c h 3 4")
    assert "port-busy" in rules(CHAIN, backwards)


def test_arrival_into_a_port_vacated_in_the_same_wave():
    broken = rules(CHAIN, steps_of("1 move c h 3 4", "2 move b h 2 3", "2 move a h 1 2"))
    assert {"wave-touch", "port-busy"} <= broken


def test_two_leavers_of_one_port_in_one_wave_touch_it():
    inst = instance_of("a h 1 2", "b h 1 3")
    assert rules(inst, steps_of("1 move a h 1 2", "1 move b h 1 3")) == {"wave-touch"}
    assert_valid(inst, steps_of("1 move a h 1 2", "2 move b h 1 3"))


def test_wrong_final_state_missing_step():
    broken = rules(CHAIN, CHAIN_PLAN[:2])
    assert {"missing-step", "final-state"} <= broken


def test_wrong_final_state_temp_still_held():
    inst = instance_of("a h 1 2")
    assert rules(inst, steps_of("1 to a h 1 39000")) == {"missing-step", "final-state"}


def test_final_collision_left_in_place():
    assert rules(instance_of("a h 1 1", "b h 1 1"), ()) == {"final-collision"}


@pytest.mark.parametrize(
    "lie, rule",
    [
        ({"moves": 2}, "metric-moves"),
        ({"temp_moves": 0}, "metric-temp_moves"),
        ({"waves": 2}, "metric-waves"),
        ({"lower_bound_moves": 2}, "metric-lower_bound_moves"),
        ({"lower_bound_waves": 2}, "metric-lower_bound_waves"),
        ({"pairs_split": 1}, "metric-pairs_split"),
    ],
)
def test_lying_metric(lie, rule):
    assert rules(SWAP, SWAP_PLAN, **lie) == {rule}


def test_lower_bound_above_the_achieved_figure_is_a_lie():
    for bound in ("lower_bound_waves", "lower_bound_moves"):
        assert rules(SWAP, SWAP_PLAN, **{bound: 4}) == {f"metric-{bound}", "bound-above"}


def test_optimal_claims():
    # Figures equal to the bounds: optimal is consistent.
    assert rules(SWAP, SWAP_PLAN, optimal=True) == set()
    # Figures above the bounds: a solver's proof the verifier cannot check, so accepted.
    detour = steps_of("1 to a h 1 39000", "2 from a h 39000 2")
    assert rules(instance_of("a h 1 2"), detour, optimal=True) == set()


def test_cap_exceeded():
    inst = instance_of("a h 1 2", "b h 3 4")
    both = steps_of("1 move a h 1 2", "1 move b h 3 4")
    capped = PlanOptions(max_per_wave=1)
    # Breaking the cap also beats the cap's wave bound, which is reported too.
    assert rules(inst, both, capped) == {"cap", "bound-above"}
    m = assert_valid(inst, steps_of("1 move a h 1 2", "2 move b h 3 4"), capped)
    assert m.lower_bound_waves == 2


PAIR = instance_of("f h 1 11", "b h 2 12", pairs=[("f", "b")])


def test_pair_split_under_hard_pairs():
    split = steps_of("1 move f h 1 11", "2 move b h 2 12")
    assert rules(PAIR, split) == {"pair-split"}
    assert_valid(PAIR, steps_of("1 move f h 1 11", "1 move b h 2 12"))


def test_pair_split_allowed_under_soft_pairs_and_counted():
    soft = PlanOptions(pairs=PairMode.SOFT)
    split = steps_of("1 move f h 1 11", "2 move b h 2 12")
    m = assert_valid(PAIR, split, soft)
    assert m.pairs_split == 1
    assert rules(PAIR, split, soft, pairs_split=0) == {"metric-pairs_split"}


def test_pair_on_other_host_or_retiring_is_not_linked():
    inst = instance_of("f h 1 11", "b g 2 12", "f g 5 -", "b h 6 6", pairs=[("f", "b")])
    m = assert_valid(inst, steps_of("1 move f h 1 11", "1 retire f g 5 -", "2 move b g 2 12"))
    assert m.pairs_split == 0


def test_temp_port_outside_the_pool():
    plan = steps_of("1 to a h 1 5000", "2 move b h 2 1", "3 from a h 5000 2")
    assert rules(SWAP, plan) == {"temp-pool"}


def test_temp_port_named_in_the_tables_is_not_in_the_pool():
    inst = instance_of("a h 1 2", "b h 2 1", "c g 39000 39000")
    plan = steps_of("1 to a h 1 39000", "2 move b h 2 1", "3 from a h 39000 2")
    assert rules(inst, plan) == {"temp-pool"}


def test_temp_port_in_use():
    inst = instance_of("a h 1 2", "b h 2 1", "c h 3 4", "d h 4 3")
    held = steps_of(
        "1 to a h 1 39000", "2 to c h 3 39000", "2 move b h 2 1", "3 from a h 39000 2",
        "3 move d h 4 3", "4 from c h 39000 4",
    )
    assert "port-busy" in rules(inst, held)
    same_wave = steps_of(
        "1 to a h 1 39000", "1 to c h 3 39000", "2 move b h 2 1", "2 move d h 4 3",
        "3 from a h 39000 2", "4 from c h 39000 4",
    )
    assert rules(inst, same_wave) >= {"wave-touch"}
    # Under host scope another host may use the same temp port at the same time...
    two_hosts = instance_of("a h 1 2", "b h 2 1", "a g 1 2", "b g 2 1")
    parallel = steps_of(
        "1 to a g 1 39000", "1 to a h 1 39000", "2 move b g 2 1", "2 move b h 2 1",
        "3 from a g 39000 2", "3 from a h 39000 2",
    )
    assert_valid(two_hosts, parallel)


def test_global_scope_temp_port_holds_one_binding():
    two_services = instance_of("a h 1 2", "b h 2 1", "c g 3 4", "d g 4 3")
    parallel = steps_of(
        "1 to a h 1 39000", "1 to c g 3 39000", "2 move b h 2 1", "2 move d g 4 3",
        "3 from a h 39000 2", "3 from c g 39000 4",
    )
    assert_valid(two_services, parallel)
    assert "wave-touch" in rules(two_services, parallel, GLOBAL)
    # Not even one service may share a temp port across its hosts under global scope...
    one_service = instance_of("a h 1 2", "b h 2 1", "a g 3 4", "d g 4 3")
    shared = steps_of(
        "1 to a g 3 39000", "1 to a h 1 39000", "2 move b h 2 1", "2 move d g 4 3",
        "3 from a g 39000 4", "3 from a h 39000 2",
    )
    assert rules(one_service, shared, GLOBAL) == {"wave-touch"}
    assert_valid(one_service, shared)  # ...while under host scope each host has its own pool
    apart = steps_of(
        "1 to a g 3 39000", "1 to a h 1 39001", "2 move b h 2 1", "2 move d g 4 3",
        "3 from a g 39000 4", "3 from a h 39001 2",
    )
    assert_valid(one_service, apart, GLOBAL)


def test_global_scope_temp_port_held_by_the_same_service_on_another_host():
    # a@g holds 39000 from wave 1; a@h binds it in wave 2 while a@g still holds it.
    inst = instance_of("a h 1 2", "b h 2 1", "a g 3 4", "d g 4 3")
    overlap = steps_of(
        "1 to a g 3 39000", "2 to a h 1 39000", "2 move d g 4 3", "3 from a g 39000 4",
        "3 move b h 2 1", "4 from a h 39000 2",
    )
    verdict = verify(plan_of(inst, overlap, GLOBAL), inst)
    assert {v.rule for v in verdict.violations} == {"port-busy"}
    (busy,) = verdict.violations
    assert busy.step == 2 and "a@g" in busy.message and "one binding" in busy.message
    assert_valid(inst, overlap)  # host scope: h and g each have their own 39000
    # Once a@g's from-temp wave is over, the port is free again for a@h.
    after = steps_of(
        "1 to a g 3 39000", "2 move d g 4 3", "3 from a g 39000 4", "4 to a h 1 39000",
        "5 move b h 2 1", "6 from a h 39000 2",
    )
    assert_valid(inst, after, GLOBAL)


def test_retire_of_a_binding_that_does_not_retire():
    assert "kind" in rules(instance_of("a h 1 2"), steps_of("1 retire a h 1 -"))


def test_move_of_a_retiring_binding():
    assert "kind" in rules(instance_of("a h 1 -"), steps_of("1 move a h 1 2"))


def test_from_temp_without_to_temp_and_wrong_goal():
    inst = instance_of("a h 1 2")
    assert "kind" in rules(inst, steps_of("1 from a h 1 2"))
    assert "wrong-goal" in rules(inst, steps_of("1 move a h 1 3"))


def test_second_to_temp():
    inst = instance_of("a h 1 2")
    broken = rules(inst, steps_of("1 to a h 1 39000", "2 to a h 39000 39001", "3 from a h 39001 2"))
    assert "temp-twice" in broken


def test_from_port_is_where_the_binding_is():
    assert "from-port" in rules(instance_of("a h 1 2"), steps_of("1 move a h 7 2"))
    wrong_temp = steps_of("1 to a h 1 39000", "2 move b h 2 1", "3 from a h 39001 2")
    assert "from-port" in rules(SWAP, wrong_temp)


def test_step_after_the_final_step():
    inst = instance_of("a h 1 2")
    assert "after-final" in rules(inst, steps_of("1 move a h 1 2", "2 move a h 2 2"))


def test_binding_twice_in_one_wave():
    inst = instance_of("a h 1 2")
    assert "wave-twice" in rules(inst, steps_of("1 to a h 1 39000", "1 from a h 39000 2"))


def test_unknown_and_unchanged_bindings():
    inst = instance_of("a h 1 2", "b h 5 5")
    assert "unknown-binding" in rules(inst, steps_of("1 move a h 1 2", "1 move z h 8 9"))
    assert "unchanged" in rules(inst, steps_of("1 move a h 1 2", "1 move b h 5 6"))


def test_step_numbering_gap():
    gap = steps_of("1 move c h 3 4", "2 move b h 2 3", "3 move a h 1 2", numbers=[1, 2, 4])
    assert rules(CHAIN, gap) == {"numbering"}


def test_empty_wave_and_wave_order():
    skips_three = steps_of("1 move c h 3 4", "2 move b h 2 3", "4 move a h 1 2")
    assert rules(CHAIN, skips_three) == {"empty-wave"}
    inst = instance_of("a h 1 2", "b h 3 4")
    assert rules(inst, steps_of("2 move a h 1 2", "1 move b h 3 4")) == {"wave-order"}


def test_reserved_port():
    inst = instance_of("a h 1 2", reservations=[("r", None, 2)])
    assert "reserved" in rules(inst, steps_of("1 move a h 1 2"))
    own = instance_of("a h 1 2", reservations=[("a", None, 2)])
    assert_valid(own, steps_of("1 move a h 1 2"))
    elsewhere = instance_of("a h 1 2", reservations=[("r", "g", 2)])
    assert_valid(elsewhere, steps_of("1 move a h 1 2"))
    assert "reserved" in rules(elsewhere, steps_of("1 move a h 1 2"), GLOBAL)


def test_temp_port_reserved_is_outside_the_pool_and_reserved():
    inst = instance_of("a h 1 2", "b h 2 1", reservations=[("r", "h", 39000)])
    plan = steps_of("1 to a h 1 39000", "2 move b h 2 1", "3 from a h 39000 2")
    assert rules(inst, plan) == {"temp-pool", "reserved"}


def test_binding_that_keeps_a_reserved_port():
    inst = instance_of("a h 2 2", reservations=[("r", None, 2)])
    assert rules(inst, ()) == {"reserved"}


def test_messages_name_step_service_host_and_ports():
    plan = plan_of(CHAIN, steps_of("1 move a h 1 2", "2 move b h 2 3", "3 move c h 3 4"))
    busy = [v for v in verify(plan, CHAIN).violations if v.rule == "port-busy"]
    assert busy[0].step == 1
    assert "step 1" in busy[0].message and "a@h" in busy[0].message and "b@h" in busy[0].message
    assert "\n" not in busy[0].message


# ---- lower bounds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, moves, expected",
    [
        (("a h 1 2", "b h 2 3", "c h 3 4"), None, (3, 3)),
        (("a h 1 2", "b h 2 1"), None, (3, 3)),
        (("a h 1 2", "b h 2 3", "c h 3 1"), None, (4, 4)),
        (("a h 1 2", "b h 2 3", "a g 1 2", "b g 2 1"), None, (5, 3)),
        # a chain hanging off a cycle: d waits for a, which may leave in wave 1
        (("a h 1 2", "b h 2 1", "d h 5 1"), None, (4, 3)),
        (("a h 1 2", "b h 2 1", "e h 6 5", "d h 5 1"), None, (5, 3)),
        # more moves than n + c: only "someone waits"
        (("a h 1 2", "b h 2 1"), 4, (3, 2)),
        (("a h 1 2",), 3, (1, 1)),
        (("a h 1 1",), 0, (0, 0)),
    ],
)
def test_lower_bounds(rows, moves, expected):
    inst = instance_of(*rows)
    lb_moves = expected[0]
    assert lower_bounds(inst, Scope.HOST, lb_moves if moves is None else moves) == expected


def test_lower_bounds_global_scope():
    # Under host scope two independent moves; under global, a 2-cycle across hosts.
    inst = instance_of("a h1 1 2", "b h2 2 1")
    assert lower_bounds(inst, Scope.HOST, 2) == (2, 1)
    assert lower_bounds(inst, Scope.GLOBAL, 3) == (3, 3)
    # One service on two hosts wanted by another: not a simple cycle, so only 2 for the SCC.
    fan = instance_of("a h1 1 2", "a h2 1 2", "b h1 2 1")
    assert lower_bounds(fan, Scope.GLOBAL, 4) == (4, 2)


def test_lower_bound_with_cap():
    inst = instance_of("a h 1 2", "b h 3 4", "c h 5 6")
    assert lower_bounds(inst, Scope.HOST, 3, cap=2) == (3, 2)
    assert lower_bounds(inst, Scope.HOST, 3, cap=None) == (3, 1)


# ---- size -------------------------------------------------------------------------------------


def test_large_plan_is_verified_quickly():
    """30k bindings in chains of 3 on 100 hosts (100k takes about three times as long)."""
    bindings, goals, steps = [], [], []
    per_host = 300
    for h in range(100):
        host = f"h{h}"
        for k in range(per_host):
            port = 1000 + k
            target = port + 1 if k % 3 != 2 else port + 10_000
            bindings.append(Binding(f"s{k}", host, port))
            goals.append(Goal(f"s{k}", host, port, target))
    for wave in (1, 2, 3):
        for g in goals:
            if (g.from_port - 1000) % 3 == 3 - wave:
                steps.append((wave, g))
    numbered = tuple(
        Step(n, w, g.service, g.host, g.from_port, g.to_port, StepKind.MOVE)
        for n, (w, g) in enumerate(steps, start=1)
    )
    inst = Instance(tuple(bindings), tuple(goals))
    started = time.perf_counter()
    m = assert_valid(inst, numbered)
    assert time.perf_counter() - started < 20
    assert (m.moves, m.waves, m.lower_bound_waves) == (30_000, 3, 3)


# ---- the two independent bound implementations agree ----------------------------------------


@st.composite
def medium_instances(draw):
    """Up to 3 hosts x 8 services on ports 1..10, with collisions, fixed ones and retirements."""
    rows = []
    for host in ("h1", "h2", "h3")[: draw(st.integers(1, 3))]:
        services = draw(st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True))
        news = draw(st.permutations(range(1, 11)))
        olds = draw(st.permutations(range(1, 11)))
        for s, old, new in zip(services, olds, news, strict=False):  # services may be fewer
            shape = draw(st.sampled_from(["perm", "perm", "perm", "keep", "retire", "collide"]))
            old = draw(st.integers(1, 10)) if shape == "collide" else old
            target = "-" if shape == "retire" else str(old if shape == "keep" else new)
            rows.append(f"{s} {host} {old} {target}")
    return instance_of(*rows)


@settings(max_examples=300, deadline=None)
@given(
    medium_instances(),
    st.sampled_from(list(Scope)),
    st.sampled_from([None, 1, 3]),
    st.integers(0, 3),
)
def test_bounds_agree_with_problem(inst, scope, cap, extra):
    from reorg.model import ReorgError
    from reorg.problem import build_problem, lower_bound_moves, lower_bound_waves

    options = PlanOptions(scope=scope, max_per_wave=cap)
    try:
        problem = build_problem(inst, options)
    except ReorgError:
        return
    lb = lower_bound_moves(problem)
    moves = lb + extra
    assert lower_bounds(inst, scope, moves, cap) == (lb, lower_bound_waves(problem, moves))
