"""Named scenarios for the greedy strategy: exact steps and metrics where the case is small.

Each plan is also replayed by the verifier, which shares no code with greedy.
"""

from __future__ import annotations

import pytest

from reorg.generate import generate
from reorg.model import (
    Binding,
    Goal,
    Instance,
    PairMode,
    PlanOptions,
    ReorgError,
    Reservation,
    Scope,
    StepKind,
)
from reorg.planners.greedy import plan_greedy
from reorg.problem import build_problem
from reorg.verify import verify

MOVE, TO_TEMP, FROM_TEMP, RETIRE = (StepKind.MOVE, StepKind.TO_TEMP, StepKind.FROM_TEMP, StepKind.RETIRE)


def instance(*rows, pairs=(), reservations=()) -> Instance:
    """Rows are (service, host, port, goal port); goal None retires the binding."""
    bindings = tuple(Binding(s, h, p, line=k + 2) for k, (s, h, p, _) in enumerate(rows))
    goals = tuple(Goal(s, h, p, g) for s, h, p, g in rows)
    return Instance(bindings, goals, tuple(reservations), tuple(pairs))


def plan(inst: Instance, **options):
    problem = build_problem(inst, PlanOptions(**options))
    result = plan_greedy(problem)
    verdict = verify(result, inst)
    assert verdict.ok, verdict.violations
    return result, problem


def steps(result) -> list[tuple]:
    """(wave, service, host, from, to, kind) in plan order."""
    return [(s.wave, s.service, s.host, s.from_port, s.to_port, s.kind) for s in result.steps]


def figures(result) -> tuple[int, int, int, int]:
    m = result.metrics
    return (m.moves, m.temp_moves, m.waves, m.lower_bound_moves)


def test_chain_runs_from_its_free_end():
    inst = instance(("b", "h", 3000, 3001), ("a", "h", 3001, 3002))
    result, _ = plan(inst)
    assert steps(result) == [(1, "a", "h", 3001, 3002, MOVE), (2, "b", "h", 3000, 3001, MOVE)]
    assert figures(result) == (2, 0, 2, 2)
    assert result.metrics.lower_bound_waves == 2 and result.metrics.optimal


def test_swap_uses_one_temp_port():
    inst = instance(("a", "h", 3001, 3002), ("b", "h", 3002, 3001))
    result, problem = plan(inst)
    assert steps(result) == [
        (1, "a", "h", 3001, 39000, TO_TEMP),
        (2, "b", "h", 3002, 3001, MOVE),
        (3, "a", "h", 39000, 3002, FROM_TEMP),
    ]
    assert figures(result) == (3, 1, 3, 3)
    assert result.metrics.moves == problem.n + problem.c


def test_three_cycle_takes_k_plus_one_moves():
    inst = instance(("a", "h", 3001, 3002), ("b", "h", 3002, 3003), ("c", "h", 3003, 3001))
    result, problem = plan(inst)
    assert steps(result) == [
        (1, "a", "h", 3001, 39000, TO_TEMP),
        (2, "c", "h", 3003, 3001, MOVE),
        (3, "b", "h", 3002, 3003, MOVE),
        (4, "a", "h", 39000, 3002, FROM_TEMP),
    ]
    assert (problem.n, problem.c) == (3, 1)
    assert figures(result) == (4, 1, 4, 4)


def test_two_hosts_sharing_a_port_number_do_not_block_each_other():
    # The same numbers cross on two hosts: under host scope these are two fresh moves.
    inst = instance(("a", "h1", 3001, 3002), ("b", "h2", 3002, 3001))
    result, _ = plan(inst)
    assert steps(result) == [(1, "a", "h1", 3001, 3002, MOVE), (2, "b", "h2", 3002, 3001, MOVE)]
    assert result.metrics.temp_moves == 0


def test_swaps_on_two_hosts_each_get_the_lowest_temp_port_of_their_host():
    inst = instance(
        ("a", "h1", 3001, 3002), ("b", "h1", 3002, 3001),
        ("c", "h2", 3001, 3002), ("d", "h2", 3002, 3001),
    )
    result, problem = plan(inst)
    temps = [(s.host, s.to_port) for s in result.steps if s.kind is TO_TEMP]
    assert temps == [("h1", 39000), ("h2", 39000)]
    assert result.metrics.moves == problem.n + problem.c == 6


def test_one_temp_port_serves_cycles_one_after_another():
    inst = instance(
        ("a", "h", 3001, 3002), ("b", "h", 3002, 3001),
        ("c", "h", 3003, 3004), ("d", "h", 3004, 3005), ("e", "h", 3005, 3003),
    )
    result, problem = plan(inst, temp_ports=(39000, 39000))
    assert [s.to_port for s in result.steps if s.kind is TO_TEMP] == [39000, 39000]
    assert result.metrics.moves == problem.n + problem.c == 7


def test_retirement_frees_a_port_for_another():
    inst = instance(("a", "h", 3002, 3001), ("old", "h", 3001, None))
    result, _ = plan(inst)
    assert steps(result) == [(1, "old", "h", 3001, None, RETIRE), (2, "a", "h", 3002, 3001, MOVE)]
    assert figures(result) == (2, 0, 2, 2)


def test_initial_collision_is_resolved_before_anyone_takes_the_port():
    # a and b collide on 3001; both leave, then c takes 3001.
    inst = instance(
        ("c", "h", 3004, 3001), ("a", "h", 3001, 3002), ("b", "h", 3001, 3003),
    )
    result, problem = plan(inst)
    assert steps(result) == [
        (1, "a", "h", 3001, 3002, MOVE),
        (2, "b", "h", 3001, 3003, MOVE),
        (3, "c", "h", 3004, 3001, MOVE),
    ]
    assert problem.blockers[0] == (1, 2)


def test_collision_where_one_keeps_the_port():
    inst = instance(("a", "h", 3001, 3001), ("b", "h", 3001, 3002))
    result, _ = plan(inst)
    assert steps(result) == [(1, "b", "h", 3001, 3002, MOVE)]


def test_global_scope_other_hosts_block_but_the_same_service_does_not():
    inst = instance(
        ("t", "h2", 3004, 3001),  # wants 3001, which s holds on h1
        ("s", "h1", 3001, 3002),  # wants 3002, which s itself holds on h2: no wait
        ("s", "h2", 3002, 3003),
    )
    by_host, _ = plan(inst, scope=Scope.HOST)
    assert steps(by_host) == [
        (1, "t", "h2", 3004, 3001, MOVE),
        (2, "s", "h1", 3001, 3002, MOVE),
        (3, "s", "h2", 3002, 3003, MOVE),
    ]
    by_port, problem = plan(inst, scope=Scope.GLOBAL)
    assert steps(by_port) == [
        (1, "s", "h1", 3001, 3002, MOVE),
        (2, "t", "h2", 3004, 3001, MOVE),
        (3, "s", "h2", 3002, 3003, MOVE),
    ]
    assert problem.blockers[1] == () and problem.blockers[0] == (1,)


def test_global_scope_interlocked_cycles_need_a_temp_port_per_host():
    # s and t swap on two hosts. Under global scope every s waits on every t and back, so two
    # temps are needed (n + c = 5 is not reachable), and a temp port holds one binding at a
    # time even for one service: both s go to temp, on distinct ports.
    inst = instance(
        ("s", "h1", 3001, 3002), ("t", "h1", 3002, 3001),
        ("s", "h2", 3001, 3002), ("t", "h2", 3002, 3001),
    )
    result, problem = plan(inst, scope=Scope.GLOBAL)
    assert (problem.n, problem.c) == (4, 1)
    assert figures(result) == (6, 2, 6, 5)
    temps = [(s.service, s.host, s.to_port) for s in result.steps if s.kind is TO_TEMP]
    assert temps == [("s", "h1", 39000), ("s", "h2", 39001)]
    with pytest.raises(ReorgError, match="every temp port of 39000-39000 on all hosts is held"):
        plan(inst, scope=Scope.GLOBAL, temp_ports=(39000, 39000))


def test_hard_pair_moves_together_in_one_wave():
    inst = instance(("f", "h", 5001, 5011), ("b", "h", 3001, 3011), pairs=[("f", "b")])
    hard, _ = plan(inst)
    assert steps(hard) == [(1, "b", "h", 3001, 3011, MOVE), (1, "f", "h", 5001, 5011, MOVE)]
    assert (hard.metrics.waves, hard.metrics.pairs_split) == (1, 0)
    soft, _ = plan(inst, pairs=PairMode.SOFT)
    assert (soft.metrics.waves, soft.metrics.pairs_split) == (2, 1)


def test_hard_pair_waits_for_both_goals():
    # f is free to go, but b waits for x, so f waits too.
    inst = instance(
        ("f", "h", 5001, 5011), ("b", "h", 3001, 3011), ("x", "h", 3011, 3021), pairs=[("f", "b")]
    )
    result, _ = plan(inst)
    assert steps(result) == [
        (1, "x", "h", 3011, 3021, MOVE),
        (2, "b", "h", 3001, 3011, MOVE),
        (2, "f", "h", 5001, 5011, MOVE),
    ]


def test_pair_that_blocks_itself_sends_the_blocking_member_to_temp():
    # f wants b's current port: in one wave they would both touch 3002.
    inst = instance(("f", "h", 3001, 3002), ("b", "h", 3002, 3003), pairs=[("f", "b")])
    hard, problem = plan(inst)
    assert problem.c == 0
    assert steps(hard) == [
        (1, "b", "h", 3002, 39000, TO_TEMP),
        (2, "b", "h", 39000, 3003, FROM_TEMP),
        (2, "f", "h", 3001, 3002, MOVE),
    ]
    assert figures(hard) == (3, 1, 2, 2)
    soft, _ = plan(inst, pairs=PairMode.SOFT)
    assert steps(soft) == [(1, "b", "h", 3002, 3003, MOVE), (2, "f", "h", 3001, 3002, MOVE)]


def test_paired_swap_needs_two_temps():
    inst = instance(("f", "h", 3001, 3002), ("b", "h", 3002, 3001), pairs=[("f", "b")])
    result, _ = plan(inst)
    assert figures(result) == (4, 2, 3, 3)
    assert [s.wave for s in result.steps if s.kind is FROM_TEMP] == [3, 3]


def test_hard_pair_with_cap_one_is_infeasible():
    inst = instance(("f", "h", 5001, 5011), ("b", "h", 3001, 3011), pairs=[("f", "b")])
    with pytest.raises(ReorgError, match=r"--pairs soft.*--max-per-wave 2"):
        plan(inst, max_per_wave=1)
    assert plan(inst, max_per_wave=2)[0].metrics.waves == 1
    assert plan(inst, max_per_wave=1, pairs=PairMode.SOFT)[0].metrics.waves == 2


def test_empty_pool_with_a_cycle_is_refused():
    # 3001 and 3002 are named by the tables, so the pool 3001-3002 has no free port.
    inst = instance(("a", "h", 3001, 3002), ("b", "h", 3002, 3001))
    with pytest.raises(ReorgError, match="--temp-ports"):
        plan(inst, temp_ports=(3001, 3002))


def test_empty_pool_with_a_self_blocking_pair_is_refused_by_greedy():
    # No cycle in the blocking graph, so only greedy sees the need for a temp port.
    inst = instance(("f", "h", 3001, 3002), ("b", "h", 3002, 3003), pairs=[("f", "b")])
    problem = build_problem(inst, PlanOptions(temp_ports=(3001, 3003)))
    assert problem.temp_pool == () and problem.c == 0
    with pytest.raises(ReorgError) as caught:
        plan_greedy(problem)
    message = str(caught.value)
    assert "\n" not in message
    assert "host h" not in message and "on h:" in message
    assert "b (3002 -> 3003)" in message and "--temp-ports" in message and "--pairs soft" in message


def test_exhausted_pool_names_who_holds_it():
    inst = instance(("f", "h", 3001, 3002), ("b", "h", 3002, 3001), pairs=[("f", "b")])
    held = r"every temp port of 39000-39000 on h is held \(by f@h\); .*--temp-ports.*--pairs soft"
    with pytest.raises(ReorgError, match=held):
        plan(inst, temp_ports=(39000, 39000))
    assert plan(inst, temp_ports=(39000, 39000), pairs=PairMode.SOFT)[0].metrics.moves == 3


def test_reserved_ports_never_serve_as_temp_ports():
    inst = instance(
        ("a", "h", 3001, 3002), ("b", "h", 3002, 3001),
        reservations=[Reservation("r", None, 39000)],
    )
    result, _ = plan(inst)
    assert [s.to_port for s in result.steps if s.kind is TO_TEMP] == [39001]


def test_no_movers_gives_an_empty_plan():
    result, _ = plan(instance(("a", "h", 3001, 3001)))
    assert result.steps == () and figures(result) == (0, 0, 0, 0)


def test_generated_instance_reaches_n_plus_c_and_is_deterministic():
    inst = generate(7, 5, 3000, collisions=0.05)
    first, problem = plan(inst)
    assert first.metrics.moves == problem.n + problem.c
    assert first.metrics.temp_moves == problem.c > 0
    again = plan_greedy(build_problem(inst, PlanOptions()))
    assert again == first
