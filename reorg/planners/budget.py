"""The time budget of one command: a deadline on the monotonic clock, passed down to every stage.

``--time-limit S`` bounds the whole command, from the process start (interpreter start-up and
imports included) to the last file written. The command makes one ``Deadline`` and shares it:

- **the fixed work.** Every plan needs its tables read, the problem built, the greedy plan made
  and packed into waves (the fallback), and then verified, rendered and written. That work is
  linear in the input: ``FIXED`` gives its CPU seconds per byte read and per binding, measured on
  this project's 2-core machine. Its wall time is that CPU time over the share of a core this
  process is getting (``cpu_share``: its CPU time over its wall time so far, about 1 on an idle
  machine and 0.3-0.4 at a load of 8 on 2 cores), times ``MARGIN``.
- **a limit too short for the fixed work fails fast** (``TooShort``: one line, exit 2, nothing
  written): before reading, when the tables' size already says so, and again after reading, with
  the bindings counted. The message gives the least --time-limit that would do on this machine
  at its present load.
- **the reserve**: after reading, the wall time to verify, render and write is kept back.
- **planning** gets the rest. Greedy comes first (it is fast, and is the fallback); CP-SAT then
  gives each solve ``min(its share, what is left)``: the share is deterministic (CP-SAT's
  ``max_deterministic_time``, derived from ``--time-limit`` and the instance only, so the same
  input gives the same plan), and what is left is wall time (``max_time_in_seconds``). Only when
  the wall clock runs out first can a run differ from another; the plan then says so in its notes.

When planning runs out of time the best verified plan so far is returned, marked not proven, with
its gap to the bound in the plan's notes.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from reorg.model import ReorgError


@dataclass(frozen=True)
class FixedCost:
    """CPU seconds of the work every plan needs, per byte of the tables and per binding.

    Measured with the garbage collector off (as the plan command runs) on the 2-core machine,
    whole phases at 10,000 and 100,000 bindings, then rounded up: reading 0.36 us per byte (5.7 MB
    in 2.0 s; a table with a quoted cell also imports pandas, 0.3 s); build, greedy and packing
    42-44 us per binding; verify, runbook, plan JSON and write 63-90 us per binding; the
    interpreter's exit (with ortools loaded, about 0.1 s) and the summary (``floor``).
    """

    per_byte: float = 0.5e-6
    plan_per_binding: float = 50e-6
    write_per_binding: float = 120e-6
    pandas: float = 0.35
    floor: float = 0.15
    bytes_per_binding: float = 56.0  # a generated current.csv row and its target row


FIXED = FixedCost()
MARGIN = 1.2  # the load changes while a command runs
SLACK = 0.05  # of --time-limit, kept back from planning too: a solve stops a little after its limit


def process_elapsed() -> float:
    """Seconds since this process started (interpreter start-up and imports included); 0 where
    the platform does not say (no /proc)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open("/proc/uptime", "rb") as f:
            uptime = float(f.read().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        return max(0.0, uptime - int(fields[19]) / ticks)
    except (OSError, ValueError, IndexError):
        return 0.0


def process_started() -> float:
    """The ``time.monotonic()`` value at which this process started."""
    return time.monotonic() - process_elapsed()


FRESH = 60.0  # seconds: a console command reaches its entry point well within this, even loaded


def fresh_process_started() -> float | None:
    """``process_started()`` for a process that has just started (the console command), None for
    one that has run a while (a test suite or another program calling the entry point): the
    whole-command clock then starts when the command does."""
    return process_started() if process_elapsed() < FRESH else None


class Deadline:
    """A wall-clock deadline: ``seconds`` from ``started`` (a ``time.monotonic()`` value)."""

    def __init__(self, seconds: float | None, started: float | None = None, *, stretch: bool = False) -> None:
        self.started = time.monotonic() if started is None else started
        self.seconds = seconds
        self.end = math.inf if seconds is None else self.started + seconds
        # The default limit (no --time-limit given): ``require`` stretches it to the input's fixed
        # work plus ``seconds`` of planning, rather than refusing a plain ``reorg plan`` of a large fleet.
        self.stretch = stretch


    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def share(self, parts: int) -> Deadline:
        """A deadline for one of ``parts`` stages that split what is left equally."""
        child = Deadline(None, self.started)
        child.seconds = self.seconds
        child.end = min(self.end, time.monotonic() + self.remaining() / max(1, parts))
        return child

    def until(self, seconds: float) -> Deadline:
        """A deadline ``seconds`` earlier than this one (a reserve kept back for later stages)."""
        child = Deadline(None, self.started)
        child.seconds = self.seconds
        child.end = self.end - seconds
        return child




def cpu_share() -> float:
    """The share of a core this process has had since it started: its CPU time over its wall
    time (1 while the process is too young to tell), at least 0.1."""
    elapsed = process_elapsed()
    if elapsed < 0.2:
        return 1.0
    return min(1.0, max(0.1, time.process_time() / elapsed))


def wall(cpu_seconds: float) -> float:
    """Wall seconds that ``cpu_seconds`` of work take at this process's share of a core."""
    return MARGIN * cpu_seconds / cpu_share()


class TooShort(ReorgError):
    """--time-limit is below what the input's fixed work needs on this machine now."""


def require(
    deadline: Deadline, need: float, what: str, command: str = "reorg plan",
    notify: Callable[[str], None] | None = None,
) -> None:
    """Fail fast, before the work starts, when ``need`` wall seconds do not fit in what is left
    of ``deadline``; the message names the least --time-limit that would do."""
    if deadline.seconds is None or need <= deadline.remaining():
        return
    spent = deadline.elapsed()
    if deadline.stretch:  # no --time-limit given: the default grows to what this input needs
        deadline.end = time.monotonic() + need + deadline.seconds
        deadline.seconds = spent + need + deadline.seconds
        if notify is not None:
            notify(f"note: {what} take about {need:.0f} s here; the default time limit becomes "
                   f"{deadline.seconds:.0f} s (give --time-limit to bound the command)")
        return
    least = math.ceil(spent + need + 0.5)
    raise TooShort(
        f"--time-limit {deadline.seconds:g} is too short for this input: {what} take about "
        f"{need:.1f} s more on this machine now ({spent:.1f} s spent already, {cpu_share():.0%} of "
        f"a core); nothing was written; give {command} --time-limit {least} or more"
    )


def reading_need(table_bytes: int) -> float:
    """Wall seconds to read tables of this size, plus a quarter of the fixed work of as many
    bindings as they hold at ``bytes_per_binding``: the check before reading refuses only a limit
    that reading alone would overrun, or nearly (notes make rows longer, so the row count is a
    guess); the check after reading counts the bindings."""
    rows = table_bytes / FIXED.bytes_per_binding
    return wall(FIXED.per_byte * table_bytes + 0.25 * (FIXED.plan_per_binding + FIXED.write_per_binding) * rows)


def planning_need(bindings: int, plans: int = 1) -> float:
    """Wall seconds to build the problem and make the greedy plan in fewer waves, ``plans`` times."""
    return wall(FIXED.plan_per_binding * bindings * plans)


def writing_need(bindings: int, plans: int = 1) -> float:
    """Wall seconds to verify, render and write ``plans`` plans of this many bindings, and exit."""
    return wall(FIXED.write_per_binding * bindings * plans + FIXED.floor)


def reserve_seconds(bindings: int, plans: int = 1) -> float:
    """Wall time kept back from planning for verifying, rendering and writing: ``writing_need``."""
    return writing_need(bindings, plans)


NO_DEADLINE = Deadline(None)
