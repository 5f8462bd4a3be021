"""Tables as text: the only module that uses tabulate."""

from __future__ import annotations


def text_table(rows, headers=(), **options) -> str:
    """``rows`` as a text table; ``options`` are tabulate's (``tablefmt``, ``disable_numparse``, ...)."""
    from tabulate import tabulate  # on first use: `reorg status` and `--help` never need it

    return tabulate(rows, headers=headers, **options)


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    return text_table(rows, headers=headers, tablefmt="github", disable_numparse=True)
