"""Reader for docker compose files (``docker-compose*.yml``, ``compose*.yaml``).

Per service: ``ports`` (short ``"H:C"``, ``"IP:H:C"``, ``"H-H2:C-C2"``, ``/tcp``, bare ``"C"``;
long ``published``/``target``), ``expose``, ``environment`` (map or list: ``PORT``, ``*_PORT``,
URLs), ``healthcheck`` URLs, traefik ``loadbalancer.server.port`` labels, listen flags in
``command``/``entrypoint``, ``profiles`` and ``container_name``. ``${VAR:-default}`` and
``${VAR}`` are resolved from the ``.env`` beside the file; a port that comes from ``.env`` is
reported at its line there, so the patch edits the right file.

Inside a compose file ``localhost`` is the container itself; ``host.docker.internal`` is the host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reorg.scan import envfile
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
from reorg.scan.model import Alias, Notice, Occurrence, Role, Target
from reorg.scan.reader import SourceFile
from reorg.scan.yamlfile import yaml_root
from reorg.scan.yamltree import Node

# Any host part: a file named for a host reorg cannot take (``docker-compose.a b.yml``) is reported
# by the scan, not silently passed over as if it were no compose file (reorg.scan.scan_tree).
NAME = re.compile(r"^(?:docker-)?compose(?:\.(?P<host>[^/]+?))?\.ya?ml$")
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|(?P<dollar>\$))")
_TRAEFIK_PORT = re.compile(r"^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$")
SELF_NAMES = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]"})


def accepts(name: str) -> bool:
    return NAME.match(name) is not None


def host_of(name: str) -> str | None:
    """``docker-compose.macmini.yml`` -> ``macmini``; None for a plain compose file."""
    m = NAME.match(name)
    host = m.group("host") if m else None
    return None if host in (None, "override") else host


# ---- values with ${VAR} resolved, remembering where each character was written ------------


@dataclass(frozen=True)
class Piece:
    start: int  # offset in the resolved text
    text: str
    origin: tuple[Any, ...]  # ("here", offset in the written value) | ("env", line0, col0) | ("none",)


@dataclass(frozen=True)
class Resolved:
    text: str
    pieces: tuple[Piece, ...]
    missing: tuple[str, ...]


def resolve(value: str, env: dict[str, envfile.EnvValue]) -> Resolved:
    pieces: list[Piece] = []
    missing: list[str] = []
    out = ""
    last = 0
    for m in _VARIABLE.finditer(value):
        if m.start() > last:
            pieces.append(Piece(len(out), value[last:m.start()], ("here", last)))
            out += value[last:m.start()]
        last = m.end()
        if m.group("dollar"):
            pieces.append(Piece(len(out), "$", ("none",)))
            out += "$"
            continue
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op") or "", m.group("arg") or ""
        entry = env.get(name)
        set_ = entry is not None and (entry.value != "" or ":" not in op)
        origin: tuple[Any, ...]
        if op.endswith("+"):
            text, origin = (arg, ("here", m.start("arg"))) if set_ else ("", ("none",))
        elif set_ and entry is not None:
            text, origin = entry.value, ("env", entry.line0, entry.col0)
        elif op.endswith("-"):
            text, origin = arg, ("here", m.start("arg"))
        else:
            text, origin = "", ("none",)
            missing.append(name)
        pieces.append(Piece(len(out), text, origin))
        out += text
    if last < len(value):
        pieces.append(Piece(len(out), value[last:], ("here", last)))
        out += value[last:]
    return Resolved(out, tuple(pieces), tuple(missing))


class ComposeReader:
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        env_text = source.sibling(".env")
        self.env = envfile.parse_env(env_text) if env_text else {}
        self.env_path = (source.path.rsplit("/", 1)[0] + "/.env") if "/" in source.path else ".env"

    # An occurrence of the port found at ``offset`` of the resolved value of ``node``.
    def at(
        self, node: Node, resolved: Resolved, offset: int, port: int, kind: str, role: Role,
        literal: str | None = None, **fields: Any,
    ) -> Occurrence | Notice:
        piece = next((p for p in resolved.pieces if p.start <= offset < p.start + len(p.text)), None)
        digits = literal or str(port)
        if piece is None or piece.origin[0] == "none":
            return self.source.notice(node.line + 1, f"port {port} comes from nowhere written; not read")
        within = offset - piece.start
        if piece.origin[0] == "env":
            _, line0, col0 = piece.origin
            fields.setdefault("owner", self.source.service)
            fields.setdefault("host", self.source.host)
            return Occurrence(
                file=self.env_path, line=line0 + 1, column=col0 + within + 1, port=port, kind=kind, role=role,
                literal=literal or "", **fields,
            )
        written = piece.origin[1] + within
        raw = node.value
        if node.kind != "scalar":
            return self.source.notice(node.line + 1, f"port {port} is not in a scalar; not read")
        return self.source.at(
            node.line, node.text_column if node.plain else 0, port, kind, role, literal=digits, nth=nth_in(raw, written, digits), **fields
        )

    def read(self) -> Iterator[Any]:
        root = yield from yaml_root(self.source)
        if root is None:
            return
        services = root.get("services") if root.kind == "mapping" else None
        if services is None or services.kind != "mapping":
            yield self.source.notice(root.line + 1, "compose file without a `services:` mapping; not read")
            return
        for name, key, body in services.items():
            if body.kind != "mapping":
                yield self.source.notice(key.line + 1, f"service {name!r} is not a mapping; not read")
                continue
            yield from self.read_service(name, body)

    def strings(self, node: Node | None) -> list[Node]:
        if node is None:
            return []
        if node.kind == "scalar":
            return [node]
        return [n for n in node.children() if n.kind == "scalar"]

    def read_service(self, name: str, body: Node) -> Iterator[Any]:
        profiles = tuple(sorted(n.value for n in self.strings(body.get("profiles"))))
        common: dict[str, Any] = {"owner": name, "profiles": profiles}
        container = body.get("container_name")
        if container is not None and container.kind == "scalar" and container.value != name:
            yield Alias(container.value.lower(), name, self.source.host)
        ports = body.get("ports")
        for item in ports.children() if ports is not None else []:
            yield from self.read_port(item, common)
        expose = body.get("expose")
        for item in expose.children() if expose is not None else []:
            if item.kind != "scalar":
                continue
            resolved = self.resolve(item)
            text = resolved.text.split("/")[0]
            for port, offset, literal in _range_ports(text, 0):
                yield self.at(item, resolved, offset, port, "compose-expose", Role.BINDING, literal, **common)
        yield from self.read_environment(body.get("environment"), common)
        health = body.get("healthcheck")
        test = health.get("test") if health is not None and health.kind == "mapping" else None
        for node in self.strings(test):
            resolved = self.resolve(node)
            for found in find_urls(resolved.text):
                yield self.reference(node, resolved, found, "compose-healthcheck", common)
        yield from self.read_labels(body.get("labels"), common)
        for field in ("command", "entrypoint"):
            nodes = self.strings(body.get(field))
            joined_flags = _flags_across(nodes)
            for node, offset, port in joined_flags:
                resolved = self.resolve(node)
                yield self.at(node, resolved, offset, port, "compose-command", Role.BINDING, **common)
            for node in nodes:
                resolved = self.resolve(node)
                for found in find_urls(resolved.text):
                    yield self.reference(node, resolved, found, "compose-url", common)

    def resolve(self, node: Node) -> Resolved:
        return resolve(node.value, self.env)

    def reference(
        self, node: Node, resolved: Resolved, found: Found, kind: str, common: dict[str, Any]
    ) -> Occurrence | Notice:
        if found.host in SELF_NAMES:
            target, name = Target.SELF, ""
        elif found.host == "host.docker.internal":
            target, name = Target.HOST, found.host
        else:
            target, name = Target.SERVICE, found.host
        return self.at(node, resolved, found.offset, found.port, kind, Role.REFERENCE, target=target, name=name, **common)

    def read_port(self, item: Node, common: dict[str, Any]) -> Iterator[Any]:
        if item.kind == "mapping":
            target = item.get("target")
            published = item.get("published")
            targets = []
            if target is not None and target.kind == "scalar":
                r = self.resolve(target)
                targets = _range_ports(r.text, 0)
                for port, offset, literal in targets:
                    yield self.at(target, r, offset, port, "compose-container", Role.BINDING, literal, **common)
            if published is not None and published.kind == "scalar":
                r = self.resolve(published)
                hosts = _range_ports(r.text, 0)
                for index, (port, offset, literal) in enumerate(hosts):
                    cport = targets[index][0] if index < len(targets) else (targets[0][0] if targets else None)
                    yield self.at(
                        published, r, offset, port, "compose-published", Role.BINDING, literal, container_port=cport, **common
                    )
            return
        if item.kind != "scalar":
            return
        resolved = self.resolve(item)
        for var in resolved.missing:
            yield self.source.notice(item.line + 1, f"${{{var}}} is not set in the .env beside this file; port not read")
        if resolved.missing:
            return
        parts = _split_mapping(resolved.text)
        if parts is None:
            yield self.source.notice(item.line + 1, f"port mapping {item.value!r} is not HOST:CONTAINER; not read")
            return
        (host_text, host_off), (cont_text, cont_off) = parts
        containers = _range_ports(cont_text, cont_off)
        if not containers:
            yield self.source.notice(item.line + 1, f"port mapping {item.value!r} has no valid container port; not read")
            return
        for port, offset, literal in containers:
            yield self.at(item, resolved, offset, port, "compose-container", Role.BINDING, literal, **common)
        if host_text:
            hosts = _range_ports(host_text, host_off)
            if len(hosts) != len(containers) and len(containers) != 1:
                yield self.source.notice(item.line + 1, f"port mapping {item.value!r}: ranges of different lengths; not read")
                return
            for index, (port, offset, literal) in enumerate(hosts):
                cport = containers[index][0] if len(containers) > 1 else containers[0][0]
                yield self.at(
                    item, resolved, offset, port, "compose-published", Role.BINDING, literal, container_port=cport, **common
                )

    def read_environment(self, env: Node | None, common: dict[str, Any]) -> Iterator[Any]:
        if env is None:
            return
        if env.kind == "mapping":
            pairs = [(key, value, 0) for key, _k, value in env.items() if value.kind == "scalar"]
        else:
            pairs = []
            for node in self.strings(env):
                key, sep, _value = node.value.partition("=")
                if sep:
                    pairs.append((key.strip(), node, len(key) + 1))
        for key, node, start in pairs:
            resolved = resolve(node.value[start:], self.env)
            shifted = Resolved(
                resolved.text,
                tuple(Piece(p.start, p.text, ("here", p.origin[1] + start) if p.origin[0] == "here" else p.origin) for p in resolved.pieces),
                resolved.missing,
            )
            stripped = resolved.text.strip()
            port = valid_port(stripped) if is_port_variable(key) else None
            if port is not None:
                offset = resolved.text.index(stripped)
                if is_own_port_variable(key):
                    yield self.at(node, shifted, offset, port, "compose-env-port", Role.BINDING, **common)
                else:
                    yield self.at(
                        node, shifted, offset, port, "compose-env-port", Role.REFERENCE,
                        target=Target.SERVICE, name=service_from_variable(key), **common,
                    )
                continue
            for found in find_urls(resolved.text):
                yield self.reference(node, shifted, found, "compose-url", common)

    def read_labels(self, labels: Node | None, common: dict[str, Any]) -> Iterator[Any]:
        if labels is None:
            return
        if labels.kind == "mapping":
            pairs = [(key, value, 0) for key, _k, value in labels.items() if value.kind == "scalar"]
        else:
            pairs = []
            for node in self.strings(labels):
                key, sep, _v = node.value.partition("=")
                if sep:
                    pairs.append((key.strip(), node, len(key) + 1))
        for key, node, start in pairs:
            if not _TRAEFIK_PORT.match(key):
                continue
            resolved = resolve(node.value[start:], self.env)
            port = valid_port(resolved.text.strip())
            if port is None:
                yield self.source.notice(node.line + 1, f"traefik port {resolved.text!r} is not a port; not read")
                continue
            shifted = Resolved(
                resolved.text,
                tuple(Piece(p.start, p.text, ("here", p.origin[1] + start) if p.origin[0] == "here" else p.origin) for p in resolved.pieces),
                resolved.missing,
            )
            yield self.at(node, shifted, resolved.text.index(resolved.text.strip()), port, "traefik-label", Role.REFERENCE, target=Target.SELF, **common)


def _split_mapping(text: str) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """``[IP:][HOST:]CONTAINER[/proto]`` -> ((host text, offset), (container text, offset))."""
    body = text.split("/", 1)[0]
    start = 0
    if body.startswith("["):  # [::1]:3000:3000
        close = body.find("]")
        if close < 0:
            return None
        start = close + 2 if body[close + 1:close + 2] == ":" else close + 1
    parts = body[start:].split(":")
    if len(parts) > 3:
        return None
    offsets, pos = [], start
    for part in parts:
        offsets.append(pos)
        pos += len(part) + 1
    if len(parts) == 1:
        return ("", 0), (parts[0], offsets[0])
    if len(parts) == 2:
        if "." in parts[0] and start == 0:  # IP:CONTAINER is not a form; treat HOST as an IP? no: H:C
            return None
        return (parts[0], offsets[0]), (parts[1], offsets[1])
    return (parts[1], offsets[1]), (parts[2], offsets[2])


def _range_ports(text: str, base: int) -> list[tuple[int, int, str | None]]:
    """``"3000"`` or ``"3000-3002"`` -> [(port, offset of its literal, literal)]; the inner
    ports of a range are written as the whole range (the patch leaves those to a person)."""
    stripped = text.strip()
    lead = base + text.index(stripped) if stripped else base
    lo_text, sep, hi_text = stripped.partition("-")
    lo = valid_port(lo_text)
    if lo is None:
        return []
    if not sep:
        return [(lo, lead, None)]
    hi = valid_port(hi_text)
    if hi is None or hi < lo:
        return []
    hi_offset = lead + len(lo_text) + 1
    return [
        (port, lead, None) if port == lo else (port, hi_offset, None) if port == hi else (port, lead, stripped)
        for port in range(lo, hi + 1)
    ]


def _flags_across(nodes: list[Node]) -> list[tuple[Node, int, int]]:
    """Listen flags in a command: within one string, or split over two (``["--port", "3020"]``)."""
    found: list[tuple[Node, int, int]] = []
    for index, node in enumerate(nodes):
        for flag in find_flags(node.value):
            found.append((node, flag.offset, flag.port))
        if index + 1 < len(nodes) and re.fullmatch(r"--?[A-Za-z.-]*(?:port|listen[A-Za-z.-]*|addr(?:ess)?)", node.value, re.I):
            nxt = nodes[index + 1]
            m = re.fullmatch(r"[\"']?(?:[A-Za-z0-9_.-]*:)?([0-9]{2,5})[\"']?", nxt.value)
            if m and valid_port(m.group(1)) is not None:
                found.append((nxt, m.start(1), int(m.group(1))))
    return found


def accepts_and_read(source: SourceFile) -> Iterator[Occurrence | Notice | Alias]:
    yield from ComposeReader(source).read()


read = accepts_and_read
