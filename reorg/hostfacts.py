"""What a host's operating system and its operator say about ports: hosts.csv and the OS table.

``hosts.csv`` has one row per host: ``host,address`` and optionally ``os`` (``macos``,
``linux``, ``windows``) and ``reserved`` (ports or ranges the operator keeps off-limits on that
host, e.g. ``22;5000-5009``: separated by ``;``, spaces, or commas inside a quoted cell).
Header names are trimmed and case-insensitive; other columns are ignored.

reorg also knows the ports an operating system uses by itself (``SYSTEM_PORTS``): listeners that
are on by default and the ephemeral range that outgoing connections take their local port from.
A service moved onto one of them may fail to start (macOS 12+ AirPlay Receiver on 5000) or find
its port held for a moment by an outgoing connection (an ephemeral port). ``check`` warns when a
target port or the temp pool falls on them; ``target`` and ``port`` avoid them; the planners
leave them out of the temp pool.

A binding that already listens on a system port keeps being allowed there (it proves the
listener is off on that host); an operator's ``reserved`` port is never allowed for an arrival.

Nothing here prints; errors are ``ReorgError`` naming the file and line (header = 1).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from reorg.model import ReorgError
from reorg.names import MAX_NAME_LENGTH, check_name
from reorg.safeio import parse_int, read_bytes, shorten

HOSTS_REQUIRED = ("host", "address")
HOSTS_OPTIONAL = ("os", "reserved")


class OS(str, Enum):
    """Operating systems reorg knows the system ports of; the values of hosts.csv's ``os``."""

    MACOS = "macos"
    LINUX = "linux"
    WINDOWS = "windows"


@dataclass(frozen=True, order=True)
class SystemSpan:
    """Ports an operating system uses by itself: a default listener or its ephemeral range."""

    start: int
    end: int
    kind: str  # "listener" or "ephemeral"
    what: str
    source: str


# Sources (also rendered by `reorg doc` and docs/PORT_SCHEMA.md):
# - macOS AirPlay Receiver (ControlCenter) listens on 5000 and 7000 since macOS 12 Monterey:
#   Apple Support HT202944 / 103229 "TCP and UDP ports used by Apple software products" (AirPlay
#   5000, 7000), and the Monterey release notes (AirPlay to Mac).
# - Ephemeral ranges: IANA dynamic ports 49152-65535 (RFC 6335 section 6), the macOS default
#   (sysctl net.inet.ip.portrange.first=49152, last=65535) and Windows since Vista / Server 2008
#   (Microsoft KB 929851, `netsh int ipv4 show dynamicport tcp`); Linux's default
#   net.ipv4.ip_local_port_range is 32768-60999 (kernel Documentation/networking/ip-sysctl.rst).
# - Windows listeners on by default: RPC endpoint mapper 135, NetBIOS session 139, SMB 445
#   (Microsoft "Service overview and network port requirements for Windows"), and the Connected
#   Devices Platform service (CDPSvc) on 5040 since Windows 10 1803. Hyper-V/WinNAT also exclude
#   ranges that change per boot (`netsh int ipv4 show excludedportrange protocol=tcp`): list
#   them in hosts.csv's `reserved`.
# - Linux: sshd on 22 (most server installs), the systemd-resolved stub resolver on 53
#   (127.0.0.53, systemd-resolved(8)).
_MACOS_AIRPLAY = "Apple HT202944 (TCP/UDP ports used by Apple products): AirPlay Receiver, macOS 12+"
_IANA_DYNAMIC = "RFC 6335 section 6 (IANA dynamic ports)"
SYSTEM_PORTS: dict[OS, tuple[SystemSpan, ...]] = {
    OS.MACOS: (
        SystemSpan(5000, 5000, "listener", "AirPlay Receiver (ControlCenter)", _MACOS_AIRPLAY),
        SystemSpan(7000, 7000, "listener", "AirPlay Receiver (ControlCenter)", _MACOS_AIRPLAY),
        SystemSpan(
            49152, 65535, "ephemeral", "ephemeral ports",
            f"{_IANA_DYNAMIC}; sysctl net.inet.ip.portrange.first/last",
        ),
    ),
    OS.WINDOWS: (
        SystemSpan(135, 135, "listener", "RPC endpoint mapper", "Microsoft: service overview and network port requirements for Windows"),
        SystemSpan(139, 139, "listener", "NetBIOS session service", "Microsoft: service overview and network port requirements for Windows"),
        SystemSpan(445, 445, "listener", "SMB", "Microsoft: service overview and network port requirements for Windows"),
        SystemSpan(5040, 5040, "listener", "Connected Devices Platform service (CDPSvc)", "Windows 10 1803+ default service"),
        SystemSpan(
            49152, 65535, "ephemeral", "ephemeral ports",
            f"{_IANA_DYNAMIC}; Microsoft KB 929851 (dynamic port range since Vista)",
        ),
    ),
    OS.LINUX: (
        SystemSpan(22, 22, "listener", "sshd", "OpenSSH default port (most server installs)"),
        SystemSpan(53, 53, "listener", "systemd-resolved stub resolver (127.0.0.53)", "systemd-resolved(8)"),
        SystemSpan(
            32768, 60999, "ephemeral", "ephemeral ports",
            "Linux net.ipv4.ip_local_port_range default (Documentation/networking/ip-sysctl.rst)",
        ),
    ),
}


@dataclass(frozen=True)
class HostFacts:
    """One row of hosts.csv. ``address`` is '' when the row gives none."""

    host: str
    address: str = ""
    os: OS | None = None
    reserved: tuple[tuple[int, int], ...] = ()
    line: int = 0


@dataclass(frozen=True, order=True)
class Avoid:
    """A span of ports to stay off on one host, and why. ``strict``: the operator reserved it."""

    start: int
    end: int
    why: str
    strict: bool

    def covers(self, port: int) -> bool:
        return self.start <= port <= self.end


_SEPARATORS = re.compile(r"[;,\s]+")


def parse_reserved(text: str, where: str) -> tuple[tuple[int, int], ...]:
    """``"22; 5000-5009"`` -> ((22, 22), (5000, 5009)), sorted and merged."""
    spans = []
    for part in (p for p in _SEPARATORS.split(text.strip()) if p):
        lo, sep, hi = part.partition("-")
        start, end = parse_int(lo), parse_int(hi) if sep else parse_int(lo)  # ASCII digits: no '²'
        if start is None or end is None or not lo.isdigit() or not (hi if sep else lo).isdigit():
            raise ReorgError(
                f"{where}: reserved '{shorten(part)}' is not a port or range; write e.g. 22;5000-5009"
            )
        if not (1 <= start <= end <= 65535):
            raise ReorgError(
                f"{where}: reserved {part!r} must lie in 1-65535 with low <= high; fix it"
            )
        spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def parse_os(text: str, where: str) -> OS | None:
    value = text.strip().lower()
    if not value:
        return None
    try:
        return OS(value)
    except ValueError:
        choices = ", ".join(o.value for o in OS)
        raise ReorgError(f"{where}: os {text.strip()!r} is not one of {choices}; fix it or leave it empty") from None


def read_host_facts(path: Path) -> dict[str, HostFacts]:
    """hosts.csv as host -> HostFacts, sorted by host. The address is kept raw (probe parses it)."""
    try:
        raw = read_bytes(path, "hosts")  # regular files only, size-capped (safeio)
    except FileNotFoundError as exc:
        raise ReorgError(f"{path}: cannot read hosts file ({exc.strerror}); fix the path or drop --hosts") from exc
    try:
        text = raw.decode("utf-8-sig")  # -sig: a spreadsheet's BOM is not part of 'host'
    except UnicodeDecodeError as exc:
        raise ReorgError(f"{path}: hosts file is not UTF-8 (byte {exc.start}); save it as UTF-8") from exc
    if "\0" in text:
        raise ReorgError(
            f"{path}:{text.count(chr(10), 0, text.index(chr(0))) + 1}: contains a NUL byte; save it as plain text"
        )
    return _facts_of(path, text)


def _facts_of(path: Path, text: str) -> dict[str, HostFacts]:
    # csv's field limit (128 KiB by default) is no concern of the file's: a longer cell is an
    # error below like any other, not a traceback. Each cell is at most the file's size.
    rows = csv.reader(text.splitlines())
    try:
        return _rows_to_facts(path, rows)
    except csv.Error as exc:
        raise ReorgError(f"{path}:{rows.line_num}: not a valid CSV line ({exc}); fix the line") from None


def _rows_to_facts(path: Path, rows: Iterator[list[str]]) -> dict[str, HostFacts]:
    header = [cell.strip().lower() for cell in next(rows, None) or []]
    if header[:2] != list(HOSTS_REQUIRED) or len(set(header)) != len(header):
        raise ReorgError(
            f"{path}:1: header must be 'host,address' (optional columns: os, reserved); fix the first line"
        )
    facts: dict[str, HostFacts] = {}
    for line, row in enumerate(rows, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            names = ",".join(header)
            raise ReorgError(
                f"{path}:{line}: expected {len(header)} fields ({names}), got {len(row)}; fix the line"
            )
        cells = {name: cell.strip() for name, cell in zip(header, row, strict=True)}
        where = f"{path}:{line}"
        host = cells["host"]
        if not host:
            raise ReorgError(f"{where}: empty host name; fill it in or delete the line")
        check_name(host, "host", where)
        if len(cells["address"]) > MAX_NAME_LENGTH:
            raise ReorgError(
                f"{where}: address '{shorten(cells['address'])}' is longer than {MAX_NAME_LENGTH} characters; fix it"
            )
        if host in facts:
            raise ReorgError(f"{where}: host {host!r} appears twice; keep one line")
        facts[host] = HostFacts(
            host=host,
            address=cells["address"],
            os=parse_os(cells.get("os", ""), where),
            reserved=parse_reserved(cells.get("reserved", ""), where),
            line=line,
        )
    return dict(sorted(facts.items()))


def avoided(facts: HostFacts | None) -> tuple[Avoid, ...]:
    """Every span to stay off on this host: the operator's reservations, then its OS's ports."""
    if facts is None:
        return ()
    spans = [
        Avoid(lo, hi, f"reserved for {facts.host} in hosts.csv", strict=True)
        for lo, hi in facts.reserved
    ]
    if facts.os is not None:
        for s in SYSTEM_PORTS[facts.os]:
            why = f"{s.what} on {facts.os.value}" if s.kind == "listener" else (
                f"{facts.os.value} ephemeral range {s.start}-{s.end}"
            )
            spans.append(Avoid(s.start, s.end, why, strict=False))
    return tuple(sorted(spans))


def avoid_reason(
    facts: dict[str, HostFacts], host: str, port: int, current: int | None = None
) -> str | None:
    """Why ``port`` should not be a new port on ``host`` (None: fine).

    ``current`` is the binding's port now: a service already listening on a system port proves
    the listener is off there, so that port stays allowed for it; reserved ports never are.
    """
    for span in avoided(facts.get(host)):
        if span.covers(port) and (span.strict or port != current):
            return span.why
    return None


def avoided_ports(facts: dict[str, HostFacts], hosts: Iterable[str], lo: int, hi: int) -> dict[int, str]:
    """Ports of ``lo``-``hi`` that any of ``hosts`` avoids, with the first reason found."""
    out: dict[int, str] = {}
    for host in sorted(hosts):
        for span in avoided(facts.get(host)):
            for port in range(max(lo, span.start), min(hi, span.end) + 1):
                out.setdefault(port, f"{host}: {span.why}")
    return out
