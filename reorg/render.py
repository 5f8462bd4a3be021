"""Text for people and machines: check reports, runbooks, plan JSON, comparison and journal tables.

Functions return strings; only the CLI prints them. This is the only module that uses tabulate.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import groupby

from tabulate import tabulate  # noqa: F401  (used by every section below)

from reorg.check import CheckReport
from reorg.model import PLAN_FORMAT, Candidate, Compared, Instance, Plan, Scope, Step, StepKind
from reorg.probe import Outcome as ExecOutcome  # execute (issue 5)

# ---- check (issue 2) -------------------------------------------------------------------------


def render_check_json(report: CheckReport) -> str:
    """The check report as JSON: stable order, sorted keys, a format version."""
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _count(n: int, noun: str, plural: str = "s") -> str:
    """``1 service``, ``2 services``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}{plural}"


def render_check(report: CheckReport) -> str:
    """The check report for people: one tabulate table per finding, then the summary."""
    scope = report.scope.value
    ranges = report.ranges_path or "none (range checks skipped)"
    out = [
        f"reorg check: {report.current_path} against {report.target_path}",
        f"ranges: {ranges}; scope: {scope}; pair digits: {report.pair_digits}",
    ]

    def section(title: str, count: int, headers: list[str], rows: list[list], note: str = "") -> None:
        out.append("")
        out.append(f"{title}: {count}" + (f" ({note})" if note else ""))
        if rows:
            out.append(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))

    def with_status(service: str, status: str) -> str:
        return f"{service} ({status})" if status else service

    section(
        "Collisions now (several services on one port of one host)",
        len(report.collisions),
        ["host", "port", "services"],
        [
            [c.host, c.port, ", ".join(with_status(s, st) for s, st in c.holders)]
            for c in report.collisions
        ],
        "problems",
    )
    section(
        "Ports shared now by different services on different hosts",
        len(report.shared_ports),
        ["port", "held by"],
        [[s.port, ", ".join(f"{svc}@{h}" for h, svc in s.holders)] for s in report.shared_ports],
        "problems under --scope global" if report.shared_ports_are_problems
        else "informational under --scope host",
    )
    section(
        f"Target conflicts (the target cannot be reached, scope {scope})",
        len(report.conflicts),
        ["kind", "host", "port", "detail"],
        [[c.kind, c.host, c.port, c.message] for c in report.conflicts],
        "problems",
    )
    section(
        "Reservations taken by another service",
        len(report.reservations_taken),
        ["host", "port", "detail"],
        [[c.host, c.port, c.message] for c in report.reservations_taken],
        "problems",
    )
    section(
        "Target ports outside their category's range",
        len(report.out_of_range),
        ["line", "service", "host", "port", "category", "range"],
        [
            [o.line, o.service, o.host or "(every host)", o.port, o.category,
             ", ".join(f"{lo}-{hi}" for lo, hi in o.ranges)]
            for o in report.out_of_range
        ],
        "problems" if report.ranges_path else "not judged: no ranges",
    )
    section(
        f"Pairs in the final state (50xx frontend and 30xx backend share the last "
        f"{'digit' if report.pair_digits == 1 else f'{report.pair_digits} digits'})",
        len(report.pairs),
        ["host", "frontend", "port", "backend", "port", "verdict"],
        [[p.host, p.frontend, p.frontend_port, p.backend, p.backend_port, p.verdict]
         for p in report.pairs],
        f"{len(report.pair_mismatches)} mismatched",
    )
    section(
        "Services with no target row (they keep their ports)",
        len(report.untargeted),
        ["service", "bindings"],
        [[u.service, ", ".join(f"{h}:{p}" for h, p in u.bindings)] for u in report.untargeted],
        "informational",
    )
    out.append("")
    out.append("Summary")
    out.append(
        tabulate(
            [
                ["bindings", f"{report.bindings} ({_count(report.services, 'service')} on "
                             f"{_count(report.hosts, 'host')})"],
                ["target rows", report.target_rows],
                ["goals", f"{report.moving} move, {report.retiring} retire, "
                          f"{report.bindings - report.moving - report.retiring} keep"],
                ["reservations", report.reservations],
                ["current problems", f"{report.current_problems} ({len(report.collisions)} collisions, "
                                     f"{len(report.shared_ports)} shared ports"
                                     f"{'' if report.shared_ports_are_problems else ' not counted'})"],
                ["target problems", f"{report.target_problems} ({_count(len(report.conflicts), 'conflict')}, "
                                    f"{_count(len(report.reservations_taken), 'reservation')} taken, "
                                    f"{len(report.out_of_range)} out of range, "
                                    f"{_count(len(report.pair_mismatches), 'pair mismatch', 'es')})"],
                ["no target row", f"{_count(len(report.untargeted), 'service')} (informational)"],
            ],
            tablefmt="plain",
            disable_numparse=True,
        )
    )
    out.append("")
    if report.problems:
        out.append(f"{report.problems} problem(s) found.")  # tests and scripts match this line
    else:
        out.append("No problems found.")
    return "\n".join(out) + "\n"



# ---- plan: runbook Markdown and plan JSON (issue 3) ------------------------------------------

# Above this many steps a node per step is unreadable (and GitHub refuses big Mermaid
# diagrams), so the runbook draws one node per wave instead, or per band of waves.
DIAGRAM_MAX_STEPS = 200
DIAGRAM_MAX_EDGES = 400
DIAGRAM_MAX_NODES = 40

# Where a port lives in a managarten service (the inventory README's list), kept generic: the
# step text names the kinds of place, and the runbook's header lists them once in full.
_PORT_PLACES = (
    "its port setting (env `PORT`, compose `\"host:container\"` mapping and healthcheck, "
    "Dockerfile, launchd plist or Scheduled Task)"
)
_CLIENTS = (
    "its clients (other services' `*_URL`, prometheus and cloudflared targets, client "
    "fallbacks, docs)"
)
_WHERE_PORTS_LIVE = (
    "Compose file: the service's `PORT`, its `\"host:container\"` mapping, healthcheck URL and "
    "traefik `loadbalancer.server.port` label, and every other service's `*_URL` that names it.",
    "Source defaults (`src/config.ts`, `main.ts`, `config.go`, `app/main.py`, ...), "
    "`.env.example` and the service's CLAUDE.md.",
    "Dockerfile: `EXPOSE`, `ENV PORT=`, `CMD ... --port` and the `HEALTHCHECK` URL.",
    "Start scripts: launchd plists, start.sh and setup scripts; on windows-gpu the Scheduled "
    "Task's .env and the firewall rule.",
    "Prometheus targets, cloudflared routes, `.env.development` and dev scripts.",
    "Clients: fallback URLs in apps and shared packages, ops scripts, CI health checks and docs "
    "(PORT_SCHEMA.md and friends).",
)


@dataclass(frozen=True)
class StepText:
    """The checklist of one step, shared by the runbook and ``reorg next``. Markdown inline text."""

    title: str
    precheck: str
    change: str
    verify: str
    rollback: str


def step_title(step: Step) -> str:
    """``3. mana-search on dev: 3021 → 3012``, marking temp ports and retirements."""
    head = f"{step.step}. {step.service} on {step.host}: "
    if step.kind is StepKind.RETIRE:
        return head + f"retire {step.from_port} (stop it; frees the port)"
    if step.kind is StepKind.TO_TEMP:
        return head + f"{step.from_port} → {step.to_port} (temp)"
    if step.kind is StepKind.FROM_TEMP:
        return head + f"{step.from_port} (temp) → {step.to_port}"
    return head + f"{step.from_port} → {step.to_port}"


def describe_step(
    step: Step, scope: Scope, original_port: int | None = None, sharing: tuple[str, ...] = ()
) -> StepText:
    """What to check, change, verify and roll back for one step.

    ``original_port`` is, for a from-temp step, the port its to-temp step left; it only makes
    the roll-back text name it. ``sharing`` names the services that still hold the step's old
    port on its host after it (a collision of the current table): ``! nc -z`` cannot show that
    port free then, so the verify text says how to check the service itself instead.
    """
    svc, host, old, new, n = step.service, step.host, step.from_port, step.to_port, step.step
    done = f"or `reorg done {n}`, which runs these probes and records the step"
    # A port shared with a binding that stays: nc would answer for the other service.
    gone = (
        f"port {old} stays held by {', '.join(sharing)}, so `! nc -z` cannot show it free: check "
        f"that {svc} no longer listens on it (e.g. `lsof -nP -iTCP:{old} -sTCP:LISTEN` on {host})"
        if sharing else ""
    )
    if step.kind is StepKind.RETIRE:
        return StepText(
            title=step_title(step),
            precheck="Nothing to check: a retirement binds no port.",
            change=(
                f"Stop {svc} on {host} and disable it so it stays down (remove its compose "
                f"service, unload its launchd plist or disable its Scheduled Task); then remove "
                f"port {old} from {_CLIENTS}."
            ),
            verify=(
                f"{gone[0].upper()}{gone[1:]}; or `reorg done {n}`, which records the step." if sharing
                else f"`! nc -z {host} {old}` (port {old} is free), {done}."
            ),
            rollback=(
                f"Re-enable {svc} on {host}, start it on port {old} and restore its clients' "
                f"references (`reorg undo`)."
            ),
        )
    where = (
        f"{new} is free on {host}"
        if scope is Scope.HOST
        else f"{new} is free on {host}, and no other service holds {new} on any host"
    )
    precheck = f"`! nc -z {host} {new}` ({where}), or `reorg next`, which runs this check."
    verify = (
        f"`nc -z {host} {new}` (the new port answers); {gone}; or `reorg done {n}`, which probes "
        f"the new port and records the step." if sharing
        else f"`nc -z {host} {new} && ! nc -z {host} {old}` (the new port answers, the old one is "
        f"free), {done}."
    )
    if step.kind is StepKind.TO_TEMP:
        change = (
            f"Set {svc}'s port on {host} from {old} to temp port {new} in {_PORT_PLACES}; "
            f"restart it. A later from-temp step moves it to its final port, so change only what "
            f"it runs with, not source defaults or docs; point clients that must keep working at "
            f"{new} meanwhile."
        )
        rollback = (
            f"Set the port back from temp {new} to {old}, restart, and point the clients you moved "
            f"back at {old} (`reorg undo`)."
        )
    elif step.kind is StepKind.FROM_TEMP:
        before = f"its original port {original_port}" if original_port else "its original port"
        change = (
            f"Set {svc}'s port on {host} from temp port {old} to {new} in {_PORT_PLACES}; "
            f"restart it; then point {_CLIENTS} at {new}."
        )
        rollback = (
            f"Set the port back from {new} to temp {old}, restart, and point its clients back at "
            f"{old} (`reorg undo`); undoing its to-temp step as well returns it to {before}."
        )
    else:
        change = (
            f"Set {svc}'s port on {host} from {old} to {new} in {_PORT_PLACES}; restart it; "
            f"then point {_CLIENTS} at {new}."
        )
        rollback = (
            f"Set the port back from {new} to {old} in the same places, restart, and point its "
            f"clients back at {old} (`reorg undo`)."
        )
    return StepText(step_title(step), precheck, change, verify, rollback)


def step_dependencies(steps: tuple[Step, ...], scope: Scope) -> dict[tuple[int, int], bool]:
    """Arrows (A, B) -> is_temp_link: B binds a port A left in an earlier wave, so B waits for A.

    A to-temp step also points at its from-temp step (``True``). Under host scope a port that is
    bound again forgets who left it before: the new holder's own leave is what counts.
    """
    def key(host: str, port: int) -> tuple:
        return (host, port) if scope is Scope.HOST else ("*", port)

    # port key -> binding (service, host) -> the step number at which it last left that port
    left: dict[tuple, dict[tuple[str, str], int]] = {}
    to_temp: dict[tuple[str, str], int] = {}
    arrows: dict[tuple[int, int], bool] = {}
    ordered = sorted(steps, key=lambda s: s.step)
    for _, group in groupby(ordered, key=lambda s: s.wave):
        wave = list(group)
        for b in wave:
            if b.kind is StepKind.FROM_TEMP and (b.service, b.host) in to_temp:
                arrows[(to_temp[(b.service, b.host)], b.step)] = True
            if b.to_port is None:
                continue
            for (service, host), a in left.get(key(b.host, b.to_port), {}).items():
                if (service, host) == (b.service, b.host):
                    continue
                if scope is Scope.GLOBAL and service == b.service:
                    continue  # a service's own bindings never block it
                arrows.setdefault((a, b.step), False)
        for s in wave:
            if s.to_port is not None and scope is Scope.HOST:
                left.pop(key(s.host, s.to_port), None)
        for s in wave:
            left.setdefault(key(s.host, s.from_port), {})[(s.service, s.host)] = s.step
            if s.kind is StepKind.TO_TEMP:
                to_temp[(s.service, s.host)] = s.step
    return dict(sorted(arrows.items()))


def _mermaid_label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _kind_counts(steps: list[Step]) -> str:
    counts = [(k, sum(1 for s in steps if s.kind is k)) for k in StepKind]
    return ", ".join(f"{c} {k.value}" for k, c in counts if c)


def render_mermaid(plan: Plan) -> str:
    """A ```mermaid flowchart of the waves and who waits for whom (compact for big plans)."""
    steps = plan.steps
    lines = ["```mermaid", "flowchart LR"]
    if not steps:
        lines += ['  done["no steps: every binding is already on its target port"]', "```"]
        return "\n".join(lines) + "\n"
    arrows = step_dependencies(steps, plan.options.scope)
    waves: dict[int, list[Step]] = {}
    for s in steps:
        waves.setdefault(s.wave, []).append(s)
    if len(steps) <= DIAGRAM_MAX_STEPS and len(arrows) <= DIAGRAM_MAX_EDGES:
        for w, members in sorted(waves.items()):
            lines.append(f"  subgraph w{w}[{_mermaid_label(f'Wave {w}')}]")
            for s in members:
                label = step_title(s).replace(f" on {s.host}: ", f" on {s.host}<br/>", 1)
                lines.append(f"    s{s.step}[{_mermaid_label(label)}]")
            lines.append("  end")
        for (a, b), temp in arrows.items():
            lines.append(f"  s{a} {'-.->' if temp else '-->'} s{b}")
    else:
        # One node per band of consecutive waves (a band is one wave unless there are many).
        numbers = sorted(waves)
        size = math.ceil(len(numbers) / DIAGRAM_MAX_NODES)
        band_of = {w: i // size for i, w in enumerate(numbers)}
        bands: dict[int, list[int]] = {}
        for w in numbers:
            bands.setdefault(band_of[w], []).append(w)
        for band, ws in sorted(bands.items()):
            members = [s for w in ws for s in waves[w]]
            name = f"Wave {ws[0]}" if len(ws) == 1 else f"Waves {ws[0]}-{ws[-1]}"
            noun = "step" if len(members) == 1 else "steps"
            text = f"{name}<br/>{len(members)} {noun}: {_kind_counts(members)}"
            lines.append(f"  b{band}[{_mermaid_label(text)}]")
        wave_of = {s.step: s.wave for s in steps}
        links: dict[tuple[int, int], int] = {}
        for a, b in arrows:
            ba, bb = band_of[wave_of[a]], band_of[wave_of[b]]
            if ba != bb:
                links[(ba, bb)] = links.get((ba, bb), 0) + 1
        for (ba, bb), count in sorted(links.items()):
            lines.append(f"  b{ba} -->|{count}| b{bb}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def render_runbook(plan: Plan, instance: Instance, name: str, plan_json_name: str) -> str:
    """The Markdown runbook: header, Mermaid diagram, then one section per wave with a task list.

    ``plan_json_name`` is the plan file as the operator passes it, e.g. ``plans/NAME.json``.
    Deterministic: no dates and no timings, so the same plan gives the same bytes.
    """
    m = plan.metrics
    scope = plan.options.scope
    out: list[str] = [
        f"# Runbook: {name}",
        "",
        f"Strategy `{plan.strategy}`; plan file `{plan_json_name}` (format `{PLAN_FORMAT}`). "
        "Written by `reorg plan`: change the tables and plan again rather than editing it.",
        "",
        "## Inputs",
        "",
        _md_table(
            ["table", "path", "sha256"],
            [
                ["current", instance.current_path, instance.current_sha256],
                ["target", instance.target_path, instance.target_sha256],
            ],
        ),
        "",
        "## Options",
        "",
        _md_table(
            ["option", "value"],
            [[k, "none" if v is None else str(v)] for k, v in plan.options.to_dict().items()],
        ),
        "",
        "## Metrics",
        "",
        _md_table(
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
        "## How to execute",
        "",
        "Run the steps in order, one at a time; steps of one wave may run in any order. "
        "To roll back several steps, undo them in reverse order. "
        "The commands run from the folder that holds this runbook and its plan file (`cd` there "
        "first); the journal and the optional `hosts.csv` (host,address) live there too.",
        "",
        "```sh",
        f"reorg status --plan {plan_json_name}   # where you are and what comes next",
        f"reorg next --plan {plan_json_name}     # the next step's checklist; checks its new port is free",
        f"reorg done --plan {plan_json_name}     # after the change: probes the ports, records the step",
        f"reorg undo --plan {plan_json_name}     # shows and records the reverse of the last done step",
        "```",
        "",
        "The `nc` commands below name hosts as the tables do; use the address from `hosts.csv` "
        "where a name does not resolve.",
        "",
        "## Where a port is configured",
        "",
        "A step's **Change** means editing each of these that mentions the service's port:",
        "",
        *[f"- {place}" for place in _WHERE_PORTS_LIVE],
        "",
    ]
    if plan.notes:
        out += ["## Notes", ""] + [f"- {note}" for note in plan.notes] + [""]
    out += [
        "## Waves and dependencies",
        "",
        render_mermaid(plan).rstrip("\n"),
        "",
        "An arrow A → B means B binds a port that A frees, so B waits for A; a dotted arrow "
        "joins a to-temp step to its from-temp step.",
        "",
    ]
    if not plan.steps:
        out += ["Nothing to do: every binding is already on its target port.", ""]
    origin: dict[tuple[str, str], int] = {}
    # Who holds each port as the waves run, to name the bindings a step's old port stays with
    # (a collision of the current table). No other step of a wave touches that port, so the
    # state at the start of the wave is the state after the step.
    state: dict[tuple[str, str], int | None] = {b.key: b.port for b in instance.bindings}
    for s in plan.steps:
        state.setdefault((s.service, s.host), s.from_port)
    for w, group in groupby(plan.steps, key=lambda s: s.wave):
        members = list(group)
        out += [f"## Wave {w} ({len(members)} {'step' if len(members) == 1 else 'steps'})", ""]
        for s in members:
            if s.kind is StepKind.TO_TEMP:
                origin[(s.service, s.host)] = s.from_port
            sharing = tuple(sorted(
                svc for (svc, host), port in state.items()
                if host == s.host and port == s.from_port and (svc, host) != (s.service, s.host)
            ))
            text = describe_step(s, scope, origin.get((s.service, s.host)), sharing)
            out += [
                f"- [ ] {text.title}",
                f"  - **Check first:** {text.precheck}",
                f"  - **Change:** {text.change}",
                f"  - **Verify:** {text.verify}",
                f"  - **Roll back:** {text.rollback}",
            ]
        for s in members:
            state[(s.service, s.host)] = s.to_port
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_plan_summary(plan: Plan, seconds: float, paths) -> str:
    """The few lines ``reorg plan`` prints: figures beside bounds, and the files written."""
    m = plan.metrics
    rows = [
        ["moves", m.moves, m.lower_bound_moves],
        ["waves", m.waves, m.lower_bound_waves],
        ["temp moves", m.temp_moves, ""],
        ["pairs split", m.pairs_split, ""],
    ]
    lines = [
        f"{plan.strategy} plan: {'proven optimal' if m.optimal else 'not proven optimal'}, "
        f"verified, solved in {seconds:.2f} s",
        tabulate(rows, headers=["", "plan", "lower bound"], tablefmt="simple"),
    ]
    lines += [f"note: {n}" for n in plan.notes]
    lines += [f"wrote {p}" for p in paths]
    return "\n".join(lines)


# ---- compare (issue 4) -----------------------------------------------------------------------


def _compare_row(r: Compared) -> dict:
    m = r.plan.metrics
    return {
        "plan": r.label,
        "strategy": r.plan.strategy,
        "objective": _objective_of(r),
        "cap": r.cap,
        "moves": m.moves,
        "temp_moves": m.temp_moves,
        "waves": m.waves,
        "moves_gap": m.moves - m.lower_bound_moves,
        "waves_gap": m.waves - m.lower_bound_waves,
        "pairs_split": m.pairs_split,
        "optimal": m.optimal,
        "front": r.on_front,
        "seconds": round(r.seconds, 3),
    }


def _objective_of(r: Compared) -> str:
    return {
        Candidate.GREEDY: "sequential",
        Candidate.CPSAT_MOVES: "moves, waves",
        Candidate.CPSAT_WAVES: "waves, moves",
        Candidate.PARETO: f"moves within {r.plan.metrics.waves} waves",
    }[r.candidate]


def render_compare(rows: tuple[Compared, ...]) -> str:
    """The comparison table; ``*`` marks the moves-versus-waves front (per cap)."""
    table = []
    for r in rows:
        d = _compare_row(r)
        table.append([
            d["plan"], d["objective"], "-" if d["cap"] is None else d["cap"], d["moves"],
            d["temp_moves"], d["waves"], f"+{d['moves_gap']}", f"+{d['waves_gap']}",
            d["pairs_split"], "yes" if d["optimal"] else "no", "*" if d["front"] else "",
            float(d["seconds"]),
        ])
    headers = ["plan", "objective", "cap", "moves", "temp", "waves", "moves-lb", "waves-lb",
               "split", "optimal", "front", "seconds"]
    return tabulate(table, headers=headers, tablefmt="simple", floatfmt=".2f") + "\n"


def render_compare_json(rows: tuple[Compared, ...]) -> str:
    return json.dumps([_compare_row(r) for r in rows], indent=2, sort_keys=True) + "\n"


def explain_trade(r: Compared, rows: tuple[Compared, ...]) -> str:
    """One line saying what a plan trades, against the fewest-moves plan of the same cap."""
    m = r.plan.metrics
    base = min(
        (x.plan.metrics for x in rows if x.cap == r.cap),
        key=lambda x: (x.moves, x.waves),
    )
    if r.candidate is Candidate.GREEDY:
        return (f"one step per wave (a hard pair's arrivals share one): {m.moves} moves over {m.waves} "
                f"waves; the baseline and the CP-SAT hint")
    extra, saved = m.moves - base.moves, base.waves - m.waves
    if extra == 0 and saved == 0:
        return (f"fewest moves ({m.moves}, bound {m.lower_bound_moves}) in {m.waves} waves "
                f"(bound {m.lower_bound_waves}): each binding that changes moves once, no temp port")
    if extra > 0 and saved > 0:
        return f"{extra} extra temp move(s) save {saved} wave(s): {m.moves} moves in {m.waves} waves"
    return f"{m.moves} moves in {m.waves} waves ({extra:+d} moves, {-saved:+d} waves against the fewest-moves plan)"


def render_compare_markdown(rows: tuple[Compared, ...], instance: Instance) -> str:
    """compare.md: the table, the front, and one line per plan on what it trades."""
    lines = [
        "# Plan comparison",
        "",
        f"Inputs: `{instance.current_path}` (sha256 `{instance.current_sha256}`), "
        f"`{instance.target_path}` (sha256 `{instance.target_sha256}`). Every plan below passed the verifier.",
        "",
        "```",
        render_compare(rows).rstrip("\n"),
        "```",
        "",
        "## Moves versus waves",
        "",
    ]
    for cap in dict.fromkeys(r.cap for r in rows):
        front = sorted({(r.plan.metrics.waves, r.plan.metrics.moves) for r in rows if r.cap == cap and r.on_front})
        title = "no cap" if cap is None else f"--max-per-wave {cap}"
        if len(front) >= 2:
            lines += [f"Front ({title}): fewer waves cost more moves.", ""]
        else:
            lines += [f"Front ({title}): a single point: the fewest moves and the fewest waves at once.", ""]
        lines += [_md_table(["waves", "moves"], [[str(w), str(mv)] for w, mv in front]), ""]
        if len(front) >= 2:
            lines += [
                "```mermaid",
                "xychart-beta",
                f'    title "Moves against waves ({title})"',
                f"    x-axis \"waves\" [{', '.join(str(w) for w, _ in front)}]",
                f"    y-axis \"moves\" {min(mv for _, mv in front) - 1} --> {max(mv for _, mv in front) + 1}",
                f"    line [{', '.join(str(mv) for _, mv in front)}]",
                "```",
                "",
            ]
    lines += ["## What each plan trades", ""]
    lines += [f"- `{r.label}`: {explain_trade(r, rows)}" for r in rows]
    lines += ["", "Execute any of them: `reorg status --plan <label>.json` from this folder.", ""]
    return "\n".join(lines)


# ---- execute: status, next, history (issue 5) ------------------------------------------------


def render_execution_json(report) -> str:
    """Any execute report (status, step, history) as JSON: sorted keys, one trailing newline.

    A step report (next, done, undo) also carries the step's checklist, as the text shows it, so
    ``next --json`` says what to change, verify and roll back; ``null`` when there is no step.
    """
    data = report.to_dict()
    if "action" in data:
        step = report.step
        text = (
            describe_step(step, report.scope, sharing=_sharing(step, report.position))
            if isinstance(step, Step) else None
        )
        data["checklist"] = None if text is None else {
            "title": text.title,
            "precheck": text.precheck,
            "change": text.change,
            "verify": text.verify,
            "rollback": text.rollback,
        }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _change(step: Step, reverse: bool = False) -> str:
    old, new = step.from_port, "retired" if step.to_port is None else step.to_port
    return f"{new} → {old}" if reverse else f"{old} → {new}"


def _step_numbers(steps, limit: int = 12) -> str:
    """``2, 3, 4`` or, for a long wave, ``2, 3, ... (31 in all)``."""
    numbers = [str(step.step) for step in steps]
    if len(numbers) <= limit:
        return ", ".join(numbers)
    return ", ".join(numbers[:limit]) + f", ... ({len(numbers)} in all)"


def _checks_table(checks) -> str:
    rows = [[c.phase, c.what, c.outcome.value, c.detail] for c in checks]
    return tabulate(rows, headers=["phase", "check", "result", "detail"], tablefmt="simple", disable_numparse=True)


def _check_summary(checks) -> str:
    if not checks:
        return "-"
    counts = [(o, sum(1 for c in checks if c.outcome is o)) for o in ExecOutcome]
    return ", ".join(f"{n} {o.value}" for o, n in counts if n)


def render_status(report) -> str:
    """``reorg status`` for people: a two-column summary, then notices."""
    done = len(report.position.done)
    nxt, last, dirty = report.next, report.last_done, report.dirty
    if not report.total:
        progress = "the plan has no steps: every binding is already on its target port"
    elif report.finished:
        progress = f"all {report.total} steps done"
    else:
        progress = f"{done} of {report.total} steps done; wave {nxt.wave} of {report.waves} is open"
    if dirty is not None:
        next_text = f"blocked until step {dirty.step} is retried, undone or forced"
    elif nxt is None:
        next_text = "-"
    else:
        others = [s for s in report.open if s.step != nxt.step]
        next_text = step_title(nxt) + (f"  (also open in wave {nxt.wave}: {_step_numbers(others)})" if others else "")
    noun = "event" if report.events == 1 else "events"
    journal = f"{report.journal_path.as_posix()} ({report.events} {noun})" if report.journal_exists else (
        f"{report.journal_path.as_posix()} (not started: the first `reorg done` creates it)"
    )
    rows = [
        ["plan", f"{report.plan_path.as_posix()} (sha256 {report.plan_sha256[:12]})"],
        ["journal", journal],
        ["progress", progress],
        ["last done", step_title(last) if last else "-"],
        ["next", next_text],
        ["failed", step_title(dirty) if dirty else "-"],
        ["lock", report.lock.describe() if report.lock else "-"],
    ]
    out = [tabulate(rows, tablefmt="plain", disable_numparse=True)]
    if dirty is not None:
        for check in report.dirty_checks:
            out.append(f"  failed check: {check.what} ({check.detail})")
        n = dirty.step
        out.append(
            f"Step {n} is dirty: fix it and run `reorg done {n}`, roll it back and run `reorg undo`, "
            f"or record it with `reorg done {n} --force`."
        )
    elif report.lock is not None and (report.lock.pid is None or report.lock.alive() is False):
        out.append("The lock looks stale: the next `reorg done` or `reorg undo` needs --force-unlock.")
    elif report.lock is not None and report.lock.alive() is None:
        out.append(
            f"Check on {report.lock.host} whether pid {report.lock.pid} still runs; only if it does not, "
            "the next `reorg done` or `reorg undo` needs --force-unlock."
        )
    elif nxt is not None:
        out.append("Run `reorg next` for the next step's checklist.")
    out += [f"note: {notice}" for notice in report.notices]
    return "\n".join(out) + "\n"


def _sharing(step: Step, position) -> tuple[str, ...]:
    """Services other than the step's own that hold its old port on its host at ``position``."""
    return tuple(sorted(
        service for (service, host), port in position.state_dict().items()
        if host == step.host and port == step.from_port and (service, host) != (step.service, step.host)
    ))


def render_step_report(report) -> str:
    """``reorg next``, ``done`` and ``undo``: the step's checklist, its checks, what to do next."""
    out: list[str] = []
    step = report.step
    if step is not None:
        text = describe_step(step, report.scope, sharing=_sharing(step, report.position))
        if report.action == "next":
            out.append(f"Step {step.step} of {report.total}, wave {step.wave}: {text.title}")
            if report.also:
                out.append(f"Also open in wave {step.wave}, any order: {_step_numbers(report.also)}")
            out += ["", f"Change:    {text.change}", f"Verify:    {text.verify}", f"Roll back: {text.rollback}"]
        elif report.action in ("undo", "undo-preview"):
            out.append(f"Undo step {step.step}: {step.service} on {step.host}: {_change(step, reverse=True)}")
            if report.action == "undo-preview":
                out += ["", f"Roll back: {text.rollback}"]
        else:
            out.append(f"Step {step.step} of {report.total}, wave {step.wave}: {text.title}")
        if report.checks:
            out += ["", _checks_table(report.checks)]
    out += ["", report.advice]
    out += [f"note: {notice}" for notice in report.notices]
    return "\n".join(out).lstrip("\n") + "\n"


def render_history(report) -> str:
    """``reorg history``: the journal as a table, oldest event first."""
    if not report.events:
        return f"{report.journal_path.as_posix()}: no events yet (the first `reorg done` starts the journal)\n"
    rows = []
    for event in report.events:
        step = report.step(event.step)
        reverse = event.event.value == "undone"
        rows.append([
            event.seq,
            event.time,
            event.event.value,
            event.step,
            step.wave if step else "?",
            f"{step.service}@{step.host}" if step else "?",
            _change(step, reverse) if step else "?",
            _check_summary(event.checks),
            "yes" if event.forced else "",
        ])
    headers = ["seq", "time", "event", "step", "wave", "binding", "change", "checks", "forced"]
    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True) + "\n"


def render_reset(journal_path, backup) -> str:
    if backup is None:
        return f"{journal_path.as_posix()}: no journal to move aside; the next `reorg done` starts one\n"
    return (
        f"moved {journal_path.as_posix()} to {backup.as_posix()}; "
        "the next `reorg done` starts a new journal at step 1\n"
    )


def render_reset_json(journal_path, backup) -> str:
    data = {"journal": journal_path.as_posix(), "backup": backup.as_posix() if backup else None}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
