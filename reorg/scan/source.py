"""Reader for source-code defaults: the one reader built on regular expressions.

Languages are not parsed; these are the shapes a port default takes in the fleet's code
(TypeScript/JavaScript, Go, Python, shell), matched line by line after comments are blanked
out (columns kept). The owning service's own port (``PORT``, ``HTTP_PORT``, ``port``) is a
listener on the dev host; a default for another service's variable (``MANA_AUTH_PORT``) and
every URL are references. A line that builds a URL from the service's own port is a reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from reorg.scan.literal import find_flags, find_urls, is_own_port_variable, is_port_variable, service_from_variable, valid_port
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
    re.compile(r"^\s*(?P<var>[A-Za-z_]*port)\s*:\s*int\s*=\s*(?P<port>[0-9]{2,5})\b", re.I),
    # ${PORT:-3050} in shell
    re.compile(r"\$\{(?P<var>\w+):?-" + _P + r"\}"),
)
LISTEN = re.compile(r"\.listen\(\s*(?P<port>[0-9]{2,5})\s*[,)]")
UVICORN_RUN = re.compile(r"\b(?:uvicorn\.run|app\.run|web\.run_app)\(.*?\bport\s*=\s*(?P<port>[0-9]{2,5})\b")
DEV_PORT = re.compile(r"\bport\s*:\s*(?P<port>[0-9]{2,5})\b")
GO_GETENV = re.compile(r"\b(?P<v>\w+)\s*:?=\s*os\.Getenv\(\s*\"(?P<var>\w+)\"\s*\)")


def accepts(name: str) -> bool:
    return name.endswith(C_STYLE + HASH_STYLE)


def blank_comments(lines: tuple[str, ...], style: str) -> list[str]:
    """Each line with its comments replaced by spaces (string contents kept), so columns stay."""
    out: list[str] = []
    in_block = False
    for line in lines:
        chars = list(line)
        quote = ""
        i = 0
        while i < len(chars):
            c = chars[i]
            if in_block:
                if line.startswith("*/", i):
                    chars[i] = chars[i + 1] = " "
                    in_block = False
                    i += 2
                    continue
                chars[i] = " "
            elif quote:
                if c == "\\":
                    i += 2
                    continue
                if c == quote:
                    quote = ""
            elif c in "'\"`":
                quote = c
            elif style == "c" and line.startswith("//", i):
                chars[i:] = " " * (len(chars) - i)
                break
            elif style == "c" and line.startswith("/*", i):
                chars[i] = chars[i + 1] = " "
                in_block = True
                i += 2
                continue
            elif style == "c" and line.startswith("<!--", i):
                end = line.find("-->", i)
                stop = len(chars) if end < 0 else end + 3
                chars[i:stop] = " " * (stop - i)
                i = stop
                continue
            elif style == "hash" and c == "#" and (i == 0 or chars[i - 1] in " \t"):
                chars[i:] = " " * (len(chars) - i)
                break
            i += 1
        if quote == "`":  # template literals may span lines; do not carry quote state (keep it simple)
            pass
        out.append("".join(chars))
    return out


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    style = "hash" if source.name.endswith(HASH_STYLE) else "c"
    lines = blank_comments(source.body.lines, style)
    dev_config = DEV_CONFIG.match(source.name) is not None
    taken: set[tuple[int, int]] = set()

    def emit(line0: int, col0: int, port: int, kind: str, role: Role, **fields):
        occurrence = source.at(line0, col0, port, kind, role, **fields)
        if isinstance(occurrence, Occurrence):
            key = (occurrence.line, occurrence.column)
            if key in taken:
                return None
            taken.add(key)
        return occurrence

    for line0, line in enumerate(lines):
        if not line.strip():
            continue
        builds_url = "://" in line
        for pattern in PATTERNS:
            for m in pattern.finditer(line):
                var = (m.groupdict().get("var") or m.groupdict().get("var2") or "").replace(".", "_")
                port = valid_port(m.group("port"))
                if port is None or not is_port_variable(var):
                    continue
                if is_own_port_variable(var):
                    role, fields = (Role.REFERENCE, {"target": Target.SELF}) if builds_url else (Role.BINDING, {})
                    kind = "source-default"
                else:
                    role, fields, kind = Role.REFERENCE, {"target": Target.SERVICE, "name": service_from_variable(var)}, "source-port"
                found = emit(line0, m.start("port"), port, kind, role, **fields)
                if found is not None:
                    yield found
        for pattern in (LISTEN, UVICORN_RUN) + ((DEV_PORT,) if dev_config else ()):
            for m in pattern.finditer(line):
                port = valid_port(m.group("port"))
                if port is None:
                    continue
                kind = "dev-server" if pattern is DEV_PORT else "source-default"
                found = emit(line0, m.start("port"), port, kind, Role.BINDING)
                if found is not None:
                    yield found
        if style == "hash" or dev_config:
            for flag in find_flags(line):
                kind = "dev-server" if dev_config else "source-default"
                found = emit(line0, flag.offset, flag.port, kind, Role.BINDING)
                if found is not None:
                    yield found
        for url in find_urls(line):
            found = None
            if (line0, url.offset) not in taken:
                occurrence = reference(source, line0, url.offset, url.port, url.host, "source-url")
                if isinstance(occurrence, Occurrence) and (occurrence.line, occurrence.column) in taken:
                    continue
                if isinstance(occurrence, Occurrence):
                    taken.add((occurrence.line, occurrence.column))
                found = occurrence
            if found is not None:
                yield found
        m = GO_GETENV.search(line)
        if m and is_port_variable(m.group("var")) and source.name.endswith(".go"):
            fallback = re.compile(r"\b" + re.escape(m.group("v")) + r"\s*=\s*\"(?P<port>[0-9]{2,5})\"")
            for ahead in range(line0 + 1, min(line0 + 6, len(lines))):
                f = fallback.search(lines[ahead])
                if f and valid_port(f.group("port")):
                    own = is_own_port_variable(m.group("var"))
                    fields = {} if own else {"target": Target.SERVICE, "name": service_from_variable(m.group("var"))}
                    found = emit(ahead, f.start("port"), int(f.group("port")), "source-default" if own else "source-port",
                                 Role.BINDING if own else Role.REFERENCE, **fields)
                    if found is not None:
                        yield found
                    break
