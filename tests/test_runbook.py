"""The runbook an operator reads at the keyboard (issue 12, item 6).

The bundled runbook (plans/reorg.md, what `reorg plan` writes: test_bundled_plans) is parsed
with a real Markdown parser and checked for size, one checkbox per step, its order of sections,
each step's source line and its hand checks against what `reorg done` checks. Small plans built
by hand check the rest: pairs, host-appropriate commands, captions, hostile table text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from reorg.escape import md_escape
from reorg.journal import Event, EventKind
from reorg.model import Binding, Goal, Instance, Metrics, Plan, PlanOptions, Step, StepKind
from reorg.planfile import read_plan
from reorg.probe import Expect
from reorg.render import render_runbook
from reorg.render.diagram import render_mermaid
from reorg.replay import Replayer, step_checks

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "plans" / "reorg.md"
K = StepKind


@pytest.fixture(scope="module")
def bundled() -> tuple[str, Plan, dict[tuple[str, str], Binding]]:
    planfile = read_plan(ROOT / "plans" / "reorg.json")
    assert planfile.base is not None
    return BUNDLED.read_text(encoding="utf-8"), planfile.plan, {b.key: b for b in planfile.base}


def checkboxes(text: str) -> list[str]:
    """The task-list items as a Markdown parser sees them: list items whose text starts with [ ]."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    found = []
    for i, token in enumerate(tokens):
        if token.type == "list_item_open" and tokens[i + 1].type == "paragraph_open":
            content = tokens[i + 2].content
            if re.match(r"\[[ xX]\] ", content):
                found.append(content)
    return found


def items(text: str) -> dict[int, str]:
    """Step number -> its task item with the sub-items, as text."""
    out = {}
    for part in text.split("\n- [ ] ")[1:]:
        body = part.split("\n\n", 1)[0].split("\n- [ ] ", 1)[0]
        out[int(body.split(".", 1)[0])] = body
    return out


def sub(item: str, label: str) -> str:
    lines = [line for line in item.splitlines() if line.startswith(f"  - {label}: ")]
    return lines[0].split(": ", 1)[1] if lines else ""


# ---- the bundled runbook ---------------------------------------------------------------------


def test_bundled_runbook_is_under_21_kb_and_under_half_the_old_size_per_step(bundled):
    text, plan, _ = bundled
    size = len(text.encode("utf-8"))
    assert size < 21_000, size
    assert size / len(plan.steps) < 40_237 / 2 / 43  # the runbook before issue 12: 40,237 bytes, 43 steps


def test_bundled_runbook_has_exactly_one_checkbox_per_step(bundled):
    text, plan, _ = bundled
    boxes = checkboxes(text)
    assert len(boxes) == len(plan.steps) == 43
    assert sorted(int(b[4:].split(".")[0]) for b in boxes) == [s.step for s in plan.steps]


def test_bundled_runbook_sections_come_in_the_operators_order(bundled):
    text, _, _ = bundled
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Before you start"
    assert headings[-2:] == ["## After the last step", "## Plan metadata"]
    waves = [h for h in headings if h.startswith("## Wave ")]
    assert waves == [
        "## Wave 1: 33 steps (dev 19, mac-mini 13, windows-gpu 1)",
        "## Wave 2: 7 steps (dev 5, mac-mini 1, windows-gpu 1)",
        "## Wave 3: 2 steps (dev 2)",
        "## Wave 4: 1 step (dev 1)",
    ]
    summary = text.split("## Before you start")[0]
    assert "**43 steps in 4 waves on 3 hosts**: dev 27, mac-mini 14, windows-gpu 2." in summary
    assert "sha256" not in summary  # hashes, options and bounds at the end
    metadata = text.split("## Plan metadata")[1]
    assert "0ac38888848cb959580ec2c227441e890430bcceb7ff4a4b2aea7e60b169eeea" in metadata
    assert "Options: scope host" in metadata and "| moves       | 43     | 43 " in metadata
    before = text.split("## Before you start")[1].split("\n## ")[0]
    assert "reorg hosts init" in before and "reorg check" in before and "Back up" in before and "--here" in before
    after = text.split("## After the last step")[1].split("\n## ")[0]
    assert "reorg state --at end --out data/current.csv" in after and "commit" in after and "reorg check" in after


def test_bundled_waves_have_a_heading_per_host(bundled):
    text, plan, _ = bundled
    for w in range(1, 5):
        section = text.split(f"## Wave {w}:")[1].split("\n## ")[0]
        hosts = sorted({s.host for s in plan.steps if s.wave == w})
        assert re.findall(r"^### Wave \d+ on (\S+)", section, re.M) == hosts
        for host in hosts:
            under = section.split(f"### Wave {w} on {host}")[1].split("\n### ")[0]
            numbers = [int(n) for n in re.findall(r"^- \[ \] (\d+)\.", under, re.M)]
            assert sorted(numbers) == [s.step for s in plan.steps if s.wave == w and s.host == host]


def test_every_bundled_step_names_its_source_line_and_note(bundled):
    text, plan, base = bundled
    found = items(text)
    for s in plan.steps:
        b = base[(s.service, s.host)]
        change = sub(found[s.step], "Change")
        assert b.source and f"{md_escape(b.source)}, current.csv:{b.line}" in change, (s, change)
        assert md_escape(b.note) in change
    # the generic list of places only where a step has no source: every bundled one has one
    assert "Where a port is configured" not in text
    assert text.count("launchd plist or Scheduled Task") == 0


def test_bundled_pairs_are_listed_together_and_marked(bundled):
    text, _, _ = bundled
    dev = text.split("### Wave 1 on dev")[1].split("\n### ")[0]
    numbers = [int(n) for n in re.findall(r"^- \[ \] (\d+)\.", dev, re.M)]
    assert numbers.index(14) == numbers.index(11) + 1  # manavoxel-web beside its backend mana-sync
    assert numbers.index(2) == numbers.index(1) + 1
    assert "- [ ] 11. mana-sync: 3050 → 3010 · pair with 14" in dev
    assert "- [ ] 14. manavoxel-web: 5028 → 5030 · pair with 11" in dev
    assert "- Pairs (same wave and host: do them together): 1 + 2, 11 + 14." in text


def probes(line: str, host: str) -> set[tuple[bool, int]]:
    """(expects it free, port) for each `nc -z -w 2 HOST PORT` of ``line``."""
    return {(neg == "! ", int(p)) for neg, p in re.findall(rf"(! )?nc -z -w 2 {host} (\d+)", line)}


def test_bundled_hand_checks_are_what_reorg_done_checks(bundled):
    """Every probe `reorg next`/`done` runs appears as a hand command, and no other: a stopped
    service is never expected to answer, a port another binding keeps is never expected free."""
    text, plan, base = bundled
    found = items(text)
    replayer = Replayer(plan, base={k: b.port for k, b in base.items()})
    for seq, s in enumerate(plan.steps, start=1):
        status = base[(s.service, s.host)].status
        pre, post = step_checks(plan, replayer, s, status=status)
        before, after = sub(found[s.step], "Before"), sub(found[s.step], "After")

        assert probes(before, s.host) == {(c.expect is Expect.FREE, c.port) for c in pre if not c.skip}, s
        assert probes(after, s.host) == {(c.expect is Expect.FREE, c.port) for c in post if not c.skip}, s
        assert not re.search(r"nc -z (?!-w 2 )", found[s.step])  # never a bare nc -z
        if status == "stopped":
            assert "stopped" in found[s.step].splitlines()[0]
            assert "do not start it" in sub(found[s.step], "Change") or s.kind is K.RETIRE
            assert "leave it stopped" in sub(found[s.step], "Undo") or "do not start it" in sub(found[s.step], "Undo")
        if any(c.optional for c in post):
            assert "reported, not failed" in after
        replayer.apply(Event(seq=seq, event=EventKind.DONE, step=s.step, time="2026-01-01T00:00:00Z"))


def test_bundled_stopped_retirement_onto_a_held_port_is_never_started(bundled):
    text, _, _ = bundled
    step23 = items(text)[23]  # mana-image-gen, stopped, 3025 held by mana-llm until step 39
    assert "start it on" not in step23
    assert "leave it stopped (3025 is held by mana-llm)" in sub(step23, "Undo")
    assert sub(step23, "After") == "nothing to probe: 3025 stays held by mana-llm"


def test_bundled_runbook_uses_each_hosts_os(bundled):
    text, _, _ = bundled
    assert "### Wave 1 on windows-gpu (Windows)" in text and "### Wave 1 on mac-mini (macOS)" in text
    before = text.split("## Before you start")[1].split("\n## ")[0]
    assert "`Get-NetTCPConnection -LocalPort PORT -State Listen` (PowerShell) on windows-gpu" in before
    assert "`lsof -nP -iTCP:PORT -sTCP:LISTEN` on dev, mac-mini" in before
    # a shared old port on a macOS host: lsof there, never the Windows command
    assert "`lsof -nP -iTCP:3016 -sTCP:LISTEN` must not show memoro-audio-server" in items(text)[28]
    assert text.count("Get-NetTCPConnection") == 1


def test_bundled_diagram_caption_only_for_what_it_draws(bundled):
    text, _, _ = bundled
    assert "An arrow A → B means B binds a port that A frees" in text
    assert "dotted" not in text  # no temp step, so no dotted arrow and no word about one


def test_bundled_mermaid_labels_are_plain_text_in_quotes(bundled):
    text, _, _ = bundled
    block = text.split("```mermaid\n")[1].split("```")[0]
    labels = re.findall(r'\["([^"]*)"\]', block)
    assert labels and len(labels) == block.count("[")
    for label in labels:
        # Mermaid 11.0-11.9 draws "Unsupported markdown: list" for a label like "1. x" or "- x"
        assert not re.match(r"\s*(\d+[.)]\s|[-*+]\s|#|>)", label), label
        assert "<br" not in label and "`" not in label


# ---- small plans built by hand -----------------------------------------------------------------


def _plan(steps: tuple[Step, ...], bindings: tuple[Binding, ...], **options) -> tuple[Plan, Instance]:
    waves = max(s.wave for s in steps)
    plan = Plan("greedy", PlanOptions(**options), steps, Metrics(len(steps), 0, waves, len(steps), waves, True, 0))
    goals = tuple(Goal(b.service, b.host, b.port, b.port) for b in bindings)
    return plan, Instance(bindings, goals, current_path="data/current.csv", target_path="data/target.csv")


def test_generic_places_are_listed_once_and_only_for_steps_without_a_source():
    bindings = (Binding("a", "h", 4001, line=2, source="compose"), Binding("b", "h", 4002, line=3))
    steps = (Step(1, 1, "a", "h", 4001, 4011, K.MOVE), Step(2, 1, "b", "h", 4002, 4012, K.MOVE))
    plan, instance = _plan(steps, bindings)
    text = render_runbook(plan, instance, "demo", "demo.json")
    assert text.count("## Where a port is configured") == 1
    assert text.count("Dockerfile: `EXPOSE`") == 1
    found = items(text)
    assert "set 4011 in compose, current.csv:2 and in its clients" in found[1]
    assert "where its port is configured (list above), current.csv:3" in found[2]
    with_source = (bindings[0], Binding("b", "h", 4002, line=3, source="launchd"))
    text = render_runbook(*_plan(steps, with_source), "demo", "demo.json")
    assert "Where a port is configured" not in text and "list above" not in text


def test_hostile_source_and_note_stay_text():
    note = "ok\n- [x] 99. injected <img src=x> `rm -rf /` | *b*"
    bindings = (Binding("a", "h", 4001, line=2, source="[x](http://e.example)", note=note),)
    plan, instance = _plan((Step(1, 1, "a", "h", 4001, 4011, K.MOVE),), bindings)
    text = render_runbook(plan, instance, "demo", "demo.json")
    assert len(checkboxes(text)) == 1
    assert "\n- [x]" not in text and "<img" not in text.replace("\\<img", "")
    tokens = MarkdownIt("commonmark").parse(text)
    assert not [t for t in tokens if t.type == "inline" for c in t.children or [] if c.type in ("link_open", "html_inline")]


@pytest.mark.parametrize(
    ("os_name", "expected", "absent"),
    [
        ("macos", "`lsof -nP -iTCP:4001 -sTCP:LISTEN` must not show a", "Get-NetTCPConnection -LocalPort 4001"),
        ("linux", "`lsof -nP -iTCP:4001 -sTCP:LISTEN` must not show a", "Get-NetTCPConnection -LocalPort 4001"),
        ("windows", "`Get-NetTCPConnection -LocalPort 4001 -State Listen` must not show a", "lsof -nP -iTCP:4001"),
        ("", "check on h that a no longer listens on it", "-iTCP:4001"),
    ],
)
def test_listening_check_follows_the_hosts_os(os_name, expected, absent):
    # a and b share 4001 (a collision): only a check on the host itself shows a left it
    bindings = (Binding("a", "h", 4001, line=2, source="compose"), Binding("b", "h", 4001, line=3, source="compose"))
    host_os = (("h", os_name),) if os_name else ()
    plan, instance = _plan((Step(1, 1, "a", "h", 4001, 4011, K.MOVE),), bindings, host_os=host_os)
    text = render_runbook(plan, instance, "demo", "demo.json")
    item = items(text)[1]
    assert expected in item and absent not in item
    if not os_name:  # unknown OS: both commands once, in the header, never per step
        assert text.count("lsof -nP") == 1 and text.count("Get-NetTCPConnection") == 1
        assert "OS unknown" in text


def test_temp_steps_get_the_dotted_caption_and_no_temp_no_caption():
    bindings = (Binding("a", "h", 4001, line=2, source="compose"), Binding("b", "h", 4002, line=3, source="compose"))
    swap = (
        Step(1, 1, "a", "h", 4001, 39000, K.TO_TEMP),
        Step(2, 2, "b", "h", 4002, 4001, K.MOVE),
        Step(3, 3, "a", "h", 39000, 4002, K.FROM_TEMP),
    )
    text = render_runbook(*_plan(swap, bindings), "demo", "demo.json")
    assert "A dotted arrow joins a to-temp step to its from-temp step." in text
    assert "s1 -.-> s3" in text
    alone = (Step(1, 1, "a", "h", 4001, 4011, K.MOVE), Step(2, 1, "b", "h", 4002, 4012, K.MOVE))
    text = render_runbook(*_plan(alone, bindings), "demo", "demo.json")
    assert "arrow" not in text  # nothing waits: no arrow drawn, none explained


def test_stopped_unsure_and_running_steps_say_what_done_checks():
    bindings = (
        Binding("run", "h", 4001, status="running", source="compose", line=2),
        Binding("off", "h", 4002, status="stopped", source="launchd", line=3),
        Binding("maybe", "h", 4003, status="unsure", source="compose", line=4),
        Binding("gone", "h", 4004, status="stopped", source="launchd", line=5),
    )
    steps = (
        Step(1, 1, "run", "h", 4001, 4011, K.MOVE),
        Step(2, 1, "off", "h", 4002, 4012, K.MOVE),
        Step(3, 1, "maybe", "h", 4003, 4013, K.MOVE),
        Step(4, 1, "gone", "h", 4004, None, K.RETIRE),
    )
    found = items(render_runbook(*_plan(steps, bindings), "demo", "demo.json"))
    assert sub(found[1], "After") == "`nc -z -w 2 h 4011 && ! nc -z -w 2 h 4001`"
    assert "Undo" not in found[1]  # the plain reverse, said once above
    off = found[2]
    assert "· stopped" in off.splitlines()[0]
    assert "it is stopped" in sub(off, "Change") and "do not start it" in sub(off, "Change")
    assert sub(off, "After").startswith("`! nc -z -w 2 h 4002`") and "nc -z -w 2 h 4012`" not in sub(off, "After")
    assert "leave it stopped" in sub(off, "Undo")
    maybe = found[3]
    assert "its status on h is unsure" in sub(maybe, "Change") and "reported, not failed" in sub(maybe, "After")
    gone = found[4]
    assert "keep it disabled" in sub(gone, "Change") and "leave it stopped" in sub(gone, "Undo")
    assert "start it on" not in gone


def test_mermaid_labels_never_look_like_markdown_lists():
    steps = tuple(Step(i, 1 + (i > 1), f"s{i}", "h", 4000 + i, 4000 + i - 1, K.MOVE) for i in range(1, 4))
    plan, _ = _plan(steps, ())
    block = render_mermaid(plan)
    labels = re.findall(r'\["([^"]*)"\]', block)
    assert labels
    assert not [label for label in labels if re.match(r"\d+\.\s", label)]


def test_next_says_what_the_runbook_says_for_a_stopped_retirement_onto_a_held_port(tmp_path, monkeypatch):
    """`reorg next 23`: mana-image-gen is stopped and 3025 stays held by mana-llm, so nothing is
    probed free and the service is never started (it said `! nc -z -w 2 mac-mini 3025`)."""
    import json
    import shutil

    from typer.testing import CliRunner

    from reorg.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "plans").mkdir()
    shutil.copy(ROOT / "plans" / "reorg.json", tmp_path / "plans" / "reorg.json")
    runner = CliRunner()
    shown = runner.invoke(app, ["next", "23", "--no-probe", "--json"])
    assert shown.exit_code == 0, shown.output
    checklist = json.loads(shown.stdout)["checklist"]
    assert checklist["verify"] == "nothing to probe: 3025 stays held by mana-llm"
    assert "leave it stopped" in checklist["rollback"] and "keep it disabled" in checklist["change"]
    stopped = json.loads(runner.invoke(app, ["next", "22", "--no-probe", "--json"]).stdout)["checklist"]
    assert stopped["verify"].startswith("`! nc -z -w 2 mac-mini 3065`") and "nc -z -w 2 mac-mini 3006`" not in stopped["verify"]
    text = items(BUNDLED.read_text(encoding="utf-8"))
    assert sub(text[23], "After") == checklist["verify"] and sub(text[23], "Undo") == checklist["rollback"]


def test_runbook_finds_the_dependencies_once(monkeypatch):
    """The diagram and its caption share one pass over the steps (issue 8: 1.8 s each at 100k)."""
    import reorg.render.diagram as diagram
    import reorg.render.runbook as runbook

    calls = []
    real = diagram.step_dependencies

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runbook, "step_dependencies", counted)
    monkeypatch.setattr(diagram, "step_dependencies", counted)
    bindings = (Binding("a", "h", 4001, line=2, source="compose"), Binding("b", "h", 4002, line=3, source="compose"))
    chain = (Step(1, 1, "a", "h", 4001, 4003, K.MOVE), Step(2, 2, "b", "h", 4002, 4001, K.MOVE))
    text = render_runbook(*_plan(chain, bindings), "demo", "demo.json")
    assert "s1 --> s2" in text and calls == [1]


# ---- a plan without steps ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_runbook(tmp_path_factory: pytest.TempPathFactory) -> str:
    from typer.testing import CliRunner

    from reorg.cli import app

    folder = tmp_path_factory.mktemp("empty")
    (folder / "current.csv").write_text("service,host,port,note\nweb,h1,3000,a note\napi,h2,4000,\n")
    (folder / "target.csv").write_text("service,port\nweb,3000\n")  # current == target
    result = CliRunner().invoke(app, ["plan", "--current", str(folder / "current.csv"), "--target",
                                      str(folder / "target.csv"), "--out", str(folder / "out")])
    assert result.exit_code == 0, result.output
    return (folder / "out" / "reorg.md").read_text(encoding="utf-8")


def test_empty_plan_runbook_says_there_is_nothing_to_do_and_only_that(empty_runbook):
    headings = [line for line in empty_runbook.splitlines() if line.startswith("#")]
    assert headings == ["# Runbook: reorg", "## Plan metadata"]
    assert "Nothing to do: every binding is already on its target port." in empty_runbook
    assert not checkboxes(empty_runbook) and "nc -z" not in empty_runbook and "reorg next" not in empty_runbook


def test_no_runbook_line_ends_in_a_space(bundled, empty_runbook):
    for text in (bundled[0], empty_runbook):
        assert [line for line in text.splitlines() if line != line.rstrip()] == []
