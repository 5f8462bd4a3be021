"""The journal lock ``plans/NAME.journal.lock``: who holds it, take it, break a dead one, release it.

The lock is created with O_CREAT|O_EXCL and names its holder (pid, host, time), so a lock left
by a killed process names its dead holder and ``--force-unlock`` can remove it safely.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reorg.atomic import fsync_dir
from reorg.journal import crash_point, utc_now
from reorg.model import ReorgError
from reorg.safeio import load_json, read_file

LOCK_MAX_BYTES = 64 * 1024  # a lock reorg writes is one short line


@dataclass(frozen=True)
class Lock:
    """Who holds a journal. ``pid`` is None when the lock file is empty or unreadable."""

    path: Path
    pid: int | None
    host: str
    time: str

    def alive(self) -> bool | None:
        """True/False for a holder on this host; None when it cannot be told (other host, no pid)."""
        if self.pid is None or self.host != socket.gethostname():
            return None
        return pid_alive(self.pid)

    def describe(self) -> str:
        if self.pid is None:
            return f"{self.path} is unreadable (probably left by a session killed while taking it)"
        text = f"pid {self.pid} on {self.host} since {self.time}"
        alive = self.alive()
        if alive is False:
            text += " (that process is not running: the lock is stale)"
        elif alive is None:
            text += " (on another host: check there whether it still runs)"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path.as_posix(),
            "pid": self.pid,
            "host": self.host,
            "time": self.time,
            "alive": self.alive(),
        }


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    except (OverflowError, ValueError):
        return False  # no process can have that pid (a hand-edited lock)
    return True


LockIdentity = tuple[int, int, bytes] | None  # (device, inode, content) of a lock file


def read_lock(path: Path) -> Lock | None:
    """The lock at ``path``, or None when the journal is not locked. Never writes."""
    found = _read_lock_file(path)
    return found[0] if found else None


def _read_lock_file(path: Path) -> tuple[Lock, LockIdentity] | None:
    """The lock at ``path`` and which file it is, so that breaking it can tell it was not replaced."""
    try:
        # A directory, FIFO or device is never a lock reorg made: refused (never moved aside),
        # and a FIFO cannot block the read (safeio opens with O_NONBLOCK).
        raw, info = read_file(path, "lock", limit=LOCK_MAX_BYTES)
    except FileNotFoundError:
        return None
    except ReorgError as exc:
        if not os.path.isfile(path):
            raise ReorgError(f"{exc}; reorg did not make it: remove it by hand if no session runs") from None
        return Lock(path, None, "", ""), None  # unreadable or too big: a holder nobody can name
    identity = (info.st_dev, info.st_ino, raw)
    try:
        data = load_json(raw.decode("utf-8"), path, "lock")  # UnicodeDecodeError is a ValueError
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")  # as data["pid"] would
        pid = data["pid"]
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise TypeError("pid")
        return Lock(path, pid, str(data["host"]), str(data["time"])), identity
    except (ValueError, KeyError, TypeError, ReorgError):
        return Lock(path, None, "", ""), identity


@contextmanager
def _breakers_serialised(directory: Path) -> Iterator[bool]:
    """Hold an exclusive flock on the lock's directory while a stale lock is judged and removed.

    Only breakers take it, and only breakers remove another session's lock (the holder judged
    dead never will), so inside it the lock file cannot change between the identity check and
    the unlink: a lock a live session took meanwhile has another identity and is left alone.
    Yields False where flock is not available (Windows), and the rename fallback is used.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield False
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)  # closing releases the flock


def _break_lock(path: Path, identity: LockIdentity) -> None:
    """Remove the lock file judged dead, and only that one.

    Unlinking by name would race: two sessions breaking the same stale lock at once could each
    remove it, the first take a fresh lock, and the second remove that one too. Breakers are
    serialised by a flock on the directory and re-read the lock inside it: only a file with the
    very identity (device, inode, content) judged dead is unlinked.
    """
    with _breakers_serialised(path.parent) as serialised:
        if serialised:
            found = _read_lock_file(path)
            if found is None:
                return  # another session broke it first; the O_EXCL create decides who goes on
            if found[1] != identity:
                raise ReorgError(
                    f"{path} was taken by another session while the stale lock was being removed; "
                    "run `reorg status` to see who holds it, then run the command again"
                )
            try:
                path.unlink()
            except FileNotFoundError:
                return
            except OSError as exc:
                raise ReorgError(
                    f"{path}: cannot remove the stale lock ({exc.strerror}); check the directory's permissions"
                ) from exc
            return
        _break_lock_by_rename(path, identity)


def _break_lock_by_rename(path: Path, identity: LockIdentity) -> None:
    """Without flock: rename is atomic, so only one breaker gets the file; it checks that what it
    got is the file it judged dead, and puts back a lock a live session took meanwhile."""
    aside = path.with_name(f".{path.name}.broken-{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # another session broke it first; the O_EXCL create decides who goes on
    except OSError as exc:
        raise ReorgError(
            f"{path}: cannot remove the stale lock ({exc.strerror}); check the directory's permissions"
        ) from exc
    moved = _read_lock_file(aside)
    if moved is not None and moved[1] != identity:
        with suppress(OSError):
            os.link(aside, path)  # never over a lock a third session made meanwhile
        aside.unlink(missing_ok=True)
        raise ReorgError(
            f"{path} was taken by another session while the stale lock was being removed; "
            "run `reorg status` to see who holds it, then run the command again"
        )
    aside.unlink(missing_ok=True)


def acquire_lock(
    path: Path, force_unlock: bool = False, last_event: Callable[[], str] | None = None
) -> Lock:
    """Take the lock or refuse, naming the holder. ``force_unlock`` first removes a dead holder's.

    ``last_event`` (a callable) words the journal's last event: a session killed after its event
    became durable has recorded its step, so a blind ``--force-unlock`` must not repeat it.
    """
    if force_unlock:
        found = _read_lock_file(path)
        if found is not None:
            holder, identity = found
            if holder.alive():
                raise ReorgError(
                    f"{path} is held by live {holder.describe()}; let it finish, "
                    f"or if that pid is not reorg, delete {path} by hand"
                )
            _break_lock(path, identity)
    ours = Lock(path, os.getpid(), socket.gethostname(), utc_now())
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        taker = read_lock(path)
        if taker is None:
            raise ReorgError(f"{path}: another session just released the lock; run the command again") from None
        detail = taker.describe()
        if taker.alive() is True:
            advice = "wait for it to finish and run the command again"
        else:
            said = last_event() if last_event is not None else ""
            advice = (
                (f"{said}, so check with `reorg status` what it recorded before going on; " if said else "")
                + "if that session is dead, run the command again with --force-unlock"
            )
        raise ReorgError(f"the journal is locked by {detail}; {advice}") from None
    except OSError as exc:
        raise ReorgError(f"{path}: cannot create the lock ({exc.strerror}); check the directory's permissions") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"pid": ours.pid, "host": ours.host, "time": ours.time}, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        fsync_dir(path.parent)
        crash_point("locked")
    except OSError as exc:
        # An empty or half-written lock would block every later session until --force-unlock.
        with suppress(OSError):
            path.unlink(missing_ok=True)
        raise ReorgError(
            f"{path}: cannot write the lock ({exc.strerror or exc}); nothing was recorded; "
            "free space on that disk or fix its permissions, then run the command again"
        ) from exc
    except BaseException:
        # Ctrl-C (KeyboardInterrupt) before the caller's ``finally`` owns the lock: ours, so remove it.
        with suppress(OSError):
            path.unlink(missing_ok=True)
        raise
    return ours


def release_lock(lock: Lock) -> None:
    """Remove the lock if it is still ours (a --force-unlock by someone else may have taken it)."""
    holder = read_lock(lock.path)
    if holder is not None and holder.pid == lock.pid and holder.host == lock.host:
        lock.path.unlink(missing_ok=True)


@contextmanager
def locked(
    path: Path, force_unlock: bool = False, last_event: Callable[[], str] | None = None
) -> Iterator[Lock]:
    lock = acquire_lock(path, force_unlock, last_event)
    try:
        yield lock
    finally:
        release_lock(lock)
