"""Solving a scenario: filter, build, solve in stages, and return the decisions.

The primary objective is lexicographic (placed at threat level 5, then 4, ... then 1), so it is
solved as one stage per level, most threatened first: each stage maximises the number placed at
its level and then holds that number fixed for the later stages. Measured on generated national
instances (100 networks, 1,000 placed, 300 pending), this proved optimality in about 1 s where
one weighted sum of all levels had not closed its gap after 120 s: the LP bound of the weighted
form is weak at the lower levels. A last stage maximises the secondary objective with every
level's count fixed. Each stage starts from the previous stage's plan (a solution hint).

The plan's status is ``optimal`` only when every stage is proven optimal;
``metrics.primary_optimal`` tells whether at least the contract's objective was proven.

Reproducibility: CP-SAT with one worker, or with several workers and ``interleave_search``, is
deterministic for a given seed. Both are offered; a time limit that cuts a search short can still
make two runs differ, which the plan's status (``feasible``) then says.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ortools.sat.python import cp_model

from placement.candidates import Candidates
from placement.model import PlacementModel, build_model
from placement.objectives import THREAT_LEVELS, placed_at_level, secondary_objective
from placement.scenario import Scenario
from placement.threats import Threats

Progress = Callable[[str], None]

DEFAULT_TIME_LIMIT_S = 120.0
DEFAULT_SEED = 0
DEFAULT_WORKERS = 1
PROGRESS_AFTER_S = 2.0


@dataclass(frozen=True)
class SolveSettings:
    """Solver settings; all are recorded in the plan's provenance."""

    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    seed: int = DEFAULT_SEED
    workers: int = DEFAULT_WORKERS
    reproducible: bool = True
    """With several workers, interleave their search so runs are deterministic (slower)."""

    def cp_sat_parameters(self, remaining_s: float) -> dict[str, Any]:
        params: dict[str, Any] = {
            "max_time_in_seconds": max(remaining_s, 0.01),
            "random_seed": self.seed,
            "num_workers": self.workers,
            # Full linearization puts the at-most-one and keep-apart constraints into the LP;
            # measured on generated national instances (100 networks, 300 pending) it cut
            # single-worker solves from 20-60+ s to 2-17 s.
            "linearization_level": 2,
            # Signals belong to the application (see StopRequest); CP-SAT's own SIGINT
            # handler crashes the process when the search runs in a worker thread.
            "catch_sigint_signal": False,
        }
        if self.workers > 1 and self.reproducible:
            params["interleave_search"] = True
        return params


@dataclass
class StageResult:
    name: str
    status: str
    objective: float | None
    bound: float | None
    wall_s: float


@dataclass
class SolveResult:
    """The decisions for pending people, with what is known about their quality."""

    scenario: Scenario
    candidates: Candidates
    settings: SolveSettings
    new_areas: dict[int, int]
    """Defector index -> area index, for pending people placed by this solve."""
    stages: list[StageResult] = field(default_factory=list)
    build_s: float = 0.0
    model_size: dict[str, int] = field(default_factory=dict)
    primary_optimal: bool = True
    """Every threat-level stage proven optimal (true when there was nothing to decide)."""
    interrupted: str | None = None
    """Why the solve was stopped early (e.g. "SIGINT"), or None."""

    @property
    def status(self) -> Literal["optimal", "feasible", "error"]:
        if any(stage.status in {"INFEASIBLE", "MODEL_INVALID"} for stage in self.stages):
            return "error"  # cannot happen for a sound model: placing nobody is always allowed
        if self.interrupted is not None:
            return "feasible"
        if self.primary_optimal and all(s.status == "OPTIMAL" for s in self.stages):
            return "optimal"
        return "feasible"

    @property
    def found_a_plan(self) -> bool:
        """False when the solve was stopped before any stage found a plan."""
        if self.interrupted is None:
            return True
        return any(s.objective is not None for s in self.stages)

    def area_of(self, defector_index: int) -> int | None:
        person = self.scenario.defectors[defector_index]
        if person.placed_in is not None:
            return person.placed_in
        return self.new_areas.get(defector_index)


class _ProgressPrinter(cp_model.CpSolverSolutionCallback):
    """Reports each improving plan with the proven bound, once a solve runs a while."""

    def __init__(self, stage: str, progress: Progress, started: float) -> None:
        super().__init__()
        self.stage = stage
        self.progress = progress
        self.started = started

    def on_solution_callback(self) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed >= PROGRESS_AFTER_S:
            self.progress(
                f"[{elapsed:6.1f} s] {self.stage}: incumbent {self.objective_value:,.0f}, "
                f"bound {self.best_objective_bound:,.0f}"
            )


class StopRequest:
    """A way to stop a running solve from outside: a signal handler or another thread.

    ``request`` may be called at any time (it is what a SIGINT/SIGTERM handler calls): the
    running CP-SAT search stops at once and returns its best plan so far, no later stage
    starts, and the result says it was interrupted and why.
    """

    def __init__(self) -> None:
        self.reason: str | None = None
        self._solver: cp_model.CpSolver | None = None
        self._lock = threading.Lock()

    def request(self, reason: str) -> None:
        with self._lock:
            if self.reason is None:
                self.reason = reason
            if self._solver is not None:
                self._solver.stop_search()

    def _attach(self, solver: cp_model.CpSolver | None) -> None:
        with self._lock:
            self._solver = solver
            if solver is not None and self.reason is not None:
                solver.stop_search()


@dataclass
class _Session:
    """What every stage of one solve needs: the model, settings, clock, and outputs."""

    built: PlacementModel
    settings: SolveSettings
    result: SolveResult
    started: float
    progress: Progress | None
    stop: StopRequest | None

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.reason is not None


def solve_scenario(
    scenario: Scenario,
    settings: SolveSettings | None = None,
    *,
    progress: Progress | None = None,
    stop: StopRequest | None = None,
) -> SolveResult:
    """Decide an area (or none) for every pending defector of the scenario.

    With ``stop``, the solve can be interrupted; the result then holds the best plan found so
    far (``interrupted`` says why, ``stages`` how far it got).
    """
    settings = settings or SolveSettings()
    started = time.monotonic()
    candidates = Candidates(scenario, Threats(scenario))
    built = build_model(candidates)
    result = SolveResult(
        scenario=scenario,
        candidates=candidates,
        settings=settings,
        new_areas={},
        build_s=time.monotonic() - started,
        model_size={
            "variables": len(built.assign),
            **{f"constraints_{k}": v for k, v in sorted(built.constraint_counts.items())},
        },
    )
    session = _Session(built, settings, result, started, progress, stop)
    if built.assign:
        result.new_areas = dict(sorted(_solve_stages(session).items()))
    if stop is not None and stop.reason is not None:
        result.interrupted = stop.reason
    return result


def _solve_stages(session: _Session) -> dict[int, int]:
    solution: dict[int, int] = {}
    proven = True
    for level in _levels_to_decide(session.built.candidates):
        found = None if session.stopped else _stage_level(session, level, hint=solution)
        if found is None:
            proven = False  # stopped, or out of time before any plan at this level
            break
        solution, optimal = found
        proven = proven and optimal
    session.result.primary_optimal = proven
    if proven and not session.stopped:
        better = _stage(
            session,
            name="margins, waits, wishes, spread",
            objective=secondary_objective(session.built),
            hint=solution,
        )
        if better is not None:
            solution = better[0]
    return solution


def _levels_to_decide(candidates: Candidates) -> list[int]:
    """Threat levels, most threatened first, at which someone has a candidate area."""
    present = {p.defector.threat_level for p in candidates.people.values() if p.areas}
    return [level for level in THREAT_LEVELS if level in present]


def _run(session: _Session, name: str) -> tuple[cp_model.CpSolver, StageResult]:
    """One CP-SAT search, in a worker thread so that signal handlers can stop it.

    CPython runs signal handlers only in the main thread and only between bytecodes; a
    search running in C++ on the main thread would hold them back until it ends. Waiting
    for a worker in short joins keeps the main thread responsive.
    """
    solver = cp_model.CpSolver()
    remaining = session.settings.time_limit_s - (time.monotonic() - session.started)
    for key, value in session.settings.cp_sat_parameters(remaining).items():
        setattr(solver.parameters, key, value)
    stage_started = time.monotonic()
    callback = (
        _ProgressPrinter(name, session.progress, session.started) if session.progress else None
    )
    outcome: list[Any] = []
    worker = threading.Thread(
        target=lambda: outcome.append(solver.solve(session.built.model, callback)),
        name="cp-sat",
        daemon=True,
    )
    if session.stop is not None:
        session.stop._attach(solver)
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.05)
            if session.stopped:
                # Repeated on purpose: a stop requested just before the search started
                # would otherwise be lost when CP-SAT resets its limits at the start.
                solver.stop_search()
    except BaseException:
        # A second signal (KeyboardInterrupt) or any error: stop the search and let CP-SAT's
        # threads finish before unwinding, or the C++ runtime aborts the process at exit.
        solver.stop_search()
        worker.join()
        raise
    finally:
        if session.stop is not None:
            session.stop._attach(None)
    status = outcome[0] if outcome else cp_model.UNKNOWN
    has_solution = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    stage = StageResult(
        name=name,
        status=solver.status_name(status),
        objective=solver.objective_value if has_solution else None,
        bound=solver.best_objective_bound if has_solution else None,
        wall_s=time.monotonic() - stage_started,
    )
    return solver, stage


def _read_solution(built: PlacementModel, solver: cp_model.CpSolver) -> dict[int, int]:
    return {
        person: area
        for (person, area), var in sorted(built.assign.items())
        if solver.boolean_value(var)
    }


def _stage_level(
    session: _Session, level: int, *, hint: dict[int, int]
) -> tuple[dict[int, int], bool] | None:
    """Place as many people of one threat level as possible, then hold that count.

    A proven count is fixed (``==``) for the later stages; an unproven one only bounds them
    from below (``>=``), so later stages can still improve it.
    """
    built = session.built
    count = placed_at_level(built, level)
    found = _stage(session, name=f"placed at threat level {level}", objective=count, hint=hint)
    if found is None:
        return None
    solution, optimal = found
    people = built.candidates.scenario.defectors
    placed = sum(1 for p in solution if people[p].threat_level == level)
    built.model.add(count == placed if optimal else count >= placed)
    return solution, optimal


def _stage(
    session: _Session,
    *,
    name: str,
    objective: cp_model.LinearExprT,
    hint: dict[int, int],
) -> tuple[dict[int, int], bool] | None:
    """Maximise one objective from the previous stage's plan; None when no plan was found."""
    model = session.built.model
    model.clear_objective()  # type: ignore[no-untyped-call]  # ortools lacks the hint
    model.clear_hints()  # type: ignore[no-untyped-call]  # ortools lacks the hint
    for (person, area), var in sorted(session.built.assign.items()):
        model.add_hint(var, hint.get(person) == area)
    model.maximize(objective)
    solver, stage = _run(session, name)
    session.result.stages.append(stage)
    if stage.objective is None:
        return None
    return _read_solution(session.built, solver), stage.status == "OPTIMAL"
