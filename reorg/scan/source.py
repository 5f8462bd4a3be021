"""Reader for source-code defaults: the one reader built on regular expressions.

Languages are not parsed; these are the shapes a port default takes in the fleet's code
(TypeScript/JavaScript, Go, Python, shell), matched line by line after comments are blanked
out (columns kept). The owning service's own port (``PORT``, ``HTTP_PORT``, ``port``) is a
listener on the dev host; a default for another service's variable (``MANA_AUTH_PORT``) and
every URL are references. A line that builds a URL from the service's own port is a reference.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any

from reorg.scan.literal import (
    find_flags,
    find_urls,
    is_own_port_variable,
    is_port_variable,
    service_from_variable,
    valid_port,
)
from reorg.scan.model import Notice, Occurrence, Role, Target
from reorg.scan.reader import SourceFile, reference

C_STYLE = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".go", ".svelte", ".vue", ".astro")
HASH_STYLE = (".py", ".sh", ".bash", ".zsh")
DEV_CONFIG = re.compile(r"^(?:vite|astro|next|nuxt|svelte|vitest)\.config\.[cm]?[jt]s$")

_P = r"['\"]?(?P<port>[0-9]{2,5})['\"]?(?![\w.])"
PATTERNS = (
    # process.env.PORT || 3001, process.env.PORT ?? '3066', env.MANA_AUTH_PORT || '3001', import.meta.env.X || 1
    re.compile(r"\b(?:process\.env|import\.meta\.env|Bun\.env|env)\s*(?:\.(?P<var>\w+)|\[\s*['\"](?P<var2>\w+)['\"]\s*\])\s*(?:\|\||\?\?)\s*" + _P),
    # env('PORT', '3001'), intEnv('PORT', 3070), getEnv("PORT", "3021"), envutil.GetInt("PORT", 3021),
    # os.getenv("PORT", "3025"), os.environ.get('PORT', 8080), configService.get<number>('port', 3030)
    re.compile(
        r"(?:\b\w*(?:[eE]nv|getenv|Getenv|GetInt|GetString|getInt)\w*|environ\.get|\.get)\s*(?:<[\w\s<>|]+>)?\(\s*"
        r"['\"](?P<var>[\w.]+)['\"]\s*,\s*" + _P
    ),
    # port: int = 3025 (pydantic, dataclass), PORT: int = 3025
    re.compile(r"^[ \t]*(?P<var>[A-Za-z_]*port)[ \t]*:[ \t]*int[ \t]*=[ \t]*(?P<port>[0-9]{2,5})\b", re.I | re.M),
    # ${PORT:-3050} in shell
    re.compile(r"\$\{(?P<var>\w+):?-" + _P + r"\}"),
)
# words a file must hold (lower-cased) before each of PATTERNS can match
_NEEDS = (("env",), ("env", ".get", "getint", "getstring"), ("port",), ("${",))
LISTEN = re.compile(r"\.listen\(\s*(?P<port>[0-9]{2,5})\s*[,)]")
UVICORN_RUN = re.compile(r"\b(?:uvicorn\.run|app\.run|web\.run_app)\(.*?\bport\s*=\s*(?P<port>[0-9]{2,5})\b")
DEV_PORT = re.compile(r"\bport\s*:\s*(?P<port>[0-9]{2,5})\b")
_NEEDS_CALL = {True: (".listen(",), False: (".run(", "run_app(")}
GO_GETENV = re.compile(r"\b(?P<v>\w+)\s*:?=\s*os\.Getenv\(\s*\"(?P<var>\w+)\"\s*\)")


def accepts(name: str) -> bool:
    return name.endswith(C_STYLE + HASH_STYLE)


_C_TOKENS = re.compile(r"""\\.|["'`]|//|/\*|\*/|<!--|-->""")
_HASH_TOKENS = re.compile(r"""\\.|["'`]|#""")


def blank_comments(lines: tuple[str, ...], style: str) -> list[str]:
    """Each line with its comments replaced by spaces (string contents kept), so columns stay.

    A line without a comment marker is kept as it is (the common case, and fast); others are
    tokenised: quotes, escapes and comment delimiters, in order.
    """
    out: list[str] = []
    in_block = ""  # "*/" or "-->" while inside a block comment
    tokens = _C_TOKENS if style == "c" else _HASH_TOKENS
    whole = "\n".join(lines)
    if ("#" not in whole) if style == "hash" else ("//" not in whole and "/*" not in whole and "<!--" not in whole):
        return list(lines)
    for line in lines:
        if not in_block and (
            ("#" not in line) if style == "hash" else ("//" not in line and "/*" not in line and "<!--" not in line)
        ):
            out.append(line)
            continue
        chars = list(line)
        quote = ""
        blank_from = 0  # while in_block: where the comment being blanked starts on this line
        for m in tokens.finditer(line):
            token, at = m.group(), m.start()
            if in_block:
                if token == in_block:
                    chars[blank_from:m.end()] = " " * (m.end() - blank_from)
                    in_block = ""
                continue
            if quote:
                if token == quote:
                    quote = ""
                continue
            if token in ("'", '"', "`"):
                quote = token
            elif token == "//" or token == "#" and (at == 0 or line[at - 1] in " \t"):
                chars[at:] = " " * (len(chars) - at)
                break
            elif token in ("/*", "<!--"):
                in_block, blank_from = ("*/" if token == "/*" else "-->"), at
        if in_block:
            chars[blank_from:] = " " * (len(chars) - blank_from)
        out.append("".join(chars))
    return out


_TWO_DIGITS = re.compile(r"[0-9]{2}")
_DOCSTRING_START = re.compile(r"""^\s*[rRbBuU]{0,2}("{3}|'{3})""")


def blank_docstrings(lines: list[str]) -> list[str]:
    """Python docstrings (a triple-quoted string that starts a line) are documentation: blanked
    like comments, columns kept."""
    out: list[str] = []
    closing = ""
    for line in lines:
        if closing:
            end = line.find(closing)
            if end < 0:
                out.append(" " * len(line))
                continue
            out.append(" " * (end + 3) + line[end + 3:])
            closing = ""
            continue
        m = _DOCSTRING_START.match(line)
        if not m:
            out.append(line)
            continue
        quote = m.group(1)
        end = line.find(quote, m.end())
        if end < 0:
            closing = quote
            out.append(" " * len(line))
        else:
            out.append(" " * (end + 3) + line[end + 3:])
    return out



def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    """Every pattern runs once over the whole file (comments blanked, offsets kept); a match's
    offset maps back to its line and column."""
    if not _TWO_DIGITS.search(source.text):
        return
    style = "hash" if source.name.endswith(HASH_STYLE) else "c"
    lines = blank_comments(source.body.lines, style)
    if source.name.endswith(".py") and ('"""' in source.text or "'''" in source.text):
        lines = blank_docstrings(lines)
    text = "\n".join(lines)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    dev_config = DEV_CONFIG.match(source.name) is not None
    taken: set[tuple[int, int]] = set()

    def place(offset: int) -> tuple[int, int]:
        line0 = bisect_right(starts, offset) - 1
        return line0, offset - starts[line0]

    def emit(offset: int, port: int, kind: str, role: Role, **fields: Any) -> Occurrence | Notice | None:
        line0, col0 = place(offset)
        occurrence = source.at(line0, col0, port, kind, role, **fields)
        if isinstance(occurrence, Occurrence):
            key = (occurrence.line, occurrence.column)
            if key in taken:
                return None
            taken.add(key)
        return occurrence

    found: list[Occurrence | Notice | None] = []
    fields: dict[str, Any]
    lower = text.lower()
    for pattern, needed in zip(PATTERNS, _NEEDS, strict=False):
        if not any(word in lower for word in needed):  # most files hold none: skip the regex
            continue
        for m in pattern.finditer(text):
            var = (m.groupdict().get("var") or m.groupdict().get("var2") or "").replace(".", "_")
            port = valid_port(m.group("port"))
            if port is None or not is_port_variable(var):
                continue
            if is_own_port_variable(var):
                builds_url = "://" in lines[place(m.start("port"))[0]]
                role, fields = (Role.REFERENCE, {"target": Target.SELF}) if builds_url else (Role.BINDING, {})
                kind = "source-default"
            else:
                role, fields, kind = Role.REFERENCE, {"target": Target.SERVICE, "name": service_from_variable(var)}, "source-port"
            found.append(emit(m.start("port"), port, kind, role, **fields))
    for pattern in (LISTEN, UVICORN_RUN) + ((DEV_PORT,) if dev_config else ()):
        if pattern is not DEV_PORT and not any(word in text for word in _NEEDS_CALL[pattern is LISTEN]):
            continue
        for m in pattern.finditer(text):
            port = valid_port(m.group("port"))
            if port is not None:
                kind = "dev-server" if pattern is DEV_PORT else "source-default"
                found.append(emit(m.start("port"), port, kind, Role.BINDING))
    if style == "hash" or dev_config:
        for line0, line in enumerate(lines):
            for flag in find_flags(line):
                kind = "dev-server" if dev_config else "source-default"
                found.append(emit(starts[line0] + flag.offset, flag.port, kind, Role.BINDING))
    for url in find_urls(text):
        line0, col0 = place(url.offset)
        occurrence = reference(source, line0, col0, url.port, url.host, "source-url")
        if isinstance(occurrence, Occurrence):
            if (occurrence.line, occurrence.column) in taken:
                continue
            taken.add((occurrence.line, occurrence.column))
        found.append(occurrence)
    if source.name.endswith(".go") and "os.Getenv" in text:
        for m in GO_GETENV.finditer(text):
            if not is_port_variable(m.group("var")):
                continue
            line0 = place(m.start())[0]
            fallback = re.compile(r"\b" + re.escape(m.group("v")) + r"\s*=\s*\"(?P<port>[0-9]{2,5})\"")
            for ahead in range(line0 + 1, min(line0 + 6, len(lines))):
                f = fallback.search(lines[ahead])
                if f and valid_port(f.group("port")):
                    own = is_own_port_variable(m.group("var"))
                    fields = {} if own else {"target": Target.SERVICE, "name": service_from_variable(m.group("var"))}
                    found.append(emit(starts[ahead] + f.start("port"), int(f.group("port")),
                                      "source-default" if own else "source-port",
                                      Role.BINDING if own else Role.REFERENCE, **fields))
                    break
    yield from (item for item in found if item is not None)
