"""reorg.escape: names that reach a shell, Markdown, Mermaid or a terminal cannot act there."""

from __future__ import annotations

import shlex
import subprocess

import pytest

from reorg.escape import md_code, md_escape, mermaid_escape, mermaid_label, shell_quote, terminal_safe

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
    label = mermaid_label('x"]; click s1 call alert(1); s2["<b>#')
    body = label[1:-1]
    for char in '"[]<>()':
        assert char not in body
    assert label.startswith('"') and label.endswith('"')
    assert mermaid_escape("#quot;") == "#35;quot;"  # an entity in a name is shown, not decoded
