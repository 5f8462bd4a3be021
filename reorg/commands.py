"""One function per command: takes paths and options, returns values; never prints or exits."""

from __future__ import annotations

# ---- check (issue 2) -------------------------------------------------------------------------


# ---- plan (issue 3) --------------------------------------------------------------------------


# ---- compare (issue 4) -----------------------------------------------------------------------


# ---- execute: status, next, done, undo, history (issue 5) ------------------------------------
