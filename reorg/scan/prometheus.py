"""Reader for Prometheus configs: every ``targets`` entry (``static_configs``, alertmanagers,
blackbox URLs) and relabel ``replacement`` addresses (``blackbox-exporter:9115``).

A file is read when its name says prometheus and its root has ``scrape_configs``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from reorg.scan.literal import find_urls, split_host_port
from reorg.scan.model import Notice, Occurrence
from reorg.scan.reader import SourceFile, reference
from reorg.scan.yamltree import Node, YamlError, parse_yaml

_NAME = re.compile(r"^prometheus[\w.-]*\.ya?ml$")


def accepts(name: str) -> bool:
    return _NAME.match(name) is not None


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    try:
        root = parse_yaml(source.text)
    except YamlError as exc:
        yield source.notice(exc.line, str(exc))
        return
    if root is None or root.kind != "mapping" or root.get("scrape_configs") is None:
        return
    yield from _walk(source, root)


def _walk(source: SourceFile, node: Node) -> Iterator[Any]:
    if node.kind == "sequence":
        for child in node.children():
            yield from _walk(source, child)
        return
    for key, _k, value in node.items():
        if key == "targets" and value.kind == "sequence":
            for item in value.children():
                if item.kind == "scalar":
                    yield from _address(source, item)
        elif key == "replacement" and value.kind == "scalar":
            yield from _address(source, value)
        elif value.kind != "scalar":
            yield from _walk(source, value)


def _address(source: SourceFile, item: Node) -> Iterator[Any]:
    col0 = item.column + (1 if item.quoted else 0)
    pair = split_host_port(item.value)
    if pair is not None:
        host, port, offset = pair
        yield reference(source, item.line, col0 + offset, port, host, "prometheus-target")
        return
    for found in find_urls(item.value):
        yield reference(source, item.line, col0 + found.offset, found.port, found.host, "prometheus-target")
