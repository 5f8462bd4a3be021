"""Issue 8: execution inputs past the limits (journal, lock, plan files; CLI numbers).

Each case gives one line on stderr and exit 2 (or, for a lock nobody can read, the same answer as
any unreadable lock), never a traceback or a hang, and writes or moves nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reorg.cli import app

runner = CliRunner()
CURRENT = "service,host,port\na,dev,4001\nb,dev,4002\nc,h2,4003\n"
TARGET = "service,port\na,4002\nb,4005\nc,4004\n"


def run(*args: str):
    return runner.invoke(app, list(args))


def listing(root: Path) -> list[str]:
    """Every path under ``root`` with its kind, so a test can tell nothing was written or moved."""
    found = []
    for path in sorted(root.rglob("*")):
        kind = "dir" if path.is_dir() else "fifo" if path.is_fifo() else "link" if path.is_symlink() else "file"
        found.append(f"{path.relative_to(root)}:{kind}:{path.stat().st_size if kind == 'file' else ''}")
    return found


def assert_one_line(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def planned(tmp_path: Path, monkeypatch) -> Path:
    """``plans/reorg.json`` of a small greedy plan, made by ``reorg plan``; cwd is its root."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "current.csv").write_text(CURRENT)
    (tmp_path / "data" / "target.csv").write_text(TARGET)
    result = run("plan", "--strategy", "greedy")
    assert result.exit_code == 0, result.output
    return tmp_path / "plans" / "reorg.json"


def journal_of(plan: Path) -> Path:
    return plan.with_name("reorg.journal.json")


def test_journal_seq_with_5000_digits(planned: Path):
    assert run("done", "1", "--no-probe").exit_code == 0
    journal = journal_of(planned)
    text = journal.read_text()
    assert '"seq": 1' in text
    journal.write_text(text.replace('"seq": 1', '"seq": ' + "9" * 5000, 1))
    before = listing(planned.parent.parent)
    for args in (["status"], ["history"], ["done", "--no-probe"], ["undo", "--no-probe"]):
        assert_one_line(run(*args), "reorg.journal.json: the journal holds an integer of 5000 digits")
    assert listing(planned.parent.parent) == before


@pytest.mark.parametrize("depth", [65, 200_000])
def test_deeply_nested_journal(planned: Path, depth: int):
    journal = journal_of(planned)
    journal.write_text('{"format": "reorg-journal/1", "events": ' + "[" * depth + "]" * depth + "}")
    before = listing(planned.parent.parent)
    for args in (["status"], ["done", "--no-probe"]):
        assert_one_line(run(*args), "reorg.journal.json: the journal nests arrays or objects deeper than 64")
    assert listing(planned.parent.parent) == before


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "dev-urandom"])
def test_journal_that_is_not_a_regular_file(planned: Path, kind: str):
    journal = journal_of(planned)
    if kind == "fifo":
        os.mkfifo(journal)
        expected = "is a FIFO (named pipe), not a regular journal file"
    else:
        journal.symlink_to("/dev/zero" if kind == "dev-zero" else "/dev/urandom")
        expected = "is a device, not a regular journal file"
    before = listing(planned.parent.parent)
    for args in (["status"], ["next", "--no-probe"], ["done", "--no-probe"], ["history"]):
        assert_one_line(run(*args), "reorg.journal.json: " + expected)
    assert listing(planned.parent.parent) == before


def test_journal_fifo_does_not_hang_a_process(planned: Path):
    os.mkfifo(journal_of(planned))
    proc = subprocess.run(
        [sys.executable, "-m", "reorg", "done", "--no-probe"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "is a FIFO" in proc.stderr


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_plan_file_that_is_not_a_regular_file(planned: Path, kind: str):
    other = planned.with_name("other.json")
    if kind == "fifo":
        os.mkfifo(other)
    else:
        other.symlink_to("/dev/zero")
    before = listing(planned.parent.parent)
    result = run("status", "--plan", str(other))
    assert_one_line(result, "other.json: is a", "not a regular plan file")
    assert listing(planned.parent.parent) == before


def test_plan_fifo_in_the_current_folder_is_skipped_not_read(tmp_path: Path, monkeypatch):
    # Without plans/, `reorg status` looks at ./*.json: opening a FIFO there blocked forever.
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "x.json")
    proc = subprocess.run([sys.executable, "-m", "reorg", "status"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no plan in plans/" in proc.stderr, proc.stderr


def test_lock_path_that_is_a_directory_with_force_unlock(planned: Path):
    assert run("done", "1", "--no-probe").exit_code == 0
    lock = planned.with_name("reorg.journal.lock")
    lock.mkdir()
    (lock / "keep").write_text("x")
    before = listing(planned.parent.parent)
    for args in (["done", "2", "--no-probe", "--force-unlock"], ["undo", "--no-probe", "--force-unlock", "--yes"],
                 ["reset", "--force-unlock", "--yes"], ["done", "2", "--no-probe"]):
        assert_one_line(run(*args), "reorg.journal.lock: is a directory, not a regular lock file")
    assert listing(planned.parent.parent) == before  # not moved aside, journal untouched


def test_lock_that_is_a_fifo_does_not_hang(planned: Path):
    lock = planned.with_name("reorg.journal.lock")
    os.mkfifo(lock)
    proc = subprocess.run(
        [sys.executable, "-m", "reorg", "done", "--no-probe", "--force-unlock"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and "reorg.journal.lock: is a FIFO" in proc.stderr, proc.stderr
    assert lock.is_fifo() and not journal_of(planned).exists()


def test_deeply_nested_lock_is_an_unreadable_lock(planned: Path):
    lock = planned.with_name("reorg.journal.lock")
    lock.write_text("garbage")
    garbage = run("done", "--no-probe")
    lock.write_text("[" * 200_000 + "]" * 200_000)
    nested = run("done", "--no-probe")
    assert nested.exit_code == garbage.exit_code == 2
    assert nested.stderr == garbage.stderr  # the same one line: unreadable, like a lock torn by a kill
    assert len(nested.stderr.splitlines()) == 1
    assert run("done", "1", "--no-probe", "--force-unlock").exit_code == 0  # and it can be broken


@pytest.mark.parametrize(
    "value", ["²", "1²", "٣", "9" * 5000, "0", "-1", "x"], ids=["sup2", "1sup2", "arabic3", "5000-digits", "0", "-1", "x"]
)
def test_compare_max_per_wave_not_a_plain_integer(tmp_path: Path, monkeypatch, value: str):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "current.csv").write_text(CURRENT)
    (tmp_path / "target.csv").write_text(TARGET)
    result = run("compare", "--current", "current.csv", "--target", "target.csv", "--max-per-wave", value,
                 "--out", "out")
    assert_one_line(result, "--max-per-wave")
    assert len(result.stderr) < 200
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["²", "9" * 5000], ids=["sup2", "5000-digits"])
def test_plan_max_per_wave_not_a_plain_integer(tmp_path: Path, monkeypatch, value: str):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "current.csv").write_text(CURRENT)
    (tmp_path / "target.csv").write_text(TARGET)
    proc = subprocess.run(
        [sys.executable, "-m", "reorg", "plan", "--current", "current.csv", "--target", "target.csv",
         "--max-per-wave", value],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "--max-per-wave" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "plans").exists()


# ---- the same limits in the newer commands (target, port, scan) --------------------------------


@pytest.mark.parametrize("weight", ["²", "9" * 5000, "٣"], ids=["sup2", "5000-digits", "arabic3"])
def test_target_host_weight_not_a_plain_integer(weight: str):
    from reorg.commands.target import parse_host_weights
    from reorg.model import ReorgError

    with pytest.raises(ReorgError, match="--host-weight .* must look like HOST=W") as info:
        parse_host_weights([f"mac-mini={weight}"])
    assert len(str(info.value)) < 200
    assert parse_host_weights(["mac-mini=10"]) == {"mac-mini": 10}


@pytest.mark.parametrize("service", ["a\nb", "h1;touch x", "<script>"], ids=["newline", "semicolon", "script"])
def test_port_add_refuses_a_name_the_tables_would_refuse(tmp_path: Path, monkeypatch, service: str):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "current.csv").write_text(CURRENT)
    (tmp_path / "target.csv").write_text(TARGET)
    (tmp_path / "ranges.csv").write_text("start,end,category\n4000,4099,core\n")
    before = listing(tmp_path)
    result = run("port", service, "--category", "core", "--current", "current.csv", "--target", "target.csv",
                 "--ranges", "ranges.csv", "--add")
    assert_one_line(result, "reorg port: service")
    assert listing(tmp_path) == before
    assert (tmp_path / "target.csv").read_text() == TARGET


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"version": ' + "9" * 5000 + "}"], ids=["deep", "5000-digits"])
def test_scan_skips_a_package_json_past_the_limits_with_a_notice(tmp_path: Path, body: str):
    from reorg.scan import scan_tree

    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "package.json").write_text(body)
    scan = scan_tree(tmp_path)
    assert [n.message for n in scan.notices] == ["JSON nested too deeply or with a number too long to read; not read"]
