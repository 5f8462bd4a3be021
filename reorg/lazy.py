"""A package's names that live in its submodules, imported on first use (PEP 562).

``reorg.commands`` and ``reorg.render`` re-export their submodules' names this way, so that
e.g. ``reorg status`` never imports the planners, the scan readers, pandas or ortools (issue 8).
Standard library only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(
    namespace: dict[str, Any], homes: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The package's ``__getattr__`` and ``__dir__``: ``homes`` maps a name to the module that
    defines it; the first look-up imports that module and keeps the value in ``namespace``
    (the package's ``globals()``), so later look-ups never come back here."""
    package = namespace["__name__"]

    def attribute(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    def names() -> list[str]:
        return sorted(set(namespace) | set(homes))

    return attribute, names
