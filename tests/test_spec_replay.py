"""The journal replay as a spec: each test is a journal (or plan) the replay must refuse, or a
walk whose position it must get right, written to kill a mutant of the replay that the rest of
the suite let live (``python bench/mutate.py --target replay``; bench/MUTATION.md).
"""

from __future__ import annotations

import pytest

from reorg import journal as jr
from reorg import replay as rp
from reorg.journal import EventKind
from reorg.model import Metrics, Plan, PlanOptions, ReorgError, Step, StepKind
from reorg.probe import Expect
from reorg.replay import replay, step_checks

S = StepKind
# three waves on one host: a chain c -> b -> a plus an independent d
CHAIN = (
    Step(1, 1, "c", "h", 3, 4, S.MOVE),
    Step(2, 1, "d", "h", 7, 8, S.MOVE),
    Step(3, 2, "b", "h", 2, 3, S.MOVE),
    Step(4, 3, "a", "h", 1, 2, S.MOVE),
)
PLAN = Plan("hand", PlanOptions(), CHAIN, Metrics(4, 0, 3, 4, 3, False, 0))


def events(*pairs) -> tuple[jr.Event, ...]:
    return tuple(
        jr.Event(seq, EventKind(kind), step, "2025-01-01T00:00:00Z")
        for seq, (kind, step) in enumerate(pairs, start=1)
    )


def test_every_wave_in_turn_to_the_end():
    pos = replay(PLAN, events(("done", 2), ("done", 1), ("done", 3), ("done", 4)))
    assert pos.done == (2, 1, 3, 4) and rp.next_step(PLAN, pos) is None
    assert pos.state_dict() == {("a", "h"): 2, ("b", "h"): 3, ("c", "h"): 4, ("d", "h"): 8}


def test_a_later_wave_stays_closed_until_the_one_before_is_done():
    with pytest.raises(ReorgError, match="out of wave order"):
        replay(PLAN, events(("done", 1), ("done", 2), ("done", 4)))


def test_undo_reopens_the_wave_and_redo_finishes_the_plan():
    walk = [("done", 1), ("done", 2), ("undone", 2)]
    pos = replay(PLAN, events(*walk))
    assert pos.done == (1,) and rp.next_step(PLAN, pos).step == 2
    # wave 1 is open again: its step may be redone, wave 2 may not start yet
    with pytest.raises(ReorgError, match="out of wave order"):
        replay(PLAN, events(*walk, ("done", 3)))
    pos = replay(PLAN, events(*walk, ("done", 2), ("done", 3), ("done", 4)))
    assert pos.done == (1, 2, 3, 4)
    assert pos.state_dict()[("d", "h")] == 8


def test_undo_across_a_wave_boundary_and_forward_again():
    walk = [("done", 1), ("done", 2), ("done", 3), ("undone", 3), ("undone", 2), ("undone", 1)]
    pos = replay(PLAN, events(*walk))
    assert pos.done == () and pos.state_dict()[("c", "h")] == 3
    again = [("done", 2), ("done", 1), ("done", 3), ("done", 4)]
    assert replay(PLAN, events(*walk, *again)).done == (2, 1, 3, 4)
    with pytest.raises(ReorgError, match="out of wave order"):
        replay(PLAN, events(*walk, ("done", 3)))


def test_start_port_check_refuses_a_step_the_binding_is_not_ready_for():
    # a plan (hand-edited) with a to-temp and its from-temp in one wave: doing the from-temp
    # first would move a binding that is not on the temp port yet
    steps = (
        Step(1, 1, "a", "h", 1, 39000, S.TO_TEMP),
        Step(2, 1, "a", "h", 39000, 2, S.FROM_TEMP),
    )
    plan = Plan("hand", PlanOptions(), steps, Metrics(2, 1, 1, 1, 1, False, 0))
    with pytest.raises(ReorgError, match=r"a@h is not on 39000"):
        replay(plan, events(("done", 2)))
    with pytest.raises(ReorgError, match=r"a@h is not on 39000"):
        replay(plan, events(("failed", 2)))
    assert replay(plan, events(("done", 1), ("done", 2))).state_dict() == {("a", "h"): 2}


def test_a_wave_gap_in_the_plan_is_stepped_over():
    # the replay treats a missing wave as done, as open_steps does
    steps = (Step(1, 1, "a", "h", 1, 2, S.MOVE), Step(2, 3, "b", "h", 5, 6, S.MOVE))
    plan = Plan("hand", PlanOptions(), steps, Metrics(2, 0, 3, 2, 1, False, 0))
    pos = replay(plan, events(("done", 1)))
    assert rp.open_steps(plan, pos.done) == (steps[1],)
    assert replay(plan, events(("done", 1), ("done", 2))).done == (1, 2)


def test_old_port_is_expected_free_after_each_kind_of_step():
    steps = (
        Step(1, 1, "a", "h", 1, 39000, S.TO_TEMP),
        Step(2, 1, "r", "h", 5, None, S.RETIRE),
        Step(3, 2, "a", "h", 39000, 2, S.FROM_TEMP),
    )
    plan = Plan("hand", PlanOptions(), steps, Metrics(3, 1, 2, 2, 2, False, 0))
    start = replay(plan, ())
    for step, leave in ((steps[0], 1), (steps[1], 5)):
        _, post = step_checks(plan, start, step)
        frees = [(c.port, c.skip) for c in post if c.expect is Expect.FREE]
        assert frees == [(leave, "")], step
    after = replay(plan, events(("done", 1), ("done", 2)))
    _, post = step_checks(plan, after, steps[2])
    assert [(c.port, c.expect) for c in post] == [(2, Expect.IN_USE), (39000, Expect.FREE)]
    # undo of the from-temp: the goal port is left, and must be free afterwards
    done = replay(plan, events(("done", 1), ("done", 2), ("done", 3)))
    pre, post = step_checks(plan, done, steps[2], reverse=True)
    assert [(c.port, c.expect) for c in pre] == [(39000, Expect.FREE)]
    assert [(c.port, c.expect) for c in post] == [(39000, Expect.IN_USE), (2, Expect.FREE)]


def test_old_port_shared_only_with_a_binding_on_another_host_is_expected_free():
    steps = (Step(1, 1, "a", "h", 1, 2, S.MOVE),)
    plan = Plan("hand", PlanOptions(), steps, Metrics(1, 0, 1, 1, 1, False, 0))
    base = {("b", "g"): 1, ("a", "g"): 1}  # port 1 on another host, even of the same service
    _, post = step_checks(plan, replay(plan, (), base=base), steps[0])
    assert [(c.port, c.skip) for c in post if c.expect is Expect.FREE] == [(1, "")]
    shared = {("b", "h"): 1}
    _, post = step_checks(plan, replay(plan, (), base=shared), steps[0])
    (free,) = [c for c in post if c.expect is Expect.FREE]
    assert free.skip and "b" in free.skip


# ---- the running replay (Replayer), as batch `done` and `next` use it --------------------------

# a leaves 1 for 2 and f leaves 5 (which g keeps: a collision of the current table) in wave 1;
# then b moves onto 1, the port a left
SHARED = (
    Step(1, 1, "a", "h", 1, 2, S.MOVE),
    Step(2, 1, "f", "h", 5, 6, S.MOVE),
    Step(3, 2, "b", "h", 3, 1, S.MOVE),
)
SHARED_PLAN = Plan("hand", PlanOptions(), SHARED, Metrics(3, 0, 2, 3, 2, False, 0))


def test_the_running_replay_knows_who_holds_a_port_as_it_moves():
    r = rp.Replayer(SHARED_PLAN, base={("g", "h"): 5})
    assert r.holders("h", 5, ("f", "h")) == ["g"]
    assert r.holders("h", 1, ("b", "h")) == ["a"]
    _, post = step_checks(SHARED_PLAN, r, SHARED[1])
    assert [(c.port, c.skip) for c in post if c.expect is Expect.FREE] == [
        (5, "not checked: port 5 stays held by g (they shared it)")
    ]
    r.apply(events(("done", 1))[0])
    assert r.holders("h", 1, ("b", "h")) == [] and r.holders("h", 2, ("b", "h")) == ["a"]
    pre, _ = step_checks(SHARED_PLAN, r, SHARED[2])
    assert [(c.port, c.expect, c.skip) for c in pre] == [(1, Expect.FREE, "")]
    # the same answers as the replay from scratch
    position = replay(SHARED_PLAN, events(("done", 1)), base={("g", "h"): 5})
    assert step_checks(SHARED_PLAN, position, SHARED[2]) == step_checks(SHARED_PLAN, r, SHARED[2])


def test_a_done_step_is_not_open_while_its_wave_still_is():
    r = rp.Replayer(PLAN)
    r.apply(events(("done", 1))[0])
    assert [n for n in (1, 2, 3, 4) if r.is_open(n)] == [2]  # 1 is done; 3 and 4 wait
    assert not r.is_open(99)  # no such step
    r.apply(events(("done", 1), ("done", 2))[1])
    assert [n for n in (1, 2, 3, 4) if r.is_open(n)] == [3]


def test_a_started_step_leaves_the_started_list_when_done_or_failed():
    assert replay(PLAN, events(("started", 1))).started == (1,)
    assert replay(PLAN, events(("started", 1), ("done", 1))).started == ()
    failed = replay(PLAN, events(("started", 2), ("started", 1), ("failed", 1)))
    assert failed.started == (2,) and failed.dirty == 1


def test_undo_keeps_a_started_step_of_the_reopened_wave_and_drops_a_later_one():
    # wave 1 done, step 3 (wave 2) started, then step 2 undone: wave 1 is open again, so step 3
    # must be started again later
    assert replay(PLAN, events(("done", 1), ("done", 2), ("started", 3), ("undone", 2))).started == ()
    # step 2 (wave 1) started, step 1 undone: wave 1 stays the open wave, step 2 stays started
    assert replay(PLAN, events(("done", 1), ("started", 2), ("undone", 1))).started == (2,)


def test_only_an_unsure_binding_may_stay_silent_on_its_new_port():
    start = replay(PLAN, ())
    for status, optional in (("running", False), ("", False), ("unsure", True)):
        _, post = step_checks(PLAN, start, CHAIN[0], status=status)
        answers = [c for c in post if c.expect is Expect.IN_USE]
        assert [(c.port, c.skip, bool(c.optional)) for c in answers] == [(4, "", optional)], status
    _, post = step_checks(PLAN, start, CHAIN[0], status="stopped")
    assert [c.expect for c in post] == [Expect.FREE]  # nothing answers; the old port is free
