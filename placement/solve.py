"""Solving a scenario: filter, build, solve in stages, and return the decisions.

The primary objective is lexicographic (placed at threat level 5, then 4, ... then 1), so it is
solved as one stage per level, most threatened first: each stage maximises the number placed at
its level and then holds that number fixed for the later stages. Measured on generated national
instances (100 networks, 1,000 placed, 300 pending), this proved optimality in about 1 s where
one weighted sum of all levels had not closed its gap after 120 s: the LP bound of the weighted
form is weak at the lower levels. A last stage maximises the secondary objective with every
level's count fixed.

Each level's stage starts from the previous stage's plan (a solution hint), completed: before
a level's stage, people not yet placed are added greedily wherever every rule still holds,
moving one person of the plan to make room where that helps (``placement.hints``). Only the
start changes, never what is proven: on the fine 12.5 km grid, seed 2, the last level had
found its 9 placements one at a time (17 s); with the completed hint the whole solve took
12.6 s instead of 31.7 s (docs/benchmarks.md).

The secondary stage does not search around its hint. The last level's plan was chosen for
counts only and scores poorly on the secondary objective; CP-SAT spent its time searching
around it, while from the LP relaxation it finds a near-best plan at once. Measured, that
stage alone, with the hint and without: fine 10 km grid 4.5 / 4.6 s against 1.0 / 1.1 s
(seeds 1 / 2); fine 12.5 km 1.6 / 4.1 s against 0.8 / 0.9 s; stress 17.1 / 25.0 s against
17.8 / 13.8 s; national seeds 1-8 12.4 s against 13.3 s in all (seed 4 2.3 s against 4.3 s,
the others equal or faster). The plan is still given, as a complete hint (the crowding
variables too) with ``hint_conflict_limit: 0``: CP-SAT takes it as its first solution and
then searches as without it, at the same speed (national seeds 2 / 4 2.7 / 4.1 s, fine 10 km
1.0 s, stress seed 2 13.8 s), and the stage has a plan and a bound even when it finds
nothing better (nobody placed, seed 2, where it otherwise ended with neither). The level plan
is also kept when the stage returns a worse one. Before the stage, each person of that plan
moves to the free area worth the most secondary points, while any move helps
(``placement.hints.improve_plan``): the stage then starts, and at worst ends, from a better
plan. Measured, that stage alone, one run each, same session: national seeds 1-8 10.6 s
against 8.8 s in all (seed 4 3.7 / 1.8 s, the others within 0.2 s); stress 24.0 / 8.5 s
against 20.8 / 6.8 s (seeds 1 / 2); fine grids within 0.2 s; nobody placed seed 2 with a 60 s
limit ends at 75,723 points instead of 73,987 (the level plan), though with 90 s at 81,918
instead of 82,874.

Beside the secondary stage, when a core is spare, a neighbourhood search re-solves one region
of the plan at a time (``placement.neighbourhood``). Its plan is used only when the stage ends
unproven and the neighbourhood search's plan has more points: a proven stage's plan is always
the main search's. Measured with nobody placed (60 s limit): seed 2 ends at 84,454 points
instead of 75,723 (bound 85,343); seeds 1 and 4 keep the main search's plan; national and
stress seeds take the same time with it as without (docs/benchmarks.md, item 11).

The plan's status is ``optimal`` only when every stage is proven optimal;
``metrics.primary_optimal`` tells whether at least the contract's objective was proven.

Reproducibility: CP-SAT with one worker, or with several workers and ``interleave_search``, is
deterministic for a given seed. Both are offered; a time limit that cuts a search short can still
make two runs differ, which the plan's status (``feasible``) then says. The neighbourhood search
does not change this: it can decide the plan only when the secondary stage was cut short.

What-if decisions (``pins`` and ``forbids``, see ``placement.whatif``) are hard:

- a pin restricts the person to one area and requires them placed there. A pin on an area that
  the rules concerning the person alone exclude is infeasible at once, with the blocking rule
  in words; pins that cannot hold together (two rivals pinned close to each other, more pinned
  households than an area has room for) are found by one feasibility search with the pins as
  CP-SAT assumptions, and the reason names a smallest set of them;
- a forbid adds the area to the person's avoid list;
- an already placed person pinned elsewhere, or forbidden their current area, is an explicit
  move: they become someone to place (their old home is freed) and must be placed. A pin to
  their current area, or a forbid of another area, leaves them where they are.

An infeasible what-if gives ``status == "infeasible"`` and ``infeasible_reason``; nobody new
is placed.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ortools.sat.python import cp_model

from placement.candidates import Candidates, Occupancy
from placement.hints import complete_plan, improve_plan
from placement.model import PlacementModel, build_model, plan_hint, set_hint, set_parameters
from placement.neighbourhood import NeighbourhoodSearch, spare_core
from placement.objectives import (
    THREAT_LEVELS,
    placed_at_level,
    secondary_objective,
    secondary_points,
)
from placement.scenario import Scenario
from placement.threats import Threats

Progress = Callable[[str], None]

DEFAULT_TIME_LIMIT_S = 120.0
DEFAULT_SEED = 0
DEFAULT_WORKERS = 1
PROGRESS_AFTER_S = 2.0

#: CP-SAT parameters of the threat-level stages, over the settings' own. ``use_objective_lb_search``
#: makes the search try the best count its bound allows first and lower it only when proven
#: impossible; a level's bound is usually its optimum early on, while plans reaching it were
#: found one placement at a time. Measured, primary stages alone, without and with it (one
#: run each, same session): nobody placed seeds 1 / 2 / 3 15.2 / 42.6 / 11.8 s against
#: 10.3 / 26.8 / 12.4 s; stress seeds 1 / 2 10.0 / 22.1 s against 9.1 / 14.0 s; national
#: seeds 1-5 3.4 s against 2.6 s in all; fine grids within 0.2 s. The secondary stage is
#: slower with it (national seeds 2-5: 3.7-5.8 s against 1.7-2.7 s) and keeps the default.
LEVEL_STAGE_PARAMETERS: Mapping[str, Any] = {"use_objective_lb_search": True}
#: CP-SAT parameters of the secondary stage (and of ``placement.alternatives``' stages): the
#: plan given as a hint is taken as the first solution, but no search is spent around it
#: (see the module docstring). No SAT inprocessing (clause vivification, subsumption, ...) at
#: restarts: this stage's work is closing the LP bound, and the clause clean-up took time
#: without shortening it. Measured, that stage alone, one run each, same session, with and
#: without: national seeds 1-5 10.6 s against 7.8 s in all (seed 2 2.5 / 1.6 s), seeds 6-8
#: 2.7 / 2.4 s; stress seeds 1 / 2 25.3 / 14.7 s against 23.0 / 8.3 s; fine grids within
#: noise; nobody placed the same values at the time limit. The level stages keep it: with it
#: off, nobody placed seed 2 proved its primary objective in 44 s instead of 29 s.
SECONDARY_STAGE_PARAMETERS: Mapping[str, Any] = {
    "hint_conflict_limit": 0,
    "use_sat_inprocessing": False,
}


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
            # Both measured with bench/benchmark.py-style runs, one worker, same machine and run
            # (docs/benchmarks.md): no probing in presolve, and every constraint in the LP from
            # the start rather than added lazily when violated. On the national load over a
            # 12.5 km grid the solve took 9.8 s instead of 17.7 s, over a 10 km grid 14.5 s
            # instead of 21.2 s; with nobody placed yet the primary objective was proven in
            # 26 s instead of 43 s; national instances were unchanged (1.1-4.5 s).
            "cp_model_probing_level": 0,
            "add_lp_constraints_lazily": False,
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
    found_by: str | None = None
    """Set when the stage's plan came from a search beside it (e.g. "neighbourhood search")."""


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
    infeasible_reason: str | None = None
    """Why the what-if decisions (pins, forbids) cannot all hold, or None."""
    moved: dict[int, int] = field(default_factory=dict)
    """Already placed people moved by a what-if decision: defector index -> former area.

    They are pending in ``scenario`` (their former home freed) and placed by this solve."""
    original: Scenario | None = None
    """The scenario as given, when what-if decisions changed ``scenario`` (else None)."""
    helpers: list[NeighbourhoodSearch] = field(default_factory=list)
    """Searches run beside a stage (see ``placement.neighbourhood``), for the plan's record."""

    @property
    def status(self) -> Literal["optimal", "feasible", "infeasible", "error"]:
        if self.infeasible_reason is not None:
            return "infeasible"
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

    def attach(self, solver: cp_model.CpSolver | None) -> None:
        """Let a request stop this search (None: the search has ended)."""
        with self._lock:
            self._solver = solver
            if solver is not None and self.reason is not None:
                solver.stop_search()


@dataclass
class SolveSession:
    """What every stage of one solve needs: the model, settings, clock, and outputs.

    ``placement.alternatives`` runs further stages on the same session.
    """

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
    pins: Mapping[int, int] | None = None,
    forbids: Mapping[int, Collection[int]] | None = None,
) -> SolveResult:
    """Decide an area (or none) for every pending defector of the scenario.

    With ``stop``, the solve can be interrupted; the result then holds the best plan found so
    far (``interrupted`` says why, ``stages`` how far it got). ``pins`` (defector index -> area
    index) and ``forbids`` (defector index -> area indices) are hard what-if decisions (see the
    module's docstring); when they cannot all hold, the result's status is ``infeasible``.
    """
    session = start_session(
        scenario, settings, progress=progress, stop=stop, pins=pins, forbids=forbids
    )
    result = session.result
    if result.infeasible_reason is None and session.built.assign:
        result.new_areas = dict(sorted(solve_stages(session).items()))
    if stop is not None and stop.reason is not None:
        result.interrupted = stop.reason
    return result


def start_session(
    scenario: Scenario,
    settings: SolveSettings | None = None,
    *,
    progress: Progress | None = None,
    stop: StopRequest | None = None,
    pins: Mapping[int, int] | None = None,
    forbids: Mapping[int, Collection[int]] | None = None,
) -> SolveSession:
    """Filter, build the model with the what-if decisions, and check that they can hold.

    The returned session's ``result.infeasible_reason`` is set when they cannot.
    """
    settings = settings or SolveSettings()
    started = time.monotonic()
    pins = dict(pins or {})
    forbidden = {k: frozenset(v) for k, v in (forbids or {}).items()}
    decided, moved, must_place = _apply_decisions(scenario, pins, forbidden)
    reason: str | None = None
    if pins:
        # Judge each pin by the rules concerning the person alone, with their real avoid
        # list; then restrict them to the pinned area (as an avoid list of every other area).
        before = Candidates(decided, Threats(decided))
        reason = _pin_blocked(before, pins)
        decided = _restrict_to_pins(decided, pins)
    candidates = Candidates(decided, Threats(decided))
    built = build_model(candidates)
    result = SolveResult(
        scenario=decided,
        candidates=candidates,
        settings=settings,
        new_areas={},
        build_s=time.monotonic() - started,
        model_size={
            "variables": len(built.assign),
            **{f"constraints_{k}": v for k, v in sorted(built.constraint_counts.items())},
        },
        moved=moved,
        original=scenario if (pins or forbidden) else None,
    )
    session = SolveSession(built, settings, result, started, progress, stop)
    if reason is None:
        reason = _cannot_place(result, must_place, pins, forbidden)
    if reason is None and must_place:
        reason = _joint_infeasibility(session, must_place, pins, forbidden)
    result.infeasible_reason = reason
    return session


def decided_scenario(
    scenario: Scenario, pins: Mapping[int, int], forbids: Mapping[int, Collection[int]]
) -> tuple[Scenario, dict[int, int]]:
    """The world a what-if solve plans in, and who it moves (index -> former home).

    Forbids are in the avoid lists, pinned people can use only their pinned area, and moved
    people are pending. For explaining a plan made with these decisions as it was made.
    """
    forbidden = {k: frozenset(v) for k, v in forbids.items()}
    decided, moved, _ = _apply_decisions(scenario, pins, forbidden)
    if pins:
        decided = _restrict_to_pins(decided, pins)
    return decided, moved


def _apply_decisions(
    scenario: Scenario, pins: Mapping[int, int], forbids: Mapping[int, frozenset[int]]
) -> tuple[Scenario, dict[int, int], list[int]]:
    """The scenario with forbids added to avoid lists and moved people made pending.

    Returns it, the moved people (index -> former area) and who must be placed (pins and
    moves), in index order.
    """
    people = list(scenario.defectors)
    moved: dict[int, int] = {}
    must_place: set[int] = set()
    for index, areas in forbids.items():
        person = people[index]
        people[index] = dataclasses.replace(person, avoid=person.avoid | areas)
        if person.placed_in is not None and person.placed_in in areas:
            moved[index] = person.placed_in
            must_place.add(index)
    for index, area in pins.items():
        person = people[index]
        if person.placed_in is not None and person.placed_in == area:
            continue  # pinned where they live: they stay
        if person.placed_in is not None:
            moved[index] = person.placed_in
        must_place.add(index)
    if not pins and not forbids:
        return scenario, moved, []
    decided = dataclasses.replace(scenario, defectors=tuple(people)).with_pending(moved)
    return decided, moved, sorted(must_place)


def _restrict_to_pins(scenario: Scenario, pins: Mapping[int, int]) -> Scenario:
    every = frozenset(range(len(scenario.geography)))
    people = list(scenario.defectors)
    for index, area in pins.items():
        person = people[index]
        if person.placed_in is None:
            people[index] = dataclasses.replace(person, avoid=every - {area})
    return dataclasses.replace(scenario, defectors=tuple(people))


def _pin_text(scenario: Scenario, index: int, area: int) -> str:
    return f"--pin {scenario.defectors[index].id}={scenario.geography.label(area)}"


def _pin_blocked(candidates: Candidates, pins: Mapping[int, int]) -> str | None:
    """The first pin that a rule concerning the person alone rules out, in words."""
    from placement.explain import recommend

    scenario = candidates.scenario
    for index, area in sorted(pins.items()):
        person = scenario.defectors[index]
        if person.placed_in is not None:
            continue  # pinned where they live
        if area in candidates.people[index].areas:
            continue
        ranking = recommend(scenario, person.id, candidates=candidates).ranking
        verdict = next(v for v in ranking if v.area == scenario.geography.ids[area])
        blocking = verdict.blocking
        why = f"{blocking.rule}: {blocking.text}" if blocking else "a rule rules it out"
        return f"{_pin_text(scenario, index, area)} cannot hold: {why}"
    return None


def _cannot_place(
    result: SolveResult,
    must_place: list[int],
    pins: Mapping[int, int],
    forbids: Mapping[int, frozenset[int]],
) -> str | None:
    """A moved person (or pinned person) with no allowed area at all, in words."""
    from placement.reasons import unplaced_reasons

    scenario = result.scenario
    for index in must_place:
        if result.candidates.people[index].areas:
            continue
        person = scenario.defectors[index]
        verb = "cannot hold"
        if index in pins:
            cause = _pin_text(scenario, index, pins[index])
        else:
            # The forbid of their home makes them move; their other forbids may be what
            # leaves no area, so all are named (the home first), never the home's alone.
            former = result.moved[index]
            others = sorted(
                scenario.geography.label(a) for a in forbids.get(index, ()) if a != former
            )
            labels = [scenario.geography.label(former), *others]
            cause = " ".join(f"--forbid {person.id}={label}" for label in labels)
            if others:
                verb = "cannot all hold"
        reason = unplaced_reasons(result, index)[0]
        return f"{cause} {verb}: no area keeps every rule for {person.id}: {reason}"
    return None


def _decision_text(
    scenario: Scenario,
    index: int,
    pins: Mapping[int, int],
    forbids: Mapping[int, frozenset[int]],
) -> str:
    if index in pins:
        return _pin_text(scenario, index, pins[index])
    labels = ", ".join(sorted(scenario.geography.label(a) for a in forbids.get(index, ())))
    return f"--forbid {scenario.defectors[index].id}={labels} (a move)"


def _joint_infeasibility(
    session: SolveSession,
    must_place: list[int],
    pins: Mapping[int, int],
    forbids: Mapping[int, frozenset[int]],
) -> str | None:
    """Check that the people who must be placed can all be; else name a smallest conflict.

    One CP-SAT search with a literal per decision as assumptions; on infeasibility, the
    solver's core is shrunk by deleting one decision at a time. When they can hold, the
    decisions become hard constraints of the model.
    """
    built = session.built
    model = built.model
    literals: dict[int, cp_model.IntVar] = {}
    for index in must_place:
        literal = model.new_bool_var(f"decision_{index}")
        model.add(built.placed[index] == 1).only_enforce_if(literal)
        literals[index] = literal

    def feasible(chosen: list[int]) -> bool | None:
        model.clear_assumptions()
        model.add_assumptions([literals[i] for i in chosen])
        _, stage = _run(session, "what-if decisions hold together")
        session.result.stages.append(stage)
        if stage.status == "INFEASIBLE":
            return False
        return True if stage.objective is not None or stage.status == "OPTIMAL" else None

    model.clear_objective()  # type: ignore[no-untyped-call]  # ortools lacks the hint
    answer = feasible(must_place)
    if answer is not False:
        model.clear_assumptions()
        for literal in literals.values():
            model.add(literal == 1)
        session.result.stages.clear()  # a check, not a stage of the plan
        return None
    conflict = list(must_place)
    for index in list(conflict):
        if len(conflict) == 1:
            break
        trial = [i for i in conflict if i != index]
        if feasible(trial) is False:
            conflict = trial
    session.result.stages.clear()
    scenario = session.result.scenario
    decisions = ", ".join(_decision_text(scenario, i, pins, forbids) for i in conflict)
    if len(conflict) == 1:
        return (
            f"{decisions} cannot hold together with the people already placed and the "
            "other decisions' rules (housing, same network, keep apart)"
        )
    return (
        f"these what-if decisions cannot all hold together: {decisions} "
        f"({_conflict_words(scenario, conflict, pins)})"
    )


def _conflict_words(scenario: Scenario, conflict: list[int], pins: Mapping[int, int]) -> str:
    """What makes pinned people clash, when it is a pair rule between two pins."""
    policy = scenario.policy
    distance = scenario.distance_km
    threats = Threats(scenario)
    pinned = [i for i in conflict if i in pins]
    reasons = []
    for pair in threats.keep_apart_pairs:
        if pair.first in pinned and pair.second in pinned:
            a, b = pins[pair.first], pins[pair.second]
            d = float(distance[a, b])
            if d < policy.keep_apart_km:
                reasons.append(
                    f"keep_apart: {scenario.defectors[pair.first].id} in "
                    f"{scenario.geography.label(a)} and {scenario.defectors[pair.second].id} in "
                    f"{scenario.geography.label(b)} would be {d:.1f} km apart, needs "
                    f"{policy.keep_apart_km:g} km"
                )
    occupancy = Occupancy.already_placed(scenario)
    by_area: dict[int, list[int]] = {}
    for index in pinned:
        by_area.setdefault(pins[index], []).append(index)
    for area, group in sorted(by_area.items()):
        if len(group) < 2:
            continue
        who = " and ".join(scenario.defectors[i].id for i in group)
        where = scenario.geography.label(area)
        units = sum(scenario.defectors[i].household for i in group)
        free = scenario.offers[area].housing_units - int(occupancy.load[area])
        if units > free:
            reasons.append(f"capacity: {who} need {units} housing units in {where}, {free} free")
        limit = policy.max_same_network_per_area
        for network in sorted({n for i in group for n in scenario.defectors[i].networks}):
            members = sum(1 for i in group if network in scenario.defectors[i].networks)
            already = occupancy.by_network.get(network)
            there = int(already[area]) if already is not None else 0
            if members + there > limit:
                reasons.append(
                    f"same_network: {who} would make {members + there} defectors of {network} "
                    f"in {where}, at most {limit}"
                )
    return "; ".join(reasons) if reasons else "housing, same-network or keep-apart rules"


def solve_stages(session: SolveSession) -> dict[int, int]:
    """The primary stages, then (when they were proven) the secondary one.

    The secondary stage gets the last level's plan, improved by single moves
    (``placement.hints.improve_plan``), as a complete hint but skips the search around it
    (see the module docstring). That plan is kept when the stage finds nothing better in its
    time: every plan it may return has the proven counts, so the better of the two by
    secondary points is the answer. A neighbourhood search runs beside the stage when a core
    is spare; when the stage ends unproven, its plan is a third candidate.
    """
    solution = solve_primary(session)
    if session.result.primary_optimal and not session.stopped:
        solution = improve_plan(session.built.candidates, solution)
        objective = secondary_objective(session.built)
        helper = _neighbourhood_search(session, objective, solution)
        try:
            found = _stage(
                session,
                name="margins, waits, wishes, spread",
                objective=objective,
                hint=solution,
                parameters=SECONDARY_STAGE_PARAMETERS,
            )
        finally:
            if helper is not None:
                helper.stop()
        stage = session.result.stages[-1]
        if found is not None and found[1]:
            return found[0]  # proven: always the main search's plan, so runs agree
        candidates = session.built.candidates
        best = secondary_points(candidates, solution)
        if found is not None and (points := secondary_points(candidates, found[0])) >= best:
            solution, best = found[0], points
        if helper is not None and helper.best_points > best:
            solution, best = helper.best, helper.best_points
            stage.found_by = "neighbourhood search"
        stage.objective = float(best)  # the plan kept is the stage's best known one
    return solution


def _neighbourhood_search(
    session: SolveSession, objective: cp_model.LinearExprT, start: dict[int, int]
) -> NeighbourhoodSearch | None:
    """Start the neighbourhood search beside the secondary stage, when a core is spare."""
    settings = session.settings
    if not spare_core(settings.workers):
        return None
    remaining = settings.time_limit_s - (time.monotonic() - session.started)
    parameters = {
        **settings.cp_sat_parameters(remaining),
        **SECONDARY_STAGE_PARAMETERS,
        "num_workers": 1,
        "interleave_search": False,
    }
    helper = NeighbourhoodSearch(
        session.built, objective, start, seed=settings.seed, parameters=parameters
    )
    session.result.helpers.append(helper)
    helper.start()
    return helper


def solve_primary(session: SolveSession) -> dict[int, int]:
    """Solve the threat levels, most threatened first, holding each proven count fixed.

    Sets ``session.result.primary_optimal``; returns the plan of the last level's stage.
    """
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
    return solution


def _levels_to_decide(candidates: Candidates) -> list[int]:
    """Threat levels, most threatened first, at which someone has a candidate area."""
    present = {p.defector.threat_level for p in candidates.people.values() if p.areas}
    return [level for level in THREAT_LEVELS if level in present]


def _run(
    session: SolveSession, name: str, parameters: Mapping[str, Any] | None = None
) -> tuple[cp_model.CpSolver, StageResult]:
    """One stage's CP-SAT search with the session's settings, clock and progress printer.

    ``parameters`` are CP-SAT parameters of this stage, set over the session's.
    """
    solver = cp_model.CpSolver()
    remaining = session.settings.time_limit_s - (time.monotonic() - session.started)
    set_parameters(solver, {**session.settings.cp_sat_parameters(remaining), **(parameters or {})})
    stage_started = time.monotonic()
    callback = (
        _ProgressPrinter(name, session.progress, session.started) if session.progress else None
    )
    status = search_in_worker(solver, session.built.model, session.stop, callback=callback)
    has_solution = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    stage = StageResult(
        name=name,
        status=solver.status_name(status),
        objective=solver.objective_value if has_solution else None,
        bound=solver.best_objective_bound if has_solution else None,
        wall_s=time.monotonic() - stage_started,
    )
    return solver, stage


def search_in_worker(
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
    stop: StopRequest | None,
    *,
    callback: cp_model.CpSolverSolutionCallback | None = None,
) -> Any:
    """Run one CP-SAT search in a worker thread so that signal handlers can stop it.

    CPython runs signal handlers only in the main thread and only between bytecodes; a
    search running in C++ on the main thread would hold them back until it ends. Waiting
    for a worker in short joins keeps the main thread responsive. Returns the CP-SAT status
    (``UNKNOWN`` when the search never returned).
    """
    outcome: list[Any] = []
    worker = threading.Thread(
        target=lambda: outcome.append(solver.solve(model, callback)),
        name="cp-sat",
        daemon=True,
    )
    if stop is not None:
        stop.attach(solver)
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.05)
            if stop is not None and stop.reason is not None:
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
        if stop is not None:
            stop.attach(None)
    return outcome[0] if outcome else cp_model.UNKNOWN


def _read_solution(built: PlacementModel, solver: cp_model.CpSolver) -> dict[int, int]:
    return {
        person: area
        for (person, area), var in sorted(built.assign.items())
        if solver.boolean_value(var)
    }


def _stage_level(
    session: SolveSession, level: int, *, hint: dict[int, int]
) -> tuple[dict[int, int], bool] | None:
    """Place as many people of one threat level as possible, then hold that count.

    A proven count is fixed (``==``) for the later stages; an unproven one only bounds them
    from below (``>=``), so later stages can still improve it.
    """
    built = session.built
    count = placed_at_level(built, level)
    hint = complete_plan(built.candidates, hint)
    found = _stage(
        session,
        name=f"placed at threat level {level}",
        objective=count,
        hint=hint,
        parameters=LEVEL_STAGE_PARAMETERS,
    )
    if found is None:
        return None
    solution, optimal = found
    people = built.candidates.scenario.defectors
    placed = sum(1 for p in solution if people[p].threat_level == level)
    built.model.add(count == placed if optimal else count >= placed)
    return solution, optimal


def run_stage(
    session: SolveSession,
    *,
    name: str,
    objective: cp_model.LinearExprT,
    hint: dict[int, int],
    parameters: Mapping[str, Any] | None = None,
) -> tuple[dict[int, int], bool] | None:
    """Maximise one objective on the session's model (for ``placement.alternatives``).

    Returns the plan and whether it was proven optimal, or None when no plan was found; the
    stage is appended to ``session.result.stages``. ``parameters`` are CP-SAT parameters of
    this stage, over the session's.
    """
    return _stage(session, name=name, objective=objective, hint=hint, parameters=parameters)


def _stage(
    session: SolveSession,
    *,
    name: str,
    objective: cp_model.LinearExprT,
    hint: dict[int, int],
    parameters: Mapping[str, Any] | None = None,
) -> tuple[dict[int, int], bool] | None:
    """Maximise one objective from a plan (``hint``); None when no plan was found."""
    model = session.built.model
    model.clear_objective()  # type: ignore[no-untyped-call]  # ortools lacks the hint
    set_hint(model, plan_hint(session.built, hint))
    model.maximize(objective)
    solver, stage = _run(session, name, parameters)
    session.result.stages.append(stage)
    if stage.objective is None:
        return None
    return _read_solution(session.built, solver), stage.status == "OPTIMAL"
