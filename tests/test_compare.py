"""reorg compare: every row verifies, no row is beaten by greedy, the front is non-dominated."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reorg import commands
from reorg.cli import app
from reorg.comparison import Preference, mark_front, recommend, rule
from reorg.generate import generate, write_csvs
from reorg.model import Candidate, Compared, Metrics, Plan, PlanOptions
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
    rec = result.recommendation
    best = min((r.plan.metrics.moves, r.plan.metrics.waves, r.plan.metrics.temp_moves) for r in result.rows)
    assert rec.row in result.rows and rec.row.on_front and verify(rec.row.plan, result.instance).ok
    assert (rec.row.plan.metrics.moves, rec.row.plan.metrics.waves, rec.row.plan.metrics.temp_moves) == best


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


def test_cli_json_is_an_object_with_inputs_bounds_front_and_recommendation():
    runner = CliRunner()
    res = runner.invoke(app, [
        "compare", "--current", str(DATA / "current.csv"), "--target", str(DATA / "target.csv"),
        "--strategies", "greedy", "--strategies", "cpsat-moves", "--max-per-wave", "none,10", "--json",
    ])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["format"] == "reorg-compare/1"
    assert set(out) == {"format", "inputs", "options", "bounds", "rows", "notes", "front", "recommendation"}
    tables = {i["table"]: i for i in out["inputs"]}
    for table in ("current", "target"):
        path = Path(tables[table]["path"])
        assert tables[table]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert out["options"]["caps"] == [None, 10]
    assert out["options"]["strategies"] == ["greedy", "cpsat-moves"]
    rows = out["rows"]
    assert [r["plan"] for r in rows] == ["greedy", "cpsat-moves", "greedy-cap10", "cpsat-moves-cap10"]
    for r in rows:  # bounds as bounds, gaps as gaps
        assert r["verified"] is True
        assert r["moves_gap"] == r["moves"] - r["moves_bound"] >= 0
        assert r["waves_gap"] == r["waves"] - r["waves_bound"] >= 0
        assert r["moves_bound"] == out["bounds"]["moves"] == 43
    assert [(b["cap"], b["at_fewest_moves"]) for b in out["bounds"]["waves"]] == [(None, 4), (10, 5)]
    assert out["front"] == [{"cap": None, "plans": ["cpsat-moves"]}, {"cap": 10, "plans": ["cpsat-moves-cap10"]}]
    rec = out["recommendation"]
    assert (rec["plan"], rec["strategy"], rec["cap"]) == ("cpsat-moves", "cpsat", None)
    assert rec["reason"].startswith("the fewest moves")
    assert "seconds" not in res.stdout  # timings vary: the JSON does not


def test_cli_json_is_the_same_on_every_run():
    argv = ["compare", "--current", str(DATA / "current.csv"), "--target", str(DATA / "target.csv"),
            "--strategies", "greedy,cpsat-moves,cpsat-waves", "--json"]
    first, second = CliRunner().invoke(app, argv), CliRunner().invoke(app, argv)
    assert first.exit_code == second.exit_code == 0, first.output
    assert first.stdout == second.stdout


def test_compare_md_is_the_same_on_every_run_and_leads_with_the_recommendation(tmp_path):
    texts = []
    for k in range(2):
        commands.compare(DATA / "current.csv", DATA / "target.csv", PlanOptions(),
                         [Candidate.GREEDY, Candidate.CPSAT_MOVES, Candidate.CPSAT_WAVES], [None],
                         out=tmp_path / str(k))
        texts.append((tmp_path / str(k) / "compare.md").read_text())
    assert texts[0] == texts[1]
    text = texts[0]
    assert text.index("## Recommendation") < text.index("## Plans")
    assert "Take `cpsat-moves`: the fewest moves, i.e. restarts: 43 (the lower bound), and of those the shortest" in text
    assert "cpsat-waves: 3 waves (1 fewer) for 1 more move" in text
    assert "seconds" not in text


def test_terminal_table_shows_bounds_and_gaps_apart():
    res = CliRunner().invoke(app, [
        "compare", "--current", str(DATA / "current.csv"), "--target", str(DATA / "target.csv"),
        "--strategies", "greedy,cpsat-waves",
    ])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    headers = lines[0].split()
    assert headers[:12] == ["plan", "objective", "cap", "moves", "moves-lb", "moves-gap", "waves",
                            "waves-lb", "waves-gap", "temp", "split", "optimal"]
    cells = {line.split()[0]: line.split() for line in lines[2:4]}
    # greedy: 43 moves (bound 43, gap +0), 41 waves (bound 4, gap +37)
    assert cells["greedy"][3:9] == ["43", "43", "+0", "41", "4", "+37"]
    # cpsat-waves: one temp move, so the waves bound is the one for more than the fewest moves
    assert cells["cpsat-waves"][4:10] == ["44", "43", "+1", "3", "2", "+1"]
    assert "bounds: moves >= 43 for every plan" in res.stdout
    assert "bounds: waves >= 4 for a plan of 43 moves, >= 2 for any plan (no cap)" in res.stdout
    # moves first, always: greedy wins here, and the line says what the shorter window costs
    assert ("recommended: greedy: the fewest moves, i.e. restarts: 43 (the lower bound), in 41 waves (bound 4)"
            in res.stdout)
    assert "for a shorter window take cpsat-waves: 3 waves (38 fewer) for 1 more move" in res.stdout


def test_several_caps_explain_their_own_fronts_in_one_line():
    one = CliRunner().invoke(app, ["compare", "--current", str(DATA / "current.csv"), "--target",
                                   str(DATA / "target.csv"), "--strategies", "greedy"])
    two = CliRunner().invoke(app, ["compare", "--current", str(DATA / "current.csv"), "--target",
                                   str(DATA / "target.csv"), "--strategies", "greedy", "--max-per-wave", "none,5"])
    assert one.exit_code == two.exit_code == 0
    assert "its own front" not in one.stdout
    star = [line for line in two.stdout.splitlines() if line.startswith("* = ")]
    assert len(star) == 1 and "each cap is its own problem, so each has its own front" in star[0]


@pytest.mark.parametrize("value", ["greedy,bogus", "greedy,,", "cpsat"])
def test_bad_strategies_are_one_line_and_exit_2(tmp_path, value):
    res = CliRunner().invoke(app, ["compare", "--current", str(DATA / "current.csv"), "--target",
                                   str(DATA / "target.csv"), "--strategies", value, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "choose from greedy" in res.stderr
    assert not (tmp_path / "o").exists()


# ---- the front and the recommendation on made-up rows ----------------------------------------


def row(label, moves, waves, temp=0, split=0, cap=None, lb_moves=10, lb_waves=3):
    metrics = Metrics(moves, temp, waves, lb_moves, lb_waves, False, split)
    return Compared(label, Candidate.CPSAT_MOVES, cap, Plan("cpsat", PlanOptions(), (), metrics), 0.0)


def test_front_marks_exactly_the_undominated_rows_of_each_cap():
    rows = [row("a", 10, 5), row("b", 11, 4), row("c", 11, 5), row("d", 10, 5), row("e", 12, 3),
            row("f", 12, 6, cap=2), row("g", 13, 7, cap=2)]
    marked = {r.label: r.on_front for r in mark_front(rows)}
    # c is beaten by a (and b); equal figures (a, d) are both on the front; cap 2 is its own group
    assert marked == {"a": True, "b": True, "c": False, "d": True, "e": True, "f": True, "g": False}


def test_recommendation_order_moves_then_waves_then_temps_then_splits_then_table():
    assert recommend([]) is None
    assert recommend([row("a", 11, 3), row("b", 10, 9)]).row.label == "b"
    assert recommend([row("a", 10, 5), row("b", 10, 4)]).row.label == "b"
    assert recommend([row("a", 10, 4, temp=1), row("b", 10, 4, temp=0)]).row.label == "b"
    assert recommend([row("a", 10, 4, split=1), row("b", 10, 4)]).row.label == "b"
    tie = recommend([row("a", 10, 4), row("b", 10, 4)])
    assert tie.row.label == "a" and "equal to b on every figure, taken as the first in the table" in tie.reason


def test_recommendation_reason_names_the_bounds_and_the_faster_alternative():
    rec = recommend([row("slow", 10, 4, lb_waves=4), row("fast", 12, 2, temp=2, lb_waves=2)])
    assert rec.row.label == "slow"
    assert rec.reason == (
        "the fewest moves, i.e. restarts: 10 (the lower bound), in 4 waves (the lower bound for 10 moves), "
        "0 temp moves; for a shorter window take fast: 2 waves (2 fewer) for 2 more moves"
    )
    gap = recommend([row("x", 11, 5, lb_waves=4)])
    assert gap.reason == "the fewest moves, i.e. restarts: 11 (bound 10), in 5 waves (bound 4), 0 temp moves"


def test_prefer_waves_puts_the_window_first():
    rows = [row("slow", 10, 4, lb_waves=4), row("fast", 12, 2, temp=2, lb_waves=2), row("fast2", 11, 2)]
    rec = recommend(rows, Preference.WAVES)
    assert rec.row.label == "fast2"
    assert rec.reason == (
        "the shortest window: 2 waves (bound 3), and of those the fewest moves, i.e. restarts: 11 (bound 10), "
        "0 temp moves; for fewer restarts take slow: 10 moves (1 fewer) for 2 more waves"
    )
    assert recommend(rows).row.label == "slow"
    assert rule(Preference.WAVES)[:2] == ("fewest waves (window)", "fewest moves (restarts)")


def test_cli_prefer_waves_recommends_the_shortest_window():
    res = CliRunner().invoke(app, [
        "compare", "--current", str(DATA / "current.csv"), "--target", str(DATA / "target.csv"),
        "--strategies", "cpsat-moves,cpsat-waves", "--prefer", "waves", "--json",
    ])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["options"]["prefer"] == "waves"
    rec = out["recommendation"]
    assert rec["plan"] == "cpsat-waves" and rec["rule"][0] == "fewest waves (window)"
    assert rec["reason"] == (
        "the shortest window: 3 waves (bound 2), with 44 moves (bound 43), 1 temp move; "
        "for fewer restarts take cpsat-moves: 43 moves (1 fewer) for 1 more wave"
    )
    bad = subprocess.run([sys.executable, "-m", "reorg", "compare", "--prefer", "speed"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "error: Invalid value for '--prefer': 'speed' is not one of 'moves', 'waves'; see `python -m reorg compare --help`"
    ]


def test_bundled_recommendation_is_a_verified_row():
    result = commands.compare(DATA / "current.csv", DATA / "target.csv", PlanOptions(), list(Candidate), [None])
    rec = result.recommendation
    assert rec is not None and rec.row in result.rows and verify(rec.row.plan, result.instance).ok
    assert rec.row.label == "cpsat-moves"


def test_bad_cap_is_a_one_line_error():
    res = CliRunner().invoke(app, ["compare", "--max-per-wave", "lots"])
    assert res.exit_code == 2
    assert "error: --max-per-wave 'lots' is not a positive integer" in res.stderr


def test_a_failed_strategy_is_a_json_row_with_its_reason_and_never_recommended(tmp_path, monkeypatch):
    from reorg.model import ReorgError
    from reorg.planners import cpsat as cpsat_module

    def refuse(*args, **kwargs):
        raise ReorgError("cpsat found nothing (stand-in)")

    # cpsat-moves would be recommended; without it greedy (43 moves) is, and the failures are rows
    monkeypatch.setattr(cpsat_module, "plan_cpsat", refuse)
    res = CliRunner().invoke(app, [
        "compare", "--current", str(DATA / "current.csv"), "--target", str(DATA / "target.csv"),
        "--strategies", "greedy,cpsat-moves", "--json", "--out", str(tmp_path),
    ])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [(r["plan"], r["verified"], r.get("failed")) for r in out["rows"]] == [
        ("greedy", True, None), ("cpsat-moves", False, "cpsat found nothing (stand-in)"),
    ]
    assert out["recommendation"]["plan"] == "greedy"
    assert out["front"] == [{"cap": None, "plans": ["greedy"]}]
    text = (tmp_path / "compare.md").read_text()
    assert "cpsat-moves: failed: cpsat found nothing (stand-in)" in text and "Take `greedy`" in text


def test_recommendation_names_the_cheapest_and_the_shortest_trade():
    rows = [row("slow", 10, 8), row("mid", 11, 6, temp=1), row("mid-late", 11, 7, temp=1), row("fast", 20, 2, temp=10)]
    assert recommend(rows).reason.endswith(
        "; for a shorter window take mid: 6 waves (2 fewer) for 1 more move, "
        "or for the shortest fast: 2 waves (6 fewer) for 10 more moves"
    )
    assert recommend(rows, Preference.WAVES).reason.endswith(
        "; for fewer restarts take mid: 11 moves (9 fewer) for 4 more waves, "
        "or for the fewest slow: 10 moves (10 fewer) for 6 more waves"
    )


def test_what_each_plan_trades_counts_the_temp_moves_of_cycles():
    # a 3-cycle: the fewest-moves plan needs one temp move, so "no temp port" would be false
    from reorg.render import explain_trade

    cyclic = row("cpsat-moves", 4, 4, temp=1, lb_moves=4, lb_waves=4)
    text = explain_trade(cyclic, (cyclic,))
    assert text.endswith("each binding that changes moves once, plus one temp move per cycle (1)")
    plain = row("cpsat-moves", 3, 2, lb_moves=3, lb_waves=2)
    assert explain_trade(plain, (plain,)).endswith("no temp port")


def test_compare_md_parses_as_markdown_with_the_recommendation_first(tmp_path):
    from markdown_it import MarkdownIt

    commands.compare(DATA / "current.csv", DATA / "target.csv", PlanOptions(), list(Candidate), [None, 5],
                     out=tmp_path)
    tokens = MarkdownIt("commonmark").enable("table").parse((tmp_path / "compare.md").read_text())
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["Plan comparison", "Recommendation", "Plans", "Moves versus waves",
                        "What each plan trades"]
    fences = [t for t in tokens if t.type == "fence"]
    # the table, then a chart for the no-cap front (43/4, 44/3); cap 5's front is one point (43/9)
    assert [f.info for f in fences] == ["", "mermaid"]
    assert fences[0].content.splitlines()[0].split()[3:9] == [
        "moves", "moves-lb", "moves-gap", "waves", "waves-lb", "waves-gap"]
    assert sum(t.type == "table_open" for t in tokens) == 2  # the front of each cap
    second_heading = [i for i, t in enumerate(tokens) if t.type == "heading_open"][1]
    first_paragraph = next(t for t in tokens[second_heading:] if t.type == "inline" and t.content.startswith("Take"))
    assert first_paragraph.content.startswith("Take `cpsat-moves`: the fewest moves")
