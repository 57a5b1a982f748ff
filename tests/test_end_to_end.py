"""Whole-flow invariants: every plan the solver writes passes the independent checker.

Checked on every bundled scenario and on hypothesis-generated ones; the generated ones are
also compared against a brute-force optimum of the primary objective when they are small
enough to enumerate.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linegeo import line_scenario

from placement.candidates import Candidates
from placement.check import check_plan
from placement.generate import generate_tiny
from placement.plan import plan_from_result
from placement.scenario import Scenario, load_scenario, scenario_from_document
from placement.solve import SolveSettings, solve_scenario

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.yaml"))


def test_there_are_bundled_scenarios() -> None:
    names = {path.name for path in SCENARIOS}
    assert {"tutorial.yaml", "national.yaml", "housing-shortage.yaml"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_bundled_scenario_solves_to_a_plan_that_passes_check(path: Path) -> None:
    scenario = load_scenario(path)
    result = solve_scenario(scenario, SolveSettings(time_limit_s=120))
    plan = plan_from_result(result)
    report = check_plan(scenario, plan)
    assert report.ok, report.violations[:5] or report.structural[:5]
    assert not report.pre_existing
    assert result.primary_optimal
    listed = [a.defector for a in plan.assignments] + [u.defector for u in plan.unplaced]
    assert sorted(listed) == sorted(d.id for d in scenario.defectors)
    for entry in plan.unplaced:
        assert entry.reasons and all(reason.strip() for reason in entry.reasons)


def test_tutorial_places_everyone() -> None:
    scenario = load_scenario(Path(__file__).resolve().parent.parent / "scenarios/tutorial.yaml")
    plan = plan_from_result(solve_scenario(scenario))
    assert plan.status == "optimal"
    assert not plan.unplaced


def test_housing_shortage_leaves_people_unplaced_with_reasons() -> None:
    path = Path(__file__).resolve().parent.parent / "scenarios/housing-shortage.yaml"
    scenario = load_scenario(path)
    plan = plan_from_result(solve_scenario(scenario))
    assert plan.unplaced
    assert any("housing" in " ".join(u.reasons) for u in plan.unplaced)


def _brute_force_levels(scenario: Scenario) -> tuple[int, ...]:
    """The best placed-per-level vector (levels 5..1) by enumerating every assignment.

    Uses the same candidate filter as the model (a plan outside it breaks a single-person
    rule) and checks the coupled rules with the independent checker.
    """
    from placement.plan import Assignment, Plan, Unplaced

    candidates = Candidates(scenario)
    people = sorted(candidates.people)
    options = [[None, *candidates.people[p].areas] for p in people]
    best: tuple[int, ...] = (0, 0, 0, 0, 0)
    fixed = [
        Assignment(defector=d.id, area=scenario.geography.ids[d.placed_in])
        for d in scenario.placed
        if d.placed_in is not None
    ]
    for choice in itertools.product(*options):
        levels = [0] * 5
        for p, area in zip(people, choice, strict=True):
            if area is not None:
                levels[5 - scenario.defectors[p].threat_level] += 1
        if tuple(levels) <= best:
            continue
        plan = Plan(
            status="feasible",
            assignments=fixed
            + [
                Assignment(defector=scenario.defectors[p].id, area=scenario.geography.ids[a])
                for p, a in zip(people, choice, strict=True)
                if a is not None
            ],
            unplaced=[
                Unplaced(defector=scenario.defectors[p].id, reasons=["-"])
                for p, a in zip(people, choice, strict=True)
                if a is None
            ],
        )
        if check_plan(scenario, plan).ok:
            best = tuple(levels)
    return best


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=10**6))
def test_generated_scenarios_solve_to_plans_that_pass_check(seed: int) -> None:
    scenario = scenario_from_document(generate_tiny(seed=seed), sha256="generated")
    result = solve_scenario(scenario, SolveSettings(time_limit_s=30))
    plan = plan_from_result(result)
    report = check_plan(scenario, plan)
    assert report.ok, (seed, report.violations[:3], report.structural[:3])
    assert result.primary_optimal


@st.composite
def line_scenarios(draw: st.DrawFn) -> Scenario:
    """Small random scenarios on the 10-area line geography, small enough to enumerate."""
    network_count = draw(st.integers(2, 3))
    names = [f"N{i}" for i in range(network_count)]
    networks = []
    for i, name in enumerate(names):
        networks.append(
            {
                "id": name,
                "territory": draw(st.lists(st.sampled_from(AREAS), max_size=2, unique=True)),
                "rivals": [n for n in names[i + 1 :] if draw(st.sampled_from([True, True, False]))],
            }
        )
    placed = draw(st.integers(0, 2))
    pending = draw(st.integers(2, 5))
    defectors = []
    for i in range(placed + pending):
        person = {
            "id": f"D{i}",
            "networks": [draw(st.sampled_from(names))],
            "origin": draw(st.sampled_from(AREAS)),
            "household": draw(st.integers(1, 2)),
            "threat_level": draw(st.integers(1, 5)),
        }
        if i < placed:
            person["placed_in"] = draw(st.sampled_from(AREAS))
        defectors.append(person)
    # Scarce housing and wide keep-apart distances make people compete for areas.
    housing = {area: draw(st.sampled_from([0, 0, 1, 1, 2])) for area in AREAS}
    policy = {
        "threat_buffer_km": draw(st.sampled_from([0, 50, 110])),
        "keep_apart_km": draw(st.sampled_from([50, 110, 170, 230])),
        "max_same_network_per_area": draw(st.integers(1, 2)),
    }
    return line_scenario(networks=networks, defectors=defectors, housing=housing, policy=policy)


AREAS = [f"A{i}" for i in range(10)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=line_scenarios())
def test_primary_objective_equals_brute_force_optimum(scenario: Scenario) -> None:
    result = solve_scenario(scenario, SolveSettings(time_limit_s=30))
    plan = plan_from_result(result)
    report = check_plan(scenario, plan)
    assert report.ok, (report.violations[:3], report.structural[:3])
    levels = [0] * 5
    for index in result.new_areas:
        levels[5 - scenario.defectors[index].threat_level] += 1
    assert tuple(levels) == _brute_force_levels(scenario)
