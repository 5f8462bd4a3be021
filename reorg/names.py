"""The names reorg accepts for services and hosts (and categories), checked where they enter.

A name is 1-253 characters: ASCII letters and digits, ``.``, ``_``, ``-`` and ``@``, starting
with a letter or digit. That covers what real inventories use: compose services and DNS host
names (``mana-auth``, ``mac-mini``, ``db.example.org``), underscores of container names, and
``@`` of systemd template instances (``postgresql@14-main``). It keeps out everything that means
something in a shell, in Markdown, in Mermaid or on a terminal (spaces, ``;``, ``$``, quotes,
backticks, ``<``, ``|``, newlines, NUL, ANSI escapes), and a leading ``-`` that a command would
take for an option. Documented in docs/semantics.md ("Names") and data/README.md.

Output is escaped anyway (``reorg.escape``), in case a plan file was edited by hand.
"""

from __future__ import annotations

import re

from reorg.model import ReorgError
from reorg.safeio import shorten

MAX_NAME_LENGTH = 253
NAME_CHARS = "letters, digits, '.', '_', '-' and '@' (first a letter or digit)"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*", re.ASCII)


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid name, or None when it is."""
    if not isinstance(name, str) or not name:
        return "is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long (at most {MAX_NAME_LENGTH})"
    if _NAME.fullmatch(name):
        return None
    if not _NAME.fullmatch(name[0]):
        first = "a space" if name[0] == " " else f"'{shorten(name[0])}'"
        return f"starts with {first}"
    odd = next(c for c in name if not _NAME.fullmatch("a" + c))
    shown = {" ": "a space", "\0": "a NUL byte", "\n": "a line break", "\t": "a tab", "\x1b": "an escape (ESC)"}
    what = shown.get(odd) or (f"'{odd}'" if odd.isprintable() else f"control character {shorten(odd)}")
    return f"contains {what}"


def check_name(name: str, kind: str, where: str) -> str:
    """``name`` if valid; else ``ReorgError`` ``WHERE: KIND 'NAME' contains ...; use ...``."""
    problem = name_problem(name)
    if problem is None:
        return name
    raise ReorgError(f"{where}: {kind} '{shorten(name)}' {problem}; use {NAME_CHARS}")
