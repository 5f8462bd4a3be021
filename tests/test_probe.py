"""Probes against real sockets on 127.0.0.1, host resolution, and hosts.csv parsing.

Only 127.0.0.1 is ever dialled: every other address is checked to be refused before a connect.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from reorg import probe
from reorg.model import ReorgError
from reorg.probe import (
    CheckSpec,
    Endpoint,
    Expect,
    Outcome,
    PortState,
    probe_port,
    read_hosts,
    resolve_host,
    run_checks,
)

LOCAL = Endpoint("dev", "127.0.0.1", explicit=False)


@pytest.fixture
def listening():
    """A port on 127.0.0.1 that accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def closed() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, read, closed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to connect."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"unexpected connect to {args[0]!r}")

    monkeypatch.setattr(probe.socket, "create_connection", refuse)


def test_listening_port_is_in_use(listening):
    state, detail = probe_port(LOCAL, listening)
    assert state is PortState.IN_USE
    assert f"127.0.0.1:{listening} accepted" in detail


def test_closed_port_is_free(closed):
    state, detail = probe_port(LOCAL, closed)
    assert state is PortState.FREE
    assert "refused" in detail


def test_checks_give_verdicts_from_real_sockets(listening, closed):
    specs = (
        CheckSpec("pre", "svc", "dev", closed, Expect.FREE),
        CheckSpec("post", "svc", "dev", listening, Expect.IN_USE),
        CheckSpec("post", "svc", "dev", listening, Expect.FREE),
        CheckSpec("post", "svc", "dev", closed, Expect.IN_USE),
    )
    outcomes = [check.outcome for check in run_checks(specs, {}, probe=True, here="dev")]
    assert outcomes == [Outcome.OK, Outcome.OK, Outcome.FAILED, Outcome.FAILED]


def test_hosts_csv_address_is_used_for_a_remote_name(listening):
    # mac-mini would be skipped without an address; hosts.csv sends it to 127.0.0.1 here.
    spec = CheckSpec("post", "svc", "mac-mini", listening, Expect.IN_USE)
    (check,) = run_checks((spec,), {"mac-mini": "127.0.0.1"}, probe=True)
    assert check.outcome is Outcome.OK
    assert check.address == "127.0.0.1"


def test_host_without_address_is_skipped_with_a_notice(no_network):
    spec = CheckSpec("pre", "svc", "mac-mini", 4000, Expect.FREE)
    (check,) = run_checks((spec,), {}, probe=True)
    assert check.outcome is Outcome.SKIPPED
    assert check.address is None
    assert "no address in hosts.csv" in check.detail


def test_no_probe_skips_everything(no_network):
    specs = (CheckSpec("pre", "svc", "dev", 4000, Expect.FREE), CheckSpec("post", "svc", "dev", 4001, Expect.IN_USE))
    checks = run_checks(specs, {}, probe=False)
    assert [c.outcome for c in checks] == [Outcome.SKIPPED, Outcome.SKIPPED]
    assert all("--no-probe" in c.detail for c in checks)


def test_spec_skip_reason_wins(no_network):
    spec = CheckSpec("post", "svc", "dev", 4000, Expect.FREE, skip="held by other")
    (check,) = run_checks((spec,), {}, probe=True)
    assert (check.outcome, check.detail) == (Outcome.SKIPPED, "held by other")


def test_resolve_host():
    # Issue 12: `dev` is not this machine because of its name; only the host reorg runs on is.
    assert resolve_host("dev", {}) is None
    assert resolve_host("dev", {}, here="dev") == Endpoint("dev", "127.0.0.1", explicit=False)
    assert resolve_host("mac-mini", {}, here="dev") is None
    assert resolve_host("localhost", {}) == Endpoint("localhost", "127.0.0.1", explicit=False)
    assert resolve_host("mac-mini", {}) is None
    assert resolve_host("mac-mini", {"mac-mini": "192.0.2.7"}) == Endpoint("mac-mini", "192.0.2.7", explicit=True)
    assert resolve_host("dev", {"dev": "127.0.0.1"}).explicit


@pytest.mark.parametrize("address", ["10.0.0.1", "192.0.2.7", "example.org", "::ffff:10.0.0.1"])
def test_non_loopback_address_not_from_hosts_csv_is_refused(no_network, address):
    with pytest.raises(ReorgError, match="hosts.csv"):
        probe_port(Endpoint("x", address, explicit=False), 4000)


def test_loopback_forms_are_allowed():
    assert probe.is_loopback("127.0.0.1") and probe.is_loopback("::1") and probe.is_loopback("localhost")
    assert not probe.is_loopback("10.1.2.3") and not probe.is_loopback("mac-mini.local")


def test_out_of_range_port_is_refused(no_network):
    with pytest.raises(ReorgError, match="out of range"):
        probe_port(LOCAL, 70000)


def test_check_round_trips_through_dict():
    check = probe.Check("post", "svc", "dev", 4000, Expect.IN_USE, Outcome.FAILED, "127.0.0.1", "refused")
    assert probe.Check.from_dict(check.to_dict()) == check


def test_read_hosts(tmp_path: Path):
    path = tmp_path / "hosts.csv"
    path.write_text("host,address\nmac-mini,192.0.2.7\n\nwindows-gpu,\ndev , 127.0.0.1 \n")
    assert read_hosts(path) == {"dev": "127.0.0.1", "mac-mini": "192.0.2.7"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,ip\ndev,127.0.0.1\n", "hosts.csv:1: header"),
        ("", "hosts.csv:1: header"),
        ("host,address\ndev,127.0.0.1\ndev,127.0.0.2\n", "hosts.csv:3: host 'dev' appears twice"),
        ("host,address\ndev,127.0.0.1,x\n", "hosts.csv:2: expected 2 fields"),
        ("host,address\n,127.0.0.1\n", "hosts.csv:2: empty host"),
        ("host,address\ndev,127.0.0 .1\n", "hosts.csv:2: address"),
    ],
)
def test_read_hosts_errors_name_file_and_line(tmp_path: Path, text, message):
    path = tmp_path / "hosts.csv"
    path.write_text(text)
    with pytest.raises(ReorgError, match=message):
        read_hosts(path)


def test_missing_hosts_file(tmp_path: Path):
    with pytest.raises(ReorgError, match="cannot read hosts file"):
        read_hosts(tmp_path / "nope.csv")


# ---- review fixes --------------------------------------------------------------------------------


def test_hosts_csv_takes_ipv6_in_brackets_and_a_spreadsheet_bom(tmp_path: Path):
    path = tmp_path / "hosts.csv"
    path.write_text("\ufeffhost,address\nv6,[::1]\nbare,::1\nname,mac-mini.local\n", encoding="utf-8")
    assert read_hosts(path) == {"bare": "::1", "name": "mac-mini.local", "v6": "::1"}


@pytest.mark.parametrize("address", ["127.0.0.1:4000", "mac-mini:22", "[mac-mini]"])
def test_hosts_csv_address_with_a_port_is_refused(tmp_path: Path, address):
    path = tmp_path / "hosts.csv"
    path.write_text(f"host,address\ndev,{address}\n")
    with pytest.raises(ReorgError, match=r"hosts.csv:2: address .* without a port"):
        read_hosts(path)


def test_hosts_csv_that_is_not_utf8(tmp_path: Path):
    path = tmp_path / "hosts.csv"
    path.write_bytes(b"host,address\ncaf\xe9,127.0.0.1\n")
    with pytest.raises(ReorgError, match="hosts.csv: hosts file is not UTF-8"):
        read_hosts(path)


def test_ipv6_address_is_dialled_bare_and_shown_in_brackets(monkeypatch):
    """No real IPv6 connect (tests dial 127.0.0.1 only): the socket call is recorded instead."""
    dialled = []

    def refuse(address, timeout):
        dialled.append((address, timeout))
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(probe.socket, "create_connection", refuse)
    state, detail = probe_port(Endpoint("dev", "::1", explicit=True), 4000)
    assert dialled == [(("::1", 4000), probe.PROBE_TIMEOUT)]
    assert (state, detail) == (PortState.FREE, "[::1]:4000 refused the connection")


# ---- issue 8: hosts.csv past the limits -----------------------------------------------------------


@pytest.mark.parametrize(
    "text,message",
    [
        ("host,address\ndev," + "a" * 200_000 + "\n", r"hosts.csv:2: not a valid CSV line \(field larger than field limit"),
        ('host,address\ndev,"' + "a" * 200_000 + '"\n', r"hosts.csv:2: not a valid CSV line \(field larger than field limit"),
        ("host,address\ndev,127.0.0.1\x00evil\n", r"hosts.csv:2: contains a NUL byte"),
        ("host,address\nd\x00ev,127.0.0.1\n", r"hosts.csv:2: contains a NUL byte"),
        ("host,address\nh1;touch x,127.0.0.1\n", r"hosts.csv:2: host 'h1;touch x' contains ';'"),
        ("host,address\n$(id),127.0.0.1\n", r"hosts.csv:2: host '\$\(id\)' starts with '\$'"),
        ("host,address\ndev,127.0.0.1" + "9" * 300 + "\n", r"hosts.csv:2: address '127\.0\.0\.1999.*\.\.\.' is longer than 253"),
        ("host,address,reserved\ndev,127.0.0.1,300²\n", r"hosts.csv:2: reserved '300²' is not a port or range"),
        ("host,address,reserved\ndev,127.0.0.1,1-" + "9" * 5000 + "\n", r"hosts.csv:2: reserved '1-9999.*\.\.\.' is not a port or range"),
    ],
    ids=["long field", "long quoted field", "NUL in address", "NUL in host", "host with ;", "host $()",
         "long address", "superscript reserved", "5000-digit reserved"],
)
def test_hosts_csv_past_the_limits_is_one_line(tmp_path: Path, text, message):
    path = tmp_path / "hosts.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReorgError, match=message) as info:
        read_hosts(path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_hosts_csv_that_is_a_fifo_or_a_device_is_refused(tmp_path: Path):
    import os

    fifo = tmp_path / "hosts.csv"
    os.mkfifo(fifo)
    with pytest.raises(ReorgError, match="hosts.csv: is a FIFO"):
        read_hosts(fifo)
    with pytest.raises(ReorgError, match="/dev/zero: is a device"):
        read_hosts(Path("/dev/zero"))


def test_unsure_binding_that_does_not_answer_is_not_a_failure(closed, listening):
    # Issue 12: an unsure binding may not run; no answer is reported, not failed.
    specs = (
        CheckSpec("post", "svc", "dev", closed, Expect.IN_USE, optional="its status is unsure"),
        CheckSpec("post", "svc", "dev", listening, Expect.IN_USE, optional="its status is unsure"),
    )
    checks = run_checks(specs, {}, probe=True, here="dev")
    assert [c.outcome for c in checks] == [Outcome.SKIPPED, Outcome.OK]
    assert "unsure" in checks[0].detail


def test_unverified_counts_only_checks_that_could_not_run(no_network):
    from reorg.probe import unverified

    specs = (
        CheckSpec("post", "svc", "mac-mini", 4000, Expect.FREE),  # no address: could not run
        CheckSpec("post", "svc", "mac-mini", 4001, Expect.FREE, skip="held by other"),  # by design
    )
    checks = run_checks(specs, {}, probe=True, here="dev")
    assert unverified(specs, checks) == 1
    assert unverified(specs[1:], checks[1:]) == 0
