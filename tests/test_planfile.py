"""Plan files: the reorg-plan/1 JSON round trip, byte-identical output, malformed files, atomic writes.

Plans are built by hand so these tests do not depend on the planners.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reorg.model import (
    Instance,
    Metrics,
    Objective,
    PairMode,
    Plan,
    PlanOptions,
    ReorgError,
    Scope,
    Step,
    StepKind,
)
from reorg.planfile import (
    PlanFile,
    check_plan_name,
    plan_to_dict,
    read_plan,
    render_plan_json,
    write_plan_files,
)

K = StepKind
INSTANCE = Instance(
    bindings=(),
    goals=(),
    current_path="data/current.csv",
    target_path="data/target.csv",
    current_sha256="a" * 64,
    target_sha256="b" * 64,
)
STEPS = (
    Step(1, 1, "mana-search", "dev", 3021, 39000, K.TO_TEMP),
    Step(2, 1, "vllm-voxtral", "mac-mini", 8100, None, K.RETIRE),
    Step(3, 2, "mana-media", "dev", 3012, 3021, K.MOVE),
    Step(4, 3, "mana-search", "dev", 39000, 3012, K.FROM_TEMP),
)
OPTIONS = PlanOptions(
    scope=Scope.GLOBAL, temp_ports=(40000, 40010), max_per_wave=3, pairs=PairMode.SOFT,
    objective=Objective.WAVES, time_limit=2.5, pair_digits=2,
)
PLAN = Plan("cpsat", OPTIONS, STEPS, Metrics(4, 1, 3, 4, 3, True, 1), notes=("first note", "second"))


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def good_dict() -> dict:
    return json.loads(render_plan_json(PLAN, INSTANCE))


# ---- writing and round trip --------------------------------------------------------------------


def test_plan_dict_has_the_contract_keys():
    d = plan_to_dict(PLAN, INSTANCE)
    assert sorted(d) == ["format", "inputs", "metrics", "notes", "options", "steps", "strategy"]
    assert d["format"] == "reorg-plan/1"
    assert d["options"]["temp_ports"] == "40000-40010"
    assert d["inputs"] == {
        "current": {"path": "data/current.csv", "sha256": "a" * 64},
        "target": {"path": "data/target.csv", "sha256": "b" * 64},
    }
    assert d["steps"][1]["to_port"] is None
    assert d["steps"][0]["kind"] == "to-temp"


def test_json_is_sorted_indented_and_byte_identical():
    first = render_plan_json(PLAN, INSTANCE)
    assert first == render_plan_json(PLAN, INSTANCE)
    assert first.endswith("}\n")
    assert first == json.dumps(json.loads(first), indent=2, sort_keys=True) + "\n"


def test_round_trip(tmp_path):
    _, json_path = write_plan_files(PLAN, INSTANCE, tmp_path, "demo")
    loaded = read_plan(json_path)
    assert isinstance(loaded, PlanFile)
    assert loaded.plan == PLAN
    assert loaded.plan.options.temp_ports == (40000, 40010)
    assert isinstance(loaded.plan.options, PlanOptions)
    assert loaded.inputs == plan_to_dict(PLAN, INSTANCE)["inputs"]
    assert loaded.sha256 == hashlib.sha256(json_path.read_bytes()).hexdigest()
    assert loaded.path == json_path


def test_default_options_round_trip(tmp_path):
    plan = Plan("greedy", PlanOptions(), STEPS, Metrics(4, 1, 3, 4, 3, False, 0))
    _, json_path = write_plan_files(plan, INSTANCE, tmp_path, "defaults")
    assert read_plan(json_path).plan == plan


def test_writing_twice_gives_identical_bytes(tmp_path):
    md1, js1 = write_plan_files(PLAN, INSTANCE, tmp_path / "a", "demo")
    md2, js2 = write_plan_files(PLAN, INSTANCE, tmp_path / "b", "demo")  # another --out, same files
    assert js1.read_bytes() == js2.read_bytes()
    assert md1.read_bytes() == md2.read_bytes()


def test_runbook_names_the_plan_file_beside_it_whatever_the_out_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    md, _ = write_plan_files(PLAN, INSTANCE, tmp_path / "somewhere" / "else", "demo")
    text = md.read_text(encoding="utf-8")
    assert "reorg status --plan demo.json" in text
    assert str(tmp_path) not in text


def test_atomic_write_leaves_only_the_two_files_and_overwrites(tmp_path):
    out = tmp_path / "deep" / "plans"
    write_plan_files(PLAN, INSTANCE, out, "demo")
    other = Plan("greedy", PlanOptions(), STEPS[:2], Metrics(2, 1, 1, 2, 1, True, 0))
    md, js = write_plan_files(other, INSTANCE, out, "demo")
    assert sorted(p.name for p in out.iterdir()) == ["demo.json", "demo.md"]
    assert read_plan(js).plan == other


def test_failed_write_names_the_path_and_leaves_no_temp_file(tmp_path):
    (tmp_path / "demo.json").mkdir()  # the rename onto it must fail
    with pytest.raises(ReorgError, match="demo.json"):
        write_plan_files(PLAN, INSTANCE, tmp_path, "demo")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json", "demo.md"]


def test_out_dir_that_is_a_file_is_refused(tmp_path):
    blocker = tmp_path / "plans"
    blocker.write_text("not a directory")
    with pytest.raises(ReorgError, match="plans"):
        write_plan_files(PLAN, INSTANCE, blocker, "demo")


@pytest.mark.parametrize("name", ["", "  ", "a/b", "a\\b", "..", ".hidden", "demo.json", "demo.md"])
def test_bad_plan_names_are_refused(tmp_path, name):
    with pytest.raises(ReorgError, match="plan name"):
        write_plan_files(PLAN, INSTANCE, tmp_path, name)
    assert list(tmp_path.iterdir()) == []


def test_good_plan_name_passes():
    assert check_plan_name("default") == "default"


steps_strategy = st.lists(
    st.tuples(
        st.booleans(),  # start a new wave
        st.text(min_size=1, max_size=8),
        st.sampled_from(["dev", "mac-mini", "windows-gpu", "hôte"]),
        st.integers(1, 65535),
        st.integers(1, 65535),
        st.sampled_from(list(StepKind)),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    raw=steps_strategy,
    scope=st.sampled_from(list(Scope)),
    cap=st.none() | st.integers(1, 50),
    limit=st.floats(0.1, 600, allow_nan=False),
    notes=st.lists(st.text(max_size=20), max_size=3),
)
def test_round_trip_property(tmp_path_factory, raw, scope, cap, limit, notes):
    steps = []
    wave = 1
    for i, (new_wave, service, host, a, b, kind) in enumerate(raw, start=1):
        if new_wave and steps:
            wave += 1
        steps.append(Step(i, wave, service, host, a, None if kind is K.RETIRE else b, kind))
    options = PlanOptions(scope=scope, max_per_wave=cap, time_limit=limit)
    plan = Plan("greedy", options, tuple(steps), Metrics(len(steps), 0, wave if steps else 0, 0, 0, False, 0), tuple(notes))
    out = tmp_path_factory.mktemp("rt")
    _, js = write_plan_files(plan, INSTANCE, out, "p")
    assert read_plan(js).plan == plan


# ---- malformed plan files ----------------------------------------------------------------------


def mutate(fn):
    d = good_dict()
    fn(d)
    return d


def drop(key):
    return lambda d: d.pop(key)


def set_in(*path_and_value):
    *path, value = path_and_value

    def apply(d):
        target = d
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value

    return apply


MALFORMED = {
    "top-level list": ([1, 2], "expected a JSON object"),
    "no format": (mutate(drop("format")), "no 'format' key"),
    "wrong format": (mutate(set_in("format", "foo")), "not a reorg-plan/1 file (format is 'foo')"),
    "missing strategy": (mutate(drop("strategy")), "missing key 'strategy'"),
    "missing steps": (mutate(drop("steps")), "missing key 'steps'"),
    "missing metrics": (mutate(drop("metrics")), "missing key 'metrics'"),
    "missing notes": (mutate(drop("notes")), "missing key 'notes'"),
    "unknown top key": (mutate(set_in("extra", 1)), "unknown key 'extra'"),
    "empty strategy": (mutate(set_in("strategy", "")), "strategy"),
    "options not object": (mutate(set_in("options", [])), "options: expected an object"),
    "bad scope": (mutate(set_in("options", "scope", "planet")), "options: scope"),
    "bad temp ports": (mutate(set_in("options", "temp_ports", "abc")), "temp_ports"),
    "reversed temp ports": (mutate(set_in("options", "temp_ports", "40010-40000")), "temp_ports"),
    "zero cap": (mutate(set_in("options", "max_per_wave", 0)), "max_per_wave"),
    "string time limit": (mutate(set_in("options", "time_limit", "10")), "time_limit"),
    "missing option": (mutate(lambda d: d["options"].pop("pairs")), "options: missing key 'pairs'"),
    "inputs missing sha": (mutate(lambda d: d["inputs"]["current"].pop("sha256")), "inputs.current: missing key 'sha256'"),
    "inputs path number": (mutate(set_in("inputs", "target", "path", 3)), "inputs.target.path"),
    "optimal not bool": (mutate(set_in("metrics", "optimal", "yes")), "optimal"),
    "negative moves": (mutate(set_in("metrics", "moves", -1)), "metrics: moves"),
    "bool as count": (mutate(set_in("metrics", "waves", True)), "metrics: waves"),
    "steps not list": (mutate(set_in("steps", {})), "'steps' must be a list"),
    "step not object": (mutate(set_in("steps", 0, 7)), "steps[0]: expected an object"),
    "step missing key": (mutate(lambda d: d["steps"][2].pop("host")), "steps[2]: missing key 'host'"),
    "step unknown key": (mutate(set_in("steps", 0, "port", 1)), "steps[0]: unknown key 'port'"),
    "numbered from 0": (mutate(lambda d: [s.update(step=s["step"] - 1) for s in d["steps"]]), "not numbered 1..N"),
    "numbers out of order": (mutate(lambda d: d["steps"].reverse()), "not numbered 1..N"),
    "step as string": (mutate(set_in("steps", 0, "step", "1")), "step must be an integer"),
    "unknown kind": (mutate(set_in("steps", 2, "kind", "jump")), "step 3: kind is \"jump\""),
    "wave zero": (mutate(set_in("steps", 0, "wave", 0)), "step 1: wave must be"),
    "wave goes down": (mutate(set_in("steps", 3, "wave", 1)), "step 4: wave goes down"),
    "wave gap": (mutate(set_in("steps", 3, "wave", 5)), "step 4: wave 5 follows wave 2"),
    "port too big": (mutate(set_in("steps", 2, "from_port", 70000)), "step 3: from_port must be 1-65535"),
    "port as string": (mutate(set_in("steps", 2, "to_port", "3021")), "step 3: to_port must be an integer"),
    "move without port": (mutate(set_in("steps", 2, "to_port", None)), "step 3: a move step needs a to_port"),
    "retire with port": (mutate(set_in("steps", 1, "to_port", 9000)), "step 2: a retire step has to_port null"),
    "empty service": (mutate(set_in("steps", 0, "service", "")), "step 1: service"),
    "notes not strings": (mutate(set_in("notes", [1])), "notes"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_plan_is_refused_naming_the_file(tmp_path, case):
    obj, message = MALFORMED[case]
    path = write_json(tmp_path / "x.json", obj)
    with pytest.raises(ReorgError) as info:
        read_plan(path)
    text = str(info.value)
    assert message in text
    assert text.startswith(f"{path}: ")
    assert "\n" not in text


def test_the_unmutated_dict_is_valid(tmp_path):
    # Guards the table above: every case differs from a file that reads fine.
    assert read_plan(write_json(tmp_path / "x.json", good_dict())).plan == PLAN


def test_wrong_format_message_is_exact(tmp_path):
    path = write_json(tmp_path / "x.json", {"format": "foo"})
    with pytest.raises(ReorgError) as info:
        read_plan(path)
    assert str(info.value) == f"{path}: not a reorg-plan/1 file (format is 'foo')"


def test_missing_file(tmp_path):
    path = tmp_path / "plans" / "nope.json"
    with pytest.raises(ReorgError, match="no such plan file") as info:
        read_plan(path)
    assert str(path) in str(info.value)


def test_directory(tmp_path):
    with pytest.raises(ReorgError, match="is a directory") as info:
        read_plan(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_not_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ReorgError, match=r"invalid JSON at line 1 column 2") as info:
        read_plan(path)
    assert str(info.value).startswith(f"{path}: ")


def test_not_utf8(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ReorgError, match="not UTF-8") as info:
        read_plan(path)
    assert str(info.value).startswith(f"{path}: ")


def test_sha_changes_with_the_bytes(tmp_path):
    a = write_json(tmp_path / "a.json", good_dict())
    d = good_dict()
    d["notes"].append("another")
    b = write_json(tmp_path / "b.json", d)
    assert read_plan(a).sha256 != read_plan(b).sha256
