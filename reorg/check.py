"""Findings of ``reorg check``: what is wrong with the current state and with the target.

``find_check(inputs, scope, pair_digits)`` derives a ``CheckReport`` from validated tables. It
reports, all sorted:

- collisions: two or more services holding one port on one host now;
- shared ports: one port held now by different services on different hosts (a problem only
  under ``--scope global``; a service's own bindings on several hosts never clash);
- target conflicts: ``problem.find_conflicts`` (same target, target held by a binding that keeps
  its port, final collisions), with reservations taken by another service kept apart;
- ports outside their category's range, judged only for ports that target rows name;
- pairs in the final state, per host where both run: a 50xx frontend and its 30xx backend must
  share the last digit (or two); other pairs are listed, not judged;
- services with no target row (informational: they keep their ports).

Nothing here prints; ``render`` turns the report into text or JSON.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from reorg.hostfacts import HostFacts, avoid_reason, avoided
from reorg.model import DEFAULT_TEMP_PORTS, Binding, Range, Scope, TargetRow
from reorg.problem import Conflict, find_conflicts
from reorg.tables import Inputs

CHECK_FORMAT = "reorg-check/1"


@dataclass(frozen=True, order=True)
class Collision:
    """Several services on one port of one host in the current state."""

    host: str
    port: int
    holders: tuple[tuple[str, str], ...]  # (service, status), sorted

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "services": [{"service": s, "status": st} for s, st in self.holders],
        }


@dataclass(frozen=True, order=True)
class SharedPort:
    """One port held by different services on different hosts in the current state."""

    port: int
    holders: tuple[tuple[str, str], ...]  # (host, service), sorted

    def to_dict(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "holders": [{"host": h, "service": s} for h, s in self.holders],
        }


@dataclass(frozen=True, order=True)
class OutOfRange:
    """A target row's port outside every range of its category."""

    service: str
    host: str | None
    port: int
    category: str
    ranges: tuple[tuple[int, int], ...]
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "host": self.host,
            "port": self.port,
            "category": self.category,
            "ranges": [f"{lo}-{hi}" for lo, hi in self.ranges],
            "line": self.line,
        }


@dataclass(frozen=True, order=True)
class PairCheck:
    """A frontend and its backend on one host in the final state, and the digit verdict."""

    host: str
    frontend: str
    frontend_port: int
    backend: str
    backend_port: int
    verdict: str  # "match", "mismatch", or "not judged"

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "frontend": self.frontend,
            "frontend_port": self.frontend_port,
            "backend": self.backend,
            "backend_port": self.backend_port,
            "verdict": self.verdict,
        }


@dataclass(frozen=True, order=True)
class Untargeted:
    """A service that no target row names; its bindings keep their ports."""

    service: str
    bindings: tuple[tuple[str, int], ...]  # (host, port), sorted

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "bindings": [{"host": h, "port": p} for h, p in self.bindings],
        }


@dataclass(frozen=True, order=True)
class HostWarning:
    """A port a host's OS or operator uses (hosts.csv): a target port arriving there, a
    reservation on it, or the temp pool overlapping it. Reported, not counted as a problem."""

    host: str
    ports: str  # "5000" or "39000-39099"
    subject: str  # what lands there
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "ports": self.ports, "subject": self.subject, "why": self.why}


def conflict_to_dict(conflict: Conflict) -> dict[str, Any]:
    return {
        "kind": conflict.kind,
        "host": conflict.host,
        "port": conflict.port,
        "services": list(conflict.services),
        "message": conflict.message,
    }


@dataclass(frozen=True)
class CheckReport:
    """Everything ``reorg check`` found, plus the counts its summary and exit code come from."""

    current_path: str
    target_path: str
    ranges_path: str | None
    current_sha256: str
    target_sha256: str
    scope: Scope
    pair_digits: int
    bindings: int
    hosts: int
    services: int
    target_rows: int
    moving: int
    retiring: int
    reservations: int
    collisions: tuple[Collision, ...]
    shared_ports: tuple[SharedPort, ...]
    conflicts: tuple[Conflict, ...]
    reservations_taken: tuple[Conflict, ...]
    out_of_range: tuple[OutOfRange, ...]
    pairs: tuple[PairCheck, ...]
    untargeted: tuple[Untargeted, ...]
    warnings: tuple[HostWarning, ...] = ()

    @property
    def shared_ports_are_problems(self) -> bool:
        return self.scope is Scope.GLOBAL

    @property
    def pair_mismatches(self) -> tuple[PairCheck, ...]:
        return tuple(p for p in self.pairs if p.verdict == "mismatch")

    @property
    def current_problems(self) -> int:
        shared = len(self.shared_ports) if self.shared_ports_are_problems else 0
        return len(self.collisions) + shared

    @property
    def target_problems(self) -> int:
        return (
            len(self.conflicts)
            + len(self.reservations_taken)
            + len(self.out_of_range)
            + len(self.pair_mismatches)
        )

    @property
    def problems(self) -> int:
        return self.current_problems + self.target_problems

    @property
    def exit_code(self) -> int:
        """0 clean, 1 problems found (bad input never gets this far: it is exit 2)."""
        return 1 if self.problems else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CHECK_FORMAT,
            "inputs": {
                "current": self.current_path,
                "current_sha256": self.current_sha256,
                "target": self.target_path,
                "target_sha256": self.target_sha256,
                "ranges": self.ranges_path,
            },
            "options": {"scope": self.scope.value, "pair_digits": self.pair_digits},
            "current": {
                "collisions": [c.to_dict() for c in self.collisions],
                "shared_ports": [s.to_dict() for s in self.shared_ports],
                "shared_ports_are_problems": self.shared_ports_are_problems,
            },
            "target": {
                "conflicts": [conflict_to_dict(c) for c in self.conflicts],
                "reservations_taken": [conflict_to_dict(c) for c in self.reservations_taken],
                "out_of_range": [o.to_dict() for o in self.out_of_range],
                "pairs": [p.to_dict() for p in self.pairs],
                "untargeted": [u.to_dict() for u in self.untargeted],
            },
            "host_warnings": [w.to_dict() for w in self.warnings],
            "summary": {
                "bindings": self.bindings,
                "hosts": self.hosts,
                "services": self.services,
                "target_rows": self.target_rows,
                "moving": self.moving,
                "retiring": self.retiring,
                "reservations": self.reservations,
                "collisions": len(self.collisions),
                "shared_ports": len(self.shared_ports),
                "conflicts": len(self.conflicts),
                "reservations_taken": len(self.reservations_taken),
                "out_of_range": len(self.out_of_range),
                "pair_mismatches": len(self.pair_mismatches),
                "untargeted_services": len(self.untargeted),
                "host_warnings": len(self.warnings),
                "current_problems": self.current_problems,
                "target_problems": self.target_problems,
                "problems": self.problems,
                "exit_code": self.exit_code,
            },
        }


def find_check(
    inputs: Inputs,
    scope: Scope = Scope.HOST,
    pair_digits: int = 1,
    facts: dict[str, HostFacts] | None = None,
    temp_ports: tuple[int, int] = DEFAULT_TEMP_PORTS,
) -> CheckReport:
    """Derive every finding of ``reorg check`` from validated inputs (and hosts.csv's facts)."""
    if pair_digits not in (1, 2):
        raise ValueError(f"pair_digits must be 1 or 2, not {pair_digits}")  # the CLI limits it
    instance = inputs.instance
    conflicts = find_conflicts(instance, scope)
    goals = instance.goals
    return CheckReport(
        current_path=instance.current_path,
        target_path=instance.target_path,
        ranges_path=inputs.ranges_path,
        current_sha256=instance.current_sha256,
        target_sha256=instance.target_sha256,
        scope=scope,
        pair_digits=pair_digits,
        bindings=len(inputs.bindings),
        hosts=len({b.host for b in inputs.bindings}),
        services=len({b.service for b in inputs.bindings}),
        target_rows=len(inputs.targets),
        moving=sum(1 for g in goals if g.moves and g.to_port is not None),
        retiring=sum(1 for g in goals if g.to_port is None),
        reservations=len(instance.reservations),
        collisions=find_collisions(inputs.bindings),
        shared_ports=find_shared_ports(inputs.bindings),
        conflicts=tuple(c for c in conflicts if c.kind != "reserved"),
        reservations_taken=tuple(c for c in conflicts if c.kind == "reserved"),
        out_of_range=find_out_of_range(inputs.bindings, inputs.targets, inputs.ranges),
        pairs=check_pairs(inputs, pair_digits),
        untargeted=find_untargeted(inputs.bindings, inputs.targets),
        warnings=find_host_warnings(inputs, facts or {}, temp_ports),
    )


def find_collisions(bindings: tuple[Binding, ...]) -> tuple[Collision, ...]:
    """Ports that two or more services hold on one host now."""
    at: dict[tuple[str, int], list[Binding]] = defaultdict(list)
    for b in bindings:
        at[(b.host, b.port)].append(b)
    return tuple(
        sorted(
            Collision(host, port, tuple(sorted((b.service, b.status) for b in held)))
            for (host, port), held in at.items()
            if len(held) > 1
        )
    )


def find_shared_ports(bindings: tuple[Binding, ...]) -> tuple[SharedPort, ...]:
    """Ports held now by different services on different hosts (all holders of each listed)."""
    at: dict[int, list[Binding]] = defaultdict(list)
    for b in bindings:
        at[b.port].append(b)
    shared = []
    for port, held in at.items():
        clash = any(a.service != b.service and a.host != b.host for a in held for b in held)
        if clash:
            shared.append(SharedPort(port, tuple(sorted((b.host, b.service) for b in held))))
    return tuple(sorted(shared))


def find_out_of_range(
    bindings: tuple[Binding, ...], targets: tuple[TargetRow, ...], ranges: tuple[Range, ...]
) -> tuple[OutOfRange, ...]:
    """Target ports outside their category's ranges.

    The category is the target row's, else that of each binding the row applies to (an
    every-host row does not apply where a host row overrides it). A category no range names,
    or no ranges at all, is not judged.
    """
    by_category: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for r in ranges:
        by_category[r.category].append((r.start, r.end))
    # An every-host row applies only where no host row of the same service overrides it.
    host_rows = {(t.service, t.host) for t in targets if t.host is not None}
    found = set()
    for t in targets:
        if t.port is None:
            continue
        if t.category:
            categories = {t.category}
        else:
            categories = {
                b.category
                for b in bindings
                if b.service == t.service
                and (b.host == t.host if t.host is not None else (b.service, b.host) not in host_rows)
                and b.category
            }
        for category in categories:
            spans = by_category.get(category)
            if spans and not any(lo <= t.port <= hi for lo, hi in spans):
                found.add(
                    OutOfRange(t.service, t.host, t.port, category, tuple(sorted(spans)), t.line)
                )
    return tuple(sorted(found, key=lambda o: (o.port, o.service, o.host or "", o.category)))


def pair_verdict(frontend_port: int, backend_port: int, digits: int) -> str:
    """Principle 2 of the schema: a 50xx frontend matches its 30xx backend's last digit(s)."""
    if frontend_port // 100 != 50 or backend_port // 100 != 30:
        return "not judged"
    modulus = 10**digits
    return "match" if frontend_port % modulus == backend_port % modulus else "mismatch"


def check_pairs(inputs: Inputs, digits: int) -> tuple[PairCheck, ...]:
    """Every pair on every host where both run in the final state, with its verdict."""
    final = {(g.service, g.host): g.to_port for g in inputs.instance.goals if g.to_port is not None}
    hosts = sorted({host for _, host in final})
    checks = []
    for front, back in inputs.instance.pairs:
        for host in hosts:
            fp, bp = final.get((front, host)), final.get((back, host))
            if fp is None or bp is None:
                continue
            checks.append(PairCheck(host, front, fp, back, bp, pair_verdict(fp, bp, digits)))
    return tuple(sorted(checks))


def find_untargeted(
    bindings: tuple[Binding, ...], targets: tuple[TargetRow, ...]
) -> tuple[Untargeted, ...]:
    """Services of current.csv that no target row names."""
    named = {t.service for t in targets}
    held: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for b in bindings:
        if b.service not in named:
            held[b.service].append((b.host, b.port))
    return tuple(Untargeted(s, tuple(sorted(p))) for s, p in sorted(held.items()))


def find_host_warnings(
    inputs: Inputs, facts: dict[str, HostFacts], temp_ports: tuple[int, int]
) -> tuple[HostWarning, ...]:
    """Target ports that arrive on a port the host's OS or operator uses, reservations there,
    and the temp pool overlapping them. A binding that already listens on its port is not
    warned about (the listener is evidently off on that host)."""
    if not facts:
        return ()
    found = set()
    for g in inputs.instance.goals:
        if g.to_port is None:
            continue
        why = avoid_reason(facts, g.host, g.to_port, g.from_port)
        if why:
            found.add(HostWarning(g.host, str(g.to_port), f"{g.service} ends here", why))
    hosts = sorted({b.host for b in inputs.bindings} | set(facts))
    for r in inputs.instance.reservations:
        for host in [r.host] if r.host else hosts:
            why = avoid_reason(facts, host, r.port)
            if why:
                found.add(HostWarning(host, str(r.port), f"reserved for {r.service}", why))
    lo, hi = temp_ports
    for host in hosts:
        for span in avoided(facts.get(host)):
            start, end = max(lo, span.start), min(hi, span.end)
            if start <= end:
                ports = str(start) if start == end else f"{start}-{end}"
                found.add(HostWarning(host, ports, f"temp pool {lo}-{hi}", f"{span.why}: no temp port is taken there"))
    return tuple(sorted(found))
