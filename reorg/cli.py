"""Typer app: the only module that prints or exits.

It parses options into model values, calls one function of ``commands`` per command, and
renders the returned value. ``ReorgError`` becomes ``error: ...`` on stderr and exit 2; any
other exception is a bug and keeps its traceback (exit 1).
"""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import typer

from reorg import commands, render
from reorg.comparison import Preference
from reorg.escape import terminal_safe, terminal_text
from reorg.model import (
    DEFAULT_TEMP_PORTS,
    Candidate,
    Objective,
    PairMode,
    PlanOptions,
    ReorgError,
    Scope,
    Strategy,
    parse_port_range,
)
from reorg.safeio import parse_int, shorten

if TYPE_CHECKING:  # imported on use: `reorg --help` and `status` stay light (tests/test_lazy_imports.py)
    from reorg.execution import BatchReport, StepReport
    from reorg.planners.budget import Deadline

# Every command's --help ends with examples (a test walks every command and parses each one).
EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "reorg": (
        ("reorg check", "what is wrong now and with the target"),
        ("reorg plan", "the verified runbook in plans/"),
        ("reorg next --here dev", "then run it one step at a time"),
        ("reorg status", "where the migration stands"),
    ),
    "hosts": (
        ("reorg hosts init", "plans/hosts.csv with every host of the plan, to fill in"),
    ),
    "check": (
        ("reorg check", "the bundled tables: exit 1 when problems are found"),
        ("reorg check --scope global --json", "a port used on two hosts is a problem too; JSON"),
        ("reorg check --scan . --map 'infra/**=mac-mini'", "a checkout: collisions, dangling references, drift"),
    ),
    "plan": (
        ("reorg plan", "plans/reorg.md and plans/reorg.json from data/"),
        ("reorg plan --objective waves --max-per-wave 10 --name fast", "fewest waves, at most 10 steps each"),
        ("reorg plan --json --detailed-exitcode", "a machine summary; exit 0 nothing to do, 2 steps to run"),
    ),
    "compare": (
        ("reorg compare", "every strategy side by side"),
        ("reorg compare --strategies greedy,cpsat-moves --out plans/compare", "two of them, each plan written"),
    ),
    "target": (
        ("reorg target --pins data/pins.csv --out data/target.csv", "complete a target from the ranges"),
        ("reorg target --spare 2 --host-weight mac-mini=10", "keep 2 ports free per range; production moves cost more"),
    ),
    "port": (
        ("reorg port mana-notes --category app-server", "the lowest free port of the range"),
        ("reorg port mana-notes-web --category web --pair mana-notes --host dev --add", "and append the row"),
    ),
    "doc": (
        ("reorg doc --out docs/PORT_SCHEMA.md", "write the schema document"),
        ("reorg doc --check docs/PORT_SCHEMA.md", "exit 1 when it is out of date (CI)"),
    ),
    "status": (
        ("reorg status", "where the migration stands; exit 1 while a step is failed"),
        ("reorg status --plan plans/compare/greedy.json --json", "another plan, as JSON"),
    ),
    "next": (
        ("reorg next --here dev", "the first open step, pre-checked and recorded as started"),
        ("reorg next 20 --host mac-mini", "a chosen open step"),
        ("reorg next 20 --preview", "show and check step 20, record nothing"),
    ),
    "done": (
        ("reorg done", "post-check and record the started step"),
        ("reorg done 3-9,12", "several steps, each post-checked"),
        ("reorg done --wave 1 --host dev", "every remaining step of wave 1 on dev"),
    ),
    "undo": (
        ("reorg undo --preview", "before rolling back: show the rollback of the last done step"),
        ("reorg undo --yes", "record it without asking (scripts)"),
        ("reorg undo", "after a mistaken `reorg next 3`: cancels the start of step 3 (it asks)"),
    ),
    "history": (
        ("reorg history", "every event of the journal"),
        ("reorg history --json", "as JSON"),
    ),
    "reset": (
        ("reorg reset", "move the journal aside (asks when steps are done)"),
        ("reorg reset --yes --plan plans/compare/greedy.json", "without asking"),
    ),
    "state": (
        ("reorg state --at now", "where the hosts are now, on stdout"),
        ("reorg state --at end --out data/current.csv", "after the last step: then `reorg check` is clean"),
    ),
    "init": (
        ("reorg hosts init", "plans/hosts.csv with every host of the plan, to fill in"),
        ("reorg hosts init --out /tmp/hosts.csv", "somewhere else"),
    ),
    "scan": (
        ("reorg scan . --out scan", "current.csv and references.csv from this checkout"),
        ("reorg scan . --map 'docker-compose.macmini.yml=mac-mini' --diff data/current.csv", "with a host map, compared"),
    ),
    "patch": (
        ("reorg patch 3", "the diff of step 3's port literals"),
        ("reorg patch 3 --write", "apply it"),
        ("reorg patch 3 --reverse --write", "undo it"),
    ),
}


def examples(name: str) -> str:
    """The epilog of ``name``'s help: its examples, one a line, kept as written ("\\b")."""
    width = max(len(command) for command, _ in EXAMPLES[name])
    rows = "\n".join(f"  {command:<{width}}  # {what}" for command, what in EXAMPLES[name])
    return f"\b\nExamples:\n{rows}"


app = typer.Typer(
    add_completion=True,  # `reorg --install-completion` / `--show-completion` (bash, zsh, fish, PowerShell)
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},  # as wide as the terminal, up to 120
    no_args_is_help=True,
    help="Plan and run port reorganisations without two services ever fighting over a port.",
    epilog=examples("reorg"),
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

CURRENT = typer.Option(Path("data/current.csv"), "--current", help="Where each service listens now.")
TARGET = typer.Option(Path("data/target.csv"), "--target", help="Where each service should listen.")
SCOPE = typer.Option(Scope.HOST, "--scope", help="A port belongs to one host, or to one service on all hosts.")
JSON = typer.Option(False, "--json", help="Print JSON on stdout instead of tables.")
HOSTS_FACTS = typer.Option(
    None, "--hosts", help="host,address[,os,reserved] CSV: system ports per OS and reserved ports are avoided.",
    show_default="data/hosts.csv, if it exists",
)


def fail(message: str, code: int = 2) -> NoReturn:
    say("error", message)  # one line, no control characters
    raise typer.Exit(code)


def say(label: str, message: object) -> None:
    """One line on stderr, ``error: ...`` (red on a terminal), ``warning:`` or ``note:`` (yellow)."""
    text = terminal_safe(message)
    if colour_wanted(sys.stderr):
        typer.echo(f"{typer.style(label + ':', fg=LABEL_COLOURS.get(label), bold=True)} {text}", err=True, color=True)
    else:
        typer.echo(f"{label}: {text}", err=True)


def show(text: str, nl: bool = True, status: bool = False) -> None:
    """Print a rendered report: names and notes with ANSI escapes or other control characters
    show as ``\\x1b...`` instead of acting on the terminal (reorg.escape.terminal_text). Colour
    is added after that, by position, and only as reorg's own codes (``colourise``)."""
    safe = terminal_text(text)
    if colour_wanted(sys.stdout):
        typer.echo(colourise(safe, status), nl=nl, color=True)
    else:
        typer.echo(safe, nl=nl)


# ---- colour: failed red, ok green, unverified yellow, on a terminal only ----------------------

WORD_COLOURS = {
    "ok": "green", "done": "green", "failed": "red", "unverified": "yellow", "skipped": "yellow",
    "started": "cyan", "undone": "magenta",
}
COLOURED_COLUMNS = {"result", "event", "recorded", "checks"}  # tables whose cells are WORD_COLOURS
STATUS_ROWS = {"failed": "red", "unverified": "yellow"}  # `reorg status` rows, when not "-"
LABEL_COLOURS = {"error": "red", "warning": "yellow", "note": "yellow"}
_COUNTS = re.compile(r"(\d+ )(ok|failed|skipped)\b")


def colour_wanted(stream: TextIO) -> bool:
    """NO_COLOR (set and not empty) turns colour off, FORCE_COLOR (set, not empty, not 0) on;
    otherwise colour only when the stream is a terminal (never when piped) and TERM is not dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    force = os.environ.get("FORCE_COLOR", "")
    if force and force != "0":
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def _paint(word: str, colour: str) -> str:
    return typer.style(word, fg=colour)


def colourise(text: str, status: bool = False) -> str:
    """Colour a report that ``terminal_text`` already made safe: the cells of the result, event,
    recorded and checks columns of each table (found by the header above its dashes) when the
    cell is one of WORD_COLOURS, and with ``status`` the failed and unverified rows. The codes are
    reorg's own, put around whole words at known places: a name in the data can at worst be
    coloured, never bring a code of its own (its control characters are already escapes)."""
    lines = text.split("\n")
    spans: list[tuple[int, int | None, str]] = []
    for i, line in enumerate(lines):
        if not line.strip():
            spans = []
            continue
        if i > 0 and set(line) <= {"-", " "} and "-" in line:
            runs = [(m.start(), m.end()) for m in re.finditer(r"-+", line)]
            header = lines[i - 1]
            spans = [
                (start, end if k < len(runs) - 1 else None, header[start:end].strip())
                for k, (start, end) in enumerate(runs)
                if header[start:end].strip() in COLOURED_COLUMNS
            ]
            continue
        if spans:
            for start, end, column in reversed(spans):
                cell = line[start:end] if end is not None else line[start:]
                word = cell.strip()
                if column == "checks":
                    painted = _COUNTS.sub(lambda m: m.group(1) + _paint(m.group(2), WORD_COLOURS[m.group(2)]), cell)
                elif word in WORD_COLOURS and cell.startswith(word):
                    painted = _paint(word, WORD_COLOURS[word]) + cell[len(word):]
                else:
                    continue
                line = line[:start] + painted + (line[end:] if end is not None else "")
            lines[i] = line
        elif status:
            key, _, value = line.partition(" ")
            if key in STATUS_ROWS and value.strip() not in ("", "-"):
                lines[i] = _paint(line, STATUS_ROWS[key])
            elif line.startswith("  failed check: ") or (line.startswith("Step ") and " is dirty: " in line):
                lines[i] = _paint(line, "red")
    return "\n".join(lines)



# ---- check (issue 2) -------------------------------------------------------------------------

RANGES = typer.Option(
    None,
    "--ranges",
    help="Port ranges per category (start,end,category,purpose). "
    "Default: data/ranges.csv, or no range checks if that file is missing.",
    show_default=False,
)
PAIR_DIGITS = typer.Option(
    1, "--pair-digits", min=1, max=2, help="How many last digits a 50xx frontend shares with its 30xx backend."
)


def _print_version(value: bool) -> None:
    if value:
        from reorg import __version__

        typer.echo(f"reorg {__version__}")
        raise typer.Exit(0)


@app.callback()
def _commands(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_print_version, is_eager=True, help="Print reorg's version and exit."
    ),
) -> None:
    # Without a callback typer runs a lone command as the app itself ("reorg --current ...");
    # this keeps "reorg check" a subcommand whichever sections are present.
    pass


@contextmanager
def user_errors(code: int = 2) -> Iterator[None]:
    """Turn ``ReorgError`` into ``error: ...`` and exit ``code`` (2) inside a command.

    ``main()`` does the same, but typer's CliRunner calls the app directly, so each command
    wraps its work in this to behave the same in tests.
    """
    try:
        yield
    except ReorgError as exc:
        fail(str(exc), code)


@app.command("check", epilog=examples("check"))
def check_command(
    ctx: typer.Context,
    current: Path = CURRENT,
    target: Path = TARGET,
    ranges: Path | None = RANGES,
    scope: Scope = SCOPE,
    pair_digits: int = PAIR_DIGITS,
    json_output: bool = JSON,
    scan_root: Path | None = typer.Option(
        None, "--scan", help="Check a repository checkout instead: collisions, dangling references, drift (issue 9)."
    ),
    maps: list[str] | None = typer.Option(None, "--map", help="With --scan: GLOB=HOST (repeatable; first match wins)."),
    dev_host: str = typer.Option("dev", "--dev-host", help="With --scan: host of source defaults and dev servers."),
    excludes: list[str] | None = typer.Option(None, "--exclude", help="With --scan: skip paths matching GLOB (repeatable)."),
    baseline: Path | None = typer.Option(None, "--baseline", help="With --scan: accepted problems; only new ones fail."),
    write_baseline: bool = typer.Option(False, "--write-baseline", help="With --scan: write today's problems to --baseline and pass."),
    hosts: Path | None = HOSTS_FACTS,
    temp_ports: str = typer.Option(
        f"{DEFAULT_TEMP_PORTS[0]}-{DEFAULT_TEMP_PORTS[1]}", "--temp-ports",
        help="The temp pool plans will use: warned about where it falls on a host's system ports.",
    ),
) -> None:
    """Report collisions now and problems of the target; exit 0 clean, 1 problems, 2 bad input.

    With --scan PATH: the problems of the checkout itself; --current/--target, when given,
    are compared with the scan too.
    """
    if scan_root is not None:
        def explicit(name: str) -> bool:
            source = ctx.get_parameter_source(name)
            return source is not None and source.name != "DEFAULT"

        check_scan_command(
            scan_root, current if explicit("current") else None, target if explicit("target") else None,
            maps, dev_host, excludes, baseline, write_baseline, json_output,
        )
    with user_errors():
        pool = plan_options(scope, temp_ports, None, PairMode.HARD, Objective.MOVES, 10.0).temp_ports
        report = commands.check(current, target, ranges, scope, pair_digits, hosts, pool)
    show(render.render_check_json(report) if json_output else render.render_check(report), nl=False)
    raise typer.Exit(report.exit_code)


# ---- plan (issue 3) --------------------------------------------------------------------------

OUT = typer.Option(Path("plans"), "--out", help="Directory for NAME.md and NAME.json.")
STRATEGY = typer.Option(Strategy.CPSAT, "--strategy", help="Which planner makes the plan.")
TEMP_PORTS = typer.Option(
    f"{DEFAULT_TEMP_PORTS[0]}-{DEFAULT_TEMP_PORTS[1]}", "--temp-ports",
    help="Pool for temp ports (ports named anywhere in the tables are left out).",
)
MAX_PER_WAVE = typer.Option(None, "--max-per-wave", min=1, help="At most N steps per wave (all hosts).")
PAIRS = typer.Option(PairMode.HARD, "--pairs", help="hard: a frontend and its backend arrive in one wave; soft: minimise splits.")
OBJECTIVE = typer.Option(Objective.MOVES, "--objective", help="moves: fewest moves, then waves; waves: fewest waves, then moves.")
DEFAULT_TIME_LIMIT = 10.0
TIME_LIMIT = typer.Option(
    None, "--time-limit", min=0.1, show_default=False,
    help="Seconds for the whole command, from start to the files written; when it runs out the best verified "
    "plan so far is kept. Default: 10, or, when the input's reading, greedy plan and writing need more, "
    "what they need plus 10 (said on stderr).",
)
NAME = typer.Option("reorg", "--name", help="File name of the plan, without extension.")
VERBOSE = typer.Option(False, "--verbose", "-v", help="Also send the CP-SAT solver log to stderr (progress lines always go there).")


def plan_options(
    scope: Scope, temp_ports: str, max_per_wave: int | None, pairs: PairMode, objective: Objective, time_limit: float
) -> PlanOptions:
    try:
        pool = parse_port_range(temp_ports)
    except ReorgError:
        raise ReorgError(
            f"--temp-ports {temp_ports!r} is not a port range; write LO-HI with 1 <= LO <= HI <= 65535, "
            f"e.g. --temp-ports {DEFAULT_TEMP_PORTS[0]}-{DEFAULT_TEMP_PORTS[1]}"
        ) from None
    if not math.isfinite(time_limit):
        # inf would be written to the plan file as JSON "Infinity", which no reader accepts
        raise ReorgError(f"--time-limit {time_limit} is not a finite number of seconds; give e.g. --time-limit 60")
    return PlanOptions(
        scope=scope,
        temp_ports=pool,
        max_per_wave=max_per_wave,
        pairs=pairs,
        objective=objective,
        time_limit=time_limit,
    )


_PROCESS_STARTED: float | None = None  # set by main(): the monotonic time the process started


def command_deadline(time_limit: float | None) -> Deadline:
    """The whole command's --time-limit: from the process start when run as ``reorg`` (the
    interpreter's start-up and imports count), else from now (an app invoked in-process).
    Without --time-limit the default stretches to what the input needs (``Deadline.stretch``)."""
    global _PROCESS_STARTED
    from reorg.planners.budget import Deadline

    started, _PROCESS_STARTED = _PROCESS_STARTED, None  # one command per process start
    if time_limit is None:
        return Deadline(DEFAULT_TIME_LIMIT, started, stretch=True)
    return Deadline(time_limit, started)


def progress_printer(verbose: bool) -> Callable[[str], None]:
    """Progress lines on stderr (stdout stays clean for JSON); the solver log with --verbose."""
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s", stream=sys.stderr)
    return lambda message: typer.echo(message, err=True)


@app.command("plan", epilog=examples("plan"))
def plan_command(
    current: Path = CURRENT,
    target: Path = TARGET,
    out: Path = OUT,
    strategy: Strategy = STRATEGY,
    scope: Scope = SCOPE,
    temp_ports: str = TEMP_PORTS,
    max_per_wave: int | None = MAX_PER_WAVE,
    pairs: PairMode = PAIRS,
    objective: Objective = OBJECTIVE,
    time_limit: float | None = TIME_LIMIT,
    name: str = NAME,
    verbose: bool = VERBOSE,
    refs: Path | None = typer.Option(
        None, "--refs", help="A scan's references.csv: the runbook lists every line to edit per step."
    ),
    hosts: Path | None = HOSTS_FACTS,
    json_output: bool = typer.Option(
        False, "--json", help="Print a JSON summary on stdout (files written, figures, bounds, optimal, verified)."
    ),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode",
        help="Exit 0 when the plan has no step (nothing to do), 2 when it has steps to run, 1 on any error "
        "(bad input too, instead of 2).",
    ),
) -> None:
    """Plan a verified migration and write the runbook (OUT/NAME.md) and plan (OUT/NAME.json).

    Exit 0, or 2 on bad input. With --detailed-exitcode (as terraform's): 0 nothing to do,
    2 steps to run, 1 error.
    """
    with user_errors(1 if detailed_exitcode else 2):
        deadline = command_deadline(time_limit)
        options = plan_options(scope, temp_ports, max_per_wave, pairs, objective, deadline.seconds or DEFAULT_TIME_LIMIT)
        result = commands.plan(
            current, target, out, strategy, options, name, progress_printer(verbose), refs=refs, hosts=hosts,
            deadline=deadline,
        )
    if json_output:
        show(render.render_plan_json(result.plan, result.seconds, result.paths), nl=False)
    else:
        show(render.render_plan_summary(result.plan, result.seconds, result.paths))
    if detailed_exitcode:
        raise typer.Exit(2 if result.plan.steps else 0)


# ---- compare (issue 4) -----------------------------------------------------------------------


def parse_candidates(values: list[str] | None) -> list[Candidate]:
    """``--strategies greedy,cpsat-moves`` or the option repeated; one line naming the choices otherwise."""
    chosen: list[Candidate] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip()
            try:
                chosen.append(Candidate(part))
            except ValueError:
                choices = ", ".join(c.value for c in Candidate)
                raise ReorgError(f"--strategies {shorten(part)!r} is not a plan to compare; choose from {choices}") from None
    return chosen


def parse_caps(values: list[str] | None) -> list[int | None]:
    """``--max-per-wave 5 --max-per-wave 10`` or ``--max-per-wave 5,10``; none means no cap."""
    caps: list[int | None] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip()
            if part.lower() == "none":
                caps.append(None)
                continue
            cap = parse_int(part)  # ASCII digits only: isdigit() takes '²', which int() then refuses
            if cap is None or cap < 1:
                raise ReorgError(f"--max-per-wave '{shorten(part)}' is not a positive integer (or 'none')")
            caps.append(cap)
    return list(dict.fromkeys(caps)) or [None]


@app.command("compare", epilog=examples("compare"))
def compare_command(
    current: Path = CURRENT,
    target: Path = TARGET,
    strategies: list[str] | None = typer.Option(
        None, "--strategies", help="Plans to compare: a comma list or a repeated option, e.g. --strategies greedy,cpsat-moves; default: all."
    ),
    scope: Scope = SCOPE,
    temp_ports: str = TEMP_PORTS,
    max_per_wave: list[str] | None = typer.Option(
        None, "--max-per-wave", help="Wave cap(s) to compare: repeat it or give 5,10; 'none' for no cap."
    ),
    pairs: PairMode = PAIRS,
    time_limit: float | None = TIME_LIMIT,
    out: Path | None = typer.Option(None, "--out", help="Also write compare.md and every plan here."),
    prefer: Preference = typer.Option(
        Preference.MOVES, "--prefer",
        help="What the recommendation minimises first: moves (restarts) or waves (the window).",
    ),
    json_output: bool = JSON,
    verbose: bool = VERBOSE,
    hosts: Path | None = HOSTS_FACTS,
) -> None:
    """Plan with several strategies, verify each, and show them side by side with the front."""
    with user_errors():
        deadline = command_deadline(time_limit)
        caps = parse_caps(max_per_wave)
        options = plan_options(scope, temp_ports, None, pairs, Objective.MOVES, deadline.seconds or DEFAULT_TIME_LIMIT)
        chosen = list(dict.fromkeys(parse_candidates(strategies) or list(Candidate)))
        result = commands.compare(
            current, target, options, chosen, caps, out, progress_printer(verbose), hosts, deadline=deadline,
            prefer=prefer,
        )
    if json_output:
        typer.echo(render.render_compare_json(result), nl=False)
        return
    show(render.render_compare(result), nl=False)
    for note in result.notes:
        show(note)
    for path in result.paths:
        show(f"wrote {path}")


# ---- target, port, doc (issue 10) -----------------------------------------------------------

@app.command("target", epilog=examples("target"))
def target_command(
    current: Path = CURRENT,
    pins: Path | None = typer.Option(
        None, "--pins", help="A partial target.csv: its rows are kept exactly (pins, retirements, reservations).",
        show_default="no pins",
    ),
    ranges: Path | None = RANGES,
    hosts: Path | None = HOSTS_FACTS,
    scope: Scope = SCOPE,
    spare: int = typer.Option(0, "--spare", min=0, help="Leave N free ports in each range (per host; per fleet with --scope global)."),
    host_weight: list[str] | None = typer.Option(
        None, "--host-weight", help="HOST=W: a changed binding on HOST costs W (default 1); repeat it or give a,b."
    ),
    pair_digits: int = PAIR_DIGITS,
    category: list[str] | None = typer.Option(
        None, "--category", help="SERVICE=CATEGORY: place SERVICE in another category's range than current.csv says."
    ),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.1, help="CP-SAT limit for the whole assignment (split over its components by size), in deterministic seconds."),
    out: Path | None = typer.Option(None, "--out", help="Write the target CSV here.", show_default="stdout"),
    report: Path | None = typer.Option(None, "--report", help="Write the decision report here.", show_default="stderr"),
    against: Path | None = typer.Option(None, "--against", help="Show the figures of another complete target beside this one's."),
    json_output: bool = typer.Option(False, "--json", help="The report as JSON (on stderr, or in --report)."),
) -> None:
    """Compute a complete target from the ranges, the current bindings and optional pins (CP-SAT)."""
    from reorg.commands.target import parse_categories, parse_host_weights, target
    from reorg.render.target import render_target_json, render_target_report
    from reorg.targeting import TargetOptions

    with user_errors():
        if not math.isfinite(time_limit):
            raise ReorgError(f"--time-limit {time_limit} is not a finite number of seconds; give e.g. --time-limit 60")
        options = TargetOptions(scope, spare, parse_host_weights(host_weight), pair_digits, time_limit, parse_categories(category))
        run = target(current, pins, ranges, hosts, options, out, against)
        text = render_target_json(run) if json_output else render_target_report(run)
        if report is not None:
            from reorg.atomic import write_text_atomic

            write_text_atomic(report, text)
    if out is None:
        typer.echo(run.csv_text, nl=False)
    if report is None:
        typer.echo(text, nl=False, err=True)


@app.command("port", epilog=examples("port"))
def port_command(
    service: str = typer.Argument(..., help="The new service."),
    category: str = typer.Option(..., "--category", help="Its range's category (ranges.csv)."),
    pair: str | None = typer.Option(None, "--pair", help="Its backend: the port then shares the backend's last digit(s)."),
    host: str | None = typer.Option(None, "--host", help="The host it will run on.", show_default="every host"),
    current: Path = CURRENT,
    target: Path = TARGET,
    ranges: Path | None = RANGES,
    hosts: Path | None = HOSTS_FACTS,
    pair_digits: int = PAIR_DIGITS,
    add: bool = typer.Option(False, "--add", help="Append the row to target.csv (and current.csv with --host)."),
    json_output: bool = JSON,
) -> None:
    """The port a new service should take: free everywhere, in its range, matching its backend."""
    from reorg.commands.target import port
    from reorg.render.target import render_port, render_port_json

    with user_errors():
        choice = port(service, category, pair, host, current, target, ranges, hosts, pair_digits, add)
    typer.echo(render_port_json(choice) if json_output else render_port(choice), nl=False)


@app.command("doc", epilog=examples("doc"))
def doc_command(
    current: Path = CURRENT,
    target: Path = TARGET,
    ranges: Path | None = RANGES,
    hosts: Path | None = HOSTS_FACTS,
    out: Path | None = typer.Option(None, "--out", help="Write the document here.", show_default="stdout"),
    check_file: Path | None = typer.Option(
        None, "--check", help="Compare with this committed document: exit 1 when it differs (for CI)."
    ),
) -> None:
    """The port schema document (Markdown), generated from the tables and hosts.csv."""
    from reorg.commands.target import doc

    with user_errors():
        result = doc(current, target, ranges, hosts, out, check_file)
    if check_file is not None:
        if result.differs:
            typer.echo(
                f"{check_file} differs from what the tables generate (first at line {result.first_difference}); "
                f"run `reorg doc --out {check_file}` and commit it",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"{check_file} is up to date")
        return
    if out is None:
        typer.echo(result.text, nl=False)
    else:
        typer.echo(f"wrote {out}")


# ---- execute: status, next, done, undo, history (issue 5) ------------------------------------


# Defaults that are not values go in show_default: "[...]" in help text is rich markup and vanishes.
EXEC_PLAN = typer.Option(
    None, "--plan", help="The plan file.", show_default="the only plan in plans/, or in the current folder"
)
EXEC_JOURNAL = typer.Option(
    None, "--journal", help="The journal.", show_default="NAME.journal.json beside the plan"
)
EXEC_HOSTS = typer.Option(
    None, "--hosts", help="host,address CSV for probes.", show_default="hosts.csv beside the plan, if any"
)
EXEC_NO_PROBE = typer.Option(False, "--no-probe", help="Skip the TCP probes (offline runs); checks are recorded as skipped.")
EXEC_FORCE = typer.Option(False, "--force", help="Record the step even though a check failed (marked forced).")
EXEC_FORCE_UNLOCK = typer.Option(False, "--force-unlock", help="First remove a lock left by a session that is no longer running.")


EXEC_HERE = typer.Option(
    None, "--here", help="The host reorg runs on: probed on 127.0.0.1 when hosts.csv gives it no address.",
    show_default="$REORG_HERE, else none: hosts without an address are not probed",
)
EXEC_YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (for scripts).")


def print_exec_notices(notices: Iterable[str]) -> None:
    """Notices (a changed table, a twin journal, a lock) go to stderr: stdout stays the report."""
    for notice in notices:
        say("note", notice)


def emit_step_report(report: StepReport | BatchReport, json_output: bool) -> NoReturn:
    """Print a next/done/undo report; a failed check exits 1."""
    from reorg.execution import BatchReport

    if json_output:
        text = render.render_execution_json(report)
    elif isinstance(report, BatchReport):
        text = render.render_batch_report(report)
    else:
        text = render.render_step_report(report)
    show(text, nl=False)
    print_exec_notices(report.notices)
    raise typer.Exit(0 if report.ok else 1)


def _step_list(value: str | None) -> str | None:
    """Refuse a malformed step list as a usage error (``see `reorg done --help```)."""
    if value is not None:
        try:
            commands.parse_step_list(value)
        except ReorgError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@app.command("status", epilog=examples("status"))
def status_command(
    plan: Path | None = EXEC_PLAN, journal: Path | None = EXEC_JOURNAL, json_output: bool = JSON
) -> None:
    """Where execution stands: steps done, started, the next one, any failed step. Never writes.

    Exit 0, or 1 while a step is failed (dirty: it must be retried, undone or forced before
    anything else runs), 2 on bad input.
    """
    with user_errors():
        report = commands.execution_status(plan, journal)
    show(render.render_execution_json(report) if json_output else render.render_status(report), nl=False, status=not json_output)
    print_exec_notices(report.notices)
    raise typer.Exit(1 if report.position.dirty is not None else 0)


@app.command("next", epilog=examples("next"))
def next_command(
    step: int | None = typer.Argument(None, help="An open step to start.", show_default="the first open one"),
    host: str | None = typer.Option(None, "--host", help="Pick the first open step on this host."),
    plan: Path | None = EXEC_PLAN,
    journal: Path | None = EXEC_JOURNAL,
    hosts: Path | None = EXEC_HOSTS,
    here: str | None = EXEC_HERE,
    no_probe: bool = EXEC_NO_PROBE,
    force_unlock: bool = EXEC_FORCE_UNLOCK,
    preview: bool = typer.Option(
        False, "--preview", help="Only show the step and check that its new port is free; record nothing."
    ),
    json_output: bool = JSON,
) -> None:
    """Show an open step's checklist, check that its new port is free, and record it as started.

    A failed pre-check records nothing (exit 1). Then make the change and run `reorg done`.
    With --preview nothing is recorded (reading a step does not start it).
    """
    with user_errors():
        report = commands.prepare_next(plan, journal, hosts, not no_probe, step, host, here, force_unlock, preview)
    emit_step_report(report, json_output)


@app.command("done", epilog=examples("done"))
def done_command(
    steps: str | None = typer.Argument(
        None, help="The step(s) performed: 3, or 3-9,12.", show_default="the step reorg next started",
        callback=lambda value: _step_list(value),
    ),
    wave: int | None = typer.Option(None, "--wave", min=1, help="Record every step of this wave not yet done."),
    host: str | None = typer.Option(None, "--host", help="Only steps on this host (with --wave: of that wave)."),
    plan: Path | None = EXEC_PLAN,
    journal: Path | None = EXEC_JOURNAL,
    hosts: Path | None = EXEC_HOSTS,
    here: str | None = EXEC_HERE,
    no_probe: bool = EXEC_NO_PROBE,
    force: bool = EXEC_FORCE,
    force_unlock: bool = EXEC_FORCE_UNLOCK,
    json_output: bool = JSON,
) -> None:
    """Record performed step(s) after their post-checks; a failed check records it as failed (exit 1)."""
    with user_errors():
        report = commands.record_done(plan, steps, journal, hosts, not no_probe, force, force_unlock, wave, host, here)
    emit_step_report(report, json_output)


@app.command("undo", epilog=examples("undo"))
def undo_command(
    plan: Path | None = EXEC_PLAN,
    journal: Path | None = EXEC_JOURNAL,
    hosts: Path | None = EXEC_HOSTS,
    here: str | None = EXEC_HERE,
    no_probe: bool = EXEC_NO_PROBE,
    force: bool = EXEC_FORCE,
    force_unlock: bool = EXEC_FORCE_UNLOCK,
    preview: bool = typer.Option(
        False, "--preview", help="Only show the rollback and check its old port is free; record nothing."
    ),
    yes: bool = EXEC_YES,
    json_output: bool = JSON,
) -> None:
    """Show the rollback of the last done (or failed) step, ask, and record it after its reversed checks.

    When a step was started (by `reorg next`) after the last done one, undo cancels that start
    instead (it asks too): nothing is checked, the step is open and not started again.

    Order: `undo --preview` first (shows the rollback, checks its old port is free), then roll
    back by hand, then `undo`: it shows the rollback again and asks whether you rolled it back;
    y runs the rollback's checks and records it. Scripts pass --yes (without a terminal, undo
    refuses without it).
    """
    with user_errors():
        if preview:
            emit_step_report(commands.record_undo(plan, journal, hosts, not no_probe, preview=True, here=here), json_output)
        expect = None
        if not yes:
            shown = commands.record_undo(plan, journal, hosts, False, preview=True, here=here, confirming=True)
            expect = shown.step.step
            if not interactive():
                what = "cancels the start" if shown.action == "cancel-preview" else "records the rollback"
                raise ReorgError(
                    f"undo {what} of step {expect} ({shown.step.service} on {shown.step.host}); "
                    "without a terminal to confirm on, run `reorg undo --yes` (see it first with `reorg undo --preview`)"
                )
            show(render.render_step_report(shown), nl=False)
            question = (
                f"Cancel the start of step {expect}?" if shown.action == "cancel-preview"
                else f"Step {expect} rolled back as shown: record it as undone?"
            )
            if not typer.confirm(question, default=False):
                fail("nothing was recorded", 1)
        report = commands.record_undo(plan, journal, hosts, not no_probe, force, force_unlock, here=here, expect_step=expect)
    emit_step_report(report, json_output)


@app.command("history", epilog=examples("history"))
def history_command(
    plan: Path | None = EXEC_PLAN, journal: Path | None = EXEC_JOURNAL, json_output: bool = JSON
) -> None:
    """The journal as a table, oldest event first. Never writes."""
    with user_errors():
        report = commands.journal_history(plan, journal)
    show(render.render_execution_json(report) if json_output else render.render_history(report), nl=False)


@app.command("reset", epilog=examples("reset"))
def reset_command(
    plan: Path | None = EXEC_PLAN,
    journal: Path | None = EXEC_JOURNAL,
    force_unlock: bool = EXEC_FORCE_UNLOCK,
    yes: bool = EXEC_YES,
    json_output: bool = JSON,
) -> None:
    """Move the journal aside (NAME.journal.json.bak-N, never deleted) to start over at step 1.

    When the journal records steps as done it warns and asks (scripts pass --yes): those steps
    stay done on the hosts.
    """
    with user_errors():
        journal_path, done = commands.journal_done_steps(plan, journal)
        if done and not yes:
            warning = (
                f"{journal_path.as_posix()} records {done} step(s) as done; they stay done on the hosts, and a "
                "new journal starts again at step 1: first write where the hosts are with `reorg state` and re-plan"
            )
            if not interactive():
                raise ReorgError(f"{warning}; to move it aside anyway run `reorg reset --yes`")
            say("warning", warning)
            if not typer.confirm("Move the journal aside?", default=False):
                fail("nothing was moved", 1)
        journal_path, backup = commands.reset_journal(plan, journal, force_unlock)
    text = render.render_reset_json(journal_path, backup) if json_output else render.render_reset(journal_path, backup)
    show(text, nl=False)


@app.command("state", epilog=examples("state"))
def state_command(
    out: Path | None = typer.Option(
        None, "--out", help="Write the table here (atomically; an existing current table is replaced).",
        show_default="print it on stdout",
    ),
    at: commands.At = typer.Option(commands.At.NOW, "--at", help="now: as the journal says; end: after the last step."),
    current: Path | None = typer.Option(
        None, "--current", help="The current table whose columns and rows to keep.",
        show_default="the table the plan was made from",
    ),
    plan: Path | None = EXEC_PLAN,
    journal: Path | None = EXEC_JOURNAL,
) -> None:
    """Write the inventory the journal says is true (same columns as current.csv), e.g. after the last step:

    reorg state --at end --out data/current.csv   (then `reorg check` is clean and a re-plan starts from it)
    """
    with user_errors():
        result = commands.write_state(plan, journal, at, out, current)
    if result.out is None:
        show(result.text, nl=False)
    else:
        show(
            f"wrote {result.out.as_posix()}: {result.rows} binding(s), {result.moved} on a new port, "
            f"{result.retired} retired (as of {at.value})"
        )
    print_exec_notices(result.notices)


hosts_app = typer.Typer(
    help="hosts.csv: where each host of a plan is probed.", no_args_is_help=True, epilog=examples("hosts")
)
app.add_typer(hosts_app, name="hosts")


@hosts_app.command("init", epilog=examples("init"))
def hosts_init_command(
    plan: Path | None = EXEC_PLAN,
    out: Path | None = typer.Option(None, "--out", help="Where to write it.", show_default="hosts.csv beside the plan"),
) -> None:
    """Write a hosts.csv template with every host of the plan (never over an existing file)."""
    with user_errors():
        path, hosts = commands.hosts_init(plan, out)
    show(
        f"wrote {path.as_posix()} with {len(hosts)} host(s) ({', '.join(hosts)}); fill in each address "
        "(a host without one is probed only where reorg runs, with --here HOST)"
    )


# ---- scan, check --scan, patch (issue 9) --------------------------------------------------------

SCAN_MAP = typer.Option(
    None, "--map", help="GLOB=HOST: the host of matching files' bindings (repeatable; first match wins). "
    "Default: docker-compose.NAME.yml belongs to NAME, everything else to the dev host.",
)
SCAN_DEV_HOST = typer.Option("dev", "--dev-host", help="Host of source defaults, dev servers and plain compose files.")
SCAN_EXCLUDE = typer.Option(None, "--exclude", help="Skip paths matching GLOB (repeatable), beside tests, fixtures, docs and lock files.")


def _scan_render() -> ModuleType:
    """reorg.render.scan (it imports the scan readers and YAML): only the scan commands need it."""
    from reorg.render import scan

    return scan


def print_notices(scan: Any) -> None:
    for notice in scan.notices:
        say("warning", notice)  # paths come from the scanned tree


@app.command("scan", epilog=examples("scan"))
def scan_command(
    root: Path = typer.Argument(..., help="The repository checkout to read."),
    out: Path = typer.Option(Path("scan"), "--out", help="Directory for current.csv and references.csv."),
    maps: list[str] | None = SCAN_MAP,
    dev_host: str = SCAN_DEV_HOST,
    excludes: list[str] | None = SCAN_EXCLUDE,
    diff: Path | None = typer.Option(None, "--diff", help="Compare with a current.csv: rows only in one, ports that differ."),
    json_output: bool = JSON,
) -> None:
    """Read a checkout: where each service listens (current.csv) and every place a port is written (references.csv)."""
    with user_errors():
        options = commands.ScanOptions.parse(maps, dev_host, excludes)
        result = commands.scan(root, options, out, diff, progress_printer(False))
    print_notices(result.scan)
    show(_scan_render().render_scan_json_text(result) if json_output else _scan_render().render_scan(result), nl=False)


def check_scan_command(
    root: Path, current: Path | None, target: Path | None, maps: list[str] | None, dev_host: str,
    excludes: list[str] | None, baseline: Path | None, write_baseline: bool, json_output: bool,
) -> NoReturn:
    with user_errors():
        options = commands.ScanOptions.parse(maps, dev_host, excludes)
        report = commands.check_scan(root, options, current, target, baseline, write_baseline, progress_printer(False))
    print_notices(report.scan)
    show(_scan_render().render_scan_check_json(report) if json_output else _scan_render().render_scan_check(report), nl=False)
    raise typer.Exit(report.exit_code)


@app.command("patch", epilog=examples("patch"))
def patch_command(
    step: int = typer.Argument(..., help="The step whose lines to rewrite."),
    plan: Path | None = EXEC_PLAN,
    refs: Path = typer.Option(Path("scan/references.csv"), "--refs", help="references.csv of the scan the plan was made from."),
    root: Path = typer.Option(Path("."), "--root", help="The scanned tree (references.csv paths are relative to it)."),
    reverse: bool = typer.Option(False, "--reverse", help="The step's undo: rewrite its new port back to the old one."),
    write: bool = typer.Option(False, "--write", help="Apply the patch (atomically; refused if a line changed since the scan)."),
) -> None:
    """Print a unified diff that rewrites the step's port literals; --write applies it."""
    with user_errors():
        result = commands.patch(step, plan, refs, root, reverse, write)
    # The diff is the files' own bytes, for `patch`/`git apply`; on a terminal control characters
    # in them show as escapes instead of acting.
    typer.echo(terminal_text(result.diff) if sys.stdout.isatty() else result.diff, nl=False)
    typer.echo(terminal_safe(_scan_render().render_patch_note(result)), err=True)


def _plain_coercion() -> None:
    """Coerce plain option values without pydantic (issue 8: `reorg status`, `reorg plan`).

    typer 0.2x coerces every option value through a pydantic ``TypeAdapter``; importing pydantic
    for it costs about 0.15 s of CPU, half of what `reorg status` costs. For the plain types these
    commands take, this does what the adapter does: a ``str`` as is, a path string through typer's
    own ``coerce_cli_path``, an enum through its ``coerce_cli_choice``, a default number or plain
    decimal digits within the option's min and max. Any other value (a bad one included) goes to
    typer's own coercion and its error message. Only on a typer that has these internals; any
    other typer keeps its own.
    """
    try:
        from typer import _coercion, core
        from typer._param_types import coerce_cli_choice, coerce_cli_path
    except ImportError:
        return
    found: Any = getattr(core, "build_runtime_param", None)
    base: Any = getattr(_coercion, "RuntimeParam", None)
    if found is None or base is None or getattr(found, "reorg_plain", False):
        return
    full: Callable[[Any], Any] = found
    from dataclasses import dataclass as _dataclass

    @_dataclass(frozen=True)
    class Plain(base):  # type: ignore[misc]
        descriptor: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind, info = self.annotation, self.parameter_info
            if kind is str and type(value) is str:
                return value
            if kind is Path and isinstance(value, (str, Path)):
                return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
            if kind in (int, float) and not info.clamp:
                number = value if type(value) is kind else None
                if type(value) is str and re.fullmatch(r"[0-9]{1,9}" if kind is int else r"[0-9]{1,9}(\.[0-9]{1,9})?", value):
                    number = kind(value)
                low, high = info.min, info.max
                if number is not None and (low is None or number >= low) and (high is None or number <= high):
                    return number
            if isinstance(kind, type) and issubclass(kind, Enum):
                with suppress(ValueError):
                    return coerce_cli_choice(value, choices=list(kind), case_sensitive=info.case_sensitive, ctx=ctx)
            return full(self.descriptor)._coerce_value(value, param, ctx)  # typer's own, and its errors

    def build(descriptor: Any) -> Any:
        info = descriptor.parameter_info
        kind = descriptor.annotation
        simple = kind in (str, Path, bool, int, float) or (isinstance(kind, type) and issubclass(kind, Enum))
        plain = simple and descriptor.file_annotation is None
        if plain and getattr(info, "parser", None) is None and getattr(info, "path_type", None) is None:
            return Plain(parameter_info=info, annotation=descriptor.annotation, descriptor=descriptor)
        return full(descriptor)

    build.reorg_plain = True  # type: ignore[attr-defined]
    setattr(core, "build_runtime_param", build)  # noqa: B010 - typer does not export it


def main() -> None:
    """Console entry point: user errors exit 2 with one line; bugs keep their traceback.

    Click's own usage errors (an unknown option, a value out of range) would print a framed
    block; here they get the same one line, ``error: ...; see `reorg plan --help```. Ctrl-C
    anywhere is ``error: aborted`` and exit 130 (``aborted``); ``reorg/__main__.py`` catches it
    while this module is still being imported. With ``plan --detailed-exitcode`` every error
    exits 1, so that 2 only ever means "steps to run".
    """
    global _PROCESS_STARTED
    from reorg.planners.budget import fresh_process_started

    _PROCESS_STARTED = fresh_process_started()  # None in a long-lived process: count from now
    fresh = _PROCESS_STARTED is not None
    _plain_coercion()
    error_code = 1 if "--detailed-exitcode" in sys.argv[1:] else 2
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        aborted()
    except ReorgError as exc:
        say("error", exc)
        _exit(error_code, fresh)
    except ClickException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:  # bare `reorg`: the help
            typer.echo(ctx.get_help())
            sys.exit(exc.exit_code)
        message = " ".join(exc.format_message().split()).replace("Value error, ", "").rstrip(".")
        where = ctx.command_path if ctx is not None else "reorg"
        say("error", f"{message}; see `{where} --help`")
        sys.exit(error_code if exc.exit_code == 2 else exc.exit_code)
    except typer.Abort:  # Ctrl-C or end of input at a confirmation prompt
        aborted()
    if code == 130:  # typer turns a KeyboardInterrupt inside a command into Exit(130)
        aborted()
    _exit(code if isinstance(code, int) else 0, fresh)


def _exit(code: int, fresh: bool) -> None:
    """Exit; a console process that loaded ortools skips the interpreter's teardown.

    Unloading ortools takes 0.2-0.4 s of wall time at exit, which --time-limit counts (issue 8).
    Every file the command wrote is closed and renamed by then; the output streams and logging
    are flushed here. An embedding process (``fresh`` false: a test suite) exits as usual.
    """
    if fresh and "ortools" in sys.modules:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def aborted() -> NoReturn:
    """Ctrl-C: one line and exit 130 (128 + SIGINT), as shells report it. Every file reorg writes
    is written atomically (reorg/atomic.py), so an interrupted command leaves nothing half-written;
    a second Ctrl-C while this line is printed is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("error: aborted", file=sys.stderr)
    sys.exit(130)


# The click exception typer raises (newer typers vendor their own click, so ``click`` may differ).
ClickException: type[typer.TyperException] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)
