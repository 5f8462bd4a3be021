"""The bundled plan carried out end to end against a fleet simulated on loopback (issue 12, done-when).

Each host of the plan gets its own 127.x.y.z address through plans/hosts.csv. Every binding the
plan starts from (its `held` list, i.e. data/current.csv) listens there when it is running or
unsure; stopped ones do not. The test performs each step as the runbook says (close the old
listener, open the new one, for running services only) between `reorg next` and `reorg done`:
every step must pass with no --force and be verified. Then every rollback, applied in reverse
with `reorg undo --yes`, must pass too and bring the fleet back to where it started. Finally
`reorg state --at end` must give a table on which `reorg check` finds no collision.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from execsupport import Listeners, loopback_prefix, run
from reorg import commands
from reorg.model import StepKind
from reorg.planfile import read_plan

REPO = Path(__file__).resolve().parent.parent
class SimulatedFleet(Listeners):
    """Listening sockets per (host, port), held open while any running binding is there."""

    def __init__(self, addresses: dict[str, str]):
        super().__init__()
        self.addresses = addresses
        self.holders: dict[tuple[str, int], set[str]] = {}

    def add(self, service: str, host: str, port: int) -> None:
        self.holders.setdefault((host, port), set()).add(service)
        self._sync((host, port))

    def remove(self, service: str, host: str, port: int) -> None:
        self.holders[(host, port)].discard(service)
        self._sync((host, port))

    def _sync(self, where: tuple[str, int]) -> None:
        wanted = bool(self.holders.get(where))
        if wanted and where not in self.sockets:
            self.open(where, self.addresses[where[0]], where[1])
        elif not wanted and where in self.sockets:
            self.shut(where)

    def listening(self) -> set[tuple[str, int]]:
        return set(self.sockets)


@pytest.fixture
def fleet(in_tmp: Path):
    tmp_path = in_tmp
    (tmp_path / "plans").mkdir()
    shutil.copy(REPO / "plans" / "reorg.json", tmp_path / "plans" / "reorg.json")
    planfile = read_plan(tmp_path / "plans" / "reorg.json")
    hosts = sorted({b.host for b in planfile.base})
    prefix = loopback_prefix()
    addresses = {host: f"{prefix}.{i}" for i, host in enumerate(hosts, start=2)}
    (tmp_path / "plans" / "hosts.csv").write_text(
        "host,address\n" + "".join(f"{host},{address}\n" for host, address in addresses.items())
    )
    simulated = SimulatedFleet(addresses)
    for binding in planfile.base:
        if binding.status != "stopped":
            simulated.add(binding.service, binding.host, binding.port)
    yield planfile, simulated
    simulated.close()


def test_the_bundled_plan_runs_and_rolls_back_on_a_simulated_fleet(fleet, tmp_path: Path):
    planfile, simulated = fleet
    status = {b.key: b.status for b in planfile.base}
    start = simulated.listening()
    assert start and planfile.plan.steps
    # The commands' own functions (what the CLI calls), for speed; the CLI is driven at each end.
    plan_path = Path("plans/reorg.json")
    for step in planfile.plan.steps:
        if step.step == 1:
            shown = run("next", "--json")
            assert shown.exit_code == 0, shown.output
            assert json.loads(shown.stdout)["step"]["step"] == 1
        else:
            shown = commands.prepare_next(plan_path)
            assert shown.ok and shown.step == step and shown.event is not None, shown.advice
        if status[(step.service, step.host)] != "stopped":
            simulated.remove(step.service, step.host, step.from_port)
            if step.to_port is not None:
                simulated.add(step.service, step.host, step.to_port)
        report = commands.record_done(plan_path).to_dict()
        assert report["ok"], (step, report["checks"])
        recorded = report["recorded"]
        assert recorded["event"] == "done" and not recorded["forced"] and not recorded.get("unverified"), step
        assert all(c["outcome"] in ("ok", "skipped") for c in report["checks"])
    finished = json.loads(run("status", "--json").stdout)
    assert finished["finished"] and finished["unverified"] == []

    for number in reversed([s.step for s in planfile.plan.steps]):
        step = planfile.plan.steps[number - 1]
        held_by_others = any(
            (host, port) == (step.host, step.from_port) and services - {step.service}
            for (host, port), services in simulated.holders.items()
        )
        if status[(step.service, step.host)] != "stopped":
            if step.to_port is not None:
                simulated.remove(step.service, step.host, step.to_port)
            # As the rollback says: a retired service is not started onto a port another holds.
            if not (step.kind is StepKind.RETIRE and held_by_others):
                simulated.add(step.service, step.host, step.from_port)
        if number == 1:
            undone = run("undo", "--yes", "--json")
            assert undone.exit_code == 0, undone.output
            report = json.loads(undone.stdout)
        else:
            report = commands.record_undo(plan_path, expect_step=number).to_dict()
        assert report["ok"], (step, report["checks"])
        assert report["step"]["step"] == number and not report["recorded"]["forced"]
    assert simulated.listening() == start
    assert json.loads(run("status", "--json").stdout)["done"] == []


@pytest.fixture
def bundled(in_tmp: Path) -> Path:
    """The bundled data/ and plans/ (no journal, no hosts.csv) in a folder of the test's own."""
    shutil.copytree(REPO / "data", in_tmp / "data")
    shutil.copytree(REPO / "plans", in_tmp / "plans", ignore=shutil.ignore_patterns("*.journal*", "hosts.csv"))
    return in_tmp


def test_state_at_end_gives_a_table_without_collisions(bundled: Path):
    tmp_path = bundled
    before = json.loads(run("check", "--json").stdout)["summary"]
    assert before["collisions"] > 0
    wrote = run("state", "--at", "end", "--out", "data/current.csv")
    assert wrote.exit_code == 0, wrote.output
    after = json.loads(run("check", "--json").stdout)["summary"]
    assert after["collisions"] == 0 and after["moving"] == 0 and after["retiring"] == 0
    # status, source and note stay as they were for every binding that remains
    old = (REPO / "data" / "current.csv").read_text().splitlines()
    new = (tmp_path / "data" / "current.csv").read_text().splitlines()
    retired = sum(s.kind is StepKind.RETIRE for s in read_plan(tmp_path / "plans" / "reorg.json").plan.steps)
    assert retired and new[0] == old[0] and len(new) == len(old) - retired
    # the plan was made from the old table: commands say so on stderr, and still work
    status = run("status")
    assert status.exit_code == 0 and "changed since the plan was made" in status.stderr


def test_state_now_follows_the_journal_and_refuses_foreign_files(bundled: Path):
    tmp_path = bundled
    first = read_plan(tmp_path / "plans" / "reorg.json").plan.steps[0]
    assert run("state").stdout == (tmp_path / "data" / "current.csv").read_text()  # nothing done yet
    assert run("done", "1", "--no-probe").exit_code == 0
    now = run("state").stdout
    line = next(row for row in now.splitlines() if row.startswith(f"{first.service},{first.host},"))
    assert line.split(",")[2] == str(first.to_port)
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    for out in ("notes.txt", "plans/reorg.json"):
        refused = run("state", "--out", out)
        assert refused.exit_code == 2 and len(refused.stderr.splitlines()) == 1
    assert notes.read_text() == "mine\n"


def test_hosts_init_lists_every_host_and_never_overwrites(in_tmp: Path):
    tmp_path = in_tmp  # the plans only: without data/ no host's os is known
    shutil.copytree(REPO / "plans", tmp_path / "plans", ignore=shutil.ignore_patterns("*.journal*", "hosts.csv"))
    made = run("hosts", "init")
    assert made.exit_code == 0, made.output
    written = (tmp_path / "plans" / "hosts.csv").read_text()
    assert written == "host,address,os\ndev,,\nmac-mini,,\nwindows-gpu,,\n"
    (tmp_path / "plans" / "hosts.csv").write_text("host,address\ndev,127.0.0.1\n")
    again = run("hosts", "init")
    assert again.exit_code == 2 and "exists" in again.stderr
    assert (tmp_path / "plans" / "hosts.csv").read_text() == "host,address\ndev,127.0.0.1\n"
