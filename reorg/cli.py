"""Typer app: the only module that prints or exits.

It parses options into model values, calls one function of ``commands`` per command, and
renders the returned value. ``ReorgError`` becomes ``error: ...`` on stderr and exit 2; any
other exception is a bug and keeps its traceback (exit 1).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from reorg.model import PairMode, ReorgError, Scope

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Plan and run port reorganisations without two services ever fighting over a port.",
    pretty_exceptions_enable=False,
)

CURRENT = typer.Option(Path("data/current.csv"), "--current", help="Where each service listens now.")
TARGET = typer.Option(Path("data/target.csv"), "--target", help="Where each service should listen.")
SCOPE = typer.Option(Scope.HOST, "--scope", help="A port belongs to one host, or to one service on all hosts.")
JSON = typer.Option(False, "--json", help="Print JSON on stdout instead of tables.")


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# ---- check (issue 2) -------------------------------------------------------------------------


# ---- plan (issue 3) --------------------------------------------------------------------------


# ---- compare (issue 4) -----------------------------------------------------------------------


# ---- execute: status, next, done, undo, history (issue 5) ------------------------------------


def main() -> None:
    """Console entry point: user errors exit 2 with one line; bugs keep their traceback."""
    try:
        app()
    except ReorgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
