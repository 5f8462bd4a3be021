"""A new user's review of execution (issue 12): `next`/`done`/`undo` say what the runbook says,
an unsure step that verified nothing is unverified, `undo` asks in a consistent order, and a
started step can be previewed and cancelled. Runs against a copy of the bundled plan.
"""

from __future__ import annotations

import random
import shutil
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reorg import journal as jr
from reorg.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the bundled plans/ and data/, the working directory in plans/ (as the README runs it)."""
    for name in ("plans", "data"):
        shutil.copytree(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path / "plans")
    monkeypatch.delenv("REORG_HERE", raising=False)
    return tmp_path / "plans"


def test_next_of_a_stopped_retirement_on_a_held_port_says_it_stays_held(bundled: Path):
    result = run("next", "23", "--no-probe")
    assert result.exit_code == 0, result.output
    head = result.stdout.splitlines()[0]
    assert "frees the port" not in head
    assert "retire 3025 (3025 stays held by mana-llm)" in head
    assert "Verify:    nothing to probe: 3025 stays held by mana-llm" in result.stdout


def test_next_says_the_runbooks_source_and_note(bundled: Path):
    result = run("next", "20", "--no-probe")
    assert result.exit_code == 0, result.output
    runbook = (bundled / "reorg.md").read_text()
    change = next(line for line in runbook.splitlines() if "current.csv:68" in line).split("Change: ", 1)[1]
    assert f"Change:    {change}" in result.stdout
    assert "launchd plist or Scheduled Task" not in result.stdout


def test_an_unsure_step_that_verified_nothing_is_unverified(bundled: Path):
    # nothing listens on this loopback address: memoro-audio-server (unsure) does not answer on 3032,
    # and 3016 stays held by mana-api-gateway (not checked): no check proved the step
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    (bundled / "hosts.csv").write_text(f"host,address\nmac-mini,{address}\n")
    started = run("next", "28")
    assert started.exit_code == 0, started.output
    done = run("done", "28")
    assert done.exit_code == 0, done.output
    assert "recorded as done as unverified" in done.stdout
    assert "were not probed" not in done.stdout  # one was probed: refused
    assert f"memoro-audio-server did not answer on mac-mini:3032 ({address}:3032 refused" in done.stdout
    history = run("history")
    assert "unverified" in history.stdout, history.stdout
    status = run("status")
    assert "1 done step(s) whose checks could not all run: 28" in status.stdout, status.stdout


def _listen(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(8)
    return sock


def _events(plans: Path) -> list[tuple[str, int]]:
    loaded = jr.load_journal(plans / "reorg.journal.json")
    return [(e.event.value, e.step) for e in loaded.events] if loaded else []


def test_undo_asks_after_the_rollback_and_its_preview_knows_a_done_rollback(bundled: Path, monkeypatch):
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    (bundled / "hosts.csv").write_text(f"host,address\ndev,{address}\n")
    assert run("next", "1").exit_code == 0
    new = _listen(address, 3035)  # step 1: arcade-server on dev 3011 -> 3035, done
    try:
        assert run("done").exit_code == 0
        new.close()
        old = _listen(address, 3011)  # rolled back by hand
        try:
            preview = run("undo", "--preview")
            assert preview.exit_code == 0, preview.output
            assert "looks rolled back already" in preview.stdout
            monkeypatch.setattr("reorg.cli.interactive", lambda: True)
            asked = run("undo", input="n\n")
            assert asked.exit_code == 1
            assert "not probed (--no-probe)" not in asked.output  # probes are on: nothing is shown as skipped
            assert "then run `reorg undo`" not in asked.output  # it is `reorg undo` that is asking
            assert "if you have rolled step 1 back as shown, answer y" in asked.output
            assert _events(bundled) == [("started", 1), ("done", 1)]
            recorded = run("undo", input="y\n")
            assert recorded.exit_code == 0, recorded.output
            assert _events(bundled)[-1] == ("undone", 1)
        finally:
            old.close()
    finally:
        new.close()


def test_next_preview_shows_and_checks_but_records_nothing(bundled: Path):
    result = run("next", "3", "--no-probe", "--preview")
    assert result.exit_code == 0, result.output
    assert "Change:" in result.stdout and "preview only: nothing was recorded" in result.stdout
    assert _events(bundled) == []
    assert "next 20 --preview" in run("next", "--help").stdout


def test_undo_cancels_a_started_step_after_asking(bundled: Path, monkeypatch):
    assert run("next", "3", "--no-probe").exit_code == 0
    refused = run("undo")  # no terminal: it needs --yes
    assert refused.exit_code == 2 and "cancels the start of step 3" in refused.output
    monkeypatch.setattr("reorg.cli.interactive", lambda: True)
    kept = run("undo", input="n\n")
    assert kept.exit_code == 1 and "Cancel the start of step 3?" in kept.output
    assert _events(bundled) == [("started", 3)]
    cancelled = run("undo", input="y\n")
    assert cancelled.exit_code == 0, cancelled.output
    assert "the start of step 3 is cancelled" in cancelled.stdout
    assert _events(bundled) == [("started", 3), ("cancelled", 3)]
    assert "no step is started" in run("done", "--no-probe").output  # bare done is not ambiguous
    # a done step after it: undo takes back the latest (the done step 4), not an older start
    assert run("next", "3", "--no-probe").exit_code == 0
    assert run("done", "4", "--no-probe").exit_code == 0
    preview = run("undo", "--preview", "--no-probe")
    assert preview.stdout.startswith("Undo step 4:"), preview.stdout
    assert run("undo", "--yes", "--no-probe").exit_code == 0
    assert run("undo", "--yes", "--no-probe").stdout.startswith("Step 3 of")  # then the start of 3
    assert _events(bundled)[-1] == ("cancelled", 3)
    assert "cancelled" in run("history").stdout
    assert "after a mistaken `reorg next 3`: cancels the start" in run("undo", "--help").stdout


def test_next_says_which_step_it_pairs_with(bundled: Path):
    result = run("next", "1", "--no-probe")
    assert result.exit_code == 0, result.output
    assert "Pair with 2:" in result.stdout  # the runbook: "1. arcade-server: 3011 → 3035 · pair with 2"
    assert "pair with 2" in (bundled / "reorg.md").read_text()
