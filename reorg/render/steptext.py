"""What one step says to the operator: its title, and its pre-check, change, verify and rollback.

Shared by the runbook, the diagram and the execute commands' output. The text follows the
binding's status exactly as ``reorg done`` checks it (``reorg.replay.step_checks``): a stopped
binding only changes its configuration and stays stopped, so nothing is expected to answer on
its new port and its rollback leaves it stopped; an unsure one may not run, so no answer is
reported rather than failed; a port another binding still holds is never expected free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from reorg.escape import md_escape as _md_escape
from reorg.escape import shell_quote as _shell_quote
from reorg.model import Scope, Step, StepKind

# Names and sources repeat across a plan's steps (hosts in every one): escape each once.
md_escape = lru_cache(maxsize=1 << 16)(_md_escape)
shell_quote = lru_cache(maxsize=1 << 12)(_shell_quote)

STOPPED, UNSURE = "stopped", "unsure"  # the statuses the text changes for (as reorg.replay)
WINDOWS = "windows"
POSIX_OSES = ("macos", "linux")


# Where a port lives in a managarten service, kept generic for a binding with no source.
GENERIC_PLACES = (
    "in its port setting (env `PORT`, compose `\"host:container\"` mapping and healthcheck, "
    "Dockerfile, launchd plist or Scheduled Task)"
)


@dataclass(frozen=True)
class StepText:
    """The checklist of one step, shared by the runbook and ``reorg next``. Markdown inline text."""

    title: str
    precheck: str
    change: str
    verify: str
    rollback: str


@dataclass(frozen=True)
class StepFacts:
    """What the tables say about a step's binding; all optional (unknown is the generic text).

    ``status``: current.csv's status (``running``, ``stopped``, ``unsure``). ``source`` and ``note``:
    its free-text columns, where the port is configured and what the inventory says (hostile
    input: escaped here). ``line``: where the row is, e.g. ``current.csv:4``. ``os``: the host's OS
    from hosts.csv (``macos``, ``linux``, ``windows``), which picks the listening-check command.
    """

    status: str = ""
    source: str = ""
    note: str = ""
    line: str = ""
    os: str = ""
    # where a port is set when the table has no source: the runbook lists the places once and
    # points there; alone (``reorg next``) the text names the kinds of place itself
    generic: str = GENERIC_PLACES


def step_title(step: Step, name: Callable[[str], str] = str) -> str:
    """``3. mana-search on dev: 3021 → 3012``, marking temp ports and retirements.

    ``name`` escapes the service and host for where the title goes (``md_escape`` in Markdown)."""
    change = f"retire {step.from_port} (stop it; frees the port)" if step.kind is StepKind.RETIRE else port_change(step)
    return f"{step.step}. {name(step.service)} on {name(step.host)}: {change}"


def short_title(step: Step, name: Callable[[str], str] = str) -> str:
    """``3. mana-search: 3021 → 3012``: the title under a heading that already names the host."""
    return f"{step.step}. {name(step.service)}: {port_change(step)}"


def port_change(step: Step) -> str:
    """``3021 → 3012``, ``3021 → 39000 (temp)``, ``39000 (temp) → 3012`` or ``retire 8100``."""
    if step.kind is StepKind.RETIRE:
        return f"retire {step.from_port}"
    if step.kind is StepKind.TO_TEMP:
        return f"{step.from_port} → {step.to_port} (temp)"
    if step.kind is StepKind.FROM_TEMP:
        return f"{step.from_port} (temp) → {step.to_port}"
    return f"{step.from_port} → {step.to_port}"


def nc_command(host: str, port: int | None) -> str:
    """The hand probe of a port from any machine with nc: ``nc -z -w 2 HOST PORT`` (host quoted).

    ``-w 2`` bounds the wait: a bare ``nc -z`` hangs on a filtered port."""
    return f"nc -z -w 2 {shell_quote(host)} {port}"


def listen_command(os: str, port: int | str) -> str | None:
    """The command that lists who listens on ``port``, run on the host itself; None for an unknown OS."""
    if os in POSIX_OSES:
        return f"lsof -nP -iTCP:{port} -sTCP:LISTEN"
    if os == WINDOWS:
        return f"Get-NetTCPConnection -LocalPort {port} -State Listen"
    return None


def source_ref(facts: StepFacts) -> str:
    """The table's word on where the port is set, e.g. ``compose, current.csv:48`` ('' if none)."""
    return ", ".join(md_escape(part) for part in (facts.source, facts.line) if part)


def where_set(facts: StepFacts) -> str:
    """Where the step's port is changed: the table's source and line, else the generic list."""
    if facts.source:
        return f"in {source_ref(facts)}"
    return facts.generic + (f", {md_escape(facts.line)}" if facts.line else "")


def plain_undo(step: Step, facts: StepFacts) -> bool:
    """True when the step's rollback is the plain reverse (the old port back the same way, restart,
    clients back): a move of a binding that runs. The runbook states that once, not per step."""
    return step.kind is StepKind.MOVE and facts.status not in (STOPPED, UNSURE)


def describe_step(
    step: Step,
    scope: Scope,
    original_port: int | None = None,
    sharing: tuple[str, ...] = (),
    facts: StepFacts | None = None,
) -> StepText:
    """What to check, change, verify and roll back for one step.

    ``original_port`` is, for a from-temp step, the port its to-temp step left; it only makes
    the roll-back text name it. ``sharing`` names the services that still hold the step's old
    port on its host after it (a collision of the current table): that port cannot be shown
    free then, so the verify text says how to check the service itself instead, and a
    retirement's rollback restores the configuration without starting the service onto a held
    port. ``facts`` (status, source, note, table line, host OS) make the text specific.
    """
    facts = facts or StepFacts()
    # Names are Markdown text in prose and one quoted shell word in commands (reorg.escape):
    # reorg.names already refuses unsafe ones, this holds for a plan file edited by hand too.
    svc, host, old, new = md_escape(step.service), md_escape(step.host), step.from_port, step.to_port
    stopped, unsure = facts.status == STOPPED, facts.status == UNSURE
    held_by = ", ".join(md_escape(s) for s in sharing)
    place = where_set(facts)
    # a retirement's configuration: the table's source, else the generic list
    unit = source_ref(facts) if facts.source else place.removeprefix("in ")
    note = f" Note: {md_escape(facts.note)}" if facts.note else ""
    listen = listen_command(facts.os, old)
    # The old port stays held by another binding: a probe there proves nothing, so check the
    # service itself on its host (a stopped one has nothing to check).
    gone = (
        f"{old} stays held by {held_by}: on {host}, `{listen}` must not show {svc}" if listen
        else f"{old} stays held by {held_by}: check on {host} that {svc} no longer listens on it"
    )
    free_old = f"`! {nc_command(step.host, old)}`"
    title = step_title(step, md_escape)
    if step.kind is StepKind.RETIRE and (stopped or sharing):
        # the generic "(stop it; frees the port)" is wrong here: say what retiring it does
        keeps = f"{old} stays held by {held_by}" if sharing else "nothing listens on it"
        does = keeps if stopped else f"stop it; {keeps}"
        title = f"{step.step}. {svc} on {host}: retire {old} ({does})"

    if step.kind is StepKind.RETIRE:
        if stopped:
            change = f"it is stopped: keep it disabled ({unit}), it stays stopped; remove {old} from its clients."
        elif unsure:
            change = f"its status on {host} is unsure: stop it if it runs, disable it ({unit}); remove {old} from its clients."
        else:
            change = f"stop and disable it ({unit}); remove {old} from its clients."
        if sharing:
            verify = f"nothing to probe: {old} stays held by {held_by}" if stopped else gone
        else:
            verify = free_old
        if stopped:
            held = f" ({old} is held by {held_by})" if sharing else ""
            rollback = f"restore its configuration with {old}; leave it stopped{held} (`reorg undo`)."
        elif sharing:
            rollback = f"restore its configuration with {old} but do not start it: {old} is held by {held_by} (`reorg undo`)."
        elif unsure:
            rollback = f"re-enable it with {old}, start it only if it ran; restore its clients (`reorg undo`)."
        else:
            rollback = f"re-enable it, start it on {old}; restore its clients (`reorg undo`)."
        return StepText(title, "nothing: a retirement binds no port", change + note, verify, rollback)

    precheck = f"`! {nc_command(step.host, new)}`" + (
        f"; no other service holds {new} on any host" if scope is Scope.GLOBAL else ""
    )
    if stopped:
        lead, restart, back = "it is stopped: ", "do not start it: it stays stopped", "leave it stopped"
    elif unsure:
        lead, restart, back = f"its status on {host} is unsure: see whether it runs; ", "restart it if it runs", "restart it if it ran"
    else:
        lead, restart, back = "", "restart it", "restart it"
    if step.kind is StepKind.TO_TEMP:
        change = (
            f"{lead}set temp {new} {place}, only what it runs with (a later step sets its final port); "
            f"{restart}; point clients that must keep working at {new}."
        )
        rollback = f"back from temp {new} to {old}; {back}; point the clients you moved back at {old} (`reorg undo`)."
    elif step.kind is StepKind.FROM_TEMP:
        change = f"{lead}set {new} {place} and in its clients; {restart}."
        before = f"its original port {original_port}" if original_port else "its original port"
        rollback = (
            f"back from {new} to temp {old}; {back}; point its clients back at {old}; undoing its to-temp "
            f"step too returns it to {before} (`reorg undo`)."
        )
    else:
        change = f"{lead}set {new} {place} and in its clients; {restart}."
        rollback = f"back from {new} to {old} the same way; {back}; point its clients back at {old} (`reorg undo`)."
    if stopped:
        verify = (
            f"nothing to probe: {old} stays held by {held_by}; it stays stopped" if sharing
            else f"{free_old}; nothing answers on {new}: it stays stopped"
        )
    else:
        both = f"`{nc_command(step.host, new)} && ! {nc_command(step.host, old)}`"
        verify = f"`{nc_command(step.host, new)}`; {gone}" if sharing else both
        if unsure:
            verify += f"; if it does not run, no answer on {new} is right (reported, not failed)"
    return StepText(title, precheck, change + note, verify, rollback)
