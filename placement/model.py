"""The CP-SAT model: one Boolean per (pending defector, candidate area).

Already placed people are facts, not variables: their effect on the pending (threat distance
to them, the housing and same-network slots they use) is folded into the candidate sets by
``placement.candidates``. What remains for the model are the rules that couple pending people:

- ``at_most_one_area``: each pending person gets at most one area;
- ``capacity``: the newcomers' households fit in the housing left free;
- ``same_network``: at most ``max_same_network_per_area`` per network and area, counting
  those already there;
- ``keep_apart``: two pending people who must be kept apart are never both placed within
  ``keep_apart_km`` of each other.

The keep-apart rule is encoded after domain filtering, in strengthened forms:

- per pair (x, y), one row per candidate area a of x: ``x[a] + sum(y[b] for b near a) <= 1``
  (b near a: closer than ``keep_apart_km``). One constraint per (pair, area) replaces one per
  (pair, area, area), and its LP relaxation is tighter, because y takes at most one area;
- per network, when ``max_same_network_per_area`` is 1 (the default): for a rivalry between
  networks N and M, a pending member y of M, and an area a, every pending member x of N
  (other than y) must be kept apart from y, and at most one member of N lives in a, so
  ``sum(x[a] for x in N) + sum(y[b] for b near a) <= 1``. This row implies the per-pair rows
  of all of N's members with y at a. Which side plays N is chosen per rivalry, for fewer
  rows; pairs covered this way get no per-pair rows. Pairs that are only listed in
  ``keep_apart_from``, and every pair when the same-network limit is above 1, keep the
  per-pair form. Measured (docs/benchmarks.md, "How the solver got here"): 30-45% fewer keep-apart
  rows; fine 12.5 km grid, seed 2, 9.7 s instead of 12.6 s; with nobody placed no change.

Objectives are linear in the same Booleans (see ``placement.objectives``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from placement.candidates import Candidates, IntArray


@dataclass
class PlacementModel:
    """A built CP-SAT model with handles on its decision variables."""

    model: cp_model.CpModel
    candidates: Candidates
    assign: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    """(defector index, area index) -> Boolean: the person is placed there."""
    placed: dict[int, cp_model.LinearExprT] = field(default_factory=dict)
    """Defector index -> 1 when placed anywhere, else 0."""
    crowding: dict[int, cp_model.IntVar] = field(default_factory=dict)
    """Area index -> newcomers there beyond the first, once the secondary objective exists.

    Filled by ``placement.objectives.secondary_objective``; a plan given as a hint sets them
    too, so that the hint is a complete solution."""
    constraint_counts: dict[str, int] = field(default_factory=dict)


def plan_hint(built: PlacementModel, plan: Mapping[int, int]) -> dict[int, int]:
    """A complete solution hint for a plan: proto index -> value, for every decision variable.

    The crowding variables get the values the plan implies, so that CP-SAT can take the plan
    as a whole solution (the secondary stage, and each round of the neighbourhood search).
    """
    hint = {
        var.index: int(plan.get(person) == area) for (person, area), var in built.assign.items()
    }
    newcomers: dict[int, int] = {}
    for area in plan.values():
        newcomers[area] = newcomers.get(area, 0) + 1
    for area, crowding in built.crowding.items():
        hint[crowding.index] = max(newcomers.get(area, 0) - 1, 0)
    return dict(sorted(hint.items()))


def set_hint(model: cp_model.CpModel, hint: Mapping[int, int]) -> None:
    """Replace the model's solution hint with ``hint`` (proto index -> value), in bulk.

    Each stage hints every variable (about 3,600 at national size); ``add_hint`` one variable
    at a time took about 0.1 s of a 2.5 s national solve over its six stages.
    """
    model.clear_hints()  # type: ignore[no-untyped-call]  # ortools lacks the hint
    model.proto.solution_hint.vars.extend(hint.keys())
    model.proto.solution_hint.values.extend(hint.values())


def set_parameters(solver: cp_model.CpSolver, parameters: Mapping[str, Any]) -> None:
    """Set CP-SAT parameters by name; list-valued ones (e.g. ``subsolvers``) are replaced."""
    for key, value in parameters.items():
        if isinstance(value, list | tuple):
            repeated = getattr(solver.parameters, key)
            repeated.clear()
            repeated.extend(value)
        else:
            setattr(solver.parameters, key, value)


def build_model(candidates: Candidates) -> PlacementModel:
    """Create the variables and all hard constraints for the pending people."""
    built = PlacementModel(model=cp_model.CpModel(), candidates=candidates)
    for index, person in sorted(candidates.people.items()):
        for area in person.areas:
            built.assign[index, area] = built.model.new_bool_var(f"x_{index}_{area}")
    at_most_one_area(built)
    capacity(built)
    same_network(built)
    keep_apart(built)
    return built


def _count(built: PlacementModel, rule: str, number: int = 1) -> None:
    built.constraint_counts[rule] = built.constraint_counts.get(rule, 0) + number


def at_most_one_area(built: PlacementModel) -> None:
    """Hard constraint: a pending person is placed in at most one area."""
    by_person: dict[int, list[cp_model.IntVar]] = {}
    for (person, _), var in built.assign.items():
        by_person.setdefault(person, []).append(var)
    for person in built.candidates.people:
        variables = by_person.get(person, [])
        if len(variables) > 1:
            built.model.add_at_most_one(variables)
            _count(built, "at_most_one_area")
        built.placed[person] = cp_model.LinearExpr.sum(variables) if variables else 0


def _by_area(built: PlacementModel) -> dict[int, list[tuple[int, cp_model.IntVar]]]:
    table: dict[int, list[tuple[int, cp_model.IntVar]]] = {}
    for (person, area), var in built.assign.items():
        table.setdefault(area, []).append((person, var))
    return table


def capacity(built: PlacementModel) -> None:
    """Hard constraint: newcomers' households fit in the housing units left free in each area."""
    people = built.candidates.scenario.defectors
    free = built.candidates.free_housing
    for area, entries in sorted(_by_area(built).items()):
        households = [people[p].household for p, _ in entries]
        if sum(households) <= free[area]:
            continue  # cannot be exceeded
        built.model.add(
            cp_model.LinearExpr.weighted_sum([v for _, v in entries], households) <= int(free[area])
        )
        _count(built, "capacity")


def same_network(built: PlacementModel) -> None:
    """Hard constraint: at most ``max_same_network_per_area`` defectors of a network per area."""
    people = built.candidates.scenario.defectors
    limit = built.candidates.scenario.policy.max_same_network_per_area
    for area, entries in sorted(_by_area(built).items()):
        by_network: dict[str, list[cp_model.IntVar]] = {}
        for person, var in entries:
            for network in people[person].networks:
                by_network.setdefault(network, []).append(var)
        for network, variables in sorted(by_network.items()):
            already = built.candidates.placed_by_network.get(network)
            room = limit - (int(already[area]) if already is not None else 0)
            if len(variables) <= room:
                continue
            built.model.add(cp_model.LinearExpr.sum(variables) <= max(room, 0))
            _count(built, "same_network")


def keep_apart(built: PlacementModel) -> None:
    """Hard constraint: two pending people kept apart are never placed closer than the limit.

    With ``max_same_network_per_area`` at most 1, pairs due to a network rivalry are encoded
    per (network, area, rival person) (see the module docstring); the other pairs (listed in
    ``keep_apart_from`` only, or any pair when the limit is higher) one row per (pair, area).
    """
    covered: set[tuple[int, int]] = set()
    if built.candidates.scenario.policy.max_same_network_per_area <= 1:
        covered = _keep_apart_by_network(built)
    for pair in built.candidates.threats.keep_apart_pairs:
        if (pair.first, pair.second) not in covered:
            _keep_apart_pair(built, pair.first, pair.second)


def _close_areas(built: PlacementModel, areas: list[int], other: tuple[int, ...]) -> list[IntArray]:
    """For each of ``areas``: the areas of ``other`` closer than ``keep_apart_km`` to it."""
    limit = built.candidates.scenario.policy.keep_apart_km
    other_areas = np.array(other, dtype=np.int64)
    close = built.candidates.distance_km[np.ix_(np.array(areas, dtype=np.int64), other_areas)]
    return [other_areas[row] for row in close < limit]


def _keep_apart_pair(built: PlacementModel, i: int, j: int) -> None:
    """One row per area of the person with fewer candidates: x in a excludes y near a."""
    first = built.candidates.people.get(i)
    second = built.candidates.people.get(j)
    if first is None or second is None or not first.areas or not second.areas:
        return  # a placed partner was already handled by domain filtering
    if len(first.areas) > len(second.areas):
        first, second = second, first
    for area, close in zip(
        first.areas, _close_areas(built, list(first.areas), second.areas), strict=True
    ):
        if close.size == 0:
            continue
        built.model.add_at_most_one(
            [built.assign[first.index, area], *(built.assign[second.index, int(b)] for b in close)]
        )
        _count(built, "keep_apart")


def _keep_apart_by_network(built: PlacementModel) -> set[tuple[int, int]]:
    """Rows ``sum(x[a] for x in N) + sum(y[b] for b near a) <= 1``; the pairs they cover.

    For each rivalry (N, M) between networks, and each pending member y of one side (say M),
    every pending member x of the other side N (x != y) must be kept apart from y; at most one
    member of N is in area a (same-network limit 1); so at most one of "some member of N in
    a" and "y near a" holds. Which side plays N is chosen per rivalry for fewer rows.
    """
    candidates = built.candidates
    people = candidates.people
    members: dict[str, list[int]] = {}
    for index, person in sorted(people.items()):
        if person.areas:
            for network in person.defector.networks:
                members.setdefault(network, []).append(index)
    covered: set[tuple[int, int]] = set()
    rivalries = sorted(
        {
            (min(a, b), max(a, b))
            for a, b, kind in candidates.threats.graph.edges(data="kind")
            if kind == "rival"
        }
    )
    for first, second in rivalries:
        side_a, side_b = members.get(first, []), members.get(second, [])
        if not side_a or not side_b:
            continue
        areas_a = len({a for x in side_a for a in people[x].areas})
        areas_b = len({a for y in side_b for a in people[y].areas})
        # About one row per (area of the group's side, person of the other side).
        if len(side_b) * areas_a <= len(side_a) * areas_b:
            group, singles = side_a, side_b
        else:
            group, singles = side_b, side_a
        for y in singles:
            others = [x for x in group if x != y]
            if not others:
                continue
            for x in others:
                covered.add((min(x, y), max(x, y)))
            areas = sorted({a for x in others for a in people[x].areas})
            for area, close in zip(areas, _close_areas(built, areas, people[y].areas), strict=True):
                if close.size == 0:
                    continue
                built.model.add_at_most_one(
                    [
                        *(built.assign[x, area] for x in others if (x, area) in built.assign),
                        *(built.assign[y, int(b)] for b in close),
                    ]
                )
                _count(built, "keep_apart")
    return covered
