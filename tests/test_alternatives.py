"""Alternatives: valid (pass `check`), primary-optimal, pairwise different by at least N.

Each property is verified from the plan files alone, against the plain solve and the
independent checker -- not from what the alternatives search says about itself.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import EXIT_INVALID, EXIT_OK, EXIT_VIOLATIONS, main
from placement.alternatives import default_min_diff, find_alternatives
from placement.candidates import Candidates
from placement.check import check_plan
from placement.plan import Plan, load_plan, plan_from_result
from placement.scenario import Scenario, load_scenario, scenario_from_document
from placement.solve import SolveSettings, StopRequest, solve_scenario
from placement.whatif import plan_of

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"
SHORTAGE = ROOT / "scenarios" / "housing-shortage.yaml"
SETTINGS = SolveSettings(time_limit_s=20)


def _by_level(scenario: Scenario, plan: Plan) -> dict[int, int]:
    placed = {a.defector for a in plan.assignments}
    counts = dict.fromkeys(range(1, 6), 0)
    for person in scenario.pending:
        counts[person.threat_level] += person.id in placed
    return counts


def _outcomes(scenario: Scenario, plan: Plan) -> dict[str, str | None]:
    areas = {a.defector: a.area for a in plan.assignments}
    return {d.id: areas.get(d.id) for d in scenario.defectors}


def _differ(scenario: Scenario, first: Plan, second: Plan) -> int:
    a, b = _outcomes(scenario, first), _outcomes(scenario, second)
    return sum(1 for who in a if a[who] != b[who])


@pytest.mark.parametrize(("path", "k", "min_diff"), [(TUTORIAL, 4, 2), (SHORTAGE, 3, None)])
def test_alternatives_are_valid_primary_optimal_and_different(
    path: Path, k: int, min_diff: int | None
) -> None:
    scenario = load_scenario(path)
    plain = plan_from_result(solve_scenario(scenario, SETTINGS))
    assert plain.status == "optimal"
    found = find_alternatives(scenario, k, SETTINGS, min_diff=min_diff)
    if min_diff is None:  # 10% of the pending people with an allowed area, at least 1
        deciding = [p for p in Candidates(scenario).people.values() if p.areas]
        assert found.min_diff == default_min_diff(len(deciding)) >= 2
    else:
        assert found.min_diff == min_diff
    plans = [plan_of(a.result) for a in found.plans]
    assert len(plans) == k, found.stopped_because
    for plan in plans:
        assert check_plan(scenario, plan).ok
        assert plan.status == "optimal"
        assert _by_level(scenario, plan) == _by_level(scenario, plain)
    for first, second in itertools.combinations(plans, 2):
        assert _differ(scenario, first, second) >= found.min_diff
    objectives = [a.secondary_objective for a in found.plans]
    assert objectives == sorted(objectives, reverse=True)
    # Plan 1 is the plain solve's best by the secondary objective.
    assert objectives[0] == plain.model_extra["metrics"]["stages"][-1]["objective"]
    assert [a.cost_vs_best for a in found.plans] == [objectives[0] - o for o in objectives]


def _one_person_two_areas() -> Scenario:
    """One pending person who fits only in Umeå or Luleå: exactly two plans exist."""
    return scenario_from_document(
        {
            "format": "placement-scenario/1",
            "capacity": {
                "default": {"housing_units": 0},
                "areas": {"Umeå": {"housing_units": 1}, "Luleå": {"housing_units": 1}},
            },
            "networks": [{"id": "N01"}],
            "defectors": [{"id": "D1", "networks": ["N01"], "origin": "Malmö"}],
        }
    )


def test_stops_early_when_no_further_plan_exists() -> None:
    scenario = _one_person_two_areas()
    found = find_alternatives(scenario, 5, SETTINGS)
    assert [a.rank for a in found.plans] == [1, 2]
    assert found.stopped_because is not None
    assert found.stopped_because.startswith("no plan 3 exists")
    areas = {_outcomes(scenario, plan_of(a.result))["D1"] for a in found.plans}
    assert areas == {"2480", "2580"}


def test_min_diff_larger_than_possible_gives_one_plan() -> None:
    found = find_alternatives(_one_person_two_areas(), 3, SETTINGS, min_diff=2)
    assert len(found.plans) == 1
    assert found.stopped_because is not None and "fewer than 2 people" in found.stopped_because


def test_pins_hold_in_every_alternative() -> None:
    scenario = load_scenario(TUTORIAL)
    index = scenario.geography.index_of("Luleå")
    assert index is not None
    found = find_alternatives(
        scenario, 3, SETTINGS, min_diff=1, pins={scenario.defector_index["D10"]: index}
    )
    assert found.plans
    for alternative in found.plans:
        plan = plan_of(alternative.result)
        assert _outcomes(scenario, plan)["D10"] == "2580"
        assert check_plan(scenario, plan).ok


def test_a_signal_marks_only_the_plan_it_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plan 1, proven before the signal, is as good as without it: not marked interrupted."""
    import placement.alternatives as alternatives

    stop = StopRequest()
    original = alternatives.run_stage

    def signal_during_plan_2(session: Any, **kwargs: Any) -> Any:
        if kwargs["name"].startswith("alternative 2"):
            stop.request("SIGINT")
        return original(session, **kwargs)

    monkeypatch.setattr(alternatives, "run_stage", signal_during_plan_2)
    found = find_alternatives(load_scenario(SHORTAGE), 3, SETTINGS, stop=stop)
    assert found.plans[0].result.interrupted is None
    assert plan_of(found.plans[0].result).status == "optimal"
    # Plan 2 is marked when the signal cut its search short (not when it was proven anyway).
    for later in found.plans[1:]:
        proven = later.result.stages[-1].status == "OPTIMAL"
        assert later.result.interrupted == (None if proven else "SIGINT")
    assert len(found.plans) <= 2  # no plan starts after the signal


def test_default_min_diff() -> None:
    assert default_min_diff(0) == 1
    assert default_min_diff(6) == 1
    assert default_min_diff(24) == 3
    assert default_min_diff(60) == 6


def _stable(plan: dict[str, Any]) -> dict[str, Any]:
    plan = dict(plan)
    plan.pop("digest")
    provenance = dict(plan.pop("provenance"))
    provenance.pop("created_at")
    provenance.pop("timing_s")
    return {**plan, "provenance": provenance}


def test_cli_writes_the_plans_with_their_rank_and_cost(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "alts"
    args = ["alternatives", str(TUTORIAL), "-k", "3", "--min-diff", "2", "--time-limit", "20"]
    result = runner.invoke(main, [*args, "-o", str(out)])
    assert result.exit_code == EXIT_OK, result.output
    assert "3 of 3 plans" in result.output and "pairwise different in at least 2" in result.output
    scenario = load_scenario(TUTORIAL)
    plans = [load_plan(out / f"plan-{rank}.json") for rank in (1, 2, 3)]
    for rank, plan in enumerate(plans, start=1):
        alternative = plan.model_extra["provenance"]["alternative"]
        assert alternative["rank"] == rank
        assert alternative["min_diff"] == 2
        assert set(alternative["differs_from"]) == {f"plan-{r}" for r in range(1, rank)}
        assert check_plan(scenario, plan).ok
    costs = [p.model_extra["provenance"]["alternative"]["cost_vs_best"] for p in plans]
    assert costs[0] == 0 and costs == sorted(costs)
    # Reproducible: the same run again gives the same plans (apart from times and digest).
    again = tmp_path / "again"
    assert runner.invoke(main, [*args, "-o", str(again)]).exit_code == EXIT_OK
    for rank in (1, 2, 3):
        first = json.loads((out / f"plan-{rank}.json").read_text(encoding="utf-8"))
        second = json.loads((again / f"plan-{rank}.json").read_text(encoding="utf-8"))
        assert _stable(first) == _stable(second)


def test_cli_infeasible_pin_and_bad_output(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "alts"
    result = runner.invoke(
        main, ["alternatives", str(TUTORIAL), "-o", str(out), "--pin", "D10=Malmö"]
    )
    assert result.exit_code == EXIT_VIOLATIONS
    assert "Infeasible: --pin D10=Malmö cannot hold" in result.output
    assert load_plan(out / "plan-1.json").status == "infeasible"
    result = runner.invoke(
        main, ["alternatives", str(TUTORIAL), "-o", str(tmp_path / "no" / "such")]
    )
    assert result.exit_code == EXIT_INVALID
