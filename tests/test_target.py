"""reorg target: the CP-SAT assignment from ranges, pins and host facts, and its guarantees."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reorg.cli import app
from reorg.commands import check
from reorg.commands.target import target
from reorg.hostfacts import avoid_reason, read_host_facts
from reorg.model import ReorgError, Scope
from reorg.tables import read_current, read_target
from reorg.targeting import TargetOptions

REPO = Path(__file__).resolve().parent.parent

RANGES = "start,end,category\n3030,3034,back\n5000,5009,front\n4000,4003,misc-a\n"


def run_target(write_csv, current: str, pins: str | None = None, ranges: str = RANGES, hosts: str | None = None, **options):
    cur = write_csv("current.csv", current)
    pin = write_csv("pins.csv", pins) if pins is not None else None
    rng = write_csv("ranges.csv", ranges)
    hst = write_csv("hosts.csv", hosts) if hosts is not None else write_csv("hosts.csv", "host,address\n")
    out = cur.parent / "target.csv"
    run = target(cur, pin, rng, hst, TargetOptions(**options), out)
    return run, cur, out, rng


def clean_check(current: Path, target_path: Path, ranges: Path, scope=Scope.HOST, pair_digits=1):
    report = check(current, target_path, ranges, scope, pair_digits)
    return report.conflicts, report.reservations_taken, report.out_of_range, report.pair_mismatches


def test_moves_out_of_range_and_colliding_bindings_and_keeps_the_rest(write_csv):
    run, cur, out, rng = run_target(
        write_csv,
        "service,host,port,category\n"
        "a,h1,3031,back\n"
        "b,h1,3031,back\n"  # collides with a: one of them moves
        "c,h1,3100,back\n"  # outside 3030-3034: moves
        "d,h1,4000,misc-a\n",
    )
    final = {(d.service, d.host): d.to_port for d in run.result.decisions}
    assert final[("a", "h1")] == 3031 and final[("d", "h1")] == 4000
    assert sorted([final[("b", "h1")], final[("c", "h1")]]) == [3030, 3032]  # lowest free ports
    assert run.result.figures.changed == 2 and run.result.proven
    assert clean_check(cur, out, rng) == ((), (), (), ())


def test_pins_are_kept_exactly_and_reservations_avoided(write_csv):
    run, cur, out, rng = run_target(
        write_csv,
        "service,host,port,category\na,h1,3030,back\nb,h1,3031,back\n",
        "service,port,host,category,pair,note\n"
        "a,3031,,back,,operator: a takes 3031\n"
        "ghost,3030,h1,back,,reserved for a future service\n",
    )
    text = out.read_text()
    assert text.splitlines()[1:3] == ["a,3031,,back,,operator: a takes 3031", "ghost,3030,h1,back,,reserved for a future service"]
    assert {(d.service, d.to_port) for d in run.result.decisions} == {("a", 3031), ("b", 3032)}
    assert clean_check(cur, out, rng) == ((), (), (), ())


def test_a_frontend_takes_its_backends_digit(write_csv):
    run, cur, out, rng = run_target(
        write_csv,
        "service,host,port,category,pair\nb,h1,3033,back,\nf,h1,5100,front,b\n",
    )
    final = {d.service: d.to_port for d in run.result.decisions}
    assert final == {"b": 3033, "f": 5003}
    assert run.result.figures.matched == 1
    assert clean_check(cur, out, rng) == ((), (), (), ())


def test_a_judged_mismatch_moves_the_frontend_although_it_is_in_range(write_csv):
    # f sits in range on 5001, but 5001 vs 3033 is what check reports: fixing it is worth a move
    run, cur, out, rng = run_target(write_csv, "service,host,port,category,pair\nb,h1,3033,back,\nf,h1,5001,front,b\n")
    final = {d.service: d.to_port for d in run.result.decisions}
    assert final["f"] % 10 == final["b"] % 10 and run.result.figures.changed == 1  # one of them moves
    assert final == {"b": 3031, "f": 5001}  # the tie goes to the lower ports
    assert clean_check(cur, out, rng)[3] == ()


def test_one_port_per_service_across_hosts(write_csv):
    run, *_ = run_target(
        write_csv,
        "service,host,port,category\nx,h1,3030,back\ns,h1,3900,back\ns,h2,3901,back\n",
    )
    ports = {d.host: d.to_port for d in run.result.decisions if d.service == "s"}
    assert ports == {"h1": 3031, "h2": 3031}  # not 3030 on h2, although lower: one port for s
    assert run.result.figures.multi_port_services == 0
    assert "s,3031,,back," in out_text(run)


def out_text(run) -> str:
    return run.csv_text


def test_host_weight_decides_who_moves(write_csv):
    current = "service,host,port,category\na,prod,3031,back\nb,dev,3031,back\n"
    run, *_ = run_target(write_csv, current, scope=Scope.GLOBAL, host_weights={"prod": 10})
    assert {d.service: d.kind for d in run.result.decisions} == {"a": "kept", "b": "moved"}
    run, *_ = run_target(write_csv, current, scope=Scope.GLOBAL, host_weights={"dev": 10})
    assert {d.service: d.kind for d in run.result.decisions} == {"a": "moved", "b": "kept"}


def test_spare_leaves_free_ports_in_each_range(write_csv):
    current = "service,host,port,category\na,h1,3900,back\nb,h1,3901,back\nc,h1,3902,back\n"
    run, *_ = run_target(write_csv, current, spare=2)
    assert sorted(d.to_port for d in run.result.decisions) == [3030, 3031, 3032]  # 2 of 5 left
    with pytest.raises(ReorgError, match=r"range back \(3030-3034\) on h1 is too small: 3 binding\(s\) want it, it has 5 port\(s\), 5 free for them and --spare 3"):
        run_target(write_csv, current, spare=3)


def test_host_facts_are_avoided(write_csv):
    run, cur, out, rng = run_target(
        write_csv,
        "service,host,port,category\nmine,mac,5000,front\nweb,dev,5173,front\napi,dev,3100,back\n",
        hosts="host,address,os,reserved\nmac,,macos,\ndev,,macos,3030-3031\n",
    )
    final = {d.service: d.to_port for d in run.result.decisions}
    assert final["mine"] == 5000  # already listening there: AirPlay is off on that host
    assert final["web"] == 5001  # a new port never lands on AirPlay's 5000 on macOS
    assert final["api"] == 3032  # 3030-3031 are reserved on dev


def test_infeasible_range_is_explained_with_its_pins(write_csv):
    with pytest.raises(ReorgError) as err:
        run_target(
            write_csv,
            "service,host,port,category\na,h1,3030,back\nb,h1,3031,back\nc,h1,3032,back\nd,h1,3033,back\ne,h1,3034,back\nf,h1,3099,back\n",
            "service,port,host\na,3030,\nb,3031,\n",
        )
    message = str(err.value)
    assert "range back (3030-3034) on h1 is too small: 4 binding(s) want it, it has 5 port(s), 3 free for them" in message
    assert "pins holding it: a@h1 3030, b@h1 3031" in message


def test_conflicting_pins_are_explained(write_csv):
    with pytest.raises(ReorgError, match=r"the pins cannot all hold: on h1 port 3031: .*a@h1.*b@h1"):
        run_target(
            write_csv,
            "service,host,port,category\na,h1,3030,back\nb,h1,3032,back\n",
            "service,port,host\na,3031,\nb,3031,\n",
        )


def test_bundled_data_with_its_target_as_pins(data_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(REPO)
    out = tmp_path / "target.csv"
    run = target(data_dir / "current.csv", data_dir / "target.csv", data_dir / "ranges.csv", None, TargetOptions(), out)
    pins = read_target(data_dir / "target.csv")
    produced = read_target(out)
    assert produced[: len(pins)] == tuple(p.__class__(**{**p.__dict__, "line": q.line}) for p, q in zip(pins, produced, strict=False))
    report = check(data_dir / "current.csv", out, data_dir / "ranges.csv")
    assert report.conflicts == () and report.reservations_taken == () and report.pair_mismatches == ()
    assert report.untargeted == ()  # a complete target: every service has a row
    assert run.result.proven
    # and `reorg plan` plans it: a verified plan
    from reorg.commands.planning import make_verified_plan
    from reorg.model import PlanOptions, Strategy
    from reorg.tables import load_instance

    plan, _, _ = make_verified_plan(load_instance(data_dir / "current.csv", out), PlanOptions(), Strategy.CPSAT)
    assert plan.metrics.moves >= run.result.figures.changed


def test_cli_writes_csv_on_stdout_and_the_report_on_stderr_and_exit_2_on_infeasible(write_csv, tmp_path: Path):
    cur = write_csv("current.csv", "service,host,port,category\na,h1,3900,back\n")
    rng = write_csv("ranges.csv", RANGES)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "reorg", "target", "--current", str(cur), "--ranges", str(rng), "--hosts", str(write_csv("h.csv", "host,address\n"))],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "service,port,host,category,pair,note\na,3030,,back,,reorg target: was 3900\n"
    assert "a           3900  3030  moved" in done.stderr.replace("  h1  ", "")  or "moved" in done.stderr
    full = write_csv("full.csv", "start,end,category\n3030,3030,back\n")
    cur2 = write_csv("current2.csv", "service,host,port,category\na,h1,3900,back\nb,h1,3901,back\n")
    out = tmp_path / "never.csv"
    done = subprocess.run(
        [sys.executable, "-m", "reorg", "target", "--current", str(cur2), "--ranges", str(full), "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )
    assert done.returncode == 2 and not out.exists()
    assert done.stderr.startswith("error: range back (3030) on h1 is too small: 2 binding(s) want it, it has 1 port(s)")
    assert done.stderr.count("\n") == 1


def test_a_binding_whose_host_avoids_every_port_of_its_range_is_explained(write_csv):
    # found by the property test: s0 runs on h1 and h2, its range is 3033 alone and h2 reserves
    # 3033; the range check counted the fleet's free ports (one) and the model got an empty domain
    with pytest.raises(ReorgError, match=r"range back \(3033\) on h2 is too small: 1 binding\(s\) want it \(s0@h2\), it has 1 port\(s\), 0 free for it; taken: 3033 reserved for h2 in hosts.csv"):
        run_target(
            write_csv, "service,host,port,category\ns0,h1,3031,back\ns0,h2,3031,back\n",
            ranges="start,end,category\n3033,3033,back\n", hosts="host,address,os,reserved\nh1,,,\nh2,,,3033\n",
            scope=Scope.GLOBAL,
        )


def test_a_fleet_that_crashed_the_integer_model_is_placed_and_proven(write_csv):
    # the integer model (one IntVar per binding, all-different per host) died inside OR-Tools
    # (IndexError: absl::btree_map::at) on this fleet with --spare 1; the Boolean model places it
    current = (
        "service,host,port,category\ns0,h3,3029,back\ns1,h2,3036,back\ns1,h3,3028,back\ns2,h2,3031,back\n"
        "s2,h3,3028,back\ns3,h3,3034,back\ns3,h2,3030,back\n"
    )
    run, cur, out, rng = run_target(write_csv, current, spare=1)
    final = {(d.service, d.host): d.to_port for d in run.result.decisions}
    assert final == {("s0", "h3"): 3030, ("s1", "h2"): 3032, ("s1", "h3"): 3032, ("s2", "h2"): 3031,
                     ("s2", "h3"): 3031, ("s3", "h2"): 3030, ("s3", "h3"): 3034}
    assert run.result.proven and run.result.figures.changed == 4
    assert clean_check(cur, out, rng) == ((), (), (), ())


# ---- property tests --------------------------------------------------------------------------

CATEGORIES = {"back": (3030, 3034), "front": (5000, 5006), "misc": (4000, 4002)}  # the widest ranges drawn


@st.composite
def fleets(draw):
    """A tiny fleet: random ranges inside CATEGORIES, bindings in and around them, digit pairs,
    pins (every-host rows, host rows, retirements), reservations for services that run nowhere,
    host reservations and OSes (macOS keeps 5000 for AirPlay), a scope, --spare and host weights."""
    hosts = draw(st.lists(st.sampled_from(["h1", "h2", "h3"]), min_size=1, max_size=3, unique=True))
    ranges = {}
    for c, (lo, hi) in CATEGORIES.items():
        start = draw(st.integers(lo, hi))
        ranges[c] = (start, draw(st.integers(start, hi)))
    n = draw(st.integers(1, 6))
    services = [f"s{i}" for i in range(n)]
    cats = {s: draw(st.sampled_from(sorted(CATEGORIES) + ["none"])) for s in services}
    rows = []
    for s in services:
        on = draw(st.lists(st.sampled_from(hosts), min_size=1, max_size=len(hosts), unique=True))
        lo, hi = ranges.get(cats[s], (6000, 6001))
        for h in on:
            rows.append((s, h, draw(st.integers(lo - 2, hi + 2)), "" if cats[s] == "none" else cats[s]))
    backs = [s for s in services if cats[s] == "back"]
    pair = {s: draw(st.sampled_from(backs)) for s in services if cats[s] == "front" and backs and draw(st.booleans())}
    pins = []  # (service, host or None, port or None)
    for s in services:
        kind = draw(st.integers(0, 7)) if cats[s] in CATEGORIES else 7
        lo, hi = ranges.get(cats[s], (0, 0))
        if kind == 0:
            pins.append((s, None, draw(st.integers(lo, hi))))
        elif kind == 1:
            h = draw(st.sampled_from(sorted(h for t, h, _, _ in rows if t == s)))
            pins.append((s, h, draw(st.integers(lo, hi)) if draw(st.integers(0, 3)) else None))
    for g in range(draw(st.integers(0, 1))):  # a reservation: a row for a service that runs nowhere
        lo, hi = ranges[draw(st.sampled_from(sorted(ranges)))]
        pins.append((f"ghost{g}", draw(st.sampled_from([None, *hosts])), draw(st.integers(lo, hi))))
    reserved = {h: draw(st.lists(st.integers(3030, 3034) | st.integers(5000, 5006), max_size=2)) for h in hosts}
    oses = {h: draw(st.sampled_from(["linux", "macos"])) for h in hosts}
    scope = draw(st.sampled_from([Scope.HOST, Scope.GLOBAL]))
    spare = draw(st.sampled_from([0, 0, 1, 2]))
    weights = {h: w for h in sorted({h for _, h, _, _ in rows}) if (w := draw(st.integers(1, 3))) > 1}
    return rows, ranges, pair, pins, reserved, oses, scope, spare, weights


def fixed_of(bindings, pins, ranges):
    """(service, host) -> final port (None: retired) of the pinned and unranged bindings."""
    rows = {(s, h): p for s, h, p in pins}
    out = {}
    for b in bindings:
        if (b.service, b.host) in rows or (b.service, None) in rows:
            out[b.key] = rows.get((b.service, b.host), rows.get((b.service, None)))
        elif b.category not in ranges:
            out[b.key] = b.port
    return out


def ghosts(bindings, pins):
    running = {b.service for b in bindings}
    return [(s, h, p) for s, h, p in pins if s not in running and p is not None]


def valid(final, bindings, ghost_rows, scope, facts, ranges, spare) -> bool:
    """``final`` ((service, host) -> port or None) breaks no rule reorg target keeps."""
    seen: dict[tuple, str] = {}
    for (s, h), p in final.items():
        if p is None:
            continue
        k = (h, p) if scope is Scope.HOST else p
        if seen.setdefault(k, s) != s:
            return False
        for _, gh, gp in ghost_rows:
            if gp == p and (scope is Scope.GLOBAL or gh in (None, h)):
                return False
    if spare:
        groups = sorted({b.host for b in bindings}) if scope is Scope.HOST else [None]
        for lo, hi in ranges.values():
            for h in groups:
                used = {p for (s, hh), p in final.items() if p is not None and (h is None or hh == h) and lo <= p <= hi}
                used |= {gp for _, gh, gp in ghost_rows if lo <= gp <= hi and (h is None or gh in (None, h))}
                used |= {p for p in range(lo, hi + 1) for hh in ([h] if h else sorted(facts)) if avoid_reason(facts, hh, p)}
                if (hi - lo + 1) - len(used) < spare:
                    return False
    return True


def score(final, bindings, pair, weights):
    """(judged pair mismatches, weighted changes, -matched pairs): the first three objectives."""
    judged = changed = matched = 0
    hosts = sorted({b.host for b in bindings})
    for b in bindings:
        p = final[b.key]
        changed += weights.get(b.host, 1) * (p is not None and p != b.port)
    for f, k in pair.items():
        for h in hosts:
            fp, bp = final.get((f, h)), final.get((k, h))
            if fp is None or bp is None:
                continue
            matched += fp % 10 == bp % 10
            judged += fp % 10 != bp % 10 and fp // 100 == 50 and bp // 100 == 30
    return judged, changed, -matched


def brute_force(bindings, pins, ranges, facts, scope, spare, pair, weights):
    """The best (judged, changes, -matched) over every assignment, None when none is valid, or
    "unknown" when there are too many to enumerate."""
    fixed = fixed_of(bindings, pins, ranges)
    free = [b for b in bindings if b.key not in fixed]
    domains = [
        [p for p in range(ranges[b.category][0], ranges[b.category][1] + 1) if avoid_reason(facts, b.host, p, b.port) is None]
        for b in free
    ]
    size = 1
    for d in domains:
        size *= len(d)
    if size > 20_000:
        return "unknown"
    ghost_rows = ghosts(bindings, pins)
    best = None
    for choice in itertools.product(*domains):
        final = dict(fixed)
        final.update({b.key: p for b, p in zip(free, choice, strict=True)})
        if valid(final, bindings, ghost_rows, scope, facts, ranges, spare):
            got = score(final, bindings, pair, weights)
            best = got if best is None or got < best else best
    return best


def baseline(bindings, pins, ranges, facts, scope):
    """Pins fixed; every other binding keeps its port when it can, else the first free port in range."""
    fixed = fixed_of(bindings, pins, ranges)
    ghost_rows = ghosts(bindings, pins)
    final = {}
    taken: dict[tuple, str] = {}

    def key(h, p):
        return (h, p) if scope is Scope.HOST else ("*", p)

    def free(b, p):
        holder = taken.get(key(b.host, p))
        reserved = any(gp == p and (scope is Scope.GLOBAL or gh in (None, b.host)) for _, gh, gp in ghost_rows)
        return (holder is None or holder == b.service) and not reserved and avoid_reason(facts, b.host, p, b.port) is None

    order = sorted(bindings, key=lambda b: (b.service, b.host))
    for b in order:
        if b.key in fixed:
            final[b.key] = fixed[b.key]
            if fixed[b.key] is not None:
                taken[key(b.host, fixed[b.key])] = b.service
    for b in order:
        lo, hi = ranges.get(b.category, (0, -1))
        if b.key not in final and lo <= b.port <= hi and free(b, b.port):
            final[b.key] = b.port
            taken[key(b.host, b.port)] = b.service
    for b in order:
        if b.key in final:
            continue
        lo, hi = ranges[b.category]
        port = next((p for p in range(lo, hi + 1) if free(b, p)), None)
        if port is None:
            return None
        final[b.key] = port
        taken[key(b.host, port)] = b.service
    return final


def write_fleet(write_csv, fleet):
    rows, ranges, pair, pins, reserved, oses, *_ = fleet
    current = "service,host,port,category,pair\n" + "".join(f"{s},{h},{p},{c},{pair.get(s, '')}\n" for s, h, p, c in rows)
    pin_text = "service,port,host\n" + "".join(f"{s},{'' if p is None else p},{h or ''}\n" for s, h, p in pins)
    hosts_text = "host,address,os,reserved\n" + "".join(f"{h},,{oses[h]},\"{';'.join(map(str, r))}\"\n" for h, r in reserved.items())
    ranges_text = "start,end,category\n" + "".join(f"{lo},{hi},{c}\n" for c, (lo, hi) in ranges.items())
    return tuple(write_csv(n, t) for n, t in (("c.csv", current), ("p.csv", pin_text), ("r.csv", ranges_text), ("h.csv", hosts_text)))


@settings(max_examples=int(os.environ.get("REORG_HYPOTHESIS_EXAMPLES", "80")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(fleets())
def test_property_targets_are_optimal_pass_check_keep_pins_avoid_reservations_and_beat_the_baseline(write_csv, fleet):
    rows, ranges, pair, pins, reserved, oses, scope, spare, weights = fleet
    cur, pin, rng, hst = write_fleet(write_csv, fleet)
    bindings, facts = read_current(cur), read_host_facts(hst)
    out = cur.parent / "t.csv"
    out.unlink(missing_ok=True)  # hypothesis reuses the fixture's folder between examples
    best = brute_force(bindings, pins, ranges, facts, scope, spare, pair, weights)
    options = TargetOptions(scope=scope, spare=spare, host_weights=weights, time_limit=5.0)
    try:
        run = target(cur, pin, rng, hst, options, out)
    except ReorgError as exc:
        event(f"refused ({'proven infeasible' if best is None else 'too many to enumerate'})")
        assert best is None or best == "unknown", f"target refused a feasible fleet: {exc}"
        text = str(exc)
        assert ("too small" in text and "want it" in text) or "pins cannot all hold" in text or "no target exists" in text \
            or "cannot keep --spare" in text, text
        assert not out.exists()
        # and the command says the same in one line on stderr, exit 2, nothing written
        args = ["target", "--current", str(cur), "--pins", str(pin), "--ranges", str(rng), "--hosts", str(hst),
                "--scope", scope.value, "--spare", str(spare), "--out", str(out)]
        done = CliRunner().invoke(app, args)
        assert done.exit_code == 2 and done.stderr == f"error: {text}\n" and not out.exists()
        return
    assert best is not None, "target gave a fleet no assignment fits"
    final = {(d.service, d.host): d.to_port for d in run.result.decisions}
    assert valid(final, bindings, ghosts(bindings, pins), scope, facts, ranges, spare)
    mine = score(final, bindings, pair, weights)
    event("placed, " + ("too many to enumerate" if best == "unknown" else "equal to the exhaustive best"))
    if best != "unknown":  # proven optimal: the first three objectives equal the exhaustive best
        assert run.result.proven and mine == best, (mine, best)
    report = check(cur, out, rng, scope, hosts=hst)
    assert (report.conflicts, report.reservations_taken, report.out_of_range) == ((), (), ())
    assert len(report.pair_mismatches) == mine[0] and report.untargeted == ()
    produced = read_target(out)
    assert [(t.service, t.host, t.port) for t in produced[: len(pins)]] == pins  # pins first, exactly
    for b in bindings:
        row = {(s, h): p for s, h, p in pins}
        if (b.service, b.host) in row or (b.service, None) in row:
            assert final[b.key] == row.get((b.service, b.host), row.get((b.service, None)))
    for d in run.result.decisions:
        if d.kind in ("moved", "kept"):
            assert not any(lo <= d.to_port <= hi for lo, hi in facts[d.host].reserved)
            assert avoid_reason(facts, d.host, d.to_port, d.from_port) is None
    base = baseline(bindings, pins, ranges, facts, scope)
    if base is not None and valid(base, bindings, ghosts(bindings, pins), scope, facts, ranges, spare):
        assert mine[:2] <= score(base, bindings, pair, weights)[:2]
        unweighted = sum(1 for b in bindings if final[b.key] not in (None, b.port))
        if not weights and mine[0] == score(base, bindings, pair, weights)[0]:
            assert unweighted <= sum(1 for b in bindings if base[b.key] not in (None, b.port))


BUNDLED_CATEGORIES = {"arcade-server": "app-server"}  # data/README.md: the operator's reclassification


def test_bundled_pins_give_no_more_changes_and_as_many_matched_pairs_as_the_hand_made_target(data_dir, monkeypatch):
    monkeypatch.chdir(REPO)
    run = target(data_dir / "current.csv", data_dir / "pins.csv", data_dir / "ranges.csv", data_dir / "hosts.csv",
                 TargetOptions(categories=BUNDLED_CATEGORIES), None, data_dir / "target.csv")
    mine, hand = run.result.figures, run.against
    assert mine.changed <= hand.changed and mine.matched >= hand.matched
    assert (mine.changed, mine.matched, mine.pairs, mine.in_range, mine.ranged) == (40, 5, 6, 71, 87)  # data/README.md
    decided = {(d.service, d.host): d.to_port for d in run.result.decisions}
    assert decided[("mana-web", "dev")] != 5000 and decided[("mana-web", "mac-mini")] == 5000  # AirPlay on dev
    assert decided[("arcade-web", "dev")] % 10 == decided[("arcade-server", "dev")] % 10


def test_spare_counts_a_port_reserved_on_another_host_once_under_global_scope(write_csv):
    # found by the property test: back 3030-3034 with 3030-3031 reserved on h3 and --spare 1 was
    # refused, as if a binding of h1 on 3030 took a second port: taken ports were counted twice
    current = "service,host,port,category\na,h1,3900,back\nb,h1,3901,back\nc,h1,3902,back\nd,h3,6000,\n"
    hosts = "host,address,os,reserved\nh1,,,\nh3,,,3030-3031\n"
    run, cur, out, rng = run_target(write_csv, current, hosts=hosts, scope=Scope.GLOBAL, spare=1)
    assert sorted(d.to_port for d in run.result.decisions if d.service != "d") == [3030, 3031, 3032]
    assert clean_check(cur, out, rng, Scope.GLOBAL)[:3] == ((), (), ())


def test_spare_counts_a_kept_system_port_once(write_csv):
    # mine stays on macOS's AirPlay port 5000 (it listens there: AirPlay is off); 5000 is not free
    # either way, so nine bindings in 5000-5009 leave one free port: --spare 1 holds
    current = "service,host,port,category\nmine,mac,5000,front\n" + "".join(f"w{i},mac,{5900 + i},front\n" for i in range(8))
    run, *_ = run_target(write_csv, current, hosts="host,address,os,reserved\nmac,,macos,\n", spare=1)
    assert sorted(d.to_port for d in run.result.decisions) == list(range(5000, 5009))
