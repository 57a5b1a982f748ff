"""`compare`: every figure recomputed here, independently, from the plans and the scenario.

The recomputation below uses only the resolved scenario (networks, defectors, offers, the
distance matrix) and the plans' assignments: not ``placement.candidates``, not the plans'
metrics. Hand-edited plans show their violations; plans for another scenario version or
edited after writing give warnings.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import EXIT_INVALID, EXIT_OK, EXIT_VIOLATIONS, main
from placement.compare import (
    COMPARISON_FORMAT,
    compare_plans,
    comparison_html_fragment,
    render_comparison,
)
from placement.plan import Plan, load_plan, plan_from_result, plan_to_json
from placement.scenario import Scenario, load_scenario
from placement.solve import SolveSettings, solve_scenario

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"
SHORTAGE = ROOT / "scenarios" / "housing-shortage.yaml"
SETTINGS = SolveSettings(time_limit_s=20)


@pytest.fixture(scope="module")
def tutorial() -> Scenario:
    return load_scenario(TUTORIAL)


@pytest.fixture(scope="module")
def solved(tutorial: Scenario) -> Plan:
    return Plan.model_validate_json(
        plan_to_json(plan_from_result(solve_scenario(tutorial, SETTINGS)))
    )


def _edited(plan: Plan, changes: dict[str, str | None]) -> Plan:
    """A hand edit: move people (area id) or unplace them (None); the digest is left stale."""
    data = json.loads(plan_to_json(plan))
    kept = []
    for entry in data["assignments"]:
        if entry["defector"] in changes:
            area = changes[entry["defector"]]
            if area is None:
                data["unplaced"].append({"defector": entry["defector"], "reasons": ["by hand"]})
                continue
            entry["area"] = area
            entry.pop("area_name", None)
        kept.append(entry)
    data["assignments"] = kept
    return Plan.model_validate(data)


# --------------------------------------------------------------------------- the oracle


def _areas(scenario: Scenario, plan: Plan) -> dict[str, int]:
    areas: dict[str, int] = {}
    for entry in plan.assignments:
        index = scenario.geography.index_of(entry.area)
        if index is not None and entry.defector in scenario.defector_index:
            areas.setdefault(entry.defector, index)
    return areas


def _kept_apart(scenario: Scenario, a: str, b: str) -> bool:
    x, y = scenario.defector(a), scenario.defector(b)
    if b in x.keep_apart_from:
        return True
    return any(n2 in scenario.networks[n1].rivals for n1 in x.networks for n2 in y.networks)


def _threat_margin(scenario: Scenario, who: str, area: int) -> float:
    person = scenario.defector(who)
    threatening = set(person.networks)
    for own in person.networks:
        threatening |= scenario.networks[own].rivals
    territory = [t for n in threatening for t in scenario.networks[n].territory]
    nearest = min((float(scenario.distance_km[area, t]) for t in territory), default=math.inf)
    return nearest - person.threat_buffer_km


def _expected(scenario: Scenario, plan: Plan) -> dict[str, Any]:
    """The compared figures, recomputed by the contract's definitions."""
    distance = scenario.distance_km
    policy = scenario.policy
    areas = _areas(scenario, plan)
    ours = {d: a for d, a in areas.items() if scenario.defector(d).placed_in != a}
    placed = {str(level): 0 for level in range(1, 6)}
    unplaced = {str(level): 0 for level in range(1, 6)}
    for person in scenario.pending:
        table = placed if person.id in areas else unplaced
        table[str(person.threat_level)] += 1
    margins = {}
    for who, area in ours.items():
        partner = min(
            (
                float(distance[area, other_area])
                for other, other_area in areas.items()
                if other != who and _kept_apart(scenario, who, other)
            ),
            default=math.inf,
        )
        margin = min(_threat_margin(scenario, who, area), partner - policy.keep_apart_km)
        if math.isfinite(margin):
            margins[who] = margin
    pairs = [
        float(distance[areas[a], areas[b]])
        for a in areas
        for b in areas
        if a < b and (a in ours or b in ours) and _kept_apart(scenario, a, b)
    ]
    load: dict[str, list[int]] = {}
    for who, area in areas.items():
        county = scenario.geography.ids[area][:2]
        entry = load.setdefault(county, [0, 0])
        entry[0] += who in ours
        entry[1] += scenario.defector(who).household
    waits = {
        who: sum(scenario.offers[a].wait_weeks.get(s, 0.0) for s in scenario.defector(who).needs)
        for who, a in ours.items()
    }
    # The secondary objective, as the solve that made the plan scores it: margins against
    # territories and the already placed partners who stay; a moved person's home is free,
    # and the moved person is scored like a newcomer (a what-if solve makes them pending).
    points = 0
    newcomers: dict[int, int] = {}
    for who, area in ours.items():
        person = scenario.defector(who)
        partner = min(
            (
                float(distance[area, other.placed_in])
                for other in scenario.placed
                if other.id not in ours and _kept_apart(scenario, who, other.id)
            ),
            default=math.inf,
        )
        margin = min(_threat_margin(scenario, who, area), partner - policy.keep_apart_km)
        points += round(min(margin, 100.0)) * person.threat_level
        points -= round(waits[who] * 2)
        points += 50 if area in person.prefer else 0
        newcomers[area] = newcomers.get(area, 0) + 1
    points -= 20 * sum(n - 1 for n in newcomers.values())
    return {
        "placed": placed,
        "unplaced": unplaced,
        "margins": margins,
        "min_margin": min(margins.values()) if margins else None,
        "median_margin": statistics.median(margins.values()) if margins else None,
        "tightest": min(pairs) if pairs else None,
        "load": {k: {"newcomers": v[0], "housing_used": v[1]} for k, v in load.items()},
        "wait_total": sum(waits.values()),
        "preferences_met": sum(
            1
            for who, a in ours.items()
            if scenario.defector(who).placed_in is None and a in scenario.defector(who).prefer
        ),
        "moves": sorted(d for d in ours if scenario.defector(d).placed_in is not None),
        "points": points,
    }


def _assert_figures_match(scenario: Scenario, plans: list[Plan]) -> dict[str, Any]:
    data = compare_plans(scenario, plans).to_dict()
    assert data["format"] == COMPARISON_FORMAT
    for plan, got in zip(plans, data["plans"], strict=True):
        want = _expected(scenario, plan)
        by_level = got["pending_by_threat_level"]
        assert {k: v["placed"] for k, v in by_level.items()} == want["placed"]
        assert {k: v["unplaced"] for k, v in by_level.items()} == want["unplaced"]
        assert got["newly_placed"] == sum(want["placed"].values())
        assert got["safety_margins_km"] == pytest.approx(want["margins"], abs=1e-9)
        assert got["min_safety_margin_km"] == pytest.approx(want["min_margin"], abs=1e-9)
        assert got["median_safety_margin_km"] == pytest.approx(want["median_margin"], abs=1e-9)
        tightest = got["tightest_keep_apart"]
        assert (tightest and tightest["distance_km"]) == pytest.approx(want["tightest"], abs=1e-9)
        assert got["load"] == want["load"]
        assert got["wait_weeks_total"] == pytest.approx(want["wait_total"])
        assert got["preferences_met"] == want["preferences_met"]
        assert sorted(m["defector"] for m in got["moves"]) == want["moves"]
        assert got["secondary_points"] == want["points"]
    return data


# --------------------------------------------------------------------------- tests


def test_figures_of_a_solved_plan_are_recomputed_exactly(tutorial: Scenario, solved: Plan) -> None:
    data = _assert_figures_match(tutorial, [solved])
    figures = data["plans"][0]
    assert figures["check"]["ok"] is True
    assert figures["check"]["warnings"] == []
    # The solver's own secondary objective is the last stage's objective value.
    assert figures["secondary_points"] == solved.model_extra["metrics"]["stages"][-1]["objective"]
    # The plan's own (rounded down) margin agrees with the recomputed exact one.
    assert figures["min_safety_margin_km"] == pytest.approx(
        solved.model_extra["metrics"]["min_safety_margin_km"], abs=0.1
    )


def test_figures_of_hand_edited_plans_are_recomputed_exactly(
    tutorial: Scenario, solved: Plan
) -> None:
    moved_in = _edited(solved, {"D10": "0180", "D09": None})  # Stockholm: no housing, N03 land
    moved_placed = _edited(solved, {"D03": "2480"})  # an already placed person moved to Umeå
    data = _assert_figures_match(tutorial, [solved, moved_in, moved_placed])
    assert [m["defector"] for m in data["plans"][2]["moves"]] == ["D03"]
    assert data["plans"][1]["pending_by_threat_level"]["4"]["unplaced"] == 1


def test_a_placed_person_left_out_still_lives_there_and_a_move_is_measured(
    tutorial: Scenario, solved: Plan
) -> None:
    """As the checker counts them: leaving D03 out of the plan does not make D03 leave."""
    left_out = _edited(solved, {"D03": None})
    data = compare_plans(tutorial, [solved, left_out]).to_dict()
    assert data["plans"][1]["safety_margins_km"] == data["plans"][0]["safety_margins_km"]
    assert all(d["defector"] != "D03" for d in data["differences"])
    # A moved, already placed person: the margin at home against the margin after the move,
    # the change computed from the two figures shown, so the text adds up.
    moved = compare_plans(tutorial, [solved, _edited(solved, {"D03": "2480"})]).to_dict()
    (note,) = next(d for d in moved["differences"] if d["defector"] == "D03")["notes"]
    found = re.search(r"margin (gained|lost) ([0-9.]+) \(([-0-9.]+) -> ([-0-9.]+)\)", note)
    assert found is not None, note
    sign = 1 if found[1] == "gained" else -1
    assert round(float(found[4]) - float(found[3]), 1) == sign * float(found[2])


def test_figures_on_a_larger_scenario(solved: Plan) -> None:
    scenario = load_scenario(SHORTAGE)
    plan = plan_from_result(solve_scenario(scenario, SETTINGS))
    first = plan.assignments[-1]
    other = next(a for a in plan.assignments if a.area != first.area)
    edited = _edited(plan, {first.defector: other.area})
    _assert_figures_match(scenario, [plan, edited])


def test_hand_edited_plan_shows_its_violations_and_the_stale_digest(
    tutorial: Scenario, solved: Plan
) -> None:
    edited = _edited(solved, {"D10": "0180"})
    comparison = compare_plans(tutorial, [solved, edited], labels=["solver", "by hand"])
    data = comparison.to_dict()
    by_hand = data["plans"][1]
    assert by_hand["check"]["ok"] is False
    [violation] = by_hand["check"]["violations"]
    assert violation.startswith("capacity:") and "Stockholm" in violation
    # The same verdict words as `placement check` and the HTML report.
    assert "| OK | FAILED: 1 rule violation |" in render_comparison(comparison, "markdown")
    assert any("edited after it was written" in w for w in by_hand["check"]["warnings"])
    assert data["plans"][0]["check"]["warnings"] == []
    [difference] = data["differences"]
    assert difference["defector"] == "D10"
    assert difference["plans"]["solver"]["area"] == "2180"
    assert difference["plans"]["by hand"]["area"] == "0180"
    gained = (
        difference["plans"]["by hand"]["safety_margin_km"]
        - difference["plans"]["solver"]["safety_margin_km"]
    )
    [note] = difference["notes"]
    assert note.startswith("by hand: margin gained" if gained >= 0 else "by hand: margin lost")
    assert "breaks capacity" in note


def test_plan_for_another_scenario_version_gives_a_warning(
    tutorial: Scenario, solved: Plan
) -> None:
    data = json.loads(plan_to_json(solved))
    data["scenario"]["sha256"] = "0" * 64
    other = Plan.model_validate(data)
    warnings = compare_plans(tutorial, [other]).plans[0].warnings
    assert any("different scenario file" in w for w in warnings)
    assert any("edited after it was written" in w for w in warnings)


def test_unplaced_person_is_a_difference_with_its_reason(tutorial: Scenario, solved: Plan) -> None:
    comparison = compare_plans(tutorial, [solved, _edited(solved, {"D05": None})])
    [difference] = comparison.differences
    assert difference.defector == "D05"
    assert difference.outcomes[1].area is None
    assert difference.notes == ("B: NOT placed (placed in A)",)
    text = render_comparison(comparison, "text")
    assert "placed at threat level 5    1" in text
    assert re.search(r"placed at threat level 5\s+1\s+0 \(-1\)", text)


def test_renderings(tutorial: Scenario, solved: Plan) -> None:
    comparison = compare_plans(tutorial, [solved, _edited(solved, {"D10": "0180"})])
    markdown = render_comparison(comparison, "markdown")
    assert "| min safety margin km |" in markdown
    page = render_comparison(comparison, "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    fragment = comparison_html_fragment(comparison)
    assert "<html" not in fragment and "<head" not in fragment
    assert "<script" not in fragment and "http" not in fragment and "<link" not in fragment
    classes = re.findall(r'class="([^"]*)"', fragment)
    assert classes and all(c.startswith("cmp-") for value in classes for c in value.split())
    assert json.loads(render_comparison(comparison, "json"))["format"] == COMPARISON_FORMAT


def test_json_keys_are_pinned(tutorial: Scenario, solved: Plan) -> None:
    data = compare_plans(tutorial, [solved, solved]).to_dict()
    assert list(data) == [
        "format",
        "scenario",
        "baseline",
        "preferences_stated",
        "load_kind",
        "load_areas",
        "plans",
        "differences",
    ]
    assert set(data["plans"][0]) == {
        "label",
        "status",
        "status_reason",
        "what_if",
        "check",
        "pending_by_threat_level",
        "newly_placed",
        "unplaced",
        "min_safety_margin_km",
        "min_safety_margin_defector",
        "median_safety_margin_km",
        "safety_margins_km",
        "tightest_keep_apart",
        "load",
        "wait_weeks_total",
        "longest_wait_weeks",
        "longest_wait_defector",
        "preferences_met",
        "moves",
        "secondary_points",
    }
    assert data["differences"] == []


def test_labels_must_match_the_plans(tutorial: Scenario, solved: Plan) -> None:
    with pytest.raises(ValueError, match="2 labels for 1 plans"):
        compare_plans(tutorial, [solved], labels=["a", "b"])


# --------------------------------------------------------------------------- the CLI


def test_cli_compare_exit_codes_and_formats(tmp_path: Path, solved: Plan) -> None:
    runner = CliRunner()
    good = tmp_path / "good.json"
    good.write_text(plan_to_json(solved), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_edited(solved, {"D10": "0180"}).model_dump(mode="json")))

    result = runner.invoke(main, ["compare", str(TUTORIAL), str(good), str(good)])
    assert result.exit_code == EXIT_OK, result.output
    assert "Every person has the same outcome in every plan." in result.output

    result = runner.invoke(
        main, ["compare", str(TUTORIAL), str(good), str(bad), "--format", "json"]
    )
    assert result.exit_code == EXIT_VIOLATIONS
    data = json.loads(result.output)
    assert [p["label"] for p in data["plans"]] == ["good.json", "bad.json"]
    assert data["plans"][1]["check"]["ok"] is False

    out = tmp_path / "comparison.html"
    result = runner.invoke(
        main, ["compare", str(TUTORIAL), str(good), str(bad), "--format", "html", "-o", str(out)]
    )
    assert result.exit_code == EXIT_VIOLATIONS
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    result = runner.invoke(main, ["compare", str(TUTORIAL), str(good), str(tmp_path / "no.json")])
    assert result.exit_code == EXIT_INVALID
    assert "file not found" in result.output


def test_cli_compare_reads_plans_written_by_solve(tmp_path: Path) -> None:
    runner = CliRunner()
    plan = tmp_path / "plan.json"
    result = runner.invoke(
        main, ["solve", str(TUTORIAL), "-o", str(plan), "-q", "--time-limit", "20"]
    )
    assert result.exit_code == EXIT_OK, result.output
    result = runner.invoke(
        main, ["compare", str(TUTORIAL), str(plan), str(plan), "--format", "json"]
    )
    assert result.exit_code == EXIT_OK
    figures = json.loads(result.output)["plans"][0]
    assert figures["check"]["warnings"] == []  # the right scenario, the digest matches
    assert figures["newly_placed"] == load_plan(plan).model_extra["metrics"]["newly_placed"]


def test_cli_compare_output_is_sealed_when_a_plan_is_encrypted(
    tmp_path: Path, solved: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    from placement import crypto

    monkeypatch.setattr(crypto, "scrypt_cost", crypto.ScryptCost(n=2**10, r=8, p=1))
    monkeypatch.setenv(crypto.PASSPHRASE_ENV, "correct horse battery staple")
    sealed_plan = tmp_path / "plan.json.enc"
    sealed_plan.write_bytes(
        crypto.encrypt(plan_to_json(solved).encode("utf-8"), "correct horse battery staple")
    )
    out = tmp_path / "comparison.md"
    result = CliRunner().invoke(
        main,
        ["compare", str(TUTORIAL), str(sealed_plan), "--format", "markdown", "-o", str(out)],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "(encrypted)" in result.output
    assert crypto.is_encrypted_file(out)
    text = crypto.decrypt(out.read_bytes(), "correct horse battery staple").decode("utf-8")
    assert "| min safety margin km |" in text


def test_text_from_a_hostile_plan_cannot_drive_the_terminal(
    tutorial: Scenario, solved: Plan
) -> None:
    data = json.loads(plan_to_json(solved))
    data["assignments"].append({"defector": "\x1b[2J\u202eD99", "area": "0180"})
    data["provenance"]["what_if"] = {"set": ["policy.keep_apart_km=1\x1b[31m"]}
    comparison = compare_plans(tutorial, [Plan.model_validate(data)])
    for fmt in ("text", "markdown", "html"):
        shown = render_comparison(comparison, fmt)  # type: ignore[arg-type]
        assert "\x1b" not in shown and "\u202e" not in shown
    assert "\\x1b[2J\\u202eD99" in render_comparison(comparison, "text")
