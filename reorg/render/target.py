"""Text of ``reorg target`` and ``reorg port``: the target CSV, the decision report, the port line."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING

from reorg.model import TargetRow
from reorg.render.table import text_table
from reorg.targeting import TARGET_COLUMNS, Figures

if TYPE_CHECKING:  # annotations only: render never calls into commands
    from reorg.commands.target import PortChoice, TargetRun


def render_target_csv(rows: tuple[TargetRow, ...]) -> str:
    """target.csv text: the pins as they were, then the computed rows (LF, minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TARGET_COLUMNS)
    for t in rows:
        writer.writerow([t.service, "" if t.port is None else t.port, t.host or "", t.category, t.pair, t.note])
    return buffer.getvalue()


def _figure_rows(f: Figures, other: Figures | None = None) -> list[list[object]]:
    def both(name: str, value: object, ref: object) -> list[object]:
        return [name, value] + ([ref] if other is not None else [])

    g = other
    return [
        both("changed bindings", f.changed, g and g.changed),
        both("weighted changes", f.weighted_changes, g and g.weighted_changes),
        both("retired", f.retired, g and g.retired),
        both("pairs matching their digit(s)", f"{f.matched} of {f.pairs}", g and f"{g.matched} of {g.pairs}"),
        both("pair mismatches check reports", f.judged_mismatches, g and g.judged_mismatches),
        both("ports in their range", f"{f.in_range} of {f.ranged}", g and f"{g.in_range} of {g.ranged}"),
        both("services on 2+ ports", f.multi_port_services, g and g.multi_port_services),
    ]


def render_target_report(run: TargetRun) -> str:
    """Every decision, then the figures (beside the --against target's, if given)."""
    r = run.result
    counts: dict[str, int] = {}
    for d in r.decisions:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    status = "proven optimal" if r.proven else "best found within the time limit (not proven)"
    lines = [
        f"reorg target: {len(r.decisions)} binding(s) on {len({d.host for d in r.decisions})} host(s): "
        + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())),
        f"CP-SAT: {len(r.statuses)} component(s), {status}, {r.seconds:.2f} s",
        "",
    ]
    table = [
        [d.host, d.service, d.from_port, "-" if d.to_port is None else d.to_port, d.kind, d.reason]
        for d in r.decisions
    ]
    lines.append(text_table(table, ["host", "service", "from", "to", "decision", "why"]).rstrip("\n"))
    lines.append("")
    headers = ["figure", "this target"] + ([run.against_path] if run.against is not None else [])
    lines.append(text_table(_figure_rows(r.figures, run.against), headers).rstrip("\n"))
    if run.out is not None:
        lines.append(f"wrote {run.out}")
    return "\n".join(lines) + "\n"


def render_target_json(run: TargetRun) -> str:
    r = run.result
    data = {
        "format": "reorg-target/1",
        "proven": r.proven,
        "components": list(r.statuses),
        "figures": r.figures.to_dict(),
        "against": None if run.against is None else {"path": run.against_path, "figures": run.against.to_dict()},
        "decisions": [d.to_dict() for d in r.decisions],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def render_port(choice: PortChoice) -> str:
    where = f" on {choice.host}" if choice.host else " on every host"
    pair = ""
    if choice.pair:
        pair = f"; matches {choice.pair} {'/'.join(map(str, choice.pair_ports))}"
    lines = [
        f"{choice.service}: {choice.port}{where} ({choice.category} {choice.range_text}{pair}; "
        f"{choice.free_left} more free port(s) in the range)"
    ]
    lines += [f"appended a row to {path}" for path in choice.added]
    return "\n".join(lines) + "\n"


def render_port_json(choice: PortChoice) -> str:
    return json.dumps(choice.to_dict(), indent=2, sort_keys=True) + "\n"
