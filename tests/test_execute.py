"""Executing a plan through the CLI: status, next, done, undo, history, reset.

Each test works in its own directory with ``plans/NAME.json`` written directly as a
``reorg-plan/1`` object and the ``data/current.csv`` it names. Probes only ever reach 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from execsupport import Ports
from reorg import journal as jr
from reorg import replay as rp
from reorg.cli import app
from reorg.planfile import read_plan

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent

# (step, wave, service, host, from_port, to_port, kind): a chain, a swap through a temp port,
# a retirement, a move off a port shared with a staying binding (g), and a host without address.
DEMO_STEPS = [
    (1, 1, "b", "dev", 4002, 4003, "move"),
    (2, 1, "c", "dev", 4010, 39000, "to-temp"),
    (3, 1, "e", "dev", 4020, None, "retire"),
    (4, 1, "f", "dev", 4030, 4031, "move"),
    (5, 1, "h", "mac-mini", 4040, 4041, "move"),
    (6, 2, "a", "dev", 4001, 4002, "move"),
    (7, 2, "d", "dev", 4011, 4010, "move"),
    (8, 3, "c", "dev", 39000, 4011, "from-temp"),
]
DEMO_CURRENT = [
    ("a", "dev", 4001), ("b", "dev", 4002), ("c", "dev", 4010), ("d", "dev", 4011), ("e", "dev", 4020),
    ("f", "dev", 4030), ("g", "dev", 4030), ("h", "mac-mini", 4040), ("z", "dev", 4050),
]


def write_plan(root: Path, steps=DEMO_STEPS, current=DEMO_CURRENT, name: str = "demo") -> Path:
    """Write ``data/current.csv`` and ``plans/NAME.json`` (reorg-plan/1) under ``root``."""
    (root / "data").mkdir(exist_ok=True)
    (root / "plans").mkdir(exist_ok=True)
    table = "service,host,port\n" + "".join(f"{s},{h},{p}\n" for s, h, p in current)
    (root / "data" / "current.csv").write_text(table)
    waves = max((s[1] for s in steps), default=0)
    plan = {
        "format": "reorg-plan/1",
        "strategy": "greedy",
        "options": {
            "scope": "host", "temp_ports": "39000-39099", "max_per_wave": None, "pairs": "hard",
            "objective": "moves", "time_limit": 10.0, "pair_digits": 1,
        },
        "inputs": {
            "current": {"path": "data/current.csv", "sha256": hashlib.sha256(table.encode()).hexdigest()},
            "target": {"path": "data/target.csv", "sha256": "0" * 64},
        },
        "metrics": {
            "moves": len(steps), "temp_moves": sum(s[6] == "to-temp" for s in steps), "waves": waves,
            "lower_bound_moves": len(steps), "lower_bound_waves": waves, "optimal": True, "pairs_split": 0,
        },
        "steps": [
            dict(zip(("step", "wave", "service", "host", "from_port", "to_port", "kind"), s, strict=False)) for s in steps
        ],
        "notes": [],
    }
    path = root / "plans" / f"{name}.json"
    path.write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    return path


@pytest.fixture
def demo(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(jr.CRASH_ENV, raising=False)
    return write_plan(tmp_path)


def run(*args: str):
    return runner.invoke(app, list(args))


def run_json(*args: str) -> dict:
    result = run(*args, "--json")
    data = json.loads(result.stdout)
    assert result.stdout == json.dumps(data, indent=2, sort_keys=True) + "\n"
    return data


def journal_of(plan_path: Path) -> jr.Journal:
    return jr.load_journal(jr.journal_path_for(plan_path))


def done_steps(plan_path: Path) -> tuple[int, ...]:
    loaded = journal_of(plan_path)
    return rp.replay(read_plan(plan_path).plan, loaded.events if loaded else ()).done


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted(root.rglob("*"))
    }


# ---- walking a plan ---------------------------------------------------------------------------------


def test_full_walk_with_no_probe(demo: Path):
    status = run("status")
    assert status.exit_code == 0, status.output
    assert "0 of 8 steps done" in status.stdout and "1. b on dev: 4002 → 4003" in status.stdout
    for expected in range(1, 9):
        shown = run("next", "--no-probe")
        assert shown.exit_code == 0, shown.output
        assert f"Step {expected} of 8" in shown.stdout and f"`reorg done` (it records step {expected})" in shown.stdout
        recorded = run("done", "--no-probe")
        assert recorded.exit_code == 0, recorded.output
        assert f"step {expected} is recorded as done" in recorded.stdout
        assert done_steps(demo) == tuple(range(1, expected + 1))
    final = run_json("status")
    assert final["finished"] and final["next"] is None and final["done"] == list(range(1, 9))
    assert "all 8 steps done" in run("status").stdout
    assert "all 8 steps are done" in run("next", "--no-probe").stdout
    again = run("done", "--no-probe")
    assert again.exit_code == 2 and "already done" in again.stderr
    history = run("history")
    assert history.exit_code == 0
    # next records `started`; --no-probe leaves every check unrun, so each step is unverified
    assert [line.split()[2] for line in history.stdout.splitlines()[2:10 + 8]] == ["started", "unverified"] * 8
    assert "8 step(s) recorded as unverified" in history.stdout
    assert "unverified" in run("status").stdout
    assert not jr.lock_path_for(jr.journal_path_for(demo)).exists()


def test_the_bundled_plan_walks_to_the_end(tmp_path: Path, monkeypatch):
    """The committed plan of the bundled data, or a fresh greedy plan of it when none is committed."""
    monkeypatch.chdir(tmp_path)
    bundled = sorted(p for p in (REPO / "plans").glob("*.json") if not p.name.endswith(".journal.json"))
    if bundled:
        plan_path = tmp_path / "plans" / bundled[0].name
        plan_path.parent.mkdir()
        plan_path.write_bytes(bundled[0].read_bytes())
    else:
        made = run("plan", "--strategy", "greedy", "--current", str(REPO / "data/current.csv"),
                   "--target", str(REPO / "data/target.csv"), "--out", "plans", "--name", "bundled")
        assert made.exit_code == 0, made.output
        plan_path = tmp_path / "plans" / "bundled.json"
    total = len(read_plan(plan_path).plan.steps)
    assert total > 0
    for _ in range(total):
        assert run("next", "--no-probe").exit_code == 0
        assert run("done", "--no-probe").exit_code == 0
    assert run_json("status")["finished"]


def test_wave_members_in_any_order_but_not_ahead_of_their_wave(demo: Path):
    assert run("done", "4", "--no-probe").exit_code == 0
    assert run("done", "2", "--no-probe").exit_code == 0
    ahead = run("done", "7", "--no-probe")
    assert ahead.exit_code == 2
    assert "step 7 is in wave 2, but wave 1 is not finished (open: 1, 3, 5)" in ahead.stderr
    assert run_json("next", "--no-probe")["step"]["step"] == 1
    assert run("done", "9", "--no-probe").exit_code == 2
    assert done_steps(demo) == (4, 2)


def test_undo_all_the_way_back_restores_the_current_table(demo: Path):
    for _ in range(8):
        assert run("next", "--no-probe").exit_code == 0
        assert run("done", "--no-probe").exit_code == 0
    preview = run("undo", "--preview", "--no-probe")
    assert preview.exit_code == 0 and "Undo step 8: c on dev: 4011 → 39000" in preview.stdout
    assert done_steps(demo) == tuple(range(1, 9))  # the preview recorded nothing
    for expected in range(8, 0, -1):
        undone = run("undo", "--no-probe", "--yes")
        assert undone.exit_code == 0, undone.output
        assert f"step {expected} is recorded as undone" in undone.stdout
    nothing = run("undo", "--no-probe", "--yes")
    assert nothing.exit_code == 2 and "nothing to undo" in nothing.stderr
    planfile = read_plan(demo)
    base = {(s, h): p for s, h, p in DEMO_CURRENT}
    assert rp.simulate(planfile.plan, journal_of(demo), base) == base
    history = run_json("history")
    events = [e for e in history["events"] if e["event"] != "started"]
    assert [e["event"] for e in events] == ["done"] * 8 + ["undone"] * 8
    assert [e["step"] for e in events[8:]] == list(range(8, 0, -1))


# ---- refusals -----------------------------------------------------------------------------------------


def test_changed_plan_is_refused_until_reset(demo: Path):
    assert run("done", "1", "--no-probe").exit_code == 0
    data = json.loads(demo.read_text())
    data["notes"] = ["edited by hand"]
    demo.write_text(json.dumps(data))
    for args in (["status"], ["next", "--no-probe"], ["done", "--no-probe"], ["undo", "--no-probe"], ["history"]):
        result = run(*args)
        assert result.exit_code == 2, args
        assert "plans/demo.json changed since the journal started" in result.stderr
        assert "reorg reset" in result.stderr
    unasked = run("reset")  # step 1 is done on the hosts: a script must say --yes
    assert unasked.exit_code == 2 and "records 1 step(s) as done" in unasked.stderr and "--yes" in unasked.stderr
    assert not (demo.parent / "demo.journal.json.bak-1").exists()
    reset = run("reset", "--yes")
    assert reset.exit_code == 0 and "demo.journal.json.bak-1" in reset.stdout
    assert (demo.parent / "demo.journal.json.bak-1").exists()
    assert run_json("status")["done"] == []
    assert run("done", "1", "--no-probe").exit_code == 0


def test_corrupt_journal_is_named(demo: Path):
    jr.journal_path_for(demo).write_text("{not json")
    result = run("status")
    assert result.exit_code == 2
    assert "plans/demo.journal.json:1: the journal is not valid JSON" in result.stderr


def test_second_session_is_refused_naming_the_holder(demo: Path):
    lock_path = jr.lock_path_for(jr.journal_path_for(demo))
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock_path.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(), "time": "2025-01-02T03:04:05Z"}))
        refused = run("done", "--no-probe")
        assert refused.exit_code == 2
        assert f"locked by pid {holder.pid}" in refused.stderr and "since 2025-01-02T03:04:05Z" in refused.stderr
        assert "wait for it to finish" in refused.stderr
        assert run("done", "--no-probe", "--force-unlock").exit_code == 2  # never breaks a live lock
        assert run("undo", "--no-probe", "--yes").exit_code == 2
        assert run("next", "--no-probe").exit_code == 2  # next records `started`: it needs the lock too
        shown = run("history")  # read-only commands still work
        assert shown.exit_code == 0
        assert f"pid {holder.pid}" in run("status").stdout
    finally:
        holder.kill()
        holder.wait()
    stale = run("done", "--no-probe")
    assert stale.exit_code == 2 and "not running" in stale.stderr and "--force-unlock" in stale.stderr
    assert "the journal records no event yet" in stale.stderr
    assert run("done", "1", "--no-probe", "--force-unlock").exit_code == 0
    assert done_steps(demo) == (1,) and not lock_path.exists()


def test_plan_discovery(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    none = run("status")
    assert none.exit_code == 2 and "no plan in plans/" in none.stderr and "reorg plan" in none.stderr
    write_plan(tmp_path, name="one")
    assert run("status").exit_code == 0
    write_plan(tmp_path, name="two")
    several = run("status")
    assert several.exit_code == 2
    assert "plans/one.json, plans/two.json" in several.stderr and "--plan" in several.stderr
    assert run("status", "--plan", "plans/two.json").exit_code == 0


def test_read_only_commands_never_write(demo: Path):
    assert run("done", "1", "--no-probe").exit_code == 0
    assert run("done", "2", "--no-probe").exit_code == 0
    assert run("next", "--no-probe").exit_code == 0  # starts step 3; shown again below, not started twice
    # a stale lock lying around must not be touched either
    lock_path = jr.lock_path_for(jr.journal_path_for(demo))
    lock_path.write_text(json.dumps({"pid": 2**22 + 1, "host": socket.gethostname(), "time": "t"}))
    before = snapshot(demo.parent.parent)
    for args in (["status"], ["status", "--json"], ["history"], ["history", "--json"],
                 ["next", "--no-probe"], ["undo", "--preview", "--no-probe"]):
        assert run(*args).exit_code == 0, args
    assert snapshot(demo.parent.parent) == before
    assert "stale" in run("status").stdout


def test_port_shared_with_a_staying_binding_comes_from_the_current_table(demo: Path):
    # f leaves 4030 but g, which has no step, still holds it: "old port free" cannot be expected.
    report = run_json("done", "4", "--no-probe")
    assert report["checks"][1]["port"] == 4030 and "stays held by g" in report["checks"][1]["detail"]
    assert report["notices"] == []
    (demo.parent.parent / "data" / "current.csv").write_text("service,host,port\n")
    changed = run_json("status")
    assert "changed since the plan was made" in changed["notices"][0]
    (demo.parent.parent / "data" / "current.csv").unlink()
    assert "was not found" in run("status").stderr


def test_journal_override(demo: Path, tmp_path: Path):
    other = tmp_path / "elsewhere.journal.json"
    assert run("done", "1", "--no-probe", "--journal", str(other)).exit_code == 0
    assert jr.load_journal(other).events[0].step == 1
    assert not jr.journal_path_for(demo).exists()
    assert run_json("status", "--journal", str(other))["done"] == [1]


# ---- probes against 127.0.0.1 (Ports and the ports fixture: execsupport, conftest) --------------------


def test_probes_on_dev_drive_next_done_and_undo(tmp_path: Path, monkeypatch, ports: Ports):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REORG_HERE", "dev")  # reorg runs on dev: probed on 127.0.0.1
    old = ports.listen()  # the service runs on its old port
    new = Ports.closed()
    plan = write_plan(tmp_path, steps=[(1, 1, "svc", "dev", old, new, "move")], current=[("svc", "dev", old)])

    assert run("next").exit_code == 0  # new port is free
    blocker = ports.listen(new)
    taken = run("next")
    assert taken.exit_code == 1
    assert f"port {new} on dev is not free" in taken.stdout and "reorg next` again" in taken.stdout
    ports.stop(blocker)

    # The operator has not moved it yet: the post-check fails and the step is dirty.
    failed = run("done")
    assert failed.exit_code == 1 and "recorded as failed" in failed.stdout
    assert journal_of(plan).events[-1].event is jr.EventKind.FAILED
    blocked = run("next")
    assert blocked.exit_code == 2 and "next is blocked" in blocked.stderr and "reorg done 1 --force" in blocked.stderr
    assert "failed check" in run("status").stdout

    # Now it is moved: the retry passes and clears the failure.
    ports.stop(old)
    ports.listen(new)
    recorded = run_json("done")
    assert recorded["ok"] and recorded["dirty"] is None
    assert [(c["port"], c["outcome"], c["address"]) for c in recorded["checks"]] == [
        (new, "ok", "127.0.0.1"), (old, "ok", "127.0.0.1"),
    ]

    # Undo: until the rollback is done the reversed post-check fails and nothing is recorded.
    not_yet = run("undo", "--yes")
    assert not_yet.exit_code == 1 and "nothing was recorded" in not_yet.stdout
    assert done_steps(plan) == (1,)
    ports.stop(new)
    preview = run("undo", "--preview")
    assert preview.exit_code == 0  # the old port is free to go back to
    ports.listen(old)
    assert run("undo", "--yes").exit_code == 0
    assert done_steps(plan) == ()


def test_failed_step_can_be_forced_or_undone(tmp_path: Path, monkeypatch, ports: Ports):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REORG_HERE", "dev")
    old, new = Ports.closed(), Ports.closed()
    plan = write_plan(tmp_path, steps=[(1, 1, "svc", "dev", old, new, "move")], current=[("svc", "dev", old)])
    assert run("done", "1").exit_code == 1
    assert run("undo", "--yes").exit_code == 1  # service does not answer on the old port either
    ports.listen(old)
    undone = run("undo", "--yes")
    assert undone.exit_code == 0 and "step 1 is recorded as undone" in undone.stdout
    assert run("next").exit_code == 0  # no longer blocked
    ports.stop(old)
    assert run("done").exit_code == 1
    forced = run_json("done", "--force")
    assert forced["ok"] and forced["recorded"]["forced"] is True
    assert done_steps(plan) == (1,)
    assert "yes" in run("history").stdout.splitlines()[-1]


def test_hosts_csv_beside_the_plan_is_used(tmp_path: Path, monkeypatch, ports: Ports):
    monkeypatch.chdir(tmp_path)
    old, new = Ports.closed(), ports.listen()
    write_plan(tmp_path, steps=[(1, 1, "svc", "mac-mini", old, new, "move")], current=[("svc", "mac-mini", old)])
    skipped = run_json("done", "1", "--journal", "plans/skip.journal.json")
    assert [c["outcome"] for c in skipped["checks"]] == ["skipped", "skipped"]
    assert "no address in hosts.csv" in skipped["checks"][0]["detail"]
    (tmp_path / "plans" / "skip.journal.json").unlink()  # else the default journal is refused as its twin
    (tmp_path / "plans" / "hosts.csv").write_text("host,address\nmac-mini,127.0.0.1\n")
    probed = run_json("done", "1")
    assert [c["outcome"] for c in probed["checks"]] == ["ok", "ok"]


# ---- crash safety ------------------------------------------------------------------------------------------


def crash_done(cwd: Path, point: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, **{jr.CRASH_ENV: point})
    return subprocess.run(
        [sys.executable, "-m", "reorg", "done", "--no-probe", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("point", jr.CRASH_POINTS)
def test_sigkill_at_each_write_point_loses_and_doubles_nothing(demo: Path, point: str):
    root = demo.parent.parent
    assert run("done", "1", "--no-probe").exit_code == 0  # step 1 is in the journal before the crash
    before = jr.journal_path_for(demo).read_bytes()
    killed = crash_done(root, point, "2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    recorded = point == "before-unlock"  # only after the rename is step 2 in the journal
    assert done_steps(demo) == ((1, 2) if recorded else (1,))
    if not recorded:
        assert jr.journal_path_for(demo).read_bytes() == before

    # The killed session's lock stays behind: reported as stale, cleared only by --force-unlock.
    assert "stale" in run("status").stdout
    refused = run("done", "--no-probe")
    assert refused.exit_code == 2 and "not running" in refused.stderr and "--force-unlock" in refused.stderr
    rerun = run("done", "2", "--no-probe", "--force-unlock")
    if recorded:
        assert "last event is #2: unverified step 2" in refused.stderr  # so a blind rerun is not needed
        assert rerun.exit_code == 2 and "step 2 is already done" in rerun.stderr
        assert run("done", "3", "--no-probe").exit_code == 0  # the lock was cleared by the refused rerun
    else:
        assert "last event is #1: unverified step 1" in refused.stderr
        assert rerun.exit_code == 0, rerun.output
        assert run("done", "3", "--no-probe").exit_code == 0
    events = journal_of(demo).events
    assert [e.step for e in events if e.event is jr.EventKind.DONE][:3] == [1, 2, 3]
    assert done_steps(demo)[:3] == (1, 2, 3) and len(set(done_steps(demo))) == len(done_steps(demo))
    assert sorted(p.name for p in demo.parent.iterdir()) == ["demo.journal.json", "demo.json"]


def test_sigkill_before_the_first_journal_exists(demo: Path):
    killed = crash_done(demo.parent.parent, "before-rename", "1")
    assert killed.returncode == -signal.SIGKILL
    assert not jr.journal_path_for(demo).exists()
    assert run_json("status")["done"] == []
    assert run("done", "1", "--no-probe", "--force-unlock").exit_code == 0
    assert done_steps(demo) == (1,)


# ---- review fixes ------------------------------------------------------------------------------------------


def test_a_copy_of_the_plan_under_another_name_does_not_start_over(demo: Path):
    """A plan regenerated or copied under a new name has no journal of its own: starting one would
    show 0 steps done and let every step be done twice. The same name and bytes simply continue."""
    assert run("done", "1", "--no-probe").exit_code == 0
    demo.write_bytes(demo.read_bytes())  # regenerated with identical content: same journal
    assert run_json("status")["done"] == [1]
    copy = demo.with_name("demo-v2.json")
    copy.write_bytes(demo.read_bytes())
    status = run_json("status", "--plan", "plans/demo-v2.json")
    assert status["done"] == [] and "plans/demo.journal.json already records 1 event(s)" in status["notices"][0]
    refused = run("done", "2", "--no-probe", "--plan", "plans/demo-v2.json")
    assert refused.exit_code == 2
    assert "refusing to start a new journal" in refused.stderr and "--journal plans/demo.journal.json" in refused.stderr
    assert not jr.journal_path_for(copy).exists() and not jr.lock_path_for(jr.journal_path_for(copy)).exists()
    went_on = run("done", "2", "--no-probe", "--plan", "plans/demo-v2.json", "--journal", "plans/demo.journal.json")
    assert went_on.exit_code == 0 and done_steps(demo) == (1, 2)


def test_next_json_carries_the_checklist(demo: Path):
    data = run_json("next", "--no-probe")
    assert data["checklist"]["title"] == "1. b on dev: 4002 → 4003"
    assert "set 4003" in data["checklist"]["change"] and "reorg undo" in data["checklist"]["rollback"]
    assert set(data["checklist"]) == {"title", "precheck", "change", "verify", "rollback"}
    assert run("done", "1-8", "--no-probe").exit_code == 0  # one batch across all three waves
    assert run_json("next", "--no-probe")["checklist"] is None


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (json.dumps({"pid": 12345, "host": "elsewhere", "time": "2025-01-01T00:00:00Z"}).encode(),
         "Check on elsewhere whether pid 12345 still runs"),
        (b"\xff\xfe garbage", "looks stale"),
        (json.dumps({"pid": 2**63, "host": socket.gethostname(), "time": "t"}).encode(), "looks stale"),
    ],
)
def test_status_reads_any_lock_without_a_traceback(demo: Path, content: bytes, says: str):
    lock_path = jr.lock_path_for(jr.journal_path_for(demo))
    lock_path.write_bytes(content)
    status = run("status")
    assert status.exit_code == 0, status.output
    assert says in status.stdout
    if "elsewhere" in says:
        assert "looks stale" not in status.stdout  # it may well be running over there


@pytest.fixture
def read_only_plans(monkeypatch):
    """plans/ on a read-only file system (as root, chmod would not stop the tests' own writes)."""

    def guard(real, name):
        def call(*args, **kwargs):
            # os.open for reading (safeio's O_RDONLY | O_NONBLOCK) still works on a read-only disk
            writes = name != "open" or args[1] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            if writes and "plans" in os.fspath(args[0]):
                raise OSError(30, "Read-only file system", os.fspath(args[0]))
            return real(*args, **kwargs)

        return call

    def apply():
        for name in ("open", "rename", "replace", "unlink", "link"):
            monkeypatch.setattr(os, name, guard(getattr(os, name), name))

    return apply


def test_read_only_plans_directory_gives_one_line_errors(demo: Path, read_only_plans):
    assert run("done", "1", "--no-probe").exit_code == 0
    lock_path = jr.lock_path_for(jr.journal_path_for(demo))
    read_only_plans()
    for args in (["done", "2", "--no-probe"], ["undo", "--no-probe", "--yes"], ["reset", "--yes"], ["next", "--no-probe"]):
        result = run(*args)
        assert result.exit_code == 2 and result.stderr.startswith("error: "), (args, result.output)
        assert "Read-only file system" in result.stderr and len(result.stderr.splitlines()) == 1
    stale = {"pid": 2**22 + 1, "host": socket.gethostname(), "time": "2025-01-01T00:00:00Z"}
    lock_path.write_text(json.dumps(stale))  # left before the file system went read-only (io.open is not guarded)
    for args in (["done", "2", "--no-probe", "--force-unlock"], ["undo", "--no-probe", "--force-unlock", "--yes"],
                 ["reset", "--force-unlock", "--yes"]):
        result = run(*args)
        assert result.exit_code == 2 and result.stderr.startswith("error: "), (args, result.output)
        assert "cannot remove the stale lock (Read-only file system)" in result.stderr
    for args in (["status"], ["history"], ["undo", "--preview", "--no-probe"]):
        assert run(*args).exit_code == 0, args
    assert done_steps(demo) == (1,)
