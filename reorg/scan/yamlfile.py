"""What the YAML readers (compose, Prometheus, cloudflared) share: a file's root node, and the
URL references written in one scalar."""

from __future__ import annotations

from collections.abc import Generator, Iterator

from reorg.scan.literal import find_urls
from reorg.scan.model import Notice, Occurrence
from reorg.scan.reader import SourceFile, reference
from reorg.scan.yamltree import Node, YamlError, parse_yaml


def yaml_root(source: SourceFile) -> Generator[Notice, None, Node | None]:
    """The file's root node (None for an empty file). A file that is not YAML yields one notice
    naming the line and gives None. Use as ``root = yield from yaml_root(source)``."""
    try:
        return parse_yaml(source.text)
    except YamlError as exc:
        yield source.notice(exc.line, str(exc))
        return None


def url_references(source: SourceFile, node: Node, kind: str) -> Iterator[Occurrence | Notice]:
    """A reference for each URL written in a scalar (``http://localhost:5000``), at its place."""
    for found in find_urls(node.value):
        yield reference(source, node.line, node.text_column + found.offset, found.port, found.host, kind)
