"""One function per command: takes paths and options, returns values; never prints or exits.

``planning``: check, plan, compare. ``execution``: status, next, done, undo, history, reset.
``scanning``: scan, check --scan, patch.
"""

from reorg.commands.execution import (
    PLANS_DIR,
    Execution,
    base_bindings,
    execution_status,
    find_plan,
    journal_history,
    load_hosts,
    open_execution,
    prepare_next,
    record_done,
    record_undo,
    reset_journal,
)
from reorg.commands.planning import (
    DEFAULT_RANGES,
    Comparison,
    PlanRejected,
    PlanResult,
    check,
    check_out_dir,
    check_verified,
    compare,
    make_verified_plan,
    pareto_front,
    plan,
    refuse_replacing_executed_plan,
)
from reorg.commands.scanning import (
    DEFAULT_SCAN_OUT,
    ScanCheck,
    ScanOptions,
    ScanResult,
    check_scan,
    patch,
    scan,
)

__all__ = [
    "DEFAULT_RANGES",
    "PLANS_DIR",
    "Comparison",
    "Execution",
    "PlanRejected",
    "PlanResult",
    "base_bindings",
    "check",
    "check_scan",
    "DEFAULT_SCAN_OUT",
    "ScanCheck",
    "ScanOptions",
    "ScanResult",
    "scan",
    "patch",
    "check_out_dir",
    "check_verified",
    "compare",
    "execution_status",
    "find_plan",
    "journal_history",
    "load_hosts",
    "make_verified_plan",
    "open_execution",
    "pareto_front",
    "plan",
    "prepare_next",
    "record_done",
    "record_undo",
    "refuse_replacing_executed_plan",
    "reset_journal",
]
