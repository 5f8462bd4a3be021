"""The journal on its own: replay rules, checks per step, atomic save/load, backups and the lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reorg import journal as jr
from reorg import lock as lk
from reorg import replay as rp
from reorg.journal import EventKind, Journal
from reorg.model import Metrics, Plan, PlanOptions, ReorgError, Step, StepKind
from reorg.probe import Check, Expect, Outcome
from reorg.replay import Position, replay, step_checks

S = StepKind
STEPS = (
    Step(1, 1, "b", "dev", 4002, 4003, S.MOVE),
    Step(2, 1, "c", "dev", 4010, 39000, S.TO_TEMP),
    Step(3, 1, "e", "dev", 4020, None, S.RETIRE),
    Step(4, 1, "f", "dev", 4030, 4031, S.MOVE),
    Step(5, 2, "a", "dev", 4001, 4002, S.MOVE),
    Step(6, 2, "d", "dev", 4011, 4010, S.MOVE),
    Step(7, 3, "c", "dev", 39000, 4011, S.FROM_TEMP),
)
PLAN = Plan("greedy", PlanOptions(), STEPS, Metrics(7, 1, 3, 6, 3, True, 0))
BASE = {("g", "dev"): 4030, ("z", "dev"): 4050}  # g shares 4030 with f and stays


def ev(seq: int, kind: EventKind, step: int, checks=(), forced=False) -> jr.Event:
    return jr.Event(seq, kind, step, "2025-01-01T00:00:00Z", tuple(checks), forced)


def events(*pairs) -> tuple[jr.Event, ...]:
    return tuple(ev(i, EventKind(kind), step) for i, (kind, step) in enumerate(pairs, start=1))


# ---- replay -------------------------------------------------------------------------------------


def test_start_state_is_first_from_ports_plus_base():
    state = rp.start_state(PLAN, BASE)
    assert state[("c", "dev")] == 4010
    assert state[("g", "dev")] == 4030
    assert len(state) == 8


def test_wave_members_in_any_order_then_next_wave():
    pos = replay(PLAN, events(("done", 3), ("done", 1), ("done", 4), ("done", 2), ("done", 6)))
    assert pos.done == (3, 1, 4, 2, 6)
    assert pos.dirty is None
    assert rp.next_step(PLAN, pos).step == 5
    state = pos.state_dict()
    assert state[("e", "dev")] is None and state[("d", "dev")] == 4010 and state[("c", "dev")] == 39000


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ((("done", 5),), "out of wave order"),
        ((("done", 1), ("done", 1)), "already done"),
        ((("done", 9),), "no such step"),
        ((("done", 1), ("done", 2), ("undone", 1)), "only the last done"),
        ((("undone", 1),), "only the last done"),
        ((("failed", 1), ("done", 2)), "out of wave order"),
    ],
)
def test_replay_refuses_events_that_do_not_fit(pairs, message):
    with pytest.raises(ReorgError, match=message):
        replay(PLAN, events(*pairs), "plans/x.journal.json")


def test_failed_step_is_dirty_until_done_or_undone():
    pos = replay(PLAN, events(("done", 1), ("failed", 2), ("failed", 2)))
    assert (pos.done, pos.dirty) == ((1,), 2)
    assert rp.open_steps(PLAN, pos.done, pos.dirty) == (STEPS[1],)
    retried = replay(PLAN, events(("done", 1), ("failed", 2), ("done", 2)))
    assert (retried.done, retried.dirty) == ((1, 2), None)
    rolled_back = replay(PLAN, events(("done", 1), ("failed", 2), ("undone", 2)))
    assert (rolled_back.done, rolled_back.dirty) == ((1,), None)
    assert rolled_back.state_dict()[("c", "dev")] == 4010  # a failed step never moved the state


def test_undo_pops_the_last_done_step():
    pos = replay(PLAN, events(("done", 1), ("done", 2), ("undone", 2), ("undone", 1)), base=BASE)
    assert pos.done == ()
    assert pos.state_dict() == rp.start_state(PLAN, BASE)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 10), st.booleans()), max_size=30))
def test_random_walks_replay_and_undo_back_to_start(moves):
    """Any walk the commands could produce replays cleanly; undoing it all restores the start."""
    log: list[tuple[str, int]] = []
    for forward, pick, fail in moves:
        pos = replay(PLAN, events(*log))
        if forward:
            open_now = rp.open_steps(PLAN, pos.done, pos.dirty)
            if open_now:
                step = open_now[pick % len(open_now)].step
                log.append(("failed" if fail else "done", step))
        elif pos.dirty is not None:
            log.append(("undone", pos.dirty))
        elif pos.done:
            log.append(("undone", pos.done[-1]))
    pos = replay(PLAN, events(*log), base=BASE)
    if pos.dirty is not None:
        log.append(("undone", pos.dirty))
    for step in reversed(replay(PLAN, events(*log)).done):
        log.append(("undone", step))
    final = replay(PLAN, events(*log), base=BASE)
    assert final.done == () and final.dirty is None
    assert final.state_dict() == rp.start_state(PLAN, BASE)


# ---- checks per step ------------------------------------------------------------------------------


def specs(pre_post):
    return [[(s.phase, s.port, s.expect.value, bool(s.skip)) for s in group] for group in pre_post]


def test_forward_checks_for_each_kind():
    start = replay(PLAN, (), base=BASE)
    assert specs(step_checks(PLAN, start, STEPS[0])) == [
        [("pre", 4003, "free", False)],
        [("post", 4003, "in-use", False), ("post", 4002, "free", False)],
    ]
    assert specs(step_checks(PLAN, start, STEPS[2])) == [[], [("post", 4020, "free", False)]]


def test_old_port_shared_with_a_staying_binding_is_not_expected_free():
    start = replay(PLAN, (), base=BASE)
    pre, post = step_checks(PLAN, start, STEPS[3])
    assert post[1].port == 4030 and "held by g" in post[1].skip
    assert not step_checks(PLAN, replay(PLAN, ()), STEPS[3])[1][1].skip  # without the table, unknown


def test_reverse_checks_swap_the_ports():
    pos = replay(PLAN, events(("done", 1)), base=BASE)
    assert specs(step_checks(PLAN, pos, STEPS[0], reverse=True)) == [
        [("pre", 4002, "free", False)],
        [("post", 4002, "in-use", False), ("post", 4003, "free", False)],
    ]
    retired = replay(PLAN, events(("done", 3)), base=BASE)
    assert specs(step_checks(PLAN, retired, STEPS[2], reverse=True)) == [
        [("pre", 4020, "free", False)],
        [("post", 4020, "in-use", False)],
    ]


def test_reverse_pre_check_of_a_failed_step_is_skipped():
    pos = replay(PLAN, events(("failed", 1)), base=BASE)
    pre, _ = step_checks(PLAN, pos, STEPS[0], reverse=True)
    assert "failed midway" in pre[0].skip


def test_reverse_into_a_shared_port_is_not_expected_free():
    pos = replay(PLAN, events(("done", 4)), base=BASE)
    pre, post = step_checks(PLAN, pos, STEPS[3], reverse=True)
    assert "also held by g" in pre[0].skip
    assert [(s.port, s.expect) for s in post] == [(4030, Expect.IN_USE), (4031, Expect.FREE)]


# ---- save and load ----------------------------------------------------------------------------------


def journal_at(tmp_path: Path, *pairs) -> Journal:
    return Journal(tmp_path / "demo.journal.json", "plans/demo.json", "ab" * 32, events(*pairs))


def test_save_and_load_round_trip(tmp_path: Path):
    check = Check("post", "b", "dev", 4003, Expect.IN_USE, Outcome.OK, "127.0.0.1", "accepted")
    journal = journal_at(tmp_path).append(EventKind.DONE, 1, (check,)).append(EventKind.FAILED, 2, (), False)
    jr.save_journal(journal)
    assert jr.load_journal(journal.path) == journal
    text = journal.path.read_text()
    # one event a line, keys sorted: readable, and written by json's fast C encoder
    lines = text.splitlines()
    assert lines[0] == '{"events": [' and lines[-1].startswith('], "format": ') and len(lines) == 4
    assert lines[1] == "  " + json.dumps(journal.events[0].to_dict(), sort_keys=True) + ","
    assert lines[2] == "  " + json.dumps(journal.events[1].to_dict(), sort_keys=True)
    assert json.loads(text)["format"] == jr.JOURNAL_FORMAT
    assert [p.name for p in tmp_path.iterdir()] == ["demo.journal.json"]  # no temp file left


def test_save_removes_temp_files_of_killed_writers(tmp_path: Path):
    leftover = tmp_path / ".demo.journal.json.abc123.tmp"
    leftover.write_text("{half")
    jr.save_journal(journal_at(tmp_path, ("done", 1)))
    assert not leftover.exists()


def test_missing_journal_loads_as_none(tmp_path: Path):
    assert jr.load_journal(tmp_path / "none.journal.json") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": "reorg-journal/1",\n "events": [', r"demo.journal.json:2: the journal is not valid JSON"),
        ('{"format": "other/1"}', "not a reorg-journal/1 journal"),
        ("[]", "not a reorg-journal/1 journal"),
        ('{"format": "reorg-journal/1", "plan": {"path": "p", "sha256": "s"}}', "malformed journal"),
        (
            '{"format": "reorg-journal/1", "plan": {"path": "p", "sha256": "s"}, "events": '
            '[{"seq": 1, "event": "maybe", "step": 1, "time": "t", "checks": [], "forced": false}]}',
            "malformed journal",
        ),
        (
            '{"format": "reorg-journal/1", "plan": {"path": "p", "sha256": "s"}, "events": '
            '[{"seq": 2, "event": "done", "step": 1, "time": "t", "checks": [], "forced": false}]}',
            "numbered 1..n",
        ),
    ],
)
def test_corrupt_journal_is_a_clear_error_naming_the_file(tmp_path: Path, text, message):
    path = tmp_path / "demo.journal.json"
    path.write_text(text)
    with pytest.raises(ReorgError, match=message) as info:
        jr.load_journal(path)
    assert str(path) in str(info.value) and "reorg reset" in str(info.value)


def test_changed_plan_is_refused(tmp_path: Path):
    journal = journal_at(tmp_path)
    jr.check_plan_unchanged(journal, Path("plans/demo.json"), "ab" * 32)
    with pytest.raises(ReorgError, match=r"plans/demo.json changed since the journal started.*reorg reset"):
        jr.check_plan_unchanged(journal, Path("plans/demo.json"), "cd" * 32)
    progressed = journal_at(tmp_path, ("done", 1), ("done", 2), ("failed", 3), ("undone", 3), ("done", 4), ("undone", 4))
    with pytest.raises(ReorgError, match=r"records 2 step\(s\) done"):  # a reset would start over at step 1
        jr.check_plan_unchanged(progressed, Path("plans/demo.json"), "cd" * 32)


def test_backup_never_overwrites(tmp_path: Path):
    path = tmp_path / "demo.journal.json"
    assert jr.backup_journal(path) is None
    path.write_text("one")
    assert jr.backup_journal(path).name == "demo.journal.json.bak-1"
    path.write_text("two")
    assert jr.backup_journal(path).name == "demo.journal.json.bak-2"
    assert (tmp_path / "demo.journal.json.bak-1").read_text() == "one"
    assert not path.exists()


def test_paths_beside_the_plan():
    assert jr.journal_path_for(Path("plans/demo.json")) == Path("plans/demo.journal.json")
    assert jr.lock_path_for(Path("plans/demo.journal.json")) == Path("plans/demo.journal.lock")


# ---- lock -------------------------------------------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_lock(path: Path, pid: int, host: str | None = None) -> None:
    path.write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "time": "2025-01-01T00:00:00Z"}))


def test_lock_is_exclusive_and_names_its_holder(tmp_path: Path):
    path = tmp_path / "demo.journal.lock"
    with lk.locked(path) as lock:
        data = json.loads(path.read_text())
        assert data["pid"] == os.getpid() == lock.pid
        assert set(data) == {"pid", "host", "time"}
        with pytest.raises(ReorgError, match=rf"locked by pid {os.getpid()} on .* since .*wait for it"):
            lk.acquire_lock(path)
    assert not path.exists()


def test_lock_of_a_live_process_survives_force_unlock(tmp_path: Path):
    path = tmp_path / "demo.journal.lock"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_lock(path, sleeper.pid)
        with pytest.raises(ReorgError, match=rf"pid {sleeper.pid}"):
            lk.acquire_lock(path, force_unlock=True)
        assert path.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_stale_lock_is_reported_and_force_unlock_clears_it(tmp_path: Path):
    path = tmp_path / "demo.journal.lock"
    pid = dead_pid()
    write_lock(path, pid)
    with pytest.raises(ReorgError, match=rf"pid {pid} .*not running.*--force-unlock"):
        lk.acquire_lock(path)
    lock = lk.acquire_lock(path, force_unlock=True)
    assert json.loads(path.read_text())["pid"] == os.getpid()
    lk.release_lock(lock)
    assert not path.exists()


def test_unreadable_and_foreign_host_locks(tmp_path: Path):
    path = tmp_path / "demo.journal.lock"
    path.write_text("")
    holder = lk.read_lock(path)
    assert holder.pid is None and "unreadable" in holder.describe()
    with pytest.raises(ReorgError, match="--force-unlock"):
        lk.acquire_lock(path)
    write_lock(path, 12345, host="elsewhere")
    assert lk.read_lock(path).alive() is None
    assert "another host" in lk.read_lock(path).describe()


def test_release_leaves_someone_elses_lock(tmp_path: Path):
    path = tmp_path / "demo.journal.lock"
    lock = lk.acquire_lock(path)
    write_lock(path, lock.pid + 1)  # another session force-unlocked us and took it
    lk.release_lock(lock)
    assert path.exists()


def test_position_to_dict():
    assert Position((2, 1), None, ()).to_dict() == {"done": [2, 1], "dirty": None, "started": []}


# ---- review fixes: each test names the defect it pins --------------------------------------------


def test_undo_of_another_step_while_one_is_dirty_is_refused():
    # A hand-edited journal undid step 4 (wave 1) while step 5 (wave 2) was dirty, then did 5:
    # wave 2 would be done with wave 1 unfinished. Only the dirty step may be undone.
    with pytest.raises(ReorgError, match="step 2 is failed, so only it can be undone"):
        replay(PLAN, events(("done", 1), ("failed", 2), ("undone", 1)))
    walk = (("done", 1), ("done", 2), ("done", 3), ("done", 4), ("failed", 5), ("undone", 4), ("done", 5))
    with pytest.raises(ReorgError, match="only it can be undone"):
        replay(PLAN, events(*walk))


def test_journal_that_is_not_utf8_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "demo.journal.json"
    path.write_bytes(b'{"format": "reorg-journal/1", "note": "caf\xe9"}')
    with pytest.raises(ReorgError, match=r"demo.journal.json: the journal is not UTF-8 .*reorg reset"):
        jr.load_journal(path)


@pytest.mark.parametrize("content", [b"\xff\xfe{", json.dumps({"pid": 2**63, "host": "h", "time": "t"}).encode()])
def test_garbage_or_impossible_pid_lock_reads_as_stale(tmp_path: Path, content: bytes):
    path = tmp_path / "demo.journal.lock"
    path.write_bytes(content.replace(b'"h"', json.dumps(socket.gethostname()).encode()))
    holder = lk.read_lock(path)
    assert holder.alive() in (False, None)  # no OverflowError, no UnicodeDecodeError
    assert "stale" in holder.describe() or "unreadable" in holder.describe()
    with pytest.raises(ReorgError, match="--force-unlock"):
        lk.acquire_lock(path)
    lk.release_lock(lk.acquire_lock(path, force_unlock=True))
    assert not path.exists()


def test_force_unlock_never_removes_a_lock_taken_meanwhile(tmp_path: Path, monkeypatch):
    """Two sessions breaking one stale lock: the slower must not remove the faster one's new lock."""
    path = tmp_path / "demo.journal.lock"
    write_lock(path, dead_pid())
    fresh = {"pid": os.getpid(), "host": "other-session", "time": "2025-01-02T00:00:00Z"}
    real_alive = lk.Lock.alive

    def alive_then_race(lock):
        verdict = real_alive(lock)  # the stale holder: dead
        path.unlink()  # meanwhile another session breaks the stale lock and takes its own
        path.write_text(json.dumps(fresh))
        return verdict

    monkeypatch.setattr(lk.Lock, "alive", alive_then_race)
    with pytest.raises(ReorgError, match="taken by another session"):
        lk.acquire_lock(path, force_unlock=True)
    assert json.loads(path.read_text()) == fresh
    assert [p.name for p in tmp_path.iterdir()] == ["demo.journal.lock"]


def erofs(*args, **kwargs):
    raise OSError(30, "Read-only file system")


def test_force_unlock_on_a_read_only_directory_is_a_clear_error(tmp_path: Path, monkeypatch):
    path = tmp_path / "demo.journal.lock"
    write_lock(path, dead_pid())
    monkeypatch.setattr(jr.os, "rename", erofs)
    monkeypatch.setattr(jr.os, "unlink", erofs)
    with pytest.raises(ReorgError, match=r"cannot remove the stale lock \(Read-only file system\)"):
        lk.acquire_lock(path, force_unlock=True)


def test_lock_that_cannot_be_written_is_not_left_behind(tmp_path: Path, monkeypatch):
    path = tmp_path / "demo.journal.lock"

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jr.os, "fsync", full)
    with pytest.raises(ReorgError, match=r"cannot write the lock \(No space left on device\).*run the command again"):
        lk.acquire_lock(path)
    assert not path.exists()  # an empty lock would block every later session


def test_backup_that_cannot_be_moved_is_a_clear_error(tmp_path: Path, monkeypatch):
    path = tmp_path / "demo.journal.json"
    path.write_text("{}")
    monkeypatch.setattr(jr.os, "rename", erofs)
    with pytest.raises(ReorgError, match=r"cannot move the journal aside .*reorg reset"):
        jr.backup_journal(path)


def test_twin_journals_of_the_same_plan(tmp_path: Path):
    jr.save_journal(journal_at(tmp_path, ("done", 1)))  # demo.journal.json, sha ab..
    other = Journal(tmp_path / "other.journal.json", "plans/other.json", "cd" * 32, events(("done", 1)))
    jr.save_journal(other)
    jr.save_journal(Journal(tmp_path / "empty.journal.json", "plans/empty.json", "ab" * 32))
    mine = tmp_path / "copy.journal.json"
    assert jr.twin_journals(mine, tmp_path / "copy.json", "ab" * 32) == ((tmp_path / "demo.journal.json", 1),)
    assert jr.twin_journals(tmp_path / "demo.journal.json", tmp_path / "demo.json", "ab" * 32) == ()


def test_lock_released_between_the_create_and_the_look_is_not_called_dead(tmp_path: Path, monkeypatch):
    path = tmp_path / "demo.journal.lock"
    real_open = jr.os.open

    def taken_then_released(name, flags, *args):
        if flags & os.O_EXCL:
            raise FileExistsError(17, "File exists", name)  # held at the create, gone at the look
        return real_open(name, flags, *args)

    monkeypatch.setattr(jr.os, "open", taken_then_released)
    with pytest.raises(ReorgError, match="just released the lock; run the command again") as info:
        lk.acquire_lock(path)
    assert "--force-unlock" not in str(info.value)
