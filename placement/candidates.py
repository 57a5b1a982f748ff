"""Domain filtering: which areas a defector could use, rule by rule, given where others live.

Every rule is evaluated for one person and every area at once, vectorised over areas with
numpy, against an ``Occupancy``: who lives where. Two uses share this one code path:

- the solver evaluates each pending person against the people already placed (who do not
  move); what survives is the person's candidate set, and the model only creates variables
  for it, which keeps the model small (at national size about 15-25 candidates of 290 areas
  per person). Rules that couple pending people with each other (keep-apart between two
  pending people, capacity and same-network shared by newcomers) are left to the model;
- explanations and recommendations evaluate one person against everyone else in a plan, to
  say which rule rules an area out ("why not there") and with what margin an area is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
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
class Occupancy:
    """Who lives where, and what that uses: housing per area and people per network and area."""

    areas_of: Mapping[int, int]
    """Defector index -> area index."""
    load: IntArray
    """Housing units used per area by the households living there."""
    by_network: Mapping[str, IntArray]
    """Network -> number of its defectors living in each area."""

    @classmethod
    def of(cls, scenario: Scenario, areas_of: Mapping[int, int]) -> Occupancy:
        n_areas = len(scenario.geography)
        load = np.zeros(n_areas, dtype=np.int64)
        by_network: dict[str, IntArray] = {}
        for index, area in areas_of.items():
            person = scenario.defectors[index]
            load[area] += person.household
            for network in person.networks:
                by_network.setdefault(network, np.zeros(n_areas, dtype=np.int64))[area] += 1
        return cls(areas_of=dict(areas_of), load=load, by_network=by_network)

    @classmethod
    def already_placed(cls, scenario: Scenario) -> Occupancy:
        """The occupancy of the scenario as given: only the people with ``placed_in``."""
        return cls.of(
            scenario,
            {i: d.placed_in for i, d in enumerate(scenario.defectors) if d.placed_in is not None},
        )


@dataclass(frozen=True, eq=False)
class PersonCandidates:
    """One defector's per-rule area masks, and the facts behind them, given an occupancy.

    The person's own place (if the occupancy holds one) does not count against them.
    """

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
    """The networks with territory that threaten the person (sorted)."""
    territory_networks: Mapping[int, tuple[str, ...]]
    """Threatening territory area -> the threatening networks operating there."""
    origin_distance_km: FloatArray
    partner_distance_km: FloatArray
    """Distance from each area to the nearest person to keep apart from (inf when none)."""
    partner_nearest: IntArray
    """Defector index of that nearest person (-1 when none)."""
    same_network_count: IntArray
    """Most people of any one of the person's networks already living in each area."""
    free_housing: IntArray
    """Housing units left in each area by the other households."""

    @cached_property
    def allowed(self) -> BoolArray:
        mask = np.ones_like(next(iter(self.masks.values())))
        for rule_mask in self.masks.values():
            mask &= rule_mask
        return mask

    @cached_property
    def areas(self) -> tuple[int, ...]:
        """Candidate areas (allowed by every rule), in area order."""
        return tuple(int(a) for a in np.flatnonzero(self.allowed))

    def threat_margin_km(self, area: int) -> float:
        """How much further than required the area is from the nearest threatening territory."""
        return float(self.threat_distance_km[area] - self.defector.threat_buffer_km)


class Candidates:
    """Per-rule masks of every pending defector, against the people already placed.

    ``evaluate`` answers the same question for any person against any occupancy.
    """

    def __init__(self, scenario: Scenario, threats: Threats | None = None) -> None:
        self.scenario = scenario
        self.threats = threats or Threats(scenario)
        self.distance_km = scenario.distance_km
        offers = scenario.offers
        self.housing = np.array([o.housing_units for o in offers], dtype=np.int64)
        self.service_masks = {
            service: np.array([service in o.services for o in offers], dtype=np.bool_)
            for service in scenario.services
        }
        self.occupancy = Occupancy.already_placed(scenario)
        self.placed_load = self.occupancy.load
        self.placed_by_network = self.occupancy.by_network
        self.free_housing = np.maximum(self.housing - self.placed_load, 0)
        self.people: dict[int, PersonCandidates] = {
            index: self.evaluate(index, self.occupancy)
            for index, person in enumerate(scenario.defectors)
            if person.placed_in is None
        }

    def evaluate(
        self, index: int, occupancy: Occupancy, *, person: Defector | None = None
    ) -> PersonCandidates:
        """Every rule for one person in every area, given where everyone else lives.

        ``person`` overrides the scenario's entry (a case being considered); by default it is
        ``scenario.defectors[index]``.
        """
        scenario = self.scenario
        person = person or scenario.defectors[index]
        policy = scenario.policy
        distance = self.distance_km
        n_areas = len(scenario.geography)
        own_area = occupancy.areas_of.get(index)

        territory = self.threats.threat_territory(person)
        areas = sorted(territory)
        threat_distance, threat_nearest = _nearest(distance, areas, areas)

        partners = [
            (other, occupancy.areas_of[other])
            for other in self.threats.keep_apart_partners.get(index, ())
            if other in occupancy.areas_of and other != index
        ]
        partner_distance, partner_nearest = _nearest(
            distance, [a for _, a in partners], [p for p, _ in partners]
        )

        same_network_count = np.zeros(n_areas, dtype=np.int64)
        for network in person.networks:
            counts = occupancy.by_network.get(network)
            if counts is None:
                continue
            counts = counts.copy()
            if own_area is not None:
                counts[own_area] -= 1  # the person does not count against themself
            same_network_count = np.maximum(same_network_count, counts)

        load = occupancy.load
        if own_area is not None:
            load = load.copy()
            load[own_area] -= person.household
        free_housing = self.housing - load

        services = np.ones(n_areas, dtype=np.bool_)
        for need in person.needs:
            services &= self.service_masks[need]
        avoid = np.ones(n_areas, dtype=np.bool_)
        avoid[list(person.avoid)] = False
        origin_distance = distance[:, person.origin]
        masks: dict[RuleName, BoolArray] = {
            "threats": threat_distance >= person.threat_buffer_km,
            "origin": origin_distance >= policy.origin_buffer_km,
            "keep_apart": partner_distance >= policy.keep_apart_km,
            "same_network": same_network_count < policy.max_same_network_per_area,
            "capacity": free_housing >= person.household,
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
            territory_networks=territory,
            origin_distance_km=origin_distance,
            partner_distance_km=partner_distance,
            partner_nearest=partner_nearest,
            same_network_count=same_network_count,
            free_housing=free_housing,
        )


def _nearest(
    distance: FloatArray, columns: list[int], labels: list[int]
) -> tuple[FloatArray, IntArray]:
    """For every area: the distance to the closest of ``columns``, and that column's label.

    With no columns, every area is infinitely far and the label is -1.
    """
    n_areas = distance.shape[0]
    if not columns:
        return np.full(n_areas, np.inf), np.full(n_areas, -1, dtype=np.int64)
    block = distance[:, np.array(columns, dtype=np.int64)]
    nearest_column = block.argmin(axis=1)
    return (
        block[np.arange(n_areas), nearest_column],
        np.array(labels, dtype=np.int64)[nearest_column],
    )
