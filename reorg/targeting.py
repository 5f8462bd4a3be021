"""``reorg target`` and ``reorg port``: complete a target from the ranges, the pins and the host facts.

Every binding of current.csv ends in one of four ways:

- **pinned**: a row of the partial target (``--pins``) covers it (host row, else the service's
  row without host): its port, or its retirement, is kept exactly;
- **unranged**: its category has no range in ranges.csv: it keeps its port;
- **placed** by the CP-SAT model (``planners.assign``) on a port of its category's range: not
  held by a pinned or unranged binding, not reserved for another service, not avoided on its
  host (hosts.csv's ``reserved``, its OS's listeners and ephemeral range, see ``hostfacts``).

Rows of the pins that apply to no running binding stay reservations (or dropped reservations),
written out as they were. Before the model runs, conflicts among what is fixed (two pins on one
port, a pin on a reserved port, ...) and ranges too small for what wants them are explained;
after it, the result is checked outside the solver (``problem.find_conflicts`` and the ranges)
before anything is written.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reorg.hostfacts import HostFacts, avoid_reason, avoided
from reorg.model import Binding, Goal, Instance, Range, ReorgError, Reservation, Scope, TargetRow
from reorg.problem import find_conflicts
from reorg.tables import collect_pairs, resolve_goals

if TYPE_CHECKING:  # planners.assign imports ortools: loaded when a target is made
    from reorg.planners.assign import Capacity, Slot

Key = tuple[str, str]  # (service, host)
Fixed = dict[Key, int | None]  # pinned or unranged bindings -> their final port (None: retired)
Pairs = tuple[tuple[str, str], ...]  # (frontend, backend)

TARGET_COLUMNS = ("service", "port", "host", "category", "pair", "note")


@dataclass(frozen=True)
class TargetOptions:
    scope: Scope = Scope.HOST
    spare: int = 0
    host_weights: dict[str, int] = field(default_factory=dict)
    pair_digits: int = 1
    time_limit: float = 10.0
    categories: dict[str, str] = field(default_factory=dict)  # service -> category (--category)


def with_categories(bindings: tuple[Binding, ...], categories: dict[str, str]) -> tuple[Binding, ...]:
    """The bindings with ``--category SERVICE=CATEGORY`` applied (an operator's reclassification)."""
    if not categories:
        return bindings
    return tuple(replace(b, category=categories.get(b.service, b.category)) for b in bindings)


@dataclass(frozen=True, order=True)
class Decision:
    """What happened to one binding, and why."""

    host: str
    service: str
    from_port: int
    to_port: int | None
    kind: str  # "pinned", "retired", "unranged", "kept", "moved"
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "host": self.host,
            "from_port": self.from_port,
            "to_port": self.to_port,
            "kind": self.kind,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Figures:
    """What a complete target costs and gains, for comparing two targets of one fleet."""

    bindings: int
    changed: int  # bindings whose port changes (retirements not counted)
    retired: int
    weighted_changes: int
    pairs: int  # pair instances on a host where both have a final port
    matched: int  # of those, last digit(s) equal
    judged_mismatches: int  # 50xx/30xx pairs that `reorg check` reports
    in_range: int  # final ports inside their category's range (of bindings whose category has one)
    ranged: int  # bindings whose category has a range and that keep a port
    multi_port_services: int  # services on two or more ports across their hosts

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TargetResult:
    rows: tuple[TargetRow, ...]
    decisions: tuple[Decision, ...]
    figures: Figures
    statuses: tuple[str, ...]  # one per component of the model
    seconds: float

    @property
    def proven(self) -> bool:
        return all(s == "optimal" for s in self.statuses)


def spans_by_category(ranges: tuple[Range, ...]) -> dict[str, list[Range]]:
    out: dict[str, list[Range]] = defaultdict(list)
    for r in ranges:
        out[r.category].append(r)
    return out


def row_for(binding: Binding, rows_by_key: dict[tuple[str, str | None], TargetRow]) -> TargetRow | None:
    return rows_by_key.get((binding.service, binding.host)) or rows_by_key.get((binding.service, None))


def make_target(
    bindings: tuple[Binding, ...],
    pins: tuple[TargetRow, ...],
    ranges: tuple[Range, ...],
    facts: dict[str, HostFacts],
    options: TargetOptions,
    paths: tuple[str, str] = ("current.csv", "pins"),
) -> TargetResult:
    """Complete ``pins`` into a target for every binding; ReorgError explains infeasibility."""
    from reorg.planners.assign import AssignInput, PairTerm, Slot, assign

    started = time.perf_counter()
    bindings = with_categories(bindings, options.categories)
    scope = options.scope
    by_category = spans_by_category(ranges)
    pin_of = {(t.service, t.host): t for t in pins}
    goals, reservations = resolve_goals(bindings, pins)
    pairs = collect_pairs(bindings, pins, *paths)
    # what is fixed: pinned and unranged bindings
    fixed: dict[tuple[str, str], int | None] = {}
    slot_bindings: list[Binding] = []
    for b in bindings:
        row = row_for(b, pin_of)
        if row is not None:
            fixed[b.key] = row.port
        elif not by_category.get(b.category):
            fixed[b.key] = b.port
        else:
            slot_bindings.append(b)
    _explain_fixed_conflicts(bindings, fixed, reservations, scope)
    held: dict[tuple[Any, ...], set[str]] = defaultdict(set)  # (host|*, port) -> services that keep it
    for b in bindings:
        port = fixed.get(b.key)
        if b.key in fixed and port is not None:
            held[(b.host, port)].add(b.service)
            held[("*", port)].add(b.service)
    reserved: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for r in reservations:
        reserved[(r.host or "*", r.port)].add(r.service)
    hosts = sorted({b.host for b in bindings})
    host_set = set(hosts)

    def blocked(service: str, host: str, port: int) -> str | None:
        """Why ``service`` may not end on ``port`` of ``host`` because of fixed things."""
        keys = [(host, port)] if scope is Scope.HOST else [("*", port)]
        for key in keys:
            others = sorted(held.get(key, set()) - {service})
            if others:
                return f"held by {', '.join(others)}"
        for key in ((host, port), ("*", port)) if scope is Scope.HOST else [("*", port)] + [(h, port) for h in hosts]:
            others = sorted(reserved.get(key, set()) - {service})
            if others:
                return f"reserved for {', '.join(others)}"
        return None

    # per (host, category): the ports nobody claims and no avoid rule forbids (shared by every
    # binding there), and the claimed or soft-avoided ports a binding may still take
    base_of: dict[tuple[str, str], tuple[int, ...]] = {}
    special_of: dict[tuple[str, str], dict[int, tuple[frozenset[str], bool]]] = {}

    def sets_for(host: str, category: str) -> tuple[tuple[int, ...], dict[int, tuple[frozenset[str], bool]]]:
        key = (host, category)
        if key not in base_of:
            strict: set[int] = set()
            soft: set[int] = set()
            claims: dict[int, set[str]] = defaultdict(set)
            ports: set[int] = set()
            spans = avoided(facts.get(host))
            for r in by_category[category]:
                ports.update(range(r.start, r.end + 1))
                for span in spans:
                    covered = range(max(r.start, span.start), min(r.end, span.end) + 1)
                    (strict if span.strict else soft).update(covered)
            for (where, port), services in held.items():
                if port in ports and where == (host if scope is Scope.HOST else "*"):
                    claims[port] |= services
            for (where, port), services in reserved.items():
                if port in ports and (where in (host, "*") or (scope is Scope.GLOBAL and where in host_set)):
                    claims[port] |= services
            special: dict[int, tuple[frozenset[str], bool]] = {}
            for port in (set(claims) | soft) - strict:
                special[port] = (frozenset(claims.get(port, ())), port in soft)
            base_of[key] = tuple(sorted(ports - strict - soft - set(claims)))
            special_of[key] = special
        return base_of[key], special_of[key]

    slots = []
    for b in slot_bindings:
        base, special = sets_for(b.host, b.category)
        extra = [
            p for p, (claimants, soft) in special.items()
            if not (claimants - {b.service}) and (not soft or p == b.port)
        ]
        domain = tuple(sorted(base + tuple(extra))) if extra else base
        slots.append(Slot(b.service, b.host, b.port, domain, options.host_weights.get(b.host, 1)))
    capacities = _capacities(bindings, fixed, reservations, ranges, facts, options)
    _explain_ranges(slot_bindings, slots, capacities, ranges, fixed, bindings, reservations, facts, options)
    index = {(s.service, s.host): i for i, s in enumerate(slots)}
    final_fixed = {k: p for k, p in fixed.items() if p is not None}
    terms = []
    for front, back in pairs:
        for host in hosts:
            fk, bk = (front, host), (back, host)
            fi, bi = index.get(fk), index.get(bk)
            fp, bp = final_fixed.get(fk), final_fixed.get(bk)
            if (fi is None and fp is None) or (bi is None and bp is None):
                continue
            if fi is None and bi is None:
                continue
            terms.append(PairTerm(host, fi, bi, fp, bp))
    fixed_ports: dict[str, set[int]] = defaultdict(set)
    for (service, _), port in final_fixed.items():
        fixed_ports[service].add(port)
    problem = AssignInput(
        slots=tuple(slots),
        pairs=tuple(terms),
        capacities=capacities,
        scope=scope,
        pair_digits=options.pair_digits,
        time_limit=options.time_limit,
        fixed_ports={s: frozenset(p) for s, p in fixed_ports.items()},
    )
    result = assign(problem)
    if result.infeasible:
        comp = result.infeasible[0]
        names = sorted({f"{slots[i].service}@{slots[i].host}" for i in comp.slots})
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        raise ReorgError(
            f"no target exists for {shown}: CP-SAT proved their ranges cannot hold them together "
            "with the pins, reservations and --spare; free ports in their ranges or pin some elsewhere"
        )
    placed: dict[Key, int] = {}
    for i, port in enumerate(result.ports):
        if port is None:  # only an infeasible component leaves a slot without a port
            raise RuntimeError(f"slot {slots[i].service}@{slots[i].host} without a port: a bug")
        placed[(slots[i].service, slots[i].host)] = port
    final: Fixed = {**fixed, **placed}
    rows = _rows(bindings, pins, placed, pairs)
    _validate(bindings, rows, final, scope)
    decisions = _decisions(bindings, pin_of, fixed, placed, pairs, by_category, blocked, facts)
    figures = target_figures(bindings, final, pairs, ranges, options.pair_digits, options.host_weights)
    return TargetResult(
        rows=rows,
        decisions=decisions,
        figures=figures,
        statuses=tuple(c.status for c in result.components),
        seconds=time.perf_counter() - started,
    )


def _explain_fixed_conflicts(
    bindings: tuple[Binding, ...], fixed: Fixed, reservations: tuple[Reservation, ...], scope: Scope
) -> None:
    """Pins (and unranged bindings) that cannot all hold: one line naming them."""
    goals = tuple(
        Goal(b.service, b.host, b.port, fixed[b.key]) for b in bindings if b.key in fixed
    )
    found = find_conflicts(Instance(bindings=(), goals=goals, reservations=reservations), scope)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        first = found[0]
        raise ReorgError(
            f"the pins cannot all hold: on {first.host} port {first.port}: {first.message}{more}; "
            "change one of these pins (bindings without a range keep their port)"
        )


def _blocked_set(
    host: str | None, lo: int, hi: int, bindings: tuple[Binding, ...], fixed: Fixed,
    reservations: tuple[Reservation, ...], facts: dict[str, HostFacts],
) -> dict[int, str]:
    """Ports of lo..hi no placed binding may count as free on ``host`` (None: the fleet)."""
    out: dict[int, str] = {}
    for b in bindings:
        port = fixed.get(b.key)
        if b.key in fixed and port is not None and lo <= port <= hi and (host is None or b.host == host):
            out.setdefault(port, f"{b.service}@{b.host}")
    for r in reservations:
        if lo <= r.port <= hi and (host is None or r.host in (None, host)):
            out.setdefault(r.port, f"reserved for {r.service}")
    for h in ([host] if host is not None else sorted(facts)):
        for span in avoided(facts.get(h)):  # what avoid_reason says of each port, span by span
            for p in range(max(lo, span.start), min(hi, span.end) + 1):
                out.setdefault(p, span.why)
    return out


def _capacities(
    bindings: tuple[Binding, ...], fixed: Fixed, reservations: tuple[Reservation, ...], ranges: tuple[Range, ...],
    facts: dict[str, HostFacts], options: TargetOptions,
) -> tuple[Capacity, ...]:
    from reorg.planners.assign import Capacity

    if options.spare <= 0:
        return ()
    caps = []
    hosts = sorted({b.host for b in bindings}) if options.scope is Scope.HOST else [None]
    for r in ranges:
        for host in hosts:
            blocked = _blocked_set(host, r.start, r.end, bindings, fixed, reservations, facts)
            limit = (r.end - r.start + 1) - len(blocked) - options.spare
            label = f"{r.category} {r.start}-{r.end}" + (f" on {host}" if host else "")
            caps.append(Capacity(host, r.start, r.end, limit, label, frozenset(blocked)))
            if limit < 0:
                names = sorted(blocked.values())
                raise ReorgError(
                    f"range {label} cannot keep --spare {options.spare} free: it has "
                    f"{r.end - r.start + 1} ports and {len(blocked)} are taken before any placement "
                    f"({', '.join(names[:5])}{' ...' if len(names) > 5 else ''}); lower --spare or free ports"
                )
    return tuple(caps)


def _explain_ranges(
    slot_bindings: list[Binding], slots: list[Slot], capacities: tuple[Capacity, ...], ranges: tuple[Range, ...],
    fixed: Fixed, bindings: tuple[Binding, ...], reservations: tuple[Reservation, ...],
    facts: dict[str, HostFacts], options: TargetOptions,
) -> None:
    """A range too small for what wants it: which range, how many want it, how many slots, who blocks."""
    groups: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for i, b in enumerate(slot_bindings):
        key = (b.category, b.host) if options.scope is Scope.HOST else (b.category, None)
        groups[key].append(i)
    limits: dict[tuple[str, str | None], int] = defaultdict(int)  # (category, host) -> --spare capacity left for placements
    for cap in capacities:
        for r in ranges:
            if (r.start, r.end) == (cap.lo, cap.hi):
                limits[(r.category, cap.host)] += cap.limit
    for i, b in enumerate(slot_bindings):  # one binding with no port at all (its host avoids the rest)
        if slots[i].domain:
            continue
        spans = [r for r in ranges if r.category == b.category]
        on_host: dict[int, str] = {}
        for r in spans:
            on_host.update(_blocked_set(b.host, r.start, r.end, bindings, fixed, reservations, facts))
        taken = ", ".join(f"{p} {who}" for p, who in sorted(on_host.items())[:5]) + (" ..." if len(on_host) > 5 else "")
        raise ReorgError(
            f"range {b.category} ({_span_text(spans)}) on {b.host} is too small: 1 binding(s) want it "
            f"({b.service}@{b.host}), it has {sum(r.end - r.start + 1 for r in spans)} port(s), 0 free for it"
            f"{'; taken: ' + taken if taken else ''}; widen the range, pin some elsewhere or free a port on {b.host}"
        )
    for (category, host), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        distinct = {id(slots[i].domain): slots[i].domain for i in members}  # most share one tuple
        union: set[int] = set().union(*distinct.values())
        want = len({slot_bindings[i].service for i in members}) if host is None else len(members)
        spans = [r for r in ranges if r.category == category]
        if want <= len(union) and options.spare <= 0:
            continue
        blockers: dict[int, str] = {}
        for r in spans:
            blockers.update(_blocked_set(host, r.start, r.end, bindings, fixed, reservations, facts))
        # a binding that ends on a port already counted as taken (a system port it listens on, a
        # port reserved for itself, a port another host avoids under --scope global) leaves the
        # free ports as they were: at most one binding (one service on the fleet) per such port
        on_taken = len(union & set(blockers))
        short_of_spare = options.spare > 0 and want - on_taken > limits.get((category, host), want)
        if want <= len(union) and not short_of_spare:
            continue
        size = sum(r.end - r.start + 1 for r in spans)
        where = f" on {host}" if host else " on the fleet"
        pins = sorted(f"{who} {p}" for p, who in blockers.items() if "@" in who)
        others = sorted(f"{p} {who}" for p, who in blockers.items() if "@" not in who)
        span_text = _span_text(spans)
        detail = f"; pins holding it: {', '.join(pins[:8])}{' ...' if len(pins) > 8 else ''}" if pins else ""
        detail += f"; also taken: {', '.join(others[:5])}{' ...' if len(others) > 5 else ''}" if others else ""
        spare_text = f" and --spare {options.spare} must stay free" if short_of_spare else ""
        raise ReorgError(
            f"range {category} ({span_text}){where} is too small: {want} binding(s) want it, it has {size} "
            f"port(s), {len(union)} free for them{spare_text}{detail}; widen the range, pin some elsewhere "
            "or lower --spare"
        )


def _span_text(spans: list[Range]) -> str:
    return ", ".join(f"{r.start}-{r.end}" if r.start != r.end else f"{r.start}" for r in spans)


def _rows(bindings: tuple[Binding, ...], pins: tuple[TargetRow, ...], placed: dict[Key, int], pairs: Pairs) -> tuple[TargetRow, ...]:
    """The pins as they were, then one row per placed or unranged service (host rows if it differs)."""
    pinned_keys = {(t.service, t.host) for t in pins}
    pair_of = dict(pairs)  # frontend -> backend (the first, sorted)
    rows = list(pins)
    free: dict[str, list[Binding]] = defaultdict(list)
    for b in bindings:
        if (b.service, b.host) in pinned_keys or (b.service, None) in pinned_keys:
            continue
        free[b.service].append(b)
    new = []
    for service, members in free.items():
        ports = {placed.get(b.key, b.port) for b in members}
        categories = {b.category for b in members}
        if len(ports) == 1 and len(categories) == 1:
            b = members[0]
            port = ports.pop()
            new.append(TargetRow(service, None, port, b.category, pair_of.get(service, ""), 0, _note(members, port)))
            continue
        for b in members:
            port = placed.get(b.key, b.port)
            new.append(TargetRow(service, b.host, port, b.category, pair_of.get(service, ""), 0, _note([b], port)))
    new.sort(key=lambda t: (t.port or 0, t.service, t.host or ""))
    return tuple(rows + new)


def _note(members: list[Binding], port: int) -> str:
    was = sorted({b.port for b in members})
    if was == [port]:
        return "reorg target: keeps its port"
    return f"reorg target: was {'/'.join(str(p) for p in was)}"


def _validate(bindings: tuple[Binding, ...], rows: tuple[TargetRow, ...], final: Fixed, scope: Scope) -> None:
    """Outside the solver: the rows resolve to ``final``, pins hold, nothing conflicts, ranges hold."""
    goals, reservations = resolve_goals(bindings, rows)
    for g in goals:
        if g.to_port != final[g.key]:
            raise RuntimeError(f"target rows give {g.service}@{g.host} {g.to_port}, the model {final[g.key]}")
    conflicts = find_conflicts(Instance(bindings=bindings, goals=goals, reservations=reservations), scope)
    if conflicts:
        raise RuntimeError(f"the computed target has a conflict: {conflicts[0].message}")


def _decisions(
    bindings: tuple[Binding, ...], pin_of: dict[tuple[str, str | None], TargetRow], fixed: Fixed,
    placed: dict[Key, int], pairs: Pairs, by_category: dict[str, list[Range]],
    blocked: Callable[[str, str, int], str | None], facts: dict[str, HostFacts],
) -> tuple[Decision, ...]:
    out = []

    def final_port(service: str, host: str) -> int | None:
        key = (service, host)
        return placed.get(key, fixed.get(key))

    final_at: dict[tuple[str, int], list[str]] = defaultdict(list)
    for b in bindings:
        p = placed.get(b.key, fixed.get(b.key))
        if p is not None:
            final_at[(b.host, p)].append(b.service)
    for b in bindings:
        row = row_for(b, pin_of)
        if row is not None:
            kind = "retired" if row.port is None else "pinned"
            where = f"line {row.line}" + (f": {row.note}" if row.note else "")
            out.append(Decision(b.host, b.service, b.port, row.port, kind, f"pin ({where})"))
            continue
        if b.key in fixed:
            out.append(Decision(b.host, b.service, b.port, b.port, "unranged", f"category {b.category or '(none)'} has no range: keeps its port"))
            continue
        port = placed[b.key]
        spans = by_category[b.category]
        text = ", ".join(f"{r.start}-{r.end}" for r in spans)
        if port == b.port:
            out.append(Decision(b.host, b.service, b.port, port, "kept", f"in {b.category} {text}"))
            continue
        if not any(r.start <= b.port <= r.end for r in spans):
            why = f"{b.port} is outside {b.category} {text}"
        else:
            reason = blocked(b.service, b.host, b.port) or avoid_reason(facts, b.host, b.port, b.port)
            if reason:
                why = f"{b.port} is {reason}"
            else:
                rivals = sorted(s for s in final_at.get((b.host, b.port), []) if s != b.service)
                partners = []
                for front, back in pairs:
                    other = back if front == b.service else front if back == b.service else None
                    theirs = final_port(other, b.host) if other is not None else None
                    if theirs is not None and theirs % 10 != b.port % 10:
                        partners.append(f"{other} {theirs}")
                partners.sort()
                why = (f"{b.port} goes to {', '.join(rivals)}" if rivals
                       else f"{b.port} does not share the last digit of {', '.join(partners)}" if partners
                       else f"{b.port} was shared with another binding of {b.service} or a lower port was free")
        out.append(Decision(b.host, b.service, b.port, port, "moved", why))
    return tuple(sorted(out))


def target_figures(
    bindings: tuple[Binding, ...], final: Fixed, pairs: Pairs, ranges: tuple[Range, ...], pair_digits: int,
    weights: dict[str, int] | None = None,
) -> Figures:
    """Figures of a complete target given as (service, host) -> final port (None retires)."""
    weights = weights or {}
    by_category = spans_by_category(ranges)
    mod = 10**pair_digits
    changed = sum(1 for b in bindings if final[b.key] is not None and final[b.key] != b.port)
    weighted = sum(weights.get(b.host, 1) for b in bindings if final[b.key] is not None and final[b.key] != b.port)
    retired = sum(1 for b in bindings if final[b.key] is None)
    hosts = sorted({b.host for b in bindings})
    total = matched = judged = 0
    for front, back in pairs:
        for host in hosts:
            fp, bp = final.get((front, host)), final.get((back, host))
            if fp is None or bp is None:
                continue
            total += 1
            same = fp % mod == bp % mod
            matched += same
            judged += (not same) and fp // 100 == 50 and bp // 100 == 30
    ranged: list[tuple[Binding, int]] = []
    ports_of: dict[str, set[int]] = defaultdict(set)
    for b in bindings:
        port = final[b.key]
        if port is None:
            continue
        ports_of[b.service].add(port)
        if by_category.get(b.category):
            ranged.append((b, port))
    in_range = sum(1 for b, port in ranged if any(r.start <= port <= r.end for r in by_category[b.category]))
    return Figures(
        bindings=len(bindings),
        changed=changed,
        retired=retired,
        weighted_changes=weighted,
        pairs=total,
        matched=matched,
        judged_mismatches=judged,
        in_range=in_range,
        ranged=len(ranged),
        multi_port_services=sum(1 for ports in ports_of.values() if len(ports) > 1),
    )


def final_ports(bindings: tuple[Binding, ...], rows: tuple[TargetRow, ...]) -> Fixed:
    goals, _ = resolve_goals(bindings, rows)
    return {g.key: g.to_port for g in goals}
