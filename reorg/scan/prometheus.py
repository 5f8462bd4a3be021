"""Reader for Prometheus configs: every ``targets`` entry (``static_configs``, alertmanagers,
blackbox URLs) and relabel ``replacement`` addresses (``blackbox-exporter:9115``).

A file is read when its name says prometheus and its root has ``scrape_configs``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from reorg.scan.literal import split_host_port
from reorg.scan.model import Notice, Occurrence
from reorg.scan.reader import SourceFile, reference
from reorg.scan.yamlfile import url_references, yaml_root
from reorg.scan.yamltree import Node

_NAME = re.compile(r"^prometheus[\w.-]*\.ya?ml$")


def accepts(name: str) -> bool:
    return _NAME.match(name) is not None


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    root = yield from yaml_root(source)
    if root is None or root.kind != "mapping" or root.get("scrape_configs") is None:
        return
    yield from _walk(source, root)


def _walk(source: SourceFile, node: Node) -> Iterator[Occurrence | Notice]:
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


def _address(source: SourceFile, item: Node) -> Iterator[Occurrence | Notice]:
    pair = split_host_port(item.value)
    if pair is not None:
        host, port, offset = pair
        yield reference(source, item.line, item.text_column + offset, port, host, "prometheus-target")
        return
    yield from url_references(source, item, "prometheus-target")
