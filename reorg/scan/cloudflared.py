"""Reader for cloudflared tunnel configs: each ``ingress`` rule's ``service`` URL
(``http://localhost:5000``, ``tcp://localhost:22``) points at a port of the tunnel's host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from reorg.scan.model import Notice, Occurrence
from reorg.scan.reader import SourceFile
from reorg.scan.yamlfile import url_references, yaml_root

_NAME = re.compile(r"^(?:cloudflared[\w.-]*|[\w.-]*tunnel[\w.-]*)\.ya?ml$")


def accepts(name: str) -> bool:
    return _NAME.match(name) is not None


def read(source: SourceFile) -> Iterator[Occurrence | Notice]:
    root = yield from yaml_root(source)
    ingress = root.get("ingress") if root is not None and root.kind == "mapping" else None
    if ingress is None or ingress.kind != "sequence":
        return
    for rule in ingress.children():
        service = rule.get("service") if rule.kind == "mapping" else None
        if service is None or service.kind != "scalar":
            continue
        yield from url_references(source, service, "cloudflared-ingress")
