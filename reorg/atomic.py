"""Atomic file writes: a temp file in the same directory, fsync, rename, fsync the directory.

Comparison reports and the journal go through ``write_text_atomic``, so a crash leaves either
the old file or the new one, never half of each. A plan and its runbook go through
``write_texts_atomic``: every file is written to a temp file first, and only when all are
written are they renamed, in the order given (the plan JSON last, so a reader that finds the
new plan also finds its runbook). A rename that fails puts the files already renamed back, and
the error says which files are old and which are new.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

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


def write_texts_atomic(files: list[tuple[Path, str]]) -> None:
    """Replace each ``path`` with its ``text``, all or none as far as the filesystem allows.

    1. Every text goes to a temp file beside its path (fsync). A failure here removes the temp
       files, and every path keeps its old content.
    2. The old files are hard-linked aside, then the temp files are renamed in order. If rename
       k fails, renames 1..k-1 are undone from those links (or the new file removed where there
       was none). The error says whether that worked, naming each file that is new.
    """
    temps: list[Path] = []
    try:
        for path, text in files:
            temps.append(_write_temp(path, text))
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    saved: list[Path | None] = []
    existed = [os.path.lexists(path) for path, _ in files]
    done: list[int] = []
    try:
        for path, _ in files:
            saved.append(_keep_old(path))
        for index, ((path, _), tmp) in enumerate(zip(files, temps, strict=True)):
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise _RenameFailed(index, exc) from exc
            done.append(index)
    except _RenameFailed as failed:
        path = files[failed.index][0]
        undone = _undo(files, saved, existed, done)
        names = " and ".join(str(p) for p, _ in files)
        if undone:
            state = f"nothing was replaced: {names} are as they were"
        else:
            new = ", ".join(str(files[i][0]) for i in done)
            old = ", ".join(str(p) for i, (p, _) in enumerate(files) if i not in done)
            state = f"{new} {'is' if len(done) == 1 else 'are'} new but {old} {'is' if len(files) - len(done) == 1 else 'are'} old"
        raise ReorgError(
            f"{path}: cannot write ({failed.error.strerror or failed.error}); {state}; "
            "fix the cause (free space, permissions, a directory in the way), then run the command again"
        ) from failed.error
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        for backup in saved:
            if backup is not None:
                backup.unlink(missing_ok=True)
    for directory in dict.fromkeys(path.parent for path, _ in files):
        fsync_dir(directory)


class _RenameFailed(Exception):
    def __init__(self, index: int, error: OSError) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


def _write_temp(path: Path, text: str) -> Path:
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ReorgError(
            f"{path}: cannot write ({exc.strerror or exc}); nothing was replaced; check the folder's permissions"
        ) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReorgError(
            f"{path}: cannot write ({exc.strerror or exc}); nothing was replaced; "
            "free space on that disk or fix its permissions, then run the command again"
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _keep_old(path: Path) -> Path | None:
    """A hard link to the file at ``path`` (to undo its replacement), or None if there is none."""
    if not path.is_file() or path.is_symlink():
        return None
    backup = path.with_name(f".{path.name}.{os.getpid()}.old.tmp")
    backup.unlink(missing_ok=True)
    try:
        os.link(path, backup)
    except OSError:
        return None
    return backup


def _undo(files: list[tuple[Path, str]], saved: list[Path | None], existed: list[bool], done: list[int]) -> bool:
    """Put back the files renamed so far; True when every one of them is as it was."""
    ok = True
    for index in reversed(done):
        path, backup = files[index][0], saved[index]
        try:
            if backup is not None:
                os.replace(backup, path)
            elif existed[index]:
                ok = False  # there was an old file we could not keep a link to
            else:
                path.unlink()
        except OSError:
            ok = False
    return ok
