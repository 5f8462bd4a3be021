"""One function per command: takes paths and options, returns values; never prints or exits.

``planning``: check, plan, compare. ``execution``: status, next, done, undo, history, reset.
``scanning``: scan, check --scan, patch.
"""

from __future__ import annotations

from reorg.lazy import lazy_names

# name -> the module that defines it, imported on first use (reorg.lazy)
_HOMES = {
    "At": "reorg.commands.execution",
    "Comparison": "reorg.commands.planning",
    "DEFAULT_RANGES": "reorg.commands.planning",
    "DEFAULT_SCAN_OUT": "reorg.commands.scanning",
    "Execution": "reorg.commands.execution",
    "PLANS_DIR": "reorg.commands.execution",
    "PlanRejected": "reorg.commands.planning",
    "PlanResult": "reorg.commands.planning",
    "ScanCheck": "reorg.commands.scanning",
    "ScanOptions": "reorg.commands.scanning",
    "ScanResult": "reorg.commands.scanning",
    "StateResult": "reorg.commands.execution",
    "base_bindings": "reorg.commands.execution",
    "check": "reorg.commands.planning",
    "check_out_dir": "reorg.commands.planning",
    "check_scan": "reorg.commands.scanning",
    "check_verified": "reorg.commands.planning",
    "compare": "reorg.commands.planning",
    "execution_status": "reorg.commands.execution",
    "find_plan": "reorg.commands.execution",
    "hosts_init": "reorg.commands.execution",
    "journal_done_steps": "reorg.commands.execution",
    "journal_history": "reorg.commands.execution",
    "load_hosts": "reorg.commands.execution",
    "make_verified_plan": "reorg.commands.planning",
    "open_execution": "reorg.commands.execution",
    "parse_step_list": "reorg.commands.execution",
    "patch": "reorg.commands.scanning",
    "plan": "reorg.commands.planning",
    "prepare_next": "reorg.commands.execution",
    "record_done": "reorg.commands.execution",
    "record_undo": "reorg.commands.execution",
    "refuse_replacing_executed_plan": "reorg.commands.planning",
    "reset_journal": "reorg.commands.execution",
    "scan": "reorg.commands.scanning",
    "verify_planfile": "reorg.commands.execution",
    "write_state": "reorg.commands.execution",
}

__all__ = sorted(_HOMES)
__getattr__, __dir__ = lazy_names(globals(), _HOMES)
