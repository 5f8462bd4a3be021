"""The plain values the CP-SAT planner passes around (no ortools here): a part of the problem
(``Sub``), a schedule of it (``Schedule``), an infeasibility (``Infeasible``) and the run's clock
(``Clock``). Kept apart from ``reorg.planners.wavemodel`` so that a plan made without any CP-SAT
solve (the greedy schedule at its bounds) never imports ortools.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reorg.planners.budget import NO_DEADLINE, Deadline


@dataclass
class Sub:
    """A part of the problem handed to one model: nodes are problem indices."""

    nodes: tuple[int, ...]
    blockers: dict[int, tuple[int, ...]]
    retire: frozenset[int]
    pairs: tuple[tuple[int, int], ...]
    shared: tuple[tuple[int, ...], ...]
    domain: dict[int, str]
    pool: int  # free temp ports per domain
    cap: int | None = None
    names: dict[int, str] = field(default_factory=dict)


@dataclass
class Schedule:
    """Arrival and leave waves per node; ``leave < arrive`` marks a temp."""

    arrive: dict[int, int]
    leave: dict[int, int]
    proven: bool

    @property
    def temps(self) -> int:
        return sum(1 for i in self.arrive if self.leave[i] < self.arrive[i])

    @property
    def waves(self) -> int:
        return max(self.arrive.values(), default=0)


class Infeasible(Exception):
    """The model has no solution; ``rules`` names the business rules in conflict."""

    def __init__(self, rules: list[str]):
        super().__init__(", ".join(rules))
        self.rules = rules


class Clock:
    """The wall-clock deadline of a planner run, and what the limits did to its solves."""

    def __init__(self, deadline: Deadline | None = None) -> None:
        self.deadline = deadline or NO_DEADLINE
        self.cut = False  # some solve stopped at a limit without a proof
        self.wall_cut = False  # ... at the wall clock, before its deterministic limit

    def wall(self) -> float | None:
        return None if self.deadline.seconds is None else self.deadline.remaining()
