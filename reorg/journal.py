"""Execution state of a plan: the journal (load/save atomically), the position, the checks, the lock.

The journal ``plans/NAME.journal.json`` names its plan by sha256 and holds a list of events
(``done``, ``failed``, ``undone``), each with its time and checks. There is no cursor: the position
is derived by replaying the events over the plan (``replay``), which also re-checks that every
event fits the plan, so a hand-edited or foreign journal is caught rather than trusted.

Rules the replay enforces (and the commands only ever append events that keep them):

- a step is done at most once until it is undone; ``undo`` reverses the last done step;
- a step may be done when it is in the lowest wave that still has open steps (wave members run in
  any order, as the plan contract allows);
- a ``failed`` step makes the journal *dirty*: nothing else may be done until that step is done
  (retried or forced) or undone.

Writes are atomic (temp file in the same directory, fsync, ``os.replace``, fsync of the
directory) and happen under ``plans/NAME.journal.lock``, created with O_CREAT|O_EXCL. A process
killed at any point leaves either the old journal or the new one, never half of one; a leftover
lock names its dead holder. ``REORG_CRASH_AT`` kills the process at a named write point so that
tests can prove this with a real SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Iterator

from reorg.atomic import fsync_dir, write_text_atomic
from reorg.model import Plan, ReorgError, Scope, Step
from reorg.probe import Check, CheckSpec, Expect

JOURNAL_FORMAT = "reorg-journal/1"
CRASH_ENV = "REORG_CRASH_AT"
CRASH_POINTS = ("locked", "before-write", "before-rename", "before-unlock")

BindingKey = tuple[str, str]  # (service, host)


class EventKind(str, Enum):
    DONE = "done"
    FAILED = "failed"
    UNDONE = "undone"


@dataclass(frozen=True)
class Event:
    """One line of the journal. ``forced`` is true when ``--force`` overrode a failed check."""

    seq: int
    event: EventKind
    step: int
    time: str
    checks: tuple[Check, ...] = ()
    forced: bool = False

    def to_dict(self) -> dict:
        return {
            "seq": self.seq,
            "event": self.event.value,
            "step": self.step,
            "time": self.time,
            "checks": [check.to_dict() for check in self.checks],
            "forced": self.forced,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Event:
        seq, step, forced = data["seq"], data["step"], data["forced"]
        for name, value in (("seq", seq), ("step", step)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} {value!r} is not an integer")
        if not isinstance(forced, bool):
            raise TypeError(f"forced {forced!r} is not true/false")
        if not isinstance(data["checks"], list) or not isinstance(data["time"], str):
            raise TypeError("checks must be a list and time a string")
        return cls(
            seq=seq,
            event=EventKind(data["event"]),
            step=step,
            time=data["time"],
            checks=tuple(Check.from_dict(check) for check in data["checks"]),
            forced=forced,
        )


@dataclass(frozen=True)
class Journal:
    """The journal of one plan. ``path`` is where it lives; it is not part of the file."""

    path: Path
    plan_path: str
    plan_sha256: str
    events: tuple[Event, ...] = ()

    def to_dict(self) -> dict:
        return {
            "format": JOURNAL_FORMAT,
            "plan": {"path": self.plan_path, "sha256": self.plan_sha256},
            "events": [event.to_dict() for event in self.events],
        }

    def append(self, kind: EventKind, step: int, checks: tuple[Check, ...], forced: bool = False) -> Journal:
        event = Event(len(self.events) + 1, kind, step, utc_now(), checks, forced)
        return Journal(self.path, self.plan_path, self.plan_sha256, self.events + (event,))


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except IsADirectoryError as exc:
        raise ReorgError(f"{path}: is a directory, not a journal; pass the journal file to --journal") from exc
    except OSError as exc:
        raise ReorgError(f"{path}: cannot read the journal ({exc.strerror}); check its permissions") from exc
    except UnicodeDecodeError as exc:  # a ValueError, not an OSError: a hand edit in another encoding
        raise ReorgError(f"{path}: the journal is not UTF-8 (byte {exc.start}); {fix}") from exc
    try:
        data = json.loads(text)
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


def check_plan_unchanged(journal: Journal, plan_path: Path, plan_sha256: str) -> None:
    """Refuse a journal started on another version of the plan (like a stale Terraform plan)."""
    if journal.plan_sha256 != plan_sha256:
        # Say how far the old run got: a reset starts again at step 1, and the steps already done
        # stay done on the hosts, so a new plan must be made from where the fleet is now.
        stack: list[int] = []
        for event in journal.events:
            if event.event is EventKind.DONE:
                stack.append(event.step)
            elif event.event is EventKind.UNDONE and stack and stack[-1] == event.step:
                stack.pop()
        raise ReorgError(
            f"{plan_path} changed since the journal started (journal has sha256 {journal.plan_sha256[:12]}, "
            f"the file has {plan_sha256[:12]}; the journal records {len(stack)} step(s) done); restore the plan, "
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


def save_journal(journal: Journal) -> None:
    """Write atomically: temp file in the same directory, fsync, rename, fsync the directory.

    Call only while holding the lock: leftover temp files of killed writers are removed here.
    """
    path = journal.path
    text = json.dumps(journal.to_dict(), indent=2, sort_keys=True) + "\n"
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
    """Die here, as hard as a power cut allows, when REORG_CRASH_AT names this point."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


# ---- position: replaying the events over the plan -----------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where execution stands. ``done`` is in the order the steps were done (the undo stack)."""

    done: tuple[int, ...]
    dirty: int | None
    state: tuple[tuple[BindingKey, int | None], ...]  # binding -> port (None: retired), sorted

    def state_dict(self) -> dict[BindingKey, int | None]:
        return dict(self.state)

    def to_dict(self) -> dict:
        return {"done": list(self.done), "dirty": self.dirty}


def start_state(plan: Plan, base: dict[BindingKey, int] | None = None) -> dict[BindingKey, int | None]:
    """The state before step 1: each binding of the plan on the from-port of its first step.

    ``base`` adds the bindings that have no step (from the current table), so that a port a
    moving binding shares with a staying one (a collision) is known to stay in use.
    """
    state: dict[BindingKey, int | None] = dict(base or {})
    first: dict[BindingKey, int | None] = {}
    for step in plan.steps:
        first.setdefault((step.service, step.host), step.from_port)
    state.update(first)
    return dict(sorted(state.items()))


def open_steps(plan: Plan, done: set[int] | tuple[int, ...], dirty: int | None = None) -> tuple[Step, ...]:
    """Steps that may be done now: the dirty one, or the open steps of the lowest open wave."""
    if dirty is not None:
        return tuple(step for step in plan.steps if step.step == dirty)
    remaining = [step for step in plan.steps if step.step not in done]
    if not remaining:
        return ()
    wave = min(step.wave for step in remaining)
    return tuple(step for step in remaining if step.wave == wave)


def replay(
    plan: Plan,
    events: tuple[Event, ...],
    where: Path | str = "journal",
    base: dict[BindingKey, int] | None = None,
) -> Position:
    """The position after ``events``; any event that does not fit the plan is a ReorgError."""
    steps = {step.step: step for step in plan.steps}
    state = start_state(plan, base)
    done: list[int] = []
    done_set: set[int] = set()
    dirty: int | None = None
    # Open steps per wave and the lowest open wave, kept up to date so that a long journal
    # replays in linear time (the same rule as ``open_steps``).
    remaining: dict[int, int] = {}
    for step in plan.steps:
        remaining[step.wave] = remaining.get(step.wave, 0) + 1
    last_wave = max(remaining, default=0)
    low = min(remaining, default=1)
    fix = "repair it, or move it aside and start a new journal with `reorg reset`"
    for event in events:
        step = steps.get(event.step)
        bad = f"{where}: event {event.seq} ({event.event.value} step {event.step})"
        if step is None:
            raise ReorgError(f"{bad}: the plan has no such step (1-{len(steps)}); {fix}")
        key = (step.service, step.host)
        if event.event is EventKind.UNDONE:
            if dirty == event.step:
                dirty = None  # the failed attempt was rolled back; the plan's state never changed
            elif dirty is None and done and done[-1] == event.step:
                # While a step is dirty only that step may be undone: stepping back past it would
                # let the dirty step (maybe of a later wave) be done with its wave order broken.
                if state[key] != step.to_port:
                    raise ReorgError(f"{bad}: {step.service}@{step.host} is not on {step.to_port}; {fix}")
                done.pop()
                done_set.discard(event.step)
                state[key] = step.from_port
                remaining[step.wave] += 1
                low = min(low, step.wave)
            elif dirty is not None:
                raise ReorgError(f"{bad}: step {dirty} is failed, so only it can be undone; {fix}")
            else:
                raise ReorgError(f"{bad}: only the last done or failed step can be undone; {fix}")
            continue
        if event.step in done_set:
            raise ReorgError(f"{bad}: the step is already done; {fix}")
        is_open = event.step == dirty if dirty is not None else step.wave == low
        if not is_open:
            raise ReorgError(f"{bad}: the step is not open at that point (out of wave order); {fix}")
        if state[key] != step.from_port:
            raise ReorgError(f"{bad}: {step.service}@{step.host} is not on {step.from_port}; {fix}")
        if event.event is EventKind.FAILED:
            dirty = event.step
        else:
            dirty = None
            done.append(event.step)
            done_set.add(event.step)
            state[key] = step.to_port
            remaining[step.wave] -= 1
            while low <= last_wave and remaining.get(low, 0) == 0:
                low += 1
    return Position(tuple(done), dirty, tuple(sorted(state.items())))


def simulate(
    plan: Plan, journal: Journal | None, base: dict[BindingKey, int] | None = None
) -> dict[BindingKey, int | None]:
    """The state the journal says the fleet is in: binding -> port (None once retired)."""
    events = journal.events if journal else ()
    return replay(plan, events, journal.path if journal else "journal", base).state_dict()


def next_step(plan: Plan, position: Position) -> Step | None:
    candidates = open_steps(plan, position.done, position.dirty)
    return candidates[0] if candidates else None


def last_done(plan: Plan, position: Position) -> Step | None:
    if not position.done:
        return None
    return next(step for step in plan.steps if step.step == position.done[-1])


def find_step(plan: Plan, number: int) -> Step:
    for step in plan.steps:
        if step.step == number:
            return step
    raise ReorgError(
        f"the plan has no step {number}; its steps are 1-{len(plan.steps)}; "
        "run `reorg status` to see which are open"
    )


# ---- checks -------------------------------------------------------------------------------------


def holders(state: dict[BindingKey, int | None], host: str, port: int, other_than: BindingKey) -> list[str]:
    """Services other than ``other_than`` that hold ``port`` on ``host`` in ``state``."""
    return sorted(s for (s, h), p in state.items() if h == host and p == port and (s, h) != other_than)


def step_checks(
    plan: Plan, position: Position, step: Step, reverse: bool = False
) -> tuple[tuple[CheckSpec, ...], tuple[CheckSpec, ...]]:
    """Pre- and post-checks of ``step`` (or of its reverse, for ``undo``) from ``position``.

    Forward: pre = the new port is free; post = the service answers on the new port and the old
    port is free (a retirement only frees). Reverse swaps the ports. A port that another binding
    of the plan still holds (a collision of the current table) cannot be expected free, so that
    check is skipped with the reason. Probes are per host, also under ``--scope global``: the
    plan already kept other hosts apart, and a host's own port is what the operator can check.
    """
    key = (step.service, step.host)
    leave, arrive = (step.to_port, step.from_port) if reverse else (step.from_port, step.to_port)
    before = position.state_dict()
    after = dict(before)
    after[key] = arrive
    pre: list[CheckSpec] = []
    post: list[CheckSpec] = []
    if arrive is not None:
        skip = ""
        if reverse and position.dirty == step.step:
            skip = f"not checked: step {step.step} failed midway, so what holds the port is unknown"
        elif reverse and (others := holders(before, step.host, arrive, key)):
            skip = f"not checked: port {arrive} is also held by {', '.join(others)}, as before step {step.step}"
        pre.append(CheckSpec("pre", step.service, step.host, arrive, Expect.FREE, skip))
        post.append(CheckSpec("post", step.service, step.host, arrive, Expect.IN_USE))
    if leave is not None:
        skip = ""
        if others := holders(after, step.host, leave, key):
            skip = f"not checked: port {leave} stays held by {', '.join(others)} (they shared it)"
        post.append(CheckSpec("post", step.service, step.host, leave, Expect.FREE, skip))
    return tuple(pre), tuple(post)


# ---- lock ---------------------------------------------------------------------------------------


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

    def to_dict(self) -> dict:
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
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            raw = handle.read()
    except FileNotFoundError:
        return None
    except OSError:
        return Lock(path, None, "", ""), None
    identity = (info.st_dev, info.st_ino, raw)
    try:
        data = json.loads(raw.decode("utf-8"))  # UnicodeDecodeError is a ValueError
        pid = data["pid"]
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise TypeError("pid")
        return Lock(path, pid, str(data["host"]), str(data["time"])), identity
    except (ValueError, KeyError, TypeError):
        return Lock(path, None, "", ""), identity


def _break_lock(path: Path, identity: LockIdentity) -> None:
    """Remove the lock file judged dead, and only that one.

    Unlinking by name would race: two sessions breaking the same stale lock at once could each
    remove it, the first take a fresh lock, and the second remove that one too, leaving both
    "holding" it. Renaming is atomic, so only one breaker gets the file; it then checks that what
    it got is the file it judged dead, and puts back a lock a live session took meanwhile.
    """
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
        try:
            os.link(aside, path)  # never over a lock a third session made meanwhile
        except OSError:
            pass
        aside.unlink(missing_ok=True)
        raise ReorgError(
            f"{path} was taken by another session while the stale lock was being removed; "
            "run `reorg status` to see who holds it, then run the command again"
        )
    aside.unlink(missing_ok=True)


def acquire_lock(path: Path, force_unlock: bool = False) -> Lock:
    """Take the lock or refuse, naming the holder. ``force_unlock`` first removes a dead holder's."""
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
        holder = read_lock(path)
        if holder is None:
            raise ReorgError(f"{path}: another session just released the lock; run the command again") from None
        detail = holder.describe()
        if holder.alive() is True:
            advice = "wait for it to finish and run the command again"
        else:
            advice = "if that session is dead, run the command again with --force-unlock"
        raise ReorgError(f"the journal is locked by {detail}; {advice}") from None
    except OSError as exc:
        raise ReorgError(f"{path}: cannot create the lock ({exc.strerror}); check the directory's permissions") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"pid": ours.pid, "host": ours.host, "time": ours.time}, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        # An empty or half-written lock would block every later session until --force-unlock.
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
        raise ReorgError(
            f"{path}: cannot write the lock ({exc.strerror or exc}); nothing was recorded; "
            "free space on that disk or fix its permissions, then run the command again"
        ) from exc
    fsync_dir(path.parent)
    crash_point("locked")
    return ours


def release_lock(lock: Lock) -> None:
    """Remove the lock if it is still ours (a --force-unlock by someone else may have taken it)."""
    holder = read_lock(lock.path)
    if holder is not None and holder.pid == lock.pid and holder.host == lock.host:
        lock.path.unlink(missing_ok=True)


@contextmanager
def locked(path: Path, force_unlock: bool = False) -> Iterator[Lock]:
    lock = acquire_lock(path, force_unlock)
    try:
        yield lock
    finally:
        release_lock(lock)


# ---- what the execute commands return ------------------------------------------------------------


@dataclass(frozen=True)
class StatusReport:
    """``reorg status``: where execution stands, read without writing anything."""

    plan_path: Path
    plan_sha256: str
    journal_path: Path
    journal_exists: bool
    plan: Plan
    position: Position
    events: int
    lock: Lock | None
    dirty_checks: tuple[Check, ...]  # the failed checks of the dirty step's last attempt
    notices: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return len(self.plan.steps)

    @property
    def waves(self) -> int:
        return max((step.wave for step in self.plan.steps), default=0)

    @property
    def last_done(self) -> Step | None:
        return last_done(self.plan, self.position)

    @property
    def dirty(self) -> Step | None:
        return find_step(self.plan, self.position.dirty) if self.position.dirty is not None else None

    @property
    def open(self) -> tuple[Step, ...]:
        return open_steps(self.plan, self.position.done, self.position.dirty)

    @property
    def next(self) -> Step | None:
        return next_step(self.plan, self.position)

    @property
    def finished(self) -> bool:
        return len(self.position.done) == self.total

    def to_dict(self) -> dict:
        return {
            "plan": {"path": self.plan_path.as_posix(), "sha256": self.plan_sha256},
            "journal": {"path": self.journal_path.as_posix(), "exists": self.journal_exists, "events": self.events},
            "steps": self.total,
            "waves": self.waves,
            "done": list(self.position.done),
            "last_done": _dict(self.last_done),
            "next": _dict(self.next),
            "open": [step.step for step in self.open],
            "dirty": _dict(self.dirty),
            "dirty_checks": [check.to_dict() for check in self.dirty_checks],
            "lock": self.lock.to_dict() if self.lock else None,
            "finished": self.finished,
            "notices": list(self.notices),
        }


@dataclass(frozen=True)
class StepReport:
    """``reorg next``, ``done`` and ``undo``: the step, its checks, what was recorded, what next.

    ``action`` is ``next``, ``done``, ``undo`` or ``undo-preview``. ``ok`` False means a check
    failed (exit 1); ``advice`` says what to do next in either case.
    """

    action: str
    step: Step | None
    scope: Scope
    checks: tuple[Check, ...]
    event: Event | None
    ok: bool
    advice: str
    position: Position
    total: int
    also: tuple[Step, ...] = ()  # other open steps of the same wave, any order
    notices: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "step": _dict(self.step),
            "checks": [check.to_dict() for check in self.checks],
            "recorded": self.event.to_dict() if self.event else None,
            "ok": self.ok,
            "advice": self.advice,
            "done": list(self.position.done),
            "dirty": self.position.dirty,
            "steps": self.total,
            "also_open": [step.step for step in self.also],
            "notices": list(self.notices),
        }


@dataclass(frozen=True)
class HistoryReport:
    """``reorg history``: the journal's events beside the steps they name."""

    plan_path: Path
    journal_path: Path
    steps: tuple[Step, ...]
    events: tuple[Event, ...]

    def step(self, number: int) -> Step | None:
        return _step(self.steps, number)

    def to_dict(self) -> dict:
        return {
            "plan": self.plan_path.as_posix(),
            "journal": self.journal_path.as_posix(),
            "events": [dict(event.to_dict(), detail=_dict(self.step(event.step))) for event in self.events],
        }


def _step(steps: tuple[Step, ...], number: int) -> Step | None:
    return next((step for step in steps if step.step == number), None)


def _dict(step: Step | None) -> dict | None:
    return step.to_dict() if step else None

