"""Reports for the planning commands: ``check`` findings, the ``plan`` summary and the
``compare`` table, as text, JSON or Markdown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reorg.check import CheckReport
from reorg.escape import md_code
from reorg.model import Candidate, Compared, Failed, Instance, Plan
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


def _compare_row(r: Compared) -> dict[str, Any]:
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


def render_compare(rows: tuple[Compared, ...], failed: tuple[Failed, ...] = ()) -> str:
    """The comparison table; ``*`` marks the moves-versus-waves front (per cap). A strategy that
    found no plan is a row of dashes, and its reason follows the table."""
    table = []
    for r in rows:
        d = _compare_row(r)
        table.append([
            d["plan"], d["objective"], "-" if d["cap"] is None else d["cap"], d["moves"],
            d["temp_moves"], d["waves"], f"+{d['moves_gap']}", f"+{d['waves_gap']}",
            d["pairs_split"], "yes" if d["optimal"] else "no", "*" if d["front"] else "",
            float(d["seconds"]),
        ])
    for f in failed:
        cap = "-" if f.cap is None else f.cap
        table.append([f.label, "failed", cap, "-", "-", "-", "-", "-", "-", "-", "", float(f.seconds)])
    headers = ["plan", "objective", "cap", "moves", "temp", "waves", "moves-lb", "waves-lb",
               "split", "optimal", "front", "seconds"]
    text = text_table(table, headers=headers, tablefmt="simple", floatfmt=".2f") + "\n"
    for f in failed:
        text += f"{f.label}: failed: {f.reason}\n"
    return text


def render_compare_json(rows: tuple[Compared, ...], failed: tuple[Failed, ...] = ()) -> str:
    out = [_compare_row(r) for r in rows]
    out += [{"plan": f.label, "cap": f.cap, "failed": f.reason, "seconds": round(f.seconds, 3)} for f in failed]
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
        return (f"fewest moves ({m.moves}, bound {m.lower_bound_moves}) in {m.waves} waves "
                f"(bound {m.lower_bound_waves}): each binding that changes moves once, no temp port")
    if extra > 0 and saved > 0:
        return f"{extra} extra temp move(s) save {saved} wave(s): {m.moves} moves in {m.waves} waves"
    return f"{m.moves} moves in {m.waves} waves ({extra:+d} moves, {-saved:+d} waves against the fewest-moves plan)"


def render_compare_markdown(rows: tuple[Compared, ...], instance: Instance, failed: tuple[Failed, ...] = ()) -> str:
    """compare.md: the table, the front, and one line per plan on what it trades."""
    lines = [
        "# Plan comparison",
        "",
        f"Inputs: {md_code(instance.current_path)} (sha256 `{instance.current_sha256}`), "
        f"{md_code(instance.target_path)} (sha256 `{instance.target_sha256}`). Every plan below passed the verifier.",
        "",
        "```",
        render_compare(rows, failed).rstrip("\n"),
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
        lines += [md_table(["waves", "moves"], [[str(w), str(mv)] for w, mv in front]), ""]
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
