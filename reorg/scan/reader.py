"""The one interface every reader implements, and what a reader is given.

A reader is a module with ``accepts(name) -> bool`` (by file name) and ``read(file) -> iterator
of Occurrence | Notice`` (compose also yields ``Alias``). It gets a ``SourceFile``: the path
relative to the scanned root, the text, the host the path maps to, the service its directory belongs to, and a way to read a
sibling file (compose's ``.env``). A reader never raises for bad content: it yields a
``Notice`` naming the line and stops reading that file or that block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from reorg.scan.literal import Text
from reorg.scan.model import Alias, Notice, Occurrence, Role, Target


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the scanned root, with "/"
    text: str
    host: str  # the host --map gives this file (the dev host by default)
    service: str  # the service the file's directory belongs to
    dev_host: str
    sibling: Callable[[str], str | None] = lambda _name: None  # text of a file in the same folder

    @cached_property
    def body(self) -> Text:
        return Text.of(self.path, self.text)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def at(
        self,
        line0: int,
        col0: int,
        port: int,
        kind: str,
        role: Role,
        *,
        literal: str | None = None,
        nth: int = 0,
        **fields: Any,
    ) -> Occurrence | Notice:
        """An occurrence of ``port`` written as ``literal`` at or after the 0-based position."""
        digits = literal if literal is not None else str(port)
        place = None
        if nth == 0 and line0 < len(self.body.lines):  # the common case: the digits are right here
            line = self.body.lines[line0]
            end = col0 + len(digits)
            if line.startswith(digits, col0) and (col0 == 0 or not line[col0 - 1].isdigit()) and not line[end:end + 1].isdigit():
                place = (line0 + 1, col0 + 1)
        if place is None:
            place = self.body.locate(line0, col0, digits, nth)
        if place is None:
            return Notice(self.path, line0 + 1, f"port {port} is not written literally here (escaped or folded); not read")
        fields.setdefault("owner", self.service)
        fields.setdefault("host", self.host)
        return Occurrence(
            file=self.path, line=place[0], column=place[1], port=port, kind=kind, role=role,
            literal=digits if digits != str(port) else "", **fields,
        )

    def notice(self, line: int, message: str) -> Notice:
        return Notice(self.path, line, message)


class Reader(Protocol):
    def accepts(self, name: str) -> bool: ...

    def read(self, source: SourceFile) -> Iterator[Occurrence | Notice | Alias]: ...


def reference(
    source: SourceFile, line0: int, col0: int, port: int, host: str, kind: str, nth: int = 0,
    **fields: Any,
) -> Occurrence | Notice:
    """A reference to ``host:port`` written at a position: a machine name points at the file's
    host, any other name at the service of that name."""
    target = Target.HOST if host in _MACHINES else Target.SERVICE
    return source.at(line0, col0, port, kind, Role.REFERENCE, nth=nth, target=target, name=host, **fields)


_MACHINES = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "host.docker.internal", "[::1]"})
