"""The only PyYAML user: a YAML document as a node tree that keeps line marks.

``yaml.compose`` builds nodes without constructing Python objects, so nothing in a file is ever
executed or instantiated (unknown tags such as compose's ``!reset`` are kept as plain nodes), and
every node carries ``start_mark.line/column``. The readers walk these nodes through the small
helpers below and never touch PyYAML themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the same nodes, faster


class YamlError(Exception):
    """A document that is not YAML; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Node:
    """A YAML node: ``kind`` is scalar, mapping or sequence; ``line``/``column`` are 0-based."""

    raw: yaml.Node

    @property
    def kind(self) -> str:
        if isinstance(self.raw, yaml.MappingNode):
            return "mapping"
        if isinstance(self.raw, yaml.SequenceNode):
            return "sequence"
        return "scalar"

    @property
    def line(self) -> int:
        line: int = self.raw.start_mark.line
        return line

    @property
    def column(self) -> int:
        column: int = self.raw.start_mark.column
        return column

    @property
    def text_column(self) -> int:
        """Where a scalar's text starts on its line: after the opening quote of a quoted one."""
        return self.column + (1 if self.quoted else 0)

    @property
    def value(self) -> str:
        """A scalar's text ('' for collections)."""
        text: str = self.raw.value if self.kind == "scalar" else ""
        return text

    @property
    def quoted(self) -> bool:
        return isinstance(self.raw, yaml.ScalarNode) and self.raw.style in ("'", '"')

    @property
    def plain(self) -> bool:
        """A plain or quoted one-line scalar, whose text sits verbatim at (line, column)."""
        return (
            isinstance(self.raw, yaml.ScalarNode)
            and self.raw.style in (None, "", "'", '"')
            and "\n" not in self.value
        )

    def items(self) -> Iterator[tuple[str, Node, Node]]:
        """A mapping's (key text, key node, value node), merge keys (``<<``) expanded."""
        if self.kind != "mapping":
            return
        for key, value in self.raw.value:
            if key.value == "<<" and isinstance(key, yaml.ScalarNode):
                merged = value.value if isinstance(value, yaml.SequenceNode) else [value]
                for source in merged:
                    yield from Node(source).items()
                continue
            if isinstance(key, yaml.ScalarNode):
                yield key.value, Node(key), Node(value)

    def get(self, name: str) -> Node | None:
        for key, _k, value in self.items():
            if key == name:
                return value
        return None

    def children(self) -> list[Node]:
        return [Node(n) for n in self.raw.value] if self.kind == "sequence" else []


def parse_yaml(text: str) -> Node | None:
    """The first document's root node (None for an empty file); ``YamlError`` if not YAML."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlError(line, f"not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:  # e.g. a second document: compose wants exactly one
        raise YamlError(1, f"not valid YAML ({str(exc).splitlines()[0]})") from None
    return Node(root) if root is not None else None
