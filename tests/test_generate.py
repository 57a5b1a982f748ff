"""The synthetic scenario generator and the bundled scenarios.

The rule checks here are written from the contract (SCENARIO-FORMAT.md), not from the
generator's code, so a bug in the generator's greedy pass cannot hide behind the same bug in
its test.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from placement import _yamlio
from placement.generate import _reference, generate_scenario, generate_tiny, scenario_yaml
from placement.geography import sweden_municipalities
from placement.scenario import Defector, Scenario, load_scenario, scenario_from_document

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

# How the generated bundled scenarios were made; their headers show the same calls.
RECIPES: dict[str, dict[str, Any]] = {
    "national.yaml": {
        "seed": 2025,
        "networks": 40,
        "placed": 300,
        "pending": 60,
        "name": "National synthetic scenario (40 networks, 300 placed, 60 pending)",
    },
    "housing-shortage.yaml": {
        "seed": 2,
        "networks": 12,
        "placed": 60,
        "pending": 25,
        "housing_scale": 0.04,
        "threat_weights": (0.02, 0.08, 0.25, 0.35, 0.30),
        "name": "Housing shortage (synthetic): 25 pending, too few free units",
    },
}


# --------------------------------------------------------------------------- an independent oracle


def threatening(scenario: Scenario, person: Defector) -> set[str]:
    """Rule 1: own networks, their rivals and (by policy) the rivals' allies."""
    networks = set(person.networks)
    for network in person.networks:
        rivals = scenario.networks[network].rivals
        networks |= rivals
        if scenario.policy.allies_of_rivals_threaten:
            for rival in rivals:
                networks |= scenario.networks[rival].allies
    return networks


def must_keep_apart(scenario: Scenario, first: Defector, second: Defector) -> bool:
    """Rule 3: some network of one is a rival of some network of the other, or they are listed."""
    rivals = any(
        other in scenario.networks[network].rivals
        for network in first.networks
        for other in second.networks
    )
    return rivals or second.id in first.keep_apart_from


def violations(scenario: Scenario, where: Mapping[str, int]) -> list[str]:
    """Every broken rule among the people in ``where`` (defector id -> area index)."""
    km = scenario.distance_km
    policy = scenario.policy
    people = [scenario.defector(person_id) for person_id in sorted(where)]
    found = []
    for person in people:
        area = where[person.id]
        for network in sorted(threatening(scenario, person)):
            for place in scenario.networks[network].territory:
                if km[area, place] < person.threat_buffer_km:
                    found.append(f"threats: {person.id} {km[area, place]:.0f} km from {network}")
        if km[area, person.origin] < policy.origin_buffer_km:
            found.append(f"origin: {person.id}")
        missing = person.needs - scenario.offers[area].services
        if missing:
            found.append(f"services: {person.id} lacks {sorted(missing)}")
        if area in person.avoid:
            found.append(f"avoid: {person.id}")
    for i, first in enumerate(people):
        for second in people[i + 1 :]:
            distance = km[where[first.id], where[second.id]]
            if distance < policy.keep_apart_km and must_keep_apart(scenario, first, second):
                found.append(f"keep_apart: {first.id} and {second.id} {distance:.0f} km")
    members = Counter((network, where[p.id]) for p in people for network in p.networks)
    for (network, area), count in sorted(members.items()):
        if count > policy.max_same_network_per_area:
            found.append(f"same_network: {count} of {network} in area {area}")
    load = Counter({where[p.id]: 0 for p in people})
    for person in people:
        load[where[person.id]] += person.household
    for area, units in sorted(load.items()):
        if units > scenario.offers[area].housing_units:
            found.append(f"capacity: area {area} needs {units} units")
    return found


def placed_where(scenario: Scenario) -> dict[str, int]:
    return {p.id: p.placed_in for p in scenario.placed if p.placed_in is not None}


def allowed_areas(scenario: Scenario, person: Defector, where: Mapping[str, int]) -> list[int]:
    """Areas where ``person`` could go next to the people in ``where`` (all seven rules)."""
    others = {scenario.defector(other): area for other, area in where.items() if other != person.id}
    load = Counter[int]()
    members = Counter[tuple[str, int]]()
    for other, area in others.items():
        load[area] += other.household
        members.update((network, area) for network in other.networks)
    alone = {person.id: 0}
    found = []
    for area in range(len(scenario.geography)):
        alone[person.id] = area
        if violations(scenario, alone):  # threats, origin, services, avoid (and capacity alone)
            continue
        if load[area] + person.household > scenario.offers[area].housing_units:
            continue
        limit = scenario.policy.max_same_network_per_area
        if any(members[(network, area)] + 1 > limit for network in person.networks):
            continue
        if any(
            scenario.distance_km[area, there] < scenario.policy.keep_apart_km
            and must_keep_apart(scenario, person, other)
            for other, there in others.items()
        ):
            continue
        found.append(area)
    return found


@cache
def scenario_of(**arguments: Any) -> Scenario:
    return scenario_from_document(generate_scenario(**arguments))


MEDIUM = {"seed": 11, "networks": 25, "placed": 200, "pending": 40}


@pytest.fixture(scope="module")
def medium() -> Scenario:
    return scenario_of(**MEDIUM)


# --------------------------------------------------------------------------- determinism, sizes


def test_same_arguments_give_the_same_document() -> None:
    first = generate_scenario(seed=5, networks=15, placed=80, pending=20)
    second = generate_scenario(seed=5, networks=15, placed=80, pending=20)
    assert first == second
    assert json.dumps(first) == json.dumps(second)  # same key order too


def test_another_seed_gives_another_document() -> None:
    first = generate_scenario(seed=5, networks=15, placed=80, pending=20)
    other = generate_scenario(seed=6, networks=15, placed=80, pending=20)
    assert first["defectors"] != other["defectors"]


@pytest.mark.parametrize(("networks", "placed", "pending"), [(1, 0, 1), (3, 5, 0), (30, 150, 40)])
def test_sizes_are_honoured(networks: int, placed: int, pending: int) -> None:
    scenario = scenario_of(seed=1, networks=networks, placed=placed, pending=pending)
    assert len(scenario.networks) == networks
    assert len(scenario.placed) == placed
    assert len(scenario.pending) == pending


@pytest.mark.parametrize(
    "arguments",
    [
        {"networks": 0},
        {"placed": -1},
        {"pending": -1},
        {"housing_scale": -0.5},
        {"threat_weights": (1, 1, 1)},
        {"policy": {"keep_apart_km": -1}},
    ],
)
def test_impossible_arguments_are_refused(arguments: dict[str, Any]) -> None:
    base: dict[str, Any] = {"seed": 1, "networks": 3, "placed": 2, "pending": 2}
    with pytest.raises(ValueError):
        generate_scenario(**{**base, **arguments})


def test_tiny_scenarios_are_small_and_clean() -> None:
    for seed in range(40):
        document = generate_tiny(seed=seed)
        scenario = scenario_from_document(document)
        assert 2 <= len(scenario.networks) <= 6
        assert 0 <= len(scenario.placed) <= 8
        assert 1 <= len(scenario.pending) <= 8
        assert violations(scenario, placed_where(scenario)) == [], seed


# --------------------------------------------------------------------------- the document


def test_document_round_trips_through_json_and_yaml() -> None:
    document = generate_scenario(seed=3, networks=8, placed=30, pending=10)
    assert json.loads(json.dumps(document)) == document
    text = scenario_yaml(document, header="a header")
    assert text.startswith("# a header\n")
    parsed, problems = _yamlio.parse(text.encode(), Path("generated.yaml"))
    assert problems == []
    assert parsed == document
    # Even a plain YAML 1.1 reader sees the codes as strings: every code is quoted.
    assert yaml.safe_load(text) == document


def test_areas_are_four_digit_code_strings() -> None:
    document = generate_scenario(seed=3, networks=8, placed=30, pending=10)
    codes = set(sweden_municipalities().ids)
    references = [*document["capacity"]["areas"]]
    for network in document["networks"]:
        references += network["territory"]
    for person in document["defectors"]:
        references += [person["origin"], *person.get("avoid", []), *person.get("prefer", [])]
        references += [person["placed_in"]] if "placed_in" in person else []
    assert references
    assert all(isinstance(r, str) and len(r) == 4 and r in codes for r in references)


def test_policy_option_is_written_and_obeyed() -> None:
    policy = {
        "keep_apart_km": 80,
        "max_same_network_per_area": 2,
        "allies_of_rivals_threaten": True,
    }
    document = generate_scenario(seed=4, networks=15, placed=100, pending=10, policy=policy)
    for key, value in policy.items():
        assert document["policy"][key] == value
    scenario = scenario_from_document(document)
    assert violations(scenario, placed_where(scenario)) == []


# ---------------------------------------------------------------- placed people: all rules


def test_placed_people_are_far_from_threatening_territories(medium: Scenario) -> None:
    km = medium.distance_km
    for person in medium.placed:
        territory = [
            area for n in threatening(medium, person) for area in medium.networks[n].territory
        ]
        assert km[person.placed_in, territory].min() >= person.threat_buffer_km, person.id


def test_placed_people_are_far_from_their_origin(medium: Scenario) -> None:
    km = medium.distance_km
    assert all(km[p.placed_in, p.origin] >= medium.policy.origin_buffer_km for p in medium.placed)


def test_placed_rivals_and_listed_pairs_live_apart(medium: Scenario) -> None:
    km = medium.distance_km
    placed = medium.placed
    pairs = 0
    for i, first in enumerate(placed):
        for second in placed[i + 1 :]:
            if must_keep_apart(medium, first, second):
                pairs += 1
                distance = km[first.placed_in, second.placed_in]
                assert distance >= medium.policy.keep_apart_km, (first.id, second.id)
    assert pairs > 100  # the check had something to check


def test_placed_people_of_one_network_do_not_share_an_area(medium: Scenario) -> None:
    members = Counter((n, p.placed_in) for p in medium.placed for n in p.networks)
    assert max(members.values()) <= medium.policy.max_same_network_per_area


def test_placed_households_fit_the_housing(medium: Scenario) -> None:
    load = Counter[int]()
    for person in medium.placed:
        assert person.placed_in is not None
        load[person.placed_in] += person.household
    for area, units in load.items():
        assert units <= medium.offers[area].housing_units


def test_placed_people_get_their_services_and_avoid_their_areas(medium: Scenario) -> None:
    for person_id, area in placed_where(medium).items():
        person = medium.defector(person_id)
        assert person.needs <= medium.offers[area].services, person.id
        assert area not in person.avoid


def test_minors_need_youth_services(medium: Scenario) -> None:
    minors = [p for p in medium.defectors if p.age is not None and p.age < 18]
    assert minors
    assert all("youth_services" in p.needs for p in minors)


# --------------------------------------------------------------------------- realism


def _share(values: Iterable[bool]) -> float:
    items = list(values)
    return sum(items) / len(items)


def test_people_look_like_the_public_figures(medium: Scenario) -> None:
    people = medium.defectors
    ages = [p.age for p in people if p.age is not None]
    assert min(ages) >= 16 and max(ages) <= 44
    assert _share(18 <= a <= 30 for a in ages) > 0.6
    assert _share(2 <= p.threat_level <= 4 for p in people) > 0.6
    assert any(p.threat_level == 5 for p in people)
    assert all(1 <= p.household <= 4 for p in people)
    assert _share(p.household <= 2 for p in people) > 0.65
    assert _share("exit_program" in p.needs for p in people) > 0.6
    assert any(p.keep_apart_from for p in people)
    assert any(p.avoid for p in people) and any(p.prefer for p in people)


def test_territories_cluster_around_vulnerable_areas(medium: Scenario) -> None:
    geography = medium.geography
    vulnerable = {
        geography.index_of(e["code"]) for e in _reference()["vulnerable_area_municipalities"]
    }
    km = geography.distances("boundary")
    exit_cities = {geography.index_of(e["code"]) for e in _reference()["exit_program_cities"]}
    for network in medium.networks.values():
        assert 1 <= len(network.territory) <= 4
        assert len(network.rivals) <= 4
        homes = vulnerable & set(network.territory)
        assert homes, network.id
        near = [min(km[area, home] for home in homes) for area in network.territory]
        assert max(near) <= 30.0, network.id
    big_city = [
        any(
            medium.networks[n].territory and set(medium.networks[n].territory) & exit_cities
            for n in p.networks
        )
        for p in medium.defectors
    ]
    assert _share(big_city) > 0.4


def test_feuds_have_factions(medium: Scenario) -> None:
    networks = medium.networks.values()
    assert any(n.rivals for n in networks) and any(n.allies for n in networks)
    assert all(not (n.rivals & n.allies) for n in networks)


def test_housing_is_scarce_and_services_favour_larger_places(medium: Scenario) -> None:
    load = Counter[int]()
    for person in medium.placed:
        assert person.placed_in is not None
        load[person.placed_in] += person.household
    free = [offer.housing_units - load[i] for i, offer in enumerate(medium.offers)]
    assert min(free) >= 0
    assert _share(f == 0 for f in free) > 0.25
    large = {medium.geography.index_of(e["code"]) for e in _reference()["large_municipalities"]}
    trauma = [("trauma_care" in o.services, i in large) for i, o in enumerate(medium.offers)]
    in_large = _share(t for t, is_large in trauma if is_large)
    elsewhere = _share(t for t, is_large in trauma if not is_large)
    assert in_large > elsewhere
    assert any(o.wait_weeks for o in medium.offers)


def test_most_pending_people_have_somewhere_to_go(medium: Scenario) -> None:
    reachable = [bool(allowed_areas(medium, p, placed_where(medium))) for p in medium.pending]
    assert _share(reachable) > 0.75


def test_reference_codes_match_their_names() -> None:
    geography = sweden_municipalities()
    reference = _reference()
    assert "_about" in reference
    for key in ("vulnerable_area_municipalities", "exit_program_cities", "large_municipalities"):
        for entry in reference[key]:
            index = geography.index_of(entry["code"])
            assert index is not None and geography.names[index] == entry["name"], entry


def test_national_size_is_fast() -> None:
    sweden_municipalities().distances("boundary")  # load the geography first; it is cached
    start = time.perf_counter()
    document = generate_scenario(seed=1, networks=100, placed=1000, pending=300)
    elapsed = time.perf_counter() - start
    assert elapsed < 4.0  # about 0.2 s on a laptop; generous for slow CI machines
    scenario = scenario_from_document(document)
    assert (len(scenario.placed), len(scenario.pending)) == (1000, 300)
    members = Counter((n, p.placed_in) for p in scenario.placed for n in p.networks)
    assert max(members.values()) <= 1


# --------------------------------------------------------------------------- bundled scenarios


@pytest.mark.parametrize("name", ["tutorial.yaml", "national.yaml", "housing-shortage.yaml"])
def test_bundled_scenario_loads_cleanly(name: str) -> None:
    scenario = load_scenario(SCENARIOS / name)
    assert scenario.pending
    assert violations(scenario, placed_where(scenario)) == []


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_generated_bundled_scenario_matches_its_recipe(name: str) -> None:
    path = SCENARIOS / name
    text = path.read_text(encoding="utf-8")
    document, problems = _yamlio.parse(text.encode(), path)
    assert problems == []
    recipe = RECIPES[name]
    assert document == generate_scenario(**recipe), (
        f"{name} no longer matches generate_scenario(**{recipe}); regenerate it with the call "
        "in its header"
    )
    assert f"seed={recipe['seed']}" in text and "SYNTHETIC" in text


def test_national_scenario_sizes() -> None:
    scenario = load_scenario(SCENARIOS / "national.yaml")
    assert (len(scenario.networks), len(scenario.placed), len(scenario.pending)) == (40, 300, 60)


def test_housing_shortage_cannot_place_everyone() -> None:
    scenario = load_scenario(SCENARIOS / "housing-shortage.yaml")
    load = Counter[int]()
    for person in scenario.placed:
        assert person.placed_in is not None
        load[person.placed_in] += person.household
    free = sum(offer.housing_units - load[i] for i, offer in enumerate(scenario.offers))
    needed = sum(p.household for p in scenario.pending)
    assert free < needed
    urgent = [p for p in scenario.pending if p.threat_level >= 4]
    assert len(urgent) > len(scenario.pending) / 2


def test_tutorial_comments_every_line() -> None:
    for number, line in enumerate((SCENARIOS / "tutorial.yaml").read_text().splitlines(), 1):
        assert not line.strip() or "#" in line, f"line {number} has no comment"


def test_tutorial_shows_every_feature() -> None:
    scenario = load_scenario(SCENARIOS / "tutorial.yaml")
    people = scenario.defectors
    assert 8 <= len(people) <= 12 and len(scenario.networks) == 4
    assert any(p.placed_in is not None for p in people)
    assert any(p.keep_apart_from for p in people)
    assert any(p.prefer for p in people) and any(p.avoid for p in people)
    assert any(p.age is not None and p.age < 18 and "youth_services" in p.needs for p in people)
    assert any(p.threat_buffer_km != scenario.policy.threat_buffer_km for p in people)
    assert any(offer.wait_weeks for offer in scenario.offers)


def test_tutorial_can_place_everyone() -> None:
    """A small exhaustive search finds one plan that places all pending people at once."""
    scenario = load_scenario(SCENARIOS / "tutorial.yaml")
    where = placed_where(scenario)
    options = {p.id: allowed_areas(scenario, p, where) for p in scenario.pending}
    assert all(options.values()), options

    def search(order: list[str], plan: dict[str, int]) -> dict[str, int] | None:
        if not order:
            return plan
        person, rest = order[0], order[1:]
        for area in options[person]:
            if area in allowed_areas(scenario, scenario.defector(person), plan):
                found = search(rest, {**plan, person: area})
                if found is not None:
                    return found
        return None

    plan = search(sorted(options, key=lambda p: len(options[p])), dict(where))
    assert plan is not None


# --------------------------------------------------------------------------- custom geographies


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from placement.generate import sweden_grid

    folder = tmp_path_factory.mktemp("grid")
    sweden_grid(40.0).to_parquet(folder / "grid.parquet")
    return folder


GRID: dict[str, Any] = {"seed": 5, "networks": 12, "placed": 60, "pending": 20}


def test_sweden_grid_covers_sweden_with_square_cells() -> None:
    from placement.generate import sweden_grid

    grid = sweden_grid(40.0)
    assert len(grid) == 354
    assert grid.crs == "EPSG:3006"
    assert grid["id"].is_unique and grid["id"].str.fullmatch(r"R\d{3}C\d{3}").all()
    assert set(grid.geom_type) <= {"Polygon", "MultiPolygon"}
    assert grid.area.max() <= 40_000.0**2 * (1 + 1e-9)
    sweden = sum(g.area for g in sweden_municipalities().geometries)
    assert grid.area.sum() == pytest.approx(sweden, rel=1e-6)
    with pytest.raises(ValueError, match="positive"):
        sweden_grid(0)


def test_scenario_over_a_grid_is_deterministic_and_uses_its_ids(grid_dir: Path) -> None:
    first = generate_scenario(**GRID, areas="grid.parquet", base_dir=grid_dir)
    assert first == generate_scenario(**GRID, areas="grid.parquet", base_dir=grid_dir)
    assert first["areas"] == "grid.parquet"
    ids = {str(i) for i in __import__("geopandas").read_parquet(grid_dir / "grid.parquet")["id"]}
    used = {p["origin"] for p in first["defectors"]} | set(first["capacity"]["areas"])
    used |= {a for n in first["networks"] for a in n["territory"]}
    assert used <= ids


def test_placed_people_obey_the_rules_over_a_grid(grid_dir: Path) -> None:
    document = generate_scenario(**GRID, areas="grid.parquet", base_dir=grid_dir)
    scenario = scenario_from_document(document, base_dir=grid_dir)
    assert len(scenario.geography) == 354
    assert len(scenario.placed) == GRID["placed"]
    assert violations(scenario, placed_where(scenario)) == []


def test_grid_keeps_the_national_housing_total(grid_dir: Path) -> None:
    """The free units are scaled by 290 / cells, so a finer grid is not a richer country."""

    def free_units(document: dict[str, Any]) -> int:
        return sum(a["housing_units"] for a in document["capacity"]["areas"].values())

    totals = []
    for seed in range(4):
        arguments = {**GRID, "seed": seed, "placed": 0}
        municipal = free_units(generate_scenario(**arguments))
        grid = free_units(generate_scenario(**arguments, areas="grid.parquet", base_dir=grid_dir))
        totals.append(grid / municipal)
    assert 0.75 < sum(totals) / len(totals) < 1.33


# --------------------------------------------------------------------------- histories


def _history_file(tmp_path: Path, **arguments: Any) -> Path:
    from placement.generate import generate_history

    path = tmp_path / "history.yaml"
    path.write_text(scenario_yaml(generate_history(**arguments)), "utf-8")
    return path


def test_generated_history_is_valid_and_has_every_arrival_once(tmp_path: Path) -> None:
    from placement.generate import generate_history
    from placement.history import load_history

    arguments: dict[str, Any] = {"seed": 5, "networks": 8, "placed": 20, "arrivals": 12}
    document = generate_history(**arguments)
    assert document == generate_history(**arguments)
    assert document != generate_history(**{**arguments, "seed": 6})
    history = load_history(_history_file(tmp_path, **arguments))  # raises if anything is off
    kinds = Counter(event.kind for event in history.events)
    assert kinds["arrive"] == 12
    assert sum(kinds.values()) - 12 <= 6  # besides arrivals: at most half as many events
    arrived = [e["arrive"]["id"] for e in document["events"] if "arrive" in e]
    starting = {d["id"] for d in document["scenario"]["defectors"]}
    assert len(set(arrived)) == 12 and not set(arrived) & starting
    assert all("placed_in" in d for d in document["scenario"]["defectors"])
    assert [e["date"] for e in document["events"]] == sorted(e["date"] for e in document["events"])


def test_generated_history_replays_within_every_rule(tmp_path: Path) -> None:
    from test_replay import step_plan, step_scenario

    from placement.check import check_plan
    from placement.history import load_history
    from placement.replay import ReplaySettings, replay_history

    path = _history_file(tmp_path, seed=2, networks=6, placed=12, arrivals=8, events=8)
    history = load_history(path)
    result = replay_history(history, ReplaySettings(step_budget=5.0, hindsight=False))
    for step, document in zip(result.steps, result.documents, strict=True):
        report = check_plan(step_scenario(history, document, placed=False), step_plan(step))
        at_risk = {r["defector"] for r in step["at_risk"]}
        assert all(set(v.defectors) & at_risk for v in report.violations), step["date"]


def test_generate_history_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cli import main
    from placement.history import load_history

    out = tmp_path / "h.yaml"
    args = ["generate", "--history", "--seed", "3", "--networks", "6", "--placed", "10"]
    result = CliRunner().invoke(main, [*args, "--pending", "5", "--months", "6", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 arrivals and 2 other events over 6 months" in result.output
    assert out.read_text("utf-8").startswith("# SYNTHETIC history, made by: placement generate")
    assert len(load_history(out).events) >= 5


def test_a_history_has_the_events_asked_for_where_the_world_allows(tmp_path: Path) -> None:
    """With one network no feud can start; the events drawn as feuds become other kinds."""
    from click.testing import CliRunner

    from cli import main
    from placement.generate import generate_history

    document = generate_history(seed=0, networks=1, placed=5, arrivals=5, events=10)
    kinds = Counter(next(k for k in e if k not in ("date", "actual")) for e in document["events"])
    assert kinds["arrive"] == 5 and sum(kinds.values()) == 15
    out = tmp_path / "h.yaml"
    arguments = ["--networks", "1", "--placed", "5", "--pending", "5", "--events", "10"]
    result = CliRunner().invoke(main, ["generate", "--history", *arguments, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "(1 network, 5 placed at the start, 5 arrivals and 10 other events" in result.output


def test_the_recorded_command_makes_the_same_file(tmp_path: Path) -> None:
    import shlex

    from click.testing import CliRunner

    from cli import main

    out = tmp_path / "a.yaml"
    arguments = ["--networks", "3", "--placed", "3", "--pending", "3", "--seed", "4"]
    extra = ["--housing-scale", "0.1234567", "--name", "Test 'quoted' name"]
    result = CliRunner().invoke(main, ["generate", *arguments, *extra, "-o", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_text("utf-8").splitlines()[0]
    recorded = shlex.split(header.split("made by: ", 1)[1])
    again = tmp_path / "b.yaml"
    result = CliRunner().invoke(main, [*recorded[1:], "-o", str(again)])
    assert result.exit_code == 0, result.output
    assert again.read_bytes() == out.read_bytes()


def test_generate_refuses_what_it_could_not_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Options allow sizes beyond the readers' limits: such a file is never written."""
    from click.testing import CliRunner

    from cli import main
    from placement import _yamlio

    runner = CliRunner()
    out = tmp_path / "s.yaml"
    monkeypatch.setattr(_yamlio, "MAX_VALUES", 200)  # a tiny scenario then has too many
    result = runner.invoke(main, ["generate", "--networks", "3", "--placed", "5", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "the scenario asked for would be refused when read (invalid YAML: more than" in (
        result.output
    )
    assert not out.exists()
    for value, message in (
        ("nan", "--housing-scale: must be a number, not nan"),
        ("inf", "is not in the range 0<=x<=1000"),
        ("20000", "is not in the range 0<=x<=1000"),
    ):
        result = runner.invoke(main, ["generate", "--housing-scale", value, "-o", str(out)])
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
    result = runner.invoke(main, ["generate", "-o", ""])
    assert result.exit_code == 2 and "--output: give a file name (got '')" in result.output
    for name, message in (
        ("a\udcffb", "--name: contains the lone surrogate U+DCFF; names must be plain text"),
        ("a\rb", "--name: contains the control character U+000D; names must be plain text"),
        ("line 1\nline 2", "--name: must be one line"),
        ("line 1\u2028line 2", "--name: must be one line"),
    ):
        result = runner.invoke(main, ["generate", "--name", name, "-o", str(out)])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()
