"""Plan files: write a plan as JSON (contract ``reorg-plan/1``) plus its runbook, and read it back.

Reading parses at the boundary: a malformed file raises ``ReorgError`` with one line naming the
file, and what comes out is a ``model.Plan`` that equals the one written. Writing is atomic
(temp file in the same directory, fsync, rename), so a crash leaves the old file or the new one.
No third-party imports.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, TypeVar

from reorg.atomic import write_texts_atomic
from reorg.model import (
    PLAN_FORMAT,
    Binding,
    Instance,
    Metrics,
    Objective,
    PairMode,
    Plan,
    PlanOptions,
    ReorgError,
    Scope,
    Step,
    StepKind,
    parse_port_range,
)
from reorg.names import check_name
from reorg.render import render_runbook
from reorg.safeio import load_json, read_bytes, shorten

TOP_KEYS = ("format", "strategy", "options", "inputs", "metrics", "steps", "notes")
OPTIONAL_TOP_KEYS = ("held", "pairs")  # added within reorg-plan/1: files without it still read
BASE_KEYS = ("service", "host", "port", "status")
# Optional in a held record: the table line, and current.csv's source and note where not blank
# (the runbook's Change text comes from them).
BASE_OPTIONAL_KEYS = ("line", "source", "note")
OPTION_KEYS = ("scope", "temp_ports", "max_per_wave", "pairs", "objective", "time_limit", "pair_digits")
METRIC_KEYS = (
    "moves", "temp_moves", "waves", "lower_bound_moves", "lower_bound_waves", "optimal", "pairs_split",
)
STEP_KEYS = ("step", "wave", "service", "host", "from_port", "to_port", "kind")
INPUT_TABLES = ("current", "target")

Fail = Callable[[str], ReorgError]  # builds the error naming the file
E = TypeVar("E", Scope, PairMode, Objective, StepKind)


@dataclass(frozen=True)
class PlanFile:
    """A plan read from disk. ``sha256`` is of the file's bytes: the journal names its plan by it."""

    plan: Plan
    sha256: str
    inputs: dict[str, Any]
    path: Path
    # Every binding of the current table before the plan, (service, host, port, status): what
    # execution's checks rely on. None for a plan written before plans carried it.
    base: tuple[Binding, ...] | None = None
    # (frontend, backend) services of the tables' pair columns: the steps shown as done together.
    pairs: tuple[tuple[str, str], ...] = ()


# ---- writing ---------------------------------------------------------------------------------


def plan_to_dict(plan: Plan, instance: Instance) -> dict[str, Any]:
    """The ``reorg-plan/1`` object: everything that made the plan, and no timings or dates."""
    return {
        "format": PLAN_FORMAT,
        "strategy": plan.strategy,
        "options": plan.options.to_dict(),
        "inputs": {
            "current": {"path": instance.current_path, "sha256": instance.current_sha256},
            "target": {"path": instance.target_path, "sha256": instance.target_sha256},
        },
        "metrics": plan.metrics.to_dict(),
        "steps": [s.to_dict() for s in plan.steps],
        "notes": list(plan.notes),
        "held": base_rows(instance),
    } | ({"pairs": [list(pair) for pair in instance.pairs]} if instance.pairs else {})


def base_rows(instance: Instance) -> list[dict[str, Any]]:
    """Every binding before the plan, sorted by host, port, service: who holds which port.

    Execution checks depend on it (a port a moving binding shares with one that stays is not
    expected free; a stopped binding is not expected to answer), so the plan carries it rather
    than execution looking for the current table, which may have moved or changed.
    """
    rows = sorted(instance.bindings, key=lambda b: (b.host, b.port, b.service))
    return [_held_row(b) for b in rows]


def _held_row(b: Binding) -> dict[str, Any]:
    row: dict[str, Any] = {"service": b.service, "host": b.host, "port": b.port, "status": b.status, "line": b.line}
    for field in ("source", "note"):
        if getattr(b, field):
            row[field] = getattr(b, field)
    return row


def render_plan_json(plan: Plan, instance: Instance) -> str:
    """The plan file's text: sorted keys, two-space indent, one trailing newline."""
    return "".join(dump_indented(plan_to_dict(plan, instance))) + "\n"


_SCALARS: dict[type, Callable[[Any], str]] = {
    str: encode_basestring_ascii, int: int.__repr__, bool: lambda v: "true" if v else "false",
}


_FLAT = frozenset({str, int, bool, float, type(None)})
_RECORDS = json.JSONEncoder(sort_keys=True, separators=(",\n", ": "))  # C encoder: no indent


def _flat(record: dict[Any, Any]) -> bool:
    return all(type(k) is str for k in record) and all(type(v) in _FLAT for v in record.values())


def _records(records: list[dict[str, Any]], indent: str) -> str:
    """A list of flat records (str keys, scalar values), indented as ``json.dumps(indent=2)``.

    One compact C-encoder pass with ``",\n"`` between items: encoded strings hold no raw newline
    (json escapes control characters), so every ``",\n"`` is a separator, and the ones between
    records are exactly those after a ``}`` (no scalar ends with one); each gets its indent.
    """
    inner, field = indent + "  ", indent + "    "
    body = _RECORDS.encode(records)[2:-2]  # without the outer '[{' and '}]'
    parts = [part.replace(",\n", ",\n" + field) for part in body.split("},\n{")]
    between = "\n" + inner + "},\n" + inner + "{\n" + field
    return "[\n" + inner + "{\n" + field + between.join(parts) + "\n" + inner + "}\n" + indent + "]"


def dump_indented(obj: object, indent: str = "") -> list[str]:
    """``json.dumps(obj, indent=2, sort_keys=True)`` as pieces, byte for byte (a test compares).

    The json module's indented output runs its pure-Python encoder (the C one only does compact
    output): 1 s for a 10,000-binding plan under a profiler. Here scalars go through the C string
    encoder and ``int.__repr__`` (what json uses), in one pass over the plan's dicts and lists.
    """
    out: list[str] = []
    _dump(obj, indent, out)
    return out


def _dump(obj: object, indent: str, out: list[str]) -> None:
    encode = _SCALARS.get(type(obj))
    if encode is not None:
        out.append(encode(obj))
    elif type(obj) is dict and obj and all(type(k) is str for k in obj):
        inner = indent + "  "
        items = sorted(obj.items())
        if all(type(v) in _SCALARS for _, v in items):  # a flat record: one join
            out.append("{\n" + ",\n".join(
                inner + encode_basestring_ascii(k) + ": " + _SCALARS[type(v)](v) for k, v in items
            ) + "\n" + indent + "}")
            return
        sep = "{\n" + inner
        for key, value in items:
            out.append(sep + encode_basestring_ascii(key) + ": ")
            _dump(value, inner, out)
            sep = ",\n" + inner
        out.append("\n" + indent + "}")
    elif type(obj) is list and obj and all(type(r) is dict and r and _flat(r) for r in obj):
        out.append(_records(obj, indent))
    elif type(obj) is list and obj:
        inner = indent + "  "
        sep = "[\n" + inner
        for item in obj:
            out.append(sep)
            _dump(item, inner, out)
            sep = ",\n" + inner
        out.append("\n" + indent + "]")
    else:  # None, floats, empty containers, other keys, subclasses: the json module itself
        out.append(json.dumps(obj, indent=2, sort_keys=True).replace("\n", "\n" + indent))


def check_plan_name(name: str) -> str:
    """``name`` as a bare file stem, or ``ReorgError`` saying what a valid one looks like."""
    if not name or not name.strip():
        raise ReorgError("plan name is empty; pass --name NAME, e.g. --name default")
    seps = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    if any(sep in name for sep in seps) or "\0" in name:
        raise ReorgError(
            f"plan name {name!r} contains a path separator; give a bare name and use --out for the directory"
        )
    if name.startswith("."):
        raise ReorgError(f"plan name {name!r} starts with '.'; give a plain name such as 'default'")
    # The runbook and every hint print `reorg ... --plan NAME.json` to paste into a shell.
    odd = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "._-"))})
    if odd or name.startswith("-"):
        shown = ", ".join("a space" if c == " " else repr(c) for c in odd) or "a leading '-'"
        raise ReorgError(
            f"plan name {name!r} has {shown}, which a shell command would trip on; "
            "use letters, digits, '.', '_' and '-', e.g. --name reorg-v2"
        )
    for ext in (".json", ".md"):
        if name.endswith(ext):
            raise ReorgError(f"plan name {name!r} ends with {ext}; give it without the extension")
    # NAME.json must never be another plan's journal (PLAN.journal.json) or its backup; the lock
    # (PLAN.journal.lock) and backups (PLAN.journal.json.bak-N) end otherwise. Case-insensitive
    # for macOS and Windows disks.
    if name.lower().endswith(".journal") or ".journal.json.bak-" in name.lower():
        raise ReorgError(
            f"plan name {name!r} would write {name}.json, the name of a journal of the plan "
            f"{name[: -len('.journal')] if name.lower().endswith('.journal') else 'beside it'}; "
            "choose a name that does not end with '.journal', e.g. --name reorg-v2"
        )
    return name


def write_plan_files(
    plan: Plan, instance: Instance, out_dir: Path, name: str, plan_ref: str | None = None, edits: dict[int, Any] | None = None
) -> tuple[Path, Path]:
    """Write ``OUT/NAME.md`` (the runbook) and ``OUT/NAME.json`` atomically; return both paths.

    ``plan_ref`` is how the runbook names the JSON file in its commands; it defaults to
    ``NAME.json``, run from the runbook's own folder, so the same plan gives the same runbook
    whatever ``--out`` was. ``edits`` (step number -> rows of a scan) lists the lines per step.
    """
    check_plan_name(name)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise ReorgError(f"{out_dir}: exists and is not a directory; pass another --out") from exc
    except OSError as exc:
        raise ReorgError(f"{out_dir}: cannot create directory ({exc.strerror or exc})") from exc
    md_path = out_dir / f"{name}.md"
    json_path = out_dir / f"{name}.json"
    ref = plan_ref if plan_ref is not None else json_path.name
    runbook = render_runbook(plan, instance, name, ref, edits)
    plan_json = render_plan_json(plan, instance)
    _refuse_foreign(json_path)
    # Both to temp files, then renamed: the runbook first, the plan JSON last (atomic.py).
    write_texts_atomic([(md_path, runbook), (json_path, plan_json)])
    return md_path, json_path


def _refuse_foreign(json_path: Path) -> None:
    """Never replace a ``NAME.json`` that is not a plan (a user's file, a journal, a FIFO)."""
    if not os.path.lexists(json_path):
        return
    try:
        head = read_bytes(json_path, "plan")[:4096]
    except FileNotFoundError:
        return
    except ReorgError as exc:
        raise ReorgError(f"{exc}; it is not a plan, so it was left alone: pass another --name or --out") from None
    if b'"reorg-plan/' not in head:
        raise ReorgError(
            f"{json_path}: exists and is not a {PLAN_FORMAT} file; it was left alone: "
            "pass another --name or --out, or move it away"
        )


# ---- reading ---------------------------------------------------------------------------------


def read_plan(path: Path) -> PlanFile:
    """Load and validate a plan file; every problem is a one-line ``ReorgError`` naming it."""
    path = Path(path)
    if path.is_dir():
        raise ReorgError(f"{path}: is a directory, not a plan file; pass --plan DIR/NAME.json")
    try:
        data = read_bytes(path, "plan")  # regular files only, size-capped (safeio)
    except FileNotFoundError as exc:
        raise ReorgError(f"{path}: no such plan file; run 'reorg plan' first or pass --plan") from exc
    sha = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReorgError(f"{path}: not a {PLAN_FORMAT} file (not UTF-8 text)") from exc
    try:
        obj = load_json(text, path, "plan")  # bounded nesting and integers
    except json.JSONDecodeError as exc:
        raise ReorgError(
            f"{path}: not a {PLAN_FORMAT} file "
            f"(invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from exc
    plan, inputs, base = _plan_from_dict(obj, str(path))
    return PlanFile(plan=plan, sha256=sha, inputs=inputs, path=path, base=base, pairs=_parse_pairs(obj, str(path)))


def _parse_pairs(obj: object, source: str) -> tuple[tuple[str, str], ...]:
    """The optional ``pairs``: a list of [frontend, backend] service names."""
    raw = obj.get("pairs", []) if isinstance(obj, dict) else []
    ok = isinstance(raw, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) and n for n in p) for p in raw
    )
    if not ok:
        raise ReorgError(f"{source}: 'pairs' must be a list of [frontend, backend] service names")
    return tuple((p[0], p[1]) for p in raw)


def plan_from_dict(obj: object, source: str) -> tuple[Plan, dict[str, Any]]:
    """Validate a decoded ``reorg-plan/1`` object; ``source`` names it in errors. Returns (plan, inputs)."""
    plan, inputs, _ = _plan_from_dict(obj, source)
    return plan, inputs


def _plan_from_dict(obj: object, source: str) -> tuple[Plan, dict[str, Any], tuple[Binding, ...] | None]:
    """``plan_from_dict`` plus the ``held`` bindings (None when the file has none), parsed once."""

    def fail(message: str) -> ReorgError:
        return ReorgError(f"{source}: {message}")

    if not isinstance(obj, dict):
        raise fail(f"not a {PLAN_FORMAT} file (expected a JSON object, found {_json_type(obj)})")
    if "format" not in obj:
        raise fail(f"not a {PLAN_FORMAT} file (no 'format' key)")
    if obj["format"] != PLAN_FORMAT:
        raise fail(f"not a {PLAN_FORMAT} file (format is {obj['format']!r})")
    _check_keys(obj, TOP_KEYS, "", fail, optional=OPTIONAL_TOP_KEYS)
    base = _parse_base(obj["held"], fail) if "held" in obj else None
    strategy = obj["strategy"]
    if not isinstance(strategy, str) or not strategy:
        raise fail(f"'strategy' must be a non-empty string, not {_show(strategy)}")
    options = _parse_options(obj["options"], fail)
    inputs = _parse_inputs(obj["inputs"], fail)
    metrics = _parse_metrics(obj["metrics"], fail)
    steps = _parse_steps(obj["steps"], fail)
    notes = obj["notes"]
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise fail("'notes' must be a list of strings")
    plan = Plan(strategy=strategy, options=options, steps=steps, metrics=metrics, notes=tuple(notes))
    return plan, inputs, base


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _show(value: object) -> str:
    return shorten(json.dumps(value)) if not isinstance(value, (dict, list)) else _json_type(value)


def _check_keys(
    obj: object, keys: tuple[str, ...], where: str, fail: Fail, optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    label = f"{where}: " if where else ""
    if not isinstance(obj, dict):
        raise fail(f"{label}expected an object, found {_json_type(obj)}")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise fail(f"{label}missing key {missing[0]!r}")
    extra = sorted(k for k in obj if k not in keys and k not in optional)
    if extra:
        raise fail(f"{label}unknown key {extra[0]!r}")
    return obj


def _int(value: object, what: str, fail: Fail, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(f"{what} must be an integer, not {_show(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"{low}-{high}" if high is not None else f">= {low}"
        raise fail(f"{what} must be {span}, not {value}")
    return value


def _enum(enum_cls: type[E], value: object, what: str, fail: Fail) -> E:
    choices = ", ".join(e.value for e in enum_cls)
    try:
        return enum_cls(value)
    except ValueError:
        raise fail(f"{what} is {_show(value)}; expected one of {choices}") from None


def _parse_options(obj: object, fail: Fail) -> PlanOptions:
    o = _check_keys(obj, OPTION_KEYS, "options", fail)
    temp = o["temp_ports"]
    if not isinstance(temp, str) or temp.count("-") != 1:
        raise fail(f"options: temp_ports must look like '39000-39099', not {_show(temp)}")
    try:
        lo, hi = parse_port_range(temp)  # ASCII digits only: '3909²' passed isdigit(), then crashed int()
    except ReorgError:
        raise fail(
            f"options: temp_ports {_show(temp)} is not a range LO-HI with 1 <= LO <= HI <= 65535"
        ) from None
    cap = o["max_per_wave"]
    if cap is not None:
        cap = _int(cap, "options: max_per_wave", fail, low=1)
    limit = o["time_limit"]
    number = isinstance(limit, (int, float)) and not isinstance(limit, bool)
    if not number or not math.isfinite(limit) or limit <= 0:
        raise fail(f"options: time_limit must be a positive number, not {_show(limit)}")
    return PlanOptions(
        scope=_enum(Scope, o["scope"], "options: scope", fail),
        temp_ports=(lo, hi),
        max_per_wave=cap,
        pairs=_enum(PairMode, o["pairs"], "options: pairs", fail),
        objective=_enum(Objective, o["objective"], "options: objective", fail),
        time_limit=float(limit),
        pair_digits=_int(o["pair_digits"], "options: pair_digits", fail, low=0),
    )


def _parse_inputs(obj: object, fail: Fail) -> dict[str, Any]:
    o = _check_keys(obj, INPUT_TABLES, "inputs", fail)
    inputs = {}
    for table in INPUT_TABLES:
        entry = _check_keys(o[table], ("path", "sha256"), f"inputs.{table}", fail)
        for field in ("path", "sha256"):
            if not isinstance(entry[field], str):
                raise fail(f"inputs.{table}.{field} must be a string, not {_show(entry[field])}")
        inputs[table] = {"path": entry["path"], "sha256": entry["sha256"]}
    return inputs


def _parse_metrics(obj: object, fail: Fail) -> Metrics:
    o = _check_keys(obj, METRIC_KEYS, "metrics", fail)
    if not isinstance(o["optimal"], bool):
        raise fail(f"metrics: optimal must be true or false, not {_show(o['optimal'])}")
    counts = {k: _int(o[k], f"metrics: {k}", fail, low=0) for k in METRIC_KEYS if k != "optimal"}
    return Metrics(optimal=o["optimal"], **counts)


def _parse_steps(obj: object, fail: Fail) -> tuple[Step, ...]:
    if not isinstance(obj, list):
        raise fail(f"'steps' must be a list, not {_json_type(obj)}")
    steps = []
    previous_wave = 0
    for i, raw in enumerate(obj):
        where = f"steps[{i}]"
        s = _check_keys(raw, STEP_KEYS, where, fail)
        number = _int(s["step"], f"{where}: step", fail)
        if number != i + 1:
            raise fail(f"steps are not numbered 1..N ({where} has step {number}, expected {i + 1})")
        wave = _int(s["wave"], f"step {number}: wave", fail, low=1)
        if wave < previous_wave:
            raise fail(f"step {number}: wave goes down from {previous_wave} to {wave}")
        if wave > previous_wave + 1:
            raise fail(
                f"step {number}: wave {wave} follows wave {previous_wave}; waves run 1..W with none empty"
            )
        previous_wave = wave
        for field in ("service", "host"):
            if not isinstance(s[field], str) or not s[field]:
                raise fail(f"step {number}: {field} must be a non-empty string, not {_show(s[field])}")
            try:  # a hand-edited plan must not carry a name the tables would refuse
                check_name(s[field], field, f"step {number}")
            except ReorgError as exc:
                raise fail(str(exc)) from None
        kind = _enum(StepKind, s["kind"], f"step {number}: kind", fail)
        from_port = _int(s["from_port"], f"step {number}: from_port", fail, low=1, high=65535)
        to_port = s["to_port"]
        if kind is StepKind.RETIRE:
            if to_port is not None:
                raise fail(f"step {number}: a retire step has to_port null, not {_show(to_port)}")
        else:
            if to_port is None:
                raise fail(f"step {number}: a {kind.value} step needs a to_port (only retire has null)")
            to_port = _int(to_port, f"step {number}: to_port", fail, low=1, high=65535)
        steps.append(Step(number, wave, s["service"], s["host"], from_port, to_port, kind))
    return tuple(steps)


def _parse_base(obj: object, fail: Fail) -> tuple[Binding, ...]:
    """The ``held`` list (the state before the plan): one binding per (service, host), each port 1-65535, status a string."""
    if not isinstance(obj, list):
        raise fail(f"'held' must be a list, not {_json_type(obj)}")
    seen: set[tuple[str, str]] = set()
    rows = []
    for i, raw in enumerate(obj):
        where = f"held[{i}]"
        row = _check_keys(raw, BASE_KEYS, where, fail, optional=BASE_OPTIONAL_KEYS)
        for field in ("service", "host"):
            if not isinstance(row[field], str) or not row[field]:
                raise fail(f"{where}: {field} must be a non-empty string, not {_show(row[field])}")
            try:
                check_name(row[field], field, where)
            except ReorgError as exc:
                raise fail(str(exc)) from None
        if not isinstance(row["status"], str):
            raise fail(f"{where}: status must be a string, not {_show(row['status'])}")
        port = _int(row["port"], f"{where}: port", fail, low=1, high=65535)
        key = (row["service"], row["host"])
        if key in seen:
            raise fail(f"{where}: {key[0]}@{key[1]} appears twice")
        seen.add(key)
        for field in ("source", "note"):
            if not isinstance(row.get(field, ""), str):
                raise fail(f"{where}: {field} must be a string, not {_show(row[field])}")
        line = _int(row.get("line", 0), f"{where}: line", fail, low=0)
        rows.append(Binding(
            row["service"], row["host"], port, status=row["status"], line=line,
            source=row.get("source", ""), note=row.get("note", ""),
        ))
    return tuple(rows)
