"""The CP-SAT gateway: the only module that imports ortools.

Every CP-SAT model in reorg builds on ``CpModel`` from here and solves with ``new_solver``, so each
solve is bounded and reproducible: a deterministic time limit, one worker and a fixed seed (the
same input gives the same answer), with the solver log sent to a logger through a callback.
"""

from __future__ import annotations

import logging

from ortools.sat.python import cp_model

CpModel = cp_model.CpModel
CpSolver = cp_model.CpSolver
IntVar = cp_model.IntVar
Domain = cp_model.Domain

# Solve statuses, compared with ``solver.solve(model)``'s result.
OPTIMAL = cp_model.OPTIMAL
FEASIBLE = cp_model.FEASIBLE
INFEASIBLE = cp_model.INFEASIBLE
MODEL_INVALID = cp_model.MODEL_INVALID
UNKNOWN = cp_model.UNKNOWN

SEED = 20260408


def new_solver(time_limit: float, log: logging.Logger, wall: float | None = None) -> CpSolver:
    """A solver with ``time_limit`` deterministic seconds, one worker, the fixed seed, logging to ``log``.

    ``wall`` caps the wall-clock seconds too (what is left of the command's --time-limit): the
    deterministic limit keeps runs reproducible, the wall limit keeps the command on time; only a
    solve the wall limit cuts short can differ from run to run.
    """
    solver = CpSolver()
    p = solver.parameters
    p.num_workers = 1
    p.random_seed = SEED
    p.max_deterministic_time = time_limit
    guard = 4 * time_limit + 5  # a wall-clock guard only
    p.max_time_in_seconds = guard if wall is None else max(0.001, min(guard, wall))
    p.log_search_progress = log.isEnabledFor(logging.DEBUG)
    p.log_to_stdout = False
    solver.log_callback = log.debug
    return solver
