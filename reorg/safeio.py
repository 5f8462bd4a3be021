"""Reading untrusted input safely: regular files only, a size cap, bounded integers and JSON.

Every file reorg reads (the CSV tables, hosts.csv, plan files, journals, locks) comes through
``read_bytes``, so a FIFO cannot hang a command, ``/dev/zero`` cannot fill memory and a directory
or socket gets one line instead of a traceback. Every integer read from text goes through
``parse_int`` and every JSON document through ``load_json``, so a 5,000-digit number or a
document nested 100,000 deep is refused with one line instead of Python's int-string limit or a
RecursionError. Limits (also in docs/semantics.md, "Input limits"):

- a file must be a regular file (symlinks are followed, then judged by what they point at);
- at most ``REORG_MAX_INPUT_BYTES`` bytes (default 64 MiB; the environment variable overrides it);
- an integer is ASCII digits with an optional sign, at most ``MAX_INT_DIGITS`` digits;
- a JSON document nests at most ``MAX_JSON_DEPTH`` arrays/objects, and has no NaN or Infinity.

No third-party imports; raises ``ReorgError`` naming the file, never prints.
"""

from __future__ import annotations

import json
import os
import re
import stat
from itertools import accumulate
from pathlib import Path

from reorg.model import ReorgError

DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024
MAX_INPUT_ENV = "REORG_MAX_INPUT_BYTES"
MAX_INT_DIGITS = 10
MAX_JSON_DEPTH = 64
SHOWN_CHARS = 40  # how much of a bad value an error message repeats

_INT = re.compile(rf"[+-]?[0-9]{{1,{MAX_INT_DIGITS}}}", re.ASCII)


def max_input_bytes() -> int:
    """The size cap: ``REORG_MAX_INPUT_BYTES`` when set, else 64 MiB."""
    raw = os.environ.get(MAX_INPUT_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_INPUT_BYTES
    value = parse_int(raw)
    if value is None or value < 1:
        raise ReorgError(
            f"{MAX_INPUT_ENV}={shorten(raw)!r} is not a positive number of bytes; "
            f"unset it or give e.g. {MAX_INPUT_ENV}={DEFAULT_MAX_INPUT_BYTES}"
        )
    return value


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse(path: Path, what: str, mode: int) -> ReorgError:
    kind = _kind(mode)
    hint = "pass the file inside it" if stat.S_ISDIR(mode) else f"give the path of a regular {what} file"
    return ReorgError(f"{path}: is {kind}, not a regular {what} file; {hint}")


def read_bytes(path: Path, what: str = "input", limit: int | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes (see ``read_file``)."""
    return read_file(path, what, limit)[0]


def read_file(path: Path, what: str = "input", limit: int | None = None) -> tuple[bytes, os.stat_result]:
    """The bytes of ``path`` and its ``fstat``, if it is a regular file of at most ``limit`` bytes.

    ``FileNotFoundError`` propagates unchanged (each caller has its own advice, or treats a
    missing file as "none yet"); everything else is a one-line ``ReorgError`` naming ``path``.
    The file is judged by ``stat`` before it is opened (so a device is never opened), opened
    with O_NONBLOCK (so a FIFO swapped in meanwhile cannot block) and judged again by ``fstat``.
    """
    path = Path(path)
    cap = max_input_bytes() if limit is None else limit
    try:
        before = os.stat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _os_error(path, what, exc) from None
    if not stat.S_ISREG(before.st_mode):
        raise _refuse(path, what, before.st_mode)
    _check_size(path, what, before.st_size, cap)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _os_error(path, what, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(path, what, info.st_mode)
        _check_size(path, what, info.st_size, cap)
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:  # the file grew while we read it
                _check_size(path, what, total, cap)
        return b"".join(chunks), info
    except OSError as exc:
        raise _os_error(path, what, exc) from None
    finally:
        os.close(fd)


def _check_size(path: Path, what: str, size: int, cap: int) -> None:
    if size > cap:
        raise ReorgError(
            f"{path}: {size} bytes is larger than the {cap}-byte limit for a {what} file; "
            f"check the path, or raise the limit with {MAX_INPUT_ENV}=BYTES"
        )


def _os_error(path: Path, what: str, exc: OSError) -> ReorgError:
    if isinstance(exc, IsADirectoryError):
        return ReorgError(f"{path}: is a directory, not a regular {what} file; pass the file inside it")
    reason = exc.strerror or type(exc).__name__
    return ReorgError(f"{path}: cannot read ({reason}); check its permissions")


def read_text(path: Path, what: str = "input", encoding: str = "utf-8") -> str:
    """``read_bytes`` decoded; bad bytes are a one-line ``ReorgError`` with their offset."""
    return decode_text(read_bytes(path, what), path, what, encoding)


def decode_text(raw: bytes, path: Path | str, what: str = "input", encoding: str = "utf-8") -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ReorgError(
            f"{path}: the {what} file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None


def parse_int(text: str) -> int | None:
    """``text`` as an int if it is ASCII digits with an optional sign, at most ``MAX_INT_DIGITS``
    digits; None otherwise. ``str.isdigit`` and ``int`` accept '²', Arabic-Indic digits and
    5,000-digit numbers; this accepts none of them."""
    if not isinstance(text, str) or not _INT.fullmatch(text):
        return None
    return int(text)


def shorten(text: object, limit: int = SHOWN_CHARS) -> str:
    """A bad value as an error message may repeat it: at most ``limit`` characters, one line."""
    shown = str(text)
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in shown[: limit + 1])
    return shown if len(shown) <= limit else shown[:limit] + "..."


class _Refused(ValueError):
    """A JSON value past a limit; ``load_json`` turns it into a ReorgError."""


def _json_constant(name: str) -> float:
    raise _Refused(f"{name}, which is not JSON")


_BRACKET_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_ALL_BUT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_NUMBER_BYTES = bytes(c if c in b"0123456789.eE+-" else 32 for c in range(256))
_INT_TOKEN = re.compile(rb"-?[0-9]+")


def _outside_strings(text: str) -> bytes:
    """``text`` without its JSON strings: escaped backslashes and quotes go first, so the quotes
    left pair up and every other piece between them is outside a string. Bytes operations in C
    only: about 1 s for a 30 MB plan of 100,000 steps (a character loop took several)."""
    raw = text.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    return b"".join(raw.split(b'"')[::2])


def _scan(outside: bytes) -> tuple[int, int]:
    """(deepest nesting, digits of the longest integer token) of JSON text outside strings."""
    brackets = outside.translate(None, _ALL_BUT_BRACKETS)
    depth = max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0)
    longest = 0
    for token in outside.translate(_NUMBER_BYTES).split():
        if len(token) > MAX_INT_DIGITS and _INT_TOKEN.fullmatch(token):  # not a float's digits
            longest = max(longest, len(token.lstrip(b"-")))
    return depth, longest


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, brackets inside strings not counted."""
    return _scan(_outside_strings(text))[0]


def load_json(text: str, source: Path | str, what: str = "JSON") -> object:
    """``json.loads`` within the limits: nesting, integer size, no NaN/Infinity.

    Past a limit: ``ReorgError`` naming ``source``. A syntax error stays a
    ``json.JSONDecodeError`` so that each caller can say what kind of file it expected.
    """
    depth, digits = _scan(_outside_strings(text))
    if depth > MAX_JSON_DEPTH:
        raise ReorgError(
            f"{source}: the {what} nests arrays or objects deeper than {MAX_JSON_DEPTH} levels; "
            "it was not written by reorg: restore it or write it again"
        )
    if digits:
        raise ReorgError(
            f"{source}: the {what} holds an integer of {digits} digits (at most {MAX_INT_DIGITS}); "
            "it was not written by reorg: restore it or write it again"
        )
    try:
        return json.loads(text, parse_constant=_json_constant)
    except _Refused as exc:
        raise ReorgError(
            f"{source}: the {what} holds {exc}; it was not written by reorg: restore it or write it again"
        ) from None
    except RecursionError:  # belt and braces: the pre-scan should have caught it
        raise ReorgError(f"{source}: the {what} nests too deeply; restore it or write it again") from None
