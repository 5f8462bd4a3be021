"""Benchmark ``reorg target`` on a generated fleet, the whole command as a process.

Usage:  python bench/target.py                 # 1,000 services, 10 ranges, 10 hosts, 3 runs
        python bench/target.py --services 2000 --runs 5

The fleet (seed 1): ten categories with a range of 200 ports each; every service runs on one to
three of ten hosts, on one port for all of them; 70% already sit somewhere in their range
(so some collide), the rest outside every range; 10% of the frontends of category ``c1`` name a
backend of ``c0`` (digit pairs); 5% of the services are pinned in a partial target; each host
reserves two ports in hosts.csv and is macOS, Linux or Windows in turn. Each run is
``python -m reorg target --pins ... --out ...`` in a fresh process (interpreter start-up
included). Wall seconds depend on what else the machine runs; CPU seconds and the load average
are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RANGE_SIZE = 200


def generate(folder: Path, services: int, ranges: int, hosts: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    host_names = [f"h{i}" for i in range(hosts)]
    starts = {f"c{k}": 20000 + 1000 * k for k in range(ranges)}
    (folder / "ranges.csv").write_text(
        "start,end,category,purpose\n"
        + "".join(f"{s},{s + RANGE_SIZE - 1},{c},generated\n" for c, s in starts.items()),
        encoding="utf-8",
    )
    rows, pins, names = [], [], []
    by_category: dict[str, list[str]] = {c: [] for c in starts}
    for i in range(services):
        name, category = f"svc{i:04d}", f"c{rng.randrange(ranges)}"
        names.append((name, category))
        by_category[category].append(name)
    for name, category in names:
        on = rng.sample(host_names, rng.randint(1, 3))
        if rng.random() < 0.7:
            port = starts[category] + rng.randrange(RANGE_SIZE)
        else:
            port = 40000 + rng.randrange(2000)
        pair = ""
        if category == "c1" and by_category.get("c0") and rng.random() < 0.1:
            pair = rng.choice(by_category["c0"])
        rows += [f"{name},{h},{port},{category},{pair}\n" for h in sorted(on)]
        if rng.random() < 0.05:
            pins.append(f"{name},{starts[category] + rng.randrange(RANGE_SIZE)}\n")
    (folder / "current.csv").write_text("service,host,port,category,pair\n" + "".join(rows), encoding="utf-8")
    (folder / "pins.csv").write_text("service,port\n" + "".join(pins), encoding="utf-8")
    oses = ("macos", "linux", "windows")
    (folder / "hosts.csv").write_text(
        "host,address,os,reserved\n"
        + "".join(
            f"{h},,{oses[i % 3]},{starts['c0'] + 7 + i};{starts['c2'] + 11 + i}\n" for i, h in enumerate(host_names)
        ),
        encoding="utf-8",
    )
    return {"bindings": len(rows), "pins": len(pins)}


def run_once(folder: Path, time_limit: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reorg", "target", "--current", "current.csv", "--pins", "pins.csv",
         "--ranges", "ranges.csv", "--hosts", "hosts.csv", "--out", "target.csv", "--report", "report.json",
         "--json", "--time-limit", str(time_limit)],
        cwd=folder, env=env, capture_output=True, text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"reorg target failed ({done.returncode}): {done.stderr.strip()}")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    return {
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "rss_mib": after.ru_maxrss / 1024,
        "proven": report["proven"],
        "components": len(report["components"]),
        "changed": report["figures"]["changed"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--ranges", type=int, default=10)
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="reorg-bench-target-") as tmp:
        folder = Path(tmp)
        sizes = generate(folder, args.services, args.ranges, args.hosts)
        load = os.getloadavg()[0]
        runs = [run_once(folder, args.time_limit) for _ in range(args.runs)]
        walls = [r["wall_s"] for r in runs]
        cpus = [r["cpu_s"] for r in runs]
        last = runs[-1]
        print(
            f"reorg target: {args.services} services ({sizes['bindings']} bindings, {sizes['pins']} pins) over "
            f"{args.ranges} ranges and {args.hosts} hosts; {args.runs} runs: wall min {min(walls):.2f} s, "
            f"median {statistics.median(walls):.2f} s; CPU min {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s; "
            f"peak RSS {max(r['rss_mib'] for r in runs):.0f} MiB; {last['components']} components, "
            f"{'proven optimal' if last['proven'] else 'not proven'}, {last['changed']} changed bindings; "
            f"load {load:.2f} -> {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
