"""bench/run.py cannot rot: every case names a real command and real options, its inputs build,
and the smallest case runs end to end through the runner. Nothing here asserts a time."""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from reorg.cli import app
from reorg.generate import generate

REPO = Path(__file__).resolve().parent.parent


def load_runner():
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


bench = load_runner()


def click_command(words: tuple[str, ...]):
    command = typer.main.get_command(app)
    for word in words:
        if word.startswith("-"):
            break
        command = command.commands[word]
    return command


def option_names(command) -> set[str]:
    return {name for p in command.params for name in (*p.opts, *p.secondary_opts)} | {"--help"}


@pytest.mark.parametrize("name", sorted(bench.CASES))
def test_each_case_names_a_real_command_and_real_options(name: str):
    case = bench.CASES[name]
    command = click_command(case.command)
    known = option_names(command)
    words = [w for w in (*case.command, *case.args) if w.startswith("--")]
    assert set(words) <= known, f"{name}: unknown options {set(words) - known} for `reorg {' '.join(case.command)}`"
    # what the runner adds: the inputs' own options, the output location, the adherence limit
    added = {"dir": {"--out"}, "target": {"--out", "--report"}, None: set()}[case.out]
    if case.limits:
        added |= {"--time-limit"}
    input_options = {
        bench.Bundled: {"--current", "--target", "--hosts"}, bench.Fleet: {"--current", "--target"},
        bench.BundledPlan: {"--plan"}, bench.NoInput: set(), bench.ScanTree: set(),
        bench.TargetFleet: {"--current", "--ranges", "--hosts"},
    }[type(case.inputs)]
    assert added | input_options <= known, f"{name}: the runner passes {added | input_options - known}, unknown here"
    assert case.runs >= 3, f"{name}: at least 3 runs per case"


def test_fleet_cases_pass_only_arguments_the_generator_takes():
    signature = inspect.signature(generate)
    for case in bench.CASES.values():
        if isinstance(case.inputs, bench.Fleet):
            signature.bind(bench.SEED, case.inputs.hosts, case.inputs.bindings, **case.inputs.kwargs())


def test_issue_8_cases_are_all_there():
    args = {name: " ".join(c.args) for name, c in bench.CASES.items()}
    assert "--max-per-wave 7 --temp-ports 39000-39001" in args.values()
    assert any("--objective waves" in a for a in args.values())
    commands = {c.command[0] for c in bench.CASES.values()}
    assert {"plan", "compare", "--help", "status", "next", "history", "scan", "target"} <= commands
    assert {c.inputs.bindings for c in bench.CASES.values() if isinstance(c.inputs, bench.Fleet)} >= {100, 1_000, 10_000, 100_000}
    assert any(c.limits for c in bench.CASES.values()) and bench.LIMITS


def test_list_runs_nothing_and_names_every_case():
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--list"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    cases, _, grid = proc.stdout.partition("\nadherence rows (--adherence):\n")
    assert [line.split()[0] for line in cases.splitlines()] == list(bench.CASES)
    assert [line.split()[0] for line in grid.splitlines()] == list(bench.ADHERENCE)


def test_adherence_rows_cover_sizes_and_options_and_pass_real_options():
    sizes = {row.inputs.bindings for row in bench.ADHERENCE.values()}
    assert sizes >= {10, 1_000, 10_000, 100_000}
    args = " ".join(" ".join(row.args) for row in bench.ADHERENCE.values())
    assert "--max-per-wave" in args and "--temp-ports" in args
    assert any(dict(row.inputs.extra).get("pairs") for row in bench.ADHERENCE.values())
    known = option_names(click_command(("plan",)))
    for row in bench.ADHERENCE.values():
        assert {w for w in row.args if w.startswith("--")} <= known, row.name
        assert row.limits


def test_the_runner_reports_the_commands_own_peak_not_its_own(tmp_path: Path):
    """Through the spawn wrapper a small child shows its own peak RSS, not the runner's."""
    small = bench.timed([sys.executable, "-S", "-c", "pass"], tmp_path, 60)
    big = bench.timed([sys.executable, "-S", "-c", "x = bytearray(80 * 2**20)"], tmp_path, 60)
    assert small["exit"] == 0 and small["peak_mib"] < 40
    assert big["peak_mib"] > small["peak_mib"] + 60
    assert bench.timed([sys.executable, "-S", "-c", "raise SystemExit(3)"], tmp_path, 60)["exit"] == 3


def test_scan_and_target_inputs_build(tmp_path: Path):
    (tmp_path / "s").mkdir()
    (tmp_path / "t").mkdir()
    root = Path(bench.ScanTree(60).build(tmp_path / "s")[0])
    assert len([p for p in root.rglob("*") if p.is_file()]) >= 50
    args = bench.TargetFleet(40).build(tmp_path / "t")
    current = Path(args[args.index("--current") + 1])
    rows = current.read_text().splitlines()
    assert rows[0].startswith("service,host,port,category") and len(rows) > 40


def test_the_smallest_plan_case_runs_through_the_runner_with_phases_and_bounds():
    result = bench.run_case(bench.CASES["plan-100"], runs=1, phases=True, limits=False, say=lambda _m: None)
    (run,) = result["runs"]
    assert run["exit"] == 0 and not run["timed_out"], run["stderr_tail"]
    assert run["metrics"]["moves"] >= run["metrics"]["lower_bound_moves"] > 0
    assert run["peak_mib"] > 0 and run["wall_s"] > 0
    phases = result["phases"]
    assert phases["exit"] == 0 and phases["missing"] == [], phases  # a hook renamed away is caught here
    assert set(phases["phases"]) == set(bench.PHASES)
    report = {"command": "test", "started": "-", "finished": "-", "machine": bench.machine(), "cases": [result]}
    text = bench.render(report)
    assert "| plan-100 |" in text and "Done when" in text


def test_the_execute_cases_set_up_and_status_reads_their_journal(tmp_path: Path):
    args = bench.BundledPlan().build(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "reorg", "status", *args], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "2 of" in proc.stdout


def test_phases_are_written_for_a_plan_that_loads_ortools(tmp_path: Path):
    """A console plan that loaded ortools ends by os._exit; the phase runner must still write."""
    from reorg.generate import write_csvs

    write_csvs(generate(1, 2, 100, pairs=0.3, collisions=0.02), tmp_path / "current.csv", tmp_path / "target.csv")
    out = tmp_path / "phases.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--phases", str(out), "plan", "--current",
         str(tmp_path / "current.csv"), "--target", str(tmp_path / "target.csv"), "--out", str(tmp_path / "o"),
         "--temp-ports", "39000-39001", "--time-limit", "30"],
        capture_output=True, text=True, cwd=REPO, env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    figures = __import__("json").loads(out.read_text())
    assert figures["exit"] == 0 and figures["phases"]["plan"] > 0
