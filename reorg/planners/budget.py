"""The time budget of one command: a deadline on the monotonic clock, passed down to every stage.

``--time-limit S`` bounds the whole command, from the process start (imports included) to the
last file written. The command makes one ``Deadline`` and hands it down; how it is shared:

- **reading** the tables takes what it takes (it is measured, not limited);
- **the reserve**: ``reserve_seconds(bindings, read_seconds)`` is kept back for verifying,
  rendering and writing the plan and for the interpreter's exit: at least as long as reading
  took (the same kind of work, slowed by the same load);
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

# Verify + render + write + the interpreter's exit, kept back from planning: a floor, and the
# larger of a per-binding cost and the time reading took (reading the tables is work of the same
# kind and size as writing the plan, and it slows down with the machine's load just as writing
# does). Measured on the 2-core machine at load 8: 2,000 bindings read in 2.2-3.4 s, then verify
# 0.1 s, write 0.7-0.8 s, exit 0.5 s. This assumes writing is linear in the plan (issue 8, item
# 1): a renderer that is not makes every large run late by its excess.
RESERVE_PER_BINDING = 100e-6
RESERVE_FLOOR = 1.0


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


class Deadline:
    """A wall-clock deadline: ``seconds`` from ``started`` (a ``time.monotonic()`` value)."""

    def __init__(self, seconds: float | None, started: float | None = None) -> None:
        self.started = time.monotonic() if started is None else started
        self.seconds = seconds
        self.end = math.inf if seconds is None else self.started + seconds


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


def reserve_seconds(bindings: int, read_seconds: float = 0.0) -> float:
    """Wall time kept back for verifying, rendering and writing a plan of this many bindings,
    given how long reading the tables took."""
    return RESERVE_FLOOR + max(RESERVE_PER_BINDING * bindings, read_seconds)


NO_DEADLINE = Deadline(None)
