"""Reader for cloudflared tunnel configs: each ``ingress`` rule's ``service`` URL
(``http://localhost:5000``, ``tcp://localhost:22``) points at a port of the tunnel's host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from reorg.scan.literal import find_urls
from reorg.scan.model import Notice, Occurrence
from reorg.scan.reader import SourceFile, reference
from reorg.scan.yamltree import YamlError, parse_yaml

_NAME = re.compile(r"^(?:cloudflared[\w.-]*|[\w.-]*tunnel[\w.-]*)\.ya?ml$")


def accepts(name: str) -> bool:
    return _NAME.match(name) is not None


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    try:
        root = parse_yaml(source.text)
    except YamlError as exc:
        yield source.notice(exc.line, str(exc))
        return
    ingress = root.get("ingress") if root is not None and root.kind == "mapping" else None
    if ingress is None or ingress.kind != "sequence":
        return
    for rule in ingress.children():
        service = rule.get("service") if rule.kind == "mapping" else None
        if service is None or service.kind != "scalar":
            continue
        col0 = service.column + (1 if service.quoted else 0)
        for found in find_urls(service.value):
            yield reference(source, service.line, col0 + found.offset, found.port, found.host, "cloudflared-ingress")
