"""The Markdown runbook of a plan: summary, where ports live, diagram, then every wave's steps.
"""

from __future__ import annotations

from itertools import groupby

from reorg.escape import md_escape
from reorg.model import PLAN_FORMAT, Instance, Plan, Step, StepKind
from reorg.render.diagram import render_mermaid
from reorg.render.steptext import describe_step
from reorg.render.table import md_table

# Every place a port lives, listed once in full in the runbook's header.
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


_EDITS_INTRO = (
    "Each step lists the lines `reorg scan` found for it, binding lines first, then references; "
    "`reorg patch STEP` shows them as a diff and `--write` rewrites them (`--reverse` for the roll back).",
    "",
)


def _edit_lines(number: int, rows) -> list[str]:
    if not rows:
        return ["  - **Lines to edit:** none known; see \"Where a port is configured\""]
    out = [f"  - **Lines to edit** (`reorg patch {number}`):"]
    out += [f"    - `{r.file}:{r.line}` {r.kind} ({r.role.value})" for r in rows]
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


def render_runbook(plan: Plan, instance: Instance, name: str, plan_json_name: str, edits: dict | None = None) -> str:
    """The Markdown runbook: header, Mermaid diagram, then one section per wave with a task list.

    ``plan_json_name`` is the plan file as the operator passes it, e.g. ``plans/NAME.json``.
    ``edits`` (step number -> rows of a scan's references.csv) lists under each step the lines
    to edit; the generic list of places stays for steps with none.
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
        md_table(
            ["table", "path", "sha256"],
            [
                ["current", instance.current_path, instance.current_sha256],
                ["target", instance.target_path, instance.target_sha256],
            ],
        ),
        "",
        "## Options",
        "",
        md_table(
            ["option", "value"],
            [[k, "none" if v is None else str(v)] for k, v in plan.options.to_dict().items()],
        ),
        "",
        "## Metrics",
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
        *(_EDITS_INTRO if edits is not None else ()),
        "A step's **Change** means editing each of these that mentions the service's port"
        + (" (for a step with no known line):" if edits is not None else ":"),
        "",
        *[f"- {place}" for place in _WHERE_PORTS_LIVE],
        "",
    ]
    if plan.notes:
        # a plan file's notes may be edited by hand: one Markdown line each, markup shown as text
        out += ["## Notes", ""] + [f"- {md_escape(note)}" for note in plan.notes] + [""]
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
    # state at the start of the wave is the state after the step. Indexed by (host, port) once,
    # so a step costs the few holders of its port, never a scan of every binding (issue 8).
    holders = HolderIndex(instance, plan)
    for w, group in groupby(plan.steps, key=lambda s: s.wave):
        members = list(group)
        out += [f"## Wave {w} ({len(members)} {'step' if len(members) == 1 else 'steps'})", ""]
        for s in members:
            if s.kind is StepKind.TO_TEMP:
                origin[(s.service, s.host)] = s.from_port
            sharing = holders.others(s.host, s.from_port, s.service)
            text = describe_step(s, scope, origin.get((s.service, s.host)), sharing)
            out += [
                f"- [ ] {text.title}",
                f"  - **Check first:** {text.precheck}",
                f"  - **Change:** {text.change}",
                f"  - **Verify:** {text.verify}",
                f"  - **Roll back:** {text.rollback}",
            ]
            if edits is not None:
                out += _edit_lines(s.step, edits.get(s.step, ()))
        for s in members:
            holders.move(s)
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
