"""Which files of a checkout are read, safely, and with which host and service.

Files are found with ``os.walk`` (symlinks are never followed; a symlink loop or a link out of
the tree is a notice), in sorted order. Only files some reader accepts are opened at all; a
file that is not a regular file (a FIFO, a socket, a device), larger than the cap, binary or
not UTF-8 is a notice and skipped, and so is a file whose name is not UTF-8 (it could not be
written out); each is also in ``unread``. Other names, hostile ones included, are read: they are
escaped where they are shown. Test, fixture and documentation folders, test files and
lock files are skipped by default; the skipping looks only at the path below the scanned root,
so a tree that itself lives under ``tests/fixtures/`` is read.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reorg.scan.model import Notice
from reorg.scan.reader import Reader

MAX_BYTES = 2_000_000
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", "vendor", ".venv", "venv", "__pycache__", ".next", ".astro",
    ".svelte-kit", ".turbo", ".cache", "dist", "build", "coverage", ".pytest_cache", ".mypy_cache",
    "test", "tests", "__tests__", "__mocks__", "spec", "specs", "e2e", "fixtures", "__fixtures__", "testdata",
    "docs", "doc",
})
SKIP_FILES = (
    "*.test.*", "*.spec.*", "*_test.go", "test_*.py", "*_test.py", "conftest.py", "*.md", "*.mdx", "*.rst",
    "*.lock", "package-lock.json", "pnpm-lock.yaml", "npm-shrinkwrap.json", "go.sum", "*.min.js",
)
_SKIP_FILE = re.compile("|".join(fnmatch.translate(p) for p in SKIP_FILES))
MARKERS = frozenset({
    "package.json", "go.mod", "pyproject.toml", "requirements.txt", "setup.py", "Cargo.toml", "deno.json",
    "Dockerfile",
})
GENERIC = frozenset({"server", "web", "api", "app", "backend", "frontend", "admin", "admin-api", "worker", "client"})
GROUPS = frozenset({"apps", "services", "packages", "cmd"})


def _representable(rel: str) -> bool:
    """Whether a path can be written to the scan's UTF-8 tables and reports: not when the file
    system gave bytes that are not UTF-8 (``os.walk`` keeps them as lone surrogates)."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_path(rel: str) -> str:
    """A path as reports show it: undecodable bytes as ``\\xNN`` (other characters stay; the CLI
    shows control characters as escapes)."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Candidate:
    """A file some reader accepts: its path relative to the root, and which reader."""

    rel: str
    path: Path
    reader: Reader


def matches(rel: str, pattern: str) -> bool:
    """A glob against a root-relative path (``*`` crosses folders), or against the file name
    when the glob has no ``/``."""
    if fnmatch.fnmatchcase(rel, pattern) or fnmatch.fnmatchcase(rel + "/", pattern):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], pattern)


class Walker:
    def __init__(self, root: Path, readers: list[Reader], excludes: tuple[str, ...], max_bytes: int = MAX_BYTES) -> None:
        self.root = root
        self.readers = readers
        self.excludes = excludes
        self.max_bytes = max_bytes
        self.notices: list[Notice] = []
        self.unread: set[str] = set()  # files (and folders) a reader would have read, skipped whole
        self.markers: set[str] = set()  # root-relative folders holding a project marker ("" = root)

    def excluded(self, rel: str) -> bool:
        return any(matches(rel, glob) for glob in self.excludes)

    def files(self) -> Iterator[Candidate]:
        root = str(self.root)
        for directory, dirnames, filenames in os.walk(root, topdown=True, followlinks=False, onerror=self._walk_error):
            rel_dir = os.path.relpath(directory, root).replace(os.sep, "/")
            rel_dir = "" if rel_dir == "." else rel_dir
            kept = []
            for name in sorted(dirnames):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                full = os.path.join(directory, name)
                if name in SKIP_DIRS or self.excluded(rel):
                    continue
                if os.path.islink(full):
                    self._check_link(rel, full)
                    continue
                kept.append(name)
            dirnames[:] = kept
            if MARKERS.intersection(filenames):
                self.markers.add(rel_dir)
            for name in sorted(filenames):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                reader = next((r for r in self.readers if r.accepts(name)), None)
                if reader is None or _SKIP_FILE.match(name) or self.excluded(rel):
                    continue
                full = os.path.join(directory, name)
                if os.path.islink(full):
                    self._check_link(rel, full)
                    continue
                if not _representable(rel):
                    self._skip(shown_path(rel), 1, "file name is not UTF-8 text, so it cannot be written out; skipped")
                    continue
                yield Candidate(rel, Path(full), reader)

    def _walk_error(self, exc: OSError) -> None:
        rel = os.path.relpath(exc.filename or str(self.root), str(self.root)).replace(os.sep, "/")
        self._skip(shown_path(rel), 1, f"folder not readable ({exc.strerror or exc}); skipped")

    def _skip(self, rel: str, line: int, why: str) -> None:
        """A file (or folder) not read at all: a notice, and counted as not read."""
        self.notices.append(Notice(rel, line, why))
        self.unread.add(rel)

    def _check_link(self, rel: str, full: str) -> None:
        """Links are not followed (their target is scanned where it lives); broken ones and
        loops are worth a notice."""
        try:
            target = os.path.realpath(full, strict=True)
        except OSError as exc:
            what = "symlink loop" if exc.errno == errno.ELOOP else "broken symlink"
            self.notices.append(Notice(rel, 1, f"{what}; skipped"))
            return
        inside = os.path.commonpath([target, os.path.realpath(self.root)]) == os.path.realpath(self.root)
        if not inside:
            self.notices.append(Notice(rel, 1, "symlink out of the scanned tree; not followed"))

    def read_text(self, rel: str, path: Path) -> str | None:
        """The file's text, or None with a notice: never opens anything but a regular file."""
        try:
            info = os.lstat(path)
        except OSError as exc:
            self._skip(rel, 1, f"not readable ({exc.strerror or exc}); skipped")
            return None
        if not stat.S_ISREG(info.st_mode):
            self._skip(rel, 1, "not a regular file (a folder, FIFO, socket or device); skipped")
            return None
        if info.st_size > self.max_bytes:
            self._skip(rel, 1, f"larger than {self.max_bytes} bytes ({info.st_size}); skipped")
            return None
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as handle:
                data = handle.read(self.max_bytes + 1)
        except OSError as exc:
            self._skip(rel, 1, f"not readable ({exc.strerror or exc}); skipped")
            return None
        if b"\0" in data[:8192]:
            self._skip(rel, 1, "binary file; skipped")
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self._skip(rel, line, "not UTF-8 text; skipped")
            return None
        return text

    def sibling(self, rel: str, path: Path) -> Callable[[str], str | None]:
        def read(name: str) -> str | None:
            other = path.parent / name
            if not os.path.lexists(other):
                return None
            other_rel = f"{rel.rsplit('/', 1)[0]}/{name}" if "/" in rel else name
            return self.read_text(other_rel, other)

        return read

    def service_of(self, rel: str) -> str:
        """The service a file belongs to: its nearest folder with a project marker, named by
        that folder (``apps/memoro/apps/server`` -> ``memoro-server``: generic names take the
        name of the project above their group folder); else its top folder."""
        parts = rel.split("/")[:-1]
        for depth in range(len(parts), -1, -1):
            folder = "/".join(parts[:depth])
            if folder in self.markers and depth > 0:
                name = parts[depth - 1]
                if name in GENERIC and depth >= 3 and parts[depth - 2] in GROUPS:
                    return f"{parts[depth - 3]}-{name}"
                return name
        return parts[0] if parts else self.root.resolve().name
