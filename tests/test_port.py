"""reorg port: a port for a new service that check accepts, and --add in the file's own style."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reorg.commands import check
from reorg.commands.target import port
from reorg.model import ReorgError
from reorg.tables import read_ranges


@pytest.fixture
def bundled(tmp_path: Path, data_dir: Path) -> Path:
    for name in ("current.csv", "target.csv", "ranges.csv", "hosts.csv"):
        shutil.copy(data_dir / name, tmp_path / name)
    return tmp_path


def problems_of(d: Path):
    r = check(d / "current.csv", d / "target.csv", d / "ranges.csv", hosts=d / "hosts.csv")
    return (r.conflicts, r.reservations_taken, r.out_of_range, r.pair_mismatches, len(r.warnings))


@pytest.mark.parametrize("category", [r.category for r in read_ranges(Path(__file__).parent.parent / "data" / "ranges.csv")])
def test_every_range_with_a_free_slot_gives_a_port_check_accepts(bundled: Path, category: str):
    before = problems_of(bundled)
    choice = port("new-svc", category, None, "dev", bundled / "current.csv", bundled / "target.csv",
                  bundled / "ranges.csv", bundled / "hosts.csv", add=True)
    after = problems_of(bundled)
    assert after == before  # the new row adds no conflict, range problem, mismatch or host warning
    assert choice.added == (str(bundled / "target.csv"), str(bundled / "current.csv"))


def test_port_matches_the_backends_digit_and_avoids_airplay(write_csv):
    cur = write_csv("current.csv", "service,host,port\nsync,mac,3010\n")
    tgt = write_csv("target.csv", "service,port\n")
    rng = write_csv("ranges.csv", "start,end,category\n5000,5049,web-frontend\n")
    mac = write_csv("hosts.csv", "host,address,os\nmac,,macos\n")
    plain = write_csv("plain.csv", "host,address\n")
    assert port("web", "web-frontend", "sync", None, cur, tgt, rng, plain).port == 5000
    choice = port("web", "web-frontend", "sync", None, cur, tgt, rng, mac)
    assert choice.port == 5010 and choice.pair_ports == (3010,)  # 5000 is AirPlay's on macOS
    assert port("web", "web-frontend", None, None, cur, tgt, rng, mac).port == 5001


def test_a_full_range_is_named(write_csv):
    cur = write_csv("current.csv", "service,host,port\na,h1,3030\nb,h1,3031\n")
    tgt = write_csv("target.csv", "service,port\n")
    rng = write_csv("ranges.csv", "start,end,category\n3030,3031,back\n")
    with pytest.raises(ReorgError, match=r"range back 3030-3031 is full"):
        port("c", "back", None, None, cur, tgt, rng, write_csv("hosts.csv", "host,address\n"))
    with pytest.raises(ReorgError, match=r"category 'nope' has no range in ranges.csv; choose one of back"):
        port("c", "nope", None, None, cur, tgt, rng, write_csv("hosts.csv", "host,address\n"))
    with pytest.raises(ReorgError, match=r"a already has a row"):
        port("a", "back", None, None, cur, tgt, rng, write_csv("hosts.csv", "host,address\n"))


def test_add_keeps_crlf_quoting_bom_and_every_other_byte(write_csv):
    original = '\ufeff"service","port","host","note"\r\n"a","3030","","x, y"\r\n'.encode("utf-8")
    tgt = write_csv("target.csv", original)
    cur = write_csv("current.csv", b"service,host,port\na,h1,3030")  # no final newline
    rng = write_csv("ranges.csv", "start,end,category\n3030,3039,back\n")
    choice = port("b", "back", None, "h1", cur, tgt, rng, write_csv("hosts.csv", "host,address\n"), add=True)
    assert choice.port == 3031
    assert tgt.read_bytes() == original + b'"b","3031","h1","added by reorg port"\r\n'
    assert cur.read_bytes() == b"service,host,port\na,h1,3030\nb,h1,3031\n"
