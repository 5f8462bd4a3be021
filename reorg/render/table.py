"""Tables as text: the only module that uses tabulate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def text_table(rows: Iterable[Any], headers: Sequence[object] = (), **options: Any) -> str:
    """``rows`` as a text table; ``options`` are tabulate's (``tablefmt``, ``disable_numparse``, ...)."""
    from tabulate import tabulate  # on first use: `reorg status` and `--help` never need it

    return str(tabulate(rows, headers=headers, **options))


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    return text_table(rows, headers=headers, tablefmt="github", disable_numparse=True)
