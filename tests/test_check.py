"""``reorg check``: findings on the bundled managarten data and on small hand-made tables."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from reorg import commands
from reorg.check import pair_verdict
from reorg.cli import app
from reorg.model import Goal, Reservation, Scope
from reorg.problem import find_conflicts
from reorg.tables import load_instance


@pytest.fixture(autouse=True)
def _elsewhere(monkeypatch, tmp_path):
    """Run from an empty directory, so the default data/ranges.csv is never picked up by chance."""
    monkeypatch.chdir(tmp_path)


RANGES = (
    "start,end,category,purpose\n3000,3009,core,\n3030,3059,app-server,\n5000,5049,web-frontend,\n"
)


def _bundled(data_dir, *extra):
    return [
        "check",
        "--current",
        str(data_dir / "current.csv"),
        "--target",
        str(data_dir / "target.csv"),
        "--ranges",
        str(data_dir / "ranges.csv"),
        *extra,
    ]


def _report(data_dir, scope=Scope.HOST, digits=1):
    return commands.check(
        data_dir / "current.csv", data_dir / "target.csv", data_dir / "ranges.csv", scope, digits
    )


# ---- the bundled data ------------------------------------------------------------------------


def test_bundled_current_has_every_inventory_row(data_dir):
    instance = load_instance(data_dir / "current.csv", data_dir / "target.csv")
    hosts = [b.host for b in instance.bindings]
    assert len(hosts) == 95
    assert {h: hosts.count(h) for h in set(hosts)} == {"dev": 30, "mac-mini": 59, "windows-gpu": 6}


@pytest.mark.parametrize("scope", list(Scope))
def test_bundled_target_is_feasible(data_dir, scope):
    instance = load_instance(data_dir / "current.csv", data_dir / "target.csv")
    assert find_conflicts(instance, scope) == []


def test_bundled_check_finds_the_known_collisions_and_exits_1(data_dir):
    result = CliRunner().invoke(app, _bundled(data_dir))
    assert result.exit_code == 1, result.output
    report = _report(data_dir)
    found = {(c.host, c.port): c.holders for c in report.collisions}
    assert found[("mac-mini", 3015)] == (
        ("mana-landing-builder", "unsure"),
        ("memoro-server", "stopped"),
    )
    assert found[("mac-mini", 3016)] == (
        ("mana-api-gateway", "running"),
        ("memoro-audio-server", "unsure"),
    )
    dev = {
        port: {s for s, _ in holders} for (host, port), holders in found.items() if host == "dev"
    }
    assert dev == {
        3001: {"mana-auth", "memoro-admin-api"},
        3015: {"mana-media", "memoro-server"},
        3026: {"mana-image-gen", "mana-video-gen"},
        3030: {"mana-api-gateway", "mana-landing-builder"},
        3050: {"mana-sync", "mana-voice-bot"},
    }
    assert ("mac-mini", 3025) in found  # the latent flux2.c plist
    assert not any(host == "windows-gpu" for host, _ in found)
    for host, port in [("mac-mini", "3015"), ("mac-mini", "3016"), ("dev", "3050")]:
        assert any(line.split()[:2] == [host, port] for line in result.stdout.splitlines())


def test_bundled_target_findings(data_dir):
    report = _report(data_dir)
    assert report.conflicts == () and report.reservations_taken == ()
    assert [(o.service, o.port, o.category) for o in report.out_of_range] == [
        ("landings", 4400, "matrix"),
        ("postgres", 5432, "infrastructure"),
        ("redis", 6379, "infrastructure"),
    ]
    judged = {(p.host, p.frontend): p.verdict for p in report.pairs if p.verdict != "not judged"}
    assert judged == {
        ("dev", "manavoxel-web"): "match",
        ("mac-mini", "manavoxel-web"): "match",
        ("mac-mini", "llm-playground"): "match",
    }
    untargeted = {u.service for u in report.untargeted}
    assert {"forgejo-http", "loki", "ollama", "stalwart-smtp", "gpu-proxy"} <= untargeted
    assert report.target_problems == 3


def test_bundled_operator_decisions(data_dir):
    instance = load_instance(data_dir / "current.csv", data_dir / "target.csv")
    goals = {g.key: g.to_port for g in instance.goals}
    assert goals[("memoro-server", "mac-mini")] == 3031
    assert goals[("memoro-audio-server", "mac-mini")] == 3032
    assert goals[("mana-landing-builder", "mac-mini")] == 3015
    assert goals[("mana-api-gateway", "mac-mini")] == 3016
    assert goals[("mana-image-gen", "mac-mini")] is None
    assert goals[("mana-image-gen", "windows-gpu")] == 3023
    assert goals[("vllm-voxtral", "mac-mini")] is None
    assert goals[("telegram-ollama-bot", "mac-mini")] is None
    assert goals[("mana-web", "mac-mini")] == 5000
    # issue 10: dev is macOS, where the AirPlay Receiver holds 5000; reorg target showed 5001
    assert goals[("mana-web", "dev")] == 5001
    assert goals[("arcade-web", "dev")] == 5105  # shares arcade-server 3035's last digit
    assert goals[("mana-video-gen", "dev")] == goals[("mana-video-gen", "windows-gpu")] == 3026  # keeps its port
    assert goals[("matrix-web", "dev")] == 4011
    assert goals[("manavoxel-web", "mac-mini")] == 5030
    assert goals[("arcade-server", "dev")] == 3035
    assert goals[("mana-media", "dev")] == 3011
    # The dead app servers and web frontends reserve nothing; searxng (internal) is the only one.
    assert instance.reservations == (
        Reservation("searxng", None, 8080, instance.reservations[0].line),
    )


def test_bundled_global_scope_makes_shared_ports_problems(data_dir):
    host = _report(data_dir, Scope.HOST)
    glob = _report(data_dir, Scope.GLOBAL)
    assert host.shared_ports == glob.shared_ports and host.shared_ports
    assert {s.port for s in host.shared_ports} >= {3011, 3023, 4000}
    assert glob.problems == host.problems + len(host.shared_ports)


def test_bundled_json_parses_and_is_deterministic(data_dir):
    first = CliRunner().invoke(app, _bundled(data_dir, "--json"))
    second = CliRunner().invoke(app, _bundled(data_dir, "--json"))
    assert first.exit_code == 1
    assert first.stdout == second.stdout
    data = json.loads(first.stdout)
    assert data["format"] == "reorg-check/1"
    assert data["summary"]["exit_code"] == 1
    assert {
        k: data["current"]["collisions"][5][k] for k in ("host", "port")
    } == {"host": "mac-mini", "port": 3015}
    assert first.stdout == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_bundled_check_through_python_m(data_dir, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "reorg", *_bundled(data_dir)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    assert "problem(s) found" in proc.stdout


# ---- small tables ----------------------------------------------------------------------------


def _check(write_csv, current, target, ranges=None, scope=Scope.HOST, digits=1):
    r = write_csv("ranges.csv", ranges) if ranges is not None else None
    return commands.check(
        write_csv("current.csv", current), write_csv("target.csv", target), r, scope, digits
    )


def test_clean_tables_exit_0(write_csv):
    # No data/ranges.csv in the working directory: range checks are skipped.
    current = write_csv("current.csv", "service,host,port\napi,h1,3000\napi,h2,3000\n")
    target = write_csv("target.csv", "service,port\napi,3001\n")
    result = CliRunner().invoke(app, ["check", "--current", str(current), "--target", str(target)])
    assert result.exit_code == 0, result.output
    assert "No problems found." in result.stdout
    assert "range checks skipped" in result.stdout


def test_shared_port_is_informational_under_host_scope_and_a_problem_under_global(write_csv):
    current = "service,host,port\napi,h1,3000\nweb,h2,3000\n"
    host = _check(write_csv, current, "service,port\n")
    assert [s.port for s in host.shared_ports] == [3000] and host.exit_code == 0
    glob = _check(write_csv, current, "service,port\n", scope=Scope.GLOBAL)
    assert glob.exit_code == 1 and glob.current_problems == 1


def test_a_services_own_bindings_never_clash(write_csv):
    report = _check(
        write_csv,
        "service,host,port\napi,h1,3000\napi,h2,3000\n",
        "service,port\n",
        scope=Scope.GLOBAL,
    )
    assert report.shared_ports == () and report.collisions == () and report.exit_code == 0


def test_collision_that_both_keep_is_also_a_target_conflict(write_csv):
    report = _check(
        write_csv,
        "service,host,port,status\na,h1,3000,running\nb,h1,3000,stopped\n",
        "service,port\n",
    )
    assert [(c.host, c.port, c.holders) for c in report.collisions] == [
        ("h1", 3000, (("a", "running"), ("b", "stopped")))
    ]
    assert [c.kind for c in report.conflicts] == ["final-collision"]
    assert report.exit_code == 1


def test_same_target_and_held_by_fixed(write_csv):
    report = _check(
        write_csv,
        "service,host,port\na,h1,3000\nb,h1,3001\nc,h1,3002\nd,h1,3003\n",
        "service,port\na,3009\nb,3009\nc,3003\n",
    )
    assert sorted((c.kind, c.port) for c in report.conflicts) == [
        ("held-by-fixed", 3003),
        ("same-target", 3009),
    ]
    assert report.exit_code == 1


def test_reservation_taken_by_another_service(write_csv):
    report = _check(
        write_csv, "service,host,port\napi,h1,3000\n", "service,port\nfuture,3005\napi,3005\n"
    )
    assert [(c.port, c.services) for c in report.reservations_taken] == [(3005, ("api", "future"))]
    assert report.conflicts == () and report.exit_code == 1


def test_out_of_range_uses_the_target_category_then_the_bindings(write_csv):
    report = _check(
        write_csv,
        "service,host,port,category\n"
        "auth,h1,3001,core\n"  # target row has no category: the binding's (core) judges 3100
        "api,h1,3030,app-server\n"  # target row says web-frontend: 3031 is outside 5000-5049
        "odd,h1,3040,weird\n"  # unknown category: not judged
        "old,h1,9999,core\n",  # no target row: not judged
        "service,port,category\nauth,3100,\napi,3031,web-frontend\nodd,7,\nnew,3005,core\n",
        RANGES,
    )
    assert [(o.service, o.port, o.category, o.line) for o in report.out_of_range] == [
        ("api", 3031, "web-frontend", 3),
        ("auth", 3100, "core", 2),
    ]
    assert report.exit_code == 1


def test_without_ranges_nothing_is_judged(write_csv):
    report = _check(
        write_csv, "service,host,port,category\nauth,h1,3001,core\n", "service,port\nauth,9999\n"
    )
    assert report.out_of_range == () and report.ranges_path is None and report.exit_code == 0


@pytest.mark.parametrize(
    "front,back,digits,verdict",
    [
        (5011, 3031, 1, "match"),
        (5012, 3031, 1, "mismatch"),
        (5031, 3031, 2, "match"),
        (5011, 3031, 2, "mismatch"),
        (4011, 4000, 1, "not judged"),
        (5110, 3035, 1, "not judged"),
        (5011, 8031, 1, "not judged"),
    ],
)
def test_pair_verdict(front, back, digits, verdict):
    assert pair_verdict(front, back, digits) == verdict


def test_pairs_judged_in_the_final_state_per_host_where_both_run(write_csv):
    current = (
        "service,host,port,pair\n"
        "web,h1,5000,api\napi,h1,3000,\n"  # web moves to 5012, api to 3031: mismatch on h1
        "web,h2,5000,api\napi,h2,3000,\n"  # api's host row keeps 3002: match on h2
        "web,h3,5000,api\n"  # api does not run on h3: not listed
        "web,h4,5000,api\napi,h4,3000,\n"  # api retires on h4: not listed
    )
    target = "service,port,host\nweb,5012,\napi,3031,\napi,3002,h2\napi,,h4\n"
    report = _check(write_csv, current, target)
    assert [(p.host, p.frontend_port, p.backend_port, p.verdict) for p in report.pairs] == [
        ("h1", 5012, 3031, "mismatch"),
        ("h2", 5012, 3002, "match"),
    ]
    assert report.exit_code == 1
    two = _check(write_csv, current, target, digits=2)
    assert [p.verdict for p in two.pairs] == ["mismatch", "mismatch"]


def test_untargeted_services_are_listed_but_not_problems(write_csv):
    report = _check(
        write_csv,
        "service,host,port\nloki,h1,3100\nloki,h2,3100\napi,h1,3000\n",
        "service,port\napi,3001\n",
    )
    assert [(u.service, u.bindings) for u in report.untargeted] == [
        ("loki", (("h1", 3100), ("h2", 3100)))
    ]
    assert report.exit_code == 0


def test_goal_counts_in_the_report(write_csv):
    report = _check(
        write_csv,
        "service,host,port\na,h1,1000\nb,h1,2000\nc,h1,3000\n",
        "service,port\na,1001\nb,\nfuture,4000\n",
    )
    assert (report.moving, report.retiring, report.reservations) == (1, 1, 1)
    assert report.to_dict()["summary"]["problems"] == 0
    assert load_instance(
        write_csv("c.csv", "service,host,port\na,h1,1000\n"),
        write_csv("t.csv", "service,port\na,1001\n"),
    ).goals == (Goal("a", "h1", 1000, 1001),)


def test_default_ranges_file_is_used_when_present(write_csv, tmp_path):
    (tmp_path / "data").mkdir()
    write_csv("data/ranges.csv", RANGES)
    write_csv("data/current.csv", "service,host,port,category\nauth,h1,3001,core\n")
    write_csv("data/target.csv", "service,port\nauth,3100\n")
    result = CliRunner().invoke(app, ["check"])  # every default: data/current.csv, target, ranges
    assert result.exit_code == 1, result.output
    assert "ranges: data/ranges.csv" in result.stdout
    assert "auth" in result.stdout and "3000-3009" in result.stdout


def test_every_host_row_is_judged_only_on_the_hosts_it_applies_to(write_csv):
    # Issue 13: web runs on h1 as a core service and on h2 as a web frontend; the every-host row
    # (3005) applies only on h1, because h2's host row (5005) overrides it there. Judging 3005
    # against h2's category reported a false "outside its category's range" and exit 1.
    report = _check(
        write_csv,
        "service,host,port,category\nweb,h1,3001,core\nweb,h2,5001,web-frontend\n",
        "service,port,host\nweb,3005,\nweb,5005,h2\n",
        RANGES,
    )
    assert report.out_of_range == ()
    assert report.exit_code == 0
    # Still judged where it applies: the every-host row on h1's category.
    report = _check(
        write_csv,
        "service,host,port,category\nweb,h1,3001,core\nweb,h2,5001,web-frontend\n",
        "service,port,host\nweb,5006,\nweb,5005,h2\n",
        RANGES,
    )
    assert [(o.service, o.host, o.port, o.category) for o in report.out_of_range] == [("web", None, 5006, "core")]
