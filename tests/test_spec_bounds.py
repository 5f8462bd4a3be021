"""The lower bounds as a spec: never above the true optimum (brute force), and equal to it where
the theory says they are exact (docs/theory.md). Both implementations are held to it: the
planners' (``reorg.problem``) and the verifier's (``reorg.verify.lower_bounds``).

A bound raised too high would only flip a plan's ``optimal`` flag, which no other test reads
against an independent figure; these kill such mutants (``python bench/mutate.py --target
bounds``; bench/MUTATION.md).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruteforce import brute_force, brute_force_waves_first, instance_of
from reorg.model import PairMode, PlanOptions, ReorgError, Scope
from reorg.problem import (
    build_problem,
    cyclic_components,
    lower_bound_moves,
    lower_bound_waves,
    lower_bound_waves_any,
)
from reorg.verify_bounds import lower_bounds
from shapes import shaped

EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "200"))
ORACLE = settings(max_examples=EXAMPLES, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
POOLS = [(39000, 39099), (39000, 39000), (39000, 39001)]


def both_bounds(inst, options, moves):
    """(problem's (n + c, waves), verify's) for plans of ``moves`` moves."""
    problem = build_problem(inst, options)
    mine = (lower_bound_moves(problem), lower_bound_waves(problem, moves))
    theirs = lower_bounds(inst, options.scope, moves, options.max_per_wave, options.temp_ports)
    return problem, mine, theirs


# ---- exact on the clean theory ------------------------------------------------------------------


@ORACLE
@given(shaped(pairs=False))
def test_clean_shapes_bounds_equal_hand_count_and_brute_force(case):
    """Host scope, no cap, no pairs, enough temps: moves = n + c, and the fewest waves of such
    a plan = max(longest chain, longest cycle + 1), counted by hand from the shapes."""
    inst, options = case.instance, PlanOptions()
    best = brute_force(inst, options)
    assert best == case.expected, (case.parts, best)
    _, mine, theirs = both_bounds(inst, options, best[0])
    assert mine == theirs == best, (case.parts, mine, theirs, best)


@ORACLE
@given(shaped(pairs=False))
def test_clean_shapes_waves_first_is_two_when_anyone_waits(case):
    inst, options = case.instance, PlanOptions()
    waves, _ = brute_force_waves_first(inst, options)
    problem = build_problem(inst, options)
    anyone_waits = any(problem.blockers[i] for i in problem.movers) or problem.shared_leavers
    expected = (2 if anyone_waits else 1) if problem.movers else 0
    assert lower_bound_waves_any(problem) == waves == expected


@pytest.mark.parametrize(
    "rows, pool, waves",
    [
        # each swap holds its one temp port 3 waves, one after the other
        (("a h 1 2", "b h 2 1"), (39000, 39000), 3),
        (("a h 1 2", "b h 2 1", "c h 3 4", "d h 4 3"), (39000, 39000), 6),
        (("a h 1 2", "b h 2 1", "c h 3 4", "d h 4 3"), (39000, 39001), 3),
        # a 3-cycle holds 4 waves and a swap 3: 7 on one port
        (("a h 1 2", "b h 2 3", "c h 3 1", "d h 4 5", "e h 5 4"), (39000, 39000), 7),
    ],
)
def test_scarce_pool_bound_is_exact_on_one_host(rows, pool, waves):
    inst = instance_of(*rows)
    options = PlanOptions(temp_ports=pool)
    best = brute_force(inst, options)
    assert best[1] == waves
    _, mine, theirs = both_bounds(inst, options, best[0])
    assert mine == theirs == best


def test_pool_bound_under_global_scope_counts_every_host_together():
    # two swaps on two hosts, one temp port for the whole fleet under global scope
    inst = instance_of("a h1 1 2", "b h1 2 1", "c h2 11 12", "d h2 12 11")
    for scope, waves in ((Scope.HOST, 3), (Scope.GLOBAL, 6)):
        options = PlanOptions(scope=scope, temp_ports=(39000, 39000))
        best = brute_force(inst, options)
        assert best == (6, waves)
        _, mine, theirs = both_bounds(inst, options, 6)
        assert mine == theirs == best


def test_global_scope_cycle_across_hosts_and_a_chain_of_three():
    # under global scope a@h1 and b@h2 swap (each wants the port the other service holds);
    # e@h2 waits for c@h3, which waits for d@h1: a chain of three, counted across hosts
    inst = instance_of("a h1 1 2", "b h2 2 1", "d h1 3 9", "c h3 5 3", "e h2 6 5")
    options = PlanOptions(scope=Scope.GLOBAL)
    assert brute_force(inst, options) == (6, 3)  # hand count: 5 movers + 1 cycle; max(3, 2 + 1)
    _, mine, theirs = both_bounds(inst, options, 6)
    assert mine == theirs == (6, 3)
    assert lower_bounds(inst, Scope.HOST, 5) == (5, 1)  # no arrows at all under host scope


def test_global_scope_three_cycle_and_swap_across_hosts():
    inst = instance_of("a h1 1 2", "b h2 2 3", "c h3 3 1", "x h1 8 9", "y h2 9 8")
    options = PlanOptions(scope=Scope.GLOBAL)
    assert brute_force(inst, options) == (7, 4)  # hand count: 5 + 2 moves; max(3 + 1, 2 + 1)
    _, mine, theirs = both_bounds(inst, options, 7)
    assert mine == theirs == (7, 4)
    one_port = PlanOptions(scope=Scope.GLOBAL, temp_ports=(39000, 39000))
    assert brute_force(inst, one_port) == (7, 7)  # the two holds, 4 + 3 waves, one after another
    _, mine, theirs = both_bounds(inst, one_port, 7)
    assert mine == theirs == (7, 7)


# ---- never above the optimum ----------------------------------------------------------------------


@st.composite
def shaped_cases(draw):
    case = draw(shaped())
    options = PlanOptions(
        scope=draw(st.sampled_from(list(Scope))),
        max_per_wave=draw(st.sampled_from([None, None, 1, 2, 3])),
        pairs=draw(st.sampled_from(list(PairMode))),
        temp_ports=draw(st.sampled_from(POOLS)),
    )
    return case, options


@ORACLE
@given(shaped_cases())
def test_bounds_never_above_brute_force(case_options):
    case, options = case_options
    inst = case.instance
    try:
        problem = build_problem(inst, options)
    except ReorgError:
        assert brute_force(inst, options) is None
        return
    best = brute_force(inst, options)
    fastest = brute_force_waves_first(inst, options)
    if best is None:
        assert fastest is None
        return
    moves, waves = best
    _, mine, theirs = both_bounds(inst, options, moves)
    assert mine == theirs
    assert mine[0] <= moves and mine[1] <= waves, (case.parts, options, mine, best)
    f_waves, f_moves = fastest
    assert lower_bound_waves_any(problem) <= f_waves, (case.parts, options, fastest)
    assert lower_bound_waves(problem, f_moves) <= f_waves
    assert lower_bounds(inst, options.scope, f_moves, options.max_per_wave,
                        options.temp_ports)[1] <= f_waves
    if options.max_per_wave is None and options.pairs is PairMode.SOFT and case.clean and (
        options.scope is Scope.HOST and options.temp_ports == POOLS[0]
    ):
        assert mine == best


@pytest.mark.parametrize("cap, waves", [(1, 4), (2, 2), (3, 2), (4, 1)])
def test_cap_bound_is_exact_on_independent_moves(cap, waves):
    inst = instance_of("a h 1 2", "b h 3 4", "c h 5 6", "d h 7 8")
    options = PlanOptions(max_per_wave=cap)
    best = brute_force(inst, options)
    assert best == (4, waves)
    problem, mine, theirs = both_bounds(inst, options, 4)
    assert mine == theirs == best
    assert lower_bound_waves_any(problem) == brute_force_waves_first(inst, options)[0] == waves


def test_bounds_of_nothing_to_do_are_zero():
    inst = instance_of("a h 1 1", "b h 2 2")
    problem = build_problem(inst, PlanOptions())
    assert (lower_bound_moves(problem), lower_bound_waves(problem)) == (0, 0)
    assert lower_bound_waves_any(problem) == 0
    assert lower_bounds(inst, Scope.HOST, 0) == (0, 0)


def test_two_leavers_of_one_port_need_two_waves_even_with_temps():
    inst = instance_of("a h 1 2", "b h 1 3")
    problem = build_problem(inst, PlanOptions())
    assert brute_force_waves_first(inst, PlanOptions()) == (2, 2)
    assert lower_bound_waves_any(problem) == 2


def test_the_temp_pool_example_of_docs_semantics():
    """docs/semantics.md: ten swaps on one host with --temp-ports 39000-39002 need 12 waves."""
    rows = [f"a{k} h {10 * k + 1} {10 * k + 2}" for k in range(10)]
    rows += [f"b{k} h {10 * k + 2} {10 * k + 1}" for k in range(10)]
    inst = instance_of(*rows)
    options = PlanOptions(temp_ports=(39000, 39002))
    _, mine, theirs = both_bounds(inst, options, 30)
    assert mine == theirs == (30, 12)
    assert lower_bounds(inst, Scope.HOST, 30) == (30, 3)  # without the pool term


# ---- shapes the drawn cases rarely build (each kills a mutant of bench/mutate.py) -------------


def test_a_goal_port_inside_the_temp_range_is_not_a_temp_port():
    # c moves onto 39000, so of 39000-39001 only 39001 is a temp port: the two swaps take it
    # one after the other, 3 waves each (with 39000 counted free they would overlap: 3 waves)
    inst = instance_of("a h 1 2", "b h 2 1", "d h 3 4", "e h 4 3", "c h 5 39000")
    options = PlanOptions(temp_ports=(39000, 39001))
    assert brute_force(inst, options) == (7, 6)  # hand count: 5 movers + 2 cycles; 2 x 3 waves
    _, mine, theirs = both_bounds(inst, options, 7)
    assert mine == theirs == (7, 6)


def test_a_cycle_that_is_not_simple_holds_its_temp_two_waves_in_the_pool_bound():
    # global scope: b runs on h2 and h3, so a -> {b@h2, b@h3} -> a is one component of three
    # bindings and four arrows (not a simple cycle); its temp counts 2 waves (docs/semantics.md:
    # "at least 2"), the swap's 3: one temp port for both gives ceil((2 + 3) / 1) = 5 waves
    inst = instance_of("a h1 1 2", "b h2 2 1", "b h3 2 1", "c h4 11 12", "d h4 12 11")
    options = PlanOptions(scope=Scope.GLOBAL, temp_ports=(39000, 39000))
    best = brute_force(inst, options)
    assert best == (7, 6)  # hand count: 5 movers + 2 components; the holds 3 and 3, one after another
    _, mine, theirs = both_bounds(inst, options, 7)
    assert mine == theirs == (7, 5)
    assert mine[1] <= best[1]


def test_a_chain_hanging_off_a_cycle_starts_after_the_cycles_first_wave():
    # global scope: a@h1 and c@h2 swap through a temp; c@h3 also wants port 1 (a's), so it
    # lands in wave 2 at the earliest, d (wants c's 3) in 3, e (wants d's 4) in 4
    inst = instance_of("a h1 1 2", "c h2 2 1", "c h3 3 1", "d h4 4 3", "e h5 5 4")
    options = PlanOptions(scope=Scope.GLOBAL)
    assert brute_force(inst, options) == (6, 4)  # hand count: 5 movers + 1 cycle; chain 1 + 3
    _, mine, theirs = both_bounds(inst, options, 6)
    assert mine == theirs == (6, 4)


def test_a_mover_waits_for_the_last_holder_of_its_goal_port():
    # global scope: z wants port 1, which x (leaves in wave 1) and y (waits for w: leaves in
    # wave 2) both hold, so z lands in wave 3, not 2
    inst = instance_of("x h1 1 9", "y h2 1 2", "w h2 2 7", "z h3 3 1")
    options = PlanOptions(scope=Scope.GLOBAL)
    assert brute_force(inst, options) == (4, 3)
    _, mine, theirs = both_bounds(inst, options, 4)
    assert mine == theirs == (4, 3)


def test_a_cycle_member_also_waiting_on_a_chain_counts_as_leaving_in_wave_one():
    # a and b swap ports 1 and 2; c shares port 2 with b and waits for d, which waits for e.
    # The chain term (docs/semantics.md) counts acyclic movers only: e 1, d 2, c 3, so with the
    # swap's 3 the bound is 3; a really lands in wave 4 (after c leaves 2), which no term states
    inst = instance_of("a h 1 2", "b h 2 1", "c h 2 3", "d h 3 4", "e h 4 5")
    options = PlanOptions()
    assert brute_force(inst, options) == (6, 4)
    _, mine, theirs = both_bounds(inst, options, 6)
    assert mine == theirs == (6, 3)


def components_by_reachability(nodes, arrows):
    """Non-trivial strongly connected components by brute force: u and v are together when
    each reaches the other (transitive closure over every node)."""
    reach = {u: {v for v in arrows.get(u, ()) if v in nodes} for u in nodes}
    for k in nodes:
        for u in nodes:
            if k in reach[u]:
                reach[u] |= reach[k]
    groups = {tuple(sorted(v for v in nodes if v == u or (v in reach[u] and u in reach[v]))) for u in nodes}
    return tuple(sorted(g for g in groups if len(g) > 1))


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(1, 7).flatmap(lambda n: st.tuples(
    st.permutations(range(n)),
    st.lists(st.lists(st.integers(0, n), max_size=3, unique=True), min_size=n, max_size=n),
)))
def test_cyclic_components_are_the_mutually_reachable_groups(graph):
    order, lists = graph
    # blockers of each node (a node n, outside the movers, is a binding that does not move)
    blockers = {i: tuple(lists[i]) for i in range(len(order))}
    assert cyclic_components(order, blockers) == components_by_reachability(set(order), blockers)


def test_a_cycle_that_is_not_simple_alone_gets_the_any_cycle_two():
    # the component of a@h1 and b@h2, b@h3 (global scope) is not simple: the documented terms
    # give 2 ("2 if there is any non-trivial SCC", its hold 2 in a 100-port pool); it takes 3
    inst = instance_of("a h1 1 2", "b h2 2 1", "b h3 2 1")
    options = PlanOptions(scope=Scope.GLOBAL)
    assert brute_force(inst, options) == (4, 3)
    _, mine, theirs = both_bounds(inst, options, 4)
    assert mine == theirs == (4, 2)
