"""The CP-SAT gateway: the only module that imports ortools.

Every CP-SAT model in reorg builds on ``CpModel`` from here and solves with ``new_solver``, so each
solve is bounded and reproducible: a deterministic time limit, one worker and a fixed seed (the
same input gives the same answer), with the solver log sent to a logger through a callback.
"""

from __future__ import annotations

import logging
import threading

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


class InterruptibleSolver(cp_model.CpSolver):
    """A CpSolver that Ctrl-C stops at once with a KeyboardInterrupt.

    CP-SAT's own SIGINT handler would end the search as if the time limit were reached (the
    command then goes on and writes a plan), and it leaves SIGINT at its default action, so a
    later Ctrl-C kills the process with no cleanup. So the handler stays Python's
    (``catch_sigint_signal`` off), the search runs in a thread, and the main thread waits where a
    KeyboardInterrupt can reach it, stops the search and re-raises. An Event, not
    ``Thread.join``: an interrupted join can leave the thread looking finished (CPython 3.11).
    """

    def solve(
        self, model: cp_model.CpModel, solution_callback: cp_model.CpSolverSolutionCallback | None = None
    ) -> cp_model.CpSolverStatus:
        statuses: list[cp_model.CpSolverStatus] = []
        errors: list[BaseException] = []
        finished = threading.Event()

        def run() -> None:
            try:
                statuses.append(super(InterruptibleSolver, self).solve(model, solution_callback))
            except BaseException as exc:  # handed to the caller's thread below
                errors.append(exc)
            finally:
                finished.set()

        threading.Thread(target=run, name="cp-sat", daemon=True).start()
        try:
            while not finished.wait(0.05):
                pass
        except KeyboardInterrupt:
            self.stop_search()
            finished.wait()
            raise
        if errors:
            raise errors[0]
        return statuses[0]


def new_solver(time_limit: float, log: logging.Logger, wall: float | None = None) -> CpSolver:
    """A solver with ``time_limit`` deterministic seconds, one worker, the fixed seed, logging to ``log``.

    ``wall`` caps the wall-clock seconds too (what is left of the command's --time-limit): the
    deterministic limit keeps runs reproducible, the wall limit keeps the command on time; only a
    solve the wall limit cuts short can differ from run to run.
    """
    solver = InterruptibleSolver()
    p = solver.parameters
    p.catch_sigint_signal = False  # Ctrl-C is reorg's: see InterruptibleSolver
    p.num_workers = 1
    p.random_seed = SEED
    p.max_deterministic_time = time_limit
    guard = 4 * time_limit + 5  # a wall-clock guard only
    p.max_time_in_seconds = guard if wall is None else max(0.001, min(guard, wall))
    p.log_search_progress = log.isEnabledFor(logging.DEBUG)
    p.log_to_stdout = False
    solver.log_callback = log.debug
    return solver
