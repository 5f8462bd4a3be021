"""CLI basics (issue 12, item 8): examples in every --help, flags shown as flags, plan --json and
--detailed-exitcode, status's exit code, and Ctrl-C at any moment (``error: aborted``, exit 130,
nothing half-written)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from test_execute import write_plan
from typer.testing import CliRunner

from execsupport import Ports
from reorg import journal as jr
from reorg.cli import EXAMPLES, app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def sigint_default() -> None:
    """In the child: SIGINT as a terminal gives it. A shell's background job (``cmd &``) starts
    with SIGINT ignored, and Python keeps an inherited SIG_IGN, so a test run from one could
    not interrupt its children."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def reorg(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m reorg ARGS`` in a fresh interpreter, as the console script runs it."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "reorg", *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout,
        preexec_fn=sigint_default,
    )


def walk(command, path: tuple[str, ...] = ()):
    """Every command of the app, groups included, with the words that name it."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, (*path, name))


COMMANDS = list(walk(typer.main.get_command(app)))


def help_of(path: tuple[str, ...]) -> str:
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_walk_sees_every_command():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "plan", "status", "done", "hosts", "hosts init", "scan", "patch", "state"} <= names
    assert len(names) >= 18


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=lambda p: " ".join(p) or "reorg")
def test_every_help_has_examples_that_parse(path: tuple[str, ...]):
    text = help_of(path)
    assert "Examples:" in text, f"`reorg {' '.join(path)} --help` has no examples"
    shown = [line.strip() for line in text.split("Examples:", 1)[1].splitlines() if line.strip()]
    assert shown and all(line.startswith("reorg ") for line in shown), shown
    for line in shown:
        words = shlex.split(line.split("  # ", 1)[0])
        assert words[0] == "reorg"
        # every example names a real command and options it has: click parses it (nothing runs)
        command, rest, names = typer.main.get_command(app), words[1:], []
        while getattr(command, "commands", None) and rest and rest[0] in command.commands:
            names.append(rest[0])
            command, rest = command.commands[rest[0]], rest[1:]
        assert tuple(names[: len(path)]) == path, f"{line!r} is not an example of `reorg {' '.join(path)}`"
        assert not getattr(command, "commands", None), f"{line!r} names no command"
        with command.make_context("reorg", list(rest), resilient_parsing=False):
            pass


def test_boolean_flags_are_shown_as_flags_and_take_no_value():
    for path, _ in COMMANDS:
        text = help_of(path)
        assert "<bool>" not in text, f"`reorg {' '.join(path)} --help` shows a flag as taking a value"
    assert "  --json " in help_of(("status",)) and "  --no-probe " in help_of(("next",))
    refused = reorg("status", "--json", "true")
    assert refused.returncode == 2 and refused.stderr.startswith("error: ") and len(refused.stderr.splitlines()) == 1


def test_examples_are_listed_for_every_command_and_nothing_else():
    leaves = {path[-1] for path, command in COMMANDS if path and not getattr(command, "commands", None)}
    groups = {path[-1] if path else "reorg" for path, command in COMMANDS if getattr(command, "commands", None)}
    assert set(EXAMPLES) == leaves | groups


# ---- plan --json, --detailed-exitcode --------------------------------------------------------------


def test_plan_json_is_a_machine_summary(tmp_path: Path):
    result = reorg("plan", "--out", str(tmp_path), "--json", "--time-limit", "20")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert result.stdout == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert data["format"] == "reorg-plan-summary/1" and data["verified"] is True
    assert data["files"] == [(tmp_path / "reorg.md").as_posix(), (tmp_path / "reorg.json").as_posix()]
    written = json.loads((tmp_path / "reorg.json").read_text())
    assert data["metrics"] == written["metrics"] and data["steps"] == len(written["steps"]) > 0
    assert data["bounds"] == {"moves": written["metrics"]["lower_bound_moves"], "waves": written["metrics"]["lower_bound_waves"]}
    assert data["optimal"] is written["metrics"]["optimal"]
    assert "cpsat plan" not in result.stdout  # the text summary is not mixed in


def test_detailed_exitcode_says_whether_there_is_anything_to_do(tmp_path: Path):
    steps = reorg("plan", "--out", str(tmp_path / "a"), "--detailed-exitcode", "--time-limit", "20")
    assert steps.returncode == 2 and "wrote" in steps.stdout, steps.stderr
    (tmp_path / "current.csv").write_text("service,host,port\nsvc,dev,3001\n")
    (tmp_path / "target.csv").write_text("service,port,host\nsvc,3001,dev\n")
    same = ["--current", str(tmp_path / "current.csv"), "--target", str(tmp_path / "target.csv")]
    nothing = reorg("plan", *same, "--out", str(tmp_path / "b"), "--detailed-exitcode", cwd=tmp_path)
    assert nothing.returncode == 0, nothing.stderr
    assert json.loads((tmp_path / "b" / "reorg.json").read_text())["steps"] == []
    # every error is 1 with the flag (2 means "steps to run"), 2 without it, as before
    for bad in (["--current", str(tmp_path / "missing.csv")], ["--time-limit", "soon"]):
        with_flag = reorg("plan", *bad, "--out", str(tmp_path / "c"), "--detailed-exitcode")
        assert with_flag.returncode == 1 and with_flag.stderr.startswith("error: "), with_flag.stderr
        assert reorg("plan", *bad, "--out", str(tmp_path / "c")).returncode == 2
    assert not (tmp_path / "c").exists()


# ---- status ----------------------------------------------------------------------------------------


def test_status_exits_1_while_a_step_is_failed(tmp_path: Path, monkeypatch, ports: Ports):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REORG_HERE", "dev")
    old, new = Ports.closed(), Ports.closed()
    write_plan(tmp_path, steps=[(1, 1, "svc", "dev", old, new, "move")], current=[("svc", "dev", old)])
    assert runner.invoke(app, ["status"]).exit_code == 0
    assert runner.invoke(app, ["next"]).exit_code == 0
    assert runner.invoke(app, ["status"]).exit_code == 0  # started is not dirty
    assert runner.invoke(app, ["done"]).exit_code == 1  # nothing answers on the new port: failed
    dirty = runner.invoke(app, ["status"])
    assert dirty.exit_code == 1 and "failed check" in dirty.stdout
    assert runner.invoke(app, ["status", "--json"]).exit_code == 1
    ports.listen(old)
    assert runner.invoke(app, ["undo", "--yes"]).exit_code == 0  # rolled back: clean again
    assert runner.invoke(app, ["status"]).exit_code == 0


# ---- Ctrl-C ----------------------------------------------------------------------------------------


def assert_aborted(run: subprocess.CompletedProcess | tuple[int, str]) -> None:
    code, err = (run.returncode, run.stderr) if isinstance(run, subprocess.CompletedProcess) else run
    assert code == 130, err[-2000:]
    assert "error: aborted" in err.splitlines() and "Traceback" not in err, err[-2000:]


@pytest.fixture
def demo(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(jr.CRASH_ENV, raising=False)
    return write_plan(tmp_path)


@pytest.mark.parametrize("point", jr.CRASH_POINTS)
def test_ctrl_c_at_each_write_point_leaves_nothing_half_written(demo: Path, point: str):
    root = demo.parent.parent
    assert runner.invoke(app, ["done", "1", "--no-probe"]).exit_code == 0
    before = jr.journal_path_for(demo).read_bytes()
    interrupted = reorg("done", "2", "--no-probe", cwd=root, env={jr.INTERRUPT_ENV: point})
    assert_aborted(interrupted)
    after = jr.journal_path_for(demo).read_bytes()
    if point == "before-unlock":  # the journal was renamed into place: step 2 is recorded, whole
        assert after != before and json.loads(after)
    else:
        assert after == before
    # no temp file, no lock left behind: the next command needs no --force-unlock
    assert sorted(p.name for p in demo.parent.iterdir()) == ["demo.journal.json", "demo.json"]
    assert reorg("done", "3", "--no-probe", cwd=root).returncode == 0


def interrupt_when(args: list[str], cwd: Path, *markers, delay: float = 0.0, python: tuple[str, ...] = ()) -> tuple[int, str, float]:
    """Run reorg, send SIGINT once stderr has shown each marker in turn; (exit code, stderr, seconds
    from the signal to the exit)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    child = subprocess.Popen(
        [sys.executable, *python, "-m", "reorg", *args], cwd=cwd, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default,
    )
    seen, waiting = [], list(markers)
    assert child.stderr is not None
    for line in child.stderr:
        seen.append(line)
        if waiting and (waiting[0](line) if callable(waiting[0]) else waiting[0] in line):
            waiting.pop(0)
        if not waiting:
            break
    assert not waiting, f"never saw {waiting[0]!r}: {''.join(seen)[-2000:]}"
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    rest = child.stderr.read()
    code = child.wait(timeout=60)
    return code, "".join(seen) + rest, time.monotonic() - sent


def test_ctrl_c_during_start_up_imports(tmp_path: Path):
    """-X importtime lists each import as it ends: once typer has, reorg.cli is still importing."""
    typer_imported = lambda line: line.startswith("import time:") and line.split("|")[-1].strip() == "typer"  # noqa: E731
    code, err, _ = interrupt_when(["--version"], tmp_path, typer_imported, python=("-X", "importtime"))
    assert "typer" in err
    assert_aborted((code, err))


def test_ctrl_c_during_the_solver_stops_it_at_once_and_writes_nothing(tmp_path: Path):
    from reorg.generate import generate, write_csvs

    # hard pairs and long cycles under a wave cap: the joint model's solve takes ~10 s uninterrupted
    fleet = generate(11, 2, 600, pairs=0.3, cycles=0.4, chains=0.2, swaps=0.1, fixed=0.1, max_cycle=12)
    write_csvs(fleet, tmp_path / "c.csv", tmp_path / "t.csv")
    args = ["plan", "--current", "c.csv", "--target", "t.csv", "--out", "out",
            "--max-per-wave", "20", "--time-limit", "60", "--verbose"]
    # once CP-SAT has started the joint model's search
    code, err, seconds = interrupt_when(args, tmp_path, "joint model", "Starting search", delay=0.2)
    assert_aborted((code, err))
    assert seconds < 5, f"{seconds:.1f} s from Ctrl-C to exit"
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "t.csv"]


def test_ctrl_c_stops_a_cp_sat_search_at_once():
    """The gateway itself (reorg.planners.sat), whatever the planners decide to solve."""
    script = (
        "import logging, sys, time\n"
        "from reorg.planners.sat import CpModel, new_solver\n"
        "m = CpModel(); xs = [m.new_int_var(0, 180, f'x{i}') for i in range(60)]\n"
        "m.add_all_different(xs)\n"
        "for i in range(59): m.add(xs[i] + xs[i + 1] != (2 * i) % 17)\n"
        "m.minimize(sum((i % 7) * x for i, x in enumerate(xs)))\n"
        "solver = new_solver(60.0, logging.getLogger('t'))\n"
        "print('solving', file=sys.stderr, flush=True); t = time.monotonic()\n"
        "try:\n"
        "    solver.solve(m); print('finished', file=sys.stderr)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', file=sys.stderr, flush=True)\n"
        "time.sleep(0.5)\n"
        "print('alive', file=sys.stderr)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    assert child.stderr is not None and child.stderr.readline() == "solving\n"
    time.sleep(0.5)
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    err = child.stderr.read()
    assert child.wait(timeout=60) == 0 and err.split() == ["interrupted", "alive"], err
    assert time.monotonic() - sent < 3


# ---- colour ----------------------------------------------------------------------------------------


def test_colour_is_reorgs_own_and_added_after_escaping():
    from reorg.cli import colourise
    from reorg.escape import terminal_text
    from reorg.render.table import text_table

    evil = "\x1b[32mfailed\x1b[0m"  # a name that would paint itself green and say "failed"
    table = text_table(
        [["1", "failed", evil, "1 ok, 1 failed"], ["2", "done", "failed", "2 skipped"]],
        headers=["seq", "event", "binding", "checks"], tablefmt="simple", disable_numparse=True,
    )
    painted = colourise(terminal_text(table))
    red, green, yellow, reset = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[0m"
    rows = painted.splitlines()[2:]
    assert rows[0].split()[1] == f"{red}failed{reset}" and f"1 {green}ok{reset}, 1 {red}failed{reset}" in rows[0]
    assert rows[1].split()[1] == f"{green}done{reset}" and f"2 {yellow}skipped{reset}" in rows[1]
    assert "\\x1b[32mfailed\\x1b[0m" in rows[0]  # the name's codes are shown, not acting ...
    assert rows[1].split()[2] == "failed"  # ... and a name that is a status word is not painted
    codes = painted.split("\x1b")[1:]
    assert all(c.startswith(("[31m", "[32m", "[33m", "[0m")) for c in codes)
    assert len(codes) == 10  # 5 words painted, each opened and reset: nothing else
    assert colourise("no table here\nfailed  step 3") == "no table here\nfailed  step 3"


def test_colour_on_force_color_never_with_no_color_or_when_piped(demo: Path):
    assert runner.invoke(app, ["done", "1", "--no-probe"]).exit_code == 0
    forced = runner.invoke(app, ["history"], env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert "\x1b[33munverified\x1b[0m" in forced.stdout and "\x1b[33mskipped\x1b[0m" in forced.stdout
    for env in ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, {"FORCE_COLOR": None, "NO_COLOR": None}, {"FORCE_COLOR": "0", "NO_COLOR": None}):
        plain = runner.invoke(app, ["history"], env=env)
        assert plain.exit_code == 0 and "\x1b" not in plain.stdout, env
    piped = reorg("history", cwd=demo.parent.parent, env={"NO_COLOR": ""})  # a pipe is not a terminal
    assert piped.returncode == 0 and "unverified" in piped.stdout and "\x1b" not in piped.stdout
    error = runner.invoke(app, ["next", "99", "--no-probe"], env={"FORCE_COLOR": "1", "NO_COLOR": None})
    assert error.exit_code == 2 and error.stderr.startswith("\x1b[31m\x1b[1merror:\x1b[0m ")


# ---- README's quick start --------------------------------------------------------------------------


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in quick.strip().splitlines()]


def test_ci_runs_the_readmes_test_command_as_written():
    plan, tests = readme_commands()
    assert plan.startswith("python3 ") and tests.startswith("python3 ")  # nothing but python3 first
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ci[-1] == tests
    assert f"{tests}" in (ROOT / "README.md").read_text().split("## Development", 1)[1]


def test_bootstrap_without_ensurepip_makes_a_venv_and_finds_a_pip_for_it(tmp_path: Path, monkeypatch):
    """As on Debian/Ubuntu without python3-venv: .venv is made without pip, and pip comes from
    outside it (the system's, with --python). The install itself is tried by hand in a fresh
    clone (it downloads the dependencies): see the report of issue 12."""
    import bootstrap

    monkeypatch.setenv(bootstrap.NO_ENSUREPIP, "1")
    env = tmp_path / "v"
    bootstrap.create(env)
    python = bootstrap.venv_python(env)
    assert python.exists() and not bootstrap.has_pip(python)
    assert bootstrap.pip_command(env) == [sys.executable, "-m", "pip", "--python", str(python)]
    bootstrap.create(env)  # an existing .venv is reused
    assert python.exists()


# ---- next/done at scale ----------------------------------------------------------------------------


def test_the_plan_is_verified_once_until_its_journal_exists(demo: Path, monkeypatch):
    from reorg.commands import execution

    calls = []
    real = execution.verify_planfile
    monkeypatch.setattr(execution, "verify_planfile", lambda planfile: calls.append(planfile.sha256) or real(planfile))
    for args in (["next", "--no-probe"], ["done", "--no-probe"], ["next", "--no-probe"], ["done", "--no-probe"], ["done", "4", "--no-probe"]):
        assert runner.invoke(app, args).exit_code == 0
    assert len(calls) == 1  # the first `next`, before the journal existed
    # a plan changed since is refused by its journal's hash, before anything runs
    text = demo.read_text()
    demo.write_text(text.replace('"to_port": 4031', '"to_port": 4032'))
    refused = runner.invoke(app, ["done", "5", "--no-probe"])
    assert refused.exit_code == 2 and "changed" in refused.stderr


def test_step_ranges_are_written_as_runs():
    from reorg.commands.execution import _ranges

    assert _ranges([9, 1, 2, 3, 5, 7, 8]) == "1-3,5,7-9"
    assert _ranges([4]) == "4" and _ranges([]) == ""
