"""Explanations state facts the independent checker agrees with.

Each test takes what ``explain``/``recommend`` say and verifies it another way: distances
against the scenario's distance matrix (the checker's), ruled-out areas by building the plan
that would use them and running ``check_plan``, allowed areas likewise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from linegeo import line_scenario

from cli import EXIT_INVALID, EXIT_OK, main
from placement.check import check_plan
from placement.conflicts import apply_change
from placement.explain import explain_plan, plan_areas, recommend
from placement.plan import Assignment, Plan, Unplaced, load_plan, plan_from_result, write_plan
from placement.scenario import Scenario, load_scenario
from placement.solve import SolveSettings, solve_scenario

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"
SHORTAGE = ROOT / "scenarios" / "housing-shortage.yaml"


@pytest.fixture(scope="module")
def tutorial() -> tuple[Scenario, Plan]:
    scenario = load_scenario(TUTORIAL)
    return scenario, plan_from_result(solve_scenario(scenario, SolveSettings(time_limit_s=30)))


@pytest.fixture(scope="module")
def shortage() -> tuple[Scenario, Plan]:
    scenario = load_scenario(SHORTAGE)
    return scenario, plan_from_result(solve_scenario(scenario, SolveSettings(time_limit_s=60)))


def moved(scenario: Scenario, plan: Plan, defector: str, area: str) -> Plan:
    """The plan with one person put in another area (taken out of unplaced if needed)."""
    assignments = [a for a in plan.assignments if a.defector != defector]
    assignments.append(Assignment(defector=defector, area=area))
    unplaced = [u for u in plan.unplaced if u.defector != defector]
    return Plan(status="feasible", assignments=assignments, unplaced=unplaced)


def new_violations(scenario: Scenario, plan: Plan, defector: str) -> set[str]:
    report = check_plan(scenario, plan)
    assert not report.structural, report.structural
    return {v.rule for v in report.violations if defector in v.defectors}


def test_every_fact_at_a_placed_persons_area_matches_the_checker(
    tutorial: tuple[Scenario, Plan],
) -> None:
    scenario, plan = tutorial
    distance = scenario.distance_km
    areas = plan_areas(scenario, plan)
    for person in explain_plan(scenario, plan).people:
        assert person.here is not None
        index = scenario.defector_index[person.defector]
        here = areas[index]
        facts = {f.rule: f for f in person.here.facts}
        assert all(f.ok for f in facts.values())
        origin = scenario.defectors[index].origin
        assert facts["origin"].value == distance[here, origin]
        if facts["keep_apart"].who is not None:
            other = scenario.defector_index[facts["keep_apart"].who]
            assert facts["keep_apart"].value == distance[here, areas[other]]
        threat = facts["threats"]
        if threat.value is not None:
            territory_distances = [
                distance[here, t]
                for net in (threat.who or "").split("/")
                for t in scenario.networks[net].territory
            ]
            assert threat.value == min(territory_distances)


def test_ruled_out_areas_break_that_rule_by_the_checker(tutorial: tuple[Scenario, Plan]) -> None:
    scenario, plan = tutorial
    for defector in ("D05", "D08", "D10"):
        (person,) = explain_plan(scenario, plan, defector=defector).people
        for verdict in person.ranking:
            trial = moved(scenario, plan, defector, verdict.area)
            broken = new_violations(scenario, trial, defector)
            if verdict.allowed:
                assert not broken, (defector, verdict.area_name, broken)
            else:
                assert verdict.blocking is not None
                assert verdict.blocking.rule in broken, (defector, verdict.area_name, broken)


def test_distances_quoted_for_ruled_out_areas_are_the_checkers(
    tutorial: tuple[Scenario, Plan],
) -> None:
    scenario, plan = tutorial
    (person,) = explain_plan(scenario, plan, defector="D08").people
    malmo = next(v for v in person.ranking if v.area_name == "Malmö")
    assert malmo.blocking is not None and malmo.blocking.rule == "threats"
    assert malmo.blocking.value == 0.0
    assert malmo.blocking.text == "0.0 km from N04's territory in Malmö, needs 100 km"
    report = check_plan(scenario, moved(scenario, plan, "D08", "1280"))
    assert any(
        v.rule == "threats" and v.distance_km == 0.0 and "D08" in v.defectors
        for v in report.violations
    )


def test_every_recommended_area_passes_check_when_applied(
    shortage: tuple[Scenario, Plan],
) -> None:
    scenario, plan = shortage
    placements = plan_areas(scenario, plan)
    for entry in plan.unplaced[:6]:
        rec = recommend(scenario, entry.defector, placements=placements)
        for verdict in rec.allowed:
            trial = moved(scenario, plan, entry.defector, verdict.area)
            assert check_plan(scenario, trial).ok, (entry.defector, verdict.area_name)
        for verdict in rec.excluded[:40]:
            trial = moved(scenario, plan, entry.defector, verdict.area)
            assert verdict.blocking is not None
            assert verdict.blocking.rule in new_violations(scenario, trial, entry.defector)


def test_score_differences_are_what_moving_the_person_changes_in_the_objective(
    tutorial: tuple[Scenario, Plan],
) -> None:
    """'+N vs here' must be the plan's secondary points after the move minus before."""
    from placement.candidates import Candidates
    from placement.objectives import secondary_points

    scenario, plan = tutorial
    candidates = Candidates(scenario)
    before_areas = {
        i: a
        for i, a in plan_areas(scenario, plan).items()
        if scenario.defectors[i].placed_in is None
    }
    before = secondary_points(candidates, before_areas)
    checked = 0
    for index in sorted(before_areas):
        person = explain_plan(scenario, plan, defector=scenario.defectors[index].id).people[0]
        assert person.here is not None and person.here.score is not None
        for verdict in [v for v in person.ranking if v.allowed][:5]:
            assert verdict.score is not None
            area = scenario.geography.index_of(verdict.area)
            after = secondary_points(candidates, {**before_areas, index: area})
            assert verdict.score.total - person.here.score.total == after - before
            checked += 1
    assert checked >= 3


MOVED_OUT = """\
format: placement-scenario/1
capacity:
  areas:
    Umeå: {housing_units: 1, services: [exit_program]}
    Luleå: {housing_units: 1}
networks: [{id: N1, territory: [Malmö]}, {id: N2, territory: [Malmö]}, {id: N3, territory: [Malmö]}]
defectors:
  - {id: P, networks: [N1], origin: Malmö, threat_level: 3, placed_in: Umeå}
  - {id: Q, networks: [N2], origin: Malmö, threat_level: 3, needs: [exit_program]}
  - {id: R, networks: [N3], origin: Malmö, threat_level: 2, needs: [exit_program]}
"""


def test_why_unplaced_in_a_plan_that_moves_someone_sees_the_move(tmp_path: Path) -> None:
    """P is moved out of Umeå by a forbid; Q takes Umeå; R is unplaced because of Q, not P."""
    scenario_path, plan_path = tmp_path / "s.yaml", tmp_path / "plan.json"
    scenario_path.write_text(MOVED_OUT, encoding="utf-8")
    runner = CliRunner()
    solved = runner.invoke(
        main, ["solve", str(scenario_path), "--forbid", "P=Umeå", "-o", str(plan_path), "-q"]
    )
    assert solved.exit_code == EXIT_OK, solved.output
    result = runner.invoke(main, ["explain", str(scenario_path), str(plan_path), "--defector", "R"])
    assert result.exit_code == EXIT_OK, result.output
    assert "can be placed nowhere" not in result.stdout  # Umeå is allowed, and taken by Q
    assert "1 more housing unit in Umeå (2 instead of 1)" in result.stdout


def test_a_person_left_unplaced_by_hand_is_told_where_they_fit_in_this_plan(
    tutorial: tuple[Scenario, Plan],
) -> None:
    scenario, plan = tutorial
    unplaced = Plan(
        status="feasible",
        assignments=[a for a in plan.assignments if a.defector != "D10"],
        unplaced=[*plan.unplaced, Unplaced(defector="D10", reasons=["by hand"])],
    )
    (person,) = explain_plan(scenario, unplaced, defector="D10").people
    assert person.conflict is not None
    summary = person.conflict.summary
    assert "a better plan exists than this one" in summary
    open_now = [v.area_name for v in person.ranking if v.allowed]
    assert open_now and f"in this plan, {open_now[0]}" in summary
    for area in open_now:  # what it calls open is open: placing D10 there keeps every rule
        assert not new_violations(scenario, moved(scenario, unplaced, "D10", area), "D10")


def test_recommend_top_area_for_a_pending_person_passes_check() -> None:
    scenario = load_scenario(TUTORIAL)
    fixed = [
        Assignment(defector=d.id, area=scenario.geography.ids[d.placed_in])
        for d in scenario.placed
        if d.placed_in is not None
    ]
    for person in scenario.pending:
        rec = recommend(scenario, person.id)
        assert rec.allowed, person.id
        top = rec.allowed[0]
        others = [Unplaced(defector=p.id, reasons=["-"]) for p in scenario.pending if p != person]
        trial = Plan(
            status="feasible",
            assignments=[*fixed, Assignment(defector=person.id, area=top.area)],
            unplaced=others,
        )
        assert check_plan(scenario, trial).ok, (person.id, top.area_name)


def test_recommended_areas_are_ranked_by_score() -> None:
    scenario = load_scenario(TUTORIAL)
    rec = recommend(scenario, "D05")
    scores = [v.score.total for v in rec.allowed if v.score is not None]
    assert scores == sorted(scores, reverse=True)


def test_already_placed_person_whose_place_now_breaks_a_rule_is_flagged() -> None:
    networks = [{"id": "N1", "territory": ["A1"]}]
    scenario = line_scenario(
        networks=networks,
        defectors=[{"id": "P", "networks": ["N1"], "origin": "A9", "placed_in": "A2"}],
        housing={"A2": 1},
    )
    plan = plan_from_result(solve_scenario(scenario))
    (person,) = explain_plan(scenario, plan).people
    assert person.status == "already placed"
    assert [f.rule for f in person.breaks] == ["threats"]
    assert person.breaks[0].value == 50.0  # A1-A2 on the line geography
    assert person.breaks[0].text == "50.0 km from N1's territory in Area 1, needs 100 km"


def test_plan_carries_the_rule_facts_per_assignment(tutorial: tuple[Scenario, Plan]) -> None:
    scenario, plan = tutorial
    explained = {p.defector: p for p in explain_plan(scenario, plan).people}
    for entry in plan.assignments:
        rules = (entry.model_extra or {})["rules"]
        here = explained[entry.defector].here
        assert here is not None
        assert list(rules) == [f.rule for f in here.facts]
        for fact in here.facts:
            assert rules[fact.rule]["ok"] == fact.ok
            assert rules[fact.rule]["text"] == fact.text


# ---------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def tutorial_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plans") / "tutorial-plan.json"
    result = CliRunner().invoke(main, ["solve", str(TUTORIAL), "-o", str(out), "-q"])
    assert result.exit_code == EXIT_OK
    return out


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_explain_cli_formats(tutorial_plan: Path, fmt: str) -> None:
    args = ["explain", str(TUTORIAL), str(tutorial_plan), "--defector", "D05", "--format", fmt]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_OK, result.output
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["format"] == "placement-explanation/1"
        (person,) = data["people"]
        assert person["defector"] == "D05" and person["safe"] is True
        assert len(person["other_areas"]) == 289
    elif fmt == "markdown":
        assert result.stdout.startswith("## D05 (threat level 5): newly placed in Luleå")
    else:
        assert result.stdout.startswith("D05 (threat level 5): newly placed in Luleå (2580)")
        assert "threats [ok]: nearest threat N02's territory in Borås" in result.stdout


def test_explain_whole_plan_lists_everyone(tutorial_plan: Path) -> None:
    result = CliRunner().invoke(
        main, ["explain", str(TUTORIAL), str(tutorial_plan), "--format", "json"]
    )
    assert result.exit_code == EXIT_OK
    people = json.loads(result.stdout)["people"]
    assert sorted(p["defector"] for p in people) == [f"D{i:02d}" for i in range(1, 11)]


def test_explain_unknown_defector_is_exit_2(tutorial_plan: Path) -> None:
    result = CliRunner().invoke(
        main, ["explain", str(TUTORIAL), str(tutorial_plan), "--defector", "D5"]
    )
    assert result.exit_code == EXIT_INVALID
    assert "--defector: unknown defector 'D5' (did you mean" in result.stderr


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_recommend_cli_formats(fmt: str) -> None:
    args = ["recommend", str(TUTORIAL), "--defector", "D05", "--format", fmt]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_OK, result.output
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["format"] == "placement-recommendation/1"
        assert data["recommended"][0]["area_name"] == "Luleå"
        assert len(data["recommended"]) + len(data["excluded"]) == 290
    else:
        assert "1. Luleå (2580)" in result.stdout
        assert "Excluded: 288 areas (threats 149, keep_apart 18" in result.stdout


def test_recommend_for_a_new_case_file(tmp_path: Path, tutorial_plan: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(
        "id: NEW1\nnetworks: [N03]\norigin: Stockholm\nhousehold: 2\nthreat_level: 4\n"
        "needs: [trauma_care]\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main,
        ["recommend", str(TUTORIAL), "--case", str(case), "--plan", str(tutorial_plan)],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "Areas for NEW1 (threat level 4), given the places in tutorial-plan.json" in (
        result.stdout
    )
    plan = load_plan(tutorial_plan)
    assert plan.assignments  # the plan was read as context


def test_recommend_bad_case_lists_problems_in_the_case_file(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("id: D01\nnetworks: [N01]\norigin: Göteborg\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["recommend", str(TUTORIAL), "--case", str(case)])
    assert result.exit_code == EXIT_INVALID
    assert "id: defector 'D01' already exists in the scenario" in result.stderr
    case.write_text("id: N1\nnetworks: [N99]\norigin: Stokholm\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["recommend", str(TUTORIAL), "--case", str(case)])
    assert result.exit_code == EXIT_INVALID
    assert f"Error: {case}: 2 problems" in result.stderr
    assert "origin: unknown area 'Stokholm' (did you mean Stockholm" in result.stderr
    # Every problem at once, in the file's order: the case's own ones hide no other.
    case.write_text(
        "id: D01\nnetworks: [N99]\norigin: Bors\nthreat_level: 9\nplaced_in: Umeå\n", "utf-8"
    )
    result = CliRunner().invoke(main, ["recommend", str(TUTORIAL), "--case", str(case)])
    assert result.exit_code == EXIT_INVALID
    places = [line.split(":")[0].strip() for line in result.stderr.splitlines()[1:]]
    assert places == ["id", "networks[0]", "origin", "threat_level", "placed_in"]


def test_recommend_needs_exactly_one_person() -> None:
    result = CliRunner().invoke(main, ["recommend", str(TUTORIAL)])
    assert result.exit_code == EXIT_INVALID
    assert "give exactly one of --defector and --case" in result.stderr


def test_explain_an_unplaced_person_to_the_bottom(
    shortage: tuple[Scenario, Plan], tmp_path: Path
) -> None:
    scenario, plan = shortage
    out = tmp_path / "plan.json"
    write_plan(plan, out)
    lost = next(u.defector for u in plan.unplaced if "taken in this plan" in " ".join(u.reasons))
    result = CliRunner().invoke(
        main,
        ["explain", str(SHORTAGE), str(out), "--defector", lost, "--format", "json"],
    )
    assert result.exit_code == EXIT_OK, result.output
    (person,) = json.loads(result.stdout)["people"]
    why = person["why_unplaced"]
    assert why["format"] == "placement-unplaced-explanation/1"
    assert why["kind"] in {"outcompeted", "tie"}
    assert why["conflict"] and why["summary"].startswith(lost)
    # A remedy said to place the person does, and the new plan passes the checker.
    verified = [c for c in why["conflict"] if c["replanned"]]
    assert verified
    changed = apply_change(scenario, verified[0]["change"])
    new_plan = plan_from_result(solve_scenario(changed, SolveSettings(time_limit_s=60)))
    assert lost in {a.defector for a in new_plan.assignments}
    assert check_plan(changed, new_plan).ok
    text = CliRunner().invoke(main, ["explain", str(SHORTAGE), str(out), "--defector", lost])
    assert "why unplaced, to the bottom:" in text.stdout
    assert "what would make placement possible (each checked by solving again):" in text.stdout
