"""Solving a scenario: filter, build, solve in two stages, and return the decisions.

Stage 1 maximises the primary objective (placed people, lexicographic by threat level). When it
is proven optimal, the number placed at each level is fixed and stage 2 maximises the secondary
objective, starting from stage 1's plan as a hint. The plan's status is ``optimal`` only when
both stages are proven optimal; ``metrics.primary_optimal`` tells whether at least the contract's
objective was proven.

Reproducibility: CP-SAT with one worker, or with several workers and ``interleave_search``, is
deterministic for a given seed. Both are offered; a time limit that cuts a search short can still
make two runs differ, which the plan's status (``feasible``) then says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ortools.sat.python import cp_model

from placement.candidates import Candidates
from placement.model import PlacementModel, build_model
from placement.objectives import (
    THREAT_LEVELS,
    placed_at_level,
    primary_objective,
    secondary_objective,
)
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

    @property
    def primary_optimal(self) -> bool:
        return bool(self.stages) and self.stages[0].status == "OPTIMAL"

    @property
    def status(self) -> Literal["optimal", "feasible", "error"]:
        if not self.stages:
            return "optimal"  # nothing to decide
        if any(stage.status not in {"OPTIMAL", "FEASIBLE"} for stage in self.stages):
            return "error"
        return "optimal" if all(s.status == "OPTIMAL" for s in self.stages) else "feasible"

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


def solve_scenario(
    scenario: Scenario,
    settings: SolveSettings | None = None,
    *,
    progress: Progress | None = None,
) -> SolveResult:
    """Decide an area (or none) for every pending defector of the scenario."""
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
    if not built.assign:
        return result
    solution = _stage_primary(built, settings, result, started, progress)
    if solution is not None and result.primary_optimal:
        for level in THREAT_LEVELS:
            count = sum(1 for p in solution if scenario.defectors[p].threat_level == level)
            built.model.add(placed_at_level(built, level) == count)
        better = _stage_secondary(built, settings, result, started, progress, hint=solution)
        if better is not None:
            solution = better
    result.new_areas = dict(sorted((solution or {}).items()))
    return result


def _run(
    built: PlacementModel,
    settings: SolveSettings,
    name: str,
    started: float,
    progress: Progress | None,
) -> tuple[cp_model.CpSolver, StageResult]:
    solver = cp_model.CpSolver()
    remaining = settings.time_limit_s - (time.monotonic() - started)
    for key, value in settings.cp_sat_parameters(remaining).items():
        setattr(solver.parameters, key, value)
    stage_started = time.monotonic()
    callback = _ProgressPrinter(name, progress, started) if progress else None
    status = solver.solve(built.model, callback)
    status_name = solver.status_name(status)
    has_solution = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    stage = StageResult(
        name=name,
        status=status_name,
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


def _stage_primary(
    built: PlacementModel,
    settings: SolveSettings,
    result: SolveResult,
    started: float,
    progress: Progress | None,
) -> dict[int, int] | None:
    built.model.maximize(primary_objective(built))
    solver, stage = _run(built, settings, "placed (by threat level)", started, progress)
    result.stages.append(stage)
    if stage.objective is None:
        return None
    return _read_solution(built, solver)


def _stage_secondary(
    built: PlacementModel,
    settings: SolveSettings,
    result: SolveResult,
    started: float,
    progress: Progress | None,
    *,
    hint: dict[int, int],
) -> dict[int, int] | None:
    built.model.clear_objective()  # type: ignore[no-untyped-call]  # ortools lacks the hint
    built.model.clear_hints()  # type: ignore[no-untyped-call]  # ortools lacks the hint
    for (person, area), var in sorted(built.assign.items()):
        built.model.add_hint(var, hint.get(person) == area)
    built.model.maximize(secondary_objective(built))
    solver, stage = _run(built, settings, "margins, waits, wishes, spread", started, progress)
    result.stages.append(stage)
    if stage.objective is None:
        return None
    return _read_solution(built, solver)
