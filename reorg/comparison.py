"""What ``reorg compare`` decides, apart from planning: the front of each cap and the plan to pick.

Pure functions over verified rows (``reorg.commands.planning`` verifies every plan before it
becomes a row); the renderers turn a :class:`Comparison` into text, Markdown and JSON.

The recommendation is a fixed lexicographic order, so the same rows always give the same
answer: fewest moves (each move restarts a service), then fewest waves (the window the
migration takes), then fewest temp moves (a temp hop restarts the same service twice), then
fewest pairs split, then the first row in the table (strategies in their fixed order, caps in
the order given). ``--prefer waves`` puts the window before the restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from reorg.model import Candidate, Compared, Failed, Instance, Metrics, PlanOptions

COMPARE_FORMAT = "reorg-compare/1"


class Preference(str, Enum):
    """What the recommendation minimises first: restarts (moves) or the window (waves)."""

    MOVES = "moves"
    WAVES = "waves"


_MOVES = "fewest moves (restarts)"
_WAVES = "fewest waves (window)"
_REST = ("fewest temp moves (temp hops)", "fewest pairs split", "first in the table")


def rule(prefer: Preference = Preference.MOVES) -> tuple[str, ...]:
    """The order the recommendation follows, as words."""
    first = (_MOVES, _WAVES) if prefer is Preference.MOVES else (_WAVES, _MOVES)
    return first + _REST


RULE = rule()


@dataclass(frozen=True)
class CapBounds:
    """Lower bounds of one cap: ``moves`` for any plan; ``waves`` for a plan of ``moves``
    moves; ``waves_any`` for a plan of any number of moves (temp moves can cut wait chains)."""

    cap: int | None
    moves: int
    waves: int
    waves_any: int


@dataclass(frozen=True)
class InputFile:
    table: str  # current, target, hosts
    path: str
    sha256: str


@dataclass(frozen=True)
class Recommendation:
    row: Compared
    reason: str  # one line, deterministic; the row's label (with its cap) is not repeated


@dataclass(frozen=True)
class Comparison:
    rows: tuple[Compared, ...]  # every one passed the verifier
    instance: Instance
    paths: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()
    failed: tuple[Failed, ...] = ()  # strategies that found no plan, with the reason
    bounds: tuple[CapBounds, ...] = ()  # one per cap, in the order of the caps
    recommendation: Recommendation | None = None
    inputs: tuple[InputFile, ...] = ()
    options: PlanOptions | None = None  # the options every row shares (cap and objective aside)
    candidates: tuple[Candidate, ...] = ()
    caps: tuple[int | None, ...] = ()
    prefer: Preference = Preference.MOVES


def figures(row: Compared) -> tuple[int, int]:
    return (row.plan.metrics.moves, row.plan.metrics.waves)


def pareto_front(points: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (moves, waves) points no other point beats: at least as good on both, better on one."""
    unique = set(points)
    return {
        p for p in unique
        if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in unique)
    }


def mark_front(rows: Sequence[Compared]) -> list[Compared]:
    """``rows`` with ``on_front`` set: a row is on the front of its cap when no other row of that
    cap dominates it. Plans of different caps solve different problems, so each cap has its own."""
    from dataclasses import replace

    fronts = {
        cap: pareto_front(figures(r) for r in rows if r.cap == cap) for cap in {r.cap for r in rows}
    }
    return [replace(r, on_front=figures(r) in fronts[r.cap]) for r in rows]


def _sort_key(row: Compared, prefer: Preference = Preference.MOVES) -> tuple[int, int, int, int]:
    m = row.plan.metrics
    if prefer is Preference.WAVES:
        return (m.waves, m.moves, m.temp_moves, m.pairs_split)
    return (m.moves, m.waves, m.temp_moves, m.pairs_split)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _moves_text(m: Metrics) -> str:
    bound = "the lower bound" if m.moves == m.lower_bound_moves else f"bound {m.lower_bound_moves}"
    return f"{m.moves} ({bound})"


def _waves_text(m: Metrics) -> str:
    if m.waves == m.lower_bound_waves:
        return f"{_plural(m.waves, 'wave')} (the lower bound for {m.moves} moves)"
    return f"{_plural(m.waves, 'wave')} (bound {m.lower_bound_waves})"


def _trade(row: Compared, best: Metrics, gain: str, cost: str) -> str:
    """``pareto-w6: 6 waves (2 fewer) for 3 more moves``: what ``row`` gains on one figure
    against ``best`` and pays on the other."""
    m = row.plan.metrics
    value = {"move": (m.moves, best.moves), "wave": (m.waves, best.waves)}
    mine, theirs = value[gain]
    paid = value[cost][0] - value[cost][1]
    return f"{row.label}: {_plural(mine, gain)} ({theirs - mine} fewer) for {_plural(paid, 'more ' + cost)}"


def recommend(rows: Sequence[Compared], prefer: Preference = Preference.MOVES) -> Recommendation | None:
    """The row to pick, by :func:`rule`, with a one-line reason; None when there is no row."""
    if not rows:
        return None
    best = min(rows, key=lambda r: _sort_key(r, prefer))  # min keeps the first of equals: table order
    m = best.plan.metrics
    if prefer is Preference.MOVES:
        same = [r for r in rows if r.plan.metrics.moves == m.moves]
        reason = f"the fewest moves, i.e. restarts: {_moves_text(m)}"
        if len(same) > 1:
            reason += f", and of those the shortest window: {_waves_text(m)}"
        else:
            reason += f", in {_waves_text(m)}"
    else:
        same = [r for r in rows if r.plan.metrics.waves == m.waves]
        reason = f"the shortest window: {_waves_text(m)}"
        if len(same) > 1:
            reason += f", and of those the fewest moves, i.e. restarts: {_moves_text(m)}"
        else:
            bound = "the lower bound" if m.moves == m.lower_bound_moves else f"bound {m.lower_bound_moves}"
            reason += f", with {_plural(m.moves, 'move')} ({bound})"
    same_figures = [r for r in same if figures(r) == figures(best)]
    temps = _plural(m.temp_moves, "temp move")
    if len({r.plan.metrics.temp_moves for r in same_figures}) > 1:
        temps = "the fewest temp moves of those: " + temps
    reason += f", {temps}"
    if m.pairs_split:
        reason += f", {_plural(m.pairs_split, 'pair')} split"
    key = _sort_key(best, prefer)
    ties = [r.label for r in same_figures if r is not best and _sort_key(r, prefer) == key]
    if ties:
        reason += f"; equal to {', '.join(ties)} on every figure, taken as the first in the table"
    if prefer is Preference.MOVES:
        faster = [r for r in rows if r.plan.metrics.waves < m.waves]
        if faster:  # the cheapest shorter window, and the shortest one
            near = min(faster, key=lambda r: _sort_key(r, Preference.MOVES))
            far = min(faster, key=lambda r: _sort_key(r, Preference.WAVES))
            reason += "; for a shorter window take " + _trade(near, m, "wave", "move")
            if far is not near:
                reason += ", or for the shortest " + _trade(far, m, "wave", "move")
    else:
        fewer = [r for r in rows if r.plan.metrics.moves < m.moves]
        if fewer:  # the cheapest saving of restarts, and the fewest restarts
            near = min(fewer, key=lambda r: _sort_key(r, Preference.WAVES))
            far = min(fewer, key=lambda r: _sort_key(r, Preference.MOVES))
            reason += "; for fewer restarts take " + _trade(near, m, "move", "wave")
            if far is not near:
                reason += ", or for the fewest " + _trade(far, m, "move", "wave")
    return Recommendation(best, reason)
