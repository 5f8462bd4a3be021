"""Text of the scan commands: ``reorg scan``, ``reorg check --scan`` and ``reorg patch``.

Strings only; the CLI prints them. Notices (files the scan skipped) go to stderr there.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reorg.render.table import text_table
from reorg.scan.findings import FINDINGS_FORMAT, TableDiff
from reorg.scan.table import render_scan_json

if TYPE_CHECKING:  # annotations only: render never calls into commands
    from reorg.commands.scanning import ScanCheck, ScanResult
    from reorg.scan.patch import PatchResult


def render_scan(result: ScanResult) -> str:
    scan = result.scan
    hosts = sorted({b.host for b in scan.bindings})
    per_host = ", ".join(f"{h} {sum(1 for b in scan.bindings if b.host == h)}" for h in hosts) or "none"
    refs = sum(1 for r in scan.rows if r.role.value == "reference")
    out = [
        f"scanned {scan.root}: {scan.files_read} files read, {len(scan.bindings)} bindings ({per_host}), "
        f"{len(scan.rows)} ports written ({len(scan.rows) - refs} binding lines, {refs} references)"
    ]
    if scan.unread:
        out.append(unread_line(scan.unread))
    if len(scan.notices) > len(scan.unread):
        out.append(f"{len(scan.notices) - len(scan.unread)} other file(s) or line(s) skipped (see stderr)")
    if result.diff is not None:
        out.append(render_diff(result.diff))
    out += [f"wrote {p}" for p in result.paths]
    return "\n".join(out).rstrip("\n") + "\n"


def unread_line(unread: tuple[str, ...]) -> str:
    """The files the scan did not read, or read only in part, named (the CLI shows control
    characters as escapes)."""
    return f"{len(unread)} file(s) not (fully) read (see stderr): {', '.join(unread)}"


def render_scan_json_text(result: ScanResult) -> str:
    extra: dict[str, Any] = {"diff": result.diff.to_dict()} if result.diff is not None else {}
    extra["written"] = [str(p) for p in result.paths]
    return render_scan_json(result.scan, extra)


def render_diff(diff: TableDiff) -> str:
    if diff.empty:
        return "diff: the scan and the table agree"
    rows = [["only in scan", b.service, b.host, str(b.port), "", b.source] for b in diff.only_scan]
    rows += [["only in table", b.service, b.host, "", str(b.port), f"line {b.line}"] for b in diff.only_table]
    rows += [["port differs", s.service, s.host, str(s.port), str(t.port), s.source] for s, t in diff.differ]
    return "diff:\n" + text_table(rows, headers=["", "service", "host", "scan", "table", "where"], disable_numparse=True)


def render_scan_check(check: ScanCheck) -> str:
    out = []
    for kind in ("collision", "dangling", "drift"):
        found = [p for p in check.problems if p.kind == kind]
        if found:
            out.append(f"{kind} ({len(found)}):")
            out += [f"  {p.message}" for p in found]
    if check.scan.unread:  # no claim of "no problems" about files that were not read: they fail the check too
        out.append(unread_line(check.scan.unread))
    if check.baseline_written is not None:
        out.append(f"wrote {check.baseline_written}: {len(check.accepted)} problem(s) accepted")
        return "\n".join(out) + "\n"
    unread = " in what was read" if check.scan.unread else ""
    if check.problems:
        summary = f"{len(check.problems)} problem(s){unread}"
        summary += f"; {len(check.accepted)} more accepted by the baseline" if check.accepted else ""
    else:
        summary = f"no problems{unread}" + (", but not everything was read" if unread else "")
        summary += f"; {len(check.accepted)} accepted by the baseline" if check.accepted else ""
    out.append(summary)
    return "\n".join(out) + "\n"


def render_scan_check_json(check: ScanCheck) -> str:
    return json.dumps(
        {
            "format": FINDINGS_FORMAT,
            "root": check.scan.root,
            "problems": [p.to_dict() for p in check.problems],
            "accepted": [p.to_dict() for p in check.accepted],
            "unread": list(check.scan.unread),
        },
        indent=2,
        sort_keys=True,
    ) + "\n"


def render_patch_note(result: PatchResult) -> str:
    """The line after the diff (stderr): what was rewritten, or why nothing was."""
    step = result.step
    if step.to_port is None:
        return (f"step {step.step} retires {step.service} on {step.host}: stop it by hand; nothing to rewrite "
                f"({len(result.rows)} line(s) name its port {step.from_port}; see the runbook)")
    old, new = (step.to_port, step.from_port) if result.reverse else (step.from_port, step.to_port)
    what = f"step {step.step} ({step.service} on {step.host}: {old} → {new}{', undo' if result.reverse else ''})"
    if not result.rows:
        return f"{what}: no known line; edit by hand (the runbook's \"Where a port is configured\")"
    files = len(result.changes)
    verb = "rewrote" if result.written else "would rewrite"
    tail = "" if result.written else "; --write applies it"
    return f"{what}: {verb} {len(result.rows)} literal(s) in {files} file(s){tail}"
