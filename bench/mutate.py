"""Mutation testing of the spec code: the verifier, the lower bounds and the journal replay.

    python bench/mutate.py                      # every target, a summary and the survivors
    python bench/mutate.py --target verify      # one target (see TARGETS)
    python bench/mutate.py --list               # the mutants, without running anything
    python bench/mutate.py --show ID            # one mutant's diff and its test run, verbose
    python bench/mutate.py --markdown FILE      # also write the report as Markdown
    python bench/mutate.py --target bounds --mutants 60-89   # a slice (split a long run)

A small runner of our own (not mutmut: it mutates whole files while our targets are a few
functions of modules that also hold unrelated code, and it rewrites the package into mutants/,
which our conftest's "test the checkout the tests live in" sys.path rule does not expect).

How it works: each target names a file and the functions in it that are the spec. The file is
parsed with ``ast``; every single-token mutation inside those functions is one mutant:
comparison flips (``<`` -> ``<=``, ``==`` -> ``!=``, ``in`` -> ``not in``, ``is`` -> ``is not``),
integer constants +1 and -1, ``True``/``False`` swapped, ``+``/``-`` swapped (also in ``+=``),
``and``/``or`` swapped, ``not`` removed, ``max``/``min`` swapped, an expression statement
(``found.append(...)``, ``_flag(...)``), ``raise``, ``continue`` or ``break`` deleted, and
a returned comparison negated. The parent process imports pytest and the third-party
libraries once, then forks one child per mutant; the child compiles the mutated module into
``sys.modules`` before any test imports it and runs the target's fast test subset with ``-x``.
A mutant is *killed* when a test fails, *timeout* when the run exceeds the limit (counted as
killed: a hang is caught), *survived* otherwise. Tests that run ``python -m reorg`` in a
subprocess see the unmutated code, so they cannot kill a mutant (the score errs low, never high).

Hypothesis runs derandomized (the CI profile), so a run is reproducible. Not part of CI: a
full run takes tens of minutes on two cores.

Mutants argued equivalent (they cannot change what the code accepts or computes) are listed in
EQUIVALENT with the reason, keyed by function and mutation; they are reported apart and excluded
from the score's denominator. bench/MUTATION.md records the last full run.
"""

from __future__ import annotations

import argparse
import ast
import atexit
import contextlib
import copy
import difflib
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Target:
    name: str
    path: str  # relative to the repo root
    functions: tuple[str, ...]  # qualified names ("Class.method"); () = every function
    tests: tuple[str, ...]  # pytest node ids or files, fastest first


VERIFY_TESTS = (
    "tests/test_spec_verify.py",
    "tests/test_verify.py",
    "tests/test_bruteforce.py",
)
BOUNDS_TESTS = (
    "tests/test_spec_bounds.py",
    "tests/test_verify.py",
    "tests/test_bruteforce.py",
)
TARGETS = (
    Target("verify", "reorg/verify.py", (), VERIFY_TESTS),
    Target("verify-bounds", "reorg/verify_bounds.py", (), BOUNDS_TESTS),
    Target(
        "bounds",
        "reorg/problem.py",
        (
            "lower_bound_moves",
            "lower_bound_waves",
            "_pool_bound",
            "lower_bound_waves_any",
            "_acyclic_depths",
            "cyclic_components",
        ),
        BOUNDS_TESTS,
    ),
    Target(
        "replay",
        "reorg/replay.py",
        (
            "Position.holders", "start_state", "open_steps", "Replayer.__init__",
            "Replayer.holders", "Replayer.is_open", "Replayer._move", "Replayer.apply",
            "replay", "holders", "step_checks",
        ),
        ("tests/test_spec_replay.py", "tests/test_journal.py"),
    ),
)

# function: mutation description -> why it cannot change what the code accepts or computes.
EQUIVALENT: dict[str, str] = {
    "_check_numbering: '1' -> '0' #2": "highest starts at 0 instead of 1: a wave below 1 is "
    "reported by the numbering branch first, so the wave-order test never sees the difference",
    "_check_numbering: '0' -> '-1'": "max(present, default=-1): with no step range(1, 0) and "
    "range(1, -0) are both empty",
    "_check_numbering: '1' -> '0' #5": "range(1, last) misses only wave `last`, which is "
    "present by definition",
    "_replay: 'finals[key] += 1' -> 'finals[key] -= 1'": "finals is read only as `not "
    "finals[key]` (missing-step): -1 is as truthy as 1",
    "_replay: '1' -> '2'": "finals[key] += 2: read only as a truth value (missing-step)",
    # verify-bounds (reorg/verify_bounds.py)
    "lower_bounds: delete 'continue'": "a retirement's arrows: without the `continue` its "
    "goal port None finds no hub (no binding is on port None), so succ stays empty either way",
    "lower_bounds: '1' -> '0' #2": "by_cap = 0 without a cap: every return takes max() with a "
    "term >= 1 (a mover waits: 2; an acyclic mover's chain or a cycle's 2)",
    "lower_bounds: '1' -> '0' #3": "`2 if waits else 0` (more moves than n + c): max() with "
    "by_cap, which is 1 without a cap and ceil(moves / cap) >= 1 with one",
    "lower_bounds: '1' -> '0' #5": "best starts at 0 instead of 1 without a cycle: every mover "
    "is then acyclic and raises best to its chain length >= 1",
    "lower_bounds: 'min((v for v in comps[k] if v < size))' -> 'max((v for v in comps[k] if v < size))'":
    "which member names a component's pool: under host scope all members share the host (arrows "
    "stay on one host), under global scope the pool is '*'",
    "lower_bounds: 'v < size' -> 'v <= size'": "node `size` is a hub, never below a binding's "
    "index, so the min over the component's bindings is unchanged",
    "lower_bounds: 'v < size' -> 'v <= size' #2": "a cyclic component's first hub gets leave 1, "
    "then the hub loop right after recomputes every hub's leave from its holders",
    "lower_bounds: '0' -> '1' #6": "the initial leave of a binding that never gets one: only a "
    "binding that stays, and a mover waiting on one is a target find_conflicts refuses",
    "lower_bounds: '0' -> '-1' #6": "as above: only bindings that stay keep the initial leave",
    "_strong_components: '1' -> '2'": "seen[root] = 2 is as truthy as 1",
    "_strong_components: '1' -> '0'": "an unmarked root may be pushed once more from its own "
    "cycle and finish twice; the second pass takes the later finish first and skips the other",
    "_strong_components: '1' -> '2' #3": "seen[nxt] = 2 is as truthy as 1",
    # bounds (reorg/problem.py)
    "cyclic_components: '0' -> '1'": "Tarjan's counter starting at 1: indices are only compared "
    "with each other",
    "cyclic_components: '0' -> '-1'": "as above, starting at -1",
    "cyclic_components: delete 'continue'": "a root already indexed is indexed again: everything "
    "reachable from it is finished and off the stack, so it closes a component of one, which is "
    "not kept",
    # replay (reorg/replay.py)
    "Replayer.__init__: '0' -> '1' #2": "last_wave's default: only a plan with no step, where "
    "every event is refused before last_wave is read",
    "Replayer.__init__: '0' -> '-1' #2": "as above",
    "Replayer.__init__: '1' -> '2' #3": "low's default: only a plan with no step, where is_open "
    "finds no step and every event is refused",
    "Replayer.__init__: '1' -> '0' #3": "as above",
    "Replayer.apply: delete \"raise ReorgError(f'{bad}: {step.service}@{step.host} is not on "
    "{step.to_port}; {fix}')\"": "undo of the last done step finds its binding on the step's "
    "to-port always: only that binding's own steps move it, each later one was undone first, and "
    "the start-port check held every done step to where the one before left it",
    "cyclic_components: '1' -> '2'": "the counter steps by 2: indices still grow, and are "
    "only compared with each other",
    "lower_bound_waves: 'len(comp) + 1' -> 'len(comp) - 1'": "the simple-cycle term is also "
    "in the pool term: the cycle's hold k + 1 enters _pool_bound, which is at least the longest "
    "hold, and build_problem refuses a cycle without a free temp port, so the pool term is always "
    "there",
    "lower_bound_waves: '1' -> '0' #5": "as above (len(comp) + 0)",
    "lower_bound_waves: '2' -> '1' #2": "`best = 1 if cyclic`: with a cycle the pool term "
    "(always there: build_problem refuses a cycle without a free temp port) is at least its "
    "longest hold, >= 2",
    "lower_bound_waves: '1' -> '0' #3": "`best = 0` without a cycle: the final max() takes "
    "by_cap >= 1",
    "_acyclic_depths: delete 'continue' #3": "a node on the stack twice is computed again from "
    "the same blockers' depths: the same value",
    "_acyclic_depths: '0' -> '1'": "depth.get(j, 0)'s default: only a blocker that does not move, "
    "a target find_conflicts refuses",
    "_acyclic_depths: '0' -> '-1'": "as above",
    "lower_bound_waves: '1' -> '0'": "by_cap = 0 without a cap: every return takes max() "
    "with a term >= 1 (2 if anyone waits else 1; best starts at 1 or 2)",
    "lower_bound_waves_any: '1' -> '0' #2": "`2 if waits else 0`: max() with by_cap, which is "
    "1 without a cap and ceil(n + c / cap) >= 1 with one",
    "Replayer.apply: 'self.low <= self.last_wave' -> 'self.low < self.last_wave'": "low stops "
    "at the last wave instead of one past it only once every step is done (the last wave has a "
    "step by definition); then every step is in done_set, which is_open and apply test first, "
    "and an undo sets low to the undone step's wave either way",
}


# ---- mutants ----------------------------------------------------------------------------------

_FLIP = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_SYMBOL = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
    ast.Add: "+", ast.Sub: "-", ast.And: "and", ast.Or: "or",
}


@dataclass(frozen=True)
class Mutant:
    target: str
    path: str
    function: str
    line: int
    col: int
    description: str  # "'a < b' -> 'a <= b'"
    index: int  # which candidate node of the file's walk
    choice: int  # which of that node's mutations

    @property
    def key(self) -> str:
        return f"{self.function}: {self.description}"

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _functions(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """(qualified name, node) of every function, methods as Class.method."""
    out: list[tuple[str, ast.AST]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((prefix + child.name, child))
                walk(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")

    walk(tree, "")
    return out


def _is_docstring(node: ast.AST, parent: ast.AST) -> bool:
    body = getattr(parent, "body", None)
    return bool(body) and body[0] is node and isinstance(node, ast.Expr) and isinstance(
        node.value, ast.Constant
    ) and isinstance(node.value.value, str)


def _options(node: ast.AST, parent: ast.AST) -> list[tuple[str, ast.AST | None]]:
    """The mutations of one node: (what it becomes, in words; the replacement node or None
    to delete a statement)."""
    src = ast.unparse(node) if not isinstance(node, ast.stmt) else ast.unparse(node).split("\n")[0]
    out: list[tuple[str, ast.AST | None]] = []

    def variant(new: ast.AST) -> None:
        out.append((f"{src!r} -> {ast.unparse(new)!r}", new))

    if isinstance(node, ast.Compare):
        for k, op in enumerate(node.ops):
            if type(op) in _FLIP:
                new = copy.deepcopy(node)
                new.ops[k] = _FLIP[type(op)]()
                variant(new)
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        for delta in (1, -1):
            variant(ast.Constant(node.value + delta))
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        variant(ast.Constant(not node.value))
    elif isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, (ast.Add, ast.Sub)):
        new = copy.deepcopy(node)
        new.op = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
        variant(new)
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        variant(new)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        variant(copy.deepcopy(node.operand))
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("max", "min")
    ):
        new = copy.deepcopy(node)
        new.func = ast.Name("min" if node.func.id == "max" else "max", ast.Load())
        variant(new)
    if isinstance(node, ast.Return) and isinstance(node.value, (ast.Compare, ast.BoolOp)):
        variant(ast.Return(ast.UnaryOp(ast.Not(), copy.deepcopy(node.value))))
    if isinstance(node, (ast.Expr, ast.Raise, ast.Continue, ast.Break)) and not _is_docstring(
        node, parent
    ):
        out.append((f"delete {src!r}", None))
    return out


def _candidates(tree: ast.Module, functions: tuple[str, ...]):
    """(index, function, node, parent) of every mutable node inside the chosen functions,
    in a fixed order; nested functions count as part of their outer function."""
    chosen = [(name, fn) for name, fn in _functions(tree) if not functions or name in functions]
    missing = set(functions) - {name for name, _ in chosen}
    if missing:
        raise SystemExit(f"mutate: no function {', '.join(sorted(missing))} (did it move?)")
    index = 0
    seen: set[int] = set()
    for name, fn in chosen:
        stack: list[tuple[ast.AST, ast.AST]] = [(child, fn) for child in ast.iter_child_nodes(fn)]
        stack.reverse()
        while stack:
            node, parent = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, (ast.arguments, ast.arg)) or node is getattr(parent, "returns", 0):
                continue  # a signature is not code (``from __future__ import annotations``)
            yield index, name, node, parent
            index += 1
            children = [(child, node) for child in ast.iter_child_nodes(node)]
            stack.extend(reversed(children))


def list_mutants(target: Target) -> list[Mutant]:
    source = (REPO / target.path).read_text()
    tree = ast.parse(source)
    out: list[Mutant] = []
    counts: dict[str, int] = {}
    for index, function, node, parent in _candidates(tree, target.functions):
        for choice, (text, _) in enumerate(_options(node, parent)):
            key = f"{function}: {text}"
            counts[key] = counts.get(key, 0) + 1
            if counts[key] > 1:
                text = f"{text} #{counts[key]}"
            out.append(
                Mutant(target.name, target.path, function, node.lineno, node.col_offset,
                       text, index, choice)
            )
    return out


def mutated_tree(mutant: Mutant) -> ast.Module:
    target = next(t for t in TARGETS if t.name == mutant.target)
    tree = ast.parse((REPO / mutant.path).read_text())
    for index, _, node, parent in _candidates(tree, target.functions):
        if index != mutant.index:
            continue
        _, new = _options(node, parent)[mutant.choice]
        _replace(parent, node, new if new is not None else ast.Pass())
        return ast.fix_missing_locations(tree)
    raise AssertionError(f"mutant {mutant} not found")


def _replace(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    ast.copy_location(new, old)
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for k, item in enumerate(value):
                if item is old:
                    value[k] = new
                    return
    raise AssertionError("node not under its parent")


# ---- running ----------------------------------------------------------------------------------


def _module_name(path: str) -> str:
    parts = Path(path).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _snapshot() -> None:
    """Run on a copy of the checkout, so that editing or rebasing it meanwhile changes nothing."""
    global REPO
    copy_to = Path(tempfile.mkdtemp(prefix="reorg-mutate-"))
    skip = shutil.ignore_patterns(".git", ".hypothesis", "__pycache__", "*.egg-info", "plans")
    for name in ("reorg", "tests", "bench", "data", "docs"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, copy_to / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, copy_to / name)
    if (REPO / "plans").exists():
        shutil.copytree(REPO / "plans", copy_to / "plans")
    REPO = copy_to
    atexit.register(shutil.rmtree, copy_to, True)


def _preload() -> None:
    """Import the slow third-party libraries once, in the parent, so every fork starts warm."""
    sys.path.insert(0, str(REPO))
    # fewer hypothesis examples than the suite's defaults: a mutant is caught by the first few
    os.environ.setdefault("ORACLE_EXAMPLES", "40")
    os.environ.setdefault("REORG_HYPOTHESIS_EXAMPLES", "40")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p
    )
    os.environ["CI"] = "1"  # tests/conftest.py: derandomized hypothesis
    os.chdir(REPO)
    import hypothesis  # noqa: F401
    import pytest  # noqa: F401

    for name in ("pandas", "typer", "tabulate", "ortools.sat.python.cp_model"):
        with contextlib.suppress(ImportError):
            __import__(name)


def _child(mutant: Mutant | None, tests: tuple[str, ...], quiet: bool) -> int:
    import types

    import pytest

    if mutant is not None:
        name = _module_name(mutant.path)
        module = types.ModuleType(name)
        module.__file__ = str(REPO / mutant.path)
        module.__package__ = name.rpartition(".")[0]
        sys.modules[name] = module
        code = compile(mutated_tree(mutant), module.__file__, "exec")
        parent = sys.modules.get(module.__package__) or __import__(module.__package__)
        exec(code, module.__dict__)
        setattr(parent, name.rpartition(".")[2], module)
    if quiet:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    args = ["-x", "-q", "-p", "no:cacheprovider", "--no-header", *tests]
    return int(pytest.main(args))


def run_one(mutant: Mutant | None, tests: tuple[str, ...], timeout: float, quiet=True) -> str:
    """'killed', 'survived' or 'timeout' (for the unmutated code: 'killed' means a red suite)."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setpgid(0, 0)
            code = _child(mutant, tests, quiet)
        except BaseException:  # a mutant that breaks the import is killed too
            code = 4
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return "survived" if os.waitstatus_to_exitcode(status) == 0 else "killed"
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", choices=[t.name for t in TARGETS])
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--show", metavar="ID", help="run one mutant (target:number), verbose")
    parser.add_argument("--markdown", metavar="FILE", help="also write the report as Markdown")
    parser.add_argument("--mutants", metavar="A-B", help="run only the mutants numbered A to B "
                        "(a slice of a target, e.g. to split a long run over several processes)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per mutant "
                        "(default: 4 x the unmutated run, at least 20)")
    args = parser.parse_args()
    targets = [t for t in TARGETS if not args.target or t.name in args.target]
    if not args.list:
        _snapshot()
    if args.show:
        name, _, number = args.show.partition(":")
        target = next(t for t in TARGETS if t.name == name)
        mutant = list_mutants(target)[int(number)]
        original = (REPO / mutant.path).read_text()
        mutated = ast.unparse(mutated_tree(mutant))
        diff = difflib.unified_diff(ast.unparse(ast.parse(original)).splitlines(),
                                    mutated.splitlines(), lineterm="", n=2)
        print(f"{name}:{number} {mutant.where} {mutant.key}")
        print("\n".join(diff))
        _preload()
        print(run_one(mutant, target.tests, 600, quiet=False))
        return 0
    if args.list:
        for t in targets:
            for k, m in enumerate(list_mutants(t)):
                print(f"{t.name}:{k}  {m.where}  {m.key}")
        return 0
    _preload()
    report: list[str] = []
    failed = False
    first, _, last = (args.mutants or "").partition("-")
    for t in targets:
        everyone = list_mutants(t)
        chosen = range(int(first or 0), min(int(last or len(everyone) - 1), len(everyone) - 1) + 1)
        mutants = [everyone[k] for k in chosen]
        started = time.monotonic()
        if run_one(None, t.tests, 900) != "survived":
            print(f"{t.name}: the tests fail on the unmutated code; fix that first")
            return 2
        baseline = time.monotonic() - started
        timeout = args.timeout or max(20.0, 4 * baseline)
        print(f"{t.name}: {len(mutants)} mutants of {t.path} ({chosen.start}-{chosen.stop - 1}); unmutated run {baseline:.1f} s, "
              f"timeout {timeout:.0f} s", flush=True)
        results: dict[str, list[tuple[int, Mutant]]] = {"killed": [], "timeout": [],
                                                         "survived": []}
        for k, m in zip(chosen, mutants, strict=True):
            outcome = run_one(m, t.tests, timeout)
            if outcome == "timeout":  # a busy machine, or a real hang: give it three times longer
                outcome = run_one(m, t.tests, 3 * timeout)
            results[outcome].append((k, m))
            if outcome != "killed":
                print(f"  {outcome:8} {t.name}:{k} {m.where} {m.key}", flush=True)
        equivalent = [(k, m) for k, m in results["survived"] if m.key in EQUIVALENT]
        alive = [(k, m) for k, m in results["survived"] if m.key not in EQUIVALENT]
        caught = len(results["killed"]) + len(results["timeout"])
        scored = len(mutants) - len(equivalent)
        share = 100.0 * caught / scored if scored else 100.0
        line = (f"{t.name}: {caught}/{scored} killed ({share:.1f}%), {len(results['timeout'])} "
                f"of them by timeout; {len(equivalent)} equivalent, {len(alive)} survived; "
                f"{time.monotonic() - started:.0f} s")
        print(line, flush=True)
        failed |= bool(alive)
        report.append(f"### {t.name} (`{t.path}`"
                      + (f": {', '.join(t.functions)}" if t.functions else "") + ")\n")
        report.append(f"{caught} of {scored} non-equivalent mutants killed ({share:.1f}%), "
                      f"{len(results['timeout'])} of them by timeout; {len(mutants)} mutants "
                      f"in all. Tests: {', '.join(t.tests)}.\n")
        for title, rows in (("Survived", alive), ("Equivalent", equivalent)):
            if rows:
                report.append(f"{title}:\n")
                for k, m in rows:
                    why = f" — {EQUIVALENT[m.key]}" if m.key in EQUIVALENT else ""
                    report.append(f"- `{t.name}:{k}` {m.where} `{m.function}`: "
                                  f"{m.description}{why}")
                report.append("")
    if args.markdown:
        Path(args.markdown).write_text("\n".join(report) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
