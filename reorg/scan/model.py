"""Values of a repository scan: where a port is written, what listens where, what went wrong.

Glossary (the project's, plus three words of its own):

- occurrence: one port literal in one file, at a line and column (1-based). Its ``role`` is
  ``binding`` (the line makes something listen) or ``reference`` (the line points at a port).
- listener: an occurrence that makes a service listen on a port of a host (a compose published
  port, a launchd plist, a source default, a dev server). Listeners become the rows of the
  scan's ``current.csv``; other binding occurrences (a container port, ``EXPOSE``, ``PORT=`` in
  an env file) only say which lines to edit.
- notice: a file or line the scan could not read; the scan goes on.

Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reorg.scan.resolve import Resolution


class Role(str, Enum):
    BINDING = "binding"
    REFERENCE = "reference"


class Target(str, Enum):
    """How a reference names what it points at."""

    SELF = "self"  # the owning service itself (healthcheck, traefik label, its own URL)
    SERVICE = "service"  # a service name: ``http://mana-credits:3061``, ``MANA_AUTH_PORT``
    HOST = "host"  # the machine: ``localhost``, ``127.0.0.1``, ``host.docker.internal``
    NONE = ""  # a binding


# Kinds whose occurrences make a service listen on a port of a host (rows of current.csv).
LISTENER_KINDS = frozenset(
    {"compose-published", "plist-argument", "plist-env", "source-default", "dev-server"}
)


@dataclass(frozen=True)
class Occurrence:
    """One port literal. ``owner`` is the service whose file or block this is; ``name`` is the
    name a reference writes (a service or a host name). ``host`` is the file's host."""

    file: str
    line: int
    column: int
    port: int
    kind: str
    role: Role
    owner: str = ""
    host: str = ""
    target: Target = Target.NONE
    name: str = ""
    container_port: int | None = None  # compose published ports: the container side
    status: str = ""  # running / stopped / unsure, when the file says
    note: str = ""
    literal: str = ""  # the text at (line, column); defaults to str(port)
    profiles: tuple[str, ...] = ()  # compose profiles of the owning service

    @property
    def text(self) -> str:
        return self.literal or str(self.port)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (self.file, self.line, self.column, self.port, self.kind)

    def with_(self, **changes: Any) -> Occurrence:
        return replace(self, **changes)


@dataclass(frozen=True, order=True)
class Alias:
    """Another name of a service on a host (a compose ``container_name``)."""

    name: str
    service: str
    host: str


@dataclass(frozen=True)
class Notice:
    """A file or line the scan skipped, and why: printed as ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True, order=True)
class ScannedBinding:
    """A row of the scan's current.csv: a service listening on a port of a host."""

    host: str
    port: int
    service: str
    source: str  # file:line
    status: str = "running"
    note: str = ""
    profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """A row of references.csv: an occurrence and the binding it belongs to (if any)."""

    file: str
    line: int
    column: int
    port: int
    kind: str
    service: str
    host: str
    role: Role
    literal: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "port": self.port,
            "kind": self.kind,
            "service": self.service,
            "host": self.host,
            "role": self.role.value,
        }


@dataclass(frozen=True)
class Scan:
    """Everything one scan found. ``attached`` maps an occurrence to the binding key
    (service, host) it belongs to, when one is known; ``unread`` names the files skipped whole."""

    root: str
    files_read: int
    bindings: tuple[ScannedBinding, ...]
    rows: tuple[Row, ...]
    occurrences: tuple[Occurrence, ...]
    notices: tuple[Notice, ...]
    attached: dict[Any, Any] = field(default_factory=dict)  # Occurrence -> (service, host)
    resolution: Resolution | None = None  # dangling references, listeners that lost
    # Files a reader accepts that were not read (too large, binary, not UTF-8, not readable, a
    # name that cannot be written out, a host name reorg cannot take) or whose lines name a
    # service or host reorg cannot take: each also a notice.
    unread: tuple[str, ...] = ()
