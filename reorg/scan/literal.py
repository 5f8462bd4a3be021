"""Port literals inside text: where exactly they sit, and the shapes every reader shares.

A reader knows a value ("3001:3001", "http://mana-credits:3061/health") and where the value
starts; ``Text.locate`` finds the port's digits from there, so every occurrence points at the
literal the patch rewrites. The patterns here (URLs, ``host:port``, listen flags) are shapes of
text, not of a language, and are used by several readers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

PORT_MIN, PORT_MAX = 1, 65535

# scheme://[user[:pass]@]host:port  - the port is group "port", the host group "host"
URL = re.compile(
    r"\b(?P<scheme>[a-z][a-z0-9+.-]*)://(?:[^\s@/'\"`]*@)?(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)"
    r":(?P<port>[0-9]{1,5})(?![0-9])"
)
# a bare host:port of a host name everybody means the machine by (no scheme)
HOST_PORT = re.compile(
    r"(?<![\w.:/-])(?P<host>localhost|127\.0\.0\.1|0\.0\.0\.0|host\.docker\.internal):(?P<port>[0-9]{1,5})(?![0-9])"
)
# a listen flag: --port 3020, --port=3020, -p 3000, -httpListenAddr=:9090,
# --web.listen-address=:9093, --console-address ":9001", --bind 0.0.0.0:8000
LISTEN_FLAG = re.compile(
    r"(?<![\w-])(?:--port|-p|--http-port|--listen|--bind|-b|-{1,2}[A-Za-z.-]*(?:[Ll]isten[A-Za-z.-]*|[Aa]ddr(?:ess)?|-port))"
    r"(?:=|\s+|\",\s*\"|',\s*')[\"']?(?:[A-Za-z0-9_.-]*:|\[[0-9a-fA-F:]*\]:)?(?P<port>[0-9]{2,5})(?![0-9.])"
)

_MACHINE_WORDS = ("localhost", "127.0.0.1", "0.0.0.0", "host.docker.internal")
MACHINE_NAMES = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "host.docker.internal", "[::1]"})


def valid_port(text: str) -> int | None:
    try:
        port = int(text)
    except (TypeError, ValueError):
        return None
    return port if PORT_MIN <= port <= PORT_MAX else None


@dataclass(frozen=True)
class Text:
    """A file's text split into lines (without line ends)."""

    file: str
    lines: tuple[str, ...]

    @classmethod
    def of(cls, file: str, text: str) -> Text:
        # split on "\n" only (dropping a "\r" before it), as editors and the patch count lines
        return cls(file, tuple(line[:-1] if line.endswith("\r") else line for line in text.split("\n")))

    def locate(self, line0: int, col0: int, digits: str, nth: int = 0) -> tuple[int, int] | None:
        """The 1-based (line, column) of the ``nth`` standalone ``digits`` at or after the
        0-based (line0, col0); None if the text does not hold it (the value was escaped)."""
        pattern = re.compile(r"(?<![0-9])" + re.escape(digits) + r"(?![0-9])")
        seen = 0
        for index in range(line0, len(self.lines)):
            start = col0 if index == line0 else 0
            for match in pattern.finditer(self.lines[index], start):
                if seen == nth:
                    return (index + 1, match.start() + 1)
                seen += 1
        return None


def nth_in(value: str, offset: int, digits: str) -> int:
    """How many standalone ``digits`` come before ``offset`` in ``value``."""
    pattern = re.compile(r"(?<![0-9])" + re.escape(digits) + r"(?![0-9])")
    return sum(1 for m in pattern.finditer(value) if m.start() < offset)


@dataclass(frozen=True)
class Found:
    """A port inside a value: its offset there, and the host name written before it."""

    offset: int
    port: int
    host: str
    shape: str  # url, host-port or flag


def find_urls(value: str) -> Iterator[Found]:
    """URLs and bare machine ``host:port`` in a value, in order."""
    if ":" not in value:
        return
    taken: set[int] = set()
    for m in URL.finditer(value) if "://" in value else ():
        port = valid_port(m.group("port"))
        if port is not None:
            taken.add(m.start("port"))
            yield Found(m.start("port"), port, m.group("host").lower(), "url")
    if not any(name in value for name in _MACHINE_WORDS):
        return
    for m in HOST_PORT.finditer(value):
        port = valid_port(m.group("port"))
        if port is not None and m.start("port") not in taken:
            yield Found(m.start("port"), port, m.group("host").lower(), "host-port")


def find_flags(value: str) -> Iterator[Found]:
    """Listen flags in a command line."""
    for m in LISTEN_FLAG.finditer(value):
        port = valid_port(m.group("port"))
        if port is not None:
            yield Found(m.start("port"), port, "", "flag")


def split_host_port(value: str) -> tuple[str, int, int] | None:
    """``"mana-auth:3001"`` -> (host, port, offset of the port); None for anything else."""
    m = re.fullmatch(r"\s*(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,5})\s*", value)
    if not m:
        return None
    port = valid_port(m.group("port"))
    return (m.group("host").lower(), port, m.start("port")) if port is not None else None


def service_from_variable(variable: str) -> str:
    """``MANA_AUTH_PORT`` / ``MANA_AUTH_URL`` -> ``mana-auth``: the service a variable names."""
    stem = re.sub(r"_(PORT|URL|HOST|ADDR|ADDRESS|ENDPOINT|BASE_URL)$", "", variable.upper())
    return stem.lower().replace("_", "-")


# Variables that hold the owning service's own listen port.
OWN_PORT = re.compile(r"^(?:PORT|HTTP_PORT|APP_PORT|SERVER_PORT|LISTEN_PORT|WEB_PORT|API_PORT|[A-Z0-9]+(?:_SERVER)?_HTTP_PORT|[A-Z0-9_]*__HTTP_PORT)$", re.I)


def is_own_port_variable(variable: str) -> bool:
    return bool(OWN_PORT.match(variable))


def is_port_variable(variable: str) -> bool:
    return variable.upper() == "PORT" or variable.upper().endswith("_PORT")
