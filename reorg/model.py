"""Frozen values shared by every layer: bindings, targets, steps, plans and the closed sets.

Nothing here does I/O or imports a third-party library. Glossary:

- service: a named program (``mana-auth``).
- host: a machine (``mac-mini``, ``windows-gpu``, ``dev``).
- port: a TCP port number, 1-65535.
- binding: a service's port on a host, keyed by (service, host).
- move: one change of one binding's port on its host.
- temp port: a port from the temp pool, held between a ``to-temp`` and a ``from-temp`` step.
- wave: moves that may run together; waves run in order.
- step: one numbered move of a plan, in execution order.
- plan: the steps plus the strategy, options and metrics that produced them.
- strategy: a planner found through the registry (``greedy``, ``cpsat``).
- journal: the record of which steps of a plan were executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

PLAN_FORMAT = "reorg-plan/1"
DEFAULT_TEMP_PORTS = (39000, 39099)


class ReorgError(Exception):
    """Anything the user can fix. The message is one line and says what to do."""


def parse_port_range(text: str) -> tuple[int, int]:
    """``"39000-39099"`` -> (39000, 39099); a ReorgError for anything else."""
    lo, sep, hi = str(text).strip().partition("-")
    # ASCII digits only: int() also takes '٣', and str.isdigit() takes '²', which int() refuses.
    digits = all(part.isascii() and part.isdigit() and len(part) <= 5 for part in (lo, hi))
    start, end = (int(lo), int(hi)) if digits else (0, 0)
    if not sep or not (1 <= start <= end <= 65535):
        raise ReorgError(f"port range {text!r} must look like 39000-39099 (1-65535, low-high)")
    return (start, end)


class Scope(str, Enum):
    """Where a port belongs: to one host, or to one service across all hosts."""

    HOST = "host"
    GLOBAL = "global"


class PairMode(str, Enum):
    """Whether a frontend and its backend must arrive in the same wave."""

    HARD = "hard"
    SOFT = "soft"


class Objective(str, Enum):
    """Which figure a planner minimises first."""

    MOVES = "moves"
    WAVES = "waves"


class Strategy(str, Enum):
    """Planners of the registry; the CLI's --strategy choices."""

    CPSAT = "cpsat"
    GREEDY = "greedy"


class Candidate(str, Enum):
    """Plans ``reorg compare`` can put side by side; the CLI's --strategies choices."""

    GREEDY = "greedy"
    CPSAT_MOVES = "cpsat-moves"
    CPSAT_WAVES = "cpsat-waves"
    PARETO = "pareto"


class StepKind(str, Enum):
    MOVE = "move"
    TO_TEMP = "to-temp"
    FROM_TEMP = "from-temp"
    RETIRE = "retire"


@dataclass(frozen=True, order=True)
class Binding:
    """A service listening on a port of a host. ``line`` is its file line (header = 1).

    ``source`` and ``note`` are current.csv's free-text columns (where the port is configured,
    and what the inventory says about it): the runbook's Change text is made from them.
    """

    service: str
    host: str
    port: int
    category: str = ""
    status: str = ""
    pair: str = ""
    line: int = 0
    source: str = ""
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.host)


@dataclass(frozen=True)
class TargetRow:
    """One row of target.csv. ``host`` None applies to every host; ``port`` None retires."""

    service: str
    host: str | None
    port: int | None
    category: str = ""
    pair: str = ""
    line: int = 0
    note: str = ""


@dataclass(frozen=True, order=True)
class Range:
    """A port range of the schema and the category it serves."""

    start: int
    end: int
    category: str
    purpose: str = ""  # ranges.csv's optional purpose column: what `reorg doc` prints (issue 10)


@dataclass(frozen=True)
class Reservation:
    """A port kept for a service that runs nowhere (yet). ``host`` None means every host."""

    service: str
    host: str | None
    port: int
    line: int = 0


@dataclass(frozen=True, order=True)
class Goal:
    """Where one binding should end: ``to_port`` None retires it; equal ports keep it."""

    service: str
    host: str
    from_port: int
    to_port: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.host)

    @property
    def moves(self) -> bool:
        return self.to_port != self.from_port


@dataclass(frozen=True)
class Instance:
    """The resolved input of every planner and of the verifier.

    ``goals`` has one entry per current binding, in the order of ``bindings``.
    ``pairs`` are (frontend, backend) service names, both known.
    """

    bindings: tuple[Binding, ...]
    goals: tuple[Goal, ...]
    reservations: tuple[Reservation, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    current_path: str = ""
    target_path: str = ""
    current_sha256: str = ""
    target_sha256: str = ""


@dataclass(frozen=True)
class PlanOptions:
    """Everything that changes a plan. Part of the plan file, so no timings."""

    scope: Scope = Scope.HOST
    temp_ports: tuple[int, int] = DEFAULT_TEMP_PORTS
    max_per_wave: int | None = None
    pairs: PairMode = PairMode.HARD
    objective: Objective = Objective.MOVES
    time_limit: float = 10.0
    pair_digits: int = 1
    # ports of the temp range a host's OS or operator uses (hosts.csv): never picked as temp ports;
    # not part of the plan file (the verifier's pool is the whole range, so a subset stays valid)
    temp_avoid: frozenset[int] = frozenset()
    # (host, os) for the hosts hosts.csv names an OS for (macos, linux, windows), sorted: the
    # runbook's listening checks per host; not part of the plan file (the plan does not depend on it)
    host_os: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope.value,
            "temp_ports": f"{self.temp_ports[0]}-{self.temp_ports[1]}",
            "max_per_wave": self.max_per_wave,
            "pairs": self.pairs.value,
            "objective": self.objective.value,
            "time_limit": self.time_limit,
            "pair_digits": self.pair_digits,
        }


@dataclass(frozen=True, order=True)
class Step:
    """One numbered move. ``to_port`` is None for a retirement."""

    step: int
    wave: int
    service: str
    host: str
    from_port: int
    to_port: int | None
    kind: StepKind

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "wave": self.wave,
            "service": self.service,
            "host": self.host,
            "from_port": self.from_port,
            "to_port": self.to_port,
            "kind": self.kind.value,
        }


@dataclass(frozen=True)
class Metrics:
    moves: int
    temp_moves: int
    waves: int
    lower_bound_moves: int
    lower_bound_waves: int
    optimal: bool
    pairs_split: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "moves": self.moves,
            "temp_moves": self.temp_moves,
            "waves": self.waves,
            "lower_bound_moves": self.lower_bound_moves,
            "lower_bound_waves": self.lower_bound_waves,
            "optimal": self.optimal,
            "pairs_split": self.pairs_split,
        }


@dataclass(frozen=True)
class Plan:
    strategy: str
    options: PlanOptions
    steps: tuple[Step, ...]
    metrics: Metrics
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Compared:
    """One row of ``reorg compare``: a verified plan and how it was made."""

    label: str  # also the plan's file name under --out
    candidate: Candidate
    cap: int | None
    plan: Plan
    seconds: float  # solve time: shown in the report, never written into a plan file
    on_front: bool = False


@dataclass(frozen=True)
class Failed:
    """A row of ``reorg compare`` whose strategy found no plan, and why (one line)."""

    label: str
    candidate: Candidate
    cap: int | None
    reason: str
    seconds: float


@dataclass(frozen=True)
class Violation:
    """One broken rule, found by the verifier. ``step`` is None for whole-plan rules."""

    rule: str
    message: str
    step: int | None = None


@dataclass(frozen=True)
class Verdict:
    violations: tuple[Violation, ...]
    metrics: Metrics | None = None

    @property
    def ok(self) -> bool:
        return not self.violations
