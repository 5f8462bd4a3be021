"""Problems of a scan: same-host collisions, dangling references, drift.

Each problem names every place involved as ``file:line`` and has a ``key`` that does not
contain line numbers, so a baseline of accepted problems survives unrelated edits.

- collision: two or more services listening on one port of one host (services whose compose
  profiles are all set and pairwise disjoint never run together and are left out);
- dangling: a reference to ``NAME:PORT`` where NAME listens on no such port, or to
  ``localhost:PORT`` / ``host.docker.internal:PORT`` where nothing on that host listens;
- drift: a service's source default against its compose port; a line of a service that says
  another port than the service listens on (Dockerfile ``EXPOSE``, ``.env``, a second default);
  and, when tables are given, the scan against ``current.csv`` / ``target.csv``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from reorg.model import Binding, TargetRow
from reorg.scan.model import Role, Scan, ScannedBinding

FINDINGS_FORMAT = "reorg-scan-check/1"
DRIFT_KINDS = frozenset({"dockerfile-expose", "dockerfile-env", "dockerfile-command", "env-port", "toml-port"})


@dataclass(frozen=True, order=True)
class Problem:
    kind: str  # collision, dangling, drift
    key: str  # stable identity, without line numbers
    message: str
    places: tuple[str, ...]  # file:line of every side

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "message": self.message, "places": list(self.places)}


@dataclass(frozen=True)
class TableDiff:
    """The scan against a current.csv: rows only in one, and rows whose port differs."""

    only_scan: tuple[ScannedBinding, ...]
    only_table: tuple[Binding, ...]
    differ: tuple[tuple[ScannedBinding, Binding], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "only_in_scan": [{"service": b.service, "host": b.host, "port": b.port, "source": b.source} for b in self.only_scan],
            "only_in_table": [{"service": b.service, "host": b.host, "port": b.port, "line": b.line} for b in self.only_table],
            "port_differs": [
                {"service": s.service, "host": s.host, "scan_port": s.port, "table_port": t.port, "source": s.source, "line": t.line}
                for s, t in self.differ
            ],
        }

    @property
    def empty(self) -> bool:
        return not (self.only_scan or self.only_table or self.differ)


def diff_table(scan: Scan, table: tuple[Binding, ...]) -> TableDiff:
    scanned = {(b.service, b.host): b for b in scan.bindings}
    rows = {b.key: b for b in table}
    return TableDiff(
        only_scan=tuple(sorted(scanned[k] for k in scanned.keys() - rows.keys())),
        only_table=tuple(sorted((rows[k] for k in rows.keys() - scanned.keys()), key=lambda b: (b.host, b.port, b.service))),
        differ=tuple(sorted((scanned[k], rows[k]) for k in scanned.keys() & rows.keys() if scanned[k].port != rows[k].port)),
    )


def find_problems(
    scan: Scan,
    current: tuple[Binding, ...] | None = None,
    current_path: str = "",
    targets: tuple[TargetRow, ...] | None = None,
    target_path: str = "",
) -> tuple[Problem, ...]:
    problems = [*find_collisions(scan), *find_dangling(scan), *sorted(find_drift(scan), key=lambda p: p.places)]
    if current is not None:
        problems += drift_from_table(scan, current, current_path)
    if targets is not None:
        problems += drift_from_target(scan, targets, target_path)
    order = {"collision": 0, "dangling": 1, "drift": 2}
    return tuple(sorted(problems, key=lambda p: order[p.kind]))  # stable: each kind keeps its own order


def find_collisions(scan: Scan) -> list[Problem]:
    held: dict[tuple[str, int], list[ScannedBinding]] = defaultdict(list)
    for binding in scan.bindings:
        held[(binding.host, binding.port)].append(binding)
    problems = []
    for (host, port), holders in sorted(held.items()):  # by host, then port
        if len(holders) < 2 or _never_together(holders):
            continue
        names = " and ".join(
            f"{b.service} ({b.source}{'' if b.status == 'running' else ', ' + b.status})" for b in holders
        )
        problems.append(Problem(
            "collision",
            f"collision {host}:{port} " + " ".join(sorted(b.service for b in holders)),
            f"{host}:{port} is bound by {names}",
            tuple(sorted(b.source for b in holders)),
        ))
    return problems


def _never_together(holders: list[ScannedBinding]) -> bool:
    if not all(b.profiles for b in holders):
        return False
    seen: set[str] = set()
    for binding in holders:
        if seen & set(binding.profiles):
            return False
        seen |= set(binding.profiles)
    return True


def find_dangling(scan: Scan) -> list[Problem]:
    problems = []
    dangling = scan.resolution.dangling if scan.resolution is not None else ()
    for item in sorted(dangling, key=lambda d: d.occurrence.sort_key):
        occ = item.occurrence
        written = f"{occ.name}:{occ.port}" if occ.name else f"port {occ.port}"
        problems.append(Problem(
            "dangling",
            f"dangling {occ.file} {occ.kind} {occ.owner} {written}",
            f"{occ.where}: {written} ({occ.kind}) points at nothing: {item.reason}"
            + (f" ({', '.join(item.others)})" if item.others else ""),
            (occ.where, *item.others),
        ))
    return problems


def find_drift(scan: Scan) -> list[Problem]:
    problems: list[Problem] = []
    compose_ports: dict[str, set[int]] = defaultdict(set)
    compose_where: dict[str, list[str]] = defaultdict(list)
    for occ in scan.occurrences:
        if occ.kind in ("compose-published", "compose-container", "compose-env-port") and occ.role is Role.BINDING:
            compose_ports[occ.owner].add(occ.port)
            if occ.kind == "compose-published":
                compose_where[occ.owner].append(f"{occ.port} on {occ.host} ({occ.where})")
    for binding in scan.bindings:
        if binding.note.split(";")[0] not in ("source-default", "dev-server"):
            continue
        ports = compose_ports.get(binding.service)
        if ports and binding.port not in ports:
            problems.append(Problem(
                "drift",
                f"drift {binding.service} compose {','.join(map(str, sorted(ports)))} source {binding.port}",
                f"{binding.service}: compose publishes {', '.join(compose_where[binding.service])}, "
                f"but its source default is {binding.port} ({binding.source})",
                tuple(sorted({binding.source, *(w.rsplit('(', 1)[1].rstrip(')') for w in compose_where[binding.service])})),
            ))
    lost = scan.resolution.listeners_lost if scan.resolution is not None else ()
    for occ, winner in lost:
        problems.append(Problem(
            "drift",
            f"drift {winner.service}@{winner.host} {occ.file} {occ.kind} {occ.port}",
            f"{winner.service} on {winner.host} listens on {winner.port} ({winner.source}), but {occ.where} says {occ.port}",
            tuple(sorted({occ.where, winner.source})),
        ))
    listening: dict[str, list[ScannedBinding]] = defaultdict(list)
    for binding in scan.bindings:
        listening[binding.service].append(binding)
    ports_of: dict[str, set[int]] = defaultdict(set)
    for occ in scan.occurrences:
        if occ.role is Role.BINDING and occ in scan.attached:
            ports_of[occ.owner].add(occ.port)
    for occ in scan.occurrences:
        if occ.kind not in DRIFT_KINDS or occ in scan.attached or not listening.get(occ.owner):
            continue
        if occ.port in ports_of[occ.owner]:
            continue
        said = ", ".join(f"{b.port} on {b.host} ({b.source})" for b in sorted(listening[occ.owner]))
        problems.append(Problem(
            "drift",
            f"drift {occ.owner} {occ.file} {occ.kind} {occ.port}",
            f"{occ.where}: {occ.owner} is written as {occ.port} ({occ.kind}), but it listens on {said}",
            tuple(sorted({occ.where, *(b.source for b in listening[occ.owner])})),
        ))
    return problems


def drift_from_table(scan: Scan, table: tuple[Binding, ...], path: str) -> list[Problem]:
    diff = diff_table(scan, table)
    problems = []
    for b in diff.only_scan:
        problems.append(Problem("drift", f"drift only-in-scan {b.service}@{b.host} {b.port}",
                                f"{b.service} on {b.host} listens on {b.port} ({b.source}) but has no row in {path}",
                                (b.source,)))
    for row in diff.only_table:
        problems.append(Problem("drift", f"drift only-in-table {row.service}@{row.host} {row.port}",
                                f"{path}:{row.line}: {row.service} on {row.host} ({row.port}) is not found by the scan",
                                (f"{path}:{row.line}",)))
    for s, t in diff.differ:
        problems.append(Problem("drift", f"drift table-port {s.service}@{s.host} {s.port} {t.port}",
                                f"{s.service} on {s.host} listens on {s.port} ({s.source}) but {path}:{t.line} says {t.port}",
                                (s.source, f"{path}:{t.line}")))
    return problems


def drift_from_target(scan: Scan, targets: tuple[TargetRow, ...], path: str) -> list[Problem]:
    """Target rows with a port for a service the scan does not find where the row applies."""
    found = {(b.service, b.host) for b in scan.bindings}
    services = {b.service for b in scan.bindings}
    problems = []
    for row in targets:
        if row.port is None:
            continue
        missing = (row.service, row.host) not in found if row.host else row.service not in services
        if missing:
            where = f" on {row.host}" if row.host else ""
            problems.append(Problem("drift", f"drift target-unknown {row.service}@{row.host or '*'}",
                                    f"{path}:{row.line}: target row for {row.service}{where} ({row.port}), "
                                    "but the scan finds no such service",
                                    (f"{path}:{row.line}",)))
    return problems


# ---- baseline --------------------------------------------------------------------------------

BASELINE_HEADER = "# reorg check --scan baseline: accepted problems, one key a line (no line numbers)"


def render_baseline(problems: tuple[Problem, ...]) -> str:
    keys = sorted({p.key for p in problems})
    return "\n".join([BASELINE_HEADER, *keys]) + "\n"


def parse_baseline(text: str) -> frozenset[str]:
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
