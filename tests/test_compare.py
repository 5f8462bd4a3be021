"""reorg compare: every row verifies, no row is beaten by greedy, the front is non-dominated."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reorg import commands
from reorg.cli import app
from reorg.generate import generate, write_csvs
from reorg.model import Candidate, PlanOptions
from reorg.planfile import read_plan
from reorg.verify import verify

DATA = Path(__file__).resolve().parent.parent / "data"


def dominated(a, b) -> bool:
    """True when figures ``b`` beat ``a``: no worse on both, better on one."""
    return b[0] <= a[0] and b[1] <= a[1] and b != a


def assert_sound(result):
    by_cap: dict = {}
    for row in result.rows:
        assert verify(row.plan, result.instance).ok
        by_cap.setdefault(row.cap, []).append(row)
    for rows in by_cap.values():
        greedy = [r for r in rows if r.candidate is Candidate.GREEDY]
        points = [(r.plan.metrics.moves, r.plan.metrics.waves) for r in rows]
        for r in rows:
            mine = (r.plan.metrics.moves, r.plan.metrics.waves)
            for g in greedy:
                assert not dominated(mine, (g.plan.metrics.moves, g.plan.metrics.waves))
            beaten = any(dominated(mine, other) for other in points)
            assert r.on_front == (not beaten)


def test_bundled_data():
    result = commands.compare(
        DATA / "current.csv", DATA / "target.csv", PlanOptions(), list(Candidate), [None, 5]
    )
    assert_sound(result)
    labels = {r.label for r in result.rows}
    assert {"greedy", "cpsat-moves", "cpsat-waves", "greedy-cap5", "cpsat-moves-cap5"} <= labels


def test_cycles_give_a_front_of_several_plans(tmp_path):
    inst = generate(3, 2, 40, cycles=0.6, swaps=0.0, chains=0.2, fixed=0.1, retire=0.0, max_cycle=8)
    write_csvs(inst, tmp_path / "current.csv", tmp_path / "target.csv")
    result = commands.compare(
        tmp_path / "current.csv", tmp_path / "target.csv", PlanOptions(), list(Candidate), [None],
        out=tmp_path / "out",
    )
    assert_sound(result)
    front = {(r.plan.metrics.moves, r.plan.metrics.waves) for r in result.rows if r.on_front}
    assert len(front) >= 3  # fewer waves cost more moves, step by step
    text = (tmp_path / "out" / "compare.md").read_text()
    assert "xychart-beta" in text and "What each plan trades" in text
    for row in result.rows:
        assert read_plan(tmp_path / "out" / f"{row.label}.json").plan == row.plan


def test_cli_json_and_subset(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, [
        "compare", "--current", str(DATA / "current.csv"), "--target", str(DATA / "target.csv"),
        "--strategies", "greedy", "--strategies", "cpsat-moves", "--max-per-wave", "none,10", "--json",
    ])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["plan"] for r in rows] == ["greedy", "cpsat-moves", "greedy-cap10", "cpsat-moves-cap10"]
    assert all(r["moves_gap"] >= 0 and r["waves_gap"] >= 0 for r in rows)


def test_bad_cap_is_a_one_line_error():
    res = CliRunner().invoke(app, ["compare", "--max-per-wave", "lots"])
    assert res.exit_code == 2
    assert "error: --max-per-wave 'lots' is not a positive integer" in res.stderr
