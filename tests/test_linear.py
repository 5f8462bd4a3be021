"""Every output path is linear in the plan's size (issue 8, item 1), shown by counting work.

No timing: each path runs on a generated instance and on one twice its size (same hosts, same
shares), under a line tracer that counts the Python lines executed (comprehension and generator
bodies included). A linear path does about twice the work on twice the instance; a renderer that
scans every binding for every step (the bug issue 8 found: the holders of a step's port) does
about four times as much. The bound 2.6 leaves room for sorting (n log n) and for fixed costs.
"""

from __future__ import annotations

import sys

import pytest

from reorg.generate import generate
from reorg.journal import Event, EventKind
from reorg.model import PlanOptions, Strategy
from reorg.planfile import render_plan_json
from reorg.planners import get_planner
from reorg.problem import build_problem
from reorg.render import render_mermaid, render_runbook, step_dependencies
from reorg.replay import replay
from reorg.verify import verify

SIZES = (400, 800)
HOSTS = 2  # few hosts: a per-step scan of a host's bindings grows with the instance too
MAX_RATIO = 2.6


def count_lines(fn, *args) -> int:
    """Python lines executed by ``fn(*args)`` (every frame, any module)."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(previous)
    return count


def made(size: int):
    # Collisions give steps whose old port a staying binding shares: the runbook names them.
    instance = generate(7, HOSTS, size, collisions=0.05, retire=0.05)
    plan = get_planner(Strategy.GREEDY)(build_problem(instance, PlanOptions()), None)
    assert len(plan.steps) > size // 3
    return instance, plan


@pytest.fixture(scope="module")
def instances():
    return [made(size) for size in SIZES]


def done_events(plan) -> tuple[Event, ...]:
    return tuple(
        Event(seq=i, event=EventKind.DONE, step=s.step, time="2026-01-01T00:00:00Z")
        for i, s in enumerate(plan.steps, start=1)
    )


PATHS = {
    "runbook": lambda instance, plan: render_runbook(plan, instance, "big", "big.json"),
    "mermaid": lambda instance, plan: render_mermaid(plan),
    "dependencies": lambda instance, plan: step_dependencies(plan.steps, plan.options.scope),
    "plan json": lambda instance, plan: render_plan_json(plan, instance),
    "verify": lambda instance, plan: verify(plan, instance),
    "replay": lambda instance, plan: replay(plan, done_events(plan), "journal", {b.key: b.port for b in instance.bindings}),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_output_path_is_linear(instances, path):
    (small_i, small_p), (big_i, big_p) = instances
    fn = PATHS[path]
    small = count_lines(fn, small_i, small_p)
    big = count_lines(fn, big_i, big_p)
    steps_ratio = len(big_p.steps) / len(small_p.steps)
    assert 1.7 < steps_ratio < 2.3
    ratio = big / small
    assert ratio < MAX_RATIO * steps_ratio / 2, (
        f"{path}: {small} lines for {len(small_p.steps)} steps, {big} for {len(big_p.steps)} "
        f"(x{ratio:.2f}): its work grows faster than the plan"
    )


def test_the_counter_catches_a_quadratic_path(instances):
    """The measure itself: a per-step scan of all bindings is caught (the old runbook's holders)."""
    (small_i, small_p), (big_i, big_p) = instances

    def quadratic(instance, plan):
        for s in plan.steps:
            [b for b in instance.bindings if b.host == s.host and b.port == s.from_port]

    ratio = count_lines(quadratic, big_i, big_p) / count_lines(quadratic, small_i, small_p)
    assert ratio > MAX_RATIO
