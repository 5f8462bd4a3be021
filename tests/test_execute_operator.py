"""Execution as an operator meets it (issue 12 items 1-3, issue 13, issue 8 item 5).

Status-aware checks (stopped, unsure), the plan's own `held` list instead of the current table,
`next [STEP] [--host]` recording `started`, a bare `done` that records only the started step,
batches, `undo` that asks, `reset` that checks what it moves, and plans verified before use.
Probes reach only loopback: each test maps its hosts to its own 127.x.y.z address.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from execsupport import Listeners, loopback, run, run_json
from reorg import journal as jr
from reorg import lock as lk
from reorg.model import Metrics, Plan, PlanOptions, Scope, Step, StepKind
from reorg.planfile import read_plan
from reorg.replay import replay, step_checks


class Fleet(Listeners):
    """Listening sockets on one loopback address, by port."""

    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def listen(self, port: int) -> None:
        self.open(port, self.address, port)

    def stop(self, port: int) -> None:
        self.shut(port)


@pytest.fixture
def here(in_tmp: Path):
    fleet = Fleet(loopback())
    yield fleet
    fleet.close()


def make_plan(root: Path, current: str, target: str, address: str | None = None) -> Path:
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "current.csv").write_text(current)
    (root / "data" / "target.csv").write_text(target)
    made = run("plan")
    assert made.exit_code == 0, made.output
    if address is not None:
        (root / "plans" / "hosts.csv").write_text(f"host,address\ndev,{address}\n")
    return root / "plans" / "reorg.json"


def events(plan_path: Path) -> list[tuple[str, int]]:
    journal = jr.load_journal(jr.journal_path_for(plan_path))
    return [(e.event.value, e.step) for e in journal.events] if journal else []


# ---- 1. status-aware steps -----------------------------------------------------------------------


def test_a_stopped_binding_is_not_expected_to_answer(here: Fleet, tmp_path: Path):
    # Before: the post-check wanted the stopped service to answer on its new port: failed, then --force.
    plan = make_plan(tmp_path, "service,host,port,status\ns,dev,4001,stopped\n", "service,port\ns,4002\n", here.address)
    assert run("next").exit_code == 0
    done = run_json("done")
    assert done["ok"], done
    assert [(c["port"], c["expect"], c["outcome"]) for c in done["checks"]] == [(4001, "free", "ok")]
    assert done["status"] == "stopped" and "stays stopped" in done["checklist"]["change"]
    undo = run_json("undo", "--yes")
    assert undo["ok"] and [(c["port"], c["expect"]) for c in undo["checks"]] == [(4002, "free")]
    assert "leave it stopped" in undo["checklist"]["change"]
    assert events(plan) == [("started", 1), ("done", 1), ("undone", 1)]


def test_an_unsure_binding_is_checked_for_what_can_be_checked(here: Fleet, tmp_path: Path):
    make_plan(tmp_path, "service,host,port,status\nu,dev,4001,unsure\n", "service,port\nu,4002\n", here.address)
    shown = run("next")
    assert shown.exit_code == 0 and "(unsure)" in shown.stdout and "status on dev is unsure" in shown.stdout
    done = run_json("done")  # it does not run: no answer on 4002 is reported, not failed
    assert done["ok"]
    assert [(c["port"], c["outcome"]) for c in done["checks"]] == [(4002, "skipped"), (4001, "ok")]
    assert "unsure" in done["checks"][0]["detail"]
    assert not done["recorded"].get("unverified")  # every check could run


def test_the_rollback_of_a_retirement_never_starts_onto_a_held_port():
    # x (stopped) and y (running) share 4005; x retires in step 1, y leaves 4005 in step 2.
    plan = Plan(
        "hand", PlanOptions(), (
            Step(1, 1, "x", "dev", 4005, None, StepKind.RETIRE),
            Step(2, 2, "y", "dev", 4005, 4006, StepKind.MOVE),
        ), Metrics(2, 0, 2, 2, 2, True, 0),
    )
    from reorg.journal import Event, EventKind

    after = replay(plan, (Event(1, EventKind.DONE, 1, "t"),), base={("x", "dev"): 4005, ("y", "dev"): 4005})
    for status in ("stopped", "running"):
        pre, post = step_checks(plan, after, plan.steps[0], reverse=True, status=status)
        assert all(spec.skip for spec in pre), status  # 4005 is held by y: cannot be shown free
        answers = [spec for spec in post if spec.expect.value == "in-use"]
        assert all(spec.skip for spec in answers), status  # y's answer would prove nothing
    from reorg.execution import StepReport
    from reorg.render.execution import undo_text

    report = StepReport("undo", plan.steps[0], Scope.HOST, (), None, True, "", after, 2, status="running")
    assert "do not start it: port 4005 is held by y" in undo_text(plan.steps[0], report)[2]
    stopped = StepReport("undo", plan.steps[0], Scope.HOST, (), None, True, "", after, 2, status="stopped")
    assert "leave it stopped" in undo_text(plan.steps[0], stopped)[2]


# ---- 2. the plan carries what execution needs -------------------------------------------------------


def test_shared_ports_come_from_the_plan_not_the_table(here: Fleet, tmp_path: Path):
    # f and g share 4030; f moves, g stays. Before: without data/current.csv (a copied plan, run
    # elsewhere) "4030 stays held by g" was unknown and the check failed on g's answer.
    plan = make_plan(
        tmp_path, "service,host,port\nf,dev,4030\ng,dev,4030\n", "service,port\nf,4031\ng,4030\n", here.address
    )
    assert [s.service for s in read_plan(plan).plan.steps] == ["f"]
    (tmp_path / "data" / "current.csv").unlink()
    done = run("done", "1", "--no-probe", "--json")
    assert done.exit_code == 0 and "was not found" not in done.stderr
    check = json.loads(done.stdout)["checks"][1]
    assert check["port"] == 4030 and "stays held by g" in check["detail"]


def test_a_changed_table_is_reported_on_stderr_with_what_to_do(here: Fleet, tmp_path: Path):
    make_plan(tmp_path, "service,host,port\nf,dev,4030\n", "service,port\nf,4031\n", here.address)
    (tmp_path / "data" / "current.csv").write_text("service,host,port\nf,dev,4031\n")
    status = run("status")
    assert status.exit_code == 0 and "changed since the plan" not in status.stdout
    assert "data/current.csv changed since the plan was made" in status.stderr and "reorg state" in status.stderr


# ---- 3. started, done, undone ----------------------------------------------------------------------------

CHAIN = (
    "service,host,port\na,dev,4001\nb,dev,4002\nc,dev,4003\nm,mac-mini,4010\nn,mac-mini,4011\n",
    "service,port\na,4002\nb,4003\nc,4004\nm,4012\nn,4013\n",
)


def test_done_typed_twice_refuses_instead_of_recording_the_next_step(here: Fleet, tmp_path: Path):
    plan = make_plan(tmp_path, *CHAIN)
    first = run("next", "--no-probe")
    assert first.exit_code == 0 and "step 1 is started" in first.stdout
    assert run("next", "--no-probe").stdout == first.stdout.replace("is started:", "is started (started before: shown again):")
    assert run("done", "--no-probe").exit_code == 0
    again = run("done", "--no-probe")
    assert again.exit_code == 2 and len(again.stderr.splitlines()) == 1
    assert "step 1 is already done; next: `reorg next` (step 2)" in again.stderr
    assert events(plan) == [("started", 1), ("done", 1)]


def test_next_takes_a_step_or_a_host(here: Fleet, tmp_path: Path):
    plan = make_plan(tmp_path, *CHAIN)
    steps = {s.service: s for s in read_plan(plan).plan.steps}
    mac = run_json("next", "--host", "mac-mini", "--no-probe")
    assert mac["step"]["host"] == "mac-mini" and mac["recorded"]["event"] == "started"
    chosen = steps["n"].step if mac["step"]["service"] == "m" else steps["m"].step
    other = run_json("next", str(chosen), "--no-probe")
    assert other["step"]["step"] == chosen and other["started"] == [mac["step"]["step"], chosen]
    bare = run("done", "--no-probe")  # two are started: which one was performed?
    assert bare.exit_code == 2 and "are started; name the one you performed" in bare.stderr
    both = run_json("done", "--host", "mac-mini", "--no-probe")
    assert both["action"] == "done-batch" and both["ok"]
    assert sorted(r["step"]["step"] for r in both["steps"]) == sorted([mac["step"]["step"], chosen])
    nowhere = run("next", "--host", "windows-gpu", "--no-probe")
    assert nowhere.exit_code == 2 and "no step on host 'windows-gpu'" in nowhere.stderr
    ahead = run("next", str(steps["a"].step), "--no-probe")  # a waits for b: a later wave
    assert ahead.exit_code == 2 and "is not finished" in ahead.stderr


def test_done_records_a_list_or_a_wave_each_post_checked(here: Fleet, tmp_path: Path):
    plan = make_plan(tmp_path, *CHAIN, address=here.address)
    steps = read_plan(plan).plan.steps
    wave1_dev = [s for s in steps if s.wave == 1 and s.host == "dev"]
    assert len(wave1_dev) == 1 and wave1_dev[0].service == "c"
    here.listen(4004)  # c now answers on its new port; 4003 is free
    batch = run_json("done", "--wave", "1", "--host", "dev")
    assert batch["ok"] and [r["step"]["service"] for r in batch["steps"]] == ["c"]
    assert all(c["outcome"] == "ok" for c in batch["steps"][0]["checks"])
    numbers = ",".join(str(s.step) for s in steps if s.host == "mac-mini")
    failed = run_json("done", numbers)  # mac-mini has no address: recorded, but unverified
    assert failed["ok"] and failed["unverified"] == sorted(int(n) for n in numbers.split(","))
    before = events(plan)
    rest = run("done", "1-99", "--no-probe")
    assert rest.exit_code == 2 and "the plan has no step 6" in rest.stderr
    assert events(plan) == before  # nothing recorded for a bad list
    b = next(s for s in steps if s.service == "b")
    bad = run_json("done", str(b.step))  # b has not moved: 4003 does not answer
    assert not bad["ok"] and bad["recorded"]["event"] == "failed"
    assert "unverified" in run("status").stdout


def test_undo_asks_and_refuses_without_a_terminal(here: Fleet, tmp_path: Path):
    plan = make_plan(tmp_path, *CHAIN)
    assert run("done", "1", "--no-probe").exit_code == 0
    refused = run("undo", "--no-probe")
    assert refused.exit_code == 2 and len(refused.stderr.splitlines()) == 1
    assert "run `reorg undo --yes`" in refused.stderr
    assert events(plan) == [("done", 1)]
    assert run("undo", "--no-probe", "--yes").exit_code == 0


def test_undo_json_carries_the_rollback_checklist(here: Fleet, tmp_path: Path):
    # Issue 13: `undo --json` returned the forward step's checklist.
    make_plan(tmp_path, *CHAIN)
    assert run("done", "1", "--no-probe").exit_code == 0
    step = read_plan(tmp_path / "plans" / "reorg.json").plan.steps[0]
    for args in (("undo", "--preview", "--no-probe"), ("undo", "--yes", "--no-probe")):
        checklist = run_json(*args)["checklist"]
        assert checklist["title"].startswith(f"Undo step 1: {step.service} on {step.host}: {step.to_port} → {step.from_port}")
        assert f"back from {step.to_port} to {step.from_port}" in checklist["change"]
        assert f"answers on {step.from_port} again" in checklist["verify"]


@pytest.mark.parametrize("which", ["data/current.csv", "plans/reorg.json", "plans/notes.txt"])
def test_reset_refuses_a_file_that_is_not_a_journal(here: Fleet, tmp_path: Path, which: str):
    make_plan(tmp_path, *CHAIN)
    (tmp_path / "plans" / "notes.txt").write_text("my notes\n")
    before = (tmp_path / which).read_bytes()
    result = run("reset", "--journal", which, "--yes")
    assert result.exit_code == 2 and "nothing was moved" in result.stderr and len(result.stderr.splitlines()) == 1
    assert (tmp_path / which).read_bytes() == before
    assert not list(tmp_path.rglob("*.bak-*"))


def test_reset_still_moves_a_corrupt_journal_aside(here: Fleet, tmp_path: Path):
    plan = make_plan(tmp_path, *CHAIN)
    jr.journal_path_for(plan).write_text("{not json")
    assert run("reset").exit_code == 0
    assert (plan.parent / "reorg.journal.json.bak-1").exists()


# ---- issue 8: a plan edited by hand is verified before anything runs ------------------------------------


def _edit(plan: Path, change) -> None:
    data = json.loads(plan.read_text())
    change(data["steps"])
    plan.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _onto_held(steps):
    steps[0]["to_port"] = 4001  # a's port (a moves only in a later wave)


def _wrong_from(steps):
    steps[0]["from_port"] += 100


def _twice_in_a_wave(steps):
    first = dict(steps[0])
    steps.insert(1, dict(first, step=2, from_port=first["to_port"], to_port=4999))
    for number, step in enumerate(steps, start=1):
        step["step"] = number


def _same_port(steps):
    steps[0]["to_port"] = steps[0]["from_port"]


@pytest.mark.parametrize(
    ("edit", "rule"),
    [(_onto_held, "port-busy"), (_wrong_from, "from-port"), (_twice_in_a_wave, "wave-twice"), (_same_port, "unchanged")],
)
def test_next_and_done_refuse_a_plan_that_breaks_a_rule(here: Fleet, tmp_path: Path, edit, rule):
    plan = make_plan(tmp_path, *CHAIN)
    _edit(plan, edit)
    for args in (("next", "--no-probe"), ("done", "1", "--no-probe")):
        result = run(*args)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
        assert f"the plan breaks rule '{rule}'" in result.stderr, result.stderr
    assert not jr.journal_path_for(plan).exists()


# ---- issue 13: breaking a stale lock never removes a live session's lock ----------------------------------


def test_breaking_a_stale_lock_never_removes_a_lock_taken_meanwhile(tmp_path: Path, monkeypatch):
    path = tmp_path / "x.journal.lock"
    path.write_text(json.dumps({"pid": 2**22 + 1, "host": socket.gethostname(), "time": "t"}))
    stale, identity = lk._read_lock_file(path)
    assert stale.alive() is False
    # Another breaker removed the stale lock and session B took a new one; then, at the worst
    # moment (the old code's rename), session C creates a lock too.
    path.unlink()
    live_b = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": "b"})
    path.write_text(live_b)
    real_rename = os.rename

    def rename_then_c_locks(src, dst):
        real_rename(src, dst)
        Path(src).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": "c"}))

    monkeypatch.setattr(os, "rename", rename_then_c_locks)
    with pytest.raises(Exception, match="taken by another session"):
        lk._break_lock(path, identity)
    assert path.read_text() == live_b  # B's lock is still there, untouched


# ---- the end of a migration, a changed target, a terminal that confirms ---------------------------------


def test_the_last_done_counts_the_unverified_steps(here: Fleet, tmp_path: Path):
    make_plan(tmp_path, *CHAIN)
    last = run("done", "1-5", "--no-probe")
    assert last.exit_code == 0, last.output
    assert "5 of the 5 steps are unverified" in last.stdout and "verify them by hand" in last.stdout


def test_a_changed_target_is_reported_on_stderr(here: Fleet, tmp_path: Path):
    make_plan(tmp_path, *CHAIN)
    (tmp_path / "data" / "target.csv").write_text(CHAIN[1].replace("c,4004", "c,4005"))
    status = run("status")
    assert status.exit_code == 0
    assert "data/target.csv changed since the plan was made" in status.stderr and "re-plan" in status.stderr


def test_undo_on_a_terminal_shows_the_rollback_and_asks(here: Fleet, tmp_path: Path):
    import pty
    import subprocess
    import sys

    plan = make_plan(tmp_path, *CHAIN)
    assert run("done", "1", "--no-probe").exit_code == 0

    def undo_answering(answer: bytes) -> tuple[int, str]:
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "reorg", "undo", "--no-probe"],
            stdin=follower, stdout=follower, stderr=follower, cwd=tmp_path,
        )
        os.close(follower)
        os.write(leader, answer)
        output = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        os.close(leader)
        return proc.wait(timeout=60), output.decode("utf-8", "replace")

    code, shown = undo_answering(b"n\n")
    assert code == 1 and "Undo step 1:" in shown and "record it as undone?" in shown
    assert events(plan) == [("done", 1)]
    code, shown = undo_answering(b"y\n")
    assert code == 0 and "step 1 is recorded as undone" in shown, shown
    assert events(plan) == [("done", 1), ("undone", 1)]


def test_hosts_init_copies_each_hosts_os_from_the_data_folder(here: Fleet, tmp_path: Path):
    make_plan(tmp_path, *CHAIN)
    (tmp_path / "data" / "hosts.csv").write_text("host,address,os,reserved\ndev,,linux,\nmac-mini,,macos,\n")
    assert run("hosts", "init").exit_code == 0
    assert (tmp_path / "plans" / "hosts.csv").read_text() == "host,address,os\ndev,,linux\nmac-mini,,macos\n"
