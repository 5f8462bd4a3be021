"""Reader for dotenv files (``.env``, ``.env.example``, ``.env.development``, ``*.env``).

``PORT=3050`` is the owning service's port (a binding line, not a listener: an env file only
matters to whoever loads it); ``MEMORO_SERVER_PORT=3015`` points at the service the variable
names; URLs in any value are references. Also parses ``.env`` beside a compose file, for
``${VAR}`` interpolation, keeping where each value is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reorg.scan.literal import (
    find_urls,
    is_own_port_variable,
    is_port_variable,
    service_from_variable,
    valid_port,
)
from reorg.scan.model import Notice, Occurrence, Role, Target
from reorg.scan.reader import SourceFile, reference

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class EnvValue:
    value: str
    line0: int
    col0: int  # where the value's text starts (after an opening quote)


def parse_env(text: str) -> dict[str, EnvValue]:
    """KEY=VALUE lines; comments and blank lines skipped; quotes removed; the last one wins."""
    values: dict[str, EnvValue] = {}
    for index, line in enumerate(text.splitlines()):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _ASSIGNMENT.match(line)
        if not m:
            continue
        value, col = m.group("value"), m.start("value")
        if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) >= 2:
            value, col = value[1:-1], col + 1
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[m.group("key")] = EnvValue(value, index, col)
    return values


def accepts(name: str) -> bool:
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    for key, entry in sorted(parse_env(source.text).items(), key=lambda kv: kv[1].line0):
        yield from read_assignment(source, key, entry.value, entry.line0, entry.col0, "env")


def read_assignment(source: SourceFile, key: str, value: str, line0: int, col0: int, prefix: str) -> Iterator[Any]:
    """The occurrences of one ``KEY=value``: a port variable, and URLs in the value."""
    port = valid_port(value.strip()) if is_port_variable(key) else None
    if port is not None:
        offset = col0 + value.index(value.strip())
        if is_own_port_variable(key):
            yield source.at(line0, offset, port, f"{prefix}-port", Role.BINDING)
        else:
            yield source.at(
                line0, offset, port, f"{prefix}-port", Role.REFERENCE,
                target=Target.SERVICE, name=service_from_variable(key),
            )
        return
    for found in find_urls(value):
        yield reference(source, line0, col0 + found.offset, found.port, found.host, f"{prefix}-url")
