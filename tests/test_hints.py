"""The search's starting plans (placement.hints): completed greedily, making room by one move,
and improved for the secondary objective.

A starting plan is only a hint, so these tests hold it to what makes it useful: it keeps every
rule (judged by the independent checker), keeps everyone it was given, moves one person when
that lets a newcomer in, and moves people to areas worth more secondary points.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linegeo import line_scenario
from test_end_to_end import line_scenarios

from placement.candidates import Candidates
from placement.check import check_plan
from placement.hints import complete_plan, improve_plan
from placement.objectives import CROWDING_POINTS, secondary_points
from placement.plan import plan_from_result
from placement.scenario import Scenario
from placement.solve import SolveSession, start_session

NETWORKS = [{"id": "N1", "rivals": ["N2"]}, {"id": "N2"}]
EVERY_SERVICE = ["exit_program", "trauma_care", "psychiatric_care", "addiction_treatment"]


def person(id: str, network: str = "N1", **keys: Any) -> dict[str, Any]:
    return {"id": id, "networks": [network], "origin": "A9", "threat_level": 3, **keys}


def candidates_of(scenario: Scenario) -> Candidates:
    return start_session(scenario).built.candidates


# The line geography's areas A0..A9 are area indices 0..9.
A3, A4, A5, A6, A7 = 3, 4, 5, 6, 7


def test_newcomer_takes_the_only_area_left_after_one_move_for_housing() -> None:
    # D2 needs trauma care, offered only in A3; D1 can live in A3 or A5, one unit each.
    scenario = line_scenario(
        networks=NETWORKS,
        defectors=[person("D1"), person("D2", "N2", needs=["trauma_care"])],
        housing={"A3": 1, "A5": 1},
        services={"A3": EVERY_SERVICE, "A5": ["exit_program"]},
    )
    completed = complete_plan(candidates_of(scenario), {0: A3})
    assert completed == {0: A5, 1: A3}


def test_one_move_keeps_rivals_apart() -> None:
    # D2 (rival network) can only use A4, 50 km from A3; D1 can also live in A7.
    scenario = line_scenario(
        networks=NETWORKS,
        defectors=[person("D1"), person("D2", "N2", needs=["trauma_care"])],
        housing={"A3": 1, "A4": 1, "A7": 1},
        services={"A3": ["exit_program"], "A4": EVERY_SERVICE, "A7": ["exit_program"]},
        policy={"keep_apart_km": 60},
    )
    completed = complete_plan(candidates_of(scenario), {0: A3})
    assert completed == {0: A7, 1: A4}


def test_one_move_frees_the_networks_place() -> None:
    scenario = line_scenario(
        networks=NETWORKS,
        defectors=[person("D1"), person("D2", needs=["trauma_care"])],
        housing={"A3": 2, "A5": 1},
        services={"A3": EVERY_SERVICE, "A5": ["exit_program"]},
    )
    completed = complete_plan(candidates_of(scenario), {0: A3})
    assert completed == {0: A5, 1: A3}


def test_nobody_moves_when_the_blocker_has_nowhere_else() -> None:
    scenario = line_scenario(
        networks=NETWORKS,
        defectors=[person("D1"), person("D2", "N2")],
        housing={"A3": 1},
    )
    assert complete_plan(candidates_of(scenario), {0: A3}) == {0: A3}


def test_nobody_moves_when_two_would_have_to() -> None:
    # A3 has two units, both used by D1 and D3; D2's household needs both.
    scenario = line_scenario(
        networks=[{"id": "N1"}, {"id": "N2"}, {"id": "N3"}],
        defectors=[
            person("D1"),
            person("D2", "N2", household=2, needs=["trauma_care"]),
            person("D3", "N3"),
        ],
        housing={"A3": 2, "A5": 2},
        services={"A3": EVERY_SERVICE, "A5": ["exit_program"]},
    )
    start = {0: A3, 2: A3}
    assert complete_plan(candidates_of(scenario), start) == start


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=line_scenarios(), keep=st.lists(st.booleans(), min_size=12, max_size=12))
def test_completed_plan_keeps_every_rule_and_everyone_given(
    scenario: Scenario, keep: list[bool]
) -> None:
    session = start_session(scenario)
    candidates = session.built.candidates
    first = complete_plan(candidates, {})
    given_plan = {p: a for p, a in first.items() if keep[p % len(keep)]}
    completed = complete_plan(candidates, given_plan)
    assert set(given_plan) <= set(completed)
    _assert_keeps_every_rule(session, completed)


def _assert_keeps_every_rule(session: SolveSession, plan: dict[int, int]) -> None:
    """Everyone is in one of their candidate areas, and the checker finds nothing wrong."""
    candidates = session.built.candidates
    assert all(plan[p] in candidates.people[p].areas for p in plan)
    session.result.new_areas = plan
    report = check_plan(candidates.scenario, plan_from_result(session.result))
    assert report.ok, (report.violations[:3], report.structural[:3])


def test_improved_plan_moves_a_person_to_a_wished_for_area_with_room() -> None:
    scenario = line_scenario(
        networks=NETWORKS,
        defectors=[person("D1", prefer=["A6"]), person("D2", "N2", prefer=["A7"])],
        housing={"A3": 1, "A6": 1, "A7": 0},
    )
    candidates = candidates_of(scenario)
    start = {0: A3}
    improved = improve_plan(candidates, start)
    assert improved == {0: A6}
    assert secondary_points(candidates, improved) > secondary_points(candidates, start)
    # A7 has no housing: D2 may wish for it, but stays where the plan put them.
    assert improve_plan(candidates_of(scenario), {1: A3}) == {1: A3}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=line_scenarios(), keep=st.lists(st.booleans(), min_size=12, max_size=12))
def test_improved_plan_keeps_every_rule_and_everyone_and_never_scores_less(
    scenario: Scenario, keep: list[bool]
) -> None:
    session = start_session(scenario)
    candidates = session.built.candidates
    start = {p: a for p, a in complete_plan(candidates, {}).items() if keep[p % len(keep)]}
    improved = improve_plan(candidates, start)
    assert set(improved) == set(start)
    assert secondary_points(candidates, improved) >= secondary_points(candidates, start)
    _assert_keeps_every_rule(session, improved)


def test_improved_plan_spreads_newcomers_sharing_an_area() -> None:
    # Two people of unrelated networks share A5; A6 is as good for either and has room.
    networks = [{"id": "N1"}, {"id": "N3"}]
    scenario = line_scenario(
        networks=networks,
        defectors=[person("D1"), person("D2", "N3")],
        housing={"A5": 2, "A6": 1},
    )
    candidates = candidates_of(scenario)
    improved = improve_plan(candidates, {0: A5, 1: A5})
    assert sorted(improved.values()) == [A5, A6]
    assert (
        secondary_points(candidates, improved)
        == secondary_points(candidates, {0: A5, 1: A5}) + CROWDING_POINTS
    )
