"""The verifier as a spec: each test is a small hand-made plan or instance it must reject (or
accept with hand-counted figures), written to kill a mutant of ``reorg/verify.py`` that the rest
of the suite let live (``python bench/mutate.py --target verify``; bench/MUTATION.md).

Plans here carry metrics counted by hand in the test (``hand_metrics``) or by brute force,
never copied from ``verify()``, so a verifier that miscounts is caught too.
"""

from __future__ import annotations

import pytest

from bruteforce import brute_force, brute_force_plan, hand_metrics, instance_of
from reorg.model import (
    Binding,
    Goal,
    Instance,
    Metrics,
    PairMode,
    Plan,
    PlanOptions,
    Scope,
    Step,
    StepKind,
)
from reorg.verify import RULES, verify

HOST, GLOBAL = PlanOptions(), PlanOptions(scope=Scope.GLOBAL)
KINDS = {"move": StepKind.MOVE, "to": StepKind.TO_TEMP, "from": StepKind.FROM_TEMP,
         "retire": StepKind.RETIRE}


def steps_of(*rows: str) -> tuple[Step, ...]:
    """Steps from rows "wave kind service host from to", numbered in order."""
    out = []
    for number, row in enumerate(rows, start=1):
        wave, kind, service, host, old, new = row.split()
        out.append(Step(number, int(wave), service, host, int(old),
                        None if new == "-" else int(new), KINDS[kind]))
    return tuple(out)


def judge(instance: Instance, steps, options: PlanOptions = HOST, metrics: Metrics | None = None):
    """(rule ids, messages) of the verdict on a plan with hand-counted metrics."""
    metrics = metrics or hand_metrics(instance, options, steps)
    verdict = verify(Plan("hand", options, tuple(steps), metrics), instance)
    assert all(v.rule in RULES for v in verdict.violations)
    return {v.rule for v in verdict.violations}, " | ".join(v.message for v in verdict.violations)


def rules(instance, steps, options=HOST, metrics=None) -> set[str]:
    return judge(instance, steps, options, metrics)[0]


# ---- final state under global scope -----------------------------------------------------------


def test_global_scope_final_collision_across_hosts_is_rejected():
    # a@h1 and b@h2 both end on port 5: under global scope a port belongs to one service
    inst = instance_of("a h1 5 5", "b h2 5 5")
    found, message = judge(inst, (), GLOBAL)
    assert found == {"final-collision"}
    assert "port 5" in message and "a, b" in message
    assert rules(inst, (), HOST) == set()  # under host scope they are on different hosts


def test_global_scope_final_collision_reached_by_a_plan():
    # b leaves 5 and comes back... no: b keeps 5 on h2 while a arrives at 5 on h1
    inst = instance_of("a h1 1 5", "b h2 5 5", "c h3 7 8")
    found = rules(inst, steps_of("1 move a h1 1 5", "1 move c h3 7 8"), GLOBAL)
    assert {"port-busy", "final-collision"} <= found
    # the same service on two hosts may share a port under global scope
    own = instance_of("a h1 1 5", "a h2 5 5")
    assert rules(own, steps_of("1 move a h1 1 5"), GLOBAL) == set()


def test_final_collision_names_every_holder_on_one_host():
    inst = instance_of("a h 5 5", "b h 5 5", "c h 6 6")
    found, message = judge(inst, ())
    assert found == {"final-collision"} and "h:5" in message and "a, b" in message


# ---- temp ports -------------------------------------------------------------------------------


def test_only_from_temp_leaves_a_temp_port():
    # a steps aside to 39000 and then "moves" to its goal: the step must be a from-temp
    inst = instance_of("a h 1 2", "b h 2 1")
    steps = steps_of("1 to a h 1 39000", "2 move b h 2 1", "3 move a h 39000 2")
    found, message = judge(inst, steps)
    assert found == {"kind"} and "from-temp" in message
    fine = steps_of("1 to a h 1 39000", "2 move b h 2 1", "3 from a h 39000 2")
    assert rules(inst, fine) == set()


def test_from_temp_needs_a_temp_port_held():
    inst = instance_of("a h 1 2")
    assert rules(inst, steps_of("1 from a h 1 2")) == {"kind"}


def test_another_bindings_goal_port_is_not_a_free_temp_port():
    # c on another host aims at 39000: the pool is the range minus every port a table names,
    # so a@h may not park on 39000 (under host scope nothing else on h holds it)
    inst = instance_of("a h 1 2", "b h 2 1", "c g 5 39000")
    steps = steps_of("1 to a h 1 39000", "1 move c g 5 39000", "2 move b h 2 1",
                     "3 from a h 39000 2")
    found, message = judge(inst, steps)
    assert found == {"temp-pool"} and "named in a table" in message
    apart = steps_of("1 to a h 1 39001", "1 move c g 5 39000", "2 move b h 2 1",
                     "3 from a h 39001 2")
    assert rules(inst, apart) == set()


@pytest.mark.parametrize("port, why", [(38999, "outside"), (39100, "outside"),
                                       (39000, None), (39099, None)])
def test_temp_range_ends_are_inclusive(port, why):
    inst = instance_of("a h 1 2", "b h 2 1")
    steps = steps_of(f"1 to a h 1 {port}", "2 move b h 2 1", f"3 from a h {port} 2")
    found, message = judge(inst, steps)
    if why is None:
        assert found == set()
    else:
        assert found == {"temp-pool"} and why in message


def test_a_reservations_port_and_a_current_port_are_not_temp_ports():
    inst = instance_of("a h 1 2", "b h 2 1", "z g 39001 39001", reservations=[("r", "g", 39000)])
    for port in (39000, 39001):
        steps = steps_of(f"1 to a h 1 {port}", "2 move b h 2 1", f"3 from a h {port} 2")
        assert rules(inst, steps) == {"temp-pool"}, port


def test_a_temp_port_is_free_again_the_wave_after_its_from_temp():
    inst = instance_of("a h 1 2", "b h 2 1", "c h 3 4", "d h 4 3")
    reuse = steps_of("1 to a h 1 39000", "2 move b h 2 1", "3 from a h 39000 2",
                     "4 to c h 3 39000", "5 move d h 4 3", "6 from c h 39000 4")
    assert rules(inst, reuse) == set()
    early = steps_of("1 to a h 1 39000", "2 move b h 2 1", "3 from a h 39000 2",
                     "3 to c h 3 39000", "4 move d h 4 3", "5 from c h 39000 4")
    assert rules(inst, early) == {"wave-touch", "port-busy"}  # held through its from-temp wave


def test_global_scope_temp_port_two_services_in_one_wave():
    inst = instance_of("a h 1 2", "b h 2 1", "c g 3 4", "d g 4 3")
    steps = steps_of("1 to a h 1 39000", "1 to c g 3 39000", "2 move b h 2 1", "2 move d g 4 3",
                     "3 from a h 39000 2", "3 from c g 39000 4")
    found, message = judge(inst, steps, GLOBAL)
    assert found == {"wave-touch"} and "temp port 39000" in message


def test_global_scope_a_temp_port_held_blocks_every_other_binding():
    # c@g holds 39000 from wave 1 to 3; a@h may not take it in wave 2
    inst = instance_of("a h 1 2", "b h 2 1", "c g 3 4", "d g 4 3")
    steps = steps_of("1 to c g 3 39000", "2 to a h 1 39000", "2 move d g 4 3",
                     "3 from c g 39000 4", "3 move b h 2 1", "4 from a h 39000 2")
    found, message = judge(inst, steps, GLOBAL)
    assert found == {"port-busy"} and "c@g" in message
    assert rules(inst, steps, HOST) == set()


# ---- the five input-integrity checks and the options -------------------------------------------


def _instance(bindings, goals) -> Instance:
    return Instance(tuple(bindings), tuple(goals))


@pytest.mark.parametrize(
    "bindings, goals, text",
    [
        ([Binding("a", "h", 1)], [Goal("a", "h", 1, 2), Goal("a", "h", 1, 3)], "a@h has two goals"),
        ([Binding("a", "h", 1), Binding("a", "h", 1)], [Goal("a", "h", 1, 1)],
         "a@h has two bindings"),
        ([Binding("a", "h", 1), Binding("b", "h", 2)], [Goal("a", "h", 1, 1)], "b@h has no goal"),
        ([Binding("a", "h", 1)], [Goal("a", "h", 7, 7)],
         "a@h holds port 1, its goal starts from 7"),
        ([Binding("a", "h", 1)], [Goal("a", "h", 1, 1), Goal("b", "g", 2, 3)],
         "the goal of b@g has no binding"),
    ],
    ids=["two-goals", "two-bindings", "no-goal", "from-port-differs", "goal-without-binding"],
)
def test_input_integrity(bindings, goals, text):
    inst = _instance(bindings, goals)
    verdict = verify(Plan("hand", HOST, (), Metrics(0, 0, 0, 0, 0, False, 0)), inst)
    found = [v for v in verdict.violations if v.rule == "instance"]
    assert [v.message for v in found] == [text]


def test_consistent_instance_has_no_instance_violation():
    inst = _instance([Binding("a", "h", 1), Binding("b", "h", 2)],
                     [Goal("a", "h", 1, 1), Goal("b", "h", 2, 2)])
    assert verify(Plan("hand", HOST, (), Metrics(0, 0, 0, 0, 0, False, 0)), inst).ok


@pytest.mark.parametrize("cap", [0, -1])
def test_cap_below_one_is_reported_once_and_not_enforced(cap):
    inst = instance_of("a h 1 2", "b h 3 4")
    steps = steps_of("1 move a h 1 2", "1 move b h 3 4")
    options = PlanOptions(max_per_wave=cap)
    verdict = verify(Plan("hand", options, steps, Metrics(2, 0, 1, 2, 1, False, 0)), inst)
    assert [v.rule for v in verdict.violations] == ["options"]
    assert str(cap) in verdict.violations[0].message


def test_cap_one_is_a_valid_cap():
    inst = instance_of("a h 1 2", "b h 3 4")
    one = PlanOptions(max_per_wave=1)
    assert rules(inst, steps_of("1 move a h 1 2", "2 move b h 3 4"), one) == set()
    assert "cap" in rules(inst, steps_of("1 move a h 1 2", "1 move b h 3 4"), one,
                          Metrics(2, 0, 1, 2, 2, False, 0))


def test_cap_exactly_full_is_allowed():
    inst = instance_of("a h 1 2", "b h 3 4", "c h 5 6")
    two = PlanOptions(max_per_wave=2)
    assert rules(inst, steps_of("1 move a h 1 2", "1 move b h 3 4", "2 move c h 5 6"), two) == set()
    found, message = judge(inst, steps_of("1 move a h 1 2", "1 move b h 3 4", "1 move c h 5 6"),
                           two, Metrics(3, 0, 1, 3, 2, False, 0))
    assert "cap" in found and "wave 1 has 3 steps, at most 2" in message


# ---- numbering, waves ---------------------------------------------------------------------------


def test_wave_zero_is_refused():
    inst = instance_of("a h 1 2")
    steps = (Step(1, 0, "a", "h", 1, 2, StepKind.MOVE),)
    found, message = judge(inst, steps, metrics=Metrics(1, 0, 0, 1, 1, False, 0))
    assert "numbering" in found and "waves start at 1" in message


def test_steps_numbered_from_one():
    inst = instance_of("a h 1 2")
    steps = (Step(0, 1, "a", "h", 1, 2, StepKind.MOVE),)
    assert rules(inst, steps, metrics=Metrics(1, 0, 1, 1, 1, False, 0)) == {"numbering"}


def test_the_waves_figure_is_the_highest_wave():
    inst = instance_of("a h 1 2", "b h 2 3")
    steps = steps_of("1 move b h 2 3", "2 move a h 1 2")
    assert rules(inst, steps) == set()
    assert rules(inst, steps, metrics=Metrics(2, 0, 1, 2, 2, False, 0)) == {"metric-waves"}


# ---- what a step may do -------------------------------------------------------------------------


def test_retire_frees_the_port_at_the_next_wave_not_the_same():
    inst = instance_of("a h 1 -", "b h 2 1")
    assert rules(inst, steps_of("1 retire a h 1 -", "2 move b h 2 1")) == set()
    assert rules(inst, steps_of("1 retire a h 1 -", "1 move b h 2 1")) >= {"wave-touch"}


def test_retire_with_a_port_and_move_without_one():
    inst = instance_of("a h 1 -", "b h 2 3")
    retire_to = (Step(1, 1, "a", "h", 1, 9, StepKind.RETIRE),)
    found, message = judge(inst, retire_to, metrics=Metrics(1, 0, 1, 2, 1, False, 0))
    assert "kind" in found and "to_port null" in message
    move_nowhere = (Step(1, 1, "b", "h", 2, None, StepKind.MOVE),)
    found, message = judge(inst, move_nowhere, metrics=Metrics(1, 0, 1, 2, 1, False, 0))
    assert "kind" in found and "only a retire step" in message


def test_to_temp_of_a_retiring_binding():
    inst = instance_of("a h 1 -")
    steps = steps_of("1 to a h 1 39000", "2 retire a h 39000 -")
    found, message = judge(inst, steps)
    assert "kind" in found and "retires" in message


def test_one_to_temp_per_binding():
    inst = instance_of("a h 1 2")
    twice = steps_of("1 to a h 1 39000", "2 to a h 39000 39001", "3 from a h 39001 2")
    found, message = judge(inst, twice)
    assert "temp-twice" in found and "already had a to-temp" in message


def test_a_step_for_an_unknown_binding_changes_nothing_else():
    inst = instance_of("a h 1 2")
    found, message = judge(inst, steps_of("1 move a h 1 2", "2 move z h 1 2"))
    assert found == {"unknown-binding"} and "no binding of z on h" in message


def test_a_reserved_port_for_the_same_service_elsewhere():
    inst = instance_of("a h 1 2", reservations=[("r", "g", 2)])
    assert rules(inst, steps_of("1 move a h 1 2")) == set()  # reserved on g, a is on h
    assert rules(inst, steps_of("1 move a h 1 2"), GLOBAL) == {"reserved"}
    every = instance_of("a h 1 2", reservations=[("r", None, 2)])
    found, message = judge(every, steps_of("1 move a h 1 2"))
    assert found == {"reserved"} and "on every host" in message


def test_keeping_a_reserved_port_under_both_scopes():
    inst = instance_of("a h 2 2", reservations=[("r", "g", 2)])
    assert rules(inst, ()) == set()
    assert rules(inst, (), GLOBAL) == {"reserved"}


def test_wave_touch_on_one_host_only():
    # two hosts may use one port number in one wave under host scope
    inst = instance_of("a h 1 2", "b g 3 2")
    assert rules(inst, steps_of("1 move a h 1 2", "1 move b g 3 2")) == set()
    assert "wave-touch" in rules(inst, steps_of("1 move a h 1 2", "1 move b g 3 2"), GLOBAL)


def test_global_scope_one_service_may_bind_one_port_on_two_hosts_in_one_wave():
    inst = instance_of("a h 1 2", "a g 3 2")
    assert rules(inst, steps_of("1 move a g 3 2", "1 move a h 1 2"), GLOBAL) == set()


# ---- pairs ----------------------------------------------------------------------------------------


def test_pair_split_counts_each_pair_and_host():
    inst = instance_of("f h 1 11", "b h 2 12", "f g 1 11", "b g 2 12", pairs=[("f", "b")])
    split = steps_of("1 move f g 1 11", "1 move f h 1 11", "2 move b g 2 12", "2 move b h 2 12")
    soft = PlanOptions(pairs=PairMode.SOFT)
    assert rules(inst, split, soft) == set()  # hand count: 2 (pair, host) split
    assert hand_metrics(inst, soft, split).pairs_split == 2
    found, message = judge(inst, split)
    assert found == {"pair-split"} and "wave 1" in message and "wave 2" in message


def test_pair_through_temp_arrives_with_its_from_temp():
    inst = instance_of("f h 1 2", "b h 2 3", pairs=[("f", "b")])
    together = steps_of("1 to b h 2 39000", "2 from b h 39000 3", "2 move f h 1 2")
    assert rules(inst, together) == set()
    apart = steps_of("1 move b h 2 3", "2 move f h 1 2")
    assert rules(inst, apart) == {"pair-split"}


def test_a_pair_with_itself_never_splits():
    inst = Instance((Binding("f", "h", 1),), (Goal("f", "h", 1, 2),), pairs=(("f", "f"),))
    assert rules(inst, steps_of("1 move f h 1 2")) == set()


def test_a_retiring_partner_is_not_linked():
    inst = instance_of("f h 1 11", "b h 2 -", pairs=[("f", "b")])
    assert rules(inst, steps_of("1 move f h 1 11", "2 retire b h 2 -")) == set()


# ---- figures from an independent source ----------------------------------------------------------


@pytest.mark.parametrize(
    "rows, options",
    [
        (("a h 1 2", "b h 2 3", "c h 3 4"), HOST),
        (("a h 1 2", "b h 2 1"), HOST),
        (("a h 1 2", "b h 2 3", "c h 3 1"), HOST),
        (("a h1 1 2", "b h2 2 1"), GLOBAL),
        (("a h 1 2", "b h 2 1", "c h 3 4", "d h 4 3"), PlanOptions(temp_ports=(39000, 39000))),
        (("a h 1 -", "b h 2 1", "c h 5 6"), PlanOptions(max_per_wave=1)),
    ],
)
def test_oracle_plans_pass_with_the_oracles_figures(rows, options):
    inst = instance_of(*rows)
    (moves, waves), steps = brute_force_plan(inst, options)
    counted = hand_metrics(inst, options, steps)
    assert (counted.moves, counted.waves) == (moves, waves)
    verdict = verify(Plan("oracle", options, steps, counted), inst)
    assert verdict.ok, verdict.violations
    assert (verdict.metrics.moves, verdict.metrics.waves) == brute_force(inst, options)


# ---- messages name the right step and holder ------------------------------------------------------


def test_a_numbering_gap_is_reported_once():
    inst = instance_of("a h 1 2", "b h 3 4", "c h 5 6")
    steps = tuple(
        Step(n, 1, s, "h", p, p + 1, StepKind.MOVE) for n, s, p in ((1, "a", 1), (3, "b", 3), (4, "c", 5))
    )
    verdict = verify(Plan("hand", HOST, steps, hand_metrics(inst, HOST, steps)), inst)
    assert [v.rule for v in verdict.violations] == ["numbering"]
    assert "position 2 is 3" in verdict.violations[0].message


def test_a_plan_that_starts_in_wave_two():
    inst = instance_of("a h 1 2", "b h 3 4")
    found, message = judge(inst, steps_of("2 move a h 1 2", "3 move b h 3 4"))
    assert found == {"empty-wave"} and "wave 1 has no step (waves run 1..3)" in message


def test_global_scope_port_busy_names_the_first_holder():
    # port 5 is held by b on h3 and h2 and by c on h4: the message names b@h2
    inst = instance_of("x h1 1 5", "b h3 5 5", "b h2 5 5", "c h4 5 5")
    found, message = judge(inst, steps_of("1 move x h1 1 5"), GLOBAL)
    assert "port-busy" in found and "held by b@h2 as wave 1 starts" in message


def test_host_scope_port_busy_names_the_first_holder():
    inst = instance_of("x h 1 5", "c h 5 5", "b h 5 5")
    found, message = judge(inst, steps_of("1 move x h 1 5"))
    assert "port-busy" in found and "held by b@h as wave 1 starts" in message


def test_reservations_of_one_port_for_every_host_and_one_host():
    # the same service and port reserved on every host and on one: ordered without a crash
    inst = instance_of("a h 1 2", reservations=[("r", None, 2), ("r", "h", 2), ("q", "g", 2)])
    found, message = judge(inst, steps_of("1 move a h 1 2"), GLOBAL)
    assert found == {"reserved"} and "reserved for q on g" in message
    found, message = judge(inst, steps_of("1 move a h 1 2"))
    assert found == {"reserved"} and "reserved for r on every host" in message


def test_a_step_for_a_goal_without_a_binding_is_reported_not_a_crash():
    inst = Instance((Binding("a", "h", 1),), (Goal("a", "h", 1, 2), Goal("b", "g", 5, 6)))
    steps = steps_of("1 move a h 1 2", "1 move b g 5 6")
    found, message = judge(inst, steps, metrics=Metrics(2, 0, 1, 1, 1, False, 0))
    assert {"instance", "unknown-binding"} <= found and "no binding of b on g" in message


def test_global_scope_second_to_temp_onto_its_own_temp_port():
    # rejected for the second to-temp; a binding never blocks itself
    inst = instance_of("a h 1 2")
    steps = steps_of("1 to a h 1 39000", "2 to a h 39000 39000", "3 from a h 39000 2")
    assert rules(inst, steps, GLOBAL) == {"temp-twice"}


def test_global_scope_temp_port_held_by_the_service_on_two_other_hosts():
    # a@g and a@k both take 39000 in wave 1 (a wave-touch); a@h wants it in wave 2: the message
    # names the first of the holders, a@g
    inst = instance_of("a h 1 2", "b h 2 1", "a g 3 4", "a k 5 6")
    steps = steps_of("1 to a g 3 39000", "1 to a k 5 39000", "2 to a h 1 39000",
                     "3 move b h 2 1", "3 from a g 39000 4", "4 from a k 39000 6",
                     "5 from a h 39000 2")
    found, message = judge(inst, steps, GLOBAL)
    assert {"wave-touch", "port-busy"} <= found
    assert "held by a@g as wave 2 starts" in message


def test_two_retirements_on_one_host_in_one_wave_are_valid():
    # a retirement binds nothing: two of them never touch one (host, port) "None"
    inst = instance_of("a h 1 -", "b h 2 -", "c h 3 3")
    steps = steps_of("1 retire a h 1 -", "1 retire b h 2 -")
    assert rules(inst, steps) == set()
    assert rules(inst, steps, GLOBAL) == set()  # nor, under global scope, one port "None"


def test_global_scope_own_to_temp_onto_a_port_the_service_moves_to():
    # a@h parks on 5, a port the table names (a@g's goal): only the temp-pool rule is broken;
    # one service binding one port on two hosts in a wave is no wave-touch
    inst = instance_of("a g 1 5", "a h 2 3")
    steps = steps_of("1 move a g 1 5", "1 to a h 2 5", "2 from a h 5 3")
    found, message = judge(inst, steps, PlanOptions(scope=Scope.GLOBAL, temp_ports=(1, 9)))
    assert found == {"temp-pool"} and "named in a table" in message


def test_a_from_temp_onto_the_wrong_port_is_a_wrong_goal_at_that_step():
    inst = instance_of("a h 1 2")
    steps = steps_of("1 to a h 1 39000", "2 from a h 39000 3")
    verdict = verify(Plan("hand", HOST, steps, hand_metrics(inst, HOST, steps)), inst)
    assert [(v.rule, v.step) for v in verdict.violations if v.rule == "wrong-goal"] == [("wrong-goal", 2)]


def test_a_split_pair_is_reported_at_the_step_of_its_later_arrival():
    # hand count: on g the pair arrives with steps 1 and 3, on h with 2 and 4
    inst = instance_of("f h 1 11", "b h 2 12", "f g 1 11", "b g 2 12", pairs=[("f", "b")])
    split = steps_of("1 move f g 1 11", "1 move f h 1 11", "2 move b g 2 12", "2 move b h 2 12")
    verdict = verify(Plan("hand", HOST, split, hand_metrics(inst, HOST, split)), inst)
    assert sorted(v.step for v in verdict.violations if v.rule == "pair-split") == [3, 4]
