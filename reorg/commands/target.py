"""``reorg target``, ``reorg port`` and ``reorg doc``: take paths and options, return values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reorg.atomic import write_text_atomic
from reorg.csvappend import append_row
from reorg.hostfacts import HostFacts, avoid_reason, read_host_facts
from reorg.model import Binding, PlanOptions, Range, ReorgError, TargetRow
from reorg.names import check_name
from reorg.safeio import parse_int, shorten
from reorg.tables import collect_pairs, read_current, read_ranges, read_target, resolve_goals
from reorg.targeting import (
    Figures,
    TargetOptions,
    TargetResult,
    final_ports,
    make_target,
    target_figures,
    with_categories,
)

DEFAULT_RANGES = Path("data/ranges.csv")
DEFAULT_HOSTS = Path("data/hosts.csv")


def load_facts(hosts: Path | None) -> dict[str, HostFacts]:
    """``--hosts`` if given, else ``data/hosts.csv`` when it exists, else no host facts."""
    if hosts is None:
        return read_host_facts(DEFAULT_HOSTS) if DEFAULT_HOSTS.is_file() else {}
    return read_host_facts(hosts)


def load_ranges(ranges: Path | None) -> tuple[Range, ...]:
    path = ranges if ranges is not None else DEFAULT_RANGES
    if ranges is None and not path.is_file():
        raise ReorgError(f"{path}: no such file; this command needs the ranges: pass --ranges FILE")
    return read_ranges(path)


def parse_categories(values: list[str] | None) -> dict[str, str]:
    """``--category arcade-server=app-server`` (repeatable, or comma-separated)."""
    out: dict[str, str] = {}
    for value in values or []:
        for part in (p.strip() for p in value.split(",") if p.strip()):
            service, sep, category = part.partition("=")
            if not sep or not service.strip() or not category.strip():
                raise ReorgError(f"--category {part!r} must look like SERVICE=CATEGORY, e.g. arcade-server=app-server")
            out[service.strip()] = category.strip()
    return out


def parse_host_weights(values: list[str] | None) -> dict[str, int]:
    """``--host-weight mac-mini=10`` (repeatable, or comma-separated) -> {"mac-mini": 10}."""
    weights: dict[str, int] = {}
    for value in values or []:
        for part in (p.strip() for p in value.split(",") if p.strip()):
            host, sep, weight = part.partition("=")
            w = parse_int(weight.strip())  # ASCII digits only: isdigit() takes '²', which int() refuses
            if not sep or not host.strip() or w is None or not 1 <= w <= 1000:
                raise ReorgError(
                    f"--host-weight '{shorten(part)}' must look like HOST=W with W a whole number 1-1000, e.g. mac-mini=10"
                )
            weights[host.strip()] = w
    return weights


@dataclass(frozen=True)
class TargetRun:
    result: TargetResult
    csv_text: str
    against: Figures | None
    against_path: str | None
    pins_path: str | None
    out: Path | None


def target(
    current: Path,
    pins: Path | None,
    ranges: Path | None,
    hosts: Path | None,
    options: TargetOptions,
    out: Path | None = None,
    against: Path | None = None,
) -> TargetRun:
    """Complete the pins into a target; write it to ``out`` (None: the caller prints it)."""
    from reorg.render.target import render_target_csv

    bindings = read_current(current)
    pin_rows = read_target(pins) if pins is not None else ()
    spans = load_ranges(ranges)
    facts = load_facts(hosts)
    unknown = sorted(set(options.host_weights) - {b.host for b in bindings})
    if unknown:
        raise ReorgError(f"--host-weight names host {unknown[0]!r}, which runs nothing in {current}; check the name")
    known = {r.category for r in spans}
    for service, category in sorted(options.categories.items()):
        if category not in known:
            raise ReorgError(f"--category {service}={category}: no range has category {category!r}; choose one of {', '.join(sorted(known))}")
        if not any(b.service == service for b in bindings):
            raise ReorgError(f"--category {service}={category}: {service} runs nowhere in {current}; check the name")
    result = make_target(bindings, pin_rows, spans, facts, options, (str(current), str(pins or "")))
    text = render_target_csv(result.rows)
    compared = None
    if against is not None:
        other = read_target(against)
        pairs = collect_pairs(bindings, other, str(current), str(against))
        recategorised = with_categories(bindings, options.categories)
        compared = target_figures(recategorised, final_ports(bindings, other), pairs, spans, options.pair_digits, options.host_weights)
    if out is not None:
        write_text_atomic(out, text)
    return TargetRun(result, text, compared, None if against is None else str(against), None if pins is None else str(pins), out)


def with_temp_avoid(options: PlanOptions, hosts_in_fleet: Iterable[str], hosts: Path | None) -> PlanOptions:
    """``options`` with what hosts.csv says: the temp ports any host of the fleet avoids (its OS,
    hosts.csv reserved), and each host's OS for the runbook's commands."""
    from dataclasses import replace

    from reorg.hostfacts import avoided_ports

    facts = load_facts(hosts)
    lo, hi = options.temp_ports
    fleet = set(hosts_in_fleet)
    avoid = frozenset(avoided_ports(facts, fleet, lo, hi))
    host_os = tuple(sorted((h, f.os.value) for h, f in facts.items() if f.os is not None and h in fleet))
    if avoid:
        options = replace(options, temp_avoid=avoid)
    return replace(options, host_os=host_os) if host_os else options


# ---- port ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortChoice:
    service: str
    port: int
    category: str
    range_text: str
    host: str | None
    pair: str | None
    pair_ports: tuple[int, ...]
    free_left: int  # free ports of the range after this one
    added: tuple[str, ...]  # files a row was appended to

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "port": self.port,
            "category": self.category,
            "range": self.range_text,
            "host": self.host,
            "pair": self.pair,
            "pair_ports": list(self.pair_ports),
            "free_left": self.free_left,
            "added": list(self.added),
        }


def choose_port(
    service: str,
    category: str,
    pair: str | None,
    host: str | None,
    bindings: tuple[Binding, ...],
    targets: tuple[TargetRow, ...],
    ranges: tuple[Range, ...],
    facts: dict[str, HostFacts],
    pair_digits: int = 1,
) -> tuple[int, tuple[int, ...], int]:
    """The lowest port of ``category``'s ranges that no table or reservation names on any host,
    no host avoids, and that matches ``pair``'s last digit(s); (port, pair ports, free after)."""
    spans = [r for r in ranges if r.category == category]
    if not spans:
        known = ", ".join(sorted({r.category for r in ranges}))
        raise ReorgError(f"category {category!r} has no range in ranges.csv; choose one of {known}")
    if host is None:
        taken = any(b.service == service for b in bindings) or any(t.service == service for t in targets)
    else:
        taken = any(b.key == (service, host) for b in bindings) or any(
            t.service == service and t.host in (None, host) for t in targets
        )
    if taken:
        where = f" on {host}" if host else ""
        raise ReorgError(
            f"{service} already has a row{where} in the tables; `reorg port` picks a port for a new service "
            "(or with --host, for a host it does not run on yet)"
        )
    used = {b.port for b in bindings} | {t.port for t in targets if t.port is not None}
    hosts = [host] if host is not None else sorted({b.host for b in bindings} | set(facts))
    pair_ports: tuple[int, ...] = ()
    if pair:
        goals, _ = resolve_goals(bindings, targets)
        finals = {g.to_port for g in goals if g.service == pair and (host is None or g.host == host) and g.to_port}
        finals |= {t.port for t in targets if t.service == pair and t.port and t.host in (None, host)}
        if not finals:
            raise ReorgError(f"pair {pair!r} has no port in the tables{' on ' + host if host else ''}; name its backend as it appears in them")
        pair_ports = tuple(sorted(finals))
        digits = {p % 10**pair_digits for p in finals}
        if len(digits) > 1:
            raise ReorgError(f"pair {pair} ends on ports {', '.join(map(str, pair_ports))}, whose last digits differ; pass --host to pick one")
    mod = 10**pair_digits
    free = [
        p for r in spans for p in range(r.start, r.end + 1)
        if p not in used and not any(avoid_reason(facts, h, p) for h in hosts)
    ]
    text = ", ".join(f"{r.start}-{r.end}" for r in spans)
    if not free:
        raise ReorgError(f"range {category} {text} is full: every port is named in a table, reserved or avoided on a host; widen it in ranges.csv or free a port")
    fit = [p for p in free if not pair_ports or p % mod == pair_ports[0] % mod]
    if not fit:
        raise ReorgError(
            f"range {category} {text} has no free port ending in {pair_ports[0] % mod:0{pair_digits}d} to match {pair} "
            f"{pair_ports[0]}; widen the range, or pick the backend's port first"
        )
    return fit[0], pair_ports, len(free) - 1


def port(
    service: str,
    category: str,
    pair: str | None,
    host: str | None,
    current: Path,
    target_path: Path,
    ranges: Path | None,
    hosts: Path | None,
    pair_digits: int = 1,
    add: bool = False,
) -> PortChoice:
    for kind, value in (("service", service), ("host", host), ("category", category), ("pair", pair)):
        if value:  # the row goes into the tables, whose reader would refuse it next time
            check_name(value, kind, "reorg port")
    bindings = read_current(current)
    targets = read_target(target_path)
    spans = load_ranges(ranges)
    facts = load_facts(hosts)
    if pair:
        known = {b.service for b in bindings} | {t.service for t in targets}
        if pair not in known:
            raise ReorgError(f"pair {pair!r} is not a service of either table; fix the name")
    chosen, pair_ports, left = choose_port(service, category, pair, host, bindings, targets, spans, facts, pair_digits)
    added = []
    if add:
        note = "added by reorg port"
        append_row(target_path, {"service": service, "port": str(chosen), "host": host or "", "category": category, "pair": pair or "", "note": note}, ("service", "port", "host"))
        added.append(str(target_path))
        if host is not None:
            append_row(current, {"service": service, "host": host, "port": str(chosen), "category": category, "pair": pair or "", "note": note}, ("service", "host", "port"))
            added.append(str(current))
    text = ", ".join(f"{r.start}-{r.end}" for r in spans if r.category == category)
    return PortChoice(service, chosen, category, text, host, pair, pair_ports, left, tuple(added))


# ---- doc -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocResult:
    text: str
    out: Path | None
    checked: Path | None
    differs: bool
    first_difference: int | None  # line number (1-based) of the first differing line


def doc(
    current: Path, target_path: Path, ranges: Path | None, hosts: Path | None,
    out: Path | None = None, check: Path | None = None,
) -> DocResult:
    """Generate the schema document; write it to ``out``, or compare it with ``check``."""
    from reorg.safeio import decode_text, read_bytes
    from reorg.schemadoc import render_schema_doc, source_of

    ranges_path = ranges if ranges is not None else DEFAULT_RANGES
    hosts_path = hosts if hosts is not None else (DEFAULT_HOSTS if DEFAULT_HOSTS.is_file() else None)
    bindings = read_current(current)
    targets = read_target(target_path)
    spans = load_ranges(ranges)
    facts = read_host_facts(hosts_path) if hosts_path is not None else {}
    sources = [source_of(p) for p in (ranges_path, current, target_path) + ((hosts_path,) if hosts_path else ())]
    text = render_schema_doc(bindings, targets, spans, facts, sources)
    differs, first = False, None
    if check is not None:
        committed = decode_text(read_bytes(check, "document"), check, "document")
        differs = committed != text
        if differs:
            old, new = committed.splitlines(), text.splitlines()
            first = next((i + 1 for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)) + 1)
    if out is not None:
        write_text_atomic(out, text)
    return DocResult(text, out, check, differs, first)
