"""What the execution tests share: the CLI, loopback addresses of a test's own, and listening
sockets that stand in for services (tests touch only 127.0.0.0/8)."""

from __future__ import annotations

import json
import random
import socket
from typing import Any

from typer.testing import CliRunner

from reorg.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def run_json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.stdout, result.output
    return json.loads(result.stdout)


def loopback_prefix() -> str:
    """The first three parts of a loopback address of this test's own (127.0.0.0/8 answers on
    Linux without setup)."""
    return f"127.{random.randint(1, 254)}.{random.randint(1, 254)}"


def loopback() -> str:
    return f"{loopback_prefix()}.{random.randint(2, 254)}"


class Listeners:
    """Listening sockets by key (a port, or a (host, port)), closed together at the end."""

    def __init__(self) -> None:
        self.sockets: dict[Any, socket.socket] = {}

    def open(self, key: Any, address: str, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(64)
        self.sockets[key] = sock

    def shut(self, key: Any) -> None:
        self.sockets.pop(key).close()

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()


class Ports:
    """Real ports on 127.0.0.1: ``listen()`` one that answers, ``closed()`` one that refuses."""

    def __init__(self):
        self.sockets: list[socket.socket] = []

    def listen(self, port: int = 0) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        self.sockets.append(sock)
        return sock.getsockname()[1]

    def stop(self, port: int) -> None:
        for sock in [s for s in self.sockets if s.getsockname()[1] == port]:
            sock.close()
            self.sockets.remove(sock)

    @staticmethod
    def closed() -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        return port

    def close_all(self) -> None:
        for sock in self.sockets:
            sock.close()
