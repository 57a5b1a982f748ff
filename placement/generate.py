"""Seeded synthetic scenarios that look like the Swedish reality, for demos, tests and benchmarks.

Real cases are secret, so every example, property-based test and benchmark in this project runs
on synthetic data. To make the planner's behaviour on that data say something about real use,
the generator follows the public figures in ``data/reference.json`` (see the domain primer):

- network territories (1-4 areas) cluster in municipalities with police-listed vulnerable areas
  and their neighbours; networks of one county split into rival factions, with some alliances,
  a few feuds across counties, and 0-4 rivals each;
- defectors come mostly from the networks of the three exit-program cities, are 16-44 years old
  (mostly 18-30), with threat levels skewed to 2-4 (some 5), households of 1-4 (mostly 1-2),
  needs drawn from the five standard services (minors need ``youth_services`` through their
  age), and a few keep-apart links, avoid lists and preferences;
- free housing is 0-10 units per municipality and none in about 4 of 10 (scaled up when a large
  intake would otherwise be hopeless); services are offered more often in larger municipalities.

Already placed people are placed by a greedy pass that obeys all seven hard rules among
themselves under the scenario's policy, so a generated scenario never starts with pre-existing
problems. Pending people are left for the planner; most, but not always all, can be placed.

Over a custom areas file (``areas=``, e.g. a grid over Sweden for benchmarks), each area takes
the attributes of the municipality that holds its representative point (county, size tier,
vulnerable areas: the area holding a listed municipality's own representative point), and the
free housing is scaled by 290 / number of areas, so the same national total is spread over the
finer areas.

The result is a scenario *document* (a plain dict in format ``placement-scenario/1`` with areas
as 4-digit code strings, or the custom file's ids): it can be dumped with ``scenario_yaml`` or
``json.dump`` and loaded with ``placement.scenario.scenario_from_document``. The same arguments
always give the same dict.
"""

from __future__ import annotations

import datetime
import importlib.resources
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from placement.geography import (
    METRIC_CRS,
    SWEDEN_MUNICIPALITIES,
    FloatMatrix,
    Geography,
    load_geography,
    sweden_municipalities,
)
from placement.scenario import SCENARIO_FORMAT, STANDARD_SERVICES, YOUTH_SERVICE, Policy

__all__ = [
    "AGE_WEIGHTS",
    "HOUSEHOLD_WEIGHTS",
    "NEED_RATES",
    "THREAT_WEIGHTS",
    "generate_scenario",
    "generate_tiny",
    "scenario_yaml",
    "sweden_grid",
]

#: Relative weights of threat levels 1..5: most cases are 2-4, some are critical.
THREAT_WEIGHTS: tuple[float, ...] = (0.06, 0.22, 0.30, 0.28, 0.14)
#: Relative weights of household sizes 1..4 (housing units): mostly a person alone or a couple.
HOUSEHOLD_WEIGHTS: tuple[float, ...] = (0.55, 0.27, 0.11, 0.07)
#: Age bands (first, last, weight): the typical defector is a man aged 18-30; 16-44 are seen.
AGE_WEIGHTS: tuple[tuple[int, int, float], ...] = ((16, 17, 0.06), (18, 30, 0.76), (31, 44, 0.18))
#: How often a defector needs each stated service (``youth_services`` follows from the age).
NEED_RATES: Mapping[str, float] = {
    "exit_program": 0.80,
    "trauma_care": 0.20,
    "psychiatric_care": 0.15,
    "addiction_treatment": 0.20,
}

# Areas fall in four tiers, largest first: exit-program city, large municipality, town (a code
# ending in 80-99 marks a municipality that holds a former city), other. Per tier: the chance
# that an area offers a service, and its weight as a place to live.
_SERVICE_RATES: Mapping[str, tuple[float, float, float, float]] = {
    "exit_program": (1.0, 0.75, 0.45, 0.18),
    "trauma_care": (1.0, 0.60, 0.30, 0.08),
    "psychiatric_care": (1.0, 0.75, 0.40, 0.12),
    "addiction_treatment": (1.0, 0.70, 0.45, 0.20),
    "youth_services": (1.0, 0.75, 0.45, 0.25),
}
_TIER_WEIGHT = (3.0, 2.0, 1.3, 1.0)
# Relative weight of a network's home among the vulnerable-area municipalities.
_HOME_WEIGHT = {"0180": 8.0, "1480": 6.0, "1280": 5.0}
_OTHER_HOME_WEIGHT = 1.5
_TERRITORY_SIZE_WEIGHTS = (0.30, 0.35, 0.20, 0.15)  # 1..4 areas
_RIVAL_TARGET_WEIGHTS = (0.12, 0.28, 0.30, 0.18, 0.12)  # 0..4 rivals
_SIZE_CHOICES = (0.6, 0.8, 1.0, 1.2, 1.6)  # relative share of defectors, x1.5 in exit cities
_MAX_RIVALS = 4
_MAX_ALLIES = 3
_FREE_UNIT_WEIGHTS = (10, 9, 8, 6, 5, 4, 3, 2, 1.5, 1)  # 1..10 free units, when not 0
_ATTEMPTS = 40  # redraws of a placed person before giving up on the greedy pass

_FlagArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------- reference data


@cache
def _reference() -> dict[str, Any]:
    """The public facts in ``reference.json``: installed as ``placement.data``, else ``data/``.

    A source checkout has no importable ``placement.data`` (pyproject maps it to ``data/`` only
    at install time), so the repository's ``data/`` directory is the fallback.
    """
    try:
        text = (
            importlib.resources.files("placement.data")
            .joinpath("reference.json")
            .read_text(encoding="utf-8")
        )
    except (ModuleNotFoundError, FileNotFoundError):
        path = Path(__file__).resolve().parent.parent / "data" / "reference.json"
        text = path.read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _codes(key: str) -> list[str]:
    return sorted(entry["code"] for entry in _reference()[key])


# --------------------------------------------------------------------------- public API


def generate_scenario(
    *,
    seed: int,
    networks: int,
    placed: int,
    pending: int,
    name: str | None = None,
    policy: Mapping[str, Any] | None = None,
    housing_scale: float = 1.0,
    threat_weights: Sequence[float] | None = None,
    areas: str = SWEDEN_MUNICIPALITIES,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """A realistic synthetic scenario document; the same arguments give the same dict.

    Parameters
    ----------
    seed
        Seeds ``random.Random``; nothing else is random.
    networks, placed, pending
        How many networks, already placed defectors and pending defectors to make.
    name
        The scenario's ``name``; by default one that records the arguments.
    policy
        Policy keys to write into the scenario (the rest keep the contract's defaults). The
        greedy placement of already placed people obeys this policy.
    housing_scale
        Multiplies the free housing units of every area; below 1 makes a housing shortage.
    threat_weights
        Relative weights of threat levels 1..5 (default ``THREAT_WEIGHTS``).
    areas
        The scenario's ``areas``: Sweden's municipalities, or a path to a custom areas file
        (relative to ``base_dir``), written into the document as given.
    base_dir
        Where a relative ``areas`` path is resolved (the directory the scenario will live in).

    Raises
    ------
    ValueError
        For impossible sizes or options, or (very unlikely) when the greedy pass cannot place
        the already placed people under the rules.
    """
    if networks < 1:
        raise ValueError("a scenario needs at least one network")
    if placed < 0 or pending < 0:
        raise ValueError("placed and pending must not be negative")
    if housing_scale < 0:
        raise ValueError("housing_scale must not be negative")
    weights = tuple(THREAT_WEIGHTS if threat_weights is None else threat_weights)
    if len(weights) != 5 or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError("threat_weights needs five non-negative weights, not all zero")
    rules = Policy.model_validate(dict(policy or {}))
    builder = _Builder(
        rng=random.Random(seed),
        geography=load_geography(areas, base_dir=base_dir),
        areas=areas,
        policy=rules,
        housing_scale=housing_scale,
        threat_weights=weights,
    )
    builder.make_networks(networks)
    builder.make_people(placed=placed, pending=pending)
    builder.place_greedily(builder.people[:placed])
    builder.make_capacity(pending_people=builder.people[placed:])
    title = name or (
        f"Synthetic scenario (seed {seed}: {networks} networks, {placed} placed, {pending} pending)"
    )
    return builder.document(title)


def generate_tiny(*, seed: int) -> dict[str, Any]:
    """A small scenario (2-6 networks, 0-8 placed, 1-8 pending) for property-based tests.

    The sizes themselves follow from the seed, so a hypothesis strategy over seeds covers
    small and less small cases alike.
    """
    rng = random.Random(seed)
    networks, placed, pending = rng.randint(2, 6), rng.randint(0, 8), rng.randint(1, 8)
    return generate_scenario(
        seed=seed,
        networks=networks,
        placed=placed,
        pending=pending,
        name=f"Tiny synthetic scenario (seed {seed})",
    )


def sweden_grid(cell_km: float) -> Any:
    """Square cells of ``cell_km`` over Sweden, clipped to its outline: a fine custom geography.

    The grid starts at the south-west corner of Sweden's bounding box. Returns a GeoDataFrame
    in EPSG:3006 with ``id`` (``R012C034``: row from the south, column from the west), ``name``
    and polygon geometry, ready to be written as a custom areas file. Cells that only touch
    Sweden in a line or a point are left out. A 12.5 km grid has 3,125 cells, a 10 km grid 4,794.
    """
    import geopandas as gpd
    import shapely

    if cell_km <= 0:
        raise ValueError("cell_km must be positive")
    sweden = shapely.union_all(sweden_municipalities().geometries)
    xmin, ymin, xmax, ymax = sweden.bounds
    size = cell_km * 1000.0
    column_grid, row_grid = np.meshgrid(
        np.arange(int(np.ceil((xmax - xmin) / size))), np.arange(int(np.ceil((ymax - ymin) / size)))
    )
    columns, rows = column_grid.ravel(), row_grid.ravel()
    x, y = xmin + columns * size, ymin + rows * size
    cells = shapely.box(x, y, x + size, y + size)
    shapely.prepare(sweden)
    inside = shapely.intersects(sweden, cells)
    columns, rows = columns[inside], rows[inside]
    clipped = shapely.intersection(cells[inside], sweden)
    parts, owners = shapely.get_parts(clipped, return_index=True)
    ids, names, shapes = [], [], []
    for number in range(len(clipped)):
        polygons = [g for g in parts[owners == number] if g.geom_type == "Polygon"]
        if not polygons:
            continue
        row, column = int(rows[number]), int(columns[number])
        ids.append(f"R{row:03d}C{column:03d}")
        names.append(f"Grid cell {row}/{column}")
        shapes.append(polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons))
    return gpd.GeoDataFrame({"id": ids, "name": names}, geometry=shapes, crs=METRIC_CRS)


def _municipality_attributes(geography: Geography) -> tuple[tuple[str, ...], list[int]]:
    """For custom areas: each area's municipality code, and the areas standing in for the
    municipalities with vulnerable areas.

    An area belongs to the municipality holding its representative point (else the nearest
    one); a vulnerable-area municipality is stood in for by the area holding its own
    representative point (else the nearest), so network homes cluster where they do in Sweden.
    """
    import shapely

    sweden = sweden_municipalities()
    by_code = {code: i for i, code in enumerate(sweden.ids)}
    points = shapely.point_on_surface(geography.geometries)
    owner = shapely.STRtree(sweden.geometries).query_nearest(points, all_matches=False)[1]
    codes = tuple(sweden.ids[int(i)] for i in owner)
    listed = [by_code[c] for c in _codes("vulnerable_area_municipalities")]
    their_points = shapely.point_on_surface(sweden.geometries[listed])
    stand_ins = shapely.STRtree(geography.geometries).query_nearest(
        their_points, all_matches=False
    )[1]
    return codes, sorted({int(i) for i in stand_ins})


# Without the types-PyYAML stubs, SafeDumper is Any to mypy; with them, the ignore is unused.
class _ScenarioDumper(yaml.SafeDumper):  # type: ignore[misc,unused-ignore]
    """Quotes every all-digit string and keeps small collections on one line.

    Quoting means no YAML reader can take the code ``0180`` for a number; one line per list
    and per area offer keeps a scenario of hundreds of people readable.
    """


def _is_flat(value: Any, *, depth: int = 1) -> bool:
    if isinstance(value, list):
        return depth > 0 and all(_is_flat(v, depth=0) for v in value)
    if isinstance(value, dict):
        return depth > 0 and all(_is_flat(v, depth=0) for v in value.values())
    return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if value.isdigit():
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(_is_flat(v, depth=0) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[Any, Any]) -> yaml.MappingNode:
    flow = len(value) <= 3 and all(_is_flat(v) for v in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=flow)


_ScenarioDumper.add_representer(str, _represent_str)
_ScenarioDumper.add_representer(list, _represent_list)
_ScenarioDumper.add_representer(dict, _represent_dict)


_CODE = re.compile(r'"(\d{4})"')


def scenario_yaml(document: Mapping[str, Any], *, header: str = "", area_names: bool = True) -> str:
    """A scenario document as YAML text, keys in contract order, codes quoted.

    ``header`` is written first as ``#`` comment lines (say how and why the file was made).
    With ``area_names``, a line that refers to municipalities by code ends in a comment naming
    them (``origin: "1480"  # Göteborg``), since few readers know the codes by heart.
    """
    body = yaml.dump(
        dict(document),
        Dumper=_ScenarioDumper,
        sort_keys=False,
        allow_unicode=True,
        width=1000,  # never fold a one-line area offer
    )
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    if lines:
        lines.append("")
    if area_names and document.get("areas", SWEDEN_MUNICIPALITIES) == SWEDEN_MUNICIPALITIES:
        geography = sweden_municipalities()
        names = dict(zip(geography.ids, geography.names, strict=True))
        for line in body.splitlines():
            codes = _CODE.findall(line)
            if codes and "#" not in line and all(code in names for code in codes):
                line += "  # " + ", ".join(names[code] for code in codes)
            lines.append(line)
        return "\n".join(lines) + "\n"
    return "\n".join([*lines, body])


# --------------------------------------------------------------------------- the builder


@dataclass
class _Network:
    id: str
    home: int
    county: str
    faction: int
    territory: list[int]
    size: float
    """Relative number of its members who defect (big-city networks are bigger)."""
    rivals: set[str] = field(default_factory=set)
    allies: set[str] = field(default_factory=set)


@dataclass
class _Person:
    id: str
    networks: list[str]
    origin: int
    household: int
    threat_level: int
    age: int
    needs: list[str]
    avoid: list[int] = field(default_factory=list)
    prefer: list[int] = field(default_factory=list)
    keep_apart_from: list[str] = field(default_factory=list)
    threat_buffer_km: float | None = None
    placed_in: int | None = None


class _Builder:
    """Holds the random state and the growing scenario; each step is one method."""

    def __init__(
        self,
        *,
        rng: random.Random,
        geography: Geography,
        areas: str,
        policy: Policy,
        housing_scale: float,
        threat_weights: tuple[float, ...],
    ) -> None:
        self.rng = rng
        self.geography = geography
        self.areas = areas
        self.policy = policy
        self.housing_scale = housing_scale
        self.threat_weights = threat_weights
        self.distance: FloatMatrix = geography.distances(policy.distance)
        # Realism (territories, neighbours) is measured by boundary, whatever the policy says.
        self.boundary_km: FloatMatrix = geography.distances("boundary")
        self.touching = self.boundary_km <= 0.0
        size = len(geography)
        self.size = size
        if geography.source == SWEDEN_MUNICIPALITIES:
            self.code = geography.ids
            index = {code: i for i, code in enumerate(geography.ids)}
            self.vulnerable = [index[c] for c in _codes("vulnerable_area_municipalities")]
            self.housing_factor = 1.0
        else:
            self.code, self.vulnerable = _municipality_attributes(geography)
            self.housing_factor = len(sweden_municipalities()) / size
        large_codes = set(_codes("large_municipalities"))
        exit_codes = set(_codes("exit_program_cities"))
        self.large = {i for i in range(size) if self.code[i] in large_codes}
        self.exit_cities = {i for i in range(size) if self.code[i] in exit_codes}
        self.tier = np.array(
            [
                0
                if i in self.exit_cities
                else 1
                if i in self.large
                else 2
                if int(self.code[i][2:]) >= 80
                else 3
                for i in range(size)
            ],
            dtype=np.int64,
        )
        self.services: dict[str, _FlagArray] = {}
        self.waits: dict[int, dict[str, int]] = {}
        for service in STANDARD_SERVICES:
            rates = _SERVICE_RATES[service]
            self.services[service] = np.array(
                [rng.random() < rates[int(self.tier[i])] for i in range(size)], dtype=np.bool_
            )
        for i in range(size):
            if self.services["trauma_care"][i] and rng.random() < 0.5:
                self.waits.setdefault(i, {})["trauma_care"] = rng.randint(2, 26)
            if self.services["psychiatric_care"][i] and rng.random() < 0.4:
                self.waits.setdefault(i, {})["psychiatric_care"] = rng.randint(2, 20)
        self.networks: dict[str, _Network] = {}
        self.people: list[_Person] = []
        self.partners: dict[str, set[str]] = {}
        # The state of the greedy pass, filled in as people are placed.
        inf = np.full(size, np.inf)
        self.territory_km: dict[str, FloatMatrix] = {}
        """Network -> distance from each area to its territory."""
        self.nearest_member_km: dict[str, FloatMatrix] = {}
        """Network -> distance from each area to its nearest placed member."""
        self.members: dict[str, npt.NDArray[np.int64]] = {}
        self.load = np.zeros(size, dtype=np.int64)
        """Housing units taken by placed households, per area."""
        self.limit = np.zeros(size, dtype=np.int64)
        self.housing = np.zeros(size, dtype=np.int64)
        self.redraws = 0
        self._inf = inf

    # ---------------------------------------------------------------- networks and feuds

    def make_networks(self, count: int) -> None:
        """Networks with a home among the vulnerable-area municipalities, factions and feuds."""
        rng = self.rng
        width = max(2, len(str(count)))
        homes = [
            rng.choices(self.vulnerable, weights=[self._home_weight(i) for i in self.vulnerable])[0]
            for _ in range(count)
        ]
        by_county: dict[str, list[str]] = {}
        for number, home in enumerate(homes, start=1):
            network_id = f"N{number:0{width}d}"
            county = self.code[home][:2]
            members = by_county.setdefault(county, [])
            parent = self.networks[members[-1]] if members and rng.random() < 0.15 else None
            if parent is not None:
                # A splinter: a faction breaks away after its leader is killed or jailed, and
                # keeps part of the old territory.
                home = parent.home
                faction = 1 - parent.faction if parent.faction < 2 else 0
            else:
                faction = rng.randrange(3 if len(members) >= 4 else 2)
            network = _Network(
                id=network_id,
                home=home,
                county=county,
                faction=faction,
                territory=self._territory(home),
                size=rng.choice(_SIZE_CHOICES) * (1.5 if home in self.exit_cities else 1.0),
            )
            if parent is not None:
                network.rivals.add(parent.id)
                parent.rivals.add(network_id)
            self.networks[network_id] = network
            members.append(network_id)
        self._feuds(by_county)
        for network_id, network in self.networks.items():
            self.territory_km[network_id] = (
                self.distance[:, network.territory].min(axis=1) if network.territory else self._inf
            )
            self.nearest_member_km[network_id] = self._inf
            self.members[network_id] = np.zeros(self.size, dtype=np.int64)

    def _home_weight(self, area: int) -> float:
        return _HOME_WEIGHT.get(self.code[area], _OTHER_HOME_WEIGHT)

    def _territory(self, home: int) -> list[int]:
        """The home and up to 3 areas within 30 km of its border (neighbours are at 0 km)."""
        rng = self.rng
        size = rng.choices(range(1, 5), weights=_TERRITORY_SIZE_WEIGHTS)[0]
        candidates = [int(i) for i in np.flatnonzero(self.boundary_km[home] <= 30.0) if i != home]
        vulnerable = set(self.vulnerable)
        territory = [home]
        while len(territory) < size and candidates:
            # Other municipalities with vulnerable areas are three times as likely.
            weights = [3.0 if c in vulnerable else 1.0 for c in candidates]
            pick = rng.choices(candidates, weights=weights)[0]
            candidates.remove(pick)
            territory.append(pick)
        return sorted(territory)

    def _feuds(self, by_county: Mapping[str, list[str]]) -> None:
        """Rivals across factions of a county (a few across counties) and allies within one."""
        rng = self.rng
        ids = sorted(self.networks)
        target = {
            n: max(len(self.networks[n].rivals), rng.choices(range(5), _RIVAL_TARGET_WEIGHTS)[0])
            for n in ids
        }
        for network_id in ids:
            network = self.networks[network_id]
            local = [
                other
                for other in by_county[network.county]
                if other != network_id and self.networks[other].faction != network.faction
            ]
            distant = [other for other in ids if self.networks[other].county != network.county]
            rng.shuffle(local)
            rng.shuffle(distant)
            for other in [*local, *distant[:2]]:
                if len(network.rivals) >= target[network_id]:
                    break
                peer = self.networks[other]
                if other in network.rivals or other in network.allies:
                    continue
                if peer.county != network.county and rng.random() > 0.25:
                    continue
                if len(peer.rivals) >= min(_MAX_RIVALS, target[other] + 1):
                    continue
                network.rivals.add(other)
                peer.rivals.add(network_id)
        for network_id in ids:
            network = self.networks[network_id]
            for other in by_county[network.county]:
                peer = self.networks[other]
                if (
                    other <= network_id
                    or peer.faction != network.faction
                    or other in network.rivals
                    or len(network.allies) >= _MAX_ALLIES
                    or len(peer.allies) >= _MAX_ALLIES
                    or rng.random() > 0.25
                ):
                    continue
                network.allies.add(other)
                peer.allies.add(network_id)

    # ---------------------------------------------------------------- people

    def make_people(self, *, placed: int, pending: int) -> None:
        """Defectors with their attributes, then a few keep-apart links, avoid and prefer lists."""
        rng = self.rng
        total = placed + pending
        width = max(3, len(str(total)))
        for number in range(1, total + 1):
            self.people.append(self._person(f"D{number:0{width}d}"))
        candidates = sorted(self.large | {int(i) for i in np.flatnonzero(self.tier == 2)})
        for person in self.people:
            if rng.random() < 0.08:
                person.avoid = sorted(
                    set(rng.sample(candidates, rng.randint(1, 2))) - {person.origin}
                )
            if rng.random() < 0.15:
                wishes = set(rng.sample(candidates, rng.randint(1, 3)))
                person.prefer = sorted(wishes - set(person.avoid) - {person.origin})
        links = round(total * 0.03) if total >= 10 else int(total >= 4 and rng.random() < 0.5)
        for _ in range(links):
            first, second = rng.sample(self.people, 2)
            if second.id not in self.partners.get(first.id, ()):
                first.keep_apart_from = sorted([*first.keep_apart_from, second.id])
                self.partners.setdefault(first.id, set()).add(second.id)
                self.partners.setdefault(second.id, set()).add(first.id)

    def _person(self, person_id: str) -> _Person:
        """One defector: mostly from the big cities' networks, aged mostly 18-30."""
        rng = self.rng
        ids = sorted(self.networks)
        weights = [self.networks[n].size for n in ids]
        first = self.networks[rng.choices(ids, weights=weights)[0]]
        networks = [first.id]
        if rng.random() < 0.04:
            # Some people moved between groups; never between rivals.
            others = [
                n
                for n in ids
                if n != first.id
                and n not in first.rivals
                and self.networks[n].county == first.county
            ]
            if others:
                networks = sorted([first.id, rng.choice(others)])
        roll = rng.random()
        if roll < 0.75:
            origin = first.home
        elif roll < 0.95:
            origin = rng.choice(first.territory)
        else:
            neighbours = [int(i) for i in np.flatnonzero(self.touching[first.home])]
            origin = rng.choice(neighbours) if neighbours else first.home
        band = rng.choices(AGE_WEIGHTS, weights=[w for _, _, w in AGE_WEIGHTS])[0]
        age = rng.randint(band[0], band[1])
        threat = rng.choices(range(1, 6), weights=self.threat_weights)[0]
        household = rng.choices(range(1, 5), weights=HOUSEHOLD_WEIGHTS)[0]
        if age < 18:
            household = 1  # a minor moves alone (to a family home or supported housing)
        needs = []
        for service, rate in NEED_RATES.items():
            boost = 1.5 if service == "trauma_care" and threat >= 4 else 1.0
            if rng.random() < rate * boost:
                needs.append(service)
        # Some critical cases get a wider buffer, some low-threat ones a narrower one.
        buffer: float | None = None
        if threat == 5 and rng.random() < 0.25:
            buffer = 150
        elif threat == 1 and rng.random() < 0.30:
            buffer = 60
        return _Person(
            id=person_id,
            networks=networks,
            origin=origin,
            household=household,
            threat_level=threat,
            age=age,
            needs=needs,
            threat_buffer_km=buffer,
        )

    # ---------------------------------------------------------------- greedy placement

    def place_greedily(self, people: Sequence[_Person]) -> None:
        """Place already placed people one by one so that all seven rules hold among them.

        A person for whom no area is left is redrawn (new network, origin, needs, household),
        as if a different case had come in; their id, lists and links stay.
        """
        policy = self.policy
        # A soft limit per area spreads the load: larger places take more, and an area goes
        # over its limit only when no other area is allowed.
        mean = sum(p.household for p in people) / self.size
        factor = np.array([3.0, 2.0, 1.5, 1.0])[self.tier]
        self.limit = np.ceil(mean * factor).astype(np.int64) + 2
        where: dict[str, int] = {}
        for person in people:
            for _ in range(_ATTEMPTS):
                mask = self._allowed(person, where, policy)
                if mask.any():
                    roomy = mask & (self.load + person.household <= self.limit)
                    mask = roomy if roomy.any() else mask
                    break
                self.redraws += 1
                fresh = self._person(person.id)
                person.networks, person.origin = fresh.networks, fresh.origin
                person.household, person.threat_level = fresh.household, fresh.threat_level
                person.age, person.needs = fresh.age, fresh.needs
                person.threat_buffer_km = fresh.threat_buffer_km
                person.avoid = [a for a in person.avoid if a != person.origin]
            else:
                raise ValueError(
                    f"could not place {person.id} and the people before them under the rules; "
                    "try another seed or fewer placed people"
                )
            area = self._choose(person, mask)
            person.placed_in = area
            where[person.id] = area
            self.load[area] += person.household
            for network in person.networks:
                self.members[network][area] += 1
                self.nearest_member_km[network] = np.minimum(
                    self.nearest_member_km[network], self.distance[:, area]
                )

    def _needs(self, person: _Person) -> list[str]:
        needs = list(person.needs)
        if person.age < self.policy.youth_age:
            needs.append(YOUTH_SERVICE)
        return needs

    def _threatening(self, person: _Person) -> set[str]:
        threats = set(person.networks)
        for network in person.networks:
            rivals = self.networks[network].rivals
            threats |= rivals
            if self.policy.allies_of_rivals_threaten:
                for rival in rivals:
                    threats |= self.networks[rival].allies
        return threats

    def _allowed(self, person: _Person, where: Mapping[str, int], policy: Policy) -> _FlagArray:
        """The areas where ``person`` may live given everyone placed so far (all seven rules)."""
        buffer = (
            person.threat_buffer_km
            if person.threat_buffer_km is not None
            else policy.threat_buffer_km
        )
        mask: _FlagArray = self.distance[:, person.origin] >= policy.origin_buffer_km  # origin
        for network in sorted(self._threatening(person)):  # threats
            mask &= self.territory_km[network] >= buffer
        for service in self._needs(person):  # services
            mask &= self.services[service]
        mask[person.avoid] = False  # avoid
        rivals = set().union(*(self.networks[n].rivals for n in person.networks))
        for rival in sorted(rivals):  # keep apart: rival networks
            mask &= self.nearest_member_km[rival] >= policy.keep_apart_km
        for other in sorted(self.partners.get(person.id, ())):  # keep apart: listed people
            if other in where:
                mask &= self.distance[:, where[other]] >= policy.keep_apart_km
        for network in person.networks:  # same network
            mask &= self.members[network] < policy.max_same_network_per_area
        # Capacity holds by construction: an area's housing is set later to the units its
        # placed households take plus its free units.
        return mask

    def _choose(self, person: _Person, mask: _FlagArray) -> int:
        """A random allowed area: larger places, wider margins to rivals and lighter load first."""
        areas = np.flatnonzero(mask)
        rivals = set().union(*(self.networks[n].rivals for n in person.networks))
        margin = np.full(len(areas), 300.0)
        for rival in sorted(rivals):
            margin = np.minimum(margin, self.nearest_member_km[rival][areas])
        weights = (
            np.array(_TIER_WEIGHT)[self.tier[areas]]
            * (1.0 + margin / 100.0)
            / (1.0 + self.load[areas] / self.limit[areas])
        )
        return int(self.rng.choices(areas.tolist(), weights=weights.tolist())[0])

    # ---------------------------------------------------------------- capacity

    def make_capacity(self, *, pending_people: Sequence[_Person]) -> None:
        """Housing = units taken by placed households + free units (0-10, often none).

        A large intake is hopeless on the realistic range alone, so the free units are scaled
        up until they could hold the pending households about 1.3 times over (before
        ``housing_scale``, which can then make a shortage on purpose).
        """
        rng = self.rng
        facts = _reference()["housing"]
        deficit = facts["with_deficit"] / facts["municipalities"]
        free = np.array(
            [
                0 if rng.random() < deficit else rng.choices(range(1, 11), _FREE_UNIT_WEIGHTS)[0]
                for _ in range(self.size)
            ],
            dtype=np.float64,
        )
        wanted = 1.3 * sum(p.household for p in pending_people)
        free *= self.housing_factor  # the national total, spread over finer areas
        scale = max(1.0, wanted / max(free.sum(), 1.0)) * self.housing_scale
        # Round at random (up with the fractional part's chance), so that a small scale still
        # leaves its expected number of units rather than rounding every area down to none.
        units = [int(x) + (rng.random() < x - int(x)) for x in (free * scale).tolist()]
        self.housing = self.load + np.array(units, dtype=np.int64)

    # ---------------------------------------------------------------- the document

    def document(self, title: str) -> dict[str, Any]:
        """The scenario as a contract document, everything sorted, areas as code strings."""
        code = self.geography.ids
        areas: dict[str, Any] = {}
        for i in range(self.size):
            services = [s for s in STANDARD_SERVICES if self.services[s][i]]
            if not services and self.housing[i] == 0:
                continue
            entry: dict[str, Any] = {"housing_units": int(self.housing[i]), "services": services}
            if i in self.waits:
                entry["wait_weeks"] = dict(sorted(self.waits[i].items()))
            areas[code[i]] = entry
        policy = {key: _plain(value) for key, value in self.policy.model_dump().items()}
        networks = []
        for network_id in sorted(self.networks):
            network = self.networks[network_id]
            item: dict[str, Any] = {
                "id": network_id,
                "name": _codename(int(network_id[1:])),
                "territory": [code[i] for i in network.territory],
                "rivals": sorted(network.rivals),
                "allies": sorted(network.allies),
            }
            networks.append(item)
        defectors = []
        for person in self.people:
            entry = {
                "id": person.id,
                "networks": list(person.networks),
                "origin": code[person.origin],
                "household": person.household,
                "threat_level": person.threat_level,
                "age": person.age,
                "needs": list(person.needs),
            }
            if person.avoid:
                entry["avoid"] = [code[i] for i in person.avoid]
            if person.prefer:
                entry["prefer"] = [code[i] for i in person.prefer]
            if person.keep_apart_from:
                entry["keep_apart_from"] = list(person.keep_apart_from)
            if person.threat_buffer_km is not None:
                entry["threat_buffer_km"] = _plain(person.threat_buffer_km)
            if person.placed_in is not None:
                entry["placed_in"] = code[person.placed_in]
            defectors.append(entry)
        return {
            "format": SCENARIO_FORMAT,
            "name": title,
            "areas": self.areas,
            "policy": policy,
            "capacity": {"default": {"housing_units": 0, "services": []}, "areas": areas},
            "networks": networks,
            "defectors": defectors,
        }


def _plain(value: Any) -> Any:
    """``100.0`` -> ``100``: whole kilometres read better in a scenario file."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _codename(number: int) -> str:
    """``Group A`` .. ``Group Z``, ``Group AA`` ..: neutral names that match no real network."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"Group {letters}"


# --------------------------------------------------------------------------- histories

HISTORY_FORMAT = "placement-history/1"
_EVENT_WEIGHTS = {  # relative frequency of each kind of event besides arrivals
    "rivalry": 3.0,
    "truce": 1.5,
    "territory": 3.0,
    "capacity": 4.0,
    "leave": 3.0,
    "threat": 2.0,
}


def generate_history(
    *,
    seed: int,
    networks: int,
    placed: int,
    arrivals: int,
    months: int = 12,
    events: int | None = None,
    actual_share: float = 0.3,
    name: str | None = None,
    housing_scale: float = 1.0,
) -> dict[str, Any]:
    """A realistic synthetic history document; the same arguments give the same dict.

    The starting scenario is ``generate_scenario`` with ``placed`` people and no one pending;
    the ``arrivals`` people it would have had pending arrive one by one over ``months`` months
    (the housing made for them is there from the start, as an intake plan would provide).
    Between arrivals the world changes the way it does in the domain primer: new feuds between
    networks (often inside a county, as factions split), truces, a network taking a vulnerable-
    area municipality next to its territory or losing one, housing freed or taken, people
    leaving the program, threat levels re-assessed. About ``actual_share`` of the arrivals
    carry an ``actual`` placement: a municipality with housing, the closer to where they came
    from the likelier (the mistake the planner exists to prevent), so the comparison with what
    was done has something to find.

    Parameters
    ----------
    events
        How many events besides arrivals (default: one for every two arrivals). An event drawn
        for a date on which its kind cannot happen is replaced by another kind; only a date on
        which no kind can happen (no network to change, no housing, nobody present) drops it.
    """
    if arrivals < 0 or months < 1:
        raise ValueError("arrivals must not be negative and months must be at least 1")
    if not 0 <= actual_share <= 1:
        raise ValueError("actual_share must be between 0 and 1")
    full = generate_scenario(
        seed=seed,
        networks=networks,
        placed=placed,
        pending=arrivals,
        housing_scale=housing_scale,
        name=name,
    )
    rng = random.Random(f"history-{seed}")
    geography = load_geography(SWEDEN_MUNICIPALITIES)
    distance = geography.distances("centroid")
    code_index = {code: i for i, code in enumerate(geography.ids)}
    # keep-apart links are symmetric: each is written by whoever of the two comes last, and
    # only while the other is still in the program (history files name only present people).
    linked: dict[str, set[str]] = {d["id"]: set() for d in full["defectors"]}
    for d in full["defectors"]:
        for other in d.get("keep_apart_from", []):
            linked[d["id"]].add(other)
            linked[other].add(d["id"])
    newcomers = [
        {k: v for k, v in d.items() if k != "keep_apart_from"}
        for d in full["defectors"]
        if "placed_in" not in d
    ]
    starting = [d for d in full["defectors"] if "placed_in" in d]
    starting_ids = {d["id"] for d in starting}
    start = {**full, "defectors": []}
    for d in starting:
        person = {k: v for k, v in d.items() if k != "keep_apart_from"}
        links = sorted(o for o in linked[d["id"]] if o in starting_ids and o < d["id"])
        if links:
            person["keep_apart_from"] = links
        start["defectors"].append(person)
    start["name"] = (full.get("name") or "").replace("Synthetic scenario", "Starting state")
    housed = sorted(
        code for code, offer in full["capacity"]["areas"].items() if offer["housing_units"]
    )
    vulnerable = _codes("vulnerable_area_municipalities")
    ids = [n["id"] for n in full["networks"]]
    feuds = {frozenset((n["id"], r)) for n in full["networks"] for r in n.get("rivals", [])}
    territory = {n["id"]: list(n.get("territory", [])) for n in full["networks"]}
    present = [d["id"] for d in start["defectors"]]
    level = {d["id"]: int(d.get("threat_level", 3)) for d in full["defectors"]}
    days = months * 30
    timed: list[tuple[int, int, dict[str, Any]]] = []
    for number, person in enumerate(newcomers):
        day = rng.randrange(days)
        event: dict[str, Any] = {"arrive": dict(person)}
        if housed and rng.random() < actual_share:
            origin = code_index[person["origin"]]
            weights = [1.0 / (1.0 + float(distance[origin, code_index[c]]) / 50) for c in housed]
            event["actual"] = rng.choices(housed, weights=weights)[0]
        timed.append((day, number, event))
    extra = arrivals // 2 if events is None else events
    kinds = list(_EVENT_WEIGHTS)
    for number in range(extra):
        day = rng.randrange(days)
        timed.append(
            (
                day,
                arrivals + number,
                {"_kind": rng.choices(kinds, weights=[_EVENT_WEIGHTS[k] for k in kinds])[0]},
            )
        )
    timed.sort(key=lambda item: (item[0], item[1]))
    history_events: list[dict[str, Any]] = []
    first = datetime.date(2025, 1, 1)
    for day, _, event in timed:
        date = (first + datetime.timedelta(days=day)).isoformat()
        kind = event.pop("_kind", None)
        if kind is None:
            person_id = event["arrive"]["id"]
            links = sorted(o for o in linked[person_id] if o in present)
            if links:
                event["arrive"]["keep_apart_from"] = links
            present.append(person_id)
            history_events.append({"date": date, **event})
            continue
        # A kind that cannot happen now (a truce with no feud, a departure before anyone is
        # in the program) gives way to another, so that ``events`` is honoured wherever the
        # world allows any event at all on that date.
        others = [k for k in kinds if k != kind]
        rng.shuffle(others)
        for tried in (kind, *others):
            made = _world_event(
                tried, rng, ids, feuds, territory, vulnerable, housed, present, level, geography
            )
            if made is not None:
                history_events.append({"date": date, **made})
                break
    return {
        "format": HISTORY_FORMAT,
        "name": name
        or (
            f"Synthetic history (seed {seed}: {networks} networks, {placed} placed, "
            f"{arrivals} arrivals over {months} months)"
        ),
        "scenario": start,
        "events": history_events,
    }


def _world_event(
    kind: str,
    rng: random.Random,
    networks: Sequence[str],
    feuds: set[frozenset[str]],
    territory: dict[str, list[str]],
    vulnerable: Sequence[str],
    housed: Sequence[str],
    present: list[str],
    level: dict[str, int],
    geography: Any,
) -> dict[str, Any] | None:
    """One event that is valid in the world as the earlier events left it (or None)."""
    if kind == "rivalry":
        calm = [
            (a, b)
            for i, a in enumerate(networks)
            for b in networks[i + 1 :]
            if frozenset((a, b)) not in feuds
        ]
        if not calm:
            return None
        pair = rng.choice(calm)
        feuds.add(frozenset(pair))
        return {"rivalry": list(pair)}
    if kind == "truce":
        if not feuds:
            return None
        ended = rng.choice(sorted(sorted(f) for f in feuds))
        feuds.discard(frozenset(ended))
        return {"truce": ended}
    if kind == "territory":
        network = rng.choice(list(networks))
        held = territory[network]
        if held and len(held) > 1 and rng.random() < 0.3:
            gone = rng.choice(held)
            held.remove(gone)
            return {"territory": {"network": network, "remove": [gone]}}
        distance = geography.distances("centroid")
        index = {code: i for i, code in enumerate(geography.ids)}
        options = [c for c in vulnerable if c not in held]
        if not options:
            return None
        if held:  # expand next door: the nearest vulnerable-area municipalities first
            options.sort(key=lambda c: min(float(distance[index[c], index[h]]) for h in held))
            options = options[:3]
        taken = rng.choice(options)
        held.append(taken)
        return {"territory": {"network": network, "add": [taken]}}
    if kind == "capacity":
        if not housed:
            return None
        area = rng.choice(list(housed))
        return {"capacity": {"area": area, "housing_units": rng.choice([0, 1, 1, 2, 3, 4])}}
    if kind == "leave":
        if not present:
            return None
        person = rng.choice(present)
        present.remove(person)
        return {"leave": person}
    if not present:
        return None
    person = rng.choice(present)
    level[person] = min(5, max(1, level[person] + rng.choice([-1, 1, 1])))
    return {"threat": {"defector": person, "threat_level": level[person]}}
