"""Benchmark the planners on seeded generated fleets and on the bundled data.

Usage:  python bench/run.py            # all cases, a Markdown table on stdout
        python bench/run.py --quick    # the small cases only
        python bench/run.py --case 10k # one case (as JSON; the runner uses this per subprocess)

Each case runs in its own subprocess so its peak memory (ru_maxrss) is its own. Within a case,
greedy and cpsat plan the same instance, so their time ratio is measured in one run. Every plan
is verified; a case whose plan fails verification is reported as FAILED.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name: (bindings, hosts, cap, generator keywords, extra plan options)
CASES = {
    "100": (100, 3, None, {}, {}),
    "1k": (1_000, 10, None, {}, {}),
    "1k-cap10": (1_000, 10, 10, {}, {}),
    "1k-hard": (1_000, 10, None, {"collisions": 0.05, "pairs": 0.05}, {}),
    "1k-pool2": (1_000, 10, None, {"cycles": 0.3}, {"temp_ports": (39000, 39001)}),
    "1k-global": (1_000, 10, None, {"global_ok": True}, {"scope": "global"}),
    "10k": (10_000, 50, None, {}, {}),
    "100k": (100_000, 200, None, {}, {}),
    "100k-cap50": (100_000, 200, 50, {}, {}),
}
QUICK = ["100", "1k", "1k-cap10", "1k-hard", "1k-pool2", "1k-global"]
SEED = 1
GENERATOR = {"collisions": 0.02}


def run_case(name: str) -> dict:
    from reorg.generate import generate
    from reorg.model import PlanOptions, Scope, Strategy
    from reorg.planners import get_planner
    from reorg.problem import build_problem, lower_bound_moves
    from reorg.verify import verify

    bindings, hosts, cap, extra, plan_extra = CASES[name]
    started = time.perf_counter()
    instance = generate(SEED, hosts, bindings, **{**GENERATOR, **extra})
    plan_extra = {k: Scope(v) if k == "scope" else v for k, v in plan_extra.items()}
    problem = build_problem(instance, PlanOptions(max_per_wave=cap, time_limit=10.0, **plan_extra))
    setup = time.perf_counter() - started
    out = {"case": name, "bindings": bindings, "hosts": hosts, "cap": cap, "generator": {**GENERATOR, **extra},
           "options": {k: str(v) for k, v in plan_extra.items()},
           "setup_s": round(setup, 2), "n": problem.n, "c": problem.c, "lb_moves": lower_bound_moves(problem)}
    for strategy in (Strategy.GREEDY, Strategy.CPSAT):
        t0 = time.perf_counter()
        plan = get_planner(strategy)(problem, None)
        t1 = time.perf_counter()
        verdict = verify(plan, instance)
        t2 = time.perf_counter()
        m = plan.metrics
        out[strategy.value] = {
            "plan_s": round(t1 - t0, 2), "verify_s": round(t2 - t1, 2), "verified": verdict.ok,
            "moves": m.moves, "lb_moves": m.lower_bound_moves, "temp_moves": m.temp_moves,
            "waves": m.waves, "lb_waves": m.lower_bound_waves, "optimal": m.optimal,
            "pairs_split": m.pairs_split,
        }
    out["peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def run_bundled() -> dict:
    """``reorg plan`` on the bundled data, as a user runs it: a fresh process, wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "reorg", "plan", "--out", tmp],
                              cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        plan = json.loads((Path(tmp) / "reorg.json").read_text()) if proc.returncode == 0 else None
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"case": "bundled", "wall_s": round(wall, 2), "exit": proc.returncode, "peak_mib": round(peak, 1),
            "metrics": plan["metrics"] if plan else None}


def in_subprocess(name: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--case", name], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        return {"case": name, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout)


def fig(value, bound) -> str:
    return f"{value} / {bound}"


def table(results: list[dict]) -> str:
    lines = [
        "| case | bindings | hosts | cap | strategy | setup s | plan s | verify s | moves / bound | waves / bound | temp moves | optimal | verified | peak MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['case']} | FAILED: {r['error']} |")
            continue
        if r["case"] == "bundled":
            m = r["metrics"] or {}
            lines.append(
                f"| bundled data (`reorg plan`, whole process) | 95 | 3 | - | cpsat | incl. | {r['wall_s']} (wall) | incl. | "
                f"{fig(m.get('moves'), m.get('lower_bound_moves'))} | {fig(m.get('waves'), m.get('lower_bound_waves'))} | "
                f"{m.get('temp_moves')} | {m.get('optimal')} | yes | {r['peak_mib']} |"
            )
            continue
        for s in ("greedy", "cpsat"):
            p = r[s]
            lines.append(
                f"| {r['case']} | {r['bindings']} | {r['hosts']} | {r['cap'] or '-'} | {s} | {r['setup_s']} | {p['plan_s']} | {p['verify_s']} | "
                f"{fig(p['moves'], p['lb_moves'])} | {fig(p['waves'], p['lb_waves'])} | {p['temp_moves']} | "
                f"{p['optimal']} | {p['verified']} | {r['peak_mib']} |"
            )
    ratios = [
        f"- {r['case']}: cpsat/greedy plan time {r['cpsat']['plan_s'] / max(r['greedy']['plan_s'], 0.01):.1f}x, "
        f"waves {r['greedy']['waves']} → {r['cpsat']['waves']} ({r['greedy']['waves'] / max(r['cpsat']['waves'], 1):.0f}x fewer)"
        for r in results if "cpsat" in r
    ]
    return "\n".join(lines + ["", "Ratios measured within one run (same instance, same process):", ""] + ratios)


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return
    names = QUICK if args.quick else list(CASES)
    results = [run_bundled()]
    for name in names:
        print(f"running {name} ...", file=sys.stderr)
        results.append(in_subprocess(name))
    print(f"Machine: {machine()}\n")
    print(table(results))


if __name__ == "__main__":
    main()
