"""Text for people and machines: check reports, runbooks, comparison and journal tables.

Functions return strings; only the CLI prints them. ``report``: check, plan summary, compare;
``runbook``: the Markdown runbook; ``steptext``: what one step says; ``diagram``: Mermaid;
``execution``: status, next, done, undo, history, reset; ``table``: the only tabulate user.
"""

from reorg.render.diagram import (
    DIAGRAM_MAX_EDGES,
    DIAGRAM_MAX_NODES,
    DIAGRAM_MAX_STEPS,
    render_mermaid,
    step_dependencies,
)
from reorg.render.execution import (
    render_batch_report,
    render_execution_json,
    render_history,
    render_reset,
    render_reset_json,
    render_status,
    render_step_report,
)
from reorg.render.report import (
    explain_trade,
    render_check,
    render_check_json,
    render_compare,
    render_compare_json,
    render_compare_markdown,
    render_plan_summary,
)
from reorg.render.runbook import (
    render_runbook,
)
from reorg.render.steptext import (
    StepText,
    describe_step,
    step_title,
)
from reorg.render.table import (
    md_table,
    text_table,
)

__all__ = [
    "DIAGRAM_MAX_EDGES",
    "DIAGRAM_MAX_NODES",
    "DIAGRAM_MAX_STEPS",
    "StepText",
    "describe_step",
    "explain_trade",
    "md_table",
    "render_check",
    "render_check_json",
    "render_compare",
    "render_compare_json",
    "render_compare_markdown",
    "render_batch_report",
    "render_execution_json",
    "render_history",
    "render_mermaid",
    "render_plan_summary",
    "render_reset",
    "render_reset_json",
    "render_runbook",
    "render_status",
    "render_step_report",
    "step_dependencies",
    "step_title",
    "text_table",
]
