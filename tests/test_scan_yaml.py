"""The YAML readers (cloudflared, Prometheus, compose) share reorg.scan.yamlfile: the place of a
URL in a plain or quoted scalar, and one notice for a file that is not YAML. Columns are counted
by hand (1-based, the first digit of the port)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reorg.scan import scan_tree


def scanned(tmp_path: Path, name: str, text: str):
    (tmp_path / name).write_text(text)
    scan = scan_tree(tmp_path)
    rows = [(r.line, r.column, r.port, r.kind) for r in scan.rows if r.file == name]
    notices = [(n.line, n.message) for n in scan.notices if n.file == name]
    return rows, notices


@pytest.mark.parametrize(
    "name, text, expected",
    [
        # "  - service: " is 13 characters, "http://localhost:" 17 more: the port starts at 31
        ("cloudflared.yml", "ingress:\n  - service: http://localhost:5000\n",
         [(2, 31, 5000, "cloudflared-ingress")]),
        # a quoted scalar: the text starts one column later
        ("cloudflared.yml", "ingress:\n  - service: \"http://localhost:5000\"\n",
         [(2, 32, 5000, "cloudflared-ingress")]),
        ("cloudflared.yml", "ingress:\n  - service: 'tcp://localhost:22'\n  - service: http_status:404\n",
         [(2, 31, 22, "cloudflared-ingress")]),
        # "  - targets: ['" is 15 characters, "blackbox:" 9 more: 25
        ("prometheus.yml", "scrape_configs:\n  - targets: ['blackbox:9115']\n",
         [(2, 25, 9115, "prometheus-target")]),
        # a URL target (not host:port): "    - " 6, quote 1, "http://grafana:" 15: 23
        ("prometheus.yml", "scrape_configs:\n  - targets:\n    - 'http://grafana:3000/x'\n",
         [(3, 23, 3000, "prometheus-target")]),
        # "  - replacement: " 17, "exporter:" 9: 27
        ("prometheus.yml", "scrape_configs:\n  - replacement: exporter:9100\n",
         [(2, 27, 9100, "prometheus-target")]),
    ],
)
def test_urls_in_yaml_scalars_are_placed_on_their_digits(tmp_path, name, text, expected):
    rows, notices = scanned(tmp_path, name, text)
    assert notices == []
    assert rows == expected
    line, column, port, _kind = expected[0]
    assert text.splitlines()[line - 1][column - 1:].startswith(str(port))


@pytest.mark.parametrize("name", ["cloudflared.yml", "prometheus.yml", "docker-compose.yml"])
def test_a_file_that_is_not_yaml_is_one_notice_at_its_line(tmp_path, name):
    text = "a: 1\nb: [unclosed\nc: http://localhost:5000\n"
    rows, notices = scanned(tmp_path, name, text)
    assert rows == []
    assert len(notices) == 1
    line, message = notices[0]
    assert line == 3 and message.startswith("not valid YAML"), notices  # where the flow list breaks


@pytest.mark.parametrize("name", ["cloudflared.yml", "prometheus.yml"])
def test_an_empty_yaml_file_says_nothing(tmp_path, name):
    assert scanned(tmp_path, name, "") == ([], [])
