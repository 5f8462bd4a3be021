"""reorg doc: docs/PORT_SCHEMA.md is what the bundled tables generate, and --check catches drift."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def reorg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "reorg", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_committed_schema_document_is_what_the_bundled_tables_generate():
    done = reorg("doc", "--check", "docs/PORT_SCHEMA.md", cwd=REPO)
    assert done.returncode == 0, done.stderr + "\nregenerate: reorg doc --out docs/PORT_SCHEMA.md"
    assert reorg("doc", cwd=REPO).stdout == (REPO / "docs" / "PORT_SCHEMA.md").read_text(encoding="utf-8")


def test_check_fails_after_a_table_edit(tmp_path: Path):
    shutil.copytree(REPO / "data", tmp_path / "data")
    (tmp_path / "docs").mkdir()
    assert reorg("doc", "--out", "docs/PORT_SCHEMA.md", cwd=tmp_path).returncode == 0
    assert reorg("doc", "--check", "docs/PORT_SCHEMA.md", cwd=tmp_path).returncode == 0
    target = tmp_path / "data" / "target.csv"
    target.write_text(target.read_text().replace("mana-auth,3001,", "mana-auth,3007,"), encoding="utf-8")
    done = reorg("doc", "--check", "docs/PORT_SCHEMA.md", cwd=tmp_path)
    assert done.returncode == 1
    assert "docs/PORT_SCHEMA.md differs from what the tables generate (first at line" in done.stderr


def test_document_sections(tmp_path: Path):
    text = (REPO / "docs" / "PORT_SCHEMA.md").read_text(encoding="utf-8")
    for heading in ("## Ranges", "## Outside every range", "## Pairs", "## Reservations", "## Dropped reservations",
                    "## Drift per host", "### mac-mini", "## System ports reorg avoids"):
        assert heading in text
    assert "`data/target.csv` sha256" in text and "| 8080   | searxng" in text
