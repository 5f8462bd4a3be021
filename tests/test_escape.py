"""reorg.escape: names that reach a shell, Markdown, Mermaid or a terminal cannot act there."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import pytest

from reorg.escape import (
    md_code,
    md_escape,
    mermaid_escape,
    mermaid_label,
    shell_quote,
    terminal_safe,
)

VALID = ["mana-auth", "mac-mini", "postgresql@14-main", "host.example.org", "a_b", "h1"]


@pytest.mark.parametrize("name", VALID)
def test_valid_names_pass_shell_terminal_and_mermaid_unchanged(name):
    assert shell_quote(name) == name
    assert terminal_safe(name) == name
    assert mermaid_escape(name) == name


@pytest.mark.parametrize("host", ["h1;touch x", "$(id)", "`id`", "a b", "h1 && rm -rf ~", "x'y", "-n"])
def test_shell_quote_is_one_inert_word(host, tmp_path):
    command = f"printf '%s\\n' {shell_quote(host)}"
    out = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout == host + "\n"
    assert list(tmp_path.iterdir()) == []  # `touch x` did not run
    assert shlex.split(shell_quote(host)) == [host]


def test_shell_quote_never_holds_a_newline():
    quoted = shell_quote("h1\ntouch x")
    assert "\n" not in quoted
    assert shlex.split(quoted) == ["h1\\x0atouch x"]


def test_terminal_safe_shows_ansi_and_control_characters():
    assert terminal_safe("\x1b[2J\x1b[31mred\x07") == "\\x1b[2J\\x1b[31mred\\x07"
    assert terminal_safe("a\r\nb") == "a\\x0d\\x0ab"
    assert terminal_safe("evil\u202etxt.exe") == "evil\\u202etxt.exe"  # right-to-left override
    assert terminal_safe("café ok") == "café ok"
    assert "\x1b" not in terminal_safe("\x9b31m")  # C1 CSI too
    assert terminal_safe("\x9b31m") == "\\x9b31m"


def _markdown_tokens(text: str):
    import markdown_it  # rich's dependency, so typer brings it

    return markdown_it.MarkdownIt("commonmark").enable("table").parse(text)


def test_md_escape_a_newline_cannot_add_a_task_line():
    name = "svc\n- [x] 99. fake step"
    line = f"- [ ] 1. {md_escape(name)} moves"
    assert "\n" not in line
    assert len([t for t in _markdown_tokens(line) if t.type == "list_item_open"]) == 1


@pytest.mark.parametrize(
    "name",
    ["<script>alert(1)</script>", "[x](http://e.example)", "*bold*", "_em_", "`code`", "a|b", "# h", "![i](x)", "&amp;"],
)
def test_md_escape_renders_the_text_literally(name):
    tokens = _markdown_tokens(md_escape(name))
    inline = [t for t in tokens if t.type == "inline"][0]
    assert [c.type for c in inline.children] == ["text"] * len(inline.children)
    assert "".join(c.content for c in inline.children) == name


def test_md_escape_keeps_table_cells_apart():
    table = f"| a | b |\n|---|---|\n| {md_escape('x|y')} | z |\n"
    cells = [t for t in _markdown_tokens(table) if t.type == "inline"]
    assert [c.content for c in cells][-2:] == ["x|y", "z"]  # two cells, the pipe kept as text


def test_md_code_shows_backticks_and_strips_newlines():
    assert md_code("nc -z h1 3001") == "`nc -z h1 3001`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x") == "`` `x ``"
    assert "\n" not in md_code("a\nb")


def test_mermaid_escape_closes_no_label_and_ends_no_statement():
    label = mermaid_label('x"]; click s1 call alert(1); s2["<b>#`md`')
    body = label[1:-1]
    for char in '"<>`':
        assert char not in body
    assert label.startswith('"') and label.endswith('"')
    assert mermaid_escape("#quot;") == "#35;quot;"  # an entity in a name is shown, not decoded


# ---- the sinks: runbook, diagram, step text, compare.md, terminal --------------------------------
# reorg.names refuses these names in the tables and in plan files; the plans below are built in
# memory to show that the writers escape them anyway (defence in depth).

from reorg.model import Binding, Goal, Instance, Metrics, Plan, PlanOptions, Scope, Step, StepKind  # noqa: E402
from reorg.render import render_runbook  # noqa: E402
from reorg.render.diagram import render_mermaid  # noqa: E402
from reorg.render.steptext import describe_step  # noqa: E402

EVIL = [
    ("a", "h1;touch x"),
    ("b", "$(id)"),
    ("svc\n- [x] 99. fake step", "h2"),
    ("<script>alert(1)</script>", "h2"),
    ("\x1b[31mred\x1b[0m", "h2"),
    ('q"]; click s1 call x', "h2"),
]


def _evil_plan() -> tuple[Plan, Instance]:
    bindings = tuple(Binding(s, h, 4000 + i) for i, (s, h) in enumerate(EVIL))
    goals = tuple(Goal(b.service, b.host, b.port, b.port + 100) for b in bindings)
    steps = tuple(
        Step(i + 1, 1, b.service, b.host, b.port, b.port + 100, StepKind.MOVE) for i, b in enumerate(bindings)
    )
    plan = Plan("greedy", PlanOptions(), steps, Metrics(len(steps), 0, 1, len(steps), 1, True, 0))
    return plan, Instance(bindings, goals, current_path="c`urrent.csv", target_path="target.csv")


def test_runbook_escapes_names_in_shell_commands_markdown_and_mermaid(tmp_path):
    plan, instance = _evil_plan()
    text = render_runbook(plan, instance, "evil", "evil.json")
    assert "\x1b" not in text
    assert "<script>" not in text
    assert "nc -z -w 2 h1;touch x" not in text and "nc -z -w 2 'h1;touch x' 4100" in text
    assert "nc -z -w 2 $(id)" not in text and "nc -z -w 2 '$(id)' 4101" in text
    # exactly one task line per step: the newline in a name added none
    tokens = _markdown_tokens(text)
    tasks = [t.content for t in tokens if t.type == "inline" and t.content.startswith(("[ ]", "[x]"))]
    assert len(tasks) == len(plan.steps), tasks
    assert not [line for line in text.splitlines() if line.lstrip().startswith("- [x]")]
    # every shell command in a code span runs as one harmless word per name
    commands = [t.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "code_inline"]
    assert commands  # (the parse found the code spans)


def test_step_text_commands_quote_the_host_for_a_shell(tmp_path):
    step = Step(1, 1, "a", "h1;touch x", 4000, 4001, StepKind.MOVE)
    text = describe_step(step, Scope.HOST)
    command = text.verify.split("`")[1]
    assert command == "nc -z -w 2 'h1;touch x' 4001 && ! nc -z -w 2 'h1;touch x' 4000"
    out = subprocess.run(["sh", "-n", "-c", command], cwd=tmp_path, capture_output=True)
    assert out.returncode == 0 and list(tmp_path.iterdir()) == []


def test_mermaid_labels_hold_the_names_inside_their_quotes():
    plan, _ = _evil_plan()
    diagram = render_mermaid(plan)
    for line in diagram.splitlines():
        if line.strip().startswith("s") and "[" in line:
            label = line.split("[", 1)[1].rsplit("]", 1)[0]
            assert label.startswith('"') and label.endswith('"') and '"' not in label[1:-1], line
            assert "<script" not in label and "\x1b" not in label


def test_terminal_output_shows_escapes_instead_of_running_them(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from reorg.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "current.csv").write_text("service,host,port\na,dev,4001\n")
    (tmp_path / "target.csv").write_text("service,port\na,4002\n")
    runner = CliRunner()
    assert runner.invoke(app, ["plan", "--strategy", "greedy", "--current", "current.csv", "--target", "target.csv"]).exit_code == 0
    assert runner.invoke(app, ["done", "1", "--no-probe"]).exit_code == 0
    journal = tmp_path / "plans" / "reorg.journal.json"
    data = json.loads(journal.read_text())
    data["events"][0]["time"] = "\x1b[2J\x1b]0;pwned\x07 2026"  # clear screen, set the window title
    journal.write_text(json.dumps(data))
    for command in (["history"], ["status"]):
        result = runner.invoke(app, command)
        assert "\x1b" not in result.output and "\x07" not in result.output, command
    assert "\\x1b[2J" in runner.invoke(app, ["history"]).output


def test_error_lines_stay_one_line_without_control_characters(tmp_path):
    target = tmp_path / "target.csv"
    target.write_text("service,port\n")
    current = tmp_path / "cur\x1b[31mrent\nx.csv"
    out = subprocess.run(
        [sys.executable, "-m", "reorg", "check", "--current", str(current), "--target", str(target)],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1 and "\x1b" not in out.stderr, out.stderr


def test_runbook_notes_from_a_hand_edited_plan_stay_one_line_of_text():
    plan, instance = _evil_plan()
    plan = Plan(plan.strategy, plan.options, plan.steps, plan.metrics, notes=("ok\n- [x] 99. injected <img src=x>",))
    text = render_runbook(plan, instance, "evil", "evil.json")
    assert "\n- [x] 99" not in text
    assert not re.search(r"(?<!\\)<img", text)  # only as the escaped, literal \<img
    assert "- ok\\\\x0a- \\[x\\] 99. injected \\<img src=x\\>" in text  # renders as ok\x0a- [x] ...
