"""Reader for launchd plists: ``ProgramArguments`` (``--port N`` in one shell string or as two
strings) and ``EnvironmentVariables`` (``PORT``, ``*_PORT``, URLs).

``plistlib`` decides whether the file is a plist at all (and reads its values); expat, the XML
parser plistlib itself uses, gives each string its line, so each port points at its literal.
Entity declarations are refused (no expansion attacks). ``Disabled`` plists are ``stopped``.
The service is the ``Label``'s last dot-separated part (``com.mana.gpu-proxy`` -> ``gpu-proxy``).
"""

from __future__ import annotations

import plistlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn
from xml.parsers import expat

from reorg.scan.literal import (
    Found,
    find_flags,
    find_urls,
    is_own_port_variable,
    is_port_variable,
    service_from_variable,
    valid_port,
)
from reorg.scan.model import Notice, Occurrence, Role, Target
from reorg.scan.reader import SourceFile, reference


def accepts(name: str) -> bool:
    return name.endswith(".plist")


@dataclass
class Element:
    tag: str
    line0: int
    col0: int
    text: str = ""
    text_at: tuple[int, int] | None = None
    children: list[Element] = field(default_factory=list)

    def dict_items(self) -> Iterator[tuple[str, Element]]:
        kids = self.children
        for key, value in zip(kids[0::2], kids[1::2], strict=False):
            if key.tag == "key":
                yield key.text, value


class _NoEntities(Exception):
    pass


def parse_positions(data: bytes) -> Element:
    parser = expat.ParserCreate()
    root = Element("root", 0, 0)
    stack = [root]

    def start(tag: str, _attrs: dict[str, str]) -> None:
        element = Element(tag, parser.CurrentLineNumber - 1, parser.CurrentColumnNumber)
        stack[-1].children.append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        element = stack[-1]
        if element.text_at is None:
            element.text_at = (parser.CurrentLineNumber - 1, parser.CurrentColumnNumber)
        element.text += data

    def entity(*_args: object) -> NoReturn:
        raise _NoEntities()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.EntityDeclHandler = entity
    parser.Parse(data, True)
    return root


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    data = source.text.encode("utf-8")
    try:
        values = plistlib.loads(data)
    except (plistlib.InvalidFileException, ValueError, expat.ExpatError, _NoEntities) as exc:
        line = getattr(exc, "lineno", 1) or 1
        yield source.notice(line, f"not a plist ({str(exc) or type(exc).__name__}); not read")
        return
    if not isinstance(values, dict):
        return
    if not data.lstrip().startswith(b"<"):
        yield source.notice(1, "binary plist: its ports have no lines; convert it with `plutil -convert xml1` to scan it")
        return
    try:
        tree = parse_positions(data)
    except (expat.ExpatError, _NoEntities) as exc:
        yield source.notice(getattr(exc, "lineno", 1) or 1, "plist XML not readable; not read")
        return
    top = next((e for e in _walk(tree) if e.tag == "dict"), None)
    if top is None:
        return
    items = dict(top.dict_items())
    label = str(values.get("Label") or source.name.removesuffix(".plist"))
    service = label.rsplit(".", 1)[-1] if "." in label else label
    status = "stopped" if values.get("Disabled") is True else "running"
    common = {"owner": service, "status": status}
    arguments = items.get("ProgramArguments")
    strings = [e for e in arguments.children if e.tag == "string"] if arguments is not None else []
    for index, element in enumerate(strings):
        for found in find_flags(element.text):
            yield _at(source, element, found.offset, found.port, "plist-argument", Role.BINDING, **common)
        if re.fullmatch(r"--?(?:port|p|http-port)", element.text.strip()) and index + 1 < len(strings):
            nxt = strings[index + 1]
            port = valid_port(nxt.text.strip())
            if port is not None:
                yield _at(source, nxt, nxt.text.index(nxt.text.strip()), port, "plist-argument", Role.BINDING, **common)
        for found in find_urls(element.text):
            yield _ref(source, element, found, "plist-url", common)
    environment = items.get("EnvironmentVariables")
    for key, element in environment.dict_items() if environment is not None and environment.tag == "dict" else []:
        text = element.text.strip()
        port = valid_port(text) if is_port_variable(key) and element.tag in ("string", "integer") else None
        if port is not None:
            offset = element.text.index(text)
            if is_own_port_variable(key):
                yield _at(source, element, offset, port, "plist-env", Role.BINDING, **common)
            else:
                yield _at(source, element, offset, port, "plist-env", Role.REFERENCE, target=Target.SERVICE,
                          name=service_from_variable(key), **common)
            continue
        for found in find_urls(element.text):
            yield _ref(source, element, found, "plist-url", common)


def _walk(element: Element) -> Iterator[Element]:
    for child in element.children:
        yield child
        yield from _walk(child)


def _at(
    source: SourceFile, element: Element, offset: int, port: int, kind: str, role: Role, **fields: Any
) -> Occurrence | Notice:
    line0, col0 = element.text_at or (element.line0, element.col0)
    before = element.text[:offset]
    line0 += before.count("\n")
    col0 = len(before.rsplit("\n", 1)[-1]) + (col0 if "\n" not in before else 0)
    return source.at(line0, col0, port, kind, role, **fields)


def _ref(
    source: SourceFile, element: Element, found: Found, kind: str, common: dict[str, Any]
) -> Occurrence | Notice:
    line0, col0 = element.text_at or (element.line0, element.col0)
    before = element.text[:found.offset]
    line0 += before.count("\n")
    col0 = len(before.rsplit("\n", 1)[-1]) + (col0 if "\n" not in before else 0)
    return reference(source, line0, col0, found.port, found.host, kind, **common)
