"""From occurrences to bindings: who listens where, and which binding each line belongs to.

- Listeners (compose published ports, plists, source defaults, dev servers) become bindings,
  one per (service, host). A compose service with several host ports gives one binding per
  port, named ``SERVICE-CONTAINERPORT``; the same compose service in a second compose file of
  the same host is named after that file's folder (``mana-llm-redis``). On one host a compose
  listener wins over a plist, a dev server and a source default of the same service; among
  those the port written most often wins. A listener that loses is left unattached (``drift``).
  A binding that is one of several ports of a compose service owns only its published port:
  its container side stays where it is when the binding moves, so the name stays stable.
- Every other occurrence is attached to the binding it belongs to: the owner's binding with
  that container port or port; a reference to ``NAME:PORT`` to NAME's binding on the file's
  host (else on any host); ``localhost:PORT`` to what listens on that port of the file's host.
  Those that point at nothing are ``Dangling``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from reorg.scan.model import LISTENER_KINDS, Alias, Occurrence, Role, Row, ScannedBinding, Target

Key = tuple[str, str]
PRIORITY = {"compose-published": 0, "plist-argument": 1, "plist-env": 1, "dev-server": 2, "source-default": 3}


@dataclass(frozen=True)
class Dangling:
    occurrence: Occurrence
    reason: str
    others: tuple[str, ...] = ()  # file:line of what the name does listen on


@dataclass(frozen=True)
class Resolution:
    bindings: tuple[ScannedBinding, ...]
    attached: dict[Any, Any]  # Occurrence -> Key
    listeners_lost: tuple[tuple[Occurrence, ScannedBinding], ...]  # a listener that lost, and the winner
    dangling: tuple[Dangling, ...]
    rows: tuple[Row, ...]
    occurrences: tuple[Occurrence, ...]


def dedupe(occurrences: list[Occurrence]) -> list[Occurrence]:
    """One occurrence per literal: compose's reading of a ``.env`` line wins over the env reader's."""
    best: dict[tuple[Any, ...], Occurrence] = {}
    for occ in occurrences:
        key = (occ.file, occ.line, occ.column)
        old = best.get(key)
        if old is None or (old.kind.startswith("env-") and not occ.kind.startswith("env-")):
            best[key] = occ
    return sorted(best.values(), key=lambda o: o.sort_key)


def resolve(occurrences: list[Occurrence], aliases: list[Alias], dev_host: str) -> Resolution:
    occurrences = dedupe(occurrences)
    listeners = [o for o in occurrences if o.kind in LISTENER_KINDS and o.role is Role.BINDING and o.host]
    names, names_multi = _listener_names(listeners)

    # group listeners per (name, host); choose one port per group
    groups: dict[Key, list[Occurrence]] = defaultdict(list)
    for occ in listeners:
        groups[(names[occ], occ.host)].append(occ)
    bindings: list[ScannedBinding] = []
    attached: dict[Occurrence, Key] = {}
    lost: list[tuple[Occurrence, ScannedBinding]] = []
    container_of: dict[Key, set[int]] = defaultdict(set)  # container ports of each binding
    owner_bindings: dict[tuple[str, str], list[tuple[ScannedBinding, set[int]]]] = defaultdict(list)
    folders_of: dict[Key, set[str]] = defaultdict(set)  # folders of each binding's listener lines
    for (service, host), members in sorted(groups.items()):
        best_rank = min(PRIORITY[o.kind] for o in members)
        top = [o for o in members if PRIORITY[o.kind] == best_rank]
        counts = Counter(o.port for o in top)
        port = sorted(counts, key=lambda p: (-counts[p], min(o.sort_key for o in top if o.port == p)))[0]
        first = min((o for o in members if o.port == port), key=lambda o: (PRIORITY[o.kind], o.sort_key))
        profiles = tuple(sorted({p for o in members if o.port == port for p in o.profiles}))
        status = first.status or ("unsure" if profiles else "running")
        note = first.kind + (f"; profiles {','.join(profiles)}" if profiles else "")
        binding = ScannedBinding(host, port, service, first.where, status, note, profiles)
        bindings.append(binding)
        for occ in members:
            if occ.port == port:
                attached[occ] = (service, host)
                folders_of[(service, host)].add(_folder(occ.file))
                if occ.container_port is not None:
                    container_of[(service, host)].add(occ.container_port)
            else:
                lost.append((occ, binding))
        owners = {o.owner for o in members}
        for owner in owners | {service}:
            owner_bindings[(owner, host)].append((binding, container_of[(service, host)]))

    alias_of = {(a.name, a.host): a.service for a in aliases}
    ports_of: dict[tuple[str, str], set[int]] = defaultdict(set)  # every port a service's own lines name
    for occ in occurrences:
        if occ.role is Role.BINDING:
            ports_of[(occ.owner, occ.host)].add(occ.port)
            ports_of[(occ.owner, "*")].add(occ.port)
    by_host_port: dict[tuple[str, int], list[ScannedBinding]] = defaultdict(list)
    for binding in bindings:
        by_host_port[(binding.host, binding.port)].append(binding)

    hosts_of: dict[str, list[str]] = defaultdict(list)  # deployed hosts first, the dev host last
    for owner, host in sorted(owner_bindings, key=lambda k: (k[0], k[1] == dev_host, k[1])):
        hosts_of[owner].append(host)

    def own(owner: str, host: str, port: int, file: str = "") -> ScannedBinding | None:
        """The owner's binding a line of ``file`` with ``port`` belongs to: on its host (any
        host, deployed ones first, for a host-less Dockerfile), in the same folder first."""
        hosts = [host] if host else hosts_of.get(owner, [])
        folder = _folder(file)
        for h in hosts:
            candidates = sorted(
                owner_bindings.get((owner, h), []),
                key=lambda bc: (folder not in folders_of[(bc[0].service, bc[0].host)], bc[0].service),
            )
            for binding, containers in candidates:
                if port in containers:
                    return binding
            for binding, _c in candidates:
                if binding.port == port:
                    return binding
        return None

    def sources(owner: str, host: str) -> tuple[str, ...]:
        hosts = {host} if host and host != "*" else set(hosts_of.get(owner, ()))
        return tuple(sorted({b.source for h in hosts for b, _c in owner_bindings.get((owner, h), [])}))

    # A compose service with several host ports is one binding per port, named by its container
    # port. Moving such a binding edits its published port only: the container keeps listening
    # where it did, so container-side lines (and in-network URLs) stay with the service.
    multi = {(b.service, b.host) for b in bindings if names_multi.get((b.service, b.host))}

    def own_host_side(occ: Occurrence, found: ScannedBinding | None) -> ScannedBinding | None:
        if found is not None and (found.service, found.host) in multi and occ.target is not Target.HOST:
            return None
        return found

    dangling: list[Dangling] = []
    for occ in occurrences:
        if occ in attached:
            continue
        if occ.role is Role.BINDING or occ.target is Target.SELF:
            found = own(occ.owner, occ.host, occ.port, occ.file)
            if found is not None:
                if own_host_side(occ, found) is not None:
                    attached[occ] = (found.service, found.host)
            elif occ.target is Target.SELF and (occ.owner, occ.host or "*") in ports_of and occ.port not in ports_of[(occ.owner, occ.host or "*")]:
                known = sorted(ports_of[(occ.owner, occ.host or "*")])
                dangling.append(Dangling(occ, f"{occ.owner} itself listens on {_ports(known)}, not {occ.port}", sources(occ.owner, occ.host)))
        elif occ.target is Target.SERVICE:
            name = alias_of.get((occ.name, occ.host), occ.name)
            found = own(name, occ.host, occ.port) if occ.host and (name, occ.host) in owner_bindings else None
            if found is None and not (occ.host and (name, occ.host) in ports_of):
                found = own(name, "", occ.port)
            if found is not None:
                if own_host_side(occ, found) is not None:
                    attached[occ] = (found.service, found.host)
                continue
            scope = (name, occ.host) if (name, occ.host) in ports_of else (name, "*")
            listens = ports_of.get(scope, set())
            if listens and occ.port not in listens:
                where = f"on {occ.host}" if scope[1] != "*" else "anywhere"
                dangling.append(
                    Dangling(occ, f"{name} listens {where} on {_ports(sorted(listens))}, not {occ.port}", sources(name, scope[1]))
                )
        elif occ.target is Target.HOST:
            holders = by_host_port.get((occ.host, occ.port), []) if occ.host else []
            if len(holders) == 1:
                attached[occ] = (holders[0].service, holders[0].host)
            elif not holders and occ.host:
                dangling.append(Dangling(occ, f"nothing listens on {occ.host}:{occ.port}"))

    rows = []
    for occ in occurrences:
        if occ in attached:
            service, host = attached[occ]
        elif occ.target is Target.SERVICE:
            name = alias_of.get((occ.name, occ.host), occ.name)
            service, host = ("" if _is_address(name) else name), occ.host
        elif occ.target is Target.HOST:
            service, host = "", occ.host
        else:
            service, host = occ.owner, occ.host
        rows.append(Row(occ.file, occ.line, occ.column, occ.port, occ.kind, service, host, occ.role, occ.literal))
    return Resolution(
        bindings=tuple(sorted(bindings)),
        attached=attached,
        listeners_lost=tuple(lost),
        dangling=tuple(dangling),
        rows=tuple(rows),
        occurrences=tuple(occurrences),
    )


def _is_address(name: str) -> bool:
    return name.startswith("[") or all(part.isdigit() for part in name.split("."))


def _folder(file: str) -> str:
    return file.rsplit("/", 1)[0] if "/" in file else ""


def _ports(ports: list[int]) -> str:
    return ", ".join(str(p) for p in ports)


def _listener_names(listeners: list[Occurrence]) -> tuple[dict[Occurrence, str], dict[Key, bool]]:
    """The binding name of every listener (see the module docstring), and which (name, host)
    are one port of a compose service with several."""
    names: dict[Occurrence, str] = {}
    multi: dict[Key, bool] = {}
    compose = [o for o in listeners if o.kind == "compose-published"]
    files_of: dict[Key, set[str]] = defaultdict(set)
    for occ in compose:
        files_of[(occ.owner, occ.host)].add(occ.file)
    for occ in listeners:
        names[occ] = occ.owner
    for (owner, host), files in files_of.items():
        ordered = sorted(files, key=lambda f: (f.count("/"), f))
        for file in ordered[1:]:
            folder = PurePosixPath(file).parent.name or "root"
            for occ in compose:
                if occ.owner == owner and occ.host == host and occ.file == file:
                    names[occ] = f"{folder}-{owner}"
    per_file: dict[tuple[str, str, str], list[Occurrence]] = defaultdict(list)
    for occ in compose:
        per_file[(names[occ], occ.host, occ.file)].append(occ)
    for (name, _host, _file), members in per_file.items():
        ports = sorted({o.port for o in members})
        if len(ports) < 2:
            continue
        containers = [o.container_port for o in members]
        by_container = len(set(containers)) == len(members)
        for occ in members:
            names[occ] = f"{name}-{occ.container_port if by_container else occ.port}"
            multi[(names[occ], occ.host)] = True
    return names, multi
