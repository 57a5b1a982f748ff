"""Unplaced, explained to the bottom: conflicts known by construction on the line geography.

Each scenario is built so that the set of rules keeping a person out is known in advance; the
tests check that exactly that set is found, that the facts quoted are the checker's, and that
every item of the conflict is truly binding: applying its remedy to the scenario and solving
again places the person, in a plan the independent checker accepts.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from linegeo import gap_km, line_scenario

from placement.check import check_plan
from placement.conflicts import (
    CONFLICTS_FORMAT,
    UnplacedExplanation,
    _Budget,
    _Feasibility,
    apply_change,
    explain_unplaced,
)
from placement.objectives import THREAT_LEVELS
from placement.plan import plan_from_result
from placement.scenario import Scenario, load_scenario
from placement.solve import SolveResult, SolveSettings, solve_scenario

SETTINGS = SolveSettings(time_limit_s=20)
HOUSING_SHORTAGE = Path(__file__).resolve().parent.parent / "scenarios/housing-shortage.yaml"
RIVALS = [
    {"id": "N1", "territory": [], "rivals": ["N2"]},
    {"id": "N2", "territory": []},
]


def person(id: str, network: str = "N1", **keys: Any) -> dict[str, Any]:
    return {"id": id, "networks": [network], "origin": "A9", **keys}


def solved(scenario: Scenario) -> SolveResult:
    result = solve_scenario(scenario, SETTINGS)
    report = check_plan(scenario, plan_from_result(result))
    assert report.ok, report
    return result


def explain(scenario: Scenario, defector: str) -> UnplacedExplanation:
    result = solved(scenario)
    index = scenario.defector_index[defector]
    assert result.area_of(index) is None, f"{defector} was placed; the scenario is wrong"
    return explain_unplaced(result, index)


def assert_every_item_binding(scenario: Scenario, explanation: UnplacedExplanation) -> None:
    """Relaxing any item of the conflict (by its remedy) places the person in a checked plan."""
    index = scenario.defector_index[explanation.defector]
    assert explanation.conflict
    for item in explanation.conflict:
        assert item.change is not None, item.text
        assert item.replanned, item.remedy
        changed = apply_change(scenario, item.change)
        result = solve_scenario(changed, SETTINGS)
        assert result.area_of(index) is not None, (item.rule, item.change)
        report = check_plan(changed, plan_from_result(result))
        assert report.ok, report


# ---------------------------------------------------------------- keep apart


def keep_apart_case(**policy: Any) -> Scenario:
    """Two rivals; the only housing is in A3 and A4, 50 km apart; they must be 60 km apart."""
    return line_scenario(
        networks=RIVALS,
        defectors=[person("D1", threat_level=5), person("D2", "N2", threat_level=4)],
        housing={"A3": 1, "A4": 1},
        policy={"keep_apart_km": 60, **policy},
    )


def test_keep_apart_conflict_names_the_pair_and_the_more_threatened_person() -> None:
    scenario = keep_apart_case()
    explanation = explain(scenario, "D2")
    assert explanation.kind == "outcompeted"
    by_rule = {item.rule: item for item in explanation.conflict}
    assert sorted(by_rule) == ["capacity", "keep_apart"]  # minimal: nothing else
    pair = by_rule["keep_apart"]
    assert set(pair.defectors) == {"D1", "D2"}
    assert set(pair.areas) == {"A3", "A4"}
    assert gap_km(3, 4) == 50
    assert "D1 (threat level 5)" in pair.text
    assert "Area 3 to Area 4 50.0 km" in pair.text  # the checker's distance
    assert "at least 60 km apart (rival networks N1/N2)" in pair.text
    assert by_rule["capacity"].defectors == ("D2",)  # D2's own housing rule: only A3, A4
    assert explanation.summary.startswith(
        "D2 (threat level 4) cannot be placed without placing fewer people at threat level 4 "
        "or above: D2's own rules allow only Area 3 and Area 4; of the other areas, 8 fail on "
        "free housing alone;"
    )
    assert "D2 and D1 (threat level 5) must live at least 60 km apart" in explanation.summary
    assert_every_item_binding(scenario, explanation)


def test_keep_apart_remedy_is_the_largest_distance_that_frees_the_pair() -> None:
    scenario = keep_apart_case()
    explanation = explain(scenario, "D2")
    pair = next(item for item in explanation.conflict if item.rule == "keep_apart")
    assert pair.change == {"policy": {"keep_apart_km": 50.0}}
    assert pair.remedy is not None
    assert pair.remedy.startswith("keep_apart_km 50 km (now 60) would let D2 be placed")
    assert pair.remedy in explanation.remedies
    # Applying it and solving again places D2, and the plan passes the checker.
    changed = apply_change(scenario, pair.change)
    result = solved(changed)
    assert result.area_of(scenario.defector_index["D2"]) is not None
    # 50 km is the largest such value: one km more and D2 stays out.
    assert solved(keep_apart_case(keep_apart_km=51)).area_of(1) is None


# ---------------------------------------------------------------- capacity


def capacity_case(first_level: int, second_level: int) -> Scenario:
    """Two people of unrelated networks, one free housing unit in all (in A5)."""
    return line_scenario(
        networks=[{"id": "N1"}, {"id": "N2"}],
        defectors=[
            person("D1", threat_level=first_level),
            person("D2", "N2", threat_level=second_level),
        ],
        housing={"A5": 1},
    )


def test_capacity_conflict_with_a_more_threatened_person() -> None:
    scenario = capacity_case(5, 4)
    explanation = explain(scenario, "D2")
    assert explanation.kind == "outcompeted"
    shared = [i for i in explanation.conflict if i.rule == "capacity" and "D1" in i.defectors]
    assert len(shared) == 1
    assert shared[0].areas == ("A5",)
    assert shared[0].text.startswith("capacity: Area 5 has 1 free housing unit (1 in all)")
    assert shared[0].change == {"capacity": {"area": "A5", "housing_units": 2}}
    assert "Area 5's 1 free housing unit is also wanted by D1 (threat level 5)" in (
        explanation.summary
    )
    assert_every_item_binding(scenario, explanation)


def test_capacity_conflict_at_the_same_level_is_a_tie() -> None:
    scenario = capacity_case(3, 3)
    result = solved(scenario)
    unplaced = next(i for i in (0, 1) if result.area_of(i) is None)
    other = scenario.defectors[1 - unplaced].id
    explanation = explain_unplaced(result, unplaced)
    assert explanation.kind == "tie"
    assert (
        f"could be placed only in place of someone else of that threat level (one plan placing "
        f"{scenario.defectors[unplaced].id} leaves out {other})" in explanation.summary
    )
    assert any(i.rule == "capacity" and i.areas == ("A5",) for i in explanation.conflict)
    assert_every_item_binding(scenario, explanation)


def test_housing_the_person_cannot_use_is_not_said_to_be_theirs() -> None:
    """Three people, two free units: R can use only A5 (trauma care); P and Q also A7.

    The conflict is both areas' housing, but A7's item must not say R could live there.
    """
    no_trauma = ["exit_program", "psychiatric_care", "youth_services"]
    services = {f"A{i}": no_trauma for i in range(10)}
    services["A5"] = [*no_trauma, "trauma_care"]
    scenario = line_scenario(
        networks=[{"id": "N1"}, {"id": "N2"}, {"id": "N3"}],
        defectors=[
            person("R", threat_level=3, needs=["trauma_care"]),
            person("P", "N2", threat_level=4),
            person("Q", "N3", threat_level=4),
        ],
        housing={"A5": 1, "A7": 1},
        services=services,
    )
    explanation = explain(scenario, "R")
    by_area = {item.areas: item for item in explanation.conflict if item.rule == "capacity"}
    assert sorted(by_area) == [("A5",), ("A7",)]
    assert "R needs 1, and P and Q (threat level 4) could also use it" in by_area["A5",].text
    theirs = by_area["A7",].text
    assert "R needs" not in theirs
    cannot = "P and Q (threat level 4) could use it; R cannot (services: Area 7 (no trauma_care))"
    assert cannot in theirs


def test_when_relaxing_the_conflict_is_not_enough_the_next_one_is_given() -> None:
    """R and P (rivals) need trauma care, offered only in A5 (1 unit); A6 has a unit, none.

    The smallest conflict is the pair's keep-apart (A6 is 50 km from A5, they need 60), but
    relaxing it alone does not place R: A5's unit and A6's lack of trauma care still do.
    """
    no_trauma = ["exit_program", "psychiatric_care", "youth_services"]
    services = {f"A{i}": no_trauma for i in range(10)}
    services["A5"] = [*no_trauma, "trauma_care"]
    scenario = line_scenario(
        networks=RIVALS,
        defectors=[
            person("R", threat_level=3, needs=["trauma_care"]),
            person("P", "N2", threat_level=4, needs=["trauma_care"]),
        ],
        housing={"A5": 1, "A6": 1},
        services=services,
        policy={"keep_apart_km": 60},
    )
    explanation = explain(scenario, "R")
    assert [item.rule for item in explanation.conflict] == ["keep_apart"]
    assert [further.relaxing for further in explanation.further] == [("the keep-apart of R and P",)]
    assert [[item.rule for item in f.conflict] for f in explanation.further] == [
        ["capacity", "services"]
    ]
    assert (
        "relaxing the keep-apart of R and P alone is not enough: R's own rules allow only Area 5"
        in explanation.summary
    )
    # Each conflict alone is not enough, which is why the next one is shown ...
    apart = apply_change(scenario, {"policy": {"keep_apart_km": 0}})
    housing = {"capacity": {"area": "A5", "housing_units": 2}}
    for relaxed in (apart, apply_change(scenario, housing)):
        assert solved(relaxed).area_of(scenario.defector_index["R"]) is None
    # ... and relaxing one item of each is: keep-apart, and A5's housing.
    both = apply_change(apart, housing)
    assert solved(both).area_of(scenario.defector_index["R"]) is not None
    further = explanation.to_dict()["further"][0]
    assert further["relaxing"] == ["the keep-apart of R and P"]
    assert further["conflict"][0]["rule"] == "capacity"


def test_same_network_room_counts_those_already_there() -> None:
    """At most 2 of N1 per area, D0 of N1 already in A5: one more fits, and P takes it."""
    scenario = line_scenario(
        networks=[{"id": "N1"}],
        defectors=[
            person("D0", placed_in="A5"),
            person("P", threat_level=5),
            person("R", threat_level=3),
        ],
        housing={"A5": 3},
        policy={"max_same_network_per_area": 2},
    )
    explanation = explain(scenario, "R")
    assert (
        "Area 5 has room for 1 more of N1 (at most 2, 1 already there), also wanted by P "
        "(threat level 5)" in explanation.summary
    )
    assert_every_item_binding(scenario, explanation)


def full_trauma_care_case(extra: str) -> Scenario:
    """Trauma care only in A5 and A6 (1 unit each), taken by C and R (level 5); X (level 2,
    R's rival) needs it. ``extra`` has a unit without trauma care."""
    no_trauma = ["exit_program", "psychiatric_care", "youth_services"]
    services = {f"A{i}": no_trauma for i in range(10)}
    services["A5"] = services["A6"] = [*no_trauma, "trauma_care"]
    return line_scenario(
        networks=[{"id": "N1", "rivals": ["N2"]}, {"id": "N2"}, {"id": "N3"}, {"id": "N4"}],
        defectors=[
            person("X", threat_level=2, needs=["trauma_care"]),
            person("C", "N3", threat_level=5, needs=["trauma_care"], avoid=["A6"]),
            person("R", "N2", threat_level=5, needs=["trauma_care"], avoid=["A5"]),
            person("M", "N4", threat_level=1),
        ],
        housing={"A5": 1, "A6": 1, extra: 1},
        services=services,
        policy={"keep_apart_km": 60},
    )


def test_an_item_whose_relaxing_alone_is_not_enough_gets_the_conflict_that_remains() -> None:
    """{X-R keep-apart, X's trauma care}: trauma care in A8 places X; no keep-apart does not,
    as A5 and A6 are full: that second conflict is shown for the keep-apart item."""
    scenario = full_trauma_care_case("A8")
    explanation = explain(scenario, "X")
    assert [item.rule for item in explanation.conflict] == ["keep_apart", "services"]
    (further,) = explanation.further
    assert further.relaxing == ("the keep-apart of X and R",)
    assert [item.rule for item in further.conflict] == ["capacity", "capacity", "services"]
    assert (
        "relaxing the keep-apart of X and R alone is not enough: the free housing units in "
        "Area 5 (1) and Area 6 (1) are also wanted by C and R (threat level 5)"
    ) in explanation.summary
    x = scenario.defector_index["X"]
    apart = apply_change(scenario, {"policy": {"keep_apart_km": 0}})
    assert solved(apart).area_of(x) is None
    services = explanation.conflict[1]
    assert services.change is not None and services.replanned
    assert solved(apply_change(scenario, services.change)).area_of(x) is not None


def test_a_keep_apart_pair_quoted_in_an_area_the_person_cannot_use_says_so() -> None:
    explanation = explain(full_trauma_care_case("A7"), "X")
    pair = next(item for item in explanation.conflict if item.rule == "keep_apart")
    assert "too close: Area 6 to Area 7 50.0 km" in pair.text
    assert "X cannot use Area 7 (services: Area 7 (no trauma_care))" in pair.text


def test_no_item_with_a_checked_remedy_is_said_to_be_not_enough() -> None:
    """More housing in A5 places X (W moves there, X takes A6), though in the conflict model,
    where W's household does not fit A5 today, relaxing A5's housing alone leaves no place.
    The re-planned remedy is the truth; nothing may say "not enough" against it."""
    services: dict[str, list[str]] = {f"A{i}": [] for i in range(10)}
    services["A5"] = ["exit_program", "trauma_care", "psychiatric_care"]
    services["A6"] = ["exit_program", "trauma_care"]
    scenario = line_scenario(
        networks=[{"id": "N1"}, {"id": "N2"}],
        defectors=[
            person("Z", threat_level=4, needs=["psychiatric_care"]),
            person("W", "N2", threat_level=4, household=2, needs=["exit_program"]),
            person("X", threat_level=3, needs=["trauma_care"]),
        ],
        housing={"A5": 1, "A6": 2},
        services=services,
    )
    explanation = explain(scenario, "X")
    housing = next(i for i in explanation.conflict if i.areas == ("A5",) and i.rule == "capacity")
    assert housing.replanned and housing.change is not None
    assert solved(apply_change(scenario, housing.change)).area_of(2) is not None
    assert explanation.further == ()
    assert "not enough" not in explanation.summary


def test_every_item_whose_relaxing_alone_fails_is_named_however_many() -> None:
    """Trauma care in A1, A3, A5, A7, each with a rival of X there (Zk) and one next door
    (Yk, 50 km, 60 needed): no single pair or area explains it; none is left unnamed."""
    areas = [f"A{i}" for i in range(10)]
    trauma = ["A1", "A3", "A5", "A7"]
    services = {a: ["trauma_care"] if a in trauma else ["exit_program"] for a in areas}
    people = []
    for k, area in enumerate(trauma, start=1):
        beside = f"A{int(area[1:]) + 1}"
        others = [a for a in areas if a != area]
        people.append(person(f"Z{k}", "N2", threat_level=4, avoid=others))
        people.append(
            person(f"Y{k}", "N2", threat_level=4, avoid=[a for a in areas if a != beside])
        )
    people.append(person("X", "N1", threat_level=3, needs=["trauma_care"]))
    housing = {**{a: 2 for a in trauma}, **{f"A{int(a[1:]) + 1}": 1 for a in trauma}}
    scenario = line_scenario(
        networks=[{"id": "N1", "rivals": ["N2"]}, {"id": "N2"}],
        defectors=people,
        housing=housing,
        services=services,
        policy={"keep_apart_km": 60},
    )
    explanation = explain(scenario, "X")
    assert len(explanation.conflict) == 4
    named = {label for further in explanation.further for label in further.relaxing}
    assert len(named) == 4
    assert explanation.complete


def test_housing_the_person_cannot_use_is_not_said_to_be_wanted_also() -> None:
    """X avoids A5: the summary's "also wanted" must say X's own rules rule A5 out."""
    scenario = line_scenario(
        networks=[{"id": "N1"}, {"id": "N2"}, {"id": "N3"}],
        defectors=[
            person("Z2", threat_level=4, needs=["psychiatric_care"]),
            person("Z1", "N2", threat_level=4, needs=["exit_program"]),
            person("X", "N3", threat_level=3, needs=["trauma_care"], avoid=["A5"]),
        ],
        housing={"A5": 1, "A6": 1},
        services={
            **{f"A{i}": [] for i in range(10)},
            "A5": ["exit_program", "trauma_care", "psychiatric_care"],
            "A6": ["exit_program", "trauma_care"],
        },
    )
    explanation = explain(scenario, "X")
    assert "(X's own rules rule out Area 5)" in explanation.summary


# ---------------------------------------------------------------- no area at all


def no_area_case() -> Scenario:
    """trauma_care only in A1, 50 km from N1's territory (A0); the buffer is 100 km.

    Housing is everywhere, the origin buffer is 0: exactly threats and services conflict.
    """
    everything_but_trauma = ["exit_program", "psychiatric_care", "youth_services"]
    services = {f"A{i}": everything_but_trauma for i in range(10)}
    services["A1"] = ["exit_program", "trauma_care"]
    return line_scenario(
        networks=[{"id": "N1", "territory": ["A0"]}],
        defectors=[person("D1", needs=["trauma_care"])],
        services=services,
        default_housing=1,
    )


def test_no_area_conflict_is_exactly_the_rules_built_to_conflict() -> None:
    scenario = no_area_case()
    explanation = explain(scenario, "D1")
    assert explanation.kind == "no_area"
    assert [item.rule for item in explanation.conflict] == ["threats", "services"]
    assert explanation.summary == (
        "D1 (threat level 3) can be placed nowhere: no area is at least 100 km from the "
        "territory of N1 and offers trauma_care"
    )
    threats, services = explanation.conflict
    assert "Area 1 (50.0 km from Area 0, territory of N1)" in threats.text
    assert threats.change == {"defector": {"id": "D1", "threat_buffer_km": 50.0}}
    assert services.change is not None
    assert services.change["capacity"]["area"] == "A2"  # the first area far enough from A0
    assert_every_item_binding(scenario, explanation)


def test_a_rule_that_cannot_help_alone_says_so() -> None:
    # trauma_care only in A1, which is too close to N1's territory and on the avoid list: the
    # smallest conflict is threats + services, but relaxing threats alone frees no area (A1 is
    # still avoided), so the explanation must say so rather than promise a remedy.
    services = {f"A{i}": ["exit_program"] for i in range(10)}
    services["A1"] = ["exit_program", "trauma_care"]
    scenario = line_scenario(
        networks=[{"id": "N1", "territory": ["A0"]}],
        defectors=[person("D1", needs=["trauma_care"], avoid=["A1"])],
        services=services,
        default_housing=1,
    )
    explanation = explain(scenario, "D1")
    assert [item.rule for item in explanation.conflict] == ["threats", "services"]
    threats, services_item = explanation.conflict
    assert threats.change is None and threats.remedy is None
    assert "relaxing threats alone cannot help" in threats.text
    assert "also ruled out by services or avoid" in threats.text
    assert services_item.replanned
    assert explanation.remedies == (services_item.remedy,)


def test_nearest_misses_are_areas_only_the_rule_itself_rules_out() -> None:
    """R needs 2 units; A3 and A6 have 1 each, but A3 is too close to N1's territory (A2)."""
    scenario = line_scenario(
        networks=[{"id": "N1", "territory": ["A2"]}],
        defectors=[person("R", household=2)],
        housing={"A3": 1, "A6": 1},
    )
    explanation = explain(scenario, "R")
    assert [item.rule for item in explanation.conflict] == ["capacity"]
    text = explanation.conflict[0].text
    assert "nearest misses: Area 6 (1 free)" in text
    assert "Area 3" not in text


def test_a_remedy_that_unplaces_someone_else_says_whom() -> None:
    """R (level 4) needs 2 units; the only housing, 1 unit in A5, goes to P (level 2).

    One more unit in A5 places R, and then there is no room left for P: the remedy says so.
    """
    scenario = line_scenario(
        networks=[{"id": "N1"}, {"id": "N2"}],
        defectors=[person("R", threat_level=4, household=2), person("P", "N2", threat_level=2)],
        housing={"A5": 1},
    )
    explanation = explain(scenario, "R")
    item = explanation.conflict[0]
    assert item.change == {"capacity": {"area": "A5", "housing_units": 2}}
    assert item.unplaces == ("P",)
    assert item.remedy is not None
    assert item.remedy.endswith(
        "R goes to Area 5; P (threat level 2), placed in this plan, is then left unplaced)"
    )
    assert item.to_dict()["unplaces"] == ["P"]
    changed = solve_scenario(apply_change(scenario, item.change), SETTINGS)
    assert changed.area_of(scenario.defector_index["P"]) is None


# ---------------------------------------------------------------- a bundled scenario


@pytest.mark.slow
def test_housing_shortage_every_unplaced_person_is_explained_with_checked_remedies() -> None:
    scenario = load_scenario(HOUSING_SHORTAGE)
    result = solved(scenario)
    unplaced = [i for i in result.candidates.people if result.area_of(i) is None]
    assert len(unplaced) >= 10
    for index in unplaced:
        explanation = explain_unplaced(result, index)
        assert explanation.complete and explanation.conflict
        assert explanation.kind in {"no_area", "outcompeted", "tie"}
        for item in explanation.conflict:
            if not item.replanned:
                continue
            assert item.change is not None
            changed = apply_change(scenario, item.change)
            again = solve_scenario(changed, SETTINGS)
            assert again.area_of(index) is not None, (explanation.defector, item.change)
            assert check_plan(changed, plan_from_result(again)).ok


def test_the_conflict_model_accepts_the_plan_itself() -> None:
    """The explanation model must not be stricter than the planner's: for every person the
    plan placed, "place them and keep the plan's counts" is feasible, widened or not."""
    scenario = load_scenario(HOUSING_SHORTAGE)
    result = solved(scenario)
    people = scenario.defectors
    counts = {
        level: sum(1 for p in result.new_areas if people[p].threat_level == level)
        for level in THREAT_LEVELS
    }
    assert result.new_areas
    for index in result.new_areas:
        for widened in ([], [index]):
            model = _Feasibility(result.candidates, index, counts, widened=widened)
            feasible, _, _ = model.solve(sorted(model.literals), _Budget(10))
            assert feasible, (people[index].id, widened)


# ---------------------------------------------------------------- the answer itself


def test_explaining_a_placed_person_is_an_error() -> None:
    scenario = keep_apart_case()
    result = solved(scenario)
    with pytest.raises(ValueError, match="D1 is placed"):
        explain_unplaced(result, scenario.defector_index["D1"])


def test_a_plan_that_left_room_is_reported_as_such() -> None:
    scenario = capacity_case(5, 4)
    result = dataclasses.replace(solved(scenario), new_areas={})  # as if nobody were placed
    explanation = explain_unplaced(result, scenario.defector_index["D1"])
    assert explanation.kind == "placeable"
    assert explanation.conflict == ()
    assert "a better plan exists" in explanation.summary


def test_out_of_time_gives_a_partial_answer_that_says_so() -> None:
    scenario = no_area_case()
    result = solved(scenario)
    explanation = explain_unplaced(result, 0, time_limit_s=0)
    assert not explanation.complete
    assert [item.rule for item in explanation.conflict] == ["threats", "services"]
    assert any("time limit" in note for note in explanation.notes)
    competition = keep_apart_case()
    partial = explain_unplaced(solved(competition), 1, time_limit_s=0)
    assert not partial.complete and partial.conflict == ()


def test_to_dict_is_json_with_pinned_keys() -> None:
    explanation = explain(keep_apart_case(), "D2")
    data = json.loads(json.dumps(explanation.to_dict()))
    assert data["format"] == CONFLICTS_FORMAT
    assert list(data) == [
        "format",
        "defector",
        "threat_level",
        "kind",
        "summary",
        "conflict",
        "remedies",
        "notes",
        "complete",
        "further",
    ]
    assert list(data["conflict"][0]) == [
        "rule",
        "defectors",
        "areas",
        "text",
        "remedy",
        "change",
        "replanned",
        "unplaces",
    ]


def test_same_input_gives_the_same_explanation() -> None:
    scenario = keep_apart_case()
    first = explain(scenario, "D2").to_dict()
    second = explain(scenario, "D2").to_dict()
    assert first == second
