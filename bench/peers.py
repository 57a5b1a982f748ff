"""The planner and its peers, each turning a scenario into decisions for the pending people.

Used by ``bench/benchmark.py`` (never by the library or its timed tests):

- ``placement``: ``placement.solve.solve_scenario`` with default settings (CP-SAT, staged);
- ``greedy``: what a planner does by hand: the most threatened person first (ties: fewest
  candidate areas first, then file order), each into the allowed area with the widest safety
  margin, given everyone placed so far; no search, no going back;
- ``highs``: the same model as a MIP in HiGHS, solved the same way as ``placement.solve``: one
  stage per threat level (maximise the number placed at that level, then hold a proven count
  with ``==``, an unproven one with ``>=``), then the secondary objective (lexicographic, not
  one weighted sum). ``mip_rel_gap`` is 0 and ``mip_abs_gap`` 0.99 (every objective is
  integral), so "optimal" means proven, as for CP-SAT. Unlike the CP-SAT peers, HiGHS gets no
  start from the previous stage (see ``_Highs.maximize``); one thread, seed 0;
- ``naive``: CP-SAT on the same model but with the textbook keep-apart encoding: one clause
  ``x[a] + y[b] <= 1`` per (pair, area a, close area b) instead of one at-most-one per
  (pair, area).

The MIP and naive models are written from ``placement.candidates`` (the candidate areas) and
mirror ``placement.model`` and ``placement.objectives`` constraint by constraint, except one:
keep-apart is one row per (pair, area) in the MIP and one clause per (pair, area, area) in the
naive model, where ``placement.model`` groups the pairs of a rivalry into one row per
(network, area, rival person) when ``max_same_network_per_area`` is 1 (the default). The
secondary objective's coefficients come from ``placement.objectives.score_parts``. Every plan,
whoever made it, is judged by ``placement.check.check_plan``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from ortools.sat.python import cp_model

from placement.candidates import Candidates, Occupancy
from placement.check import check_plan
from placement.objectives import CROWDING_POINTS, THREAT_LEVELS, safety_margin_km, score_parts
from placement.plan import Assignment, Plan, ScenarioRef, Unplaced
from placement.scenario import Scenario
from placement.solve import SolveSettings, StageResult, solve_scenario
from placement.threats import Threats

PEERS = ("placement", "greedy", "highs", "naive")


@dataclass
class PeerResult:
    """What one peer decided for one scenario, and what it knows about the quality."""

    peer: str
    new_areas: dict[int, int]
    build_s: float
    solve_s: float
    stages: list[StageResult] = field(default_factory=list)
    status: str = "feasible"
    """``optimal`` (every stage proven), ``feasible`` or ``heuristic`` (greedy)."""
    primary_optimal: bool = False
    model_size: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- the planner


def run_placement(scenario: Scenario, *, time_limit_s: float) -> PeerResult:
    """The planner itself, with default settings but the given time limit."""
    started = time.monotonic()
    result = solve_scenario(scenario, SolveSettings(time_limit_s=time_limit_s))
    total = time.monotonic() - started
    return PeerResult(
        peer="placement",
        new_areas=dict(result.new_areas),
        build_s=result.build_s,
        solve_s=total - result.build_s,
        stages=list(result.stages),
        status=result.status,
        primary_optimal=result.primary_optimal,
        model_size=dict(result.model_size),
    )


# --------------------------------------------------------------------------- greedy


def run_greedy(scenario: Scenario, *, time_limit_s: float = 0.0) -> PeerResult:
    """Most threatened first, each into the allowed area with the widest safety margin."""
    del time_limit_s  # greedy needs no limit
    started = time.monotonic()
    candidates = Candidates(scenario, Threats(scenario))
    built = time.monotonic()
    base = candidates.occupancy
    areas_of = dict(base.areas_of)
    by_network = {network: counts.copy() for network, counts in base.by_network.items()}
    occupancy = Occupancy(areas_of=areas_of, load=base.load.copy(), by_network=by_network)
    n_areas = len(scenario.geography)
    keep_apart_km = scenario.policy.keep_apart_km
    order = sorted(
        candidates.people,
        key=lambda i: (-scenario.defectors[i].threat_level, len(candidates.people[i].areas), i),
    )
    new_areas: dict[int, int] = {}
    for index in order:
        person = candidates.evaluate(index, occupancy)
        areas = person.areas
        if not areas:
            continue
        margins = [safety_margin_km(person, a, keep_apart_km) for a in areas]
        area = areas[int(np.argmax(margins))]  # first of the widest: lowest area index
        new_areas[index] = area
        areas_of[index] = area  # the occupancy holds these very dicts and arrays
        defector = scenario.defectors[index]
        occupancy.load[area] += defector.household
        for network in defector.networks:
            by_network.setdefault(network, np.zeros(n_areas, dtype=np.int64))[area] += 1
    finished = time.monotonic()
    return PeerResult(
        peer="greedy",
        new_areas=dict(sorted(new_areas.items())),
        build_s=built - started,
        solve_s=finished - built,
        status="heuristic",
    )


# --------------------------------------------------------------------------- one linear model


@dataclass
class LinearModel:
    """The placement model as plain rows: ``sum(coef * var) <= upper`` over integer variables.

    Variables ``0 .. len(keys) - 1`` are the Booleans (person, area); after them come the
    crowding counters of the secondary objective (one per area with two or more candidates).
    """

    keys: list[tuple[int, int]]
    upper_bounds: list[int]
    rows: list[tuple[list[int], list[int], int]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    """The rule each row belongs to (``keep_apart``, ``capacity``, ...), row by row."""
    row_kinds: dict[str, int] = field(default_factory=dict)
    secondary: dict[int, int] = field(default_factory=dict)
    """Variable -> coefficient of the secondary objective (maximised)."""
    crowding: list[tuple[int, list[int]]] = field(default_factory=list)
    """(crowding variable, the area's Booleans): crowding >= sum(Booleans) - 1."""

    def add(self, kind: str, variables: list[int], coefs: list[int], upper: int) -> None:
        self.rows.append((variables, coefs, upper))
        self.kinds.append(kind)
        self.row_kinds[kind] = self.row_kinds.get(kind, 0) + 1


def linear_model(candidates: Candidates, *, naive_keep_apart: bool = False) -> LinearModel:
    """The rows of ``placement.model`` (with the naive keep-apart encoding if asked)."""
    scenario = candidates.scenario
    people = scenario.defectors
    keys = [(index, area) for index, p in sorted(candidates.people.items()) for area in p.areas]
    var = {key: number for number, key in enumerate(keys)}
    lm = LinearModel(keys=keys, upper_bounds=[1] * len(keys))
    by_person: dict[int, list[int]] = {}
    by_area: dict[int, list[int]] = {}
    for number, (person, area) in enumerate(keys):
        by_person.setdefault(person, []).append(number)
        by_area.setdefault(area, []).append(number)
    for variables in by_person.values():
        if len(variables) > 1:
            lm.add("at_most_one_area", variables, [1] * len(variables), 1)
    free = candidates.free_housing
    limit = scenario.policy.max_same_network_per_area
    for area, variables in sorted(by_area.items()):
        households = [people[keys[v][0]].household for v in variables]
        if sum(households) > free[area]:
            lm.add("capacity", variables, households, int(free[area]))
        by_network: dict[str, list[int]] = {}
        for v in variables:
            for network in people[keys[v][0]].networks:
                by_network.setdefault(network, []).append(v)
        for network, members in sorted(by_network.items()):
            already = candidates.placed_by_network.get(network)
            room = limit - (int(already[area]) if already is not None else 0)
            if len(members) > room:
                lm.add("same_network", members, [1] * len(members), max(room, 0))
    distance = candidates.distance_km
    keep_apart_km = scenario.policy.keep_apart_km
    for pair in candidates.threats.keep_apart_pairs:
        first = candidates.people.get(pair.first)
        second = candidates.people.get(pair.second)
        if first is None or second is None or not first.areas or not second.areas:
            continue
        if len(first.areas) > len(second.areas):
            first, second = second, first
        others = np.array(second.areas, dtype=np.int64)
        close = distance[np.ix_(np.array(first.areas, dtype=np.int64), others)] < keep_apart_km
        for row, area in enumerate(first.areas):
            near = [var[second.index, int(b)] for b in others[close[row]]]
            if not near:
                continue
            own = var[first.index, area]
            if naive_keep_apart:
                for other in near:
                    lm.add("keep_apart", [own, other], [1, 1], 1)
            else:
                lm.add("keep_apart", [own, *near], [1] * (1 + len(near)), 1)
    for number, (person, area) in enumerate(keys):
        points = score_parts(candidates, candidates.people[person], area).total
        if points:
            lm.secondary[number] = points
    for _, variables in sorted(by_area.items()):
        if len(variables) < 2:
            continue
        crowding = len(lm.keys) + len(lm.crowding)
        lm.crowding.append((crowding, variables))
        lm.secondary[crowding] = -CROWDING_POINTS
    lm.upper_bounds += [len(v) - 1 for _, v in lm.crowding]
    for crowding, variables in lm.crowding:
        lm.add("crowding", [*variables, crowding], [1] * len(variables) + [-1], 1)
    return lm


def level_objective(lm: LinearModel, scenario: Scenario, level: int) -> dict[int, int]:
    return {
        number: 1
        for number, (person, _) in enumerate(lm.keys)
        if scenario.defectors[person].threat_level == level
    }


# --------------------------------------------------------------------------- solver back ends


class _Backend:
    """One solver holding the linear model; stages change the objective and add rows."""

    def maximize(self, objective: Mapping[int, int], hint: Sequence[int]) -> None:
        raise NotImplementedError

    def solve(self, time_limit_s: float) -> tuple[str, float | None, float | None, list[int]]:
        """(status OPTIMAL/FEASIBLE/UNKNOWN, objective, bound, values of every variable)."""
        raise NotImplementedError

    def hold(self, objective: Mapping[int, int], value: int, *, exact: bool) -> None:
        raise NotImplementedError


class _CpSat(_Backend):
    def __init__(self, lm: LinearModel) -> None:
        self.model = cp_model.CpModel()
        self.vars = [
            self.model.new_int_var(0, ub, f"v{i}") if ub > 1 else self.model.new_bool_var(f"v{i}")
            for i, ub in enumerate(lm.upper_bounds)
        ]
        for variables, coefs, upper in lm.rows:
            terms = [self.vars[v] for v in variables]
            if upper == 1 and all(c == 1 for c in coefs) and len(terms) > 1:
                self.model.add_at_most_one(terms)
            else:
                self.model.add(cp_model.LinearExpr.weighted_sum(terms, coefs) <= upper)
        self.n_bool = len(lm.keys)

    def _expr(self, objective: Mapping[int, int]) -> cp_model.LinearExpr:
        items = sorted(objective.items())
        return cp_model.LinearExpr.weighted_sum(
            [self.vars[v] for v, _ in items], [c for _, c in items]
        )

    def maximize(self, objective: Mapping[int, int], hint: Sequence[int]) -> None:
        self.model.clear_objective()  # type: ignore[no-untyped-call]
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        for number in range(self.n_bool):
            self.model.add_hint(self.vars[number], bool(hint[number]) if hint else False)
        self.model.maximize(self._expr(objective))

    def solve(self, time_limit_s: float) -> tuple[str, float | None, float | None, list[int]]:
        solver = cp_model.CpSolver()
        for key, value in SolveSettings().cp_sat_parameters(time_limit_s).items():
            setattr(solver.parameters, key, value)
        status = solver.solve(self.model)
        name = solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return name, None, None, []
        values = [int(solver.value(v)) for v in self.vars]
        return name, solver.objective_value, solver.best_objective_bound, values

    def hold(self, objective: Mapping[int, int], value: int, *, exact: bool) -> None:
        expr = self._expr(objective)
        self.model.add(expr == value if exact else expr >= value)


class _Highs(_Backend):
    def __init__(self, lm: LinearModel) -> None:
        import highspy

        self.highspy = highspy
        h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy has no annotations
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("threads", 1)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.99)
        n = len(lm.upper_bounds)
        inf = highspy.kHighsInf
        h.addCols(
            n,
            np.zeros(n),
            np.zeros(n),
            np.array(lm.upper_bounds, dtype=np.float64),
            0,
            np.array([], dtype=np.int32),
            np.array([], dtype=np.int32),
            np.array([], dtype=np.float64),
        )
        h.changeColsIntegrality(
            n,
            np.arange(n, dtype=np.int32),
            np.array([highspy.HighsVarType.kInteger] * n),
        )
        self._add_rows(h, lm.rows, -inf)
        self.h = h
        self.n = n

    def _add_rows(
        self, h: Any, rows: Sequence[tuple[list[int], list[int], int]], lower: float
    ) -> None:
        starts: list[int] = []
        indices: list[int] = []
        values: list[int] = []
        uppers: list[int] = []
        for variables, coefs, upper in rows:
            starts.append(len(indices))
            indices += variables
            values += coefs
            uppers.append(upper)
        h.addRows(
            len(rows),
            np.full(len(rows), lower),
            np.array(uppers, dtype=np.float64),
            len(indices),
            np.array(starts, dtype=np.int32),
            np.array(indices, dtype=np.int32),
            np.array(values, dtype=np.float64),
        )

    def maximize(self, objective: Mapping[int, int], hint: Sequence[int]) -> None:
        costs = np.zeros(self.n)
        for v, c in objective.items():
            costs[v] = c
        self.h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), costs)
        self.h.changeObjectiveSense(self.highspy.ObjSense.kMaximize)
        # No start from ``hint``: with HiGHS 1.16, after ``setSolution`` a stage sometimes
        # reported the new optimum but returned the start as its solution. Without a start,
        # a stage that finds no plan keeps the previous stage's (see ``_lexicographic``).
        del hint

    def solve(self, time_limit_s: float) -> tuple[str, float | None, float | None, list[int]]:
        self.h.setOptionValue("time_limit", max(time_limit_s, 0.01))
        self.h.run()
        status = self.h.getModelStatus()
        info = self.h.getInfo()
        if info.primal_solution_status != 2:  # kSolutionStatusFeasible
            return "UNKNOWN", None, None, []
        values = [round(x) for x in self.h.getSolution().col_value]
        name = "OPTIMAL" if status == self.highspy.HighsModelStatus.kOptimal else "FEASIBLE"
        return name, info.objective_function_value, info.mip_dual_bound, values

    def hold(self, objective: Mapping[int, int], value: int, *, exact: bool) -> None:
        items = sorted(objective.items())
        upper = float(value) if exact else self.highspy.kHighsInf
        self.h.addRow(
            float(value),
            upper,
            len(items),
            np.array([v for v, _ in items], dtype=np.int32),
            np.array([float(c) for _, c in items]),
        )


def _lexicographic(
    peer: str,
    scenario: Scenario,
    make: Callable[[LinearModel], _Backend],
    *,
    time_limit_s: float,
    naive_keep_apart: bool = False,
) -> PeerResult:
    """Stages as in ``placement.solve``: each threat level, then the secondary objective."""
    started = time.monotonic()
    candidates = Candidates(scenario, Threats(scenario))
    lm = linear_model(candidates, naive_keep_apart=naive_keep_apart)
    backend = make(lm)
    built = time.monotonic()
    result = PeerResult(
        peer=peer,
        new_areas={},
        build_s=built - started,
        solve_s=0.0,
        model_size={"variables": len(lm.keys), **{f"rows_{k}": v for k, v in lm.row_kinds.items()}},
    )
    present = {p.defector.threat_level for p in candidates.people.values() if p.areas}
    values: list[int] = [0] * len(lm.upper_bounds)
    proven = True
    found_any = False
    for level in [lvl for lvl in THREAT_LEVELS if lvl in present]:
        objective = level_objective(lm, scenario, level)
        backend.maximize(objective, values)
        tick = time.monotonic()
        status, value, bound, solution = backend.solve(time_limit_s - (tick - started))
        result.stages.append(
            StageResult(
                f"placed at threat level {level}", status, value, bound, time.monotonic() - tick
            )
        )
        if value is None:
            proven = False
            break
        found_any = True
        values = solution
        placed = sum(values[v] for v in objective)
        optimal = status == "OPTIMAL"
        proven = proven and optimal
        backend.hold(objective, placed, exact=optimal)
    all_optimal = proven
    if proven:
        backend.maximize(lm.secondary, values)
        tick = time.monotonic()
        status, value, bound, solution = backend.solve(time_limit_s - (tick - started))
        result.stages.append(
            StageResult(
                "margins, waits, wishes, spread", status, value, bound, time.monotonic() - tick
            )
        )
        if value is not None:
            values = solution
        all_optimal = status == "OPTIMAL"
    result.solve_s = time.monotonic() - built
    result.primary_optimal = proven
    result.status = "optimal" if all_optimal else "feasible" if found_any else "unknown"
    result.new_areas = {
        lm.keys[v][0]: lm.keys[v][1] for v in range(len(lm.keys)) if found_any and values[v]
    }
    return result


def run_highs(scenario: Scenario, *, time_limit_s: float) -> PeerResult:
    return _lexicographic("highs", scenario, _Highs, time_limit_s=time_limit_s)


def run_naive(scenario: Scenario, *, time_limit_s: float) -> PeerResult:
    return _lexicographic(
        "naive", scenario, _CpSat, time_limit_s=time_limit_s, naive_keep_apart=True
    )


RUNNERS: dict[str, Callable[..., PeerResult]] = {
    "placement": run_placement,
    "greedy": run_greedy,
    "highs": run_highs,
    "naive": run_naive,
}


# --------------------------------------------------------------------------- judging a result


def placed_per_level(scenario: Scenario, new_areas: Mapping[int, int]) -> dict[int, int]:
    counts = dict.fromkeys(THREAT_LEVELS, 0)
    for index in new_areas:
        counts[scenario.defectors[index].threat_level] += 1
    return counts


def as_plan(scenario: Scenario, new_areas: Mapping[int, int], *, status: str) -> Plan:
    """A minimal plan document: everyone placed before stays, pending people as decided."""
    assignments: list[Assignment] = []
    unplaced: list[Unplaced] = []
    ids = scenario.geography.ids
    for index, person in enumerate(scenario.defectors):
        area = person.placed_in if person.placed_in is not None else new_areas.get(index)
        if area is None:
            unplaced.append(Unplaced(defector=person.id))
        else:
            assignments.append(Assignment(defector=person.id, area=ids[area]))
    plan_status: Literal["optimal", "feasible"] = "optimal" if status == "optimal" else "feasible"
    return Plan(
        scenario=ScenarioRef(name=scenario.name, sha256=scenario.sha256),
        status=plan_status,
        assignments=assignments,
        unplaced=unplaced,
    )


def violations(scenario: Scenario, new_areas: Mapping[int, int], *, status: str) -> int:
    """Hard-rule violations and structural problems the independent checker finds."""
    report = check_plan(scenario, as_plan(scenario, new_areas, status=status))
    return len(report.violations) + len(report.structural)
