"""Why a pending defector is unplaced, in words a social worker understands.

Two cases:

1. No area passes the rules that concern the person alone (given who is already placed). The
   rules are applied one after another -- services and the avoid list first (what the area
   offers), then the threat buffer, origin, people already placed, same network, housing --
   counting the areas left at each step, and the sentence names the combination that leaves
   none: "no area offering trauma_care is at least 100 km from the territories of N03 and N07
   (41 areas offer trauma_care; none of them is far enough from those territories)".
2. Some areas are allowed on their own, but every one is taken by this plan's placements of
   more urgent (or equally urgent) people: the sentence says how many areas were allowed and,
   for each (up to a few), what blocks it now -- full housing, a kept-apart person placed
   nearby, or another defector of the same network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from placement.candidates import BoolArray, PersonCandidates
from placement.scenario import Scenario
from placement.solve import SolveResult

MAX_AREAS_NAMED = 5


def _and_list(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _km(value: float) -> str:
    return f"{value:g} km"


def unplaced_reasons(result: SolveResult, defector_index: int) -> list[str]:
    """Plain-word reasons why this pending person has no area in the result."""
    person = result.candidates.people[defector_index]
    if not person.areas:
        return [_no_allowed_area(result.scenario, person)]
    return [_all_allowed_taken(result, person)]


@dataclass(frozen=True)
class _Step:
    qualifier: str
    """Reads after "no area ...": "offering trauma_care"."""
    alone: str
    """The whole sentence when this rule alone leaves no area."""
    verb: str
    """Reads after "N areas ...": "offer trauma_care"."""
    mask: BoolArray


def _steps(scenario: Scenario, person: PersonCandidates) -> list[_Step]:
    policy = scenario.policy
    defector = person.defector
    origin = scenario.geography.label(defector.origin)
    steps: list[_Step] = []
    if defector.needs:
        services = _and_list(sorted(defector.needs))
        steps.append(
            _Step(
                f"offering {services}",
                f"no area offers {services}",
                f"offer {services}",
                person.masks["services"],
            )
        )
    if defector.avoid:
        steps.append(
            _Step(
                "outside the avoid list",
                "every area is on the avoid list",
                "are not on the avoid list",
                person.masks["avoid"],
            )
        )
    if person.threat_networks:
        far = f"at least {_km(defector.threat_buffer_km)} from the territories of " + _and_list(
            person.threat_networks
        )
        steps.append(
            _Step(
                far,
                f"no area is {far}",
                "are far enough from those territories",
                person.masks["threats"],
            )
        )
    far_origin = f"at least {_km(policy.origin_buffer_km)} from the origin {origin}"
    steps.append(
        _Step(
            far_origin,
            f"no area is {far_origin}",
            f"are far enough from {origin}",
            person.masks["origin"],
        )
    )
    far_people = f"at least {_km(policy.keep_apart_km)} from the placed people to keep apart from"
    steps.append(
        _Step(
            far_people,
            f"no area is {far_people}",
            "are far enough from those people",
            person.masks["keep_apart"],
        )
    )
    networks = _and_list(defector.networks)
    limit = policy.max_same_network_per_area
    room = (
        f"where no defector of {networks} already lives"
        if limit == 1
        else f"where fewer than {limit} defectors of {networks} already live"
    )
    steps.append(
        _Step(
            room,
            f"every area already has {limit} defector(s) of {networks}",
            f"have room for another defector of {networks}",
            person.masks["same_network"],
        )
    )
    units = f"{defector.household} free housing unit{'s' if defector.household > 1 else ''}"
    steps.append(
        _Step(f"with {units}", f"no area has {units}", f"have {units}", person.masks["capacity"])
    )
    return steps


def _no_allowed_area(scenario: Scenario, person: PersonCandidates) -> str:
    steps = _steps(scenario, person)
    for step in steps:
        if not step.mask.any():  # one rule alone leaves no area: say just that
            return step.alone
    remaining = np.ones_like(steps[0].mask)
    qualifiers: list[str] = []
    trail: list[str] = []
    for step in steps:
        narrowed = remaining & step.mask
        left = int(narrowed.sum())
        if left == int(remaining.sum()):
            continue  # this rule removes nothing further; leave it out of the sentence
        remaining = narrowed
        qualifiers.append(step.qualifier)
        if not trail:
            trail.append(f"{left} areas {step.verb}")
        else:
            trail.append(f"{left} of those {step.verb}" if left else f"none of those {step.verb}")
        if left == 0:
            break
    head = f"no area {qualifiers[0]} is {_and_list(qualifiers[1:])}"
    return f"{head} ({'; '.join(trail)})"


def _all_allowed_taken(result: SolveResult, person: PersonCandidates) -> str:
    scenario = result.scenario
    policy = scenario.policy
    label = scenario.geography.label
    distance = scenario.distance_km
    defector = person.defector
    occupants: dict[int, list[int]] = {}
    for other, area in result.new_areas.items():
        occupants.setdefault(area, []).append(other)
    partners = set(result.candidates.threats.keep_apart_partners.get(person.index, ()))
    blocked: list[str] = []
    for area in person.areas:
        newcomers = occupants.get(area, [])
        used = sum(scenario.defectors[o].household for o in newcomers)
        free = int(result.candidates.free_housing[area]) - used
        close = sorted(
            scenario.defectors[o].id
            for o, other_area in result.new_areas.items()
            if o in partners and distance[area, other_area] < policy.keep_apart_km
        )
        same = sorted(
            scenario.defectors[o].id
            for o in newcomers
            if set(scenario.defectors[o].networks) & set(defector.networks)
        )
        if free < defector.household:
            who = _and_list(sorted(scenario.defectors[o].id for o in newcomers))
            blocked.append(f"{label(area)}: housing taken by {who} ({max(free, 0)} free)")
        elif close:
            blocked.append(
                f"{label(area)}: within {_km(policy.keep_apart_km)} of {_and_list(close)}"
            )
        elif same:
            blocked.append(f"{label(area)}: {_and_list(same)} of the same network placed there")
        else:
            blocked.append(f"{label(area)}: free, but the search stopped before using it")
    count = len(person.areas)
    shown = "; ".join(blocked[:MAX_AREAS_NAMED])
    more = f"; and {count - MAX_AREAS_NAMED} more" if count > MAX_AREAS_NAMED else ""
    return (
        f"{count} area{'s' if count != 1 else ''} allowed by every rule on its own, but all are "
        f"needed for more urgent or equally urgent cases in this plan ({shown}{more})"
    )
