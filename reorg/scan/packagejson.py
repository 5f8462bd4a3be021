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

_ENTRY = re.compile(r'^\s*"(?P<key>(?:[^"\\]|\\.)*)"\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)"')


def accepts(name: str) -> bool:
    return name == "package.json"


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    try:
        data = json.loads(source.text)
    except json.JSONDecodeError as exc:
        yield source.notice(exc.lineno, f"not valid JSON ({exc.msg}); not read")
        return
    scripts = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(scripts, dict):
        return
    used: set[int] = set()
    for key, value in scripts.items():
        if not isinstance(value, str):
            continue
        flags, urls = list(find_flags(value)), list(find_urls(value))
        if not flags and not urls:
            continue
        line0 = _line_of(source, key, value, used)
        if line0 is None:
            yield source.notice(1, f"script {key!r} not found as written; not read")
            continue
        col0 = _ENTRY.match(source.body.lines[line0]).start("value")
        raw = _ENTRY.match(source.body.lines[line0]).group("value")
        for flag in flags:
            yield source.at(line0, col0, flag.port, "dev-server", Role.BINDING, nth=nth_in(raw, flag.offset, str(flag.port)))
        for url in urls:
            yield reference(source, line0, col0, url.port, url.host, "script-url", nth=nth_in(raw, url.offset, str(url.port)))


def _line_of(source: SourceFile, key: str, value: str, used: set[int]) -> int | None:
    for index, line in enumerate(source.body.lines):
        m = _ENTRY.match(line)
        if m and index not in used and json.loads(f'"{m.group("key")}"') == key and json.loads(f'"{m.group("value")}"') == value:
            used.add(index)
            return index
    return None
