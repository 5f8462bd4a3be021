"""What one step says to the operator: its title, and its pre-check, change, verify and rollback.

Shared by the runbook, the diagram and the execute commands' output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reorg.escape import md_escape, shell_quote
from reorg.model import Scope, Step, StepKind

# Where a port lives in a managarten service (the inventory README's list), kept generic: the
# step text names the kinds of place, and the runbook's header lists them once in full.
_PORT_PLACES = (
    "its port setting (env `PORT`, compose `\"host:container\"` mapping and healthcheck, "
    "Dockerfile, launchd plist or Scheduled Task)"
)
_CLIENTS = (
    "its clients (other services' `*_URL`, prometheus and cloudflared targets, client "
    "fallbacks, docs)"
)


@dataclass(frozen=True)
class StepText:
    """The checklist of one step, shared by the runbook and ``reorg next``. Markdown inline text."""

    title: str
    precheck: str
    change: str
    verify: str
    rollback: str


def step_title(step: Step, name: Callable[[str], str] = str) -> str:
    """``3. mana-search on dev: 3021 → 3012``, marking temp ports and retirements.

    ``name`` escapes the service and host for where the title goes (``md_escape`` in Markdown)."""
    head = f"{step.step}. {name(step.service)} on {name(step.host)}: "
    if step.kind is StepKind.RETIRE:
        return head + f"retire {step.from_port} (stop it; frees the port)"
    if step.kind is StepKind.TO_TEMP:
        return head + f"{step.from_port} → {step.to_port} (temp)"
    if step.kind is StepKind.FROM_TEMP:
        return head + f"{step.from_port} (temp) → {step.to_port}"
    return head + f"{step.from_port} → {step.to_port}"


def describe_step(
    step: Step, scope: Scope, original_port: int | None = None, sharing: tuple[str, ...] = ()
) -> StepText:
    """What to check, change, verify and roll back for one step.

    ``original_port`` is, for a from-temp step, the port its to-temp step left; it only makes
    the roll-back text name it. ``sharing`` names the services that still hold the step's old
    port on its host after it (a collision of the current table): ``! nc -z`` cannot show that
    port free then, so the verify text says how to check the service itself instead.
    """
    # Names are Markdown text in prose and one quoted shell word in commands (reorg.escape):
    # reorg.names already refuses unsafe ones, this holds for a plan file edited by hand too.
    svc, host, old, new, n = md_escape(step.service), md_escape(step.host), step.from_port, step.to_port, step.step
    sh = shell_quote(step.host)
    done = f"or `reorg done {n}`, which runs these probes and records the step"
    # A port shared with a binding that stays: nc would answer for the other service.
    gone = (
        f"port {old} stays held by {', '.join(md_escape(s) for s in sharing)}, so `! nc -z` cannot show it free: check "
        f"that {svc} no longer listens on it (e.g. `lsof -nP -iTCP:{old} -sTCP:LISTEN` on {host})"
        if sharing else ""
    )
    if step.kind is StepKind.RETIRE:
        return StepText(
            title=step_title(step, md_escape),
            precheck="Nothing to check: a retirement binds no port.",
            change=(
                f"Stop {svc} on {host} and disable it so it stays down (remove its compose "
                f"service, unload its launchd plist or disable its Scheduled Task); then remove "
                f"port {old} from {_CLIENTS}."
            ),
            verify=(
                f"{gone[0].upper()}{gone[1:]}; or `reorg done {n}`, which records the step." if sharing
                else f"`! nc -z {sh} {old}` (port {old} is free), {done}."
            ),
            rollback=(
                f"Re-enable {svc} on {host}, start it on port {old} and restore its clients' "
                f"references (`reorg undo`)."
            ),
        )
    where = (
        f"{new} is free on {host}"
        if scope is Scope.HOST
        else f"{new} is free on {host}, and no other service holds {new} on any host"
    )
    precheck = f"`! nc -z {sh} {new}` ({where}), or `reorg next`, which runs this check."
    verify = (
        f"`nc -z {sh} {new}` (the new port answers); {gone}; or `reorg done {n}`, which probes "
        f"the new port and records the step." if sharing
        else f"`nc -z {sh} {new} && ! nc -z {sh} {old}` (the new port answers, the old one is "
        f"free), {done}."
    )
    if step.kind is StepKind.TO_TEMP:
        change = (
            f"Set {svc}'s port on {host} from {old} to temp port {new} in {_PORT_PLACES}; "
            f"restart it. A later from-temp step moves it to its final port, so change only what "
            f"it runs with, not source defaults or docs; point clients that must keep working at "
            f"{new} meanwhile."
        )
        rollback = (
            f"Set the port back from temp {new} to {old}, restart, and point the clients you moved "
            f"back at {old} (`reorg undo`)."
        )
    elif step.kind is StepKind.FROM_TEMP:
        before = f"its original port {original_port}" if original_port else "its original port"
        change = (
            f"Set {svc}'s port on {host} from temp port {old} to {new} in {_PORT_PLACES}; "
            f"restart it; then point {_CLIENTS} at {new}."
        )
        rollback = (
            f"Set the port back from {new} to temp {old}, restart, and point its clients back at "
            f"{old} (`reorg undo`); undoing its to-temp step as well returns it to {before}."
        )
    else:
        change = (
            f"Set {svc}'s port on {host} from {old} to {new} in {_PORT_PLACES}; restart it; "
            f"then point {_CLIENTS} at {new}."
        )
        rollback = (
            f"Set the port back from {new} to {old} in the same places, restart, and point its "
            f"clients back at {old} (`reorg undo`)."
        )
    return StepText(step_title(step, md_escape), precheck, change, verify, rollback)
