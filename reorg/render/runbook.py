"""The Markdown runbook of a plan, in the order an operator meets it at the keyboard.

A summary (steps, hosts, per-host counts, the window), what to do before the first step, the
diagram, every wave split by host with one task item per step, what to do after the last step,
and the plan's metadata (inputs and their hashes, options, figures beside their bounds) last.
Each step's Change comes from its binding's ``source`` and ``note`` in the current table; the
generic list of places a port lives is printed once, and only when a step has no source.
Everything here is linear in the plan's size (issue 8): one pass per index, no per-step scans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby
from pathlib import PurePosixPath
from typing import Protocol

from reorg.escape import md_code, shell_quote
from reorg.model import PLAN_FORMAT, Binding, Instance, PairMode, Plan, Step, StepKind
from reorg.render.diagram import diagram_caption, render_mermaid, step_dependencies
from reorg.render.steptext import (
    StepFacts,
    describe_step,
    listen_command,
    md_escape,
    plain_undo,
    short_title,
)
from reorg.render.table import md_table


class EditRow(Protocol):
    """A line a scan found for a step (``reorg.scan``'s references row): what the runbook lists."""

    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def role(self) -> object: ...


# Every place a port lives, listed once, for the steps whose binding has no source in the table.
_WHERE_PORTS_LIVE = (
    "Compose file: the service's `PORT`, its `\"host:container\"` mapping, healthcheck URL and "
    "traefik `loadbalancer.server.port` label.",
    "Source defaults (`src/config.ts`, `main.ts`, `config.go`, `app/main.py`, ...), "
    "`.env.example` and the service's CLAUDE.md.",
    "Dockerfile: `EXPOSE`, `ENV PORT=`, `CMD ... --port` and the `HEALTHCHECK` URL.",
    "Start scripts: launchd plists, start.sh and setup scripts; Scheduled Tasks and their .env, "
    "and the firewall rule, on Windows.",
    "Prometheus targets, cloudflared routes, `.env.development` and dev scripts.",
)
_CLIENTS = (
    "A service's *clients* are other services' `*_URL` settings, Prometheus and cloudflared "
    "targets, fallback URLs in apps and shared packages, ops scripts, CI health checks and docs."
)
_GENERIC = "where its port is configured (list above)"
_OS_NAMES = {"macos": "macOS", "linux": "Linux", "windows": "Windows"}
_BACKUP_NAMES_SHOWN = 8  # per host; the steps name every one


def _edit_lines(number: int, rows: Sequence[EditRow]) -> list[str]:
    if not rows:
        return ["  - Lines to edit: none known; see \"Where a port is configured\""]
    out = [f"  - Lines to edit (`reorg patch {number}`):"]
    out += [f"    - {md_code(f'{r.file}:{r.line}')} {md_escape(r.kind)} ({md_escape(getattr(r.role, 'value', r.role))})" for r in rows]
    return out


class HolderIndex:
    """Who holds each (host, port) as the plan runs: the bindings of the table, then each step.

    ``others`` and ``move`` cost the holders of one port, so a runbook is linear in its steps.
    """

    def __init__(self, instance: Instance, plan: Plan) -> None:
        self._port: dict[tuple[str, str], int | None] = {b.key: b.port for b in instance.bindings}
        for s in plan.steps:
            self._port.setdefault((s.service, s.host), s.from_port)
        self._held: dict[tuple[str, int], set[str]] = {}
        for (service, host), port in self._port.items():
            if port is not None:
                self._held.setdefault((host, port), set()).add(service)

    def others(self, host: str, port: int, service: str) -> tuple[str, ...]:
        """The services other than ``service`` holding ``port`` on ``host``, sorted."""
        return tuple(sorted(self._held.get((host, port), set()) - {service}))

    def move(self, step: Step) -> None:
        key = (step.service, step.host)
        old = self._port.get(key)
        if old is not None:
            self._held.get((step.host, old), set()).discard(step.service)
        self._port[key] = step.to_port
        if step.to_port is not None:
            self._held.setdefault((step.host, step.to_port), set()).add(step.service)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _per_host(steps: Sequence[Step]) -> str:
    """``dev 19, mac-mini 13``: steps per host, hosts sorted."""
    counts: dict[str, int] = {}
    for s in steps:
        counts[s.host] = counts.get(s.host, 0) + 1
    return ", ".join(f"{md_escape(h)} {c}" for h, c in sorted(counts.items()))


def pair_partners(plan: Plan, instance: Instance) -> dict[int, tuple[int, ...]]:
    """Step number -> the steps of its pair partners on the same host (final arrivals only).

    A frontend and its backend that both move on one host arrive in one wave under hard pairs;
    the runbook lists them together. Linear: the final arrivals are indexed once.
    """
    arrival: dict[tuple[str, str], int] = {}
    for s in plan.steps:
        if s.kind in (StepKind.MOVE, StepKind.FROM_TEMP):
            arrival[(s.service, s.host)] = s.step
    by_service: dict[str, list[tuple[str, int]]] = {}
    for (service, host), number in arrival.items():
        by_service.setdefault(service, []).append((host, number))
    partners: dict[int, set[int]] = {}
    for front, back in instance.pairs:
        for host, number in by_service.get(front, ()):
            other = arrival.get((back, host))
            if other is not None:
                partners.setdefault(number, set()).add(other)
                partners.setdefault(other, set()).add(number)
    return {n: tuple(sorted(p)) for n, p in sorted(partners.items())}


def _together(members: list[Step], partners: Mapping[int, tuple[int, ...]]) -> list[Step]:
    """A host's steps of one wave in plan order, each pair partner moved up beside its first member."""
    here = {s.step: s for s in members}
    out: list[Step] = []
    placed: set[int] = set()
    for s in members:
        if s.step in placed:
            continue
        out.append(s)
        placed.add(s.step)
        for p in partners.get(s.step, ()):
            if p in here and p not in placed:
                out.append(here[p])
                placed.add(p)
    return out


def _host_os(plan: Plan) -> dict[str, str]:
    return dict(plan.options.host_os)


def _listen_help(hosts: Sequence[str], host_os: Mapping[str, str]) -> str:
    """Who listens on a port, per OS of the plan's hosts (once, not per step)."""
    by_os: dict[str, list[str]] = {}
    for h in hosts:
        by_os.setdefault(host_os.get(h, ""), []).append(md_escape(h))
    parts = []
    for os_name in ("macos", "linux", "windows"):
        if os_name in by_os:
            command = listen_command(os_name, "PORT")
            shell = " (PowerShell)" if os_name == "windows" else ""
            parts.append(f"`{command}`{shell} on {', '.join(by_os[os_name])} ({_OS_NAMES[os_name]})")
    unknown = [h for key, names in sorted(by_os.items()) if key not in _OS_NAMES for h in names]
    if unknown:
        parts.append(
            f"on {', '.join(unknown)} (OS unknown: set `os` in hosts.csv) `{listen_command('linux', 'PORT')}` "
            f"on macOS or Linux, `{listen_command('windows', 'PORT')}` in PowerShell on Windows"
        )
    return "Who listens on a port, on the host itself: " + "; ".join(parts) + "."


def _backups(steps: Sequence[Step], bindings: Mapping[tuple[str, str], Binding]) -> str:
    """Per host, where the steps change ports (the table's sources, a file's line numbers dropped)."""
    places: dict[str, set[str]] = {}
    for s in steps:
        b = bindings.get((s.service, s.host))
        source = b.source if b is not None else ""
        name = source.rsplit(":", 1)[0] if source.rsplit(":", 1)[-1].isdigit() else source
        places.setdefault(s.host, set()).add(name or "(no source: see the list below)")
    parts = []
    for host, names in sorted(places.items()):
        shown = sorted(names)[:_BACKUP_NAMES_SHOWN]
        more = len(names) - len(shown)
        parts.append(f"{md_escape(host)}: {', '.join(md_escape(n) for n in shown)}" + (f" and {more} more" if more else ""))
    return "; ".join(parts)


def render_runbook(
    plan: Plan,
    instance: Instance,
    name: str,
    plan_json_name: str,
    edits: Mapping[int, Sequence[EditRow]] | None = None,
) -> str:
    """The Markdown runbook: summary, before you start, diagram, waves by host, after, metadata
    (a plan without steps: the summary saying so and the metadata only).

    ``plan_json_name`` is the plan file as the operator passes it, e.g. ``NAME.json``.
    ``edits`` (step number -> rows of a scan's references.csv) lists under each step the lines
    to edit. Deterministic: no dates and no timings, so the same plan gives the same bytes.
    """
    m = plan.metrics
    steps = plan.steps
    ref = shell_quote(plan_json_name)
    bindings = {b.key: b for b in instance.bindings}
    table = PurePosixPath(instance.current_path).name if instance.current_path else ""
    host_os = _host_os(plan)
    partners = pair_partners(plan, instance)
    hosts = sorted({s.host for s in steps})

    def facts_of(s: Step) -> StepFacts:
        b = bindings.get((s.service, s.host))
        if b is None:
            return StepFacts(os=host_os.get(s.host, ""), generic=_GENERIC)
        line = (f"{table}:{b.line}" if table else f"line {b.line}") if b.line else ""
        return StepFacts(b.status, b.source, b.note, line, host_os.get(s.host, ""), _GENERIC)

    known = {s.step: facts_of(s) for s in steps}  # once per step: the summary and the items share it

    def facts(s: Step) -> StepFacts:
        return known[s.step]

    current = md_code(instance.current_path or "data/current.csv")
    out: list[str] = [f"# Runbook: {md_escape(name)}", ""]
    # ---- summary
    if not steps:  # nothing to run: no checklist, no before or after, only what the plan was made from
        out += ["Nothing to do: every binding is already on its target port.", ""]
        return "\n".join(out + _metadata(plan, instance, plan_json_name)).rstrip("\n") + "\n"
    else:
        kinds = {k: sum(1 for s in steps if s.kind is k) for k in StepKind}
        statuses = {st: sum(1 for s in steps if facts(s).status == st) for st in ("stopped", "unsure")}
        moves = _plural(kinds[StepKind.MOVE] + kinds[StepKind.FROM_TEMP], "move")
        what = [moves] + [_plural(kinds[StepKind.RETIRE], "retirement")] * bool(kinds[StepKind.RETIRE])
        what.append(f"{_plural(kinds[StepKind.TO_TEMP], 'step')} to a temp port" if kinds[StepKind.TO_TEMP] else "no temp port")
        quiet = []
        if statuses["stopped"]:
            quiet.append(f"{_plural(statuses['stopped'], 'step')} of stopped services change only configuration")
        if statuses["unsure"]:
            quiet.append(f"{_plural(statuses['unsure'], 'step')} of services whose status is unsure")
        out += [
            f"**{_plural(len(steps), 'step')} in {_plural(m.waves, 'wave')} on {_plural(len(hosts), 'host')}**: "
            f"{_per_host(steps)}.",
            "",
            f"- Steps: {', '.join(what)}" + (f"; {'; '.join(quiet)}." if quiet else "."),
            f"- Window: {_plural(m.waves, 'wave')}, in order: start a wave when the one before is done on "
            "every host; inside a wave the steps run in any order, the hosts in parallel.",
        ]
        if partners:
            seen = sorted({tuple(sorted((n, *p))) for n, p in partners.items()})
            how = "same wave and host: do them together" if plan.options.pairs is PairMode.HARD else "soft pairs"
            out.append(f"- Pairs ({how}): {', '.join(' + '.join(map(str, g)) for g in seen)}.")
        proof = "proven optimal" if m.optimal else "not proven optimal"
        out += [
            f"- Plan `{md_escape(plan.strategy)}` ({proof}): {m.moves} moves (bound {m.lower_bound_moves}), "
            f"{m.waves} waves (bound {m.lower_bound_waves}); inputs, options and notes at the end.",
            "",
        ]
    # ---- before
    out += [
        "## Before you start",
        "",
        f"Run the `reorg` commands in this runbook's folder (`cd` there): the plan {md_code(plan_json_name)}, "
        "its journal and `hosts.csv` live there.",
        "",
        f"1. `reorg hosts init --plan {ref}` writes `hosts.csv` with every host: fill in each address. "
        "A host without one is probed only from itself: `--here HOST` (or `REORG_HERE`) probes it on 127.0.0.1.",
        f"2. Where the plan was made: `reorg check` lists the collisions this plan removes; if {current} "
        "changed since the plan (its sha256 is at the end), plan again.",
    ]
    if steps:
        out.append(f"3. Back up what the steps change, per host: {_backups(steps, bindings)}.")
    out += [
        "",
        f"Per step: `reorg next N --plan {ref}` shows step N, checks its new port is free and records it as "
        "started; after the change `reorg done` checks it and records it; `reorg undo` shows the rollback of "
        f"the last done step, asks, then checks and records it; `reorg status --plan {ref}` shows where you "
        "are. Steps of a wave may run in any order; undo several in reverse order. A step's Undo, where it "
        "names none: set the old port back the same way, restart the service and point its clients back.",
        "",
        "`nc -z -w 2 HOST PORT` runs on any machine that reaches HOST; `! nc ...` shows a port free only "
        "when the connection is refused: a timeout means the host was not reached. " + (_listen_help(hosts, host_os) if steps else ""),
        "",
        _CLIENTS,
        "",
    ]
    no_source = [s for s in steps if not facts(s).source]
    no_lines = edits is not None and any(not edits.get(s.step) for s in steps)
    if no_source or no_lines:
        out += ["## Where a port is configured", ""]
        if edits is not None:
            out += [
                "Each step lists the lines `reorg scan` found for it, binding lines first, then references; "
                "`reorg patch STEP` shows them as a diff and `--write` rewrites them (`--reverse` for the roll back).",
                "",
            ]
        which = "with no known line" if edits is not None and not no_source else "with no source in the table"
        out += [f"For a step {which}, change each of these that mentions the service's port:", ""]
        out += [f"- {place}" for place in _WHERE_PORTS_LIVE] + [""]
    # ---- diagram and waves
    if steps:
        arrows = step_dependencies(steps, plan.options.scope)
        out += ["## Waves and dependencies", "", render_mermaid(plan, arrows).rstrip("\n"), ""]
        caption = diagram_caption(plan, arrows)
        if caption:
            out += [caption, ""]
    origin: dict[tuple[str, str], int] = {}
    # Who holds each port as the waves run, to name the bindings a step's old port stays with
    # (a collision of the current table). No other step of a wave touches that port, so the
    # state at the start of the wave is the state after the step. Indexed by (host, port) once,
    # so a step costs the few holders of its port, never a scan of every binding (issue 8).
    holders = HolderIndex(instance, plan)
    for w, group in groupby(steps, key=lambda s: s.wave):
        members = list(group)
        out += [f"## Wave {w}: {_plural(len(members), 'step')} ({_per_host(members)})", ""]
        by_host: dict[str, list[Step]] = {}
        for s in members:
            by_host.setdefault(s.host, []).append(s)
        for host, mine in sorted(by_host.items()):
            os_name = _OS_NAMES.get(host_os.get(host, ""), "")
            out += [f"### Wave {w} on {md_escape(host)}" + (f" ({os_name})" if os_name else ""), ""]
            for s in _together(mine, partners):
                if s.kind is StepKind.TO_TEMP:
                    origin[(s.service, s.host)] = s.from_port
                f = facts(s)
                sharing = holders.others(s.host, s.from_port, s.service)
                text = describe_step(s, plan.options.scope, origin.get((s.service, s.host)), sharing, f)
                marks = [f.status] if f.status in ("stopped", "unsure") else []
                if s.step in partners:
                    marks.append("pair with " + " + ".join(map(str, partners[s.step])))
                out += [
                    f"- [ ] {short_title(s, md_escape)}" + "".join(f" · {mark}" for mark in marks),
                    f"  - Before: {text.precheck}",
                    f"  - Change: {text.change}",
                    f"  - After: {text.verify}",
                ]
                if not plain_undo(s, f):
                    out.append(f"  - Undo: {text.rollback}")
                if edits is not None:
                    out += _edit_lines(s.step, edits.get(s.step, ()))
            out.append("")
        for s in members:
            holders.move(s)
    # ---- after
    out += [
        "## After the last step",
        "",
        f"1. `reorg status --plan {ref}`: every step done; check any `unverified` step by hand.",
        f"2. Where the plan was made: `reorg state --at end --out {shell_quote(instance.current_path or 'data/current.csv')}` "
        f"(add `--plan` if its folder holds other plans) writes where the hosts are now; commit the new {current}.",
        "3. `reorg check` there reports no collision; plan the next change from the new table.",
        "",
    ]
    out += _metadata(plan, instance, plan_json_name)
    return "\n".join(out).rstrip("\n") + "\n"


def _metadata(plan: Plan, instance: Instance, plan_json_name: str) -> list[str]:
    """The runbook's last section: inputs with their hashes, options, figures, notes."""
    m = plan.metrics
    out = [
        "## Plan metadata",
        "",
        f"Strategy `{md_escape(plan.strategy)}`; plan file {md_code(plan_json_name)} (format `{PLAN_FORMAT}`). "
        "Written by `reorg plan`: change the tables and plan again rather than editing it.",
        "",
        md_table(
            ["table", "path", "sha256"],
            [
                ["current", md_escape(instance.current_path), instance.current_sha256],
                ["target", md_escape(instance.target_path), instance.target_sha256],
            ],
        ),
        "",
        "Options: " + ", ".join(
            f"{k} {'none' if v is None else md_escape(v)}" for k, v in plan.options.to_dict().items()
        ) + ".",
        "",
        md_table(
            ["figure", "plan", "lower bound"],
            [
                ["moves", str(m.moves), str(m.lower_bound_moves)],
                ["waves", str(m.waves), str(m.lower_bound_waves)],
                ["temp moves", str(m.temp_moves), ""],
                ["pairs split", str(m.pairs_split), ""],
                ["optimal", "yes" if m.optimal else "no", ""],
            ],
        ),
        "",
    ]
    if plan.notes:
        # a plan file's notes may be edited by hand: one Markdown line each, markup shown as text
        out += ["Notes:", ""] + [f"- {md_escape(note)}" for note in plan.notes] + [""]
    return out
