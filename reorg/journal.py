"""The journal of a plan's execution: events, load/save atomically, paths, backups, twin journals.

The journal ``plans/NAME.journal.json`` names its plan by sha256 and holds a list of events
(``started``, ``done``, ``failed``, ``undone``), each with its time and checks. ``started``
(written by ``reorg next``) is newer than the format's first version; journals without it load
as before. A ``done`` whose checks could not all run (no address, ``--no-probe``) carries
``"unverified": true``. There is no cursor: the position
is derived by replaying the events over the plan (``reorg.replay``), which also re-checks that
every event fits the plan, so a hand-edited or foreign journal is caught rather than trusted.

Writes are atomic (temp file in the same directory, fsync, ``os.replace``, fsync of the
directory) and happen under ``plans/NAME.journal.lock`` (``reorg.lock``). A process killed at
any point leaves either the old journal or the new one, never half of one; a leftover
lock names its dead holder. ``REORG_CRASH_AT`` kills the process at a named write point so that
tests can prove this with a real SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from reorg.atomic import fsync_dir, write_text_atomic
from reorg.model import ReorgError
from reorg.probe import Check
from reorg.safeio import load_json, read_bytes

JOURNAL_FORMAT = "reorg-journal/1"
CRASH_ENV = "REORG_CRASH_AT"
INTERRUPT_ENV = "REORG_INTERRUPT_AT"
CRASH_POINTS = ("locked", "before-write", "before-rename", "before-unlock")

BindingKey = tuple[str, str]  # (service, host)


class EventKind(str, Enum):
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    UNDONE = "undone"
    CANCELLED = "cancelled"  # a started step given up before it was done (``undo`` of a start)


@dataclass(frozen=True)
class Event:
    """One line of the journal. ``forced`` is true when ``--force`` overrode a failed check."""

    seq: int
    event: EventKind
    step: int
    time: str
    checks: tuple[Check, ...] = ()
    forced: bool = False
    unverified: bool = False  # some check could not run (done or undone): recorded, not proven

    def to_dict(self) -> dict[str, Any]:
        data = {
            "seq": self.seq,
            "event": self.event.value,
            "step": self.step,
            "time": self.time,
            "checks": [check.to_dict() for check in self.checks],
            "forced": self.forced,
        }
        if self.unverified:
            data["unverified"] = True
        return data

    @property
    def label(self) -> str:
        """The event as status and history show it: ``unverified`` for an unproven ``done``."""
        if not self.unverified:
            return self.event.value
        return "unverified" if self.event is EventKind.DONE else f"{self.event.value} (unverified)"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        seq, step, forced = data["seq"], data["step"], data["forced"]
        for name, value in (("seq", seq), ("step", step)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} {value!r} is not an integer")
        unverified = data.get("unverified", False)
        if not isinstance(forced, bool) or not isinstance(unverified, bool):
            raise TypeError(f"forced {forced!r} / unverified {unverified!r} is not true/false")
        if not isinstance(data["checks"], list) or not isinstance(data["time"], str):
            raise TypeError("checks must be a list and time a string")
        return cls(
            seq=seq,
            event=EventKind(data["event"]),
            step=step,
            time=data["time"],
            checks=tuple(Check.from_dict(check) for check in data["checks"]),
            forced=forced,
            unverified=unverified,
        )


@dataclass(frozen=True)
class Journal:
    """The journal of one plan. ``path`` is where it lives; it is not part of the file."""

    path: Path
    plan_path: str
    plan_sha256: str
    events: tuple[Event, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": JOURNAL_FORMAT,
            "plan": {"path": self.plan_path, "sha256": self.plan_sha256},
            "events": [event.to_dict() for event in self.events],
        }

    def append(
        self, kind: EventKind, step: int, checks: tuple[Check, ...], forced: bool = False, unverified: bool = False
    ) -> Journal:
        event = Event(len(self.events) + 1, kind, step, utc_now(), checks, forced, unverified)
        return Journal(self.path, self.plan_path, self.plan_sha256, self.events + (event,))


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def journal_path_for(plan_path: Path) -> Path:
    """``plans/NAME.json`` -> ``plans/NAME.journal.json``."""
    return plan_path.with_name(f"{plan_path.stem}.journal.json")


def lock_path_for(journal_path: Path) -> Path:
    """``plans/NAME.journal.json`` -> ``plans/NAME.journal.lock``."""
    name = journal_path.name
    stem = name[: -len(".json")] if name.endswith(".json") else name
    return journal_path.with_name(f"{stem}.lock")


def new_journal(path: Path, plan_path: Path, plan_sha256: str) -> Journal:
    return Journal(path, plan_path.as_posix(), plan_sha256)


# ---- load and save ------------------------------------------------------------------------------


def load_journal(path: Path) -> Journal | None:
    """The journal at ``path``, or None when there is none yet. Never writes."""
    fix = "repair it, or move it aside and start a new journal with `reorg reset`"
    if path.is_dir():
        raise ReorgError(f"{path}: is a directory, not a journal; pass the journal file to --journal")
    try:
        raw = read_bytes(path, "journal")  # regular files only, size-capped: no FIFO, no /dev/zero
    except FileNotFoundError:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # a ValueError, not an OSError: a hand edit in another encoding
        raise ReorgError(f"{path}: the journal is not UTF-8 (byte {exc.start}); {fix}") from exc
    try:
        data = load_json(text, path, "journal")  # bounded nesting and integers (a 5,000-digit seq)
    except json.JSONDecodeError as exc:
        raise ReorgError(f"{path}:{exc.lineno}: the journal is not valid JSON ({exc.msg}); {fix}") from exc
    if not isinstance(data, dict) or data.get("format") != JOURNAL_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ReorgError(f"{path}: not a {JOURNAL_FORMAT} journal (format {found!r}); {fix}")
    try:
        plan = data["plan"]
        plan_path, plan_sha256 = plan["path"], plan["sha256"]
        if not isinstance(plan_path, str) or not isinstance(plan_sha256, str):
            raise TypeError("plan path and sha256 must be strings")
        if not isinstance(data["events"], list):
            raise TypeError("events must be a list")
        events = tuple(Event.from_dict(event) for event in data["events"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReorgError(f"{path}: malformed journal ({type(exc).__name__}: {exc}); {fix}") from exc
    for index, event in enumerate(events, start=1):
        if event.seq != index:
            raise ReorgError(f"{path}: event {index} has seq {event.seq}; events must be numbered 1..n; {fix}")
    return Journal(path, plan_path, plan_sha256, events)


def done_count(journal: Journal) -> int:
    """How many steps the journal records as done, without the plan (done minus undone)."""
    stack: list[int] = []
    for event in journal.events:
        if event.event is EventKind.DONE:
            stack.append(event.step)
        elif event.event is EventKind.UNDONE and stack and stack[-1] == event.step:
            stack.pop()
    return len(stack)


def check_plan_unchanged(journal: Journal, plan_path: Path, plan_sha256: str) -> None:
    """Refuse a journal started on another version of the plan (like a stale Terraform plan)."""
    if journal.plan_sha256 != plan_sha256:
        # Say how far the old run got: a reset starts again at step 1, and the steps already done
        # stay done on the hosts, so a new plan must be made from where the fleet is now.
        raise ReorgError(
            f"{plan_path} changed since the journal started (journal has sha256 {journal.plan_sha256[:12]}, "
            f"the file has {plan_sha256[:12]}; the journal records {done_count(journal)} step(s) done); restore the plan, "
            f"or start a new journal with `reorg reset --plan {plan_path}` (the old one is kept as "
            f"{journal.path.name}.bak-N) once the new plan starts from where the hosts are now"
        )


def twin_journals(journal_path: Path, plan_path: Path, plan_sha256: str) -> tuple[tuple[Path, int], ...]:
    """Other journals of this very plan (same sha256) beside the journal or the plan, with events.

    A journal is found by the plan's name, so a plan copied, renamed or regenerated under another
    name gets a new, empty journal that would hide the steps already done and let them be done
    twice. Returns (path, number of events) of each; unreadable journals are not this one's twin.
    """
    twins: list[tuple[Path, int]] = []
    seen = {journal_path.resolve()}
    for directory in dict.fromkeys((journal_path.parent, plan_path.parent)):
        for path in sorted(directory.glob("*.journal.json")):
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            try:
                other = load_journal(path)
            except ReorgError:
                continue
            if other is not None and other.plan_sha256 == plan_sha256 and other.events:
                twins.append((path, len(other.events)))
    return tuple(twins)


def journal_text(journal: Journal) -> str:
    """The journal as JSON with one event a line (sorted keys): as readable as an indented file,
    but written by json's C encoder, which ``indent`` turns off; at 10,000 events the indented
    text took most of a second to write on every ``next`` and ``done``."""
    data = journal.to_dict()
    events = ",\n".join("  " + json.dumps(event, sort_keys=True) for event in data.pop("events"))
    rest = json.dumps(data, sort_keys=True)[1:]  # "format", "plan": after "events" in sorted order
    return '{"events": [' + (f"\n{events}\n" if events else "") + "], " + rest + "\n"


def save_journal(journal: Journal) -> None:
    """Write atomically: temp file in the same directory, fsync, rename, fsync the directory.

    Call only while holding the lock: leftover temp files of killed writers are removed here.
    """
    path = journal.path
    text = journal_text(journal)
    directory = path.parent
    prefix = f".{path.name}."
    for leftover in sorted(directory.glob(f"{prefix}*.tmp")):
        leftover.unlink(missing_ok=True)
    write_text_atomic(path, text, checkpoint=crash_point)
    crash_point("before-unlock")


def backup_journal(path: Path) -> Path | None:
    """Move the journal aside to ``NAME.journal.json.bak-N`` (first free N); never deletes it."""
    if not path.exists():
        return None
    number = 1
    while path.with_name(f"{path.name}.bak-{number}").exists():
        number += 1
    backup = path.with_name(f"{path.name}.bak-{number}")
    try:
        os.rename(path, backup)
    except OSError as exc:
        raise ReorgError(
            f"{path}: cannot move the journal aside to {backup.name} ({exc.strerror or exc}); "
            "check the directory's permissions and run `reorg reset` again"
        ) from exc
    fsync_dir(path.parent)
    return backup


def crash_point(name: str) -> None:
    """Die here, as hard as a power cut allows, when REORG_CRASH_AT names this point; or get a
    Ctrl-C here (SIGINT) when REORG_INTERRUPT_AT names it."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    if os.environ.get(INTERRUPT_ENV) == name:
        os.kill(os.getpid(), signal.SIGINT)
