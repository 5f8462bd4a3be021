"""Shared fixtures: the bundled data directory and a writer for small CSV files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Test the checkout these tests live in, not whatever `pip install -e` pointed at (several
# worktrees of one repository share an interpreter): first on sys.path here, and in the
# environment of every `python -m reorg` subprocess.
sys.path.insert(0, str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)


@pytest.fixture
def data_dir() -> Path:
    """The bundled tables: current.csv, target.csv, ranges.csv."""
    return REPO / "data"


@pytest.fixture
def write_csv(tmp_path: Path):
    """``write_csv("name.csv", "a,b\\n1,2\\n")`` writes text (or bytes) under tmp_path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return write


@pytest.fixture
def ports():
    """Real ports on 127.0.0.1 (``execsupport.Ports``), all closed after the test."""
    from execsupport import Ports

    held = Ports()
    yield held
    held.close_all()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch) -> Path:
    """Run in tmp_path, with no ``REORG_HERE`` from the caller's environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REORG_HERE", raising=False)
    return tmp_path


# CI runs a fixed sequence of hypothesis examples, so a landing never depends on the draw;
# local runs keep exploring new ones (REORG_HYPOTHESIS_EXAMPLES raises the count).
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
