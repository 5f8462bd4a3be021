"""Reader for Dockerfiles: a careful line parser (no Dockerfile is ever built or run).

Continuation lines (``\\``) are joined, comment lines dropped, and per instruction: ``EXPOSE``
ports, ``ENV``/``ARG`` port variables (both ``K=V`` and ``K V`` forms) and URLs, listen flags in
``CMD``/``ENTRYPOINT`` (shell and JSON forms), and the ``HEALTHCHECK`` URL (the container
itself). A Dockerfile belongs to no host: its lines follow the service wherever it is deployed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from reorg.scan.literal import (
    Found,
    find_flags,
    find_urls,
    is_own_port_variable,
    is_port_variable,
    nth_in,
    service_from_variable,
    valid_port,
)
from reorg.scan.model import Notice, Occurrence, Role, Target
from reorg.scan.reader import SourceFile

_NAME = re.compile(r"^(?:Dockerfile(?:\.[\w.-]+)?|[\w.-]+\.[Dd]ockerfile|Containerfile)$")
_INSTRUCTION = re.compile(r"^\s*(?P<op>[A-Za-z]+)\s+(?P<args>.*)$", re.S)
_PAIR = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>\"[^\"]*\"|'[^']*'|\S*)")
SELF_NAMES = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]"})


def accepts(name: str) -> bool:
    return _NAME.match(name) is not None


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(0-based first physical line, joined instruction text); comments and blanks dropped."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        start = index
        line = lines[index]
        if not line.strip() or line.lstrip().startswith("#"):
            index += 1
            continue
        parts = []
        while True:
            stripped = line.rstrip()
            if stripped.endswith("\\") and index + 1 < len(lines):
                parts.append(stripped[:-1])
                index += 1
                line = lines[index]
                while line.lstrip().startswith("#") and index + 1 < len(lines):  # comments inside a continuation
                    index += 1
                    line = lines[index]
                continue
            parts.append(line)
            break
        index += 1
        yield start, " ".join(parts)


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    common = {"host": ""}
    for line0, text in logical_lines(source.text):
        m = _INSTRUCTION.match(text)
        if not m:
            continue
        op, args = m.group("op").upper(), m.group("args")
        base = m.start("args")

        # called only within this iteration, so the loop variables it reads are the current ones
        def at(offset: int, port: int, kind: str, role: Role, **fields: Any) -> Occurrence | Notice:
            return source.at(line0, 0, port, kind, role, nth=nth_in(text, base + offset, str(port)), **{**common, **fields})  # noqa: B023

        if op == "EXPOSE":
            for word in re.finditer(r"\S+", args):
                port = valid_port(word.group().split("/")[0])
                if port is not None:
                    yield at(word.start(), port, "dockerfile-expose", Role.BINDING)
        elif op in ("ENV", "ARG"):
            pairs = [(p.group("key"), p.group("value"), p.start("value")) for p in _PAIR.finditer(args)]
            if not pairs and op == "ENV":  # legacy ENV KEY VALUE
                key, _sep, value = args.partition(" ")
                pairs = [(key, value.strip(), len(key) + 1 + (len(value) - len(value.lstrip())))]
            for key, value, offset in pairs:
                bare = value.strip("\"'")
                offset += 1 if bare != value else 0
                port = valid_port(bare) if is_port_variable(key) else None
                if port is not None:
                    if is_own_port_variable(key):
                        yield at(offset, port, "dockerfile-env", Role.BINDING)
                    else:
                        yield at(offset, port, "dockerfile-env", Role.REFERENCE, target=Target.SERVICE, name=service_from_variable(key))
                    continue
                for found in find_urls(bare):
                    yield _url(at, offset + found.offset, found, "dockerfile-url")
        elif op in ("CMD", "ENTRYPOINT"):
            for found in find_flags(args):
                yield at(found.offset, found.port, "dockerfile-command", Role.BINDING)
        elif op == "HEALTHCHECK":
            for found in find_urls(args):
                yield _url(at, found.offset, found, "dockerfile-healthcheck")


def _url(at: Callable[..., Occurrence | Notice], offset: int, found: Found, kind: str) -> Occurrence | Notice:
    if found.host in SELF_NAMES:
        return at(offset, found.port, kind, Role.REFERENCE, target=Target.SELF)
    return at(offset, found.port, kind, Role.REFERENCE, target=Target.HOST if found.host == "host.docker.internal" else Target.SERVICE, name=found.host)


