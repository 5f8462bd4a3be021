"""Quoting and escaping for every place a name from the tables or a plan file is written out.

Service and host names are checked at the boundary (``reorg.names``: letters, digits and
``. _ - @``), so none of these should ever change a valid name's meaning. They are defence in
depth for a plan file edited by hand, a future relaxation of the name rules, or a free-text cell
(a note) that reaches the same places:

- ``shell_quote``: a word of a shell command the operator pastes (``nc -z HOST PORT``);
- ``md_escape``: Markdown inline text (task lines, table cells, headings);
- ``md_code``: a Markdown code span, where backslash escapes do not work;
- ``mermaid_escape``: the text of a quoted Mermaid label, ``id["..."]``;
- ``terminal_safe``: text for a terminal, with control characters (ANSI ESC, CR, newline, bidi
  overrides) shown as ``\\xNN`` / ``\\uNNNN`` instead of acting.

No third-party imports; pure functions of strings.
"""

from __future__ import annotations

import re
import shlex
import unicodedata

# Control (Cc), format (Cf: bidi overrides, zero-width), line and paragraph separators.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}
# CommonMark's backslash-escapable ASCII punctuation that can start or end markup inline.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&$])")  # '(' and '!' act only beside '[' ']'
_MERMAID_ENTITIES = {
    "#": "#35;",  # first: every other replacement adds a '#'
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "&": "#amp;",
    "`": "#96;",
}


def _visible(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: object) -> str:
    """``text`` with every control or format character shown as an escape instead of acting.

    An ANSI escape sequence in a name prints as ``\\x1b[31m``, a newline as ``\\x0a``; a
    backslash itself is kept (it does nothing on a terminal)."""
    value = str(text)
    if value.isprintable() and value.isascii():
        return value
    return "".join(_visible(c) if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in value)


def terminal_text(text: object) -> str:
    """Several lines for a terminal: like ``terminal_safe``, but newlines and tabs keep acting.

    What ``reorg/cli.py`` prints (tables, status, checklists) goes through this, so a name, a
    note or a journal detail with an ANSI escape shows as ``\\x1b[...`` whichever field it is in."""
    value = str(text)
    if value.isascii() and all(c.isprintable() or c in "\n\t" for c in value):
        return value
    return "".join(
        c if c in "\n\t" or unicodedata.category(c) not in _UNSAFE_CATEGORIES else _visible(c) for c in value
    )


def shell_quote(text: object) -> str:
    """One word for a POSIX shell (``shlex.quote``): ``h1;touch x`` -> ``'h1;touch x'``.

    Control characters are made visible first, so a pasted command never holds a newline."""
    return shlex.quote(terminal_safe(text))


def md_escape(text: object) -> str:
    """Markdown inline text that renders as ``text`` and starts no markup, link, HTML or line."""
    return _MD_SPECIAL.sub(r"\\\1", terminal_safe(text))


def md_code(text: object) -> str:
    """A Markdown code span showing ``text`` literally (fenced by more backticks than it holds)."""
    value = terminal_safe(text)
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or not value.strip() else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def mermaid_escape(text: object) -> str:
    """Text for inside a quoted Mermaid label ``["..."]``: the quote that would end it, ``#``
    (which starts an entity), HTML (``<``, ``>``, ``&``: labels may render as HTML) and backticks
    (Markdown strings) become Mermaid entity codes (``#quot;``); control characters are made
    visible. Brackets, parentheses and ``;`` inside the quotes are text, so they stay."""
    value = terminal_safe(text)
    return "".join(_MERMAID_ENTITIES.get(c, c) for c in value)


def mermaid_label(text: object) -> str:
    """A complete quoted Mermaid label: ``"text"`` with ``text`` escaped."""
    return '"' + mermaid_escape(text) + '"'
