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
    "import atexit, json, os, sys\n"
    f"show = lambda: print('MODULES=' + json.dumps(sorted(m for m in {WATCHED!r} if m in sys.modules)), file=sys.stderr)\n"
    "atexit.register(show)\n"
    "_exit = os._exit\n"
    "os._exit = lambda code: (show(), sys.stderr.flush(), _exit(code))  # the fast exit skips atexit\n"
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


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.lists(
    st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8), min_size=k, max_size=k),
    min_size=1, max_size=6,
)), st.lists(st.text(alphabet="a →é漢\u200b\t", max_size=5), min_size=6, max_size=6))
def test_plain_text_tables_are_what_tabulate_prints(rows, last):
    """`reorg status` prints its table without importing tabulate; the same text."""
    from tabulate import tabulate

    rows = [r + [x] for r, x in zip(rows, last, strict=False)]
    from reorg.render.table import text_table

    assert text_table(rows, tablefmt="plain", disable_numparse=True) == tabulate(
        rows, tablefmt="plain", disable_numparse=True
    )


def test_status_imports_neither_pydantic_nor_tabulate(tmp_path):
    """`reorg status --plan FILE` (issue 8: under 0.3 s): typer's pydantic coercion is bypassed
    for str/Path/bool options (cli._plain_coercion), and its table is printed without tabulate."""
    import shutil

    (tmp_path / "plans").mkdir()
    shutil.copy(ROOT / "plans" / "reorg.json", tmp_path / "plans" / "reorg.json")
    probe = PROBE.replace(repr(WATCHED), repr(("pydantic", "tabulate", "pandas", "ortools")))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args in (["status"], ["status", "--plan", "plans/reorg.json", "--journal", "plans/reorg.journal.json"]):
        run = subprocess.run([sys.executable, "-c", probe, *args], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        line = next(line for line in run.stderr.splitlines() if line.startswith("MODULES="))
        assert json.loads(line[len("MODULES="):]) == [], args
        assert "progress    0 of" in run.stdout


def test_plain_coercion_gives_what_typer_gives_or_leaves_the_value_to_typer(tmp_path):
    """str, Path, bool, int, float and enum options are coerced without pydantic, to the value
    typer's own coercion gives; a value it does not take (a bad one included) goes to typer,
    with typer's error message."""
    import typer
    from typer import core
    from typer._coercion import build_runtime_param, resolve_type_descriptor
    from typer.models import OptionInfo
    from typer.testing import CliRunner

    from reorg.cli import _plain_coercion, app
    from reorg.model import Strategy

    _plain_coercion()
    _plain_coercion()  # twice is harmless
    build = core.build_runtime_param
    assert getattr(build, "reorg_plain", False) and build is not build_runtime_param
    param = type("P", (), {"multiple": False, "nargs": 1})()
    cases = [
        (Path, OptionInfo(), ["a/b.json", "", "x y", Path("p")]),
        (str, OptionInfo(), ["x y", "", "é"]),
        (int, OptionInfo(min=1), ["12", "1", "0", "-1", "abc", "²", " 5", "1e3", "99999999999", 7]),
        (float, OptionInfo(min=0.1), ["5", "0.5", "0.05", "1e3", "inf", "nan", "5.", " 5", "x", 10.0]),
        (Strategy, OptionInfo(), ["greedy", "cpsat", "fast", "GREEDY", Strategy.CPSAT]),
    ]
    for kind, info, values in cases:
        descriptor = resolve_type_descriptor(kind, info)
        mine, theirs = build(descriptor), build_runtime_param(descriptor)
        assert type(mine).__name__ == "Plain", kind
        for value in values:
            try:
                expected = ("ok", theirs.coerce(value, param, None))
            except typer.BadParameter as exc:
                expected = ("error", str(exc))
            try:
                got = ("ok", mine.coerce(value, param, None))
            except typer.BadParameter as exc:
                got = ("error", str(exc))
            assert got == expected and type(got[1]) is type(expected[1]), (kind, value)
    result = CliRunner().invoke(app, ["next", "abc", "--plan", str(tmp_path / "none.json")])
    assert result.exit_code == 2 and "valid integer" in " ".join(result.output.split())


def test_a_console_plan_with_ortools_exits_without_the_teardown_and_loses_no_output(tmp_path):
    """cli._exit: a fresh process that loaded ortools ends by os._exit after flushing (0.2-0.4 s
    of ortools' teardown saved); its summary and files are all there; an embedding process
    exits as usual."""
    import pytest

    from reorg import cli

    write_csvs(generate(1, 2, 100, pairs=0.3, collisions=0.02), tmp_path / "current.csv", tmp_path / "target.csv")
    probe = "import atexit, sys\natexit.register(lambda: print('ATEXIT', file=sys.stderr))\n" + PROBE
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", probe, "plan", "--current", "current.csv", "--target", "target.csv",
                          "--out", "out", "--temp-ports", "39000-39001", "--time-limit", "30"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "ATEXIT" not in run.stderr and "ortools" in run.stderr  # no teardown; the probe saw ortools
    assert "wrote out/reorg.json" in run.stdout.replace(str(tmp_path) + "/", "")
    assert json.loads((tmp_path / "out" / "reorg.json").read_text())["format"] == "reorg-plan/1"
    with pytest.raises(SystemExit) as exited:
        cli._exit(3, fresh=False)
    assert exited.value.code == 3
