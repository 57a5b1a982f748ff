"""Tests of the independent checker: a penalized / not-penalized pair per hard rule, then plan
structure, pre-existing problems, warnings, distances in messages and the report formats.

Every scenario here is tiny and uses Sweden's municipalities. Places used, with boundary
distances: Stockholm 0180 and Solna 0184 touch (0 km); Umeå 2480 - Sundsvall 2281 150.5 km;
Umeå - Luleå 2580 141.6 km (225.7 km between centroids); Kiruna 2584 is far from the south.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from placement.check import CHECK_FORMAT, CheckReport, Violation, check_plan, render_report
from placement.plan import Assignment, Plan, ScenarioRef, Unplaced
from placement.scenario import Scenario, scenario_from_document

ALL_SERVICES = [
    "exit_program",
    "trauma_care",
    "psychiatric_care",
    "addiction_treatment",
    "youth_services",
]
STOCKHOLM, SOLNA, GOTEBORG, MALMO = "0180", "0184", "1480", "1280"
UMEA, LULEA, KIRUNA, SUNDSVALL = "2480", "2580", "2584", "2281"


def make_scenario(
    defectors: list[dict[str, Any]],
    *,
    networks: list[dict[str, Any]] | None = None,
    policy: dict[str, Any] | None = None,
    capacity: dict[str, Any] | None = None,
    sha256: str = "",
) -> Scenario:
    """A scenario where, unless a test says otherwise, every area has room and every service."""
    document = {
        "format": "placement-scenario/1",
        "name": "test",
        "policy": policy or {},
        "capacity": capacity or {"default": {"housing_units": 10, "services": ALL_SERVICES}},
        "networks": networks if networks is not None else [{"id": "N01"}, {"id": "N02"}],
        "defectors": defectors,
    }
    return scenario_from_document(document, sha256=sha256)


def person(defector_id: str, *networks: str, origin: str = KIRUNA, **extra: Any) -> dict[str, Any]:
    return {"id": defector_id, "networks": list(networks or ("N01",)), "origin": origin, **extra}


def make_plan(
    assignments: dict[str, str], unplaced: tuple[str, ...] = (), *, sha256: str | None = None
) -> Plan:
    return Plan(
        status="feasible",
        scenario=ScenarioRef(name="test", sha256=sha256),
        assignments=[Assignment(defector=d, area=a) for d, a in assignments.items()],
        unplaced=[Unplaced(defector=d, reasons=["no safe area"]) for d in unplaced],
    )


def km(scenario: Scenario, a: str, b: str) -> float:
    geography = scenario.geography
    index_a, index_b = geography.index_of(a), geography.index_of(b)
    assert index_a is not None and index_b is not None
    return float(scenario.distance_km[index_a, index_b])


def only(report: CheckReport) -> Violation:
    """The single violation of a report that should hold exactly one."""
    assert report.structural == []
    assert len(report.violations) == 1, [v.message for v in report.violations]
    return report.violations[0]


# --------------------------------------------------------------------------- 1. threats


THREAT_NETWORKS = [
    {"id": "N01", "territory": [SUNDSVALL]},
    {"id": "N02", "territory": [MALMO, SUNDSVALL], "rivals": ["N03"]},
    {"id": "N03"},
    {"id": "N04", "territory": [SUNDSVALL], "allies": ["N02"]},
]


def test_threats_own_network_territory_too_close_is_penalized() -> None:
    scenario = make_scenario(
        [person("D001", "N01")], networks=THREAT_NETWORKS, policy={"threat_buffer_km": 200}
    )
    v = only(check_plan(scenario, make_plan({"D001": UMEA})))
    d = km(scenario, UMEA, SUNDSVALL)
    assert v.rule == "threats"
    assert v.defectors == ("D001",)
    assert v.areas == (UMEA, SUNDSVALL)
    assert v.distance_km == d
    assert v.required_km == 200
    assert v.message == (
        f"threats: D001 in Umeå (2480) is {d:.1f} km from Sundsvall (2281), territory of N01 "
        "(the person's own network); needs 200 km"
    )


def test_threats_far_from_territory_is_ok() -> None:
    scenario = make_scenario(
        [person("D001", "N01")], networks=THREAT_NETWORKS, policy={"threat_buffer_km": 200}
    )
    assert check_plan(scenario, make_plan({"D001": MALMO})).ok


def test_threats_rival_territory_reports_the_nearest_area() -> None:
    scenario = make_scenario(
        [person("D001", "N03")], networks=THREAT_NETWORKS, policy={"threat_buffer_km": 200}
    )
    v = only(check_plan(scenario, make_plan({"D001": UMEA})))
    assert v.areas == (UMEA, SUNDSVALL)  # Sundsvall, not Malmö: the nearest N02 territory
    assert "territory of N02 (rival of N03)" in v.message


def test_threats_uses_the_per_person_buffer() -> None:
    defectors = [person("D001", "N01", threat_buffer_km=100)]
    scenario = make_scenario(defectors, networks=THREAT_NETWORKS, policy={"threat_buffer_km": 200})
    assert check_plan(scenario, make_plan({"D001": UMEA})).ok  # 150.5 km >= 100 km
    defectors = [person("D001", "N01", threat_buffer_km=151)]
    scenario = make_scenario(defectors, networks=THREAT_NETWORKS)
    assert only(check_plan(scenario, make_plan({"D001": UMEA}))).required_km == 151


def test_threats_allies_of_rivals_only_when_the_policy_says_so() -> None:
    networks = [
        {"id": "N01", "rivals": ["N02"]},
        {"id": "N02", "allies": ["N04"]},
        {"id": "N04", "territory": [SUNDSVALL]},
    ]
    defectors = [person("D001", "N01")]
    plan = make_plan({"D001": UMEA})
    quiet = make_scenario(defectors, networks=networks, policy={"threat_buffer_km": 200})
    assert check_plan(quiet, plan).ok
    strict = make_scenario(
        defectors,
        networks=networks,
        policy={"threat_buffer_km": 200, "allies_of_rivals_threaten": True},
    )
    v = only(check_plan(strict, plan))
    assert v.rule == "threats"
    assert "territory of N04 (ally of N02, a rival of N01)" in v.message


def test_threats_exactly_at_the_buffer_is_ok() -> None:
    scenario = make_scenario([person("D001", "N01")], networks=THREAT_NETWORKS)
    exact = km(scenario, UMEA, SUNDSVALL)
    defectors = [person("D001", "N01", threat_buffer_km=exact)]
    scenario = make_scenario(defectors, networks=THREAT_NETWORKS)
    assert check_plan(scenario, make_plan({"D001": UMEA})).ok


# --------------------------------------------------------------------------- 2. origin


def test_origin_too_close_is_penalized() -> None:
    scenario = make_scenario([person("D001", origin=LULEA)])
    v = only(check_plan(scenario, make_plan({"D001": UMEA})))
    d = km(scenario, UMEA, LULEA)
    assert (v.rule, v.defectors, v.areas) == ("origin", ("D001",), (UMEA, LULEA))
    assert (v.distance_km, v.required_km) == (d, 150)
    assert v.message == (
        f"origin: D001 in Umeå (2480) is {d:.1f} km from Luleå (2580), where they come from; "
        "needs 150 km"
    )


def test_origin_far_enough_is_ok() -> None:
    scenario = make_scenario([person("D001", origin=LULEA)])
    assert check_plan(scenario, make_plan({"D001": MALMO})).ok


def test_origin_itself_is_zero_km_away() -> None:
    scenario = make_scenario([person("D001", origin=LULEA)])
    assert only(check_plan(scenario, make_plan({"D001": LULEA}))).distance_km == 0.0


def test_centroid_policy_changes_the_distances() -> None:
    boundary = make_scenario([person("D001", origin=LULEA)])
    centroid = make_scenario([person("D001", origin=LULEA)], policy={"distance": "centroid"})
    assert km(boundary, UMEA, LULEA) < 150 <= km(centroid, UMEA, LULEA)
    plan = make_plan({"D001": UMEA})
    assert not check_plan(boundary, plan).ok
    assert check_plan(centroid, plan).ok
    # Stockholm and Solna touch, so 0 km by boundary, but their centroids are apart.
    touching = make_scenario(
        [person("D001", origin=STOCKHOLM)], policy={"distance": "centroid", "origin_buffer_km": 50}
    )
    v = only(check_plan(touching, make_plan({"D001": SOLNA})))
    assert v.distance_km == km(touching, SOLNA, STOCKHOLM) > 0


# --------------------------------------------------------------------------- 3. keep_apart


RIVALS = [{"id": "N01", "rivals": ["N02"]}, {"id": "N02"}, {"id": "N03"}]


def test_keep_apart_rivals_too_close_is_penalized_once_per_pair() -> None:
    scenario = make_scenario([person("D001", "N01"), person("D002", "N02")], networks=RIVALS)
    v = only(check_plan(scenario, make_plan({"D001": STOCKHOLM, "D002": SOLNA})))
    assert (v.rule, v.defectors, v.areas) == ("keep_apart", ("D001", "D002"), (STOCKHOLM, SOLNA))
    assert (v.distance_km, v.required_km) == (0.0, 50)
    assert v.message == (
        "keep_apart: D001 in Stockholm (0180) and D002 in Solna (0184) are 0.0 km apart "
        "(rival networks N01 and N02); needs 50 km"
    )


def test_keep_apart_rivals_far_apart_is_ok() -> None:
    scenario = make_scenario([person("D001", "N01"), person("D002", "N02")], networks=RIVALS)
    assert check_plan(scenario, make_plan({"D001": STOCKHOLM, "D002": GOTEBORG})).ok


def test_keep_apart_does_not_apply_to_unrelated_networks() -> None:
    scenario = make_scenario([person("D001", "N01"), person("D002", "N03")], networks=RIVALS)
    assert check_plan(scenario, make_plan({"D001": STOCKHOLM, "D002": SOLNA})).ok


def test_keep_apart_listed_people_too_close_is_penalized() -> None:
    defectors = [person("D001", "N01"), person("D002", "N03", keep_apart_from=["D001"])]
    scenario = make_scenario(defectors, networks=RIVALS, policy={"keep_apart_km": 400})
    d = km(scenario, STOCKHOLM, GOTEBORG)
    v = only(check_plan(scenario, make_plan({"D001": STOCKHOLM, "D002": GOTEBORG})))
    assert (v.rule, v.defectors, v.distance_km, v.required_km) == (
        "keep_apart",
        ("D001", "D002"),
        d,
        400,
    )
    assert f"are {d:.1f} km apart (listed to keep apart); needs 400 km" in v.message
    assert check_plan(scenario, make_plan({"D001": STOCKHOLM, "D002": MALMO})).ok


def test_keep_apart_ignores_unplaced_people() -> None:
    scenario = make_scenario([person("D001", "N01"), person("D002", "N02")], networks=RIVALS)
    assert check_plan(scenario, make_plan({"D001": STOCKHOLM}, unplaced=("D002",))).ok


def test_keep_apart_matches_a_brute_force_count() -> None:
    """The grouped numpy search finds exactly the pairs a plain double loop finds."""
    rng = random.Random(7)
    networks = [{"id": f"N{i}", "rivals": [f"N{i + 1}"] if i % 2 == 0 else []} for i in range(8)]
    area_pool = [STOCKHOLM, SOLNA, "0114", "0115", "0117", "0120", GOTEBORG, "1481", UMEA]
    defectors = [
        person(
            f"D{i:03d}",
            *rng.sample([n["id"] for n in networks], rng.choice([1, 2])),
            keep_apart_from=[f"D{rng.randrange(i):03d}"] if i and rng.random() < 0.1 else [],
        )
        for i in range(120)
    ]
    scenario = make_scenario(
        defectors,
        networks=networks,
        policy={"max_same_network_per_area": 1000},
        capacity={"default": {"housing_units": 1000, "services": ALL_SERVICES}},
    )
    assignments = {d["id"]: rng.choice(area_pool) for d in defectors}
    found = {v.defectors for v in check_plan(scenario, make_plan(assignments)).violations}
    expected = set()
    people = scenario.defectors
    for i, x in enumerate(people):
        for y in people[i + 1 :]:
            feud = any(b in scenario.networks[a].rivals for a in x.networks for b in y.networks)
            if (feud or y.id in x.keep_apart_from) and km(
                scenario, assignments[x.id], assignments[y.id]
            ) < 50:
                expected.add((x.id, y.id))
    assert expected
    assert found == expected


# --------------------------------------------------------------------------- 4. same_network


def test_same_network_too_many_in_one_area_is_penalized() -> None:
    scenario = make_scenario([person("D001", "N01"), person("D002", "N01", "N02")])
    v = only(check_plan(scenario, make_plan({"D001": UMEA, "D002": UMEA})))
    assert (v.rule, v.defectors, v.areas, v.count, v.limit) == (
        "same_network",
        ("D001", "D002"),
        (UMEA,),
        2,
        1,
    )
    assert (
        v.message
        == "same_network: 2 defectors of N01 in Umeå (2480) (D001, D002); at most 1 allowed"
    )


def test_same_network_in_different_areas_is_ok() -> None:
    scenario = make_scenario([person("D001", "N01"), person("D002", "N01", "N02")])
    assert check_plan(scenario, make_plan({"D001": UMEA, "D002": STOCKHOLM})).ok


def test_same_network_within_a_raised_limit_is_ok() -> None:
    defectors = [person("D001", "N01"), person("D002", "N01")]
    scenario = make_scenario(defectors, policy={"max_same_network_per_area": 2})
    assert check_plan(scenario, make_plan({"D001": UMEA, "D002": UMEA})).ok


# --------------------------------------------------------------------------- 5. capacity


def capacity_scenario(households: tuple[int, int], **placed: str) -> Scenario:
    return make_scenario(
        [
            person("D001", "N01", household=households[0], **placed),
            person("D002", "N02", household=households[1]),
        ],
        capacity={
            "default": {"housing_units": 10, "services": ALL_SERVICES},
            "areas": {"Umeå": {"housing_units": 3}},
        },
    )


def test_capacity_exceeded_is_penalized() -> None:
    scenario = capacity_scenario((2, 2))
    v = only(check_plan(scenario, make_plan({"D001": UMEA, "D002": UMEA})))
    assert (v.rule, v.defectors, v.areas, v.count, v.limit) == (
        "capacity",
        ("D001", "D002"),
        (UMEA,),
        4,
        3,
    )
    assert v.message == (
        "capacity: households in Umeå (2480) need 4 housing units "
        "(D001 (household 2), D002 (household 2)); it has 3"
    )


def test_capacity_exactly_full_is_ok() -> None:
    scenario = capacity_scenario((2, 1))
    assert check_plan(scenario, make_plan({"D001": UMEA, "D002": UMEA})).ok


def test_capacity_counts_already_placed_households() -> None:
    """A newcomer who pushes a full area over is a new violation, not a pre-existing one."""
    scenario = capacity_scenario((3, 1), placed_in=UMEA)
    assert check_plan(scenario, make_plan({"D001": UMEA, "D002": STOCKHOLM})).ok
    report = check_plan(scenario, make_plan({"D001": UMEA, "D002": UMEA}))
    v = only(report)
    assert (v.rule, v.defectors, v.count, v.limit, v.pre_existing) == (
        "capacity",
        ("D001", "D002"),
        4,
        3,
        False,
    )
    assert "D001 (household 3, already placed)" in v.message
    assert report.pre_existing == []


def test_capacity_already_exceeded_by_staying_people_is_pre_existing() -> None:
    scenario = make_scenario(
        [
            person("D001", "N01", household=2, placed_in=UMEA),
            person("D002", "N02", household=2, placed_in=UMEA),
        ],
        capacity={"default": {"housing_units": 3}},
    )
    report = check_plan(scenario, make_plan({"D001": UMEA, "D002": UMEA}))
    assert report.ok
    assert [(v.rule, v.defectors, v.count, v.limit) for v in report.pre_existing] == [
        ("capacity", ("D001", "D002"), 4, 3)
    ]


# --------------------------------------------------------------------------- 6. services


def services_scenario(**extra: Any) -> Scenario:
    return make_scenario(
        [person("D001", **extra)],
        capacity={
            "default": {"housing_units": 10, "services": ["exit_program"]},
            "areas": {"Umeå": {"housing_units": 10, "services": ALL_SERVICES}},
        },
    )


def test_services_missing_is_penalized() -> None:
    scenario = services_scenario(needs=["trauma_care", "exit_program", "psychiatric_care"])
    v = only(check_plan(scenario, make_plan({"D001": STOCKHOLM})))
    assert (v.rule, v.defectors, v.areas) == ("services", ("D001",), (STOCKHOLM,))
    assert v.message == (
        "services: D001 needs psychiatric_care, trauma_care, which Stockholm (0180) does not offer"
    )


def test_services_offered_is_ok() -> None:
    scenario = services_scenario(needs=["trauma_care", "exit_program", "psychiatric_care"])
    assert check_plan(scenario, make_plan({"D001": UMEA})).ok


def test_services_minors_need_youth_services() -> None:
    assert check_plan(services_scenario(age=18), make_plan({"D001": STOCKHOLM})).ok
    v = only(check_plan(services_scenario(age=17), make_plan({"D001": STOCKHOLM})))
    assert (v.rule, "youth_services" in v.message) == ("services", True)
    assert check_plan(services_scenario(age=17), make_plan({"D001": UMEA})).ok


# --------------------------------------------------------------------------- 7. avoid


def test_avoid_listed_area_is_penalized() -> None:
    scenario = make_scenario([person("D001", avoid=["umeå"])])
    v = only(check_plan(scenario, make_plan({"D001": UMEA})))
    assert (v.rule, v.defectors, v.areas) == ("avoid", ("D001",), (UMEA,))
    assert v.message == "avoid: D001 is in Umeå (2480), which is on their avoid list"


def test_avoid_other_area_is_ok() -> None:
    scenario = make_scenario([person("D001", avoid=["umeå"])])
    assert check_plan(scenario, make_plan({"D001": STOCKHOLM})).ok


# --------------------------------------------------------------------------- plan structure


def structure_scenario() -> Scenario:
    return make_scenario(
        [person("D001"), person("D002", "N02"), person("D003", "N02", placed_in=GOTEBORG)]
    )


def test_a_complete_plan_has_no_structural_problems() -> None:
    report = check_plan(
        structure_scenario(), make_plan({"D001": UMEA, "D003": GOTEBORG}, unplaced=("D002",))
    )
    assert report.ok
    assert (report.structural, report.warnings) == ([], [])
    assert (report.assigned_count, report.unplaced_count) == (2, 1)


def test_missing_defector_is_structural() -> None:
    report = check_plan(structure_scenario(), make_plan({"D001": UMEA, "D003": GOTEBORG}))
    assert not report.ok
    assert report.structural == [
        "D002 is missing: every defector must appear once, in assignments or unplaced"
    ]


def test_defector_listed_twice_is_structural() -> None:
    plan = make_plan({"D001": UMEA, "D002": STOCKHOLM, "D003": GOTEBORG}, unplaced=("D001",))
    report = check_plan(structure_scenario(), plan)
    assert not report.ok
    assert report.structural == [
        "D001 is listed 2 times (assignments[0], unplaced[0]); every defector must appear "
        "exactly once"
    ]
    plan.assignments.append(Assignment(defector="D002", area=MALMO))
    assert "D002 is listed 2 times (assignments[1], assignments[3])" in " ".join(
        check_plan(structure_scenario(), plan).structural
    )


def test_unknown_defector_is_structural() -> None:
    plan = make_plan({"D001": UMEA, "D002": STOCKHOLM, "D003": GOTEBORG, "D004": MALMO})
    report = check_plan(structure_scenario(), plan)
    assert not report.ok
    assert report.structural == [
        "assignments[3]: unknown defector 'D004' (did you mean D003 or D002 or D001?)"
    ]


def test_unknown_area_is_structural() -> None:
    plan = make_plan({"D001": "Umea", "D002": STOCKHOLM, "D003": GOTEBORG})
    report = check_plan(structure_scenario(), plan)
    assert not report.ok
    assert report.structural == [
        "assignments[0]: unknown area 'Umea' for D001 (did you mean Umeå or Kumla?)"
    ]


def test_did_you_mean_hints_stop_after_the_budget() -> None:
    from placement.names import MAX_HINTS

    unknown = {f"D{n:04d}": UMEA for n in range(100, 100 + MAX_HINTS + 10)}
    report = check_plan(structure_scenario(), make_plan(unknown))
    named = [line for line in report.structural if "unknown defector" in line]
    assert len(named) == MAX_HINTS + 10  # every unknown name is still named
    hinted = [line for line in named if "did you mean" in line]
    assert len(hinted) == MAX_HINTS


def test_area_names_are_accepted_for_hand_edited_plans() -> None:
    plan = make_plan({"D001": "umeå", "D002": "Stockholm", "D003": GOTEBORG})
    assert check_plan(structure_scenario(), plan).ok


def test_placed_person_listed_as_unplaced_is_structural() -> None:
    plan = make_plan({"D001": UMEA, "D002": STOCKHOLM}, unplaced=("D003",))
    report = check_plan(structure_scenario(), plan)
    assert not report.ok
    assert report.structural == [
        "unplaced[0]: D003 already lives in Göteborg (1480) and cannot be unplaced; "
        "list them in assignments"
    ]


# --------------------------------------------------------------------------- pre-existing


def test_staying_rivals_together_are_pre_existing_not_violations() -> None:
    scenario = make_scenario(
        [
            person("D001", "N01", placed_in=STOCKHOLM),
            person("D002", "N02", placed_in=STOCKHOLM),
            person("D003", "N03"),
        ],
        networks=RIVALS,
    )
    report = check_plan(scenario, make_plan({"D001": STOCKHOLM, "D002": STOCKHOLM, "D003": UMEA}))
    assert report.ok
    assert report.violations == []
    assert [(v.rule, v.defectors, v.pre_existing) for v in report.pre_existing] == [
        ("keep_apart", ("D001", "D002"), True)
    ]
    assert "1 pre-existing problem not counted" in render_report(report, scenario)


def test_individual_rules_of_a_staying_person_are_pre_existing() -> None:
    scenario = make_scenario([person("D001", origin=LULEA, placed_in=UMEA, avoid=[UMEA])])
    report = check_plan(scenario, make_plan({"D001": UMEA}))
    assert report.ok
    assert [v.rule for v in report.pre_existing] == ["origin", "avoid"]


def test_a_move_nobody_asked_for_fails_and_one_asked_for_is_checked_as_new() -> None:
    """The contract: already placed people stay unless the user explicitly allows a move."""
    scenario = make_scenario([person("D001", origin=LULEA, placed_in=MALMO)])
    unasked = check_plan(scenario, make_plan({"D001": UMEA}))
    assert not unasked.ok
    assert unasked.structural == [
        "D001 is moved from Malmö (1280) to Umeå (2480), but the plan records no --pin or "
        "--forbid that asks for it; already placed people stay unless the user asks"
    ]
    for decision in ({"pin": ["D001=Umeå"]}, {"forbid": ["D001=Malmö"]}):
        plan = Plan.model_validate(
            {**make_plan({"D001": UMEA}).model_dump(), "provenance": {"what_if": decision}}
        )
        asked = check_plan(scenario, plan)
        assert asked.structural == []
        assert asked.warnings == [
            "D001 is moved from Malmö (1280) to Umeå (2480), as a decision the plan records asks"
        ]
        assert only(asked).rule == "origin"  # and the new place is checked as a newcomer's
    # A pin to the person's own home, or a forbid of another area, asks for no move.
    plan = Plan.model_validate(
        {
            **make_plan({"D001": UMEA}).model_dump(),
            "provenance": {"what_if": {"pin": ["D001=Malmö"]}},
        }
    )
    assert not check_plan(scenario, plan).ok


def test_a_placed_person_left_out_of_the_plan_still_counts_as_living_there() -> None:
    """One run shows everything: the omission, and the newcomer placed next to the rival."""
    scenario = make_scenario(
        [person("D001", "N01", placed_in=UMEA), person("D002", "N02")], networks=RIVALS
    )
    for plan in (make_plan({"D002": UMEA}), make_plan({"D002": UMEA}, unplaced=("D001",))):
        report = check_plan(scenario, plan)
        assert len(report.structural) == 1 and report.assigned_count == 1
        assert [(v.rule, v.defectors) for v in report.violations] == [
            ("keep_apart", ("D001", "D002"))
        ]


def test_staying_over_the_limit_and_a_newcomer_on_top_are_both_reported() -> None:
    scenario = make_scenario(
        [
            person("D001", "N01", placed_in=UMEA),
            person("D002", "N01", placed_in=UMEA),
            person("D003", "N01"),
        ]
    )
    staying_only = check_plan(scenario, make_plan({"D001": UMEA, "D002": UMEA, "D003": MALMO}))
    assert staying_only.ok
    assert [(v.rule, v.defectors) for v in staying_only.pre_existing] == [
        ("same_network", ("D001", "D002"))
    ]
    joined = check_plan(scenario, make_plan({"D001": UMEA, "D002": UMEA, "D003": UMEA}))
    assert not joined.ok
    assert [(v.rule, v.defectors) for v in joined.violations] == [
        ("same_network", ("D001", "D002", "D003"))
    ]
    assert len(joined.pre_existing) == 1


# --------------------------------------------------------------------------- warnings, output


def test_plan_for_another_scenario_file_is_warned_about() -> None:
    scenario = make_scenario([person("D001")], sha256="a" * 64)
    assert check_plan(scenario, make_plan({"D001": UMEA}, sha256="a" * 64)).warnings == []
    # Hex digits are one number whatever their case.
    assert check_plan(scenario, make_plan({"D001": UMEA}, sha256="A" * 64)).warnings == []
    report = check_plan(scenario, make_plan({"D001": UMEA}, sha256="b" * 64))
    assert report.ok
    assert len(report.warnings) == 1
    assert "different scenario file" in report.warnings[0]


def test_area_name_that_disagrees_with_the_code_is_warned_about() -> None:
    scenario = make_scenario([person("D001")])
    plan = Plan(
        status="feasible",
        assignments=[Assignment(defector="D001", area=UMEA, area_name="Luleå")],
    )
    report = check_plan(scenario, plan)
    assert report.warnings == [
        "assignments[0]: area_name 'Luleå' does not match area '2480' (Umeå); "
        "the area, not the name, was checked"
    ]


@pytest.mark.parametrize(
    ("d", "required", "printed"),
    [(99.96, 100, "99.96"), (42.34, 100, "42.3"), (0.0, 50, "0.0")],
)
def test_a_printed_distance_never_rounds_up_to_the_requirement(
    d: float, required: float, printed: str
) -> None:
    from placement.check import _km

    assert _km(d, required) == printed


def test_distances_in_messages_are_the_matrix_values() -> None:
    scenario = make_scenario(
        [person("D001", "N01", origin=SUNDSVALL), person("D002", "N02", origin=GOTEBORG)],
        networks=[{"id": "N01", "rivals": ["N02"]}, {"id": "N02", "territory": [LULEA]}],
        policy={"threat_buffer_km": 700, "origin_buffer_km": 500, "keep_apart_km": 500},
    )
    report = check_plan(scenario, make_plan({"D001": UMEA, "D002": STOCKHOLM}))
    by_rule = {(v.rule, v.defectors): v for v in report.violations}
    expected = {
        ("threats", ("D001",)): (km(scenario, UMEA, LULEA), 700),
        ("threats", ("D002",)): (km(scenario, STOCKHOLM, LULEA), 700),
        ("origin", ("D001",)): (km(scenario, UMEA, SUNDSVALL), 500),
        ("origin", ("D002",)): (km(scenario, STOCKHOLM, GOTEBORG), 500),
        ("keep_apart", ("D001", "D002")): (km(scenario, UMEA, STOCKHOLM), 500),
    }
    assert set(by_rule) == set(expected)
    for key, (d, required) in expected.items():
        assert by_rule[key].distance_km == d
        assert by_rule[key].required_km == required
        assert f" {d:.1f} km " in by_rule[key].message
        assert f"needs {required} km" in by_rule[key].message


def test_report_json_keys_are_pinned() -> None:
    scenario = make_scenario([person("D001", avoid=[UMEA])])
    data = check_plan(scenario, make_plan({"D001": UMEA})).to_dict()
    json.dumps(data)  # JSON-ready
    assert list(data) == [
        "format",
        "ok",
        "assigned",
        "unplaced",
        "structural",
        "violations",
        "pre_existing",
        "warnings",
    ]
    assert data["format"] == CHECK_FORMAT == "placement-check/1"
    assert data["ok"] is False
    assert list(data["violations"][0]) == [
        "rule",
        "defectors",
        "areas",
        "message",
        "distance_km",
        "required_km",
        "count",
        "limit",
        "pre_existing",
    ]


def test_rendered_report_lists_violations_then_pre_existing_then_warnings_then_verdict() -> None:
    scenario = make_scenario(
        [
            person("D001", "N01", placed_in=STOCKHOLM),
            person("D002", "N02", placed_in=STOCKHOLM),
            person("D003", "N03", avoid=[UMEA], placed_in=MALMO),
        ],
        networks=RIVALS,
    )
    plan = make_plan({"D001": STOCKHOLM, "D002": STOCKHOLM, "D003": UMEA})
    asked = {**plan.model_dump(), "provenance": {"what_if": {"forbid": ["D003=Malmö"]}}}
    report = check_plan(scenario, Plan.model_validate(asked))
    text = render_report(report, scenario)
    lines = text.splitlines()
    assert lines[0] == "Checked plan for test: 3 assigned, 0 unplaced, of 3 defectors."
    order = [
        text.index("Violations (1):"),
        text.index("avoid: D003"),
        text.index("Pre-existing problems"),
        text.index("keep_apart: D001"),
        text.index("Warnings (1):"),
        text.index("D003 is moved"),
    ]
    assert order == sorted(order)
    assert lines[-1] == "FAILED: 1 rule violation."


def test_rendered_verdict_for_a_clean_plan() -> None:
    scenario = make_scenario([person("D001")])
    report = check_plan(scenario, make_plan({"D001": UMEA}))
    assert (
        render_report(report, scenario).splitlines()[-1] == "OK: the plan keeps all 7 hard rules."
    )
