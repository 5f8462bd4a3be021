"""Benchmark ``reorg scan`` on a generated monorepo of 5,000 files, the whole command as a process.

Usage:  python bench/scan.py              # 5,000 files, 3 runs: min and median wall seconds
        python bench/scan.py --files 20000 --runs 5

The tree mixes every format the readers know, as a monorepo has them: per service a folder with
package.json/go.mod/pyproject.toml, source files (a few with a port default, most without), a
Dockerfile, an .env.example and sometimes a launchd plist; per host a compose file with every
service of that host; a Prometheus config and a cloudflared config; plus test and doc folders
the scan skips. The tree is generated once (seed 1) in a temp folder; each run is
``python -m reorg scan TREE --out OUT`` in a fresh process (interpreter start-up included).
Wall seconds depend on what else the machine runs; CPU seconds (user + sys of the process) and
the load average are printed beside them.
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
HOSTS = ("mac-mini", "gpu", "edge")


def generate_tree(root: Path, files: int, seed: int = 1) -> int:
    """Write about ``files`` files under ``root``; return how many were written."""
    rng = random.Random(seed)
    written = 0
    services = []
    per_service = 12
    count = max(1, files // per_service)
    for index in range(count):
        name = f"svc-{index:04d}"
        port = 3000 + index
        host = HOSTS[index % len(HOSTS)]
        services.append((name, port, host))
        folder = root / "services" / name
        (folder / "src").mkdir(parents=True)
        (folder / "tests").mkdir()
        (folder / "package.json").write_text(json.dumps({"name": name, "scripts": {"start": "node dist/main.js"}}, indent=2) + "\n")
        (folder / "src" / "config.ts").write_text(
            f"export const config = {{\n  port: parseInt(process.env.PORT || '{port}', 10),\n"
            f"  authUrl: process.env.AUTH_URL || 'http://localhost:{3000 + rng.randrange(count)}',\n}};\n"
        )
        for k in range(6):
            (folder / "src" / f"module{k}.ts").write_text(
                "".join(f"export function f{j}(x: number): number {{ return x * {j}; }}\n" for j in range(40))
            )
        (folder / "tests" / "config.test.ts").write_text(f"expect(port).toBe({port});\n")
        (folder / "Dockerfile").write_text(f"FROM node:20\nENV PORT={port}\nEXPOSE {port}\nCMD [\"node\", \"dist/main.js\"]\n")
        (folder / ".env.example").write_text(f"PORT={port}\nAUTH_URL=http://localhost:3000\n")
        written += 11
        if index % 5 == 0:
            (folder / f"com.example.{name}.plist").write_text(
                '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n'
                f"  <key>Label</key><string>com.example.{name}-agent</string>\n"
                f"  <key>ProgramArguments</key><array><string>/bin/agent</string><string>--port</string><string>{20000 + index}</string></array>\n"
                "</dict>\n</plist>\n"
            )
            written += 1
    for host in HOSTS:
        lines = ["services:"]
        for name, port, h in services:
            if h == host:
                lines += [f"  {name}:", "    ports:", f'      - "{port}:{port}"', "    environment:", f"      PORT: {port}",
                          "      AUTH_URL: http://svc-0000:3000"]
        (root / f"docker-compose.{host}.yml").write_text("\n".join(lines) + "\n")
        written += 1
    (root / "infra").mkdir(exist_ok=True)
    targets = ", ".join(f"'{name}:{port}'" for name, port, _h in services[:200])
    (root / "infra" / "prometheus.yml").write_text(f"scrape_configs:\n  - job_name: all\n    static_configs:\n      - targets: [{targets}]\n")
    (root / "docs").mkdir(exist_ok=True)
    while written < files:
        (root / "docs" / f"page{written}.md").write_text("| 3000 | svc |\n")
        written += 1
    return written


def run_once(tree: Path, out: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + sys of the child) and the summary line of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "reorg", "scan", str(tree), "--out", str(out)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"reorg scan failed: {done.stderr}")
    return seconds, cpu, done.stdout.splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reorg-bench-scan-") as tmp:
        tree = Path(tmp) / "tree"
        written = generate_tree(tree, args.files)
        times, cpus, summary = [], [], ""
        for run in range(args.runs):
            seconds, cpu, summary = run_once(tree, Path(tmp) / f"out{run}")
            times.append(seconds)
            cpus.append(cpu)
        print(json.dumps({
            "files": written, "runs": args.runs,
            "min_s": round(min(times), 2), "median_s": round(statistics.median(times), 2),
            "cpu_min_s": round(min(cpus), 2), "cpu_median_s": round(statistics.median(cpus), 2),
            "load_average": round(os.getloadavg()[0], 1), "summary": summary,
        }, indent=2))


if __name__ == "__main__":
    main()
