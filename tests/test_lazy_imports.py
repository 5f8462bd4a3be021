"""The commands run most start without the heavy libraries (issue 8, item 7).

Each command runs in a fresh interpreter (as the console script does) against a copy of the
bundled plan; at exit the interpreter lists which heavy modules it imported. pandas (about 0.4 s)
and ortools are only for reading tables and solving; tabulate only where a table is printed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "ortools", "numpy", "yaml", "tabulate")
PROBE = (
    "import atexit, json, sys\n"
    f"atexit.register(lambda: print('MODULES=' + json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr))\n"
    "sys.argv = ['reorg'] + sys.argv[1:]\n"
    "from reorg.cli import main\n"
    "main()\n"
)


def imported(cwd: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    line = next(line for line in run.stderr.splitlines() if line.startswith("MODULES="))
    return set(json.loads(line[len("MODULES="):])), run


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("lazy")
    (where / "plans").mkdir()
    shutil.copy(ROOT / "plans" / "reorg.json", where / "plans" / "reorg.json")
    return where


@pytest.mark.parametrize("args, allowed", [
    (("--help",), set()),
    (("status",), {"tabulate"}),
    (("next", "1", "--no-probe"), {"tabulate"}),
    (("done", "1", "--no-probe"), {"tabulate"}),
    (("undo", "--no-probe", "--yes"), {"tabulate"}),
    (("history",), {"tabulate"}),
])
def test_commands_run_most_do_not_import_pandas_or_ortools(folder, args, allowed):
    modules, run = imported(folder, *args)
    assert run.returncode in (0, 1), run.stderr
    assert modules <= allowed, f"reorg {' '.join(args)} imported {sorted(modules - allowed)}"


def test_the_probe_sees_a_heavy_import(folder):
    """The measure itself: `reorg check` reads the tables, so it must show pandas."""
    shutil.copytree(ROOT / "data", folder / "data", dirs_exist_ok=True)
    modules, _ = imported(folder, "check")
    assert "pandas" in modules


# ---- CLI basics (issue 12, item 8) ----------------------------------------------------------------


def test_version_short_help_and_completion(folder):
    from reorg import __version__

    _, version = imported(folder, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"reorg {__version__}"
    _, short = imported(folder, "status", "-h")
    assert short.returncode == 0 and "Usage:" in short.stdout and "--plan" in short.stdout
    _, top = imported(folder, "-h")
    assert "--install-completion" in top.stdout


def test_journal_backups_are_git_ignored(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    for name in ("plans/reorg.journal.json.bak-1", "plans/compare/greedy.journal.json.bak-12"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        ignored = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", "-q", name])
        assert ignored.returncode == 0, f"{name} is not ignored by .gitignore"


def test_compare_takes_comma_lists_and_explains_the_front_it_marks(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from reorg.cli import app, parse_candidates
    from reorg.model import Candidate, ReorgError

    assert parse_candidates(["greedy,cpsat-moves", "pareto"]) == [Candidate.GREEDY, Candidate.CPSAT_MOVES, Candidate.PARETO]
    with pytest.raises(ReorgError, match="choose from greedy, cpsat-moves"):
        parse_candidates(["greedy,fast"])
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, ["compare", "--strategies", "greedy,cpsat-moves", "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    rows = [line.split()[0] for line in result.stdout.splitlines()[2:] if line.startswith(("greedy", "cpsat"))]
    assert rows == ["greedy", "cpsat-moves"]
    greedy = next(line for line in result.stdout.splitlines() if line.startswith("greedy"))
    assert "*" not in greedy  # 45 moves / 43 waves is dominated by cpsat-moves' 45 / 4
    assert "at least as good on both" in result.stdout and "both fewer" not in result.stdout


# ---- the helper both packages use (reorg.lazy) ------------------------------------------------------


def test_lazy_names_imports_a_home_on_first_use_only(monkeypatch):
    import types

    from reorg.lazy import lazy_names

    home = types.ModuleType("reorg_lazy_probe_home")
    home.thing = object()
    monkeypatch.setitem(sys.modules, "reorg_lazy_probe_home", home)
    namespace = {"__name__": "probe.pkg", "local": 1}
    attribute, names = lazy_names(namespace, {"thing": "reorg_lazy_probe_home"})
    assert names() == ["__name__", "local", "thing"]
    assert attribute("thing") is home.thing
    assert namespace["thing"] is home.thing  # kept: Python finds it in globals from now on
    with pytest.raises(AttributeError, match="module 'probe.pkg' has no attribute 'other'"):
        attribute("other")


@pytest.mark.parametrize("package", ["reorg.commands", "reorg.render"])
def test_both_packages_resolve_every_name_they_list(package):
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None
        assert name in dir(module)
    assert not hasattr(module, "no_such_name")
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018
