"""Plan files: the reorg-plan/1 JSON round trip, byte-identical output, malformed files, atomic writes.

Plans are built by hand so these tests do not depend on the planners.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reorg.model import (
    Binding,
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
    assert sorted(d) == ["format", "held", "inputs", "metrics", "notes", "options", "steps", "strategy"]
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


BINDINGS = (
    Binding("mana-search", "dev", 3021, status="running", line=9, source="source-default", note="mac-mini binds 3012"),
    Binding("mana-media", "dev", 3012, status="stopped", line=5, source="compose"),
    Binding("vllm-voxtral", "mac-mini", 8100, status="stopped", line=80, source="launchd", note="VLLM_PORT 8100"),
)


def test_held_records_carry_source_note_and_line(tmp_path):
    """The runbook's Change text needs the table's source and note; blank ones are left out."""
    instance = replace(INSTANCE, bindings=BINDINGS)
    _, json_path = write_plan_files(PLAN, instance, tmp_path, "demo")
    held = json.loads(json_path.read_text())["held"]
    assert held[0] == {"service": "mana-media", "host": "dev", "port": 3012, "status": "stopped", "line": 5, "source": "compose"}
    assert sorted(read_plan(json_path).base) == sorted(BINDINGS)


def test_held_records_without_source_note_and_line_still_load(tmp_path):
    d = good_dict()
    d["held"] = [{"service": "a", "host": "h", "port": 3001, "status": "running"}]
    assert read_plan(write_json(tmp_path / "old.json", d)).base == (Binding("a", "h", 3001, status="running"),)
    d["held"][0]["note"] = 7
    with pytest.raises(ReorgError, match=r"held\[0\]: note must be a string"):
        read_plan(write_json(tmp_path / "bad.json", d))


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
    (tmp_path / "demo.json").mkdir()  # a directory in the way: refused before anything is written
    with pytest.raises(ReorgError, match="demo.json"):
        write_plan_files(PLAN, INSTANCE, tmp_path, "demo")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json"]  # no runbook without its plan


def _fail_rename_of(monkeypatch, suffix: str):
    """Make ``os.replace`` onto a file ending with ``suffix`` fail like a full disk would."""
    import errno
    import os

    import reorg.atomic

    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith(suffix):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(reorg.atomic.os, "replace", replace)


def test_failed_plan_write_leaves_the_old_runbook_and_plan_and_says_so(tmp_path, monkeypatch):
    # Issue 13: the runbook was renamed into place before the plan JSON was written, so a failed
    # second write left a new runbook beside the old plan while the error said "unchanged".
    md, js = write_plan_files(PLAN, INSTANCE, tmp_path, "demo")
    old_md, old_js = md.read_bytes(), js.read_bytes()
    other = Plan("greedy", PlanOptions(), STEPS[:2], Metrics(2, 1, 1, 2, 1, True, 0))
    _fail_rename_of(monkeypatch, "demo.json")
    with pytest.raises(ReorgError) as info:
        write_plan_files(other, INSTANCE, tmp_path, "demo")
    message = str(info.value)
    assert message.startswith(f"{js}: cannot write (No space left on device); nothing was replaced: ")
    assert f"{md} and {js} are as they were" in message and "\n" not in message
    assert md.read_bytes() == old_md and js.read_bytes() == old_js
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json", "demo.md"]  # no temp files left


def test_failed_first_plan_write_leaves_nothing_new(tmp_path, monkeypatch):
    _fail_rename_of(monkeypatch, "demo.md")
    with pytest.raises(ReorgError, match="nothing was replaced"):
        write_plan_files(PLAN, INSTANCE, tmp_path, "demo")
    assert list(tmp_path.iterdir()) == []


def test_plan_json_over_a_foreign_file_is_refused(tmp_path):
    (tmp_path / "notes.json").write_text('{"mine": true}\n', encoding="utf-8")
    with pytest.raises(ReorgError, match="notes.json: exists and is not a reorg-plan/1 file; it was left alone"):
        write_plan_files(PLAN, INSTANCE, tmp_path, "notes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.json"]
    assert (tmp_path / "notes.json").read_text(encoding="utf-8") == '{"mine": true}\n'


@pytest.mark.parametrize("name", ["reorg.journal", "reorg.JOURNAL", "x.journal.json.bak-1"])
def test_plan_names_that_are_journals_are_refused(tmp_path, name):
    # Issue 8: `reorg plan --name reorg.journal` wrote over plans/reorg.journal.json, the live
    # journal of plans/reorg.json.
    journal = tmp_path / "reorg.journal.json"
    journal.write_text('{"format": "reorg-journal/1"}\n', encoding="utf-8")
    with pytest.raises(ReorgError, match=f"plan name '{name}' would write {name}.json, the name of a journal"):
        write_plan_files(PLAN, INSTANCE, tmp_path, name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reorg.journal.json"]
    assert journal.read_text(encoding="utf-8") == '{"format": "reorg-journal/1"}\n'


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
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,7}", fullmatch=True),  # valid names (reorg.names)
        st.sampled_from(["dev", "mac-mini", "windows-gpu", "db.example.org"]),
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


# ---- issue 8 and 13: inputs past the limits --------------------------------------------------


def test_temp_ports_with_a_superscript_is_one_line(tmp_path):
    # Issue 13: '3909²' passed str.isdigit() and then crashed int() with a traceback.
    d = good_dict()
    d["options"]["temp_ports"] = "39000-3909²"
    with pytest.raises(ReorgError) as info:
        read_plan(write_json(tmp_path / "p.json", d))
    assert str(info.value).endswith("options: temp_ports \"39000-3909\\u00b2\" is not a range LO-HI with 1 <= LO <= HI <= 65535")


@pytest.mark.parametrize("field", ["moves", "waves", "lower_bound_moves"])
def test_5000_digit_plan_metric_is_refused(tmp_path, field):
    d = good_dict()
    d["metrics"][field] = 1
    raw = json.dumps(d).replace(f'"{field}": 1', f'"{field}": ' + "9" * 5000)
    path = tmp_path / "p.json"
    path.write_text(raw, encoding="utf-8")
    with pytest.raises(ReorgError, match=r"p.json: the plan holds an integer of 5000 digits \(at most 10\)"):
        read_plan(path)


@pytest.mark.parametrize("depth", [65, 100_000])
def test_deeply_nested_plan_is_refused(tmp_path, depth):
    path = tmp_path / "p.json"
    path.write_text('{"format": "reorg-plan/1", "notes": ' + "[" * depth + "]" * depth + "}", encoding="utf-8")
    with pytest.raises(ReorgError, match="p.json: the plan nests arrays or objects deeper than 64 levels"):
        read_plan(path)


def test_plan_file_that_is_a_fifo_or_a_device_is_refused(tmp_path):
    import os

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(ReorgError, match="fifo.json: is a FIFO"):
        read_plan(fifo)  # would block forever in open() without O_NONBLOCK
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(ReorgError, match="zero.json: is a device"):
        read_plan(link)


@pytest.mark.parametrize(
    "field,value,shown",
    [
        ("host", "h1;touch x", "host 'h1;touch x' contains ';'"),
        ("host", "$(id)", "host '$(id)' starts with '$'"),
        ("service", "svc\n- [x] 99. done", "service 'svc\\x0a- [x] 99. done' contains a line break"),
        ("service", "<script>", "service '<script>' starts with '<'"),
        ("service", "a\x1b[2Jb", "service 'a\\x1b[2Jb' contains an escape (ESC)"),
    ],
)
def test_hand_edited_plan_with_unsafe_names_is_refused(tmp_path, field, value, shown):
    d = good_dict()
    d["steps"][0][field] = value
    with pytest.raises(ReorgError) as info:
        read_plan(write_json(tmp_path / "p.json", d))
    assert str(info.value).startswith(f"{tmp_path / 'p.json'}: step 1: {shown}; use letters, digits")
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


# ---- held: the state before the plan (issue 12, item 2) ----------------------------------------


def test_plan_carries_every_binding_with_its_status(tmp_path):
    from reorg.model import Binding

    instance = Instance(
        bindings=(
            Binding("mana-search", "dev", 3021, status="running"),
            Binding("vllm-voxtral", "mac-mini", 8100, status="stopped"),
            Binding("mana-media", "dev", 3012, status="unsure"),
            Binding("mana-auth", "dev", 3001, status="running"),  # stays: no step
        ),
        goals=(),
    )
    _, json_path = write_plan_files(PLAN, instance, tmp_path, "p")
    planfile = read_plan(json_path)
    assert planfile.base is not None
    held = {(b.service, b.host): (b.port, b.status) for b in planfile.base}
    assert held == {
        ("mana-search", "dev"): (3021, "running"),
        ("vllm-voxtral", "mac-mini"): (8100, "stopped"),
        ("mana-media", "dev"): (3012, "unsure"),
        ("mana-auth", "dev"): (3001, "running"),
    }
    # `format` still sorts first, so a plan is recognised from its first bytes.
    assert json_path.read_bytes().startswith(b'{\n  "format": "reorg-plan/1"')


def test_a_plan_without_held_still_reads(tmp_path):
    data = good_dict()
    data.pop("held", None)
    planfile = read_plan(write_json(tmp_path / "old.json", data))
    assert planfile.base is None


@pytest.mark.parametrize(
    "held, message",
    [
        ({}, "'held' must be a list"),
        ([{"service": "a", "host": "h", "port": 0, "status": ""}], "held[0]: port must be 1-65535"),
        ([{"service": "a", "host": "h", "port": 1}], "held[0]: missing key 'status'"),
        (
            [{"service": "a", "host": "h", "port": 1, "status": ""}] * 2,
            "held[1]: a@h appears twice",
        ),
    ],
)
def test_a_bad_held_list_is_refused(tmp_path, held, message):
    data = good_dict()
    data["held"] = held
    with pytest.raises(ReorgError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_plan(write_json(tmp_path / "bad.json", data))
