"""Text for people and machines: check reports, runbooks, plan JSON, comparison and journal tables.

Functions return strings; only the CLI prints them. This is the only module that uses tabulate.
"""

from __future__ import annotations

from tabulate import tabulate  # noqa: F401  (used by every section below)

# ---- check (issue 2) -------------------------------------------------------------------------


# ---- plan: runbook Markdown and plan JSON (issue 3) ------------------------------------------


# ---- compare (issue 4) -----------------------------------------------------------------------


# ---- execute: status, next, history (issue 5) ------------------------------------------------
