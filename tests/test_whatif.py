"""What-if: --set overrides, --pin and --forbid; honoured, or infeasible with the reason.

Places in the tutorial scenario: D10 (N01, level 1, needs nothing) is placed in Gävle by a
plain solve; Malmö has no housing; D01 (N01) lives in Umeå and D02 (N02, its rival) in
Karlstad; D03 lives in Sundsvall.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import EXIT_INVALID, EXIT_OK, EXIT_VIOLATIONS, main
from placement.check import check_plan
from placement.errors import InputError
from placement.plan import Plan, load_plan
from placement.scenario import Scenario, load_scenario
from placement.solve import SolveSettings, solve_scenario
from placement.whatif import WhatIf, load_scenario_what_if, plan_of, resolve_decisions

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"
SETTINGS = SolveSettings(time_limit_s=20)


@pytest.fixture(scope="module")
def tutorial() -> Scenario:
    return load_scenario(TUTORIAL)


def _solve(scenario: Scenario, what_if: WhatIf) -> Plan:
    decisions = resolve_decisions(scenario, what_if)
    result = solve_scenario(scenario, SETTINGS, pins=decisions.pins, forbids=decisions.forbids)
    return plan_of(result, what_if)


def _area_of(plan: Plan, defector: str) -> str | None:
    return next((a.area for a in plan.assignments if a.defector == defector), None)


def test_pin_is_honoured_and_recorded(tutorial: Scenario) -> None:
    plan = _solve(tutorial, WhatIf(pins=("D10=Luleå",)))
    assert plan.status == "optimal"
    assert _area_of(plan, "D10") == "2580"
    assert check_plan(tutorial, plan).ok
    assert plan.model_extra["provenance"]["what_if"] == {
        "set": [],
        "pin": ["D10=Luleå"],
        "forbid": [],
    }


def test_forbid_is_honoured(tutorial: Scenario) -> None:
    plain = _solve(tutorial, WhatIf())
    where = _area_of(plain, "D05")
    assert where is not None
    plan = _solve(tutorial, WhatIf(forbids=(f"D05={where}",)))
    assert _area_of(plan, "D05") != where
    assert check_plan(tutorial, plan).ok


def test_pin_on_an_excluded_area_is_infeasible_with_the_blocking_rule(
    tutorial: Scenario,
) -> None:
    plan = _solve(tutorial, WhatIf(pins=("D10=Malmö",)))
    assert plan.status == "infeasible"
    reason = plan.model_extra["status_reason"]
    assert reason.startswith("--pin D10=Malmö cannot hold: capacity: 0 housing units")
    # Still a complete plan: everyone already placed stays, every pending person unplaced.
    report = check_plan(tutorial, plan)
    assert report.ok, report.structural
    assert {u.defector for u in plan.unplaced} == {d.id for d in tutorial.pending}
    assert all(u.reasons == [f"no plan was made: {reason}"] for u in plan.unplaced)


def test_pin_broken_by_a_threat_names_the_threat(tutorial: Scenario) -> None:
    plan = _solve(tutorial, WhatIf(pins=("D09=Botkyrka",)))  # N03 territory
    assert plan.status == "infeasible"
    assert "cannot hold: threats:" in plan.model_extra["status_reason"]


def test_jointly_infeasible_pins_name_the_pins(tutorial: Scenario) -> None:
    plan = _solve(tutorial, WhatIf(pins=("D01=Östersund", "D02=Östersund", "D10=Luleå")))
    assert plan.status == "infeasible"
    reason = plan.model_extra["status_reason"]
    assert "--pin D01=Östersund" in reason and "--pin D02=Östersund" in reason
    assert "D10" not in reason  # not part of the conflict
    assert "keep_apart" in reason


def test_pinning_a_placed_person_elsewhere_moves_them(tutorial: Scenario) -> None:
    plan = _solve(tutorial, WhatIf(pins=("D03=Luleå",)))
    assert plan.status == "optimal"
    entry = next(a for a in plan.assignments if a.defector == "D03")
    assert entry.area == "2580"
    assert entry.model_extra["moved_from"] == "2281"
    report = check_plan(tutorial, plan)
    assert report.ok
    assert any("D03 is moved from Sundsvall" in w for w in report.warnings)


def test_forbidding_a_placed_persons_home_moves_them(tutorial: Scenario) -> None:
    plan = _solve(tutorial, WhatIf(forbids=("D03=Sundsvall",)))
    assert _area_of(plan, "D03") not in (None, "2281")
    assert check_plan(tutorial, plan).ok


def test_a_move_that_several_forbids_block_names_them_all(tutorial: Scenario) -> None:
    """The forbid of D01's home alone can hold (D01 moves to Luleå): never blame it alone."""
    assert _solve(tutorial, WhatIf(forbids=("D01=Umeå",))).status == "optimal"
    forbids = ("D01=Umeå", "D01=Luleå", "D01=Östersund", "D01=Jönköping", "D01=Örebro")
    plan = _solve(tutorial, WhatIf(forbids=forbids))
    assert plan.status == "infeasible"
    reason = (plan.model_extra or {})["status_reason"]
    assert reason.startswith(
        "--forbid D01=Umeå --forbid D01=Jönköping --forbid D01=Luleå --forbid D01=Örebro "
        "--forbid D01=Östersund cannot all hold: no area keeps every rule for D01"
    )


def test_pin_where_a_placed_person_lives_keeps_them(tutorial: Scenario) -> None:
    plain = _solve(tutorial, WhatIf())
    plan = _solve(tutorial, WhatIf(pins=("D03=Sundsvall",)))
    assert [(a.defector, a.area) for a in plan.assignments] == [
        (a.defector, a.area) for a in plain.assignments
    ]


def test_unknown_people_and_areas_are_input_errors(tutorial: Scenario) -> None:
    with pytest.raises(InputError) as caught:
        resolve_decisions(
            tutorial,
            WhatIf(pins=("D55=Umeå", "D05=Umea", "D05"), forbids=("D06=Luleå",)),
        )
    text = str(caught.value)
    assert "--pin D55=Umeå: unknown defector 'D55' (did you mean D05?)" in text
    assert "--pin D05=Umea: unknown area 'Umea' (did you mean Umeå" in text
    assert "--pin D05: expected ID=AREA" in text
    with pytest.raises(InputError, match="contradicts --forbid D05=Umeå"):
        resolve_decisions(tutorial, WhatIf(pins=("D05=Umeå",), forbids=("D05=Umeå",)))
    with pytest.raises(InputError, match="already pinned to Umeå"):
        resolve_decisions(tutorial, WhatIf(pins=("D05=Umeå", "D05=Luleå")))


def test_set_overrides_the_document(tutorial: Scenario) -> None:
    changed = load_scenario_what_if(
        TUTORIAL,
        [
            "policy.keep_apart_km=80",
            "capacity.Umeå.housing_units=6",
            "capacity.Gävle.wait_weeks.exit_program=3",
            "capacity.Kiruna.housing_units=2",  # not listed: starts from the default
            "defectors.D05.threat_level=2",
            "networks.N04.territory=[Malmö]",
        ],
    )
    geography = changed.geography
    assert changed.policy.keep_apart_km == 80
    assert changed.offers[geography.index_of("Umeå")].housing_units == 6
    assert changed.offers[geography.index_of("Gävle")].wait_weeks == {"exit_program": 3}
    assert changed.offers[geography.index_of("Gävle")].housing_units == 2  # kept
    assert changed.offers[geography.index_of("Kiruna")].housing_units == 2
    assert changed.defector("D05").threat_level == 2
    assert changed.networks["N04"].territory == (geography.index_of("Malmö"),)
    assert changed.sha256 == tutorial.sha256  # the file as stored


def test_bad_overrides_are_reported_with_their_place() -> None:
    with pytest.raises(InputError) as caught:
        load_scenario_what_if(
            TUTORIAL,
            [
                "policy.keep_apart_kms=80",
                "capacity.Umea.housing_units=3",
                "defectors.D55.age=3",
                "people.D05.age=3",
                "capacity.Umeå.housing=2",
            ],
        )
    text = str(caught.value)
    assert "unknown key 'keep_apart_kms' in policy (did you mean keep_apart_km?)" in text
    assert "unknown area 'Umea' (did you mean Umeå" in text
    assert "unknown defector 'D55' (did you mean D05?)" in text
    assert "unknown path 'people.D05.age'" in text
    assert "unknown key 'housing' (did you mean housing_units?)" in text
    with pytest.raises(InputError) as caught:
        load_scenario_what_if(TUTORIAL, ["policy.keep_apart_km=-5"])
    assert "policy.keep_apart_km: " in str(caught.value)
    assert "(from --set policy.keep_apart_km=-5)" in str(caught.value)


# --------------------------------------------------------------------------- the CLI


def test_cli_solve_with_pin_set_and_check_under_what_if_rules(tmp_path: Path) -> None:
    runner = CliRunner()
    plan_path = tmp_path / "plan.json"
    # Rivals D06 (N02) and D01 (N01, lives in Umeå) in one town: only with keep-apart 0.
    result = runner.invoke(
        main,
        [
            "solve",
            str(TUTORIAL),
            "-o",
            str(plan_path),
            "--time-limit",
            "20",
            "--set",
            "policy.keep_apart_km=0",
            "--pin",
            "D06=Umeå",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "What-if: --set policy.keep_apart_km=0 --pin D06=Umeå" in result.output
    plan = load_plan(plan_path)
    assert _area_of(plan, "D06") == "2480"
    assert plan.model_extra["provenance"]["what_if"]["set"] == ["policy.keep_apart_km=0"]

    as_written = runner.invoke(main, ["check", str(TUTORIAL), str(plan_path)])
    assert as_written.exit_code == EXIT_VIOLATIONS
    assert "keep_apart: D01 in Umeå (2480) and D06 in Umeå (2480)" in as_written.output
    assert "checked against the scenario as written" in as_written.output

    under = runner.invoke(main, ["check", str(TUTORIAL), str(plan_path), "--what-if-rules"])
    assert under.exit_code == EXIT_OK, under.output
    assert "checked under the plan's what-if changes (--set policy.keep_apart_km=0)" in (
        under.output
    )

    # explain says which rules it explains under, as check does.
    explained = runner.invoke(main, ["explain", str(TUTORIAL), str(plan_path), "--format", "json"])
    assert explained.exit_code == EXIT_OK, explained.output
    assert json.loads(explained.output)["notes"] == [
        "the plan was made with what-if changes (--set policy.keep_apart_km=0); explained "
        "against the scenario as written (--what-if-rules: explained under those changes)"
    ]
    explained = runner.invoke(main, ["explain", str(TUTORIAL), str(plan_path), "--what-if-rules"])
    assert explained.exit_code == EXIT_OK, explained.output
    assert explained.output.startswith(
        "note: explained under the plan's what-if changes (--set policy.keep_apart_km=0), NOT "
        "the scenario as written\n"
    )

    compared = runner.invoke(main, ["compare", str(TUTORIAL), str(plan_path), "--format", "json"])
    figures = json.loads(compared.output)["plans"][0]
    assert figures["what_if"]["pin"] == ["D06=Umeå"]
    assert figures["tightest_keep_apart"]["distance_km"] == 0.0


def test_cli_infeasible_pin_writes_an_infeasible_plan_with_exit_1(tmp_path: Path) -> None:
    runner = CliRunner()
    plan_path = tmp_path / "plan.json"
    result = runner.invoke(
        main, ["solve", str(TUTORIAL), "-o", str(plan_path), "--pin", "D10=Malmö"]
    )
    assert result.exit_code == EXIT_VIOLATIONS
    assert "Infeasible: --pin D10=Malmö cannot hold: capacity" in result.output
    assert load_plan(plan_path).status == "infeasible"


def test_cli_unknown_override_is_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    plan_path = tmp_path / "plan.json"
    result = runner.invoke(
        main,
        ["solve", str(TUTORIAL), "-o", str(plan_path), "--set", "policy.keep_apart=80"],
    )
    assert result.exit_code == EXIT_INVALID
    assert "unknown key 'keep_apart' in policy (did you mean keep_apart_km?)" in result.output
    assert not plan_path.exists()
    result = runner.invoke(
        main, ["solve", str(TUTORIAL), "-o", str(plan_path), "--forbid", "D5=Umeå"]
    )
    assert result.exit_code == EXIT_INVALID
    assert "unknown defector 'D5'" in result.output
    assert not plan_path.exists()


def test_why_unplaced_by_a_forbid_names_the_forbid_not_the_avoid_list(tmp_path: Path) -> None:
    """P is unplaced only because the plan forbade Umeå: the remedy is to lift that forbid."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "format: placement-scenario/1\n"
        "capacity:\n"
        "  default: {housing_units: 0, services: []}\n"
        "  areas: {Umeå: {housing_units: 1, services: []}}\n"
        "networks: [{id: N01, territory: [Malmö]}]\n"
        "defectors: [{id: P, networks: [N01], origin: Malmö, threat_level: 4}]\n",
        encoding="utf-8",
    )
    plan = tmp_path / "p.json"
    runner = CliRunner()
    made = runner.invoke(
        main, ["solve", str(scenario), "-o", str(plan), "--forbid", "P=Umeå", "-q"]
    )
    assert made.exit_code == EXIT_OK, made.output
    explained = runner.invoke(
        main, ["explain", str(scenario), str(plan), "--defector", "P", "--format", "json"]
    )
    assert explained.exit_code == EXIT_OK, explained.output
    why = json.loads(explained.output)["people"][0]["why_unplaced"]
    assert any(
        r.startswith(
            "lifting --forbid P=Umeå (a what-if decision of the plan) would let P be placed"
        )
        for r in why["remedies"]
    ), why["remedies"]
    assert not any("accepting Umeå" in r for r in why["remedies"])
    assert any("with its what-if decisions (--forbid P=Umeå)" in n for n in why["notes"])
