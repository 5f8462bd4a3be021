"""What a fleet operator meets in a day with reorg: runbook wording, hints, and one-line errors.

Each test is a scenario found by using the CLI as an operator would; the name says what went
wrong before. Tables are tiny so the planners answer at once; probes are never run (--no-probe).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reorg import commands
from reorg.cli import app
from reorg.model import (
    Binding,
    Candidate,
    Instance,
    Metrics,
    Plan,
    PlanOptions,
    ReorgError,
    Scope,
    Step,
    StepKind,
    Strategy,
)
from reorg.render import describe_step, render_compare_markdown, render_runbook

runner = CliRunner()
K = StepKind

# a and b share 4001 on dev (a collision); a moves to 4002, b keeps 4001. c retires from 4005,
# which d keeps. e moves 4010 -> 4011 alone.
CURRENT = "service,host,port\na,dev,4001\nb,dev,4001\nc,dev,4005\nd,dev,4005\ne,dev,4010\n"
TARGET = "service,port,host\na,4002,\nc,,\ne,4011,\n"


def run(*args: str, **kwargs):
    return runner.invoke(app, list(args), **kwargs)


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch) -> Path:
    """data/current.csv and data/target.csv under tmp_path, which is the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "current.csv").write_text(CURRENT)
    (tmp_path / "data" / "target.csv").write_text(TARGET)
    return tmp_path


def planned(fleet: Path, *extra: str) -> Path:
    result = run("plan", *extra)
    assert result.exit_code == 0, result.output
    return fleet / "plans" / "reorg.json"


def item(runbook: str, contains: str) -> str:
    """The runbook's task item whose title contains ``contains``, with its sub-items."""
    items = ["- [ ] " + part.split("\n\n", 1)[0] for part in runbook.split("\n- [ ] ")[1:]]
    found = [text for text in items if contains in text.splitlines()[0]]
    assert len(found) == 1, (contains, found)
    return found[0]


# ---- runbook: verify what can be verified -------------------------------------------------------


def test_runbook_verify_does_not_expect_a_shared_old_port_to_be_free(fleet: Path):
    # Before: "`nc -z dev 4002 && ! nc -z dev 4001`", which always fails while b keeps 4001.
    planned(fleet)
    text = (fleet / "plans" / "reorg.md").read_text()
    moved_a = item(text, "a: 4001 → 4002")
    assert "! nc -z -w 2 dev 4001" not in moved_a
    assert "`nc -z -w 2 dev 4002`" in moved_a and "stays held by b" in moved_a
    retired = item(text, "c: retire 4005")
    assert "! nc -z -w 2 dev 4005" not in retired and "stays held by d" in retired
    alone = item(text, "e: 4010 → 4011")
    assert "`nc -z -w 2 dev 4011 && ! nc -z -w 2 dev 4010`" in alone


def test_runbook_sharing_ends_when_the_other_binding_leaves():
    # x and y share 5001; y leaves in wave 1, so x (wave 2) leaves a port nobody else holds.
    instance = Instance(
        bindings=(Binding("x", "dev", 5001), Binding("y", "dev", 5001), Binding("z", "dev", 5002)),
        goals=(),
        current_path="data/current.csv",
        target_path="data/target.csv",
    )
    steps = (Step(1, 1, "y", "dev", 5001, 5003, K.MOVE), Step(2, 2, "x", "dev", 5001, 5004, K.MOVE))
    metrics = Metrics(moves=2, temp_moves=0, waves=2, lower_bound_moves=2, lower_bound_waves=1,
                      optimal=False, pairs_split=0)
    text = render_runbook(Plan("greedy", PlanOptions(), steps, metrics), instance, "demo", "demo.json")
    assert "stays held by x" in item(text, "1. y:")
    assert "`nc -z -w 2 dev 5004 && ! nc -z -w 2 dev 5001`" in item(text, "2. x:")
    assert "nc -z -w 2 dev 5002" not in text  # z has no step


def test_next_shows_the_same_sharing_aware_verify(fleet: Path):
    planned(fleet)
    steps = json.loads((fleet / "plans" / "reorg.json").read_text())["steps"]
    number = next(s["step"] for s in steps if s["service"] == "a")
    for s in steps:
        if s["step"] < number:
            assert run("done", str(s["step"]), "--no-probe").exit_code == 0
    shown = run("next", "--no-probe")
    assert shown.exit_code == 0, shown.output
    assert f"Step {number} of" in shown.stdout
    assert "stays held by b" in shown.stdout and "! nc -z dev 4001" not in shown.stdout
    checklist = json.loads(run("next", "--no-probe", "--json").stdout)["checklist"]
    assert "stays held by b" in checklist["verify"]


def test_temp_rollbacks_point_the_clients_back():
    to_temp = describe_step(Step(1, 1, "s", "dev", 3021, 39000, K.TO_TEMP), Scope.HOST)
    from_temp = describe_step(Step(2, 2, "s", "dev", 39000, 3012, K.FROM_TEMP), Scope.HOST, 3021)
    assert "clients you moved back at 3021" in to_temp.rollback
    assert "point its clients back at 39000" in from_temp.rollback


def test_runbook_does_not_send_everyone_to_plans(fleet: Path):
    planned(fleet, "--out", "elsewhere")
    assert "cd plans" not in (fleet / "elsewhere" / "reorg.md").read_text()


# ---- executing from the plan's own folder, as the runbook says ----------------------------------


def test_commands_work_inside_the_plan_folder(fleet: Path, monkeypatch):
    # Before: from plans/, `reorg done 1` said "no plan in plans/", and with --plan the current
    # table (recorded as data/current.csv) was not found, so shared ports were probed as free.
    planned(fleet)
    monkeypatch.chdir(fleet / "plans")
    status = run("status")
    assert status.exit_code == 0, status.output
    assert "reorg.json" in status.stdout and "was not found" not in status.stdout
    report = json.loads(run("done", "1", "--no-probe", "--json").stdout)
    assert report["ok"] and report["notices"] == []
    assert (fleet / "plans" / "reorg.journal.json").is_file()


def test_plan_folder_fallback_ignores_other_json(fleet: Path, monkeypatch):
    monkeypatch.chdir(fleet / "data")
    (fleet / "data" / "package.json").write_text('{"name": "not a plan"}\n')
    result = run("status")
    assert result.exit_code == 2 and "no plan in plans/" in result.stderr


# ---- plan: protect a plan being executed, refuse bad names before solving ------------------------


def test_plan_refuses_to_replace_a_plan_being_executed(fleet: Path):
    plan_path = planned(fleet)
    before = plan_path.read_bytes()
    assert run("done", "1", "--no-probe").exit_code == 0
    again = run("plan")  # the same plan again: fine, the journal still fits
    assert again.exit_code == 0, again.output
    changed = run("plan", "--max-per-wave", "1", "--pairs", "soft")
    assert changed.exit_code == 2
    assert "is being executed" in changed.stderr and "reorg reset" in changed.stderr
    assert plan_path.read_bytes() == before
    assert run("status").exit_code == 0


def test_compare_refuses_to_replace_a_plan_being_executed(fleet: Path):
    assert run("compare", "--strategies", "greedy", "--out", "cmp").exit_code == 0
    assert run("done", "1", "--plan", "cmp/greedy.json", "--no-probe").exit_code == 0
    changed = run("compare", "--strategies", "greedy", "--max-per-wave", "1", "--out", "cmp")
    assert changed.exit_code == 0, changed.output  # a new label (greedy-cap1): nothing replaced
    (fleet / "data" / "target.csv").write_text(TARGET.replace("e,4011", "e,4012"))
    replaced = run("compare", "--strategies", "greedy", "--out", "cmp")
    assert replaced.exit_code == 2 and "cmp/greedy.json is being executed" in replaced.stderr


def test_bad_name_and_out_are_refused_before_reading_or_solving(tmp_path: Path):
    missing = tmp_path / "missing.csv"  # reading it would fail: the name must be judged first
    with pytest.raises(ReorgError, match="plan name 'a b' has a space"):
        commands.plan(missing, missing, tmp_path, Strategy.GREEDY, PlanOptions(), "a b")
    (tmp_path / "file").write_text("")
    with pytest.raises(ReorgError, match="file: exists and is not a directory"):
        commands.plan(missing, missing, tmp_path / "file" / "sub", Strategy.GREEDY, PlanOptions(), "ok")
    with pytest.raises(ReorgError, match="file: exists and is not a directory"):
        commands.compare(missing, missing, PlanOptions(), [], [None], tmp_path / "file")


@pytest.mark.parametrize("name", ["a b", "x;y", "-x", "$(id)"])
def test_names_that_break_pasted_commands_are_refused(fleet: Path, name: str):
    result = run("plan", f"--name={name}")
    assert result.exit_code == 2 and "plan name" in result.stderr and "--name" in result.stderr
    assert not (fleet / "plans").exists()


@pytest.mark.parametrize("value", ["inf", "infinity"])
def test_infinite_time_limit_is_refused(fleet: Path, value: str):
    # Before: accepted and written as JSON `Infinity`, which no command could read back.
    result = run("plan", "--time-limit", value)
    assert result.exit_code == 2 and result.stderr.startswith("error: --time-limit")
    assert not (fleet / "plans").exists()


def test_bad_temp_pool_names_the_option(fleet: Path):
    result = run("plan", "--temp-ports", "39099-39000")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --temp-ports '39099-39000'") and "LO-HI" in result.stderr


# ---- one-line usage errors from the console entry point ------------------------------------------


def reorg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "reorg", *args], check=False, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args, option",
    [
        (("plan", "--max-per-wave", "0"), "--max-per-wave"),
        (("plan", "--strategy", "fastest"), "--strategy"),
        (("check", "--pair-digits", "3"), "--pair-digits"),
        (("done", "three"), "step"),
        (("plan", "--bogus"), "--bogus"),
    ],
)
def test_usage_errors_are_one_line(tmp_path: Path, args, option):
    proc = reorg(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert option in lines[0] and f"reorg {args[0]} --help`" in lines[0]
    assert proc.stdout == ""


def test_help_and_bare_reorg_still_show_help(tmp_path: Path):
    helped = reorg("status", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "--plan" in helped.stdout
    bare = reorg(cwd=tmp_path)
    assert bare.returncode == 2 and "Usage" in bare.stdout + bare.stderr and "check" in bare.stdout


def test_help_shows_the_defaults_of_plan_journal_hosts_and_step():
    # Before: "[default: ...]" inside help text was read as rich markup and vanished.
    def words(*args: str) -> str:  # the help as one line: wrapping depends on the width
        return " ".join(run(*args, "--help").stdout.split())

    status = words("status")
    assert "the only plan in plans/" in status
    assert "NAME.journal.json beside the plan" in status
    assert "hosts.csv beside the plan" in words("next")
    assert "the step reorg next started" in words("done")


# ---- tables: point at the right line, and at the likely cause -----------------------------------


def test_unclosed_quote_names_the_line_it_opens(write_csv):
    current = write_csv("current.csv", 'service,host,port\na,h,3000\nb,h,"30\n01"\n"c,h,3002\n')
    target = write_csv("target.csv", "service,port\n")
    result = run("check", "--current", str(current), "--target", str(target))
    assert result.exit_code == 2
    assert "not a valid CSV file (the quote opened on line 5 is never closed)" in result.stderr


@pytest.mark.parametrize("sep", [";", "\t"])
def test_wrong_separator_is_named(write_csv, sep: str):
    current = write_csv("current.csv", sep.join(["service", "host", "port"]) + "\n" + sep.join("ah1") + "\n")
    target = write_csv("target.csv", "service,port\n")
    result = run("check", "--current", str(current), "--target", str(target))
    assert result.exit_code == 2 and f"separated by ',', not {sep!r}" in result.stderr


def test_check_summary_counts_in_the_singular(write_csv):
    current = write_csv("current.csv", "service,host,port\na,h,3000\n")
    target = write_csv("target.csv", "service,port\nb,3001\n")
    out = run("check", "--current", str(current), "--target", str(target)).stdout
    assert "1 (1 service on 1 host)" in out and "1 service (informational)" in out
    assert "1 services" not in out and "1 hosts" not in out


# ---- status and compare wording ----------------------------------------------------------------


def test_status_of_an_empty_plan_says_so(fleet: Path):
    (fleet / "data" / "current.csv").write_text("service,host,port\na,dev,4001\n")
    (fleet / "data" / "target.csv").write_text("service,port\n")
    planned(fleet)
    out = run("status").stdout
    assert "the plan has no steps" in out and "all 0 steps" not in out


def test_compare_markdown_single_point_front(fleet: Path):
    # One plan, so the front is one point: "fewer waves cost more moves" would be false.
    result = commands.compare(
        Path("data/current.csv"), Path("data/target.csv"), PlanOptions(), [Candidate.CPSAT_MOVES], [None]
    )
    text = render_compare_markdown(result)
    assert "a single point" in text and "fewer waves cost more moves" not in text
    assert "each service restarts once" not in text
