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

The keep-apart rule is encoded pairwise after domain filtering, in a strengthened form: for a
pair (x, y) and each candidate area a of x, ``x[a] + sum(y[b] for b close to a) <= 1``. One
constraint per (pair, area) replaces one per (pair, area, area), and its LP relaxation is
tighter, because y takes at most one area anyway.

Objectives are linear in the same Booleans (see ``placement.objectives``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from placement.candidates import Candidates


@dataclass
class PlacementModel:
    """A built CP-SAT model with handles on its decision variables."""

    model: cp_model.CpModel
    candidates: Candidates
    assign: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    """(defector index, area index) -> Boolean: the person is placed there."""
    placed: dict[int, cp_model.LinearExprT] = field(default_factory=dict)
    """Defector index -> 1 when placed anywhere, else 0."""
    constraint_counts: dict[str, int] = field(default_factory=dict)


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

    For each pair, iterate over the areas of the person with fewer candidates and forbid the
    other from every candidate area within ``keep_apart_km`` of it.
    """
    candidates = built.candidates
    limit = candidates.scenario.policy.keep_apart_km
    distance = candidates.distance_km
    for pair in candidates.threats.keep_apart_pairs:
        first = candidates.people.get(pair.first)
        second = candidates.people.get(pair.second)
        if first is None or second is None or not first.areas or not second.areas:
            continue  # a placed partner was already handled by domain filtering
        if len(first.areas) > len(second.areas):
            first, second = second, first
        other_areas = np.array(second.areas, dtype=np.int64)
        close_matrix = distance[np.ix_(np.array(first.areas, dtype=np.int64), other_areas)] < limit
        for row, area in enumerate(first.areas):
            close = other_areas[close_matrix[row]]
            if close.size == 0:
                continue
            terms: Iterable[cp_model.IntVar] = [
                built.assign[first.index, area],
                *(built.assign[second.index, int(b)] for b in close),
            ]
            built.model.add_at_most_one(terms)
            _count(built, "keep_apart")
