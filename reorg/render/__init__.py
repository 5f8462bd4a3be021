"""Text for people and machines: check reports, runbooks, comparison and journal tables.

Functions return strings; only the CLI prints them. ``report``: check, plan summary, compare;
``runbook``: the Markdown runbook; ``steptext``: what one step says; ``diagram``: Mermaid;
``execution``: status, next, done, undo, history, reset; ``table``: the only tabulate user.
"""

from __future__ import annotations

from reorg.lazy import lazy_names

# name -> the module that defines it, imported on first use (reorg.lazy)
_HOMES = {
    "DIAGRAM_MAX_EDGES": "reorg.render.diagram",
    "DIAGRAM_MAX_NODES": "reorg.render.diagram",
    "DIAGRAM_MAX_STEPS": "reorg.render.diagram",
    "StepText": "reorg.render.steptext",
    "describe_step": "reorg.render.steptext",
    "explain_trade": "reorg.render.report",
    "md_table": "reorg.render.table",
    "render_batch_report": "reorg.render.execution",
    "render_check": "reorg.render.report",
    "render_check_json": "reorg.render.report",
    "render_compare": "reorg.render.report",
    "render_compare_json": "reorg.render.report",
    "render_compare_markdown": "reorg.render.report",
    "render_execution_json": "reorg.render.execution",
    "render_history": "reorg.render.execution",
    "render_mermaid": "reorg.render.diagram",
    "render_plan_json": "reorg.render.report",
    "render_plan_summary": "reorg.render.report",
    "render_reset": "reorg.render.execution",
    "render_reset_json": "reorg.render.execution",
    "render_runbook": "reorg.render.runbook",
    "render_status": "reorg.render.execution",
    "render_step_report": "reorg.render.execution",
    "step_dependencies": "reorg.render.diagram",
    "step_title": "reorg.render.steptext",
    "text_table": "reorg.render.table",
}

__all__ = sorted(_HOMES)
__getattr__, __dir__ = lazy_names(globals(), _HOMES)
