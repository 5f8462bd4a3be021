"""hosts.csv's optional os and reserved columns, and the table of system ports per OS."""

from __future__ import annotations

from pathlib import Path

import pytest

from reorg.hostfacts import (
    OS,
    SYSTEM_PORTS,
    HostFacts,
    avoid_reason,
    avoided,
    avoided_ports,
    parse_reserved,
    read_host_facts,
)
from reorg.model import ReorgError
from reorg.probe import read_hosts


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hosts.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_os_and_reserved_columns_are_read(tmp_path: Path):
    path = write(
        tmp_path,
        "Host , Address,OS,reserved,here\n"
        "mac-mini,192.0.2.7,macos,,\n"
        'dev,127.0.0.1,Linux,"22, 5000-5009;5005 8080",yes\n'
        "windows-gpu,,windows,,\n",
    )
    facts = read_host_facts(path)
    assert list(facts) == ["dev", "mac-mini", "windows-gpu"]
    assert facts["dev"] == HostFacts("dev", "127.0.0.1", OS.LINUX, ((22, 22), (5000, 5009), (8080, 8080)), 3)
    assert facts["mac-mini"].os is OS.MACOS and facts["mac-mini"].reserved == ()
    # the probe side still sees only addresses, and a row without one is left out
    assert read_hosts(path) == {"dev": "127.0.0.1", "mac-mini": "192.0.2.7"}


def test_two_column_hosts_csv_still_reads(tmp_path: Path):
    facts = read_host_facts(write(tmp_path, "host,address\ndev,127.0.0.1\n"))
    assert facts["dev"].os is None and facts["dev"].reserved == () and avoided(facts["dev"]) == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ("host,address,os\ndev,127.0.0.1,solaris\n", r"hosts.csv:2: os 'solaris' is not one of macos, linux, windows"),
        ("host,address,reserved\ndev,127.0.0.1,50x\n", r"hosts.csv:2: reserved '50x' is not a port or range"),
        ("host,address,reserved\ndev,127.0.0.1,5009-5000\n", r"hosts.csv:2: reserved '5009-5000' must lie in 1-65535"),
        ("host,address,reserved\ndev,127.0.0.1,70000\n", r"hosts.csv:2: reserved '70000' must lie"),
        ("host,address,os\ndev,127.0.0.1\n", r"hosts.csv:2: expected 3 fields \(host,address,os\), got 2"),
        ("address,host\ndev,127.0.0.1\n", r"hosts.csv:1: header must be 'host,address'"),
        ("host,address,os,os\ndev,127.0.0.1,linux,linux\n", r"hosts.csv:1: header"),
    ],
)
def test_bad_host_facts_name_file_and_line(tmp_path: Path, text: str, message: str):
    with pytest.raises(ReorgError, match=message):
        read_host_facts(write(tmp_path, text))


def test_reserved_spans_merge():
    assert parse_reserved("5003;5000-5002 5010-5012,5011", "x") == ((5000, 5003), (5010, 5012))
    assert parse_reserved("", "x") == ()


def test_system_ports_of_each_os():
    spans = {o: {(s.start, s.end, s.kind) for s in SYSTEM_PORTS[o]} for o in OS}
    assert {(5000, 5000, "listener"), (7000, 7000, "listener"), (49152, 65535, "ephemeral")} <= spans[OS.MACOS]
    assert (49152, 65535, "ephemeral") in spans[OS.WINDOWS]
    assert (32768, 60999, "ephemeral") in spans[OS.LINUX]
    assert all(s.source for o in OS for s in SYSTEM_PORTS[o])  # every entry says where it comes from


def test_avoid_reason_lets_a_current_holder_keep_a_system_port_but_never_a_reserved_one():
    facts = {
        "mac": HostFacts("mac", os=OS.MACOS, reserved=((3001, 3001),)),
        "lin": HostFacts("lin", os=OS.LINUX),
    }
    assert "AirPlay" in avoid_reason(facts, "mac", 5000)
    assert avoid_reason(facts, "mac", 5000, current=5000) is None  # it listens there: AirPlay is off
    assert "reserved" in avoid_reason(facts, "mac", 3001, current=3001)
    assert avoid_reason(facts, "mac", 5001) is None
    assert "ephemeral" in avoid_reason(facts, "lin", 39000)
    assert avoid_reason(facts, "unknown-host", 5000) is None
    assert set(avoided_ports(facts, ["mac", "lin"], 39000, 39001)) == {39000, 39001}
    assert avoided_ports(facts, ["mac"], 39000, 39001) == {}


# ---- check warns, planners leave the temp pool's system ports out -----------------------------

SWAP = ("service,host,port\na,lin,3001\nb,lin,3002\n", "service,port\na,3002\nb,3001\n")


def test_check_warns_about_arrivals_reservations_and_the_temp_pool(write_csv):
    from reorg.commands import check

    cur = write_csv("current.csv", "service,host,port\nweb,mac,5173\napi,mac,5000\nold,lin,22\n")
    tgt = write_csv("target.csv", "service,port,host\nweb,5000,\napi,3000,\nold,22,\nfuture,7000,mac\n")
    hosts = write_csv("hosts.csv", "host,address,os\nmac,,macos\nlin,,linux\n")
    report = check(cur, tgt, None, hosts=hosts, temp_ports=(39000, 39099))
    seen = {(w.host, w.ports, w.subject) for w in report.warnings}
    assert seen == {
        ("mac", "5000", "web ends here"),  # web arrives on AirPlay's port
        ("mac", "7000", "reserved for future"),
        ("lin", "39000-39099", "temp pool 39000-39099"),  # Linux's ephemeral range
    }  # old keeps 22 on lin: it already listens there, so sshd is not in the way
    assert report.problems == 0 and report.exit_code == 0  # warnings are not problems
    assert check(cur, tgt, None, hosts=write_csv("h2.csv", "host,address\nmac,\n")).warnings == ()


def test_plan_never_takes_a_temp_port_from_a_hosts_ephemeral_range(write_csv, tmp_path):
    from reorg.commands import plan
    from reorg.model import PlanOptions, Strategy

    cur, tgt = write_csv("current.csv", SWAP[0]), write_csv("target.csv", SWAP[1])
    for strategy in (Strategy.GREEDY, Strategy.CPSAT):
        options = PlanOptions(temp_ports=(32760, 32770))
        lin = write_csv("hosts.csv", "host,address,os\nlin,,linux\n")
        result = plan(cur, tgt, tmp_path / "plans", strategy, options, "p", None, hosts=lin)
        temps = {s.to_port for s in result.plan.steps if s.kind.value == "to-temp"}
        assert temps and all(32760 <= p <= 32767 for p in temps), temps
        none = write_csv("none.csv", "host,address\n")
        unaware = plan(cur, tgt, tmp_path / "plans", strategy, options, "q", None, hosts=none)
        assert {s.to_port for s in unaware.plan.steps if s.kind.value == "to-temp"} == {32760}
    with pytest.raises(ReorgError, match="outside the hosts' ephemeral ranges"):
        plan(cur, tgt, tmp_path / "plans", Strategy.CPSAT, PlanOptions(temp_ports=(39000, 39001)), "r", None, hosts=lin)
