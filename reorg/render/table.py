"""Tables as text: the only module that uses tabulate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def text_table(rows: Iterable[Any], headers: Sequence[object] = (), **options: Any) -> str:
    """``rows`` as a text table; ``options`` are tabulate's (``tablefmt``, ``disable_numparse``, ...)."""
    plain = _plain(rows, headers, options)
    if plain is not None:
        return plain
    from tabulate import tabulate  # on first use: `reorg status` and `--help` never need it

    return str(tabulate(rows, headers=headers, **options))


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    return text_table(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _plain(rows: Iterable[Any], headers: Sequence[object], options: dict[str, Any]) -> str | None:
    """What tabulate's ``plain`` format gives for printable string cells (ASCII but in the last
    column) without headers and number parsing (a test compares): `reorg status` prints one such table, and importing
    tabulate (with wcwidth) for it costs more than the rest of the rendering. None otherwise."""
    if headers or options != {"tablefmt": "plain", "disable_numparse": True}:
        return None
    rows = [list(r) for r in rows]
    if not rows or len({len(r) for r in rows}) != 1:
        return None
    if not all(type(c) is str and c.isprintable() and (c.isascii() or k == len(r) - 1)
               for r in rows for k, c in enumerate(r)):
        return None  # the last column's width pads nothing: it may hold any printable text
    cells = [[c.strip() for c in r] for r in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)
