"""The neighbourhood search beside the secondary stage (placement.neighbourhood).

It re-solves one region of the plan at a time. What makes it safe to use: every plan it
keeps holds every rule (judged by the independent checker) and every proven count, it never
loses points, its rounds are reproducible, it finds plans that single moves cannot, and the
solver takes its plan only when the main search was cut short.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from linegeo import line_scenario
from test_end_to_end import line_scenarios
from test_hints import _assert_keeps_every_rule

import placement.solve as solve_module
from placement.hints import improve_plan
from placement.neighbourhood import NeighbourhoodSearch
from placement.objectives import secondary_objective, secondary_points
from placement.plan import plan_from_result
from placement.scenario import Scenario
from placement.solve import (
    SolveSession,
    SolveSettings,
    solve_primary,
    solve_scenario,
    start_session,
)

PARAMETERS = {"num_workers": 1, "random_seed": 0, "linearization_level": 2}


def _helper(session: SolveSession, start: dict[int, int], seed: int = 0) -> NeighbourhoodSearch:
    objective = secondary_objective(session.built)
    return NeighbourhoodSearch(session.built, objective, start, seed=seed, parameters=PARAMETERS)


def _counts(session: SolveSession, plan: dict[int, int]) -> list[int]:
    people = session.built.candidates.scenario.defectors
    return [sum(1 for p in plan if people[p].threat_level == level) for level in range(1, 6)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=line_scenarios())
def test_rounds_keep_every_rule_and_count_and_never_lose_points(scenario: Scenario) -> None:
    session = start_session(scenario, SolveSettings(time_limit_s=20))
    level_plan = solve_primary(session)
    helper = _helper(session, level_plan)
    helper.run(rounds=3)
    assert helper.rounds == (3 if session.built.assign else 0)
    candidates = session.built.candidates
    assert helper.best_points == secondary_points(candidates, helper.best)
    assert helper.best_points >= secondary_points(candidates, level_plan)
    assert _counts(session, helper.best) == _counts(session, level_plan)
    _assert_keeps_every_rule(session, helper.best)


# The line geography's areas A0..A9 are area indices 0..9, 10 km apart.
A5, A6 = 5, 6
#: Plans of the swap scenario: D1 and D2 where the other wishes to be, and where they wish to
#: be (the best plan but for the others, who score alike anywhere in A0..A4).
START = {0: A5, 1: A6, 2: 0, 3: 1, 4: 2, 5: 3, 6: 4}
SWAPPED = {**START, 0: A6, 1: A5}


def _swap_scenario() -> Scenario:
    """D1 in A5 wishes for A6, D2 in A6 for A5; five others fill A0..A4; one unit each."""
    others = [{"id": f"D{i}", "networks": [f"N{i}"], "origin": "A9"} for i in range(3, 8)]
    return line_scenario(
        networks=[{"id": f"N{i}"} for i in range(1, 8)],
        defectors=[
            {"id": "D1", "networks": ["N1"], "origin": "A9", "prefer": ["A6"]},
            {"id": "D2", "networks": ["N2"], "origin": "A9", "prefer": ["A5"]},
            *others,
        ],
        housing={f"A{i}": 1 for i in range(7)},
    )


def test_finds_a_swap_that_single_moves_cannot_make() -> None:
    session = start_session(_swap_scenario(), SolveSettings(time_limit_s=20))
    solve_primary(session)
    candidates = session.built.candidates
    assert improve_plan(candidates, START) == START  # no free area to move to
    helper = _helper(session, START)
    helper.run(rounds=30)
    assert helper.best == SWAPPED
    assert helper.improvements == 1
    assert helper.best_points > secondary_points(candidates, START)


def test_same_seed_and_start_give_the_same_rounds() -> None:
    def rounds(seed: int) -> tuple[dict[int, int], int]:
        session = start_session(_crowded_scenario(), SolveSettings(time_limit_s=20))
        start = solve_primary(session)
        helper = _helper(session, start, seed=seed)
        helper.run(rounds=4)
        return helper.best, helper.best_points

    assert rounds(5) == rounds(5)


def _crowded_scenario() -> Scenario:
    defectors = [
        {"id": f"D{i}", "networks": [f"N{i % 3}"], "origin": "A9", "threat_level": 1 + i % 5}
        for i in range(8)
    ]
    return line_scenario(
        networks=[{"id": "N0", "rivals": ["N1"]}, {"id": "N1"}, {"id": "N2"}],
        defectors=defectors,
        default_housing=2,
        policy={"keep_apart_km": 20},
    )


# ------------------------------------------------------------- how the solver uses its plan


class _FakeHelper:
    """Claims a plan worth more than any other, to see whether the solver takes it."""

    plan: ClassVar[dict[int, int]] = {}

    def __init__(self, built: Any, objective: Any, start: dict[int, int], **_: Any) -> None:
        self.best = dict(_FakeHelper.plan or start)
        self.best_points = 10**9
        self.rounds = self.improvements = 0
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True


def _cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the secondary stage end unproven with the level plan, as at a time limit."""
    real_stage = solve_module._stage

    def stage(session: Any, *, name: str, **keys: Any) -> Any:
        found = real_stage(session, name=name, **keys)
        if name.startswith("margins") and found is not None:
            session.result.stages[-1].status = "FEASIBLE"
            return keys["hint"], False
        return found

    monkeypatch.setattr(solve_module, "_stage", stage)


@pytest.mark.parametrize("proven", [True, False])
def test_its_plan_is_taken_only_when_the_stage_was_cut_short(
    monkeypatch: pytest.MonkeyPatch, proven: bool
) -> None:
    monkeypatch.setattr(solve_module, "spare_core", lambda workers: True)
    monkeypatch.setattr(solve_module, "NeighbourhoodSearch", _FakeHelper)
    monkeypatch.setattr(_FakeHelper, "plan", SWAPPED)
    if not proven:
        _cut_short(monkeypatch)
    result = solve_scenario(_swap_scenario(), SolveSettings(time_limit_s=20))
    helper = result.helpers[0]
    assert helper.started and helper.stopped
    last = result.stages[-1]
    plan = plan_from_result(result).model_dump(mode="json")
    assert plan["provenance"]["neighbourhood_search"] is True
    if proven:
        assert last.status == "OPTIMAL" and last.found_by is None
        assert "found_by" not in plan["metrics"]["stages"][-1]
        assert (result.new_areas[0], result.new_areas[1]) == (A6, A5)  # the main search's
    else:
        assert result.new_areas == SWAPPED
        assert last.found_by == "neighbourhood search"
        assert last.objective == 10**9  # the helper's claim, as the stage's best known value
        assert plan["metrics"]["stages"][-1]["found_by"] == "neighbourhood search"


def test_proven_stage_ignores_a_different_plan_the_helper_claims_better(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(solve_module, "spare_core", lambda workers: True)
    monkeypatch.setattr(solve_module, "NeighbourhoodSearch", _FakeHelper)
    monkeypatch.setattr(_FakeHelper, "plan", START)  # worse, claimed best
    result = solve_scenario(_swap_scenario(), SolveSettings(time_limit_s=20))
    assert result.status == "optimal"
    assert (result.new_areas[0], result.new_areas[1]) == (A6, A5)


def test_no_helper_without_a_spare_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solve_module, "spare_core", lambda workers: False)
    result = solve_scenario(_swap_scenario(), SolveSettings(time_limit_s=20))
    assert result.helpers == []
    plan = plan_from_result(result).model_dump(mode="json")
    assert "neighbourhood_search" not in plan["provenance"]
