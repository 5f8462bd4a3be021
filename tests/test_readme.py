"""README's example outputs are what the commands print today (timings aside).

The `reorg check --scan` block is checked in tests/test_scan.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECONDS = (re.compile(r"solved in \d+\.\d+ s"), "solved in S s"), (re.compile(r"  \d+\.\d\d$", re.M), "  S")


def readme_block(command: str) -> list[str]:
    """The lines README shows under ``$ COMMAND`` in a ```text block (up to a blank line)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(f"$ {command}\n", 1)[1].split("```", 1)[0].split("\n\n", 1)[0].rstrip("\n").splitlines()


def normalised(text: str) -> str:
    for pattern, replacement in SECONDS:
        text = pattern.sub(replacement, text)
    return text


def matches(shown: list[str], printed: list[str]) -> bool:
    """``shown`` is ``printed``, where a line ``...`` in ``shown`` stands for one or more lines."""
    if "..." not in shown:
        return shown == printed
    cut = shown.index("...")
    head, tail = shown[:cut], shown[cut + 1:]
    return len(printed) > len(head) + len(tail) and printed[:len(head)] == head and printed[len(printed) - len(tail):] == tail


@pytest.mark.parametrize(
    ("command", "out", "with_stderr"),
    [
        ("reorg plan", "plans", True),
        ("reorg compare --out plans/compare", "plans/compare", False),
        ("reorg scan tests/fixtures/monorepo --out scan $M", "scan", True),
    ],
)
def test_readme_shows_what_the_command_prints(command, out, with_stderr, tmp_path):
    maps = ["--map", "docker-compose.macmini.yml=mac-mini", "--map", "infra/**=mac-mini", "--map", "scripts/mac-mini/**=mac-mini"]
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert '$ M="' + " ".join(maps) + '"' in text
    args = [part for a in command.replace(f"--out {out}", "").split()[1:] for part in (maps if a == "$M" else [a])]
    args += ["--out", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "reorg", *args], capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    printed = ((done.stderr if with_stderr else "") + done.stdout).replace(str(tmp_path), out)
    shown = readme_block(command)
    assert matches(normalised("\n".join(shown)).splitlines(), normalised(printed).splitlines()), (
        "README's block:\n" + "\n".join(shown) + "\n\nprinted now:\n" + printed
    )


def test_readme_shows_the_bad_input_line_check_prints(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "current.csv").write_bytes((ROOT / "data" / "current.csv").read_bytes())
    lines = (ROOT / "data" / "target.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[6].split(",")
    cells[lines[0].split(",").index("port")] = "http"
    lines[6] = ",".join(cells)
    (tmp_path / "data" / "target.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "reorg", "check"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())  # prose lines wrap
    assert f"Bad input is one line on stderr, `{done.stderr.strip()}`, with exit code 2" in readme, done.stderr
