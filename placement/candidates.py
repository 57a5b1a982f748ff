"""Domain filtering: which areas each pending defector could use, rule by rule.

Every rule that depends on one person and fixed facts (territories, the origin, services, the
avoid list, and the people already placed, who do not move) is evaluated here for every
(person, area) pair, vectorised over areas with numpy. What survives is the person's candidate
set: the model only creates variables for it, which keeps the model small (at national size
about 15-25 candidates of 290 areas per person), and the unplaced reasons and explanations
reuse the same per-rule masks to say which rule rules an area out.

Rules that couple pending people with each other (keep-apart between two pending people,
capacity and same-network shared by several newcomers) are left to the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from placement.rules import RuleName
from placement.scenario import Defector, Scenario
from placement.threats import Threats

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: The order in which rules are tried when naming the first rule that rules an area out.
RULE_ORDER: tuple[RuleName, ...] = (
    "threats",
    "origin",
    "keep_apart",
    "same_network",
    "capacity",
    "services",
    "avoid",
)


@dataclass(frozen=True, eq=False)
class PersonCandidates:
    """One pending defector's per-rule area masks and safety margins."""

    defector: Defector
    index: int
    """The defector's index in ``scenario.defectors``."""
    masks: dict[RuleName, BoolArray]
    """Per rule: True where that rule, on its own, allows the area."""
    threat_distance_km: FloatArray
    """Distance from each area to the nearest threatening territory (inf when none)."""
    threat_nearest: IntArray
    """Index of that nearest territory area (-1 when none)."""
    threat_networks: tuple[str, ...]
    placed_partner_distance_km: FloatArray
    """Distance from each area to the nearest already placed person to keep apart from."""

    @cached_property
    def allowed(self) -> BoolArray:
        mask = np.ones_like(next(iter(self.masks.values())))
        for rule_mask in self.masks.values():
            mask &= rule_mask
        return mask

    @cached_property
    def areas(self) -> tuple[int, ...]:
        """Candidate areas, in area order."""
        return tuple(int(a) for a in np.flatnonzero(self.allowed))

    def threat_margin_km(self, area: int) -> float:
        """How much further than required the area is from the nearest threatening territory."""
        return float(self.threat_distance_km[area] - self.defector.threat_buffer_km)

    def first_blocking_rule(self, area: int) -> RuleName | None:
        for rule in RULE_ORDER:
            if not self.masks[rule][area]:
                return rule
        return None


class Candidates:
    """The static per-rule masks of every pending defector in a scenario."""

    def __init__(self, scenario: Scenario, threats: Threats | None = None) -> None:
        self.scenario = scenario
        self.threats = threats or Threats(scenario)
        self.distance_km = scenario.distance_km
        n_areas = len(scenario.geography)
        offers = scenario.offers
        self.housing = np.array([o.housing_units for o in offers], dtype=np.int64)
        self.placed_load = np.zeros(n_areas, dtype=np.int64)
        self.placed_by_network: dict[str, IntArray] = {}
        for person in scenario.placed:
            assert person.placed_in is not None
            self.placed_load[person.placed_in] += person.household
            for network in person.networks:
                counts = self.placed_by_network.setdefault(
                    network, np.zeros(n_areas, dtype=np.int64)
                )
                counts[person.placed_in] += 1
        self.free_housing = np.maximum(self.housing - self.placed_load, 0)
        self.service_masks = {
            service: np.array([service in o.services for o in offers], dtype=np.bool_)
            for service in scenario.services
        }
        self.people: dict[int, PersonCandidates] = {
            index: self._person(index, person)
            for index, person in enumerate(scenario.defectors)
            if person.placed_in is None
        }

    def _person(self, index: int, person: Defector) -> PersonCandidates:
        scenario = self.scenario
        policy = scenario.policy
        distance = self.distance_km
        n_areas = len(scenario.geography)
        territory = self.threats.threat_territory(person)
        if territory:
            columns = np.array(sorted(territory), dtype=np.int64)
            block = distance[:, columns]
            nearest_column = block.argmin(axis=1)
            threat_distance = block[np.arange(n_areas), nearest_column]
            threat_nearest = columns[nearest_column]
        else:
            threat_distance = np.full(n_areas, np.inf)
            threat_nearest = np.full(n_areas, -1, dtype=np.int64)
        partner_areas = [
            other.placed_in
            for other in (
                scenario.defectors[j] for j in self.threats.keep_apart_partners.get(index, ())
            )
            if other.placed_in is not None
        ]
        if partner_areas:
            partner_distance = distance[:, np.array(partner_areas, dtype=np.int64)].min(axis=1)
        else:
            partner_distance = np.full(n_areas, np.inf)
        same_network = np.ones(n_areas, dtype=np.bool_)
        for network in person.networks:
            counts = self.placed_by_network.get(network)
            if counts is not None:
                same_network &= counts < policy.max_same_network_per_area
        services = np.ones(n_areas, dtype=np.bool_)
        for need in person.needs:
            services &= self.service_masks[need]
        avoid = np.ones(n_areas, dtype=np.bool_)
        avoid[list(person.avoid)] = False
        masks: dict[RuleName, BoolArray] = {
            "threats": threat_distance >= person.threat_buffer_km,
            "origin": distance[:, person.origin] >= policy.origin_buffer_km,
            "keep_apart": partner_distance >= policy.keep_apart_km,
            "same_network": same_network,
            "capacity": self.free_housing >= person.household,
            "services": services,
            "avoid": avoid,
        }
        return PersonCandidates(
            defector=person,
            index=index,
            masks=masks,
            threat_distance_km=threat_distance,
            threat_nearest=threat_nearest,
            threat_networks=tuple(sorted({n for nets in territory.values() for n in nets})),
            placed_partner_distance_km=partner_distance,
        )
