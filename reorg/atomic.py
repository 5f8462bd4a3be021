"""Atomic file writes: a temp file in the same directory, fsync, rename, fsync the directory.

Plans, runbooks, comparison reports and the journal all go through ``write_text_atomic``, so a
crash leaves either the old file or the new one, never half of each.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from reorg.model import ReorgError


def write_text_atomic(path: Path, text: str, checkpoint: Callable[[str], None] | None = None) -> None:
    """Replace ``path`` with ``text``. ``checkpoint(name)`` is called at each write point
    ("before-write", "before-rename"), which the journal's crash tests use."""
    mark = checkpoint or (lambda _name: None)
    directory = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ReorgError(f"{path}: cannot write ({exc.strerror or exc}); check the folder's permissions") from exc
    tmp = Path(tmp_name)
    try:
        mark("before-write")
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp makes 0600; these files are for the team
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        mark("before-rename")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReorgError(
            f"{path}: cannot write ({exc.strerror or exc}); the old file is unchanged; "
            "free space on that disk or fix its permissions, then run the command again"
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(directory)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable, where the platform lets a directory be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
