"""Reader for ``package.json`` scripts: dev servers started with a port flag
(``vite --port 5173``, ``astro dev --port 4322``, ``next dev -p 3000``), and URLs in scripts.

``json`` reads the file; each script's line is then found by its key and exact text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from reorg.scan.literal import find_flags, find_urls, nth_in
from reorg.scan.model import Notice, Occurrence, Role
from reorg.scan.reader import SourceFile, reference


def accepts(name: str) -> bool:
    return name == "package.json"


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    try:
        data = json.loads(source.text)
    except json.JSONDecodeError as exc:
        yield source.notice(exc.lineno, f"not valid JSON ({exc.msg}); not read")
        return
    except (RecursionError, ValueError):  # nesting past the interpreter's limit, a 5,000-digit number
        yield source.notice(1, "JSON nested too deeply or with a number too long to read; not read")
        return
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return
    used: set[tuple[int, int]] = set()
    for key, value in scripts.items():
        if not isinstance(value, str):
            continue
        flags, urls = list(find_flags(value)), list(find_urls(value))
        if not flags and not urls:
            continue
        place = _place_of(source, key, value, used)
        if place is None:
            yield source.notice(1, f"script {key!r} not found as written; not read")
            continue
        line0, col0, raw = place
        for flag in flags:
            yield source.at(line0, col0, flag.port, "dev-server", Role.BINDING, nth=nth_in(raw, flag.offset, str(flag.port)))
        for url in urls:
            yield reference(source, line0, col0, url.port, url.host, "script-url", nth=nth_in(raw, url.offset, str(url.port)))


def _place_of(source: SourceFile, key: str, value: str, used: set[tuple[int, int]]) -> tuple[int, int, str] | None:
    """(line, column where the value's text starts, the value as written) of ``"key": "value"``."""
    pattern = re.compile(re.escape(json.dumps(key)) + r'\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)"')
    for index, line in enumerate(source.body.lines):
        for m in pattern.finditer(line):
            if (index, m.start()) not in used and json.loads(f'"{m.group("value")}"') == value:
                used.add((index, m.start()))
                return index, m.start("value"), m.group("value")
    return None
