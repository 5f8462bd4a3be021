"""reorg.safeio: regular files only, a size cap, bounded integers and bounded JSON."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from reorg.model import ReorgError
from reorg.safeio import (
    DEFAULT_MAX_INPUT_BYTES,
    MAX_INPUT_ENV,
    MAX_JSON_DEPTH,
    json_depth,
    load_json,
    max_input_bytes,
    parse_int,
    read_bytes,
    read_text,
    shorten,
)


def _within(seconds: float, call):
    """Run ``call`` in a thread; fail (instead of hanging the suite) if it takes longer."""
    result: dict = {}

    def run():
        try:
            result["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still reading after {seconds} s (a FIFO must not block)"
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_regular_file_is_read(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"service,host,port\n")
    assert read_bytes(path) == b"service,host,port\n"
    assert read_text(path) == "service,host,port\n"


def test_missing_file_propagates_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "nope.csv")


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "current.csv"
    os.mkfifo(fifo)
    with pytest.raises(ReorgError, match=r"current.csv: is a FIFO \(named pipe\), not a regular table file"):
        _within(5, lambda: read_bytes(fifo, "table"))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} missing")
    with pytest.raises(ReorgError, match=f"{device}: is a device, not a regular plan file"):
        _within(5, lambda: read_bytes(device, "plan"))


def test_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / "reorg.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(ReorgError, match="reorg.json: is a device"):
        _within(5, lambda: read_bytes(link, "plan"))


def test_directory_is_refused(tmp_path):
    with pytest.raises(ReorgError, match="is a directory, not a regular journal file"):
        read_bytes(tmp_path, "journal")


def test_socket_is_refused(tmp_path):
    path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(ReorgError, match="is a socket"):
            read_bytes(path)
    finally:
        server.close()


def test_size_cap_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 101)
    monkeypatch.setenv(MAX_INPUT_ENV, "100")
    with pytest.raises(ReorgError, match=r"big.csv: 101 bytes is larger than the 100-byte limit .*REORG_MAX_INPUT_BYTES"):
        read_bytes(path)
    monkeypatch.setenv(MAX_INPUT_ENV, "101")
    assert len(read_bytes(path)) == 101


def test_size_cap_default_and_bad_values(monkeypatch):
    monkeypatch.delenv(MAX_INPUT_ENV, raising=False)
    assert max_input_bytes() == DEFAULT_MAX_INPUT_BYTES == 64 * 1024 * 1024
    for bad in ("0", "-5", "lots", "1" * 5000, "６４"):
        monkeypatch.setenv(MAX_INPUT_ENV, bad)
        with pytest.raises(ReorgError, match="REORG_MAX_INPUT_BYTES=.* is not a positive number"):
            max_input_bytes()


def test_not_utf8_names_the_byte(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"ok\xff")
    with pytest.raises(ReorgError, match=r"t.csv: the table file is not UTF-8 text \(byte 0xff at offset 2\)"):
        read_text(path, "table")


@pytest.mark.parametrize("text,value", [("0", 0), ("3001", 3001), ("+7", 7), ("-7", -7), ("0065535", 65535)])
def test_parse_int_accepts_plain_ascii_integers(text, value):
    assert parse_int(text) == value


@pytest.mark.parametrize(
    "text",
    ["", " 1", "1 ", "²", "3909²", "١٢٣", "１２", "1_000", "0x10", "1.0", "1e3", "+", "--1", "1" * 11, "9" * 5000],
)
def test_parse_int_refuses_everything_else(text):
    assert parse_int(text) is None


def test_shorten_keeps_messages_short_and_one_line():
    assert shorten("9" * 5000) == "9" * 40 + "..."
    assert shorten("a\nb\x1b[31m") == "a\\x0ab\\x1b[31m"


def test_json_within_limits_loads():
    text = json.dumps({"a": [1, {"b": "[[[[{{{{"}], "n": -12345, "f": 1.5})
    assert load_json(text, "x.json") == {"a": [1, {"b": "[[[[{{{{"}], "n": -12345, "f": 1.5}
    assert json_depth(text) == 3


def test_json_depth_ignores_brackets_in_strings_with_escaped_quotes():
    text = json.dumps({"s": 'a\\"[[[[' + "[" * 500})
    assert json_depth(text) == 1
    assert load_json(text, "x.json") == json.loads(text)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deep_json_is_refused(depth):
    text = "[" * depth + "]" * depth
    with pytest.raises(ReorgError, match=f"x.json: the plan nests arrays or objects deeper than {MAX_JSON_DEPTH}"):
        load_json(text, "x.json", "plan")


def test_json_at_the_depth_limit_loads():
    text = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert load_json(text, "x.json") is not None


@pytest.mark.parametrize("number", ["9" * 5000, "-" + "9" * 11, "12345678901"])
def test_huge_json_integers_are_refused(number):
    with pytest.raises(ReorgError, match=r"j.json: the journal holds an integer of \d+ digits \(at most 10\)"):
        load_json(f'{{"seq": {number}}}', "j.json", "journal")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_refused(constant):
    with pytest.raises(ReorgError, match=f"holds {constant}"):
        load_json(f'{{"time_limit": {constant}}}', "p.json")


def test_json_syntax_errors_stay_decode_errors():
    with pytest.raises(json.JSONDecodeError):
        load_json("{", "p.json")


def test_json_long_digit_runs_in_strings_and_floats_are_fine():
    text = json.dumps({"sha256": "0123456789" * 6, "t": 0.12345678901234, "e": 1.5e-300, "n": 1234567890})
    assert load_json(text, "x.json") == json.loads(text)
    with pytest.raises(ReorgError, match="an integer of 11 digits"):
        load_json('{"a": "\\\\", "n": 12345678901}', "x.json")  # an escaped backslash ends no string early
    assert load_json('{"a": "\\"[[[[[", "b": [1]}', "x.json") == {"a": '"[[[[[', "b": [1]}
