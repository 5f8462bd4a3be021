"""TCP connect probes for a step's checks, and the hosts.csv that says where each host is.

A probe is one TCP connect with a short timeout: refused means the port is free, accepted means
something listens on it. Anything else (timeout, unreachable) is unknown, and a check that gets
an unknown answer fails: when in doubt the operator looks, rather than the tool guessing.

Where a probe may go is deliberately narrow. A host's address comes from ``hosts.csv``
(``host,address``); a host without one is probed on 127.0.0.1 only when it is the host reorg
runs on (``--here HOST``, or ``REORG_HERE``) or is named ``localhost``, and skipped otherwise: a
host called ``dev`` is not this machine just because of its name. ``probe_port`` refuses a non-loopback address
unless it came from hosts.csv, so no address found elsewhere (a plan, a table) is ever dialled.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from reorg.hostfacts import read_host_facts
from reorg.model import ReorgError

PROBE_TIMEOUT = 0.5
LOCAL_HOSTS = ("localhost",)  # hosts probed on 127.0.0.1 when hosts.csv names no address
HERE_ENV = "REORG_HERE"  # the host reorg runs on, when --here is not given
LOOPBACK = "127.0.0.1"


class Expect(str, Enum):
    """What a check wants a port to be."""

    FREE = "free"
    IN_USE = "in-use"


class PortState(str, Enum):
    """What a probe found."""

    FREE = "free"
    IN_USE = "in-use"
    UNKNOWN = "unknown"


class Outcome(str, Enum):
    """The verdict of one check."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Endpoint:
    """Where a host is probed. ``explicit`` is true only for an address read from hosts.csv."""

    host: str
    address: str
    explicit: bool


@dataclass(frozen=True)
class CheckSpec:
    """One check to run: ``phase`` is ``pre`` or ``post``; ``skip`` says why it cannot be probed."""

    phase: str
    service: str
    host: str
    port: int
    expect: Expect
    skip: str = ""
    optional: str = ""  # why no answer may be right (status unsure): then skipped, not failed

    @property
    def what(self) -> str:
        if self.expect is Expect.IN_USE:
            return f"{self.service} answers on {self.host}:{self.port}"
        return f"port {self.port} is free on {self.host}"


@dataclass(frozen=True)
class Check:
    """One check and its verdict, as the journal records it."""

    phase: str
    service: str
    host: str
    port: int
    expect: Expect
    outcome: Outcome
    address: str | None
    detail: str

    @property
    def what(self) -> str:
        return CheckSpec(self.phase, self.service, self.host, self.port, self.expect).what

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "service": self.service,
            "host": self.host,
            "port": self.port,
            "expect": self.expect.value,
            "outcome": self.outcome.value,
            "address": self.address,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        """Inverse of ``to_dict``; raises KeyError/ValueError/TypeError on a malformed dict."""
        port = data["port"]
        if not isinstance(port, int) or isinstance(port, bool):
            raise TypeError(f"check port {port!r} is not an integer")
        address = data["address"]
        if address is not None and not isinstance(address, str):
            raise TypeError(f"check address {address!r} is not a string")
        return cls(
            phase=str(data["phase"]),
            service=str(data["service"]),
            host=str(data["host"]),
            port=port,
            expect=Expect(data["expect"]),
            outcome=Outcome(data["outcome"]),
            address=address,
            detail=str(data["detail"]),
        )


def read_hosts(path: Path) -> dict[str, str]:
    """hosts.csv (header ``host,address``, optional ``os,reserved``) as host -> address.

    An empty address is left out. The whole file, with its OS facts, is read by
    ``hostfacts.read_host_facts``; this keeps only where each host is probed.
    """
    hosts = {}
    for host, facts in read_host_facts(path).items():
        where = f"{path}:{facts.line}"
        if any(ch.isspace() for ch in facts.address):
            raise ReorgError(f"{where}: address {facts.address!r} contains spaces; fix it")
        hosts[host] = _parse_address(facts.address, where)
    return {host: address for host, address in sorted(hosts.items()) if address}


def _parse_address(address: str, where: str) -> str:
    """A host name, IPv4 or IPv6 address; ``[::1]`` (the URL form) becomes ``::1`` for connect."""
    bracketed = address.startswith("[") and address.endswith("]")
    if bracketed:
        address = address[1:-1]
    if bracketed or ":" in address:
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            raise ReorgError(
                f"{where}: address {address!r} is not an IPv6 address; give a host name or IP "
                "address without a port (the port comes from the plan)"
            ) from None
    return address


def resolve_host(host: str, hosts: dict[str, str], here: str | None = None) -> Endpoint | None:
    """Where ``host`` is probed, or None when it must be skipped (no address, not this machine)."""
    if host in hosts:
        return Endpoint(host, hosts[host], explicit=True)
    if host in LOCAL_HOSTS or (here is not None and host == here):
        return Endpoint(host, LOOPBACK, explicit=False)
    return None


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def probe_port(endpoint: Endpoint, port: int, timeout: float = PROBE_TIMEOUT) -> tuple[PortState, str]:
    """Connect once to ``endpoint``:``port``; returns the state and a one-line detail."""
    if not endpoint.explicit and not is_loopback(endpoint.address):
        # Safety net: only hosts.csv may send a probe off this machine.
        raise ReorgError(
            f"refusing to probe {endpoint.address} for host {endpoint.host}: "
            "only loopback or an address from hosts.csv is probed; add the host to hosts.csv"
        )
    if not 1 <= port <= 65535:
        raise ReorgError(f"port {port} on {endpoint.host} is out of range 1-65535; fix the plan")
    where = f"[{endpoint.address}]:{port}" if ":" in endpoint.address else f"{endpoint.address}:{port}"
    try:
        with socket.create_connection((endpoint.address, port), timeout=timeout):
            return PortState.IN_USE, f"{where} accepted a connection"
    except ConnectionRefusedError:
        return PortState.FREE, f"{where} refused the connection"
    except TimeoutError:
        return PortState.UNKNOWN, f"{where} did not answer within {timeout:g} s (host down or port filtered)"
    except OSError as exc:
        return PortState.UNKNOWN, f"{where} could not be reached ({exc.strerror or exc})"


def run_checks(
    specs: tuple[CheckSpec, ...],
    hosts: dict[str, str],
    probe: bool,
    timeout: float = PROBE_TIMEOUT,
    here: str | None = None,
) -> tuple[Check, ...]:
    """Run each spec; ``probe`` False (``--no-probe``) skips them all and says so.

    ``here`` is the host reorg runs on: probed on 127.0.0.1 when hosts.csv gives it no address.
    """
    checks = []
    for spec in specs:
        endpoint = resolve_host(spec.host, hosts, here)
        address = endpoint.address if endpoint else None
        if spec.skip:
            checks.append(_check(spec, Outcome.SKIPPED, address, spec.skip))
            continue
        if not probe:
            checks.append(_check(spec, Outcome.SKIPPED, address, "not probed (--no-probe)"))
            continue
        if endpoint is None:
            detail = (
                f"not probed: host {spec.host} has no address in hosts.csv and is not where reorg runs "
                "(--here); check it by hand"
            )
            checks.append(_check(spec, Outcome.SKIPPED, None, detail))
            continue
        state, detail = probe_port(endpoint, spec.port, timeout)
        outcome = Outcome.OK if state.value == spec.expect.value else Outcome.FAILED
        if outcome is Outcome.FAILED and spec.optional and state is PortState.FREE:
            outcome, detail = Outcome.SKIPPED, f"{detail}; {spec.optional}"
        checks.append(_check(spec, outcome, address, detail))
    return tuple(checks)


def _check(spec: CheckSpec, outcome: Outcome, address: str | None, detail: str) -> Check:
    return Check(spec.phase, spec.service, spec.host, spec.port, spec.expect, outcome, address, detail)


def unverified(specs: tuple[CheckSpec, ...], checks: tuple[Check, ...]) -> int:
    """How many checks leave the step unproven: those that could not run (no address,
    ``--no-probe``), as opposed to skipped by design, and, when no check of the step came back
    ok, those an unsure binding did not answer (nothing was verified then)."""
    pairs = list(zip(specs, checks, strict=False))
    missing = sum(
        1 for spec, check in pairs
        if check.outcome is Outcome.SKIPPED and not spec.skip and check.detail.startswith("not probed")
    )
    if not any(check.outcome is Outcome.OK for check in checks):
        missing += sum(
            1 for spec, check in pairs
            if check.outcome is Outcome.SKIPPED and spec.optional and not check.detail.startswith("not probed")
        )
    return missing
