"""Read a repository checkout: every place a port is written, and what listens where.

``scan_tree(root, ...)`` walks the tree (``walk``), hands each file to the reader that accepts
it (one module per format, one interface: ``reader``), and resolves the occurrences into
bindings and rows (``resolve``). Nothing read is ever executed. ``findings`` checks a scan;
``patch`` rewrites the literals of a step. PyYAML lives in ``yamltree`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reorg.escape import shell_quote
from reorg.model import ReorgError
from reorg.names import name_problem
from reorg.scan import (
    cloudflared,
    compose,
    dockerfile,
    envfile,
    packagejson,
    plist,
    prometheus,
    source,
    tomlconfig,
)
from reorg.scan.model import Alias, Notice, Occurrence, Scan
from reorg.scan.reader import Reader, SourceFile
from reorg.scan.resolve import resolve
from reorg.scan.walk import MAX_BYTES, Walker, matches

READERS: list[Reader] = [compose, dockerfile, plist, envfile, packagejson, prometheus, cloudflared, tomlconfig, source]
PROGRESS_EVERY = 1000
DEFAULT_DEV_HOST = "dev"


def parse_maps(values: list[str] | tuple[str, ...] | None) -> tuple[tuple[str, str], ...]:
    """``--map GLOB=HOST`` values -> (glob, host) pairs, in the order given."""
    pairs = []
    for value in values or ():
        glob, sep, host = value.rpartition("=")
        if not sep or not glob.strip() or not host.strip():
            raise ReorgError(f"--map {value!r} must look like GLOB=HOST, e.g. --map 'docker-compose.macmini.yml=mac-mini'")
        pairs.append((glob.strip(), host.strip()))
    return tuple(pairs)


def host_of(rel: str, maps: tuple[tuple[str, str], ...], dev_host: str) -> str:
    """The first ``--map`` glob that matches wins; else a compose file's name; else the dev host."""
    for glob, host in maps:
        if matches(rel, glob):
            return host
    return compose.host_of(rel.rsplit("/", 1)[-1]) or dev_host


def scan_tree(
    root: Path,
    maps: tuple[tuple[str, str], ...] = (),
    dev_host: str = DEFAULT_DEV_HOST,
    excludes: tuple[str, ...] = (),
    progress: Callable[[str], None] | None = None,
    max_bytes: int = MAX_BYTES,
) -> Scan:
    if not root.exists():
        raise ReorgError(f"{root}: no such folder; give the checkout to scan")
    if not root.is_dir():
        raise ReorgError(f"{root}: not a folder; give the checkout to scan")
    walker = Walker(root, READERS, tuple(excludes), max_bytes)
    occurrences: list[Occurrence] = []
    aliases: list[Alias] = []
    notices: list[Notice] = []
    read = 0
    named_for: list[Notice] = []  # compose files named for a host reorg cannot take
    for candidate in walker.files():
        host = host_of(candidate.rel, maps, dev_host)
        problem = name_problem(host)
        if problem is not None:
            named_for.append(Notice(candidate.rel, 1, (
                f"host {host!r} (from the file name) {problem}; not read: name its host with "
                f"--map {shell_quote(_glob_for(candidate.rel) + '=HOST')}"
            )))
            continue
        text = walker.read_text(candidate.rel, candidate.path)
        if text is None:
            continue
        read += 1
        if progress is not None and read % PROGRESS_EVERY == 0:
            progress(f"scan: {read} files read ({candidate.rel})")
        source = SourceFile(
            path=candidate.rel,
            text=text,
            host=host,
            service=walker.service_of(candidate.rel),
            dev_host=dev_host,
            sibling=walker.sibling(candidate.rel, candidate.path),
        )
        for item in candidate.reader.read(source):
            if isinstance(item, Occurrence):
                occurrences.append(item)
            elif isinstance(item, Alias):
                aliases.append(item)
            else:
                notices.append(item)
    dropped = {n.file for n in notices}
    occurrences = _usable(occurrences, notices)
    dropped = {n.file for n in notices} - dropped  # files with a line whose names reorg cannot take
    resolution = resolve(occurrences, aliases, dev_host)
    all_notices = sorted(set(notices + walker.notices + named_for), key=lambda n: (n.file, n.line, n.message))
    if progress is not None and read >= PROGRESS_EVERY:
        progress(f"scan: {read} files read, {len(resolution.bindings)} bindings, {len(resolution.rows)} ports written")
    return Scan(
        root=str(root),
        files_read=read,
        bindings=resolution.bindings,
        rows=resolution.rows,
        occurrences=resolution.occurrences,
        notices=tuple(all_notices),
        attached=resolution.attached,
        resolution=resolution,
        unread=tuple(sorted(walker.unread | {n.file for n in named_for} | dropped)),
    )


def _glob_for(rel: str) -> str:
    """A ``--map`` glob matching just this path: ``[`` bracketed, and a character a shell or
    terminal could not carry as typed (a control character) as ``?``."""
    return "".join("[[]" if c == "[" else c if c.isprintable() else "?" for c in rel)


def _usable(occurrences: list[Occurrence], notices: list[Notice]) -> list[Occurrence]:
    """Occurrences whose service and host are names reorg accepts (reorg.names); a notice for the rest."""
    kept = []
    for occ in occurrences:
        bad = next(((what, n) for what, n in (("service", occ.owner), ("host", occ.host)) if n and name_problem(n)), None)
        if bad is None:
            kept.append(occ)
        else:
            what, name = bad
            notices.append(Notice(occ.file, occ.line, f"{what} name {name!r} {name_problem(name)}; not read"))
    return kept
