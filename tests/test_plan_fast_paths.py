"""The fast paths of `reorg plan` (issue 8: 10,000 bindings in under 5 s as a whole process).

- a plan whose greedy schedule meets the lower bounds needs no CP-SAT model, and the command then
  imports neither ortools nor (for a table without quotes) pandas, nor the scan package;
- the plan JSON is written by ``planfile.dump_indented``, byte for byte ``json.dumps(indent=2,
  sort_keys=True)``.
No timing here: the times are in bench/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reorg.generate import generate, write_csvs
from reorg.model import Objective, PairMode, PlanOptions
from reorg.planfile import dump_indented
from reorg.planners.cpsat import plan_cpsat
from reorg.problem import build_problem
from reorg.verify import verify

ROOT = Path(__file__).resolve().parent.parent
WATCHED = ("pandas", "ortools", "reorg.scan", "reorg.planners.wavemodel")
PROBE = (
    "import atexit, json, sys\n"
    f"atexit.register(lambda: print('MODULES=' + json.dumps(sorted(m for m in {WATCHED!r} if m in sys.modules)), file=sys.stderr))\n"
    "sys.argv = ['reorg'] + sys.argv[1:]\n"
    "from reorg.cli import main\n"
    "main()\n"
)


def run_plan(cwd: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, "plan", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    line = next(line for line in run.stderr.splitlines() if line.startswith("MODULES="))
    return set(json.loads(line[len("MODULES="):])), run


def test_a_plan_at_its_bounds_imports_no_solver_no_pandas_and_no_scan(tmp_path):
    write_csvs(generate(1, 5, 400, collisions=0.02), tmp_path / "current.csv", tmp_path / "target.csv")
    # a limit no load can make too short: the shortcut does not depend on it
    modules, run = run_plan(
        tmp_path, "--current", "current.csv", "--target", "target.csv", "--out", "out", "--time-limit", "600"
    )
    assert run.returncode == 0, run.stderr
    assert modules == set(), f"reorg plan imported {sorted(modules)}"
    metrics = json.loads((tmp_path / "out" / "reorg.json").read_text())["metrics"]
    assert metrics["optimal"] is True
    assert (metrics["moves"], metrics["waves"]) == (metrics["lower_bound_moves"], metrics["lower_bound_waves"])


def test_a_plan_off_its_bounds_still_solves_with_cpsat(tmp_path):
    """The shortcut is taken only at the bounds: a 2-port pool with hard pairs needs the model."""
    write_csvs(generate(1, 2, 100, pairs=0.3, collisions=0.02), tmp_path / "current.csv", tmp_path / "target.csv")
    modules, run = run_plan(
        tmp_path, "--current", "current.csv", "--target", "target.csv", "--out", "out",
        "--temp-ports", "39000-39001", "--time-limit", "30",
    )
    assert run.returncode == 0, run.stderr
    assert "ortools" in modules and "reorg.planners.wavemodel" in modules


def test_the_shortcut_plan_is_verified_and_optimal_for_each_objective():
    instance = generate(3, 4, 300, collisions=0.02)
    for objective in Objective:
        for pairs in PairMode:
            problem = build_problem(instance, PlanOptions(objective=objective, pairs=pairs))
            plan = plan_cpsat(problem)
            assert verify(plan, instance).ok
            m = plan.metrics
            assert m.optimal, (objective, pairs, m)
            if objective is Objective.MOVES:  # the shortcut's case: at the bounds, nothing better
                assert (m.moves, m.waves, m.pairs_split) == (m.lower_bound_moves, m.lower_bound_waves, 0)


_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=4), inner, max_size=4),
        st.lists(st.dictionaries(st.text(max_size=3), _SCALAR, max_size=4), max_size=4),  # records
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_dump_indented_is_json_dumps_indent_2_sorted(obj):
    assert "".join(dump_indented(obj)) == json.dumps(obj, indent=2, sort_keys=True)


def test_dump_indented_records_with_separators_inside_strings():
    obj = {"steps": [{"a": "},\n{", "b": "x},"}, {"a": "\"}, {\"", "b": 1.5}], "held": [{"a": None}]}
    assert "".join(dump_indented(obj)) == json.dumps(obj, indent=2, sort_keys=True)
