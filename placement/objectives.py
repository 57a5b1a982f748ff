"""What "best" means: the contract's primary objective and this project's secondary one.

Primary (the contract): place as many pending defectors as possible, the most threatened first
-- lexicographically, the number placed at threat level 5, then 4, ... down to 1. It is solved
exactly, one level at a time (``placed_at_level``; see ``placement.solve``).

Secondary (this project's choice, documented in the README), only among plans that are
primary-optimal. Points per newly placed person, summed:

- safety margin: ``threat_level`` points per km by which the area exceeds the required
  distance to the nearest threat (threatening territory or already placed person to keep apart
  from), counted up to ``MARGIN_CAP_KM``: wider margins for the most threatened count most, and
  beyond the cap further distance buys nothing, so waits and wishes decide;
- waits: minus ``WAIT_POINTS_PER_WEEK`` per week of current wait for each needed service;
- preferences: plus ``PREFERENCE_POINTS`` when the area is on the person's ``prefer`` list;
- spread: minus ``CROWDING_POINTS`` for every newcomer beyond the first in one area, so the
  load is shared across municipalities when that costs little safety.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from placement.candidates import Candidates, PersonCandidates
from placement.model import PlacementModel

THREAT_LEVELS = (5, 4, 3, 2, 1)
MARGIN_CAP_KM = 100
WAIT_POINTS_PER_WEEK = 2
PREFERENCE_POINTS = 50
CROWDING_POINTS = 20


def placed_at_level(built: PlacementModel, level: int) -> cp_model.LinearExpr:
    people = built.candidates.scenario.defectors
    return cp_model.LinearExpr.sum(
        [placed for p, placed in sorted(built.placed.items()) if people[p].threat_level == level]
    )


@dataclass(frozen=True)
class ScoreParts:
    """The secondary points of placing one person in one area, term by term.

    ``spread`` is the crowding the person adds there given where the other newcomers of a plan
    are (``placement.explain``); the model counts crowding per area instead, so it is 0 here.
    """

    margin: int
    wait: int
    preference: int
    spread: int = 0

    @property
    def total(self) -> int:
        return self.margin + self.wait + self.preference + self.spread


def safety_margin_km(person: PersonCandidates, area: int, keep_apart_km: float) -> float:
    """Distance beyond the required one to the nearest threat: territory or placed partner."""
    threat = person.threat_margin_km(area)
    partner = float(person.partner_distance_km[area]) - keep_apart_km
    return min(threat, partner)


def score_parts(candidates: Candidates, person: PersonCandidates, area: int) -> ScoreParts:
    scenario = candidates.scenario
    margin = safety_margin_km(person, area, scenario.policy.keep_apart_km)
    capped = min(margin, float(MARGIN_CAP_KM))
    waits: Mapping[str, float] = scenario.offers[area].wait_weeks
    wait_weeks = sum(waits.get(service, 0.0) for service in person.defector.needs)
    return ScoreParts(
        margin=round(capped) * person.defector.threat_level,
        wait=-round(wait_weeks * WAIT_POINTS_PER_WEEK),
        preference=PREFERENCE_POINTS if area in person.defector.prefer else 0,
    )


def secondary_points(candidates: Candidates, new_areas: Mapping[int, int]) -> int:
    """The secondary objective's value for a plan: newly placed person -> area.

    The same points ``secondary_objective`` gives the solver, computed from the plan alone, so
    plans of any origin (another stage, another solver, a file) can be compared. People not
    pending in ``candidates`` (e.g. an already placed person a what-if moved) are not part of
    the objective and are skipped.
    """
    total = 0
    newcomers: dict[int, int] = {}
    for index, area in new_areas.items():
        person = candidates.people.get(index)
        if person is None:
            continue
        total += score_parts(candidates, person, area).total
        newcomers[area] = newcomers.get(area, 0) + 1
    return total - CROWDING_POINTS * sum(n - 1 for n in newcomers.values())


def secondary_objective(built: PlacementModel) -> cp_model.LinearExpr:
    candidates = built.candidates
    terms: list[cp_model.LinearExprT] = []
    by_area: dict[int, list[cp_model.IntVar]] = {}
    for (person, area), var in sorted(built.assign.items()):
        parts = score_parts(candidates, candidates.people[person], area)
        if parts.total:
            terms.append(parts.total * var)
        by_area.setdefault(area, []).append(var)
    for area, variables in sorted(by_area.items()):
        if len(variables) < 2:
            continue
        crowding = built.model.new_int_var(0, len(variables) - 1, f"crowding_{area}")
        built.model.add(crowding >= cp_model.LinearExpr.sum(variables) - 1)
        built.crowding[area] = crowding
        terms.append(-CROWDING_POINTS * crowding)
    return cp_model.LinearExpr.sum(terms)
