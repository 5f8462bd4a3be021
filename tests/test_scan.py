"""reorg scan on the fixture monorepo: every binding and reference at its file and line, nothing
from tests, comments, docs or lock files; collisions, dangling references and drift named with
both sides; bad input reported as file:line and skipped."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reorg.cli import app
from reorg.scan import parse_maps, scan_tree
from reorg.scan.findings import find_problems
from reorg.scan.table import render_current_csv, render_references_csv

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MONOREPO = FIXTURES / "monorepo"
MAP_ARGS = ["--map", "docker-compose.macmini.yml=mac-mini", "--map", "infra/**=mac-mini", "--map", "scripts/mac-mini/**=mac-mini"]
MAPS = parse_maps(MAP_ARGS[1::2])

# Known answers, read off the fixture by hand: (service, host, port, file:line).
BINDINGS = """
mana-auth,dev,3001,services/mana-auth/src/config.ts:3
memoro-admin-api,dev,3001,apps/memoro/apps/admin-api/src/main.ts:1
arcade-server,dev,3011,apps/arcade/apps/server/src/index.ts:4
mana-stt,dev,3020,services/mana-stt/app/main.py:5
mana-search,dev,3021,services/mana-search/main.go:4
mana-tts,dev,3022,services/mana-tts/app/main.py:3
mana-llm,dev,3025,services/mana-llm/src/config.py:6
mana-landing-builder,dev,3030,services/mana-landing-builder/src/index.ts:1
mana-sync,dev,3050,services/mana-sync/internal/config/config.go:10
mana-voice-bot,dev,3050,services/mana-voice-bot/main.go:8
mana-credits,dev,3061,services/mana-credits/src/index.ts:3
uload-server,dev,3070,services/uload-server/src/index.ts:1
arcade-web,dev,4322,apps/arcade/apps/web/package.json:4
mana-web,dev,5173,apps/mana/apps/web/package.json:4
mana-media-postgres,dev,5432,services/mana-media/docker-compose.yml:5
postgres,dev,5432,docker-compose.yml:6
redis,dev,6379,docker-compose.yml:10
mana-llm-redis,dev,6380,services/mana-llm/docker-compose.yml:5
mana-search-redis,dev,6380,services/mana-search/docker-compose.yml:5
mana-mail-25,mac-mini,25,docker-compose.macmini.yml:63
mana-mail-465,mac-mini,465,docker-compose.macmini.yml:64
mana-mail-587,mac-mini,587,docker-compose.macmini.yml:65
mana-auth,mac-mini,3001,docker-compose.macmini.yml:11
mana-credits,mac-mini,3002,.env:2
mana-landing-builder,mac-mini,3015,docker-compose.macmini.yml:32
memoro-server,mac-mini,3015,docker-compose.macmini.yml:38
memoro-audio-server,mac-mini,3016,docker-compose.macmini.yml:45
mana-image-gen,mac-mini,3025,scripts/mac-mini/launchd/com.mana.image-gen.plist:13
mana-llm,mac-mini,3025,docker-compose.macmini.yml:52
loki-3100,mac-mini,3100,docker-compose.macmini.yml:80
loki-3101,mac-mini,3101,docker-compose.macmini.yml:80
coturn,mac-mini,3478,docker-compose.macmini.yml:84
synapse,mac-mini,4000,.env:3
minio-9000,mac-mini,9000,docker-compose.macmini.yml:75
minio-9001,mac-mini,9001,docker-compose.macmini.yml:76
prometheus,mac-mini,9090,docker-compose.macmini.yml:89
gpu-proxy,mac-mini,13434,scripts/mac-mini/launchd/com.mana.gpu-proxy.plist:11
"""


@pytest.fixture(scope="module")
def fixture_scan():
    return scan_tree(MONOREPO, MAPS)


def test_every_binding_at_its_line(fixture_scan):
    got = [(b.service, b.host, str(b.port), b.source) for b in sorted(fixture_scan.bindings, key=lambda b: (b.host, b.port, b.service))]
    assert got == [tuple(line.split(",")) for line in BINDINGS.strip().splitlines()]
    status = {(b.service, b.host): b.status for b in fixture_scan.bindings}
    assert status[("mana-image-gen", "mac-mini")] == "stopped"  # Disabled plist
    assert status[("synapse", "mac-mini")] == "unsure"  # behind a compose profile


def test_every_reference_at_its_line(fixture_scan):
    assert render_references_csv(fixture_scan) == (FIXTURES / "monorepo-references.csv").read_text()


@pytest.mark.parametrize(
    "where, port, kind, service, host, role",
    [
        ("docker-compose.macmini.yml:11:10", 3001, "compose-published", "mana-auth", "mac-mini", "binding"),
        ("docker-compose.macmini.yml:11:15", 3001, "compose-container", "mana-auth", "mac-mini", "binding"),
        ("docker-compose.macmini.yml:13:13", 3001, "compose-env-port", "mana-auth", "mac-mini", "binding"),
        ("docker-compose.macmini.yml:16:65", 3001, "compose-healthcheck", "mana-auth", "mac-mini", "reference"),
        ("docker-compose.macmini.yml:18:67", 3001, "traefik-label", "mana-auth", "mac-mini", "reference"),
        ("docker-compose.macmini.yml:26:40", 3001, "compose-url", "mana-auth", "mac-mini", "reference"),
        (".env:2:14", 3002, "compose-published", "mana-credits", "mac-mini", "binding"),  # ${CREDITS_PORT:-3002} from .env
        (".env:3:14", 4000, "compose-published", "synapse", "mac-mini", "binding"),  # ${SYNAPSE_PORT}
        ("docker-compose.macmini.yml:25:14", 3002, "compose-env-port", "mana-credits", "mac-mini", "binding"),  # list form
        ("docker-compose.macmini.yml:44:17", 3016, "compose-container", "memoro-audio-server", "mac-mini", "binding"),  # long syntax
        ("docker-compose.macmini.yml:45:20", 3016, "compose-published", "memoro-audio-server", "mac-mini", "binding"),
        ("docker-compose.macmini.yml:58:10", 9002, "compose-expose", "synapse", "mac-mini", "binding"),
        ("docker-compose.macmini.yml:69:23", 587, "compose-env-port", "mana-mail", "mac-mini", "reference"),  # in-network: stays
        ("docker-compose.macmini.yml:73:47", 9001, "compose-command", "minio", "mac-mini", "binding"),
        ("docker-compose.macmini.yml:84:10", 3478, "compose-published", "coturn", "mac-mini", "binding"),  # /udp
        ("docker-compose.macmini.yml:89:20", 9090, "compose-published", "prometheus", "mac-mini", "binding"),  # IP:H:C
        ("docker-compose.macmini.yml:93:10", 8080, "compose-container", "searxng", "mac-mini", "binding"),  # bare C
        ("services/mana-auth/Dockerfile:4:30", 3001, "dockerfile-env", "mana-auth", "mac-mini", "binding"),
        ("services/mana-auth/Dockerfile:5:8", 3001, "dockerfile-expose", "mana-auth", "mac-mini", "binding"),
        ("services/mana-auth/Dockerfile:7:41", 3001, "dockerfile-healthcheck", "mana-auth", "mac-mini", "reference"),
        ("services/mana-stt/Dockerfile:4:17", 3020, "dockerfile-command", "mana-stt", "dev", "binding"),  # continued line
        ("scripts/mac-mini/launchd/com.mana.image-gen.plist:13:17", 3025, "plist-argument", "mana-image-gen", "mac-mini", "binding"),
        ("scripts/mac-mini/launchd/com.mana.image-gen.plist:18:17", 3025, "plist-env", "mana-image-gen", "mac-mini", "binding"),
        ("scripts/mac-mini/launchd/com.mana.gpu-proxy.plist:11:54", 13434, "plist-argument", "gpu-proxy", "mac-mini", "binding"),
        ("services/mana-credits/src/index.ts:3:41", 3061, "source-default", "mana-credits", "dev", "binding"),  # ??
        ("apps/memoro/apps/admin-api/src/main.ts:1:27", 3001, "source-default", "memoro-admin-api", "dev", "binding"),  # env()
        ("services/uload-server/src/index.ts:1:29", 3070, "source-default", "uload-server", "dev", "binding"),  # intEnv()
        ("services/mana-search/main.go:4:33", 3021, "source-default", "mana-search", "dev", "binding"),  # envutil.GetInt
        ("services/mana-voice-bot/main.go:8:11", 3050, "source-default", "mana-voice-bot", "dev", "binding"),  # os.Getenv fallback
        ("services/mana-llm/src/config.py:6:17", 3025, "source-default", "mana-llm", "dev", "binding"),  # pydantic
        ("services/mana-tts/app/main.py:3:35", 3022, "source-default", "mana-tts", "dev", "binding"),  # os.environ.get
        ("services/mana-stt/start.sh:3:49", 3020, "source-default", "mana-stt", "dev", "binding"),  # uvicorn --port
        ("apps/arcade/apps/server/src/index.ts:4:12", 3011, "source-default", "arcade-server", "dev", "binding"),  # app.listen
        ("apps/mana/apps/web/vite.config.ts:4:19", 5173, "dev-server", "mana-web", "dev", "binding"),
        ("apps/mana/apps/web/src/lib/landing.ts:1:46", 3030, "source-url", "mana-landing-builder", "dev", "reference"),
        ("services/mana-auth/.env.example:2:6", 3001, "env-port", "mana-auth", "dev", "binding"),
        ("services/mana-credits/fly.toml:4:17", 3002, "toml-port", "mana-credits", "mac-mini", "binding"),
        ("infra/prometheus/prometheus.yml:7:53", 3001, "prometheus-target", "mana-auth", "mac-mini", "reference"),  # container_name
        ("infra/prometheus/prometheus.yml:15:40", 3002, "prometheus-target", "mana-credits", "mac-mini", "reference"),
        ("infra/cloudflared/cloudflared-config.yml:4:31", 3001, "cloudflared-ingress", "mana-auth", "mac-mini", "reference"),
    ],
)
def test_known_rows(fixture_scan, where, port, kind, service, host, role):
    file, line, column = where.rsplit(":", 2)
    rows = [r for r in fixture_scan.rows if (r.file, r.line, r.column) == (file, int(line), int(column))]
    assert [(r.port, r.kind, r.service, r.host, r.role.value) for r in rows] == [(port, kind, service, host, role)]
    text = (MONOREPO / file).read_text().split("\n")[int(line) - 1]
    assert text[int(column) - 1:].startswith(str(port))  # the column points at the literal itself


def test_nothing_from_tests_comments_docs_or_locks(fixture_scan):
    files = {r.file for r in fixture_scan.rows}
    assert not any(f.startswith(("tests/", "docs/")) or "/tests/" in f for f in files)
    assert not any(f.endswith((".md", "-lock.yaml", ".test.ts", "_test.go")) for f in files)
    planted = {9999, *range(3990, 4000)}  # every port written only in a comment, test, doc or lock file
    assert not [r for r in fixture_scan.rows if r.port in planted]


def test_collisions_dangling_and_drift_name_both_sides(fixture_scan):
    found = {(p.kind, p.places) for p in find_problems(fixture_scan)}
    assert found == {
        ("collision", ("apps/memoro/apps/admin-api/src/main.ts:1", "services/mana-auth/src/config.ts:3")),
        ("collision", ("docker-compose.macmini.yml:32", "docker-compose.macmini.yml:38")),  # a second 3015:3015
        ("collision", ("docker-compose.macmini.yml:52", "scripts/mac-mini/launchd/com.mana.image-gen.plist:13")),
        ("collision", ("docker-compose.yml:6", "services/mana-media/docker-compose.yml:5")),  # second compose file
        ("collision", ("services/mana-llm/docker-compose.yml:5", "services/mana-search/docker-compose.yml:5")),
        ("collision", ("services/mana-sync/internal/config/config.go:10", "services/mana-voice-bot/main.go:8")),  # same default
        ("dangling", ("docker-compose.macmini.yml:14", ".env:2")),  # mana-credits:3061
        ("dangling", ("docker-compose.macmini.yml:40", ".env:2")),  # mana-credits:3006
        ("dangling", ("docker-compose.macmini.yml:48",)),  # host.docker.internal:3020
        ("dangling", ("infra/cloudflared/cloudflared-config.yml:6",)),  # localhost:4090
        ("dangling", ("infra/prometheus/prometheus.yml:11", "docker-compose.macmini.yml:52")),  # mana-llm:3020
        ("dangling", ("services/mana-auth/src/config.ts:5",)),  # localhost:3013 on dev
        ("drift", (".env:2", "services/mana-credits/src/index.ts:3")),  # compose 3002 vs source 3061
        ("drift", ("docker-compose.macmini.yml:32", "services/mana-landing-builder/src/index.ts:1")),
        ("drift", ("services/uload-server/Dockerfile:2", "services/uload-server/src/index.ts:1")),  # EXPOSE 3041 vs 3070
    }


def test_default_map_and_dev_host():
    scan = scan_tree(MONOREPO, (), dev_host="laptop")
    hosts = {b.host for b in scan.bindings}
    assert hosts == {"laptop", "macmini"}  # docker-compose.macmini.yml names its host; the rest is the dev host
    first = scan_tree(MONOREPO, parse_maps(["*.yml=one", "docker-compose.macmini.yml=two"]))
    assert {b.host for b in first.bindings if b.source.startswith("docker-compose")} == {"one"}  # first match wins


def test_exclude_and_root_relative_skipping(tmp_path):
    scan = scan_tree(MONOREPO, MAPS, excludes=("services/*",))
    assert not [r for r in scan.rows if r.file.startswith("services/")]
    # the fixture tree lives under tests/fixtures/ but is read; a scan from the repository root skips it
    from_root = scan_tree(FIXTURES.parent.parent)
    assert from_root.files_read > 0 and not [r for r in from_root.rows if r.file.startswith("tests/")]


def test_output_is_deterministic(fixture_scan):
    again = scan_tree(MONOREPO, MAPS)
    assert render_current_csv(again) == render_current_csv(fixture_scan)
    assert render_references_csv(again) == render_references_csv(fixture_scan)


# ---- bad input: a notice naming file:line, and the scan goes on ---------------------------------


def _tree_with_good_file(tmp_path: Path) -> Path:
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "docker-compose.yml").write_text('services:\n  ok:\n    ports:\n      - "7001:7001"\n')
    return tmp_path


def test_bad_yaml_plist_binary_utf8_are_notices(tmp_path):
    root = _tree_with_good_file(tmp_path)
    (root / "docker-compose.bad.yml").write_text("services:\n  a:\n    ports: [\n")
    (root / "com.x.plist").write_text("this is not a plist\n")
    (root / "Dockerfile").write_bytes(b"FROM x\n\0\0\0EXPOSE 1\n")
    (root / "prometheus.yml").write_bytes(b"scrape_configs:\n  - targets: ['\xff\xfe:1']\n")
    scan = scan_tree(root)
    notices = {(n.file, n.line): n.message for n in scan.notices}
    assert notices[("docker-compose.bad.yml", 4)].startswith("not valid YAML")
    assert notices[("com.x.plist", 1)].startswith("not a plist")
    assert notices[("Dockerfile", 1)] == "binary file; skipped"
    assert notices[("prometheus.yml", 2)] == "not UTF-8 text; skipped"
    assert [b.service for b in scan.bindings] == ["ok"]


def test_symlink_loop_fifo_and_unreadable_are_notices(tmp_path, monkeypatch):
    root = _tree_with_good_file(tmp_path)
    os.symlink("loop-b", root / "docker-compose.loop.yml")
    os.symlink("docker-compose.loop.yml", root / "loop-b")
    os.mkfifo(root / "docker-compose.fifo.yml")  # opening it would hang a naive reader
    os.symlink("/etc", root / "outside")
    (root / "docker-compose.gone.yml").write_text("services: {}\n")
    real_open = os.open

    def failing_open(path, *args, **kwargs):
        if str(path).endswith("docker-compose.gone.yml"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("reorg.scan.walk.os.open", failing_open)
    scan = scan_tree(root)
    notices = {(n.file, n.line): n.message for n in scan.notices}
    assert notices[("docker-compose.loop.yml", 1)] == "symlink loop; skipped"
    assert notices[("docker-compose.fifo.yml", 1)].startswith("not a regular file")
    assert notices[("docker-compose.gone.yml", 1)] == "not readable (Permission denied); skipped"
    assert notices[("outside", 1)] == "symlink out of the scanned tree; not followed"
    assert [b.service for b in scan.bindings] == ["ok"]


def test_huge_file_and_missing_variable_are_notices(tmp_path):
    root = _tree_with_good_file(tmp_path)
    (root / "docker-compose.big.yml").write_text("services: {}\n" + "#" * 5000 + "\n")
    (root / "docker-compose.var.yml").write_text('services:\n  v:\n    ports:\n      - "${NOPE}:80"\n')
    scan = scan_tree(root, max_bytes=4000)
    notices = {(n.file, n.line): n.message for n in scan.notices}
    assert notices[("docker-compose.big.yml", 1)].startswith("larger than 4000 bytes")
    assert notices[("docker-compose.var.yml", 4)].startswith("${NOPE} is not set")
    assert [b.service for b in scan.bindings] == ["ok"]


# ---- the CLI ----------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_scan_writes_both_files_and_diffs(tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["scan", str(MONOREPO), "--out", str(out), *MAP_ARGS, "--diff", str(FIXTURES.parent.parent / "data/current.csv")])
    assert result.exit_code == 0, result.output
    header = (out / "current.csv").read_text().splitlines()[0]
    assert header == "service,host,port,category,status,pair,source,note"
    assert (out / "references.csv").read_text() == (FIXTURES / "monorepo-references.csv").read_text()
    assert "port differs" in result.output and "wrote" in result.output
    rows = list(csv.DictReader(io.StringIO((out / "current.csv").read_text())))
    assert {"service": "mana-credits", "host": "mac-mini", "port": "3002", "source": ".env:2"}.items() <= rows[[r["service"] + r["host"] for r in rows].index("mana-creditsmac-mini")].items()


def test_cli_scan_json_and_bad_map(tmp_path):
    result = runner.invoke(app, ["scan", str(MONOREPO), "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0
    assert '"format": "reorg-scan/1"' in result.output
    bad = runner.invoke(app, ["scan", str(MONOREPO), "--out", str(tmp_path / "x"), "--map", "nohost"])
    assert bad.exit_code == 2 and "GLOB=HOST" in bad.output
    assert not (tmp_path / "x").exists()  # nothing written


def test_cli_check_scan_exit_codes_and_baseline(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "docker-compose.yml").write_text('services:\n  a:\n    ports:\n      - "3066:3066"\n')
    clean = runner.invoke(app, ["check", "--scan", str(tree)])
    assert clean.exit_code == 0 and "no problems" in clean.output
    (tree / "docker-compose.yml").write_text('services:\n  a:\n    ports:\n      - "3066:3066"\n  b:\n    ports:\n      - "3066:3066"\n')
    bad = runner.invoke(app, ["check", "--scan", str(tree)])
    assert bad.exit_code == 1
    assert "dev:3066 is bound by a (docker-compose.yml:4) and b (docker-compose.yml:7)" in bad.output
    baseline = tmp_path / "baseline.txt"
    wrote = runner.invoke(app, ["check", "--scan", str(tree), "--baseline", str(baseline), "--write-baseline"])
    assert wrote.exit_code == 0 and baseline.is_file()
    (tree / "docker-compose.yml").write_text("# moved down a line\n" + (tree / "docker-compose.yml").read_text())
    accepted = runner.invoke(app, ["check", "--scan", str(tree), "--baseline", str(baseline)])
    assert accepted.exit_code == 0, accepted.output  # line numbers moved: the key has none
    (tree / "compose.c.yaml").write_text('services:\n  c:\n    ports:\n      - "80:80"\n  d:\n    ports:\n      - "80:80"\n')
    new = runner.invoke(app, ["check", "--scan", str(tree), "--baseline", str(baseline)])
    assert new.exit_code == 1 and "c:80 is bound by c (compose.c.yaml:4) and d (compose.c.yaml:7)" in new.output
    assert "1 problem(s); 1 more accepted by the baseline" in new.output


def test_cli_check_scan_against_tables(tmp_path):
    table = tmp_path / "current.csv"
    table.write_text("service,host,port\na,dev,3066\nb,dev,4000\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "docker-compose.yml").write_text('services:\n  a:\n    ports:\n      - "3067:3066"\n')
    result = runner.invoke(app, ["check", "--scan", str(tree), "--current", str(table), "--json"])
    assert result.exit_code == 1
    assert "listens on 3067 (docker-compose.yml:4) but" in result.output and "b on dev (4000) is not found" in result.output


def test_readme_shows_what_check_scan_prints():
    readme = (FIXTURES.parent.parent / "README.md").read_text()
    block = readme.split("$ reorg check --scan tests/fixtures/monorepo $M\n", 1)[1].split("```", 1)[0]
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "reorg", "check", "--scan", "tests/fixtures/monorepo", *MAP_ARGS],
        capture_output=True, text=True, cwd=FIXTURES.parent.parent,
    )
    assert done.returncode == 1
    assert done.stdout == block


def test_pre_commit_hook_runs_check_scan():
    import yaml

    hooks = yaml.safe_load((FIXTURES.parent.parent / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["reorg-check-scan"]
    assert hooks[0]["entry"] == "reorg check --scan ." and hooks[0]["pass_filenames"] is False


def test_cli_shows_control_characters_in_scanned_names_as_escapes(tmp_path):
    tree = tmp_path / "tree"
    (tree / "svc").mkdir(parents=True)
    (tree / "svc" / "package.json").write_text("{}\n")
    (tree / "svc" / "evil\x1b[2J.ts").write_text("const p = process.env.PORT || 3001;\nconst q = process.env.PORT || 3001;\n")
    (tree / "svc" / "bad\x1b[31m.env").write_bytes(b"\xff\xfe\n")
    result = runner.invoke(app, ["check", "--scan", str(tree), "--current", str(tmp_path / "none.csv")])
    assert result.exit_code == 2  # the missing table, before anything else
    result = runner.invoke(app, ["scan", str(tree), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "bad\\x1b[31m.env:1: not UTF-8 text" in result.output


def test_check_scan_escapes_paths_in_problems(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "package.json").write_text("{}\n")
        (tmp_path / name / f"x\x1b[2J{name}.ts").write_text("const p = process.env.PORT || 3001;\n")
    result = runner.invoke(app, ["check", "--scan", str(tmp_path)])
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "dev:3001 is bound by a (a/x\\x1b[2Ja.ts:1)" in result.output


def test_cli_scan_bad_root_writes_nothing(tmp_path):
    result = runner.invoke(app, ["scan", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "no such folder" in result.output
    assert not (tmp_path / "out").exists()
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["check", "--scan", str(tmp_path / "file")])
    assert result.exit_code == 2 and "not a folder" in result.output


# ---- hostile file names: read and shown escaped, or reported, counted and failing the check ----

TWICE_3001 = 'services:\n  web:\n    image: x\n    ports:\n      - "3001:80"\n  api:\n    image: y\n    ports:\n      - "3001:81"\n'
HOSTILE = ("docker-compose.a b.yml", "docker-compose.a|b.yml", "docker-compose.a\x1bb.yml")


def test_compose_files_named_for_a_host_reorg_cannot_take_are_reported_and_fail_check(tmp_path):
    for name in HOSTILE:
        (tmp_path / name).write_text(TWICE_3001)
    result = runner.invoke(app, ["check", "--scan", str(tmp_path)])
    assert result.exit_code == 1, result.output  # was: "no problems", exit 0
    assert "no problems\n" not in result.stdout and "\x1b" not in result.output
    assert "3 file(s) not (fully) read (see stderr): docker-compose.a\\x1bb.yml, docker-compose.a b.yml, docker-compose.a|b.yml" in result.stdout
    warnings = result.stderr.splitlines()
    assert len(warnings) == 3 and all(w.startswith("warning: docker-compose.a") for w in warnings)
    assert "host 'a b' (from the file name) contains a space; not read: name its host with --map 'docker-compose.a b.yml=HOST'" in result.stderr
    assert "--map 'docker-compose.a?b.yml=HOST'" in result.stderr  # a glob that matches the ESC
    scanned = runner.invoke(app, ["scan", str(tmp_path), "--out", str(tmp_path / "out"), "--json"])
    assert scanned.exit_code == 0 and json.loads(scanned.stdout)["files_unread"] == sorted(HOSTILE)
    maps = ["--map", "docker-compose.a b.yml=h1", "--map", "docker-compose.a|b.yml=h2", "--map", "docker-compose.a?b.yml=h3"]
    mapped = runner.invoke(app, ["check", "--scan", str(tmp_path), *maps])
    assert mapped.exit_code == 1 and "3 problem(s)\n" in mapped.stdout and not mapped.stderr
    assert "h3:3001 is bound by api (docker-compose.a\\x1bb.yml:9) and web (docker-compose.a\\x1bb.yml:5)" in mapped.stdout


def test_spaces_and_punctuation_in_names_are_read(tmp_path):
    (tmp_path / "my app").mkdir()
    (tmp_path / "my app" / "docker-compose.yml").write_text(TWICE_3001)
    (tmp_path / "a|b; c" / "svc").mkdir(parents=True)
    (tmp_path / "a|b; c" / "svc" / "package.json").write_text("{}\n")
    (tmp_path / "a|b; c" / "svc" / "main $(file).ts").write_text("const p = process.env.PORT || 3005;\n")
    scan = scan_tree(tmp_path)
    assert not scan.notices and not scan.unread and scan.files_read == 3
    assert {(b.service, b.port, b.source) for b in scan.bindings} >= {("svc", 3005, "a|b; c/svc/main $(file).ts:1")}
    result = runner.invoke(app, ["check", "--scan", str(tmp_path)])
    assert result.exit_code == 1 and "dev:3001 is bound by api (my app/docker-compose.yml:9)" in result.stdout


def test_a_line_whose_service_name_reorg_cannot_take_counts_its_file_as_not_fully_read(tmp_path):
    (tmp_path / "a|b").mkdir()
    (tmp_path / "a|b" / "package.json").write_text("{}\n")
    (tmp_path / "a|b" / "main.ts").write_text("const p = process.env.PORT || 3005;\n")
    result = runner.invoke(app, ["check", "--scan", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert result.stderr == "warning: a|b/main.ts:1: service name 'a|b' contains '|'; not read\n"
    assert "1 file(s) not (fully) read (see stderr): a|b/main.ts" in result.stdout


def test_a_file_name_that_is_not_utf8_is_reported_and_counted(tmp_path):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "package.json").write_text("{}\n")
    (tmp_path / "svc" / "good.ts").write_text("const p = process.env.PORT || 3005;\n")
    try:
        with open(os.fsencode(tmp_path / "svc") + b"/bad\xff.ts", "w") as handle:
            handle.write("const p = process.env.PORT || 3005;\n")
    except OSError:
        pytest.skip("this file system takes only UTF-8 names")
    result = runner.invoke(app, ["scan", str(tmp_path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.stderr == "warning: svc/bad\\xff.ts:1: file name is not UTF-8 text, so it cannot be written out; skipped\n"
    assert "2 files read" in result.stdout and "1 file(s) not (fully) read (see stderr): svc/bad\\xff.ts" in result.stdout
    checked = runner.invoke(app, ["check", "--scan", str(tmp_path)])
    assert checked.exit_code == 1 and "no problems in what was read, but not everything was read" in checked.stdout
