"""The solver, rule by rule: each rule in a penalized / not-penalized pair on the line geography.

In every pair the solver would choose a rule-breaking area if the rule were missing (it is the
only area with housing, or the otherwise preferred one), so a solver that ignored the rule
would fail the test. Every plan is also verified by the independent checker.
"""

from __future__ import annotations

from typing import Any

import pytest
from linegeo import gap_km, line_scenario

import placement.solve as solve_module
from placement.check import check_plan
from placement.objectives import score_parts, secondary_points
from placement.plan import Plan, plan_from_result
from placement.scenario import Scenario, scenario_from_document
from placement.solve import SolveSettings, solve_scenario


def solve(scenario: Scenario) -> Plan:
    plan = plan_from_result(solve_scenario(scenario, SolveSettings(time_limit_s=20)))
    report = check_plan(scenario, plan)
    assert report.ok, report
    return plan


def area_of(plan: Plan, defector: str) -> str | None:
    for entry in plan.assignments:
        if entry.defector == defector:
            return entry.area
    return None


def reasons_of(plan: Plan, defector: str) -> str:
    for entry in plan.unplaced:
        if entry.defector == defector:
            return " ".join(entry.reasons)
    raise AssertionError(f"{defector} is not unplaced")


def person(**keys: Any) -> dict[str, Any]:
    return {"networks": ["N1"], "origin": "A9", **keys}


NET = [{"id": "N1", "territory": ["A0"]}]


# ---------------------------------------------------------------- threats


def test_threats_area_too_close_to_territory_is_not_used() -> None:
    # A1 is 50 km from N1's territory A0: below the 100 km buffer.
    assert gap_km(0, 1) == 50
    scenario = line_scenario(networks=NET, defectors=[person(id="D1")], housing={"A1": 1})
    plan = solve(scenario)
    assert area_of(plan, "D1") is None
    assert "at least 100 km from the territories of N1" in reasons_of(plan, "D1")


def test_threats_area_beyond_buffer_is_used() -> None:
    scenario = line_scenario(networks=NET, defectors=[person(id="D1")], housing={"A1": 1, "A2": 1})
    assert area_of(solve(scenario), "D1") == "A2"  # 110 km >= 100 km


def test_threats_include_rivals_territory_and_per_person_buffer() -> None:
    networks = [
        {"id": "N1", "territory": [], "rivals": ["N2"]},
        {"id": "N2", "territory": ["A5"]},
    ]
    # A3 is 110 km from A5: fine with the default 100 km, not with a 150 km override.
    default = line_scenario(networks=networks, defectors=[person(id="D1")], housing={"A3": 1})
    assert area_of(solve(default), "D1") == "A3"
    strict = line_scenario(
        networks=networks, defectors=[person(id="D1", threat_buffer_km=150)], housing={"A3": 1}
    )
    assert area_of(solve(strict), "D1") is None


def test_allies_of_rivals_threaten_only_when_policy_says_so() -> None:
    networks = [
        {"id": "N1", "territory": [], "rivals": ["N2"]},
        {"id": "N2", "territory": [], "allies": ["N3"]},
        {"id": "N3", "territory": ["A4"]},
    ]
    defectors = [person(id="D1")]
    relaxed = line_scenario(networks=networks, defectors=defectors, housing={"A5": 1})
    assert area_of(solve(relaxed), "D1") == "A5"
    strict = line_scenario(
        networks=networks,
        defectors=defectors,
        housing={"A5": 1},
        policy={"allies_of_rivals_threaten": True},
    )
    assert area_of(solve(strict), "D1") is None


# ---------------------------------------------------------------- origin


def test_origin_area_too_close_is_not_used() -> None:
    scenario = line_scenario(
        networks=[{"id": "N1"}],
        defectors=[person(id="D1", origin="A8")],
        housing={"A7": 1},
        policy={"origin_buffer_km": 100},
    )
    plan = solve(scenario)
    assert area_of(plan, "D1") is None
    assert "from the origin Area 8" in reasons_of(plan, "D1")


def test_origin_area_far_enough_is_used() -> None:
    scenario = line_scenario(
        networks=[{"id": "N1"}],
        defectors=[person(id="D1", origin="A8")],
        housing={"A7": 1, "A6": 1},
        policy={"origin_buffer_km": 100},
    )
    assert area_of(solve(scenario), "D1") == "A6"


# ---------------------------------------------------------------- keep apart


RIVALS = [
    {"id": "N1", "territory": [], "rivals": ["N2"]},
    {"id": "N2", "territory": []},
]


def test_keep_apart_from_placed_rival() -> None:
    scenario = line_scenario(
        networks=RIVALS,
        defectors=[
            {"id": "P", "networks": ["N2"], "origin": "A9", "placed_in": "A3"},
            person(id="D1"),
        ],
        housing={"A3": 1, "A4": 1},  # A4 is 50 km from A3: not below 50, allowed
        policy={"keep_apart_km": 51},
    )
    plan = solve(scenario)
    assert area_of(plan, "D1") is None
    assert area_of(plan, "P") == "A3"


def test_keep_apart_between_two_pending_rivals() -> None:
    defectors = [
        person(id="D1", threat_level=5),
        {"id": "D2", "networks": ["N2"], "origin": "A9", "threat_level": 4},
    ]
    close = line_scenario(
        networks=RIVALS,
        defectors=defectors,
        housing={"A3": 1, "A4": 1},
        policy={"keep_apart_km": 60},
    )
    plan = solve(close)
    assert area_of(plan, "D1") is not None  # the more threatened one wins the place
    assert area_of(plan, "D2") is None
    assert "within 60 km of D1" in reasons_of(plan, "D2")
    far = line_scenario(
        networks=RIVALS,
        defectors=defectors,
        housing={"A3": 1, "A5": 1},
        policy={"keep_apart_km": 60},
    )
    plan = solve(far)
    assert {area_of(plan, "D1"), area_of(plan, "D2")} == {"A3", "A5"}


def test_keep_apart_from_listed_person_of_same_network() -> None:
    defectors = [person(id="D1", keep_apart_from=["D2"]), person(id="D2")]
    scenario = line_scenario(
        networks=[{"id": "N1"}],
        defectors=defectors,
        housing={"A3": 1, "A4": 1},
        policy={"keep_apart_km": 60, "max_same_network_per_area": 5},
    )
    plan = solve(scenario)
    assert [area_of(plan, "D1"), area_of(plan, "D2")].count(None) == 1


def test_keep_apart_by_network_lets_members_of_one_network_live_near_each_other() -> None:
    # With max_same_network_per_area 1, the rows are per (network, area, rival person): X1
    # and X2 (both N1) may live in neighbouring areas A3 and A4 while their rival Y (N2) is
    # in A6, 110 km from A4. Summing the members over areas near each other would forbid it.
    defectors = [
        person(id="X1"),
        person(id="X2"),
        {"id": "Y", "networks": ["N2"], "origin": "A9"},
        {"id": "Y2", "networks": ["N2"], "origin": "A9"},
    ]
    scenario = line_scenario(
        networks=RIVALS,
        defectors=defectors,
        housing={"A3": 1, "A4": 1, "A6": 1, "A7": 1},
        policy={"keep_apart_km": 60},
    )
    plan = solve(scenario)
    pairs = [{area_of(plan, "X1"), area_of(plan, "X2")}, {area_of(plan, "Y"), area_of(plan, "Y2")}]
    assert pairs in ([{"A3", "A4"}, {"A6", "A7"}], [{"A6", "A7"}, {"A3", "A4"}])


def test_keep_apart_by_network_is_not_used_above_one_per_network() -> None:
    # With max_same_network_per_area 2, two members of N1 may share A3 (Y, their rival, goes
    # to A6 rather than A2, close to A3); a per-network row (at most one member of N1 in A3,
    # whenever Y could be close) would forbid it.
    defectors = [
        person(id="X1", avoid=["A2"]),
        person(id="X2", avoid=["A2"]),
        {"id": "Y", "networks": ["N2"], "origin": "A9"},
    ]
    scenario = line_scenario(
        networks=RIVALS,
        defectors=defectors,
        housing={"A3": 2, "A2": 1, "A6": 1},
        policy={"keep_apart_km": 60, "max_same_network_per_area": 2},
    )
    plan = solve(scenario)
    assert area_of(plan, "X1") == area_of(plan, "X2") == "A3"
    assert area_of(plan, "Y") == "A6"


@pytest.mark.parametrize(
    ("x_networks", "y_networks"),
    [
        (["N1", "N3"], ["N2", "N3"]),  # they also share a network
        (["N1"], ["N1", "N2"]),  # Y belongs to both sides of the rivalry
        (["N1", "N2"], ["N2"]),  # and so does X
    ],
)
def test_keep_apart_by_network_still_separates_rivals_in_several_networks(
    x_networks: list[str], y_networks: list[str]
) -> None:
    networks = [*RIVALS, {"id": "N3", "territory": []}]
    defectors = [
        {"id": "X", "networks": x_networks, "origin": "A9", "avoid": ["A0"]},
        {"id": "Y", "networks": y_networks, "origin": "A9", "avoid": ["A0"]},
        # another member of N1, far away in A0, so that rows sum over several members
        person(id="X2", avoid=["A3", "A4", "A5"]),
    ]
    close = line_scenario(
        networks=networks,
        defectors=defectors,
        housing={"A3": 1, "A4": 1, "A0": 1},
        policy={"keep_apart_km": 60},
    )
    plan = solve(close)
    assert [area_of(plan, "X"), area_of(plan, "Y")].count(None) == 1
    far = line_scenario(
        networks=networks,
        defectors=defectors,
        housing={"A3": 1, "A5": 1, "A0": 1},
        policy={"keep_apart_km": 60},
    )
    plan = solve(far)
    assert {area_of(plan, "X"), area_of(plan, "Y")} == {"A3", "A5"}


def test_keep_apart_from_list_next_to_rivalries() -> None:
    # A listed pair without a rivalry keeps its own rows when rivalry rows are aggregated.
    defectors = [
        person(id="D1", keep_apart_from=["D2"], avoid=["A8"]),
        {"id": "D2", "networks": ["N3"], "origin": "A9", "avoid": ["A8"]},
        {"id": "R", "networks": ["N2"], "origin": "A9"},
    ]
    scenario = line_scenario(
        networks=[*RIVALS, {"id": "N3", "territory": []}],
        defectors=defectors,
        housing={"A3": 1, "A4": 1, "A8": 1},
        policy={"keep_apart_km": 60},
    )
    plan = solve(scenario)
    assert [area_of(plan, "D1"), area_of(plan, "D2")].count(None) == 1
    assert area_of(plan, "R") == "A8"


def test_greedy_hint_extension_keeps_every_rule() -> None:
    from placement.generate import generate_scenario
    from placement.hints import complete_plan
    from placement.plan import plan_from_result
    from placement.solve import start_session

    document = generate_scenario(seed=3, networks=20, placed=100, pending=60)
    scenario = scenario_from_document(document, sha256="test")
    session = start_session(scenario)
    extended = complete_plan(session.built.candidates, {})
    assert len(extended) > 30
    session.result.new_areas = extended
    report = check_plan(scenario, plan_from_result(session.result))
    assert report.ok, report


# ---------------------------------------------------------------- same network


def test_same_network_limit_per_area() -> None:
    defectors = [person(id="D1"), person(id="D2")]
    one = line_scenario(networks=[{"id": "N1"}], defectors=defectors, housing={"A5": 2})
    plan = solve(one)
    assert [area_of(plan, "D1"), area_of(plan, "D2")].count("A5") == 1
    two = line_scenario(
        networks=[{"id": "N1"}],
        defectors=defectors,
        housing={"A5": 2},
        policy={"max_same_network_per_area": 2},
    )
    plan = solve(two)
    assert area_of(plan, "D1") == area_of(plan, "D2") == "A5"


# ---------------------------------------------------------------- capacity


def test_capacity_household_must_fit() -> None:
    scenario = line_scenario(
        networks=[{"id": "N1"}], defectors=[person(id="D1", household=3)], housing={"A5": 2}
    )
    plan = solve(scenario)
    assert area_of(plan, "D1") is None
    assert reasons_of(plan, "D1") == "no area has 3 free housing units"
    roomy = line_scenario(
        networks=[{"id": "N1"}], defectors=[person(id="D1", household=3)], housing={"A5": 3}
    )
    assert area_of(solve(roomy), "D1") == "A5"


def test_capacity_counts_already_placed_households() -> None:
    scenario = line_scenario(
        networks=[{"id": "N1"}, {"id": "N2"}],
        defectors=[
            {"id": "P", "networks": ["N2"], "origin": "A9", "placed_in": "A5", "household": 2},
            person(id="D1"),
        ],
        housing={"A5": 2},
    )
    assert area_of(solve(scenario), "D1") is None


# ---------------------------------------------------------------- services and avoid


def test_services_needed_must_be_offered() -> None:
    offered = {"A4": ["exit_program"], "A6": ["exit_program", "trauma_care"]}
    scenario = line_scenario(
        networks=[{"id": "N1"}],
        defectors=[person(id="D1", needs=["trauma_care"], prefer=["A4"])],
        housing={"A4": 1, "A6": 1},
        services=offered,
    )
    assert area_of(solve(scenario), "D1") == "A6"


def test_minor_needs_youth_services() -> None:
    offered = {"A4": ["exit_program"], "A6": ["youth_services"]}
    minor = line_scenario(
        networks=[{"id": "N1"}],
        defectors=[person(id="D1", age=16, prefer=["A4"])],
        housing={"A4": 1, "A6": 1},
        services=offered,
    )
    assert area_of(solve(minor), "D1") == "A6"
    adult = line_scenario(
        networks=[{"id": "N1"}],
        defectors=[person(id="D1", age=19, prefer=["A4"])],
        housing={"A4": 1, "A6": 1},
        services=offered,
    )
    assert area_of(solve(adult), "D1") == "A4"


def test_avoid_list_is_honoured() -> None:
    scenario = line_scenario(
        networks=[{"id": "N1"}],
        defectors=[person(id="D1", avoid=["A4"], prefer=["A4"])],
        housing={"A4": 1, "A6": 1},
    )
    assert area_of(solve(scenario), "D1") == "A6"
    only = line_scenario(
        networks=[{"id": "N1"}], defectors=[person(id="D1", avoid=["A4"])], housing={"A4": 1}
    )
    plan = solve(only)
    assert reasons_of(plan, "D1").startswith(
        "no area outside the avoid list has 1 free housing unit (9 areas are not on the avoid"
    )
    nowhere = line_scenario(
        networks=[{"id": "N1"}],
        defectors=[person(id="D1", avoid=[f"A{i}" for i in range(10)])],
        default_housing=1,
    )
    assert reasons_of(solve(nowhere), "D1") == "every area is on the avoid list"


# ---------------------------------------------------------------- objectives


def test_most_threatened_first_beats_head_count() -> None:
    # One level-5 person competes with two level-4 people for the only two units of A5 (the
    # level-5 household needs both): lexicographic order places the level-5 person.
    defectors = [
        person(id="H", threat_level=5, household=2),
        {"id": "L1", "networks": ["N2"], "origin": "A9", "threat_level": 4},
        {"id": "L2", "networks": ["N3"], "origin": "A9", "threat_level": 4},
    ]
    scenario = line_scenario(
        networks=[{"id": "N1"}, {"id": "N2"}, {"id": "N3"}],
        defectors=defectors,
        housing={"A5": 2},
    )
    plan = solve(scenario)
    assert area_of(plan, "H") == "A5"
    assert area_of(plan, "L1") is None and area_of(plan, "L2") is None
    assert plan.model_extra is not None
    assert plan.model_extra["metrics"]["pending_by_threat_level"]["5"] == {
        "placed": 1,
        "unplaced": 0,
    }


def test_secondary_prefers_wider_margin_and_wishes() -> None:
    scenario = line_scenario(networks=NET, defectors=[person(id="D1")], housing={"A2": 1, "A4": 1})
    assert area_of(solve(scenario), "D1") == "A4"  # wider safety margin
    wish = line_scenario(
        networks=NET, defectors=[person(id="D1", prefer=["A2"])], housing={"A2": 1, "A4": 1}
    )
    # margin at A2 is 10 km, at A4 230 km (capped at 100): 90 points for margin vs 50 for
    # the wish -> still A4 at threat level 3 ... at level 1 the wish wins (90*1 - 50 > 0? no:
    # 90 > 50), so the wish only wins when margins are equal.
    assert area_of(solve(wish), "D1") == "A4"
    equal = line_scenario(
        networks=NET, defectors=[person(id="D1", prefer=["A5"])], housing={"A4": 1, "A5": 1}
    )
    assert area_of(solve(equal), "D1") == "A5"  # both beyond the margin cap


def _secondary_scenario() -> Scenario:
    """Rivals and kin over the line, more people than the safest areas hold."""
    defectors = [person(id=f"D{i}", threat_level=1 + i % 5, prefer=["A6"]) for i in range(6)] + [
        {"id": f"R{i}", "networks": ["N2"], "origin": "A9", "threat_level": 1 + i % 3}
        for i in range(4)
    ]
    return line_scenario(
        networks=RIVALS, defectors=defectors, default_housing=1, policy={"keep_apart_km": 30}
    )


def test_secondary_stage_value_is_the_plans_secondary_points() -> None:
    """The model's secondary objective and ``secondary_points`` score a plan alike."""
    result = solve_scenario(_secondary_scenario(), SolveSettings(time_limit_s=20))
    assert result.status == "optimal"
    last = result.stages[-1]
    assert last.name == "margins, waits, wishes, spread"
    assert last.objective == secondary_points(result.candidates, result.new_areas)


def test_secondary_stage_hint_is_the_level_plan_complete_with_crowding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every variable is hinted, crowding as the hinted plan implies, so CP-SAT can take the
    level plan as its first solution of that stage."""
    real_run = solve_module._run
    seen: dict[str, Any] = {}

    def run(session: Any, name: str, parameters: Any = None) -> Any:
        if name.startswith("margins"):
            proto = session.built.model.proto
            hint = proto.solution_hint
            seen["hint"] = dict(zip(hint.vars, hint.values, strict=True))
            seen["variables"] = len(proto.variables)
            seen["built"] = session.built
            seen["parameters"] = dict(parameters or {})
        return real_run(session, name, parameters)

    monkeypatch.setattr(solve_module, "_run", run)
    crowded = line_scenario(
        networks=NET,
        defectors=[person(id=f"D{i}", threat_level=1 + i % 5) for i in range(8)],
        housing={"A5": 4, "A6": 4},
        policy={"max_same_network_per_area": 4},
    )
    result = solve_scenario(crowded, SolveSettings(time_limit_s=20))
    assert result.status == "optimal"
    hint, built = seen["hint"], seen["built"]
    assert len(hint) == seen["variables"]
    newcomers: dict[int, int] = {}
    for (_, area), var in built.assign.items():
        newcomers[area] = newcomers.get(area, 0) + hint[var.index]
    assert any(count > 1 for count in newcomers.values())  # some crowding to hint
    assert built.crowding
    for area, crowding in built.crowding.items():
        assert hint[crowding.index] == max(newcomers[area] - 1, 0)
    assert seen["parameters"]["hint_conflict_limit"] == 0  # taken as given, not searched


@pytest.mark.parametrize("outcome", ["nothing", "worse"])
def test_secondary_stage_keeps_the_level_plan_unless_it_finds_better(
    monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    """Out of time with no plan, or with a worse one: the last level's plan is the answer
    (here without the neighbourhood search beside the stage, whose plan could be better)."""
    monkeypatch.setattr(solve_module, "spare_core", lambda workers: False)
    real_stage = solve_module._stage
    level_plans: list[dict[int, int]] = []

    def stage(session: Any, *, name: str, **keys: Any) -> Any:
        found = real_stage(session, name=name, **keys)
        if name.startswith("placed at"):
            assert found is not None
            level_plans.append(found[0])
            return found
        session.result.stages[-1].status = "FEASIBLE"
        if outcome == "nothing":
            session.result.stages[-1].objective = None
            return None
        # The level plan with one person in their worst-scoring area: fewer points.
        worse = dict(level_plans[-1])
        candidates = session.built.candidates
        who = next(iter(worse))
        worse[who] = min(
            candidates.people[who].areas,
            key=lambda a: score_parts(candidates, candidates.people[who], a).total,
        )
        assert secondary_points(candidates, worse) < secondary_points(candidates, level_plans[-1])
        return worse, False

    monkeypatch.setattr(solve_module, "_stage", stage)
    result = solve_scenario(_secondary_scenario(), SolveSettings(time_limit_s=20))
    assert result.new_areas == level_plans[-1]
    assert result.status == "feasible"  # the secondary objective was not proven
    assert result.stages[-1].objective == secondary_points(result.candidates, result.new_areas)


# ---------------------------------------------------------------- determinism, provenance


def _strip_times(plan: Plan) -> dict[str, Any]:
    data = plan.model_dump(mode="json")
    data["provenance"].pop("created_at")
    data["provenance"].pop("timing_s")
    return data


@pytest.mark.parametrize("workers", [1, 2])
def test_same_input_gives_same_plan(workers: int) -> None:
    defectors = [person(id=f"D{i}", threat_level=1 + i % 5) for i in range(6)] + [
        {"id": f"R{i}", "networks": ["N2"], "origin": "A9"} for i in range(4)
    ]
    scenario = line_scenario(
        networks=RIVALS,
        defectors=defectors,
        default_housing=1,
        policy={"max_same_network_per_area": 2},
    )
    settings = SolveSettings(time_limit_s=20, seed=3, workers=workers)
    first = plan_from_result(solve_scenario(scenario, settings))
    second = plan_from_result(solve_scenario(scenario, settings))
    assert _strip_times(first) == _strip_times(second)
    provenance = first.model_dump()["provenance"]
    assert provenance["seed"] == 3
    assert provenance["workers"] == workers
    assert provenance["time_limit_s"] == 20
    assert provenance["solver"].startswith("ortools-cp-sat ")
    assert first.scenario.sha256 == "test"


def test_list_valued_cp_sat_parameters_can_be_set() -> None:
    """``subsolvers`` and the like are repeated fields: they are replaced, not assigned."""
    from ortools.sat.python import cp_model

    from placement.solve import set_parameters

    solver = cp_model.CpSolver()
    set_parameters(solver, {"subsolvers": ["default_lp", "max_lp"], "num_workers": 2})
    set_parameters(solver, {"subsolvers": ["max_lp"]})
    assert list(solver.parameters.subsolvers) == ["max_lp"]
    assert solver.parameters.num_workers == 2
