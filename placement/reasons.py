"""Why a pending defector is unplaced, in words a social worker understands.

Two cases:

1. No area passes the rules that concern the person alone (given who is already placed). The
   rules are applied one after another -- services and the avoid list first (what the area
   offers), then the threat buffer, origin, people already placed, same network, housing --
   counting the areas left at each step, and the sentence names the combination that leaves
   none: "no area offering trauma_care is at least 100 km from the territories of N03 and N07
   (41 areas offer trauma_care; none of them is far enough from those territories)".
2. Some areas are allowed on their own, but every one is taken by this plan's placements,
   which place the most people, most threatened first: the sentence says how many areas were
   allowed and, for each (up to a few), what blocks it now -- full housing, a kept-apart person
   placed nearby, or another defector of the same network.
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
    """One rule's wording in the three places a sentence may need it."""

    qualifier: str
    """Reads after "no area ...": "offering trauma_care"."""
    predicate: str
    """Reads after "no area offering X ...": "is at least 150 km from the origin Malmö"."""
    alone: str
    """The whole sentence when this rule alone leaves no area."""
    verb: str
    """Reads after "N areas ...": "offer trauma_care"."""
    mask: BoolArray


def _distance_step(what: str, verb: str, mask: BoolArray) -> _Step:
    return _Step(
        qualifier=what, predicate=f"is {what}", alone=f"no area is {what}", verb=verb, mask=mask
    )


def _steps(scenario: Scenario, person: PersonCandidates) -> list[_Step]:
    policy = scenario.policy
    defector = person.defector
    origin = scenario.geography.label(defector.origin)
    masks = person.masks
    steps: list[_Step] = []
    if defector.needs:
        services = _and_list(sorted(defector.needs))
        steps.append(
            _Step(
                qualifier=f"offering {services}",
                predicate=f"offers {services}",
                alone=f"no area offers {services}",
                verb=f"offer {services}",
                mask=masks["services"],
            )
        )
    if defector.avoid:
        steps.append(
            _Step(
                qualifier="outside the avoid list",
                predicate="is outside the avoid list",
                alone="every area is on the avoid list",
                verb="are not on the avoid list",
                mask=masks["avoid"],
            )
        )
    if person.threat_networks:
        networks = _and_list(person.threat_networks)
        steps.append(
            _distance_step(
                f"at least {_km(defector.threat_buffer_km)} from the territories of {networks}",
                "are far enough from those territories",
                masks["threats"],
            )
        )
    steps.append(
        _distance_step(
            f"at least {_km(policy.origin_buffer_km)} from the origin {origin}",
            f"are far enough from {origin}",
            masks["origin"],
        )
    )
    steps.append(
        _distance_step(
            f"at least {_km(policy.keep_apart_km)} from the placed people to keep apart from",
            "are far enough from those people",
            masks["keep_apart"],
        )
    )
    own = _and_list(defector.networks)
    limit = policy.max_same_network_per_area
    steps.append(
        _Step(
            qualifier=f"with room for another defector of {own}",
            predicate=f"has room for another defector of {own}",
            alone=f"every area already has {limit} defector(s) of {own}",
            verb=f"have room for another defector of {own}",
            mask=masks["same_network"],
        )
    )
    units = f"{defector.household} free housing unit{'s' if defector.household > 1 else ''}"
    steps.append(
        _Step(
            qualifier=f"with {units}",
            predicate=f"has {units}",
            alone=f"no area has {units}",
            verb=f"have {units}",
            mask=masks["capacity"],
        )
    )
    return steps


def _no_allowed_area(scenario: Scenario, person: PersonCandidates) -> str:
    steps = _steps(scenario, person)
    for step in steps:
        if not step.mask.any():  # one rule alone leaves no area: say just that
            return step.alone
    remaining = np.ones_like(steps[0].mask)
    chosen: list[_Step] = []
    trail: list[str] = []
    for step in steps:
        narrowed = remaining & step.mask
        left = int(narrowed.sum())
        if left == int(remaining.sum()):
            continue  # this rule removes nothing further; leave it out of the sentence
        remaining = narrowed
        chosen.append(step)
        if not trail:
            trail.append(f"{left} areas {step.verb}")
        else:
            trail.append(f"{left} of those {step.verb}" if left else f"none of those {step.verb}")
        if left == 0:
            break
    head = f"no area {chosen[0].qualifier} {_and_list([s.predicate for s in chosen[1:]])}"
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
    stopped_by = (
        f"was interrupted ({result.interrupted})"
        if result.interrupted is not None
        else "stopped at the time limit"
    )
    caveat = (
        "" if result.primary_optimal else f"; the search {stopped_by}, so a better plan may exist"
    )
    return (
        f"{count} area{'s' if count != 1 else ''} allowed by every rule on its own, but all are "
        f"taken in this plan, which places the most people, most threatened first "
        f"({shown}{more}{caveat})"
    )
