"""Reader for TOML configs (``fly.toml``, app ``config.toml``): ``port`` and ``*_port`` keys
with an integer value, and URLs in strings. ``tomllib`` decides what the file says; each key's
line is found by its text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator

from reorg.scan.literal import (
    find_urls,
    is_own_port_variable,
    is_port_variable,
    service_from_variable,
    valid_port,
)
from reorg.scan.model import Notice, Occurrence, Role, Target
from reorg.scan.reader import SourceFile, reference

_KEY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_-]+)\s*=\s*(?P<port>[0-9]{1,5})\s*(?:#.*)?$")


def accepts(name: str) -> bool:
    return name.endswith(".toml") and name not in ("pyproject.toml", "Cargo.toml")


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    try:
        tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        yield source.notice(int(m.group(1)) if m else 1, f"not valid TOML ({exc}); not read")
        return
    for line0, line in enumerate(source.body.lines):
        if line.lstrip().startswith("#"):
            continue
        m = _KEY.match(line)
        if m and is_port_variable(m.group("key").replace("-", "_")) or (m and m.group("key").lower().endswith("port")):
            port = valid_port(m.group("port"))
            key = m.group("key").replace("-", "_").upper()
            if port is None:
                continue
            if is_own_port_variable(key) or key in ("INTERNAL_PORT",):
                yield source.at(line0, m.start("port"), port, "toml-port", Role.BINDING, host="")
            else:
                yield source.at(line0, m.start("port"), port, "toml-port", Role.REFERENCE,
                                target=Target.SERVICE, name=service_from_variable(key))
            continue
        code = line.split("#", 1)[0] if '"' not in line else line
        for found in find_urls(code):
            yield reference(source, line0, found.offset, found.port, found.host, "toml-url")
