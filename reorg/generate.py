"""Seeded instance generator for the benchmark and the property tests, and a CSV writer for it.

``generate`` builds a valid ``Instance`` from the structures a port reorganisation is made of:
chains (each mover wants the port the next one leaves, ending at a free port), swaps (2-cycles),
long cycles, fixed bindings (keep their port), fresh ports (a chain of one), retirements (some
freeing a port a chain then takes), initial collisions the target resolves, frontend/backend
pairs and reservations. Port numbers come from one range (default 3000-8999, never the default
temp pool 39000-39099) and are reused across hosts.

- Default (``global_ok=False``): every host gets its own layout and every binding its own
  service, so the instance is valid under ``--scope host`` (and usually not under global scope,
  where the same port number on two hosts belongs to two services).
- ``global_ok=True``: layouts are small *templates* placed on a random set of hosts, where each
  of their services owns the same ports on every host it runs on, and no two templates share a
  port number. The instance is then valid under both scopes. Under global scope a cycle placed
  on k hosts is k interlocked cycles, so such instances need more than n + c moves.

Deterministic: one ``random.Random(seed)``, no global state; the same arguments give an equal
``Instance``. Bindings come in the order ``reorg.tables`` reads them (host, port, service), so
an instance written by ``write_csvs`` loads back equal. No pandas here: the csv module writes.
"""

from __future__ import annotations

import csv
import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass

from reorg.model import DEFAULT_TEMP_PORTS, Binding, Goal, Instance, ReorgError, Reservation

DEFAULT_PORTS = (3000, 8999)

# A layout binding: (current slot, goal slot or None to retire). Slots become port numbers
# once the layout knows how many it needs; equal slots are equal ports.
_Slot = tuple[int, int | None]
_Row = tuple[str, str, int, int | None]  # (host, service, current port, goal port or None)


@dataclass(frozen=True)
class _Layout:
    """One host's (or one template's) bindings over abstract port slots, and its pairs."""

    bindings: tuple[_Slot, ...]
    pairs: tuple[tuple[int, int], ...]  # (frontend, backend) indices into bindings
    slots: int


def generate(
    seed: int,
    hosts: int,
    bindings: int,
    *,
    swaps: float = 0.1,
    cycles: float = 0.1,
    chains: float = 0.3,
    fixed: float = 0.2,
    retire: float = 0.05,
    pairs: float = 0.0,
    collisions: float = 0.0,
    reserve: int = 0,
    global_ok: bool = False,
    ports: tuple[int, int] = DEFAULT_PORTS,
    max_chain: int = 6,
    max_cycle: int = 8,
) -> Instance:
    """A valid instance of exactly ``bindings`` bindings over ``hosts`` hosts.

    The shares say about how many of the bindings sit in each structure (structures are drawn
    at random): ``swaps``, long ``cycles`` (3..max_cycle), ``chains`` (2..max_chain movers),
    ``fixed``, ``retire`` (half of them with a chain that takes the freed port),
    ``collisions`` (two bindings on one port, separated by the target); the rest get fresh
    ports. ``pairs`` is the share of moving bindings joined into frontend/backend pairs.
    ``reserve`` reservations keep unused ports for services that run nowhere.
    Raises ``ValueError`` for arguments that cannot give a valid instance.
    """
    shares = {
        "swaps": swaps,
        "cycles": cycles,
        "chains": chains,
        "fixed": fixed,
        "retire": retire,
        "collisions": collisions,
    }
    _check_args(hosts, bindings, shares, pairs, reserve, ports, max_chain, max_cycle)
    rng = random.Random(seed)
    host_names = [f"host-{h:02d}" for h in range(hosts)]
    per_layout: list[tuple[_Layout, list[int], list[int]]] = []
    spare: dict[int | None, list[int]] = {}  # host index (None: every host) -> unused ports
    if global_ok:
        placed = _place_templates(rng, hosts, bindings, shares, pairs, max_chain, max_cycle)
        total = sum(layout.slots for layout, _ in placed)
        drawn = _draw_ports(rng, ports, total + reserve, "the instance")
        offset = 0
        for layout, where in placed:
            per_layout.append((layout, where, drawn[offset:offset + layout.slots]))
            offset += layout.slots
        spare[None] = drawn[offset:]
    else:
        for h in range(hosts):
            size = bindings // hosts + (1 if h < bindings % hosts else 0)
            layout = _build_layout(rng, size, shares, pairs, max_chain, max_cycle)
            drawn = _draw_ports(rng, ports, layout.slots + reserve, host_names[h])
            per_layout.append((layout, [h], drawn[:layout.slots]))
            spare[h] = drawn[layout.slots:]
    rows, pair_names, next_service = _name_services(rng, per_layout, host_names)
    reservations = _reservations(rng, reserve, next_service, spare, host_names, global_ok)
    rows.sort(key=lambda row: (row[0], row[2], row[1]))  # (host, port, service), as tables reads
    backs = dict(pair_names)
    binding_list = tuple(
        Binding(service, host, cur, status="running", pair=backs.get(service, ""), line=k + 2)
        for k, (host, service, cur, _) in enumerate(rows)
    )
    goals = tuple(Goal(service, host, cur, goal) for host, service, cur, goal in rows)
    return Instance(
        bindings=binding_list,
        goals=goals,
        reservations=reservations,
        pairs=tuple(sorted(pair_names)),
    )


def write_csvs(
    instance: Instance, current_path: str | os.PathLike[str], target_path: str | os.PathLike[str]
) -> None:
    """Write ``current.csv`` (service,host,port,category,status,pair) and ``target.csv``.

    ``target.csv`` has one row per binding (service,port,host; an empty port retires) and one
    per reservation (an empty host means every host).
    """
    backs = dict(instance.pairs)
    current = [["service", "host", "port", "category", "status", "pair"]]
    for b in instance.bindings:
        pair = b.pair or backs.get(b.service, "")
        current.append([b.service, b.host, str(b.port), b.category, b.status, pair])
    target = [["service", "port", "host"]]
    for g in instance.goals:
        target.append([g.service, "" if g.to_port is None else str(g.to_port), g.host])
    for r in instance.reservations:
        target.append([r.service, str(r.port), r.host or ""])
    _write_rows(current_path, current)
    _write_rows(target_path, target)


# ---- layouts ----------------------------------------------------------------------------------


def _build_layout(
    rng: random.Random,
    size: int,
    shares: dict[str, float],
    pair_share: float,
    max_chain: int,
    max_cycle: int,
) -> _Layout:
    """Exactly ``size`` bindings in structures drawn one at a time by their share.

    Drawing each structure (rather than filling quotas) gives small layouts their swaps and
    cycles too. A structure that does not fit in what is left shrinks (a cycle to a swap, a
    chain to fewer movers) or becomes a fresh port.
    """
    structures: list[list[_Slot]] = []
    slot = 0

    def new() -> int:
        nonlocal slot
        slot += 1
        return slot - 1

    # Weigh each kind by its share of bindings over its mean size, so shares count bindings.
    mean = {
        "swaps": 2.0,
        "cycles": (3 + max_cycle) / 2,
        "chains": (2 + max_chain) / 2,
        "fixed": 1.0,
        "retire": 1 + (1 + max_chain) / 4,
        "collisions": 7 / 3,
    }
    kinds = [*shares, "fresh"]
    weights = [shares[k] / mean[k] for k in shares] + [max(0.0, 1.0 - sum(shares.values()))]
    if not any(weights):
        weights[-1] = 1.0
    left = size
    while left:
        kind = rng.choices(kinds, weights)[0]
        group: list[_Slot]
        if kind == "fixed":
            s = new()
            group = [(s, s)]
        elif kind == "retire":
            s = new()
            group = [(s, None)]
            if left > 1 and rng.random() < 0.5:  # the freed port is taken by a chain
                group += _chain(new, s, rng.randint(1, min(max_chain, left - 1)))
        elif kind == "chains" and left >= 2:
            group = _chain(new, new(), rng.randint(2, min(max_chain, left)))
        elif kind in ("swaps", "cycles") and left >= 2:
            k = 2 if kind == "swaps" else min(rng.randint(3, max_cycle), left)
            ring = [new() for _ in range(k)]
            group = [(ring[i], ring[(i + 1) % k]) for i in range(k)]
        elif kind == "collisions" and left >= 2:
            group = _collision(rng, new, left)
        else:
            group = [(new(), new())]
        structures.append(group)
        left -= len(group)

    rng.shuffle(structures)
    flat = tuple(b for group in structures for b in group)
    return _Layout(flat, _choose_pairs(rng, flat, pair_share), slot)


def _chain(new: Callable[[], int], end: int, length: int) -> list[_Slot]:
    """``length`` movers, each wanting the port of the one before; the first wants ``end``."""
    group: list[_Slot] = []
    want = end
    for _ in range(length):
        here = new()
        group.append((here, want))
        want = here
    return group


def _collision(rng: random.Random, new: Callable[[], int], left: int) -> list[_Slot]:
    """Two bindings on one port: the target keeps one there, or moves both (and maybe a third in)."""
    shared = new()
    variant = rng.randrange(3) if left >= 3 else rng.randrange(2)
    if variant == 0:
        return [(shared, shared), (shared, new())]
    group: list[_Slot] = [(shared, new()), (shared, new())]
    if variant == 2:
        group.append((new(), shared))
    return group


def _choose_pairs(rng: random.Random, flat: tuple[_Slot, ...], share: float) -> tuple[tuple[int, int], ...]:
    """Join about ``share`` of the movers into pairs, each binding in at most one.

    Partners are consecutive in a sorted sample, so dense pairing joins neighbours of one chain
    or cycle (a frontend wanting its backend's port) as well as unrelated movers.
    """
    movers = [i for i, (cur, goal) in enumerate(flat) if goal is not None and goal != cur]
    count = math.floor(share * len(movers) / 2)
    if count == 0:
        return ()
    chosen = sorted(rng.sample(range(len(movers)), 2 * count))
    result: list[tuple[int, int]] = []
    for k in range(count):
        a, b = movers[chosen[2 * k]], movers[chosen[2 * k + 1]]
        result.append((a, b) if rng.random() < 0.5 else (b, a))
    return tuple(result)


def _place_templates(
    rng: random.Random,
    hosts: int,
    bindings: int,
    shares: dict[str, float],
    pair_share: float,
    max_chain: int,
    max_cycle: int,
) -> list[tuple[_Layout, list[int]]]:
    """Small layouts, each on a random set of hosts, until exactly ``bindings`` are placed."""
    placed: list[tuple[_Layout, list[int]]] = []
    left = bindings
    while left:
        size = min(rng.randint(1, 16), left)
        layout = _build_layout(rng, size, shares, pair_share, max_chain, max_cycle)
        count = min(rng.randint(1, hosts), left // size)
        placed.append((layout, sorted(rng.sample(range(hosts), count))))
        left -= size * count
    return placed


# ---- names, ports, reservations ---------------------------------------------------------------


def _draw_ports(rng: random.Random, ports: tuple[int, int], count: int, what: str) -> list[int]:
    lo, hi = ports
    if count > hi - lo + 1:
        raise ValueError(
            f"{what} needs {count} distinct ports but the range {lo}-{hi} has {hi - lo + 1}; "
            "widen ports=, add hosts or lower bindings="
        )
    return rng.sample(range(lo, hi + 1), count)


def _name_services(
    rng: random.Random,
    per_layout: list[tuple[_Layout, list[int], list[int]]],
    host_names: list[str],
) -> tuple[list[_Row], list[tuple[str, str]], int]:
    """Rows (host, service, current port, goal port) and (frontend, backend) service names.

    Services are numbered in a shuffled order per layout, so a service's number says nothing
    about its structure.
    """
    rows: list[_Row] = []
    pair_names: list[tuple[str, str]] = []
    k = 0
    for layout, where, ports in per_layout:
        order = list(range(len(layout.bindings)))
        rng.shuffle(order)
        names: dict[int, str] = {}
        for i in order:
            names[i] = f"svc-{k:05d}"
            k += 1
        for h in where:
            for i, (cur, goal) in enumerate(layout.bindings):
                rows.append(
                    (host_names[h], names[i], ports[cur], None if goal is None else ports[goal])
                )
        pair_names += [(names[a], names[b]) for a, b in layout.pairs]
    return rows, pair_names, k


def _reservations(
    rng: random.Random,
    count: int,
    next_service: int,
    spare: dict[int | None, list[int]],
    host_names: list[str],
    global_ok: bool,
) -> tuple[Reservation, ...]:
    """``count`` reservations of ports no binding uses (on their host, or anywhere)."""
    result: list[Reservation] = []
    for r in range(count):
        service = f"svc-{next_service + r:05d}"
        if global_ok:
            # Unused everywhere, so valid under both scopes; host-bound or for every host.
            port = spare[None][r]
            host = None if rng.random() < 0.5 else rng.choice(host_names)
        else:
            h = rng.randrange(len(host_names))
            port, host = spare[h][r], host_names[h]
        result.append(Reservation(service, host, port, line=0))
    return tuple(sorted(result, key=lambda r: (r.port, r.service, r.host or "")))


def _check_args(
    hosts: int,
    bindings: int,
    shares: dict[str, float],
    pairs: float,
    reserve: int,
    ports: tuple[int, int],
    max_chain: int,
    max_cycle: int,
) -> None:
    if hosts < 1 or bindings < 0 or reserve < 0:
        raise ValueError("need hosts >= 1, bindings >= 0 and reserve >= 0")
    for name, share in {**shares, "pairs": pairs}.items():
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name}={share} is not a share between 0 and 1")
    if sum(shares.values()) > 1.0 + 1e-9:
        raise ValueError(f"the shares {shares} add up to more than 1")
    lo, hi = ports
    if not 1 <= lo <= hi <= 65535:
        raise ValueError(f"ports={ports} is not a range within 1-65535")
    temp_lo, temp_hi = DEFAULT_TEMP_PORTS
    if lo <= temp_hi and temp_lo <= hi:
        raise ValueError(f"ports={ports} overlaps the default temp pool {temp_lo}-{temp_hi}")
    if max_chain < 2 or max_cycle < 3:
        raise ValueError("need max_chain >= 2 and max_cycle >= 3")


def _write_rows(path: str | os.PathLike[str], rows: list[list[str]]) -> None:
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    except OSError as exc:
        raise ReorgError(f"{path}: cannot write: {exc.strerror or exc}") from exc
