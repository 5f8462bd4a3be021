"""Runbooks that name the lines, and ``reorg patch``: step by step through the fixture's plan and
back leaves the tree byte-identical; a changed line is refused. And the scan's round trip: a
random inventory rendered into a tree and scanned comes back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reorg.cli import app
from reorg.model import ReorgError
from reorg.planfile import read_plan
from reorg.scan import scan_tree
from reorg.scan.patch import make_patch, write_patch
from reorg.scan.table import read_references

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MAP_ARGS = ["--map", "docker-compose.macmini.yml=mac-mini", "--map", "infra/**=mac-mini", "--map", "scripts/mac-mini/**=mac-mini"]
runner = CliRunner()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture
def planned(tmp_path):
    """The fixture tree copied, scanned and planned (with --refs) toward monorepo-target.csv."""
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / "monorepo", tree, symlinks=True)
    out = tmp_path / "scan"
    assert runner.invoke(app, ["scan", str(tree), "--out", str(out), *MAP_ARGS]).exit_code == 0
    result = runner.invoke(app, [
        "plan", "--current", str(out / "current.csv"), "--target", str(FIXTURES / "monorepo-target.csv"),
        "--out", str(tmp_path / "plans"), "--refs", str(out / "references.csv"),
    ])
    assert result.exit_code == 0, result.output
    return tree, out, tmp_path / "plans" / "reorg.json", tmp_path / "plans" / "reorg.md"


def test_runbook_lists_every_line_per_step(planned):
    tree, out, plan_path, runbook = planned
    text = runbook.read_text()
    plan = read_plan(plan_path).plan
    rows = read_references(out / "references.csv")
    auth = next(s for s in plan.steps if (s.service, s.host) == ("mana-auth", "mac-mini"))
    section = text.split(f"- [ ] {auth.step}. ", 1)[1].split("\n- [ ] ", 1)[0]
    listed = [line.strip()[3:].split("`")[0] for line in section.splitlines() if line.strip().startswith("- `")]
    expected = [r for r in rows if (r.service, r.host, r.port) == ("mana-auth", "mac-mini", 3001)]
    binding_first = sorted(expected, key=lambda r: (r.role.value != "binding", r.file, r.line, r.column))
    assert listed == [f"{r.file}:{r.line}" for r in binding_first]
    assert listed[:2] == ["docker-compose.macmini.yml:11", "docker-compose.macmini.yml:11"]
    assert "infra/prometheus/prometheus.yml:7" in listed and "infra/cloudflared/cloudflared-config.yml:4" in listed
    assert "docker-compose.macmini.yml:26" in listed  # mana-credits' MANA_AUTH_URL
    # every step has its lines and a source in the scanned table: no generic list of places
    assert "Lines to edit: none known" not in text and "## Where a port is configured" not in text


def test_patch_forward_then_back_is_byte_identical(planned):
    tree, out, plan_path, _ = planned
    before = snapshot(tree)
    plan = read_plan(plan_path).plan
    rows = read_references(out / "references.csv")
    for step in plan.steps:
        write_patch(make_patch(plan, step.step, rows, tree))
    # every moved binding is now where the plan puts it, as a fresh scan reads it
    after = {(b.service, b.host): b.port for b in scan_tree(tree, _maps()).bindings}
    for step in plan.steps:
        if step.to_port is not None and step.kind.value != "to-temp":
            assert after[(step.service, step.host)] == step.to_port, step
    assert snapshot(tree) != before
    for step in reversed(plan.steps):
        write_patch(make_patch(plan, step.step, rows, tree, reverse=True))
    assert snapshot(tree) == before


def test_patch_cli_prints_a_diff_and_refuses_a_changed_line(planned):
    tree, out, plan_path, _ = planned
    plan = read_plan(plan_path).plan
    step = next(s for s in plan.steps if (s.service, s.host) == ("memoro-server", "mac-mini"))
    args = ["patch", str(step.step), "--plan", str(plan_path), "--refs", str(out / "references.csv"), "--root", str(tree)]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0
    assert '-      - "3015:3015"' in shown.output and '+      - "3031:3031"' in shown.output
    assert snapshot(tree) == snapshot(FIXTURES / "monorepo")  # without --write nothing changes
    compose = tree / "docker-compose.macmini.yml"
    compose.write_text(compose.read_text().replace('      - "3015:3015"\n    environment:\n      MANA_CREDITS', '      - "3016:3015"\n    environment:\n      MANA_CREDITS'))
    edited = compose.read_bytes()
    refused = runner.invoke(app, [*args, "--write"])
    assert refused.exit_code == 2 and "docker-compose.macmini.yml:38: expected port 3015" in refused.output
    assert compose.read_bytes() == edited  # nothing written


def test_patch_refuses_paths_outside_the_tree_and_symlinks(planned, tmp_path):
    tree, out, plan_path, _ = planned
    plan = read_plan(plan_path).plan
    step = next(s for s in plan.steps if (s.service, s.host) == ("memoro-server", "mac-mini"))
    bad = tmp_path / "bad.csv"
    bad.write_text("file,line,column,port,kind,service,host,role\n../x,1,1,3015,k,memoro-server,mac-mini,binding\n")
    with pytest.raises(ReorgError, match="bad.csv:2: file '../x' must be a path inside"):
        read_references(bad)
    target = tree / "docker-compose.macmini.yml"
    moved = tmp_path / "elsewhere.yml"
    target.rename(moved)
    target.symlink_to(moved)
    with pytest.raises(ReorgError, match="is a symlink; refusing"):
        make_patch(plan, step.step, read_references(out / "references.csv"), tree)


def _maps():
    from reorg.scan import parse_maps

    return parse_maps(MAP_ARGS[1::2])


# ---- round trip: an inventory rendered into a tree is scanned back -----------------------------

NAMES = st.from_regex(r"svc-[a-z]{1,6}", fullmatch=True)
SHAPES = ("ts-or", "ts-nullish", "ts-env", "go-getenv", "py-getenv", "pydantic", "plist")


@st.composite
def inventories(draw):
    """{host: {service: (port, shape)}}; dev services are source defaults, others compose."""
    hosts = draw(st.lists(st.sampled_from(["dev", "mac-mini", "gpu"]), min_size=1, max_size=3, unique=True))
    inventory = {}
    for host in hosts:
        services = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
        inventory[host] = {
            s: (draw(st.integers(1024, 65535)), draw(st.sampled_from(SHAPES))) for s in services
        }
    return inventory


def render_tree(root: Path, inventory: dict) -> None:
    for host, services in inventory.items():
        if host != "dev":
            lines = ["services:"]
            for service, (port, _shape) in services.items():
                lines += [f"  {service}:", "    ports:", f'      - "{port}:{port}"']
            (root / f"docker-compose.{host}.yml").write_text("\n".join(lines) + "\n")
            continue
        for service, (port, shape) in services.items():
            folder = root / "services" / service
            folder.mkdir(parents=True)
            if shape == "plist":
                (folder / f"com.example.{service}.plist").write_text(
                    '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n'
                    f"  <key>Label</key><string>com.example.{service}</string>\n"
                    f"  <key>ProgramArguments</key><array><string>/bin/x</string><string>--port</string><string>{port}</string></array>\n"
                    "</dict>\n</plist>\n"
                )
            elif shape.startswith("ts"):
                (folder / "package.json").write_text('{"name": "x"}\n')
                code = {
                    "ts-or": f"const port = parseInt(process.env.PORT || '{port}', 10);\n",
                    "ts-nullish": f"const port = Number(process.env.PORT ?? {port});\n",
                    "ts-env": f"const port = env('PORT', '{port}');\n",
                }[shape]
                (folder / "src").mkdir()
                (folder / "src" / "config.ts").write_text("// config\n" + code)
            elif shape == "go-getenv":
                (folder / "go.mod").write_text("module x\n")
                (folder / "main.go").write_text(f'package main\n\nvar port = getEnv("PORT", "{port}")\n')
            else:
                (folder / "pyproject.toml").write_text('[project]\nname = "x"\n')
                code = f'port = int(os.getenv("PORT", "{port}"))\n' if shape == "py-getenv" else f"class S:\n    port: int = {port}\n"
                (folder / "main.py").write_text(code)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inventory=inventories())
def test_scan_gives_the_inventory_back(tmp_path_factory, inventory):
    root = tmp_path_factory.mktemp("inventory")
    render_tree(root, inventory)
    scan = scan_tree(root)
    got = {(b.service, b.host, b.port) for b in scan.bindings}
    want = {(s, h, p) for h, services in inventory.items() for s, (p, _shape) in services.items()}
    assert got == want
    assert not scan.notices
