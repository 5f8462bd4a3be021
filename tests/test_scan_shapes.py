"""Each textual shape of a port the readers know, one small file each: what is read, where, and
as what (the shapes of /work/shared/managarten/README.md and of issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reorg.scan import scan_tree


def rows_of(tmp_path: Path, name: str, text: str, marker: str | None = "package.json"):
    path = tmp_path / "svc" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if marker:
        (tmp_path / "svc" / marker).write_text("{}\n" if marker == "package.json" else "x\n")
    path.write_text(text)
    scan = scan_tree(tmp_path)
    assert not scan.notices, scan.notices
    return [(r.line, r.column, r.port, r.kind, r.role.value) for r in scan.rows if r.file == f"svc/{name}"]


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("src/a.ts", "const p = process.env.PORT || 3000;\n", [(1, 31, 3000, "source-default", "binding")]),
        ("src/a.ts", "const p = parseInt(process.env.PORT || '3061', 10);\n", [(1, 41, 3061, "source-default", "binding")]),
        ("src/a.ts", "const p = Number(process.env.PORT ?? 3015);\n", [(1, 38, 3015, "source-default", "binding")]),
        ("src/a.ts", "const p = env('PORT', '3001');\n", [(1, 24, 3001, "source-default", "binding")]),
        ("src/a.ts", "const p = intEnv('PORT', 3070);\n", [(1, 26, 3070, "source-default", "binding")]),
        ("src/a.ts", "port: configService.get<number>('port', 3030),\n", [(1, 41, 3030, "source-default", "binding")]),
        ("src/a.ts", "app.listen(3000);\n", [(1, 12, 3000, "source-default", "binding")]),
        ("src/a.ts", "const url = process.env.MANA_AUTH_URL || 'http://mana-auth:3001';\n", [(1, 60, 3001, "source-url", "reference")]),
        ("gen.mjs", "PORT: (env) => env.MANA_AUTH_PORT || '3001',\n", [(1, 39, 3001, "source-port", "reference")]),
        ("src/a.ts", "// app.listen(3000)\n/* process.env.PORT || 3001 */\n", []),
        ("src/a.ts", "const base = `http://localhost:${process.env.PORT || 3001}`;\n", [(1, 54, 3001, "source-default", "reference")]),
        ("main.go", 'cfg.Port = getEnv("PORT", "3050")\n', [(1, 28, 3050, "source-default", "binding")]),
        ("main.go", 'p := envutil.GetInt("PORT", 3021)\n', [(1, 29, 3021, "source-default", "binding")]),
        ("app.py", 'port = int(os.getenv("PORT", "3020"))\n', [(1, 31, 3020, "source-default", "binding")]),
        ("app.py", "port = os.environ.get('PORT', 8080)\n", [(1, 31, 8080, "source-default", "binding")]),
        ("app.py", "    port: int = 3025\n", [(1, 17, 3025, "source-default", "binding")]),
        ("app.py", 'uvicorn.run(app, host="0.0.0.0", port=8000)\n', [(1, 39, 8000, "source-default", "binding")]),
        ("app.py", "# port: int = 3025\n", []),
        ("start.sh", "exec node server.js --port ${PORT:-3050}\n", [(1, 36, 3050, "source-default", "binding")]),
        ("start.sh", "uvicorn app:app --port 3020  # --port 9\n", [(1, 24, 3020, "source-default", "binding")]),
        ("vite.config.ts", "export default { server: { port: 5173, strictPort: true } };\n", [(1, 34, 5173, "dev-server", "binding")]),
        ("package.json", '{\n  "scripts": {"dev": "astro dev --port 4322"}\n}\n', [(2, 40, 4322, "dev-server", "binding")]),
    ],
)
def test_source_shapes(tmp_path, name, text, expected):
    marker = None if name == "package.json" else "package.json"
    assert rows_of(tmp_path, name, text, marker) == expected


@pytest.mark.parametrize(
    "ports, expected",
    [
        ('"3001:3001"', [(4, 10, 3001, "compose-published"), (4, 15, 3001, "compose-container")]),
        ('"127.0.0.1:9090:9091"', [(4, 20, 9090, "compose-published"), (4, 25, 9091, "compose-container")]),
        ('"4000-4001:5000-5001"', [(4, 10, 4000, "compose-published"), (4, 15, 4001, "compose-published"),
                                   (4, 20, 5000, "compose-container"), (4, 25, 5001, "compose-container")]),
        ('"3478:3478/udp"', [(4, 10, 3478, "compose-published"), (4, 15, 3478, "compose-container")]),
        ('"8080"', [(4, 10, 8080, "compose-container")]),
        ("8080", [(4, 9, 8080, "compose-container")]),
        ("'${APP_PORT:-3005}:3000'", [(4, 22, 3005, "compose-published"), (4, 28, 3000, "compose-container")]),
    ],
)
def test_compose_port_short_syntax(tmp_path, ports, expected):
    (tmp_path / "docker-compose.yml").write_text(f"services:\n  app:\n    ports:\n      - {ports}\n")
    scan = scan_tree(tmp_path)
    assert sorted((r.line, r.column, r.port, r.kind) for r in scan.rows) == sorted(expected)


def test_compose_env_forms_and_labels(tmp_path):
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n"
        "  grafana:\n"
        "    environment:\n"
        "      GF_SERVER_HTTP_PORT: 8000\n"
        "      FORGEJO__server__HTTP_PORT: 3000\n"
        "      SMTP_PORT: ${SMTP_PORT:-587}\n"
        "      REDIS_URL: redis://redis:6379\n"
        "    labels:\n"
        "      traefik.http.services.g.loadbalancer.server.port: 8000\n"
        "    healthcheck:\n"
        "      test: wget -q http://localhost:8000/api/health\n"
        "    command: --console-address \":9001\" -httpListenAddr=:9090\n"
        "  redis:\n"
        "    expose: [6379]\n"
    )
    rows = [(r.line, r.port, r.kind, r.service, r.role.value) for r in scan_tree(tmp_path).rows]
    assert rows == [
        (4, 8000, "compose-env-port", "grafana", "binding"),
        (5, 3000, "compose-env-port", "grafana", "binding"),
        (6, 587, "compose-env-port", "smtp", "reference"),
        (7, 6379, "compose-url", "redis", "reference"),
        (9, 8000, "traefik-label", "grafana", "reference"),
        (11, 8000, "compose-healthcheck", "grafana", "reference"),
        (12, 9001, "compose-command", "grafana", "binding"),
        (12, 9090, "compose-command", "grafana", "binding"),
        (14, 6379, "compose-expose", "redis", "binding"),
    ]


def test_dockerfile_forms(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM node\n"
        "ENV NODE_ENV=production PORT=5000\n"
        "ENV AUTH_PORT 3001\n"
        "EXPOSE 5000/tcp 9229\n"
        "CMD node server.js --port=5000\n"
        "HEALTHCHECK CMD curl -f http://127.0.0.1:5000/ || exit 1\n"
    )
    rows = [(r.line, r.column, r.port, r.kind, r.role.value) for r in scan_tree(tmp_path).rows]
    assert rows == [
        (2, 30, 5000, "dockerfile-env", "binding"),
        (3, 15, 3001, "dockerfile-env", "reference"),
        (4, 8, 5000, "dockerfile-expose", "binding"),
        (4, 17, 9229, "dockerfile-expose", "binding"),
        (5, 27, 5000, "dockerfile-command", "binding"),
        (6, 42, 5000, "dockerfile-healthcheck", "reference"),
    ]


def test_plist_port_as_two_strings_and_env(tmp_path):
    (tmp_path / "com.mana.stt.plist").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n'
        "  <key>Label</key>\n  <string>com.mana.mana-stt</string>\n"
        "  <key>ProgramArguments</key>\n  <array>\n    <string>/usr/bin/python3</string>\n"
        '    <string>--port</string>\n    <string>3020</string>\n  </array>\n'
        "  <key>EnvironmentVariables</key>\n  <dict>\n    <key>STT_PORT</key>\n    <string>3020</string>\n"
        "    <key>LLM_URL</key>\n    <string>http://localhost:3025</string>\n  </dict>\n"
        "</dict>\n</plist>\n"
    )
    scan = scan_tree(tmp_path)
    assert [(b.service, b.port, b.source) for b in scan.bindings] == [("mana-stt", 3020, "com.mana.stt.plist:10")]
    rows = [(r.line, r.column, r.port, r.kind, r.role.value) for r in scan.rows]
    assert rows == [
        (10, 13, 3020, "plist-argument", "binding"),
        (15, 13, 3020, "plist-env", "reference"),  # STT_PORT names the service "stt"
        (17, 30, 3025, "plist-url", "reference"),
    ]


def test_plist_refuses_entities(tmp_path):
    (tmp_path / "com.x.plist").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE plist [<!ENTITY a "aaaa">]>\n<plist version="1.0"><dict></dict></plist>\n'
    )
    scan = scan_tree(tmp_path)
    assert [n.message.split(" (")[0] for n in scan.notices] == ["not a plist"]


def test_progress_line_for_large_trees(tmp_path, monkeypatch):
    import reorg.scan as scan_module

    monkeypatch.setattr(scan_module, "PROGRESS_EVERY", 2)
    for i in range(5):
        (tmp_path / f"docker-compose.h{i}.yml").write_text("services: {}\n")
    lines: list[str] = []
    scan_tree(tmp_path, progress=lines.append)
    assert lines[0].startswith("scan: 2 files read") and lines[-1].startswith("scan: 5 files read, 0 bindings")


def test_python_docstrings_are_documentation(tmp_path):
    text = (
        '"""Start with `uvicorn app:app --port 3020` or app.listen(3000)."""\n'
        "def f():\n"
        "    '''\n"
        "    port: int = 3025\n"
        "    '''\n"
        '    return os.getenv("PORT", "3021")\n'
    )
    assert rows_of(tmp_path, "app.py", text, "pyproject.toml") == [(6, 31, 3021, "source-default", "binding")]
