"""WaveModel: the CP-SAT model of one part of the problem (instance in, Schedule out).

Per binding an arrival wave, a leave wave and a temp literal. A temp means ``leave < arrive``
(to-temp, then from-temp); otherwise they are equal. A mover arrives strictly after every binding
on its goal port has left. Bindings leaving one port leave in distinct waves; temp ports are a
cumulative resource per pool; the wave cap is a cumulative over unit steps; hard pairs arrive
together. Wave variables are integer positions, not a time-indexed grid (docs/theory.md: that does
not prove optimality at 100 bindings).

Objectives run in sequence, each stage hinted with the previous solution and pinned with ``==``
only when proven, ``<=`` otherwise; the analytic lower bounds go in as constraints so the solver
can stop as soon as it meets them. Solvers come from ``reorg.planners.sat``; the solver log goes
to the ``reorg.cpsat`` logger.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from reorg.model import PairMode
from reorg.planners import sat
from reorg.planners.parts import Clock, Infeasible, Schedule, Sub

log = logging.getLogger("reorg.cpsat")


class WaveModel:
    """Build variables, add constraints, solve objectives in sequence, extract a Schedule.

    ``time_limit`` is each solve's deterministic limit; ``clock`` its wall-clock deadline.
    """

    def __init__(
        self, sub: Sub, horizon: int, time_limit: float, enforce: bool = False, clock: Clock | None = None
    ):
        self.sub = sub
        self.horizon = max(1, horizon)
        self.time_limit = time_limit
        self.clock = clock or Clock()
        self.model = sat.CpModel()
        self.rules: dict[str, sat.IntVar] = {}  # enforcement literals, when explaining
        self.enforce = enforce
        self._build_variables()
        self._add_constraints()

    # -- building ------------------------------------------------------------------------------

    def _name(self, i: int) -> str:
        return self.sub.names.get(i, str(i))

    def _rule(self, constraint: Any, name: str) -> None:
        """Tie a business rule to an enforcement literal, only when explaining infeasibility."""
        if not self.enforce:
            return
        if name not in self.rules:
            self.rules[name] = self.model.new_bool_var(f"rule[{name}]")
        constraint.only_enforce_if(self.rules[name])

    def _build_variables(self) -> None:
        m, sub, h = self.model, self.sub, self.horizon
        self.arrive = {i: m.new_int_var(1, h, f"arrive[{self._name(i)}]") for i in sub.nodes}
        self.temp: dict[int, sat.IntVar] = {}
        self.leave: dict[int, sat.IntVar] = {}
        for i in sub.nodes:
            if i in sub.retire or sub.pool == 0:
                self.leave[i] = self.arrive[i]
                continue
            self.temp[i] = m.new_bool_var(f"temp[{self._name(i)}]")
            self.leave[i] = m.new_int_var(1, h, f"leave[{self._name(i)}]")
        self.waves = m.new_int_var(1, h, "waves")
        self.split = {
            (a, b): m.new_bool_var(f"split[{self._name(a)}/{self._name(b)}]") for a, b in sub.pairs
        }

    def _add_constraints(self) -> None:
        m, sub = self.model, self.sub
        for i, t in self.temp.items():
            m.add(self.leave[i] + 1 <= self.arrive[i]).only_enforce_if(t)
            m.add(self.leave[i] == self.arrive[i]).only_enforce_if(~t)
        for i in sub.nodes:
            m.add(self.waves >= self.arrive[i])
            for j in sub.blockers[i]:
                m.add(self.arrive[i] >= self.leave[j] + 1)
        for group in sub.shared:
            m.add_all_different([self.leave[j] for j in group])
        for a, b in sub.pairs:
            m.add(self.arrive[a] == self.arrive[b]).only_enforce_if(~self.split[(a, b)])
        self._add_temp_pool()
        self._add_cap()

    def _add_temp_pool(self) -> None:
        """Temp ports per domain: a temp is held from its leave wave through its arrival wave."""
        by_domain: dict[str, list[int]] = defaultdict(list)
        for i in self.temp:
            by_domain[self.sub.domain[i]].append(i)
        for domain, nodes in sorted(by_domain.items()):
            if len(nodes) <= self.sub.pool:
                continue
            m = self.model
            intervals = []
            for i in nodes:
                size = m.new_int_var(1, self.horizon, f"held[{self._name(i)}]")
                m.add(size == self.arrive[i] + 1 - self.leave[i]).only_enforce_if(self.temp[i])
                intervals.append(
                    m.new_optional_interval_var(
                        self.leave[i], size, self.arrive[i] + 1, self.temp[i],
                        f"temp_port[{self._name(i)}]",
                    )
                )
            self._rule(
                m.add_cumulative(intervals, [1] * len(intervals), self.sub.pool),
                f"temp pool on {domain} ({self.sub.pool} free ports)",
            )

    def _add_cap(self) -> None:
        cap = self.sub.cap
        if cap is None or len(self.sub.nodes) <= cap:
            return
        m = self.model
        steps = [m.new_fixed_size_interval_var(self.arrive[i], 1, f"step[{self._name(i)}]") for i in self.sub.nodes]
        for i, t in self.temp.items():
            steps.append(
                m.new_optional_fixed_size_interval_var(self.leave[i], 1, t, f"to_temp[{self._name(i)}]")
            )
        self._rule(m.add_cumulative(steps, [1] * len(steps), cap), f"--max-per-wave {cap}")

    def add_hard_pairs(self) -> None:
        for a, b in self.sub.pairs:
            self._rule(
                self.model.add(self.split[(a, b)] == 0),
                f"pair {self._name(a)} + {self._name(b)} arrive in one wave",
            )

    # -- solving -------------------------------------------------------------------------------

    def _solver(self, parts: int = 1) -> sat.CpSolver:
        """A solver with this model's deterministic limit and 1/``parts`` of the wall time left:
        each stage of a sequence keeps a share for the stages after it."""
        wall = self.clock.wall()
        return sat.new_solver(self.time_limit, log, None if wall is None else wall / max(1, parts))

    def _note_limits(self, solver: sat.CpSolver, status: Any) -> None:
        """Record a solve the limits cut short, and whether the wall clock did it."""
        if status == sat.OPTIMAL or status == sat.INFEASIBLE:
            return
        self.clock.cut = True
        if solver.deterministic_time < 0.99 * self.time_limit:
            self.clock.wall_cut = True

    def _hint(self, sched: Schedule | None) -> None:
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        if sched is None:
            return
        for i in self.sub.nodes:
            a, lv = sched.arrive[i], sched.leave[i]
            self.model.add_hint(self.arrive[i], a)
            if i in self.temp:
                self.model.add_hint(self.temp[i], lv < a)
                self.model.add_hint(self.leave[i], lv)
        self.model.add_hint(self.waves, sched.waves)
        for (a, b), s in self.split.items():
            self.model.add_hint(s, sched.arrive[a] != sched.arrive[b])

    def _stage(
        self, name: str, objective: Any, lower: int, hint: Schedule | None, parts: int = 1
    ) -> tuple[Schedule, bool, int]:
        """Minimise figure ``name`` (>= ``lower``); return the schedule, proof, and value.
        ``parts``: this stage and the ones after it, which share the wall time left."""
        m = self.model
        m.add(objective >= lower)
        m.minimize(objective)
        if self.clock.deadline.expired():  # no time left: keep what we have
            self.clock.cut = self.clock.wall_cut = True
            if hint is not None:
                return hint, False, self._figure(name, hint)
            raise TimeoutError("the time limit ran out before CP-SAT could start")
        self._hint(hint)
        solver = self._solver(parts)
        status = solver.solve(m)
        self._note_limits(solver, status)
        if status == sat.OPTIMAL or status == sat.FEASIBLE:
            value = int(round(solver.objective_value))
            return self._extract(solver, status == sat.OPTIMAL), status == sat.OPTIMAL, value
        if status == sat.INFEASIBLE:
            raise Infeasible([])
        if status == sat.MODEL_INVALID:  # a bug in this module, not the user's input
            raise RuntimeError(f"CP-SAT model invalid: {m.validate()}")
        if hint is not None:  # UNKNOWN: the limit hit before any solution; keep the hint
            return hint, False, self._figure(name, hint)
        raise TimeoutError("CP-SAT found no solution within the time limit")

    def _figure(self, name: str, sched: Schedule) -> int:
        if name == "waves":
            return sched.waves
        if name == "temps":
            return sched.temps
        return sum(1 for a, b in self.split if sched.arrive[a] != sched.arrive[b])

    def _extract(self, solver: sat.CpSolver, proven: bool) -> Schedule:
        arrive = {i: solver.value(self.arrive[i]) for i in self.sub.nodes}
        leave = {i: solver.value(self.leave[i]) for i in self.sub.nodes}
        return Schedule(arrive, leave, proven)

    def solve(
        self,
        stages: list[str],
        pairs: PairMode,
        hint: Schedule | None,
        lower: dict[str, int],
        wave_budget: int | None = None,
    ) -> Schedule:
        """Minimise the named figures in sequence ("temps", "waves", "splits")."""
        if pairs is PairMode.HARD:
            self.add_hard_pairs()
        if wave_budget is not None:
            self.model.add(self.waves <= wave_budget)
        figures = {
            "temps": sum(self.temp.values()) if self.temp else None,
            "waves": self.waves,
            "splits": sum(self.split.values()) if self.split else None,
        }
        proven = True
        best = hint
        extra_temps = False
        named = [name for name in stages if figures[name] is not None]
        for k, name in enumerate(named):
            expr = figures[name]
            assert expr is not None
            floor = lower.get(name, 0)
            if name == "waves" and extra_temps:
                floor = lower.get("waves_any", 1)  # more temps than cycles can cut any chain
            # a stage that hits the wall clock without a proof would leave the next objective
            # nothing (issue 8: the joint model's temps stage took it all, and the waves of a
            # 2,000-binding plan with hard pairs stayed at the list schedule's 57)
            best, ok, value = self._stage(name, expr, floor, best, len(named) - k)
            if name == "temps":
                extra_temps = value > lower.get("temps", 0)
            proven &= ok
            if ok:
                self.model.add(expr == value)
            else:
                self.model.add(expr <= value)
        if best is None:  # nothing to optimise: any feasible schedule will do
            best, ok, _ = self._stage("waves", self.waves, lower.get("waves", 1), None)
            proven &= ok
        best.proven = proven
        return best

    def explain(self, pairs: PairMode) -> list[str]:
        """Names of rules that together make the model infeasible (assumption core)."""
        if pairs is PairMode.HARD:
            self.add_hard_pairs()
        self.model.add_assumptions(list(self.rules.values()))
        solver = self._solver()
        status = solver.solve(self.model)
        if status != sat.INFEASIBLE:
            return []
        core = set(solver.sufficient_assumptions_for_infeasibility())
        return sorted(name for name, lit in self.rules.items() if lit.index in core)
