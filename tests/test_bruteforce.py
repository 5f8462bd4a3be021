"""The brute-force oracle gives the known answers, and its optimal plans agree with the verifier.

The cross-checks run both ways: every optimal plan the oracle finds passes ``verify``; merging any
two adjacent waves of it (which would beat the optimum) or dropping a step must fail ``verify``;
and the verifier's lower bounds never exceed the oracle's optimum (and equal it on clean
instances, where docs/theory.md says the bounds are exact).
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bruteforce import (
    brute_force,
    brute_force_plan,
    brute_force_waves_first,
    hand_metrics,
    instance_of,
)
from reorg.model import Instance, PairMode, Plan, PlanOptions, Scope, Step
from reorg.verify import lower_bounds, verify

HOST, GLOBAL = PlanOptions(), PlanOptions(scope=Scope.GLOBAL)


def as_plan(instance: Instance, options: PlanOptions, steps: tuple[Step, ...]) -> Plan:
    """The oracle's steps with metrics counted by hand (``hand_metrics``), not by ``verify``."""
    return Plan("oracle", options, steps, hand_metrics(instance, options, steps))


def renumber(steps) -> tuple[Step, ...]:
    return tuple(replace(s, step=n) for n, s in enumerate(steps, start=1))


# ---- known answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, options, moves_first, waves_first",
    [
        # waves first, the middle of a chain steps aside: 4 moves in 2 waves
        (("a h 1 2", "b h 2 3", "c h 3 4"), HOST, (3, 3), (2, 4)),
        (("a h 1 2", "b h 2 1"), HOST, (3, 3), (2, 4)),
        (("a h 1 2", "b h 2 3", "c h 3 1"), HOST, (4, 4), (2, 6)),
        (("a h 1 2", "b h 2 3", "a g 1 2", "b g 2 1"), HOST, (5, 3), (2, 6)),
        (("a h 1 2", "b h 3 4"), PlanOptions(max_per_wave=1), (2, 2), (2, 2)),
        (("a h 1 -", "b h 2 1"), HOST, (2, 2), (2, 2)),
        (("a h 1 2", "b h 1 1"), HOST, (1, 1), (1, 1)),
        # two hosts sharing port numbers: independent under host scope, a 2-cycle under global
        (("a h1 1 2", "b h2 2 1"), HOST, (2, 1), (1, 2)),
        (("a h1 1 2", "b h2 2 1"), GLOBAL, (3, 3), (2, 4)),
        # under global scope a service's own binding elsewhere never blocks it
        (("a h1 1 2", "a h2 2 3"), GLOBAL, (2, 1), (1, 2)),
    ],
)
def test_known_optima(rows, options, moves_first, waves_first):
    inst = instance_of(*rows)
    assert brute_force(inst, options) == moves_first
    assert brute_force_waves_first(inst, options) == waves_first


def test_hard_pair_forces_an_extra_temp():
    # The frontend's goal is its backend's current port, and both move: arriving together
    # means the backend must first step aside to a temp port.
    inst = instance_of("f h 1 2", "b h 2 3", pairs=[("f", "b")])
    assert brute_force(inst, HOST) == (3, 2)
    assert brute_force(inst, PlanOptions(pairs=PairMode.SOFT)) == (2, 2)


def test_infeasible_instances_give_none():
    assert brute_force(instance_of("a h 1 2", "b h 2 2"), HOST) is None  # goal held by a fixed one
    assert brute_force(instance_of("a h 1 3", "b h 2 3"), HOST) is None  # same target
    assert brute_force(instance_of("a h 1 2", reservations=[("r", None, 2)]), HOST) is None
    no_pool = PlanOptions(temp_ports=(1, 2))  # every pool port is named in the table
    assert brute_force(instance_of("a h 1 2", "b h 2 1"), no_pool) is None


def test_scarce_temp_pool_costs_waves():
    two_swaps = instance_of("a h 1 2", "b h 2 1", "c h 3 4", "d h 4 3")
    assert brute_force(two_swaps, HOST) == (6, 3)
    one_temp = PlanOptions(temp_ports=(39000, 39000))
    assert brute_force(two_swaps, one_temp) == (6, 6)
    # Under global scope a temp port holds one binding at a time, even of one service.
    same_service = instance_of("a h 1 2", "b h 2 1", "a g 3 4", "b g 4 3")
    one_global = PlanOptions(scope=Scope.GLOBAL, temp_ports=(39000, 39000))
    assert brute_force(same_service, one_global) == (6, 6)
    assert brute_force(same_service, PlanOptions(temp_ports=(39000, 39000))) == (6, 3)
    two_services = instance_of("a h 1 2", "b h 2 1", "c g 3 4", "d g 4 3")
    assert brute_force(two_services, one_global) == (6, 6)


def test_too_many_movers_is_refused():
    inst = instance_of(*(f"s{k} h {k} {k + 100}" for k in range(6)))
    with pytest.raises(ValueError):
        brute_force(inst, HOST)


def test_oracle_plans_of_the_known_cases_verify():
    for rows in (("a h 1 2", "b h 2 3", "c h 3 1"), ("a h 1 2", "b h 2 3", "a g 1 2", "b g 2 1")):
        inst = instance_of(*rows)
        for waves_first in (False, True):
            _, steps = brute_force_plan(inst, HOST, waves_first=waves_first)
            verdict = verify(as_plan(inst, HOST, steps), inst)
            assert verdict.ok, verdict.violations


# ---- random tiny instances --------------------------------------------------------------------


@st.composite
def tiny_cases(draw, clean: bool = False):
    """At most 5 movers on 1-2 hosts, ports 1..5, goals mostly a permutation of the ports.

    ``clean``: host scope, no collision, no cap, no pairs, no reservation, default temp pool.
    Otherwise rows may also keep, collide or aim anywhere, and every option varies.
    """
    hosts = draw(st.sampled_from([("h1",), ("h1", "h2")]))
    shapes = ["perm", "perm", "perm", "retire"] + ([] if clean else ["keep", "collide", "anywhere"])
    rows, movers = [], 0
    for host in hosts:
        services = draw(st.lists(st.sampled_from("abcde"), min_size=1, max_size=5, unique=True))
        olds = draw(st.permutations(range(1, 6)))
        news = draw(st.permutations(range(1, 6)))
        for s, old, new in zip(services, olds, news, strict=False):  # services may be fewer
            shape = draw(st.sampled_from(shapes))
            if shape == "collide":
                old = draw(st.integers(1, 5))
            elif shape == "anywhere":
                new = draw(st.integers(1, 5))
            target = "-" if shape == "retire" else str(old if shape == "keep" else new)
            if target != str(old):
                if movers == 5:
                    continue
                movers += 1
            rows.append(f"{s} {host} {old} {target}")
    if clean:
        return instance_of(*rows), PlanOptions()
    name = st.sampled_from("abcde")
    pairs = draw(st.lists(st.tuples(name, name), max_size=2))
    where = st.sampled_from([None, "h1", "h2"])
    reserve = st.tuples(st.sampled_from("rab"), where, st.integers(1, 6))
    reservations = draw(st.lists(reserve, max_size=1))
    options = PlanOptions(
        scope=draw(st.sampled_from(list(Scope))),
        max_per_wave=draw(st.sampled_from([None, None, 1, 2, 3])),
        pairs=draw(st.sampled_from(list(PairMode))),
        temp_ports=draw(st.sampled_from([(39000, 39099)] * 2 + [(39000, 39000), (39000, 39001)])),
    )
    inst = instance_of(*rows, reservations=reservations, pairs=[p for p in pairs if p[0] != p[1]])
    return inst, options


def check_against_verify(inst: Instance, options: PlanOptions, waves_first: bool):
    found = brute_force_plan(inst, options, waves_first=waves_first)
    if found is None:
        return None
    figures, steps = found
    plan = as_plan(inst, options, steps)
    verdict = verify(plan, inst)
    assert verdict.ok, (inst, options, steps, verdict.violations)
    moves, waves = (figures[1], figures[0]) if waves_first else figures
    assert (verdict.metrics.moves, verdict.metrics.waves) == (moves, waves)
    # A plan that beats the optimum cannot be valid: merge adjacent waves, or drop a step.
    for w in range(1, waves):
        merged = renumber(replace(s, wave=s.wave - 1 if s.wave > w else s.wave) for s in steps)
        assert not verify(as_plan(inst, options, merged), inst).ok, ("merge", w, steps)
    for k in range(len(steps)):
        fewer = renumber(steps[:k] + steps[k + 1:])
        assert not verify(as_plan(inst, options, fewer), inst).ok, ("drop", k, steps)
    return moves, waves, verdict.metrics


# ORACLE_EXAMPLES=5000 for a long hunt; the default keeps the suite fast.
SLOW = settings(
    max_examples=int(os.environ.get("ORACLE_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SLOW
@given(tiny_cases())
def test_oracle_plans_verify_and_bounds_hold(case):
    inst, options = case
    best = check_against_verify(inst, options, waves_first=False)
    fast = check_against_verify(inst, options, waves_first=True)
    if best is None:
        assert fast is None
        return
    moves, waves, metrics = best
    assert metrics.lower_bound_moves <= moves
    assert metrics.lower_bound_waves <= waves
    f_moves, f_waves, f_metrics = fast
    assert f_waves <= waves and f_moves >= moves
    assert f_metrics.lower_bound_waves <= f_waves
    # The n + c bound is a bound on every plan, whatever its wave count.
    assert lower_bounds(inst, options.scope, f_moves, options.max_per_wave)[0] <= moves


@SLOW
@given(tiny_cases(clean=True))
def test_bounds_are_exact_on_clean_instances(case):
    """Host scope, no collision, no cap, no pairs, enough temps: optimum == (n + c, wave bound)."""
    inst, options = case
    best = brute_force(inst, options)
    assert best is not None
    lb_moves, lb_waves = lower_bounds(inst, options.scope, best[0])
    assert best == (lb_moves, lb_waves)
