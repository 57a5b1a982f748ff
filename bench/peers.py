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
- ``naive``: CP-SAT with the textbook keep-apart encoding: one row ``x[a] + y[b] <= 1`` per
  (pair, area a, close area b) instead of ``placement.model``'s grouped rows.

"The same model" is exact: HiGHS's rows are read from the CP-SAT model that
``placement.model.build_model`` and ``placement.objectives`` build (``placement_rows``), one
row per CP-SAT constraint, objectives included. The naive model is written afresh from
``placement.candidates`` (``naive_rows``) and mirrors ``placement.model`` rule by rule, except
keep-apart. Every plan, whoever made it, is judged by ``placement.check.check_plan``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from ortools.sat.python import cp_model

from placement.candidates import Candidates, Occupancy
from placement.check import check_plan
from placement.model import build_model
from placement.objectives import (
    CROWDING_POINTS,
    THREAT_LEVELS,
    placed_at_level,
    safety_margin_km,
    score_parts,
    secondary_objective,
)
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


# --------------------------------------------------------------------------- models as rows

Row = tuple[list[int], list[int], float, float]
"""``lower <= sum(coef * var) <= upper`` over variable numbers; a missing side is infinite."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


@dataclass
class RowModel:
    """One placement model as plain rows, for whichever solver a peer runs.

    Variables are integers with bounds; the Booleans (person, area) are named in ``keys``,
    the others (crowding counters) are not. Each stage's objective is a map variable ->
    coefficient, maximised.
    """

    bounds: list[tuple[int, int]]
    keys: dict[int, tuple[int, int]]
    """Variable -> (defector index, area index), for the assignment Booleans."""
    levels: dict[int, dict[int, int]]
    """Threat level -> the number placed at that level."""
    secondary: dict[int, int]
    rows: list[Row] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    """What each row is: a rule (``keep_apart``, ``capacity``, ...) or a CP-SAT constraint type."""
    size: dict[str, int] = field(default_factory=dict)
    """Variables and constraints per rule, named as ``placement.solve`` reports its own."""

    def add(self, kind: str, variables: list[int], coefs: list[int], upper: float) -> None:
        self.rows.append((variables, coefs, -math.inf, upper))
        self.kinds.append(kind)


def placement_rows(candidates: Candidates) -> RowModel:
    """The model ``placement.solve`` builds, read constraint by constraint from CP-SAT's proto.

    Built by ``placement.model.build_model`` and ``placement.objectives`` themselves, so a MIP
    solver given these rows solves the very model CP-SAT solves: same variables, same rows,
    same objectives (the crowding counters of the secondary objective included).
    """
    built = build_model(candidates)
    model = built.model
    secondary = _objective_terms(model, secondary_objective(built))
    levels = {
        level: _objective_terms(model, placed_at_level(built, level)) for level in THREAT_LEVELS
    }
    proto = model.proto
    rows = RowModel(
        bounds=[_bounds(list(v.domain)) for v in proto.variables],
        keys={var.index: key for key, var in built.assign.items()},
        levels=levels,
        secondary=secondary,
        size={
            "variables": len(built.assign),
            **{f"constraints_{k}": n for k, n in sorted(built.constraint_counts.items())},
        },
    )
    for number, constraint in enumerate(proto.constraints):
        kind, row = _proto_row(constraint, number)
        rows.rows.append(row)
        rows.kinds.append(kind)
    return rows


def _bounds(domain: list[int]) -> tuple[int, int]:
    """A variable's bounds; a copied list, as the proto's repeated fields read [-1] as 0."""
    return int(domain[0]), int(domain[-1])


def _objective_terms(model: cp_model.CpModel, expression: cp_model.LinearExprT) -> dict[int, int]:
    """Variable -> coefficient of a linear expression, as CP-SAT stores it when maximising."""
    model.maximize(expression)
    objective = model.proto.objective
    sign = -1 if objective.scaling_factor < 0 else 1  # maximising is stored negated
    if objective.offset:
        raise ValueError("an objective with a constant term: not expected from placement")
    terms: dict[int, int] = {}
    for var, coef in zip(objective.vars, objective.coeffs, strict=True):
        if var < 0:
            raise ValueError("a negated variable in an objective: not expected from placement")
        terms[var] = terms.get(var, 0) + sign * int(coef)
    model.clear_objective()  # type: ignore[no-untyped-call]  # ortools lacks the hint
    return terms


def _proto_row(constraint: Any, number: int) -> tuple[str, Row]:
    """One CP-SAT constraint as a linear row, for the constraint types placement uses.

    Any other type, an enforcement literal or a domain with holes raises ``ValueError``, so
    a model that grows a new kind of constraint cannot be dropped silently from the MIP. The
    ``has_*`` tests come first: reading a sub-message that is not set creates it.
    """
    if len(constraint.enforcement_literal):
        raise ValueError(f"constraint {number}: enforcement literals have no row form here")
    if constraint.has_linear():
        linear = constraint.linear
        domain = [int(d) for d in linear.domain]
        variables = [int(v) for v in linear.vars]
        if len(domain) != 2 or any(v < 0 for v in variables):
            raise ValueError(f"constraint {number}: a linear domain with holes or negated terms")
        lower = -math.inf if domain[0] == INT64_MIN else float(domain[0])
        upper = math.inf if domain[1] == INT64_MAX else float(domain[1])
        return "linear", (variables, [int(c) for c in linear.coeffs], lower, upper)
    for kind in ("at_most_one", "exactly_one"):
        if getattr(constraint, f"has_{kind}")():
            literals = [int(lit) for lit in getattr(constraint, kind).literals]
            # A negated literal not-v is 1 - v: coefficient -1, and the 1 moves to the bound.
            negated = sum(1 for lit in literals if lit < 0)
            variables = [lit if lit >= 0 else -lit - 1 for lit in literals]
            coefs = [1 if lit >= 0 else -1 for lit in literals]
            lower = float(1 - negated) if kind == "exactly_one" else -math.inf
            return kind, (variables, coefs, lower, float(1 - negated))
    raise ValueError(f"constraint {number}: a CP-SAT constraint type with no row form here")


def naive_rows(candidates: Candidates) -> RowModel:
    """``placement.model``'s rules written afresh, with the textbook keep-apart encoding.

    One row ``x[a] + y[b] <= 1`` per keep-apart pair (x, y), area a of x and area b of y
    closer than ``keep_apart_km``; every other rule and the objectives as in
    ``placement.model`` and ``placement.objectives``.
    """
    scenario = candidates.scenario
    people = scenario.defectors
    keys = [(index, area) for index, p in sorted(candidates.people.items()) for area in p.areas]
    var = {key: number for number, key in enumerate(keys)}
    levels: dict[int, dict[int, int]] = {level: {} for level in THREAT_LEVELS}
    for number, (person, _) in enumerate(keys):
        levels[people[person].threat_level][number] = 1
    rows = RowModel(
        bounds=[(0, 1)] * len(keys), keys=dict(enumerate(keys)), levels=levels, secondary={}
    )
    by_person: dict[int, list[int]] = {}
    by_area: dict[int, list[int]] = {}
    for number, (person, area) in enumerate(keys):
        by_person.setdefault(person, []).append(number)
        by_area.setdefault(area, []).append(number)
    for variables in by_person.values():
        if len(variables) > 1:
            rows.add("at_most_one_area", variables, [1] * len(variables), 1)
    free = candidates.free_housing
    limit = scenario.policy.max_same_network_per_area
    for area, variables in sorted(by_area.items()):
        households = [people[keys[v][0]].household for v in variables]
        if sum(households) > free[area]:
            rows.add("capacity", variables, households, int(free[area]))
        by_network: dict[str, list[int]] = {}
        for v in variables:
            for network in people[keys[v][0]].networks:
                by_network.setdefault(network, []).append(v)
        for network, members in sorted(by_network.items()):
            already = candidates.placed_by_network.get(network)
            room = limit - (int(already[area]) if already is not None else 0)
            if len(members) > room:
                rows.add("same_network", members, [1] * len(members), max(room, 0))
    distance = candidates.distance_km
    keep_apart_km = scenario.policy.keep_apart_km
    for pair in candidates.threats.keep_apart_pairs:
        first = candidates.people.get(pair.first)
        second = candidates.people.get(pair.second)
        if first is None or second is None or not first.areas or not second.areas:
            continue
        others = np.array(second.areas, dtype=np.int64)
        close = distance[np.ix_(np.array(first.areas, dtype=np.int64), others)] < keep_apart_km
        for row, area in enumerate(first.areas):
            own = var[first.index, area]
            for other in others[close[row]]:
                rows.add("keep_apart", [own, var[second.index, int(other)]], [1, 1], 1)
    for number, (person, area) in enumerate(keys):
        points = score_parts(candidates, candidates.people[person], area).total
        if points:
            rows.secondary[number] = points
    for _, variables in sorted(by_area.items()):
        if len(variables) < 2:
            continue
        crowding = len(rows.bounds)  # crowding >= sum(Booleans) - 1
        rows.bounds.append((0, len(variables) - 1))
        rows.secondary[crowding] = -CROWDING_POINTS
        rows.add("crowding", [*variables, crowding], [1] * len(variables) + [-1], 1)
    rows.size = {"variables": len(keys)}
    for kind in rows.kinds:
        rows.size[f"constraints_{kind}"] = rows.size.get(f"constraints_{kind}", 0) + 1
    return rows


# --------------------------------------------------------------------------- solver back ends


class _Backend:
    """One solver holding a row model; stages change the objective and add rows."""

    def maximize(self, objective: Mapping[int, int], hint: Sequence[int]) -> None:
        raise NotImplementedError

    def solve(self, time_limit_s: float) -> tuple[str, float | None, float | None, list[int]]:
        """(status OPTIMAL/FEASIBLE/UNKNOWN, objective, bound, values of every variable)."""
        raise NotImplementedError

    def hold(self, objective: Mapping[int, int], value: int, *, exact: bool) -> None:
        raise NotImplementedError


class _CpSat(_Backend):
    def __init__(self, rows: RowModel) -> None:
        self.model = cp_model.CpModel()
        self.vars = [
            self.model.new_bool_var(f"v{i}")
            if (lo, hi) == (0, 1)
            else self.model.new_int_var(lo, hi, f"v{i}")
            for i, (lo, hi) in enumerate(rows.bounds)
        ]
        for variables, coefs, lower, upper in rows.rows:
            terms = [self.vars[v] for v in variables]
            if lower == -math.inf and upper == 1 and set(coefs) == {1} and len(terms) > 1:
                self.model.add_at_most_one(terms)
            else:
                self.model.add_linear_constraint(
                    cp_model.LinearExpr.weighted_sum(terms, coefs),
                    INT64_MIN if lower == -math.inf else int(lower),
                    INT64_MAX if upper == math.inf else int(upper),
                )
        self.booleans = sorted(rows.keys)

    def _expr(self, objective: Mapping[int, int]) -> cp_model.LinearExpr:
        items = sorted(objective.items())
        return cp_model.LinearExpr.weighted_sum(
            [self.vars[v] for v, _ in items], [c for _, c in items]
        )

    def maximize(self, objective: Mapping[int, int], hint: Sequence[int]) -> None:
        self.model.clear_objective()  # type: ignore[no-untyped-call]
        self.model.clear_hints()  # type: ignore[no-untyped-call]
        for number in self.booleans:
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
    def __init__(self, rows: RowModel) -> None:
        import highspy

        self.highspy = highspy
        h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy has no annotations
        h.setOptionValue("output_flag", False)
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("threads", 1)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.99)
        n = len(rows.bounds)
        h.addCols(
            n,
            np.zeros(n),
            np.array([lo for lo, _ in rows.bounds], dtype=np.float64),
            np.array([hi for _, hi in rows.bounds], dtype=np.float64),
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
        starts: list[int] = []
        indices: list[int] = []
        values: list[int] = []
        for variables, coefs, _, _ in rows.rows:
            starts.append(len(indices))
            indices += variables
            values += coefs
        h.addRows(
            len(rows.rows),
            # A missing side is math.inf, which is HiGHS's infinity (kHighsInf) too.
            np.array([lower for _, _, lower, _ in rows.rows], dtype=np.float64),
            np.array([upper for _, _, _, upper in rows.rows], dtype=np.float64),
            len(indices),
            np.array(starts, dtype=np.int32),
            np.array(indices, dtype=np.int32),
            np.array(values, dtype=np.float64),
        )
        self.h = h
        self.n = n

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
    make_rows: Callable[[Candidates], RowModel],
    make_backend: Callable[[RowModel], _Backend],
    *,
    time_limit_s: float,
) -> PeerResult:
    """Stages as in ``placement.solve``: each threat level, then the secondary objective."""
    started = time.monotonic()
    candidates = Candidates(scenario, Threats(scenario))
    rows = make_rows(candidates)
    backend = make_backend(rows)
    built = time.monotonic()
    result = PeerResult(
        peer=peer, new_areas={}, build_s=built - started, solve_s=0.0, model_size=rows.size
    )
    present = {p.defector.threat_level for p in candidates.people.values() if p.areas}
    values: list[int] = [0] * len(rows.bounds)
    proven = True
    found_any = False
    for level in [lvl for lvl in THREAT_LEVELS if lvl in present]:
        objective = rows.levels[level]
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
        backend.maximize(rows.secondary, values)
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
        person: area for v, (person, area) in sorted(rows.keys.items()) if found_any and values[v]
    }
    return result


def run_highs(scenario: Scenario, *, time_limit_s: float) -> PeerResult:
    return _lexicographic("highs", scenario, placement_rows, _Highs, time_limit_s=time_limit_s)


def run_naive(scenario: Scenario, *, time_limit_s: float) -> PeerResult:
    return _lexicographic("naive", scenario, naive_rows, _CpSat, time_limit_s=time_limit_s)


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
