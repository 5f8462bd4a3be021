"""Reading, validating and resolving the tables (reorg.tables), and bad input through the CLI."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reorg.cli import app
from reorg.model import Binding, Goal, Range, ReorgError, Reservation
from reorg.tables import load_inputs, load_instance, read_current, read_ranges, read_target

CURRENT = "service,host,port\nweb,h1,5000\napi,h1,3000\napi,h2,3000\n"
TARGET = "service,port\napi,3001\n"


# ---- resolution rules ------------------------------------------------------------------------


def test_goals_host_row_overrides_every_host_row_and_unnamed_bindings_keep(write_csv):
    current = write_csv(
        "current.csv", "service,host,port\napi,h1,3000\napi,h2,3000\napi,h3,3000\nweb,h1,5000\n"
    )
    target = write_csv("target.csv", "service,port,host\napi,3001,\napi,3009,h2\n")
    instance = load_instance(current, target)
    assert instance.goals == (
        Goal("api", "h1", 3000, 3001),
        Goal("web", "h1", 5000, 5000),  # no target row: keeps its port
        Goal("api", "h2", 3000, 3009),  # the host row wins over the every-host row
        Goal("api", "h3", 3000, 3001),
    )
    assert instance.reservations == ()


def test_host_row_order_does_not_matter(write_csv):
    current = write_csv("current.csv", "service,host,port\napi,h1,3000\napi,h2,3000\n")
    target = write_csv("target.csv", "service,port,host\napi,3009,h2\napi,3001,\n")
    goals = load_instance(current, target).goals
    assert [(g.host, g.to_port) for g in goals] == [("h1", 3001), ("h2", 3009)]


def test_empty_port_retires_on_every_host_or_one_host(write_csv):
    current = write_csv(
        "current.csv", "service,host,port\nold,h1,3000\nold,h2,3000\nbot,h1,4000\nbot,h2,4000\n"
    )
    target = write_csv("target.csv", "service,port,host\nold,,\nbot,,h2\n")
    goals = {g.key: g.to_port for g in load_instance(current, target).goals}
    assert goals == {
        ("old", "h1"): None,
        ("old", "h2"): None,
        ("bot", "h1"): 4000,
        ("bot", "h2"): None,
    }


def test_reservations_for_services_that_do_not_run_there(write_csv):
    current = write_csv("current.csv", "service,host,port\napi,h1,3000\n")
    target = write_csv(
        "target.csv",
        "service,port,host\n"
        "future,3050,\n"  # runs nowhere: reserved on every host
        "api,3001,\n"
        "api,3002,h2\n"  # api does not run on h2: reserved there
        "ghost,,\n"  # runs nowhere and no port: a dropped reservation, nothing at all
        "later,3060,h1\n",  # runs nowhere, host row: reserved on h1 only
    )
    instance = load_instance(current, target)
    assert instance.reservations == (
        Reservation("api", "h2", 3002, 4),
        Reservation("future", None, 3050, 2),
        Reservation("later", "h1", 3060, 6),
    )
    assert instance.goals == (Goal("api", "h1", 3000, 3001),)


def test_pairs_come_from_both_tables_sorted_and_unique(write_csv):
    current = write_csv(
        "current.csv",
        "service,host,port,pair\nweb,h1,5000,api\nweb,h2,5000,api\napi,h1,3000,\nadmin,h1,5001,\n",
    )
    target = write_csv(
        "target.csv", "service,port,pair\nadmin,5002,api\nweb,5000,api\nplanned,,api\n"
    )
    assert load_instance(current, target).pairs == (
        ("admin", "api"),
        ("planned", "api"),
        ("web", "api"),
    )


def test_bindings_sorted_by_host_port_service_with_file_lines(write_csv):
    current = write_csv("current.csv", "service,host,port\nz,h2,1\nb,h1,9\na,h1,9\nc,h1,2\n")
    target = write_csv("target.csv", "service,port\n")
    instance = load_instance(current, target)
    assert [(b.host, b.port, b.service, b.line) for b in instance.bindings] == [
        ("h1", 2, "c", 5),
        ("h1", 9, "a", 4),
        ("h1", 9, "b", 3),
        ("h2", 1, "z", 2),
    ]
    assert [g.key for g in instance.goals] == [b.key for b in instance.bindings]


def test_instance_names_its_files_and_their_hashes(write_csv):
    current = write_csv("current.csv", CURRENT)
    target = write_csv("target.csv", TARGET)
    instance = load_instance(current, target)
    assert instance.current_path == str(current)
    assert instance.target_path == str(target)
    assert instance.current_sha256 == hashlib.sha256(CURRENT.encode()).hexdigest()
    assert instance.target_sha256 == hashlib.sha256(TARGET.encode()).hexdigest()


# ---- tolerated formatting --------------------------------------------------------------------


def test_bom_crlf_whitespace_header_case_extra_columns_and_blank_lines(write_csv):
    text = (
        "\ufeff Service , HOST ,port,category,status,pair,source,note\r\n"
        '  api , h1 , 3000 ,app-server, running ,,compose,"has, a comma"\r\n'
        "\r\n"
        ",,,,,,,\r\n"
        "web,h1,5000,web-frontend,,api,compose,\r\n"
    )
    bindings = read_current(write_csv("current.csv", text.encode("utf-8")))
    assert bindings == (
        Binding("api", "h1", 3000, "app-server", "running", "", 2, source="compose", note="has, a comma"),
        Binding("web", "h1", 5000, "web-frontend", "", "api", 5, source="compose"),
    )


def test_line_numbers_count_newlines_inside_quoted_cells(write_csv):
    path = write_csv(
        "current.csv", 'service,host,port,note\napi,h1,3000,"two\nlines"\nweb,h1,http,\n'
    )
    with pytest.raises(ReorgError, match=r"current\.csv:4: port 'http' is not an integer"):
        read_current(path)


def test_target_without_optional_columns(write_csv):
    rows = read_target(write_csv("target.csv", "port,service\n3001,api\n,old\n"))
    assert [(r.service, r.host, r.port, r.line) for r in rows] == [
        ("api", None, 3001, 2),
        ("old", None, None, 3),
    ]


def test_ranges_read_and_sorted(write_csv):
    path = write_csv(
        "ranges.csv", "start,end,category,purpose\n3010,3019,infra,Infra\n3000,3009,core,\n"
    )
    assert read_ranges(path) == (Range(3000, 3009, "core", ""), Range(3010, 3019, "infra", "Infra"))


def test_load_inputs_without_ranges(write_csv):
    inputs = load_inputs(write_csv("current.csv", CURRENT), write_csv("target.csv", TARGET), None)
    assert inputs.ranges == () and inputs.ranges_path is None
    assert len(inputs.bindings) == 3 and len(inputs.targets) == 1


_names = st.from_regex(r"[a-jA-J0-9][a-j0-9._@-]{0,7}", fullmatch=True)  # the names reorg.names accepts


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(_names, _names, st.integers(1, 65535)), max_size=8, unique_by=lambda r: r[:2]
    ),
    crlf=st.booleans(),
    bom=st.booleans(),
    pad=st.sampled_from(["", " ", "\t"]),
)
def test_current_round_trips_through_any_formatting(tmp_path_factory, rows, crlf, bom, pad):
    newline = "\r\n" if crlf else "\n"
    lines = [f"{pad}service{pad},host,{pad}port"] + [
        f"{pad}{s}{pad},{h}{pad},{pad}{p}" for s, h, p in rows
    ]
    text = ("\ufeff" if bom else "") + newline.join(lines) + newline
    path = tmp_path_factory.mktemp("rt") / "current.csv"
    path.write_bytes(text.encode("utf-8"))
    got = read_current(path)
    want = sorted((h, p, s, i + 2) for i, (s, h, p) in enumerate(rows))
    assert [(b.host, b.port, b.service, b.line) for b in got] == want


# ---- bad input: one line on stderr, exit 2, no traceback -------------------------------------

BAD_CURRENT = [
    ("empty file", "", "current.csv: file is empty; it needs a header line with service,host,port"),
    ("only blank lines", "\n  \n", "current.csv: file is empty"),
    ("missing column", "service,host\napi,h1\n", "current.csv:1: missing required column 'port'"),
    # issue 8: bounded integers (Python's int-string limit raised a traceback) and '²' (isdigit)
    ("5000-digit port", "service,host,port\napi,h1," + "9" * 5000 + "\n", "current.csv:2: port '" + "9" * 40 + "...' is not an integer"),
    ("superscript port", "service,host,port\napi,h1,300²\n", "current.csv:2: port '300²' is not an integer"),
    ("arabic-indic port", "service,host,port\napi,h1,٣٠٠١\n", "current.csv:2: port '٣٠٠١' is not an integer"),
    # issue 8: a NUL byte in a service name (pandas read on past it)
    ("NUL in a service", "service,host,port\nweb,h1,5000\na\0pi,h1,3000\n", "current.csv:3: contains a NUL byte"),
    # issue 13: after a multi-line quoted cell pandas names its record number, not the file line
    (
        "extra field after a multi-line cell",
        'service,host,port,note\napi,h1,3000,"two\nlines"\n\nweb,h1,5000,x,oops\n',
        "current.csv:5: 5 fields but the header has 4",
    ),
    # issue 8: names restricted to letters, digits, '.', '_', '-', '@'
    ("host with ';'", "service,host,port\napi,h1;touch x,3000\n", "current.csv:2: host 'h1;touch x' contains ';'"),
    ("host with $()", "service,host,port\napi,$(id),3000\n", "current.csv:2: host '$(id)' starts with '$'"),
    (
        "quoted service with a newline task line",
        'service,host,port\n"svc\n- [x] 99. done",h1,3000\n',
        "current.csv:2: service 'svc\\x0a- [x] 99. done' contains a line break",
    ),
    ("service <script>", "service,host,port\n<script>,h1,3000\n", "current.csv:2: service '<script>' starts with '<'"),
    ("ANSI escape in a service", "service,host,port\nweb\x1b[31m,h1,3000\n", "current.csv:2: service 'web\\x1b[31m' contains an escape (ESC)"),
    ("leading dash host", "service,host,port\napi,-h1,3000\n", "current.csv:2: host '-h1' starts with '-'"),
    ("space in category", "service,host,port,category\napi,h1,3000,a b\n", "current.csv:2: category 'a b' contains a space"),
    (
        "duplicate column",
        "service,host,port,port\napi,h1,1,2\n",
        "current.csv:1: column 'port' appears twice",
    ),
    (
        "duplicate binding",
        "service,host,port\napi,h1,3000\nweb,h1,5000\napi,h1,3001\n",
        "current.csv:4: duplicate binding api on h1 (first at line 2)",
    ),
    (
        "port not an integer",
        "service,host,port\napi,h1,http\n",
        "current.csv:2: port 'http' is not an integer",
    ),
    (
        "port a float",
        "service,host,port\napi,h1,3000.0\n",
        "current.csv:2: port '3000.0' is not an integer",
    ),
    (
        "port negative",
        "service,host,port\napi,h1,-1\n",
        "current.csv:2: port -1 is outside 1-65535",
    ),
    ("port zero", "service,host,port\napi,h1,0\n", "current.csv:2: port 0 is outside 1-65535"),
    (
        "port too big",
        "service,host,port\napi,h1,65536\n",
        "current.csv:2: port 65536 is outside 1-65535",
    ),
    ("blank port", "service,host,port\napi,h1,\n", "current.csv:2: blank port"),
    ("blank service", "service,host,port\napi,h1,1\n ,h1,2\n", "current.csv:3: blank service"),
    ("blank host", "service,host,port\napi,,3000\n", "current.csv:2: blank host"),
    (
        "pair unknown",
        "service,host,port,pair\nweb,h1,5000,nope\n",
        "current.csv:2: pair 'nope' is not a service",
    ),
    (
        "pair itself",
        "service,host,port,pair\nweb,h1,5000,web\n",
        "current.csv:2: web is paired with itself",
    ),
    (
        "too many fields",
        "service,host,port\napi,h1,3000\nweb,h1,5000,x\n",
        "current.csv:3: 4 fields but the header has 3",
    ),
    ("unclosed quote", 'service,host,port\napi,h1,"3000\n', "current.csv: not a valid CSV file"),
]

BAD_TARGET = [
    ("empty file", "", "target.csv: file is empty; it needs a header line with service,port"),
    ("missing column", "service,host\napi,h1\n", "target.csv:1: missing required column 'port'"),
    (
        "port not an integer at line 7",
        "service,port\napi,3001\nweb,5000\na,1\nb,2\nc,3\nd,http\n",
        "target.csv:7: port 'http' is not an integer",
    ),
    ("port outside", "service,port\napi,99999\n", "target.csv:2: port 99999 is outside 1-65535"),
    ("5000-digit port", "service,port\napi," + "1" * 5000 + "\n", "target.csv:2: port '" + "1" * 40 + "...' is not an integer"),
    ("host row with a backtick", "service,port,host\napi,3001,`id`\n", "target.csv:2: host '`id`' starts with '`'"),
    ("pair with a pipe", "service,port,pair\nweb,5000,a|b\n", "target.csv:2: pair 'a|b' contains '|'"),
    ("blank service", "service,port\n,3001\n", "target.csv:2: blank service"),
    (
        "pair unknown",
        "service,port,pair\nweb,5000,nope\n",
        "target.csv:2: pair 'nope' is not a service",
    ),
    (
        "conflicting every-host rows",
        "service,port\napi,3001\napi,3001\n",
        "target.csv:3: conflicting target rows for api on every host (first at line 2)",
    ),
    (
        "conflicting host rows",
        "service,port,host\napi,3001,h1\napi,,h1\n",
        "target.csv:3: conflicting target rows for api on h1 (first at line 2)",
    ),
]


def _run(args):
    result = CliRunner().invoke(app, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _assert_bad(result, message):
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "content,message", [c[1:] for c in BAD_CURRENT], ids=[c[0] for c in BAD_CURRENT]
)
def test_bad_current(write_csv, monkeypatch, tmp_path, content, message):
    monkeypatch.chdir(tmp_path)
    current = write_csv("current.csv", content)
    target = write_csv("target.csv", "service,port\n")
    _assert_bad(_run(["--current", str(current), "--target", str(target)]), message)


@pytest.mark.parametrize(
    "content,message", [c[1:] for c in BAD_TARGET], ids=[c[0] for c in BAD_TARGET]
)
def test_bad_target(write_csv, monkeypatch, tmp_path, content, message):
    monkeypatch.chdir(tmp_path)
    current = write_csv("current.csv", "service,host,port\napi,h1,3000\nweb,h1,5000\n")
    target = write_csv("target.csv", content)
    _assert_bad(_run(["--current", str(current), "--target", str(target)]), message)


def test_missing_file(write_csv, tmp_path):
    target = write_csv("target.csv", TARGET)
    missing = tmp_path / "nope.csv"
    _assert_bad(
        _run(["--current", str(missing), "--target", str(target)]), f"{missing}: no such file"
    )


def test_directory_given_as_file(write_csv, tmp_path):
    current = write_csv("current.csv", CURRENT)
    _assert_bad(
        _run(["--current", str(current), "--target", str(tmp_path)]), f"{tmp_path}: is a directory"
    )


def test_not_utf8(write_csv):
    current = write_csv("current.csv", b"service,host,port\n\xff\xfeapi,h1,3000\n")
    target = write_csv("target.csv", TARGET)
    _assert_bad(
        _run(["--current", str(current), "--target", str(target)]),
        "current.csv: not UTF-8 text (byte 0xff",
    )


def _as_unprivileged(run):
    """``run()`` in a forked child that, when the tests run as root (as CI does), first drops to
    the ``nobody`` user, so that file modes apply; returns what ``run`` returned.

    The child execs nothing (nobody may not read the interpreter under /root), so everything
    ``run`` needs must be imported already: warm it up in the parent first.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            try:
                answer = {"result": run()}
            except BaseException:  # report it to the parent, which fails the test with it
                answer = {"error": traceback.format_exc()}
            with os.fdopen(write, "w") as out:
                json.dump(answer, out)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and text, "the unprivileged child failed"
    answer = json.loads(text)
    assert "error" not in answer, answer["error"]
    return answer["result"]


def _cli_main(argv: list[str]) -> tuple[int, str, str]:
    """``reorg ARGV`` through the console entry point: (exit code, stdout, stderr)."""
    from reorg.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["reorg", *argv]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = saved
    return code, out.getvalue(), err.getvalue()


def test_unreadable_file():
    """Runs as root too (as CI does): the reads happen as ``nobody``, for whom mode 000 bites.

    The command line refuses the path before reorg reads it (typer checks it is readable), with
    one line; the tables layer, called directly, names the file and the OS's reason.
    """
    shared = Path(tempfile.mkdtemp(prefix="reorg-unreadable-"))
    try:
        shared.chmod(0o755)  # tmp_path is private to root; nobody must reach the file itself
        current, target = shared / "current.csv", shared / "target.csv"
        current.write_text(CURRENT)
        target.write_text(TARGET)
        args = ["check", "--current", str(current), "--target", str(target)]
        # warm up both paths (a good run and an error line): the child may import nothing
        assert _cli_main(args)[0] in (0, 1)
        assert _cli_main(["check", "--current", str(shared / "none.csv")])[0] == 2
        with pytest.raises(ReorgError):
            read_current(shared / "none.csv")
        current.chmod(0)

        def check() -> dict:
            try:
                read_current(current)
                tables = "read"
            except ReorgError as exc:
                tables = str(exc)
            code, out, err = _cli_main(args)
            return {"uid": os.geteuid(), "tables": tables, "code": code, "out": out, "err": err}

        seen = _as_unprivileged(check)
        assert seen["uid"] != 0
        assert seen["tables"].startswith(f"{current}: cannot read (Permission denied)"), seen
        assert (seen["code"], seen["out"]) == (2, ""), seen
        lines = seen["err"].splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), seen
        assert str(current) in lines[0] and "not readable" in lines[0], seen
    finally:
        shutil.rmtree(shared)


BAD_RANGES = [
    ("missing column", "start,end\n1,2\n", "ranges.csv:1: missing required column 'category'"),
    (
        "start after end",
        "start,end,category\n3010,3000,core\n",
        "ranges.csv:2: start 3010 is after end 3000",
    ),
    (
        "end not an integer",
        "start,end,category\n3000,x,core\n",
        "ranges.csv:2: end 'x' is not an integer",
    ),
    ("blank category", "start,end,category\n3000,3009,\n", "ranges.csv:2: blank category"),
    ("5000-digit bound", "start,end,category\n3000," + "9" * 5000 + ",core\n", "ranges.csv:2: end '" + "9" * 40 + "...' is not an integer"),
    ("superscript bound", "start,end,category\n300²,3009,core\n", "ranges.csv:2: start '300²' is not an integer"),
]


@pytest.mark.parametrize(
    "content,message", [c[1:] for c in BAD_RANGES], ids=[c[0] for c in BAD_RANGES]
)
def test_bad_ranges(write_csv, content, message):
    args = [
        "--current",
        str(write_csv("current.csv", CURRENT)),
        "--target",
        str(write_csv("target.csv", TARGET)),
    ]
    _assert_bad(_run([*args, "--ranges", str(write_csv("ranges.csv", content))]), message)


def test_explicit_ranges_must_exist(write_csv, tmp_path):
    args = [
        "--current",
        str(write_csv("current.csv", CURRENT)),
        "--target",
        str(write_csv("target.csv", TARGET)),
    ]
    _assert_bad(_run([*args, "--ranges", str(tmp_path / "ranges.csv")]), "ranges.csv: no such file")


def test_pair_digits_outside_1_2_is_a_usage_error(write_csv):
    args = [
        "--current",
        str(write_csv("current.csv", CURRENT)),
        "--target",
        str(write_csv("target.csv", TARGET)),
    ]
    result = _run([*args, "--pair-digits", "3"])
    assert result.exit_code == 2
    assert "--pair-digits" in result.stderr and "Traceback" not in result.output


def test_python_m_reorg_bad_input_has_no_traceback(write_csv, tmp_path):
    target = write_csv("target.csv", "service,port\napi,http\n")
    current = write_csv("current.csv", CURRENT)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "reorg",
            "check",
            "--current",
            str(current),
            "--target",
            str(target),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert (
        proc.stderr == f"error: {target}:2: port 'http' is not an integer; write a number 1-65535\n"
    )


# ---- issue 8: inputs that are not regular files, or too big ------------------------------------


def _reorg(args, cwd, timeout=60, env=None):
    """``python -m reorg ARGS`` in ``cwd``; a hang fails the test instead of the suite."""
    return subprocess.run(
        [sys.executable, "-m", "reorg", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _assert_refused(proc, message):
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("error: "), proc.stderr
    assert message in proc.stderr


@pytest.mark.parametrize("command", ["check", "plan"])
def test_current_a_fifo_is_refused_without_hanging(write_csv, tmp_path, command):
    fifo = tmp_path / "current.csv"
    os.mkfifo(fifo)
    target = write_csv("target.csv", TARGET)
    proc = _reorg([command, "--current", str(fifo), "--target", str(target)], tmp_path, timeout=60)
    _assert_refused(proc, f"{fifo}: is a FIFO (named pipe), not a regular CSV file")
    assert not (tmp_path / "plans").exists()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("command", ["check", "plan"])
def test_current_a_device_is_refused(write_csv, tmp_path, command, device):
    target = write_csv("target.csv", TARGET)
    proc = _reorg([command, "--current", device, "--target", str(target)], tmp_path, timeout=60)
    _assert_refused(proc, f"{device}: is a device, not a regular CSV file")
    assert not (tmp_path / "plans").exists()


def test_table_over_the_size_cap_is_refused(write_csv, tmp_path):
    current = write_csv("current.csv", CURRENT)
    target = write_csv("target.csv", TARGET)
    proc = _reorg(["plan", "--current", str(current), "--target", str(target)], tmp_path, env={"REORG_MAX_INPUT_BYTES": "20"})
    _assert_refused(proc, f"{current}: {len(CURRENT)} bytes is larger than the 20-byte limit")
    assert not (tmp_path / "plans").exists()


def test_names_real_inventories_use_are_accepted(write_csv):
    current = write_csv(
        "current.csv",
        "service,host,port\npostgresql@14-main,db.example.org,5432\nmy_app.web,MAC-mini-2,3000\n",
    )
    target = write_csv("target.csv", "service,port\nmy_app.web,3001\n")
    assert {b.service for b in load_instance(current, target).bindings} == {"postgresql@14-main", "my_app.web"}


def test_bundled_and_managarten_names_are_valid(data_dir):
    from reorg.names import name_problem

    rows = read_current(data_dir / "current.csv")
    assert all(name_problem(b.service) is None and name_problem(b.host) is None for b in rows)


# ---- the quote-free fast path (issue 8: `reorg plan` on 10,000 bindings without importing pandas)

_CELL = st.text(alphabet=st.sampled_from(list("ab1 -_.\t;|#é")), max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    header=st.lists(_CELL, min_size=1, max_size=4),
    rows=st.lists(st.lists(_CELL, min_size=0, max_size=5), max_size=6),
    trailing=st.sampled_from(["", "\n", "\n\n"]),
)
def test_plain_cells_are_what_pandas_reads(header, rows, trailing):
    """Quote-free text: the fast path gives pandas' cells exactly, or leaves the text to pandas."""
    from reorg.tables import _pandas_cells, _plain_cells

    text = "\n".join([",".join(header), *(",".join(r) for r in rows)]) + trailing
    if not text.strip():
        return
    plain = _plain_cells(text)
    try:
        expected = _pandas_cells("t.csv", text)
    except ReorgError:
        assert plain is None  # too many cells on a row: pandas names the line
        return
    if plain is not None:
        # blank rows are dropped after this; what must agree is every row that is kept, in order
        # with its line, and the header
        kept = [(k, r) for k, r in enumerate(plain) if any(c.strip() for c in r)]
        assert plain[0] == expected[0]
        assert kept == [(k, r) for k, r in enumerate(expected) if any(c.strip() for c in r)]


def test_plain_cells_leave_quotes_and_long_rows_to_pandas():
    from reorg.tables import _plain_cells

    assert _plain_cells('service,host,port\n"a,b",h1,1\n') is None
    assert _plain_cells("service,host,port\na,h1,1,extra\n") is None
    assert _plain_cells("service,host,port\na,h1\n\nb,h2,2") == [
        ["service", "host", "port"], ["a", "h1", ""], ["", "", ""], ["b", "h2", "2"],
    ]


def test_plain_and_pandas_paths_read_a_table_alike(write_csv):
    """The same bindings, lines included, whether a quote sends the file to pandas or not."""
    plain = write_csv("current.csv", "service,host,port,note\n\na,h1,3001,x\nb,h1,3002\n")
    quoted = write_csv("current2.csv", 'service,host,port,note\n\na,h1,3001,"x"\nb,h1,3002\n')
    assert read_current(plain) == read_current(quoted)


def test_a_cr_inside_a_quoted_note_stays_a_cr_and_shows_as_x0d_in_the_runbook(write_csv, tmp_path):
    # A lone CR outside quotes is an old Mac line end; inside a quoted cell it is the note's own
    # text (it was turned into a newline, so the runbook showed \x0a for it).
    current = write_csv("current.csv", 'service,host,port,note\rweb,h1,3000,"a\rb"\rapi,h1,4000,"c\r\nd"\r')
    notes = {b.service: b.note for b in read_current(current)}
    assert notes == {"web": "a\rb", "api": "c\nd"}
    target = write_csv("target.csv", "service,port\nweb,3001\n")
    result = CliRunner().invoke(app, ["plan", "--current", str(current), "--target", str(target),
                                      "--out", str(tmp_path / "out"), "--strategy", "greedy"])
    assert result.exit_code == 0, result.output
    runbook = (tmp_path / "out" / "reorg.md").read_text()
    assert "a\\\\x0db" in runbook and "\\x0a" not in runbook
