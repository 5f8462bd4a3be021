"""Reports for the planning commands: ``check`` findings, the ``plan`` summary and the
``compare`` table, as text, JSON or Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reorg.check import CheckReport
from reorg.comparison import COMPARE_FORMAT, Comparison, Preference, rule
from reorg.escape import md_code
from reorg.model import Candidate, Compared, Plan
from reorg.render.table import md_table, text_table


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

    def section(title: str, count: int, headers: list[str], rows: list[list[Any]], note: str = "") -> None:
        out.append("")
        out.append(f"{title}: {count}" + (f" ({note})" if note else ""))
        if rows:
            out.append(text_table(rows, headers=headers, tablefmt="simple", disable_numparse=True))

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
    if report.warnings:
        section(
            "Ports a host's system or operator uses (hosts.csv os/reserved)",
            len(report.warnings),
            ["host", "port", "what", "why"],
            [[w.host, w.ports, w.subject, w.why] for w in report.warnings],
            "warnings, not counted as problems",
        )
    out.append("")
    out.append("Summary")
    out.append(
        text_table(
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
            ] + ([["host warnings", f"{len(report.warnings)} (not counted)"]] if report.warnings else []),
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


def render_plan_summary(plan: Plan, seconds: float, paths: Iterable[Path]) -> str:
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
        text_table(rows, headers=["", "plan", "lower bound"], tablefmt="simple"),
    ]
    lines += [f"note: {n}" for n in plan.notes]
    lines += [f"wrote {p}" for p in paths]
    return "\n".join(lines)


def render_plan_json(plan: Plan, seconds: float, paths: Iterable[Path]) -> str:
    """``reorg plan --json``: the files written, the figures beside their bounds, and the verdict.

    Every plan is verified before it is written (an unverified one is an error, exit 2), so
    ``verified`` is always true here; it is in the object so a script need not know that.
    """
    data = {
        "format": "reorg-plan-summary/1",
        "strategy": plan.strategy,
        "steps": len(plan.steps),
        "waves": plan.metrics.waves,
        "metrics": plan.metrics.to_dict(),
        "bounds": {"moves": plan.metrics.lower_bound_moves, "waves": plan.metrics.lower_bound_waves},
        "optimal": plan.metrics.optimal,
        "verified": True,
        "notes": list(plan.notes),
        "files": [Path(p).as_posix() for p in paths],
        "seconds": round(seconds, 3),
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _compare_row(r: Compared) -> dict[str, Any]:
    """One verified row for ``--json``: figures, their bounds and gaps (no seconds: the JSON is
    the same for the same inputs)."""
    m = r.plan.metrics
    return {
        "plan": r.label,
        "candidate": r.candidate.value,
        "strategy": r.plan.strategy,
        "objective": _objective_of(r),
        "cap": r.cap,
        "verified": True,
        "moves": m.moves,
        "moves_bound": m.lower_bound_moves,
        "moves_gap": m.moves - m.lower_bound_moves,
        "waves": m.waves,
        "waves_bound": m.lower_bound_waves,
        "waves_gap": m.waves - m.lower_bound_waves,
        "temp_moves": m.temp_moves,
        "pairs_split": m.pairs_split,
        "optimal": m.optimal,
        "front": r.on_front,
    }


def _objective_of(r: Compared) -> str:
    return {
        Candidate.GREEDY: "sequential",
        Candidate.CPSAT_MOVES: "moves, waves",
        Candidate.CPSAT_WAVES: "waves, moves",
        Candidate.PARETO: f"moves within {r.plan.metrics.waves} waves",
    }[r.candidate]


COMPARE_HEADERS = [
    "plan", "objective", "cap", "moves", "moves-lb", "moves-gap", "waves", "waves-lb", "waves-gap",
    "temp", "split", "optimal", "front",
]


def _cap_name(cap: int | None) -> str:
    return "no cap" if cap is None else f"--max-per-wave {cap}"


def compare_table(c: Comparison, seconds: bool = True) -> str:
    """The rows side by side: each figure, its lower bound (lb) and the gap between them; a
    strategy that found no plan is a row of dashes. ``seconds``: the solve times (terminal only:
    files stay the same for the same inputs)."""
    table: list[list[Any]] = []
    for r in c.rows:
        d = _compare_row(r)
        table.append([
            d["plan"], d["objective"], "-" if d["cap"] is None else d["cap"],
            d["moves"], d["moves_bound"], f"+{d['moves_gap']}",
            d["waves"], d["waves_bound"], f"+{d['waves_gap']}",
            d["temp_moves"], d["pairs_split"], "yes" if d["optimal"] else "no", "*" if d["front"] else "",
        ] + ([float(r.seconds)] if seconds else []))
    for f in c.failed:
        cap = "-" if f.cap is None else f.cap
        table.append([f.label, "failed", cap] + ["-"] * 9 + [""] + ([float(f.seconds)] if seconds else []))
    headers = COMPARE_HEADERS + (["seconds"] if seconds else [])
    return text_table(table, headers=headers, tablefmt="simple", floatfmt=".2f")


def compare_notes(c: Comparison) -> list[str]:
    """The lines under the table: failures, what lb and gap mean, the bounds, what * means, and
    the recommendation."""
    lines = [f"{f.label}: failed: {f.reason}" for f in c.failed]
    lines.append("lb = lower bound for that plan (waves: for a plan of that many moves); gap = figure - lb")
    if c.bounds:
        moves = c.bounds[0].moves
        lines.append(f"bounds: moves >= {moves} for every plan (each binding that changes moves once, "
                     f"plus one temp move per cycle)")
        for b in c.bounds:
            lines.append(f"bounds: waves >= {b.waves} for a plan of {b.moves} moves, >= {b.waves_any} for "
                         f"any plan ({_cap_name(b.cap)})")
    if len({r.cap for r in c.rows}) > 1:
        lines.append("* = on the moves-versus-waves front of its cap: no other verified plan with the same "
                     "--max-per-wave is at least as good on both moves and waves and better on one; each cap "
                     "is its own problem, so each has its own front")
    else:
        lines.append("* = on the moves-versus-waves front: no other verified plan is at least as good on "
                     "both moves and waves and better on one")
    if c.recommendation is not None:
        lines.append(f"recommended: {c.recommendation.row.label}: {c.recommendation.reason}")
        other = "waves" if c.prefer is Preference.MOVES else "moves"
        lines.append(f"(rule: {', then '.join(rule(c.prefer))}; --prefer {other} to put {other} first)")
    return lines


def render_compare(c: Comparison) -> str:
    """The comparison for the terminal: the table with solve times, then :func:`compare_notes`."""
    return "\n".join([compare_table(c), *compare_notes(c)]) + "\n"


def render_compare_json(c: Comparison) -> str:
    """``reorg-compare/1``: inputs with hashes, options, bounds per cap, every row (failed ones with
    their reason), the front per cap and the recommendation; sorted keys, no timings."""
    rows: list[dict[str, Any]] = [_compare_row(r) for r in c.rows]
    rows += [
        {"plan": f.label, "candidate": f.candidate.value, "cap": f.cap, "verified": False, "failed": f.reason}
        for f in c.failed
    ]
    options: dict[str, Any] = {} if c.options is None else c.options.to_dict()
    options.pop("max_per_wave", None)
    options.pop("objective", None)
    options["caps"] = list(c.caps)
    options["strategies"] = [k.value for k in c.candidates]
    options["prefer"] = c.prefer.value
    moves_bound = c.bounds[0].moves if c.bounds else None
    rec = c.recommendation
    out = {
        "format": COMPARE_FORMAT,
        "inputs": [{"table": i.table, "path": i.path, "sha256": i.sha256} for i in c.inputs],
        "options": options,
        "bounds": {
            "moves": moves_bound,
            "waves": [{"cap": b.cap, "at_fewest_moves": b.waves, "any_plan": b.waves_any} for b in c.bounds],
        },
        "rows": rows,
        "notes": list(c.notes),
        "front": [
            {"cap": cap, "plans": [r.label for r in c.rows if r.cap == cap and r.on_front]}
            for cap in dict.fromkeys(r.cap for r in c.rows)
        ],
        "recommendation": None if rec is None else {
            "plan": rec.row.label,
            "candidate": rec.row.candidate.value,
            "strategy": rec.row.plan.strategy,
            "cap": rec.row.cap,
            "reason": rec.reason,
            "rule": list(rule(c.prefer)),
        },
    }
    return json.dumps(out, indent=2, sort_keys=True) + "\n"


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
        if m.moves > m.lower_bound_moves:
            how = f"{m.temp_moves} temp move(s)"
        elif m.temp_moves:
            how = f"each binding that changes moves once, plus one temp move per cycle ({m.temp_moves})"
        else:
            how = "each binding that changes moves once, no temp port"
        return (f"fewest moves ({m.moves}, bound {m.lower_bound_moves}) in {m.waves} waves "
                f"(bound {m.lower_bound_waves}): {how}")
    if extra > 0 and saved > 0:
        return f"{extra} extra temp move(s) save {saved} wave(s): {m.moves} moves in {m.waves} waves"
    return f"{m.moves} moves in {m.waves} waves ({extra:+d} moves, {-saved:+d} waves against the fewest-moves plan)"


def render_compare_markdown(c: Comparison) -> str:
    """compare.md: the recommendation, the table, the front of each cap, and one line per plan on
    what it trades. No solve times, so the same inputs give the same file."""
    instance, rows = c.instance, c.rows
    inputs = ", ".join(f"{md_code(i.path)} (sha256 `{i.sha256}`)" for i in c.inputs) or (
        f"{md_code(instance.current_path)} (sha256 `{instance.current_sha256}`), "
        f"{md_code(instance.target_path)} (sha256 `{instance.target_sha256}`)"
    )
    lines = [
        "# Plan comparison",
        "",
        f"Inputs: {inputs}. Every plan below passed the verifier.",
        "",
    ]
    if c.recommendation is not None:
        rec = c.recommendation
        lines += [
            "## Recommendation",
            "",
            f"Take `{rec.row.label}`: {rec.reason}.",
            "",
            f"The rule: {', then '.join(rule(c.prefer))}. Execute it: `reorg status --plan {rec.row.label}.json` "
            "from this folder.",
            "",
        ]
    lines += [
        "## Plans",
        "",
        "```",
        compare_table(c, seconds=False),
        *[n for n in compare_notes(c) if not n.startswith(("recommended:", "(rule:"))],
        "```",
        "",
        "## Moves versus waves",
        "",
    ]
    for cap in dict.fromkeys(r.cap for r in rows):
        on_front = [r for r in rows if r.cap == cap and r.on_front]
        front = sorted({(r.plan.metrics.waves, r.plan.metrics.moves) for r in on_front})
        title = "no cap" if cap is None else f"--max-per-wave {cap}"
        if len(front) >= 2:
            lines += [f"Front ({title}): fewer waves cost more moves.", ""]
        else:
            lines += [f"Front ({title}): a single point: the fewest moves and the fewest waves at once.", ""]
        plans = {
            point: ", ".join(md_code(r.label) for r in on_front if (r.plan.metrics.waves, r.plan.metrics.moves) == point)
            for point in front
        }
        lines += [md_table(["waves", "moves", "plans"], [[str(w), str(mv), plans[(w, mv)]] for w, mv in front]), ""]
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
