"""The runbook's Mermaid diagram: a node per step and an arrow per dependency, or, for big plans,
a node per wave or band of waves.
"""

from __future__ import annotations

import math
from itertools import groupby

from reorg.escape import mermaid_label
from reorg.model import Plan, Scope, Step, StepKind
from reorg.render.steptext import port_change

# Above this many steps a node per step is unreadable (and GitHub refuses big Mermaid
# diagrams), so the runbook draws one node per wave instead, or per band of waves.
DIAGRAM_MAX_STEPS = 200
DIAGRAM_MAX_EDGES = 400
DIAGRAM_MAX_NODES = 40


def step_dependencies(steps: tuple[Step, ...], scope: Scope) -> dict[tuple[int, int], bool]:
    """Arrows (A, B) -> is_temp_link: B binds a port A left in an earlier wave, so B waits for A.

    A to-temp step also points at its from-temp step (``True``). Under host scope a port that is
    bound again forgets who left it before: the new holder's own leave is what counts.
    """
    def key(host: str, port: int) -> tuple[str, int]:
        return (host, port) if scope is Scope.HOST else ("*", port)

    # port key -> binding (service, host) -> the step number at which it last left that port
    left: dict[tuple[str, int], dict[tuple[str, str], int]] = {}
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


def _kind_counts(steps: list[Step]) -> str:
    counts = [(k, sum(1 for s in steps if s.kind is k)) for k in StepKind]
    return ", ".join(f"{c} {k.value}" for k, c in counts if c)


def node_label(step: Step) -> str:
    """``s36 mana-media on dev: 3015 → 3011``: one line of plain text, starting with the node's id.

    Never ``36. ...``: Mermaid 11.0-11.9 reads a label that looks like a Markdown list item as one
    and draws "Unsupported markdown: list" instead of the text."""
    return f"s{step.step} {step.service} on {step.host}: {port_change(step)}"


def render_mermaid(plan: Plan, arrows: dict[tuple[int, int], bool] | None = None) -> str:
    """A ```mermaid flowchart of the waves and who waits for whom (compact for big plans).

    Up to ``DIAGRAM_MAX_STEPS`` steps: a subgraph per wave holding a node for each step that
    waits or is waited for, and one node counting the wave's other steps. Above: a node per wave,
    or per band of waves, with the number of arrows between them. Labels are plain text in quotes
    (``mermaid_label``), so they render alike in every Mermaid version. ``arrows`` are the
    plan's ``step_dependencies`` when the caller has them already.
    """
    steps = plan.steps
    lines = ["```mermaid", "flowchart LR"]
    if not steps:
        lines += ['  done["no steps: every binding is already on its target port"]', "```"]
        return "\n".join(lines) + "\n"
    if arrows is None:
        arrows = step_dependencies(steps, plan.options.scope)
    waves: dict[int, list[Step]] = {}
    for s in steps:
        waves.setdefault(s.wave, []).append(s)
    if len(steps) <= DIAGRAM_MAX_STEPS and len(arrows) <= DIAGRAM_MAX_EDGES:
        linked = {n for pair in arrows for n in pair}
        for w, members in sorted(waves.items()):
            lines.append(f"  subgraph w{w}[{mermaid_label(f'Wave {w}')}]")
            shown = [s for s in members if s.step in linked]
            for s in shown:
                lines.append(f"    s{s.step}[{mermaid_label(node_label(s))}]")
            rest = len(members) - len(shown)
            if rest:
                more = "more " if shown else ""
                text = f"and {rest} {more}{'step that waits' if rest == 1 else 'steps that wait'} for no step"
                lines.append(f"    w{w}x[{mermaid_label(text)}]")
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
            text = f"{name}: {len(members)} {noun} ({_kind_counts(members)})"
            lines.append(f"  b{band}[{mermaid_label(text)}]")
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


def diagram_caption(plan: Plan, arrows: dict[tuple[int, int], bool] | None = None) -> str:
    """What the diagram's arrows mean, naming only the kinds of arrow it draws ('' for none)."""
    if arrows is None:
        arrows = step_dependencies(plan.steps, plan.options.scope)
    if not arrows:
        return ""
    banded = len(plan.steps) > DIAGRAM_MAX_STEPS or len(arrows) > DIAGRAM_MAX_EDGES
    if banded:
        return "An arrow A → B (with a count) means steps of B bind ports that steps of A free, so B waits for A."
    text = "An arrow A → B means B binds a port that A frees, so B waits for A."
    if any(arrows.values()):
        text += " A dotted arrow joins a to-temp step to its from-temp step."
    return text
