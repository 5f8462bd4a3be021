"""The committed runbooks in plans/ are exactly what `reorg plan` writes now."""

from __future__ import annotations

from pathlib import Path

from reorg import commands
from reorg.model import PlanOptions, Strategy

ROOT = Path(__file__).resolve().parent.parent


def test_committed_plans_are_up_to_date(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the plan records its input paths as given: data/current.csv
    result = commands.plan(
        Path("data/current.csv"), Path("data/target.csv"), tmp_path, Strategy.CPSAT, PlanOptions(), "reorg"
    )
    assert result.plan.metrics.optimal
    for written in result.paths:
        committed = ROOT / "plans" / written.name
        assert committed.read_bytes() == written.read_bytes(), (
            f"plans/{written.name} is stale: run 'reorg plan' and commit plans/"
        )
