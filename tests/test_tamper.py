"""Provenance and tamper evidence: a plan's own digest, and the scenario's sha256 in the plan."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import EXIT_OK, EXIT_VIOLATIONS, main
from placement.plan import (
    Assignment,
    Plan,
    load_plan,
    plan_digest,
    plan_to_json,
    verify_digest,
    write_plan,
)

SCENARIO = """\
format: placement-scenario/1
name: Tamper test
capacity:
  default: {housing_units: 2, services: [exit_program]}
networks:
  - {id: N01, territory: [Göteborg], rivals: [N02]}
  - {id: N02, territory: [Malmö]}
defectors:
  - {id: D1, networks: [N01], origin: Göteborg, threat_level: 5}
  - {id: D2, networks: [N02], origin: Malmö, threat_level: 4}
  - {id: D3, networks: [N02], origin: Malmö, placed_in: Luleå}
  - {id: D4, networks: [N01], origin: Göteborg, household: 3}
"""
EDITED = "the plan was edited after it was written"
OTHER_SCENARIO = "the plan was made for a different scenario file"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture
def plan(runner: CliRunner, scenario: Path) -> Path:
    out = scenario.parent / "plan.json"
    result = runner.invoke(main, ["solve", str(scenario), "-o", str(out), "-q"])
    assert result.exit_code == EXIT_OK, result.output
    return out


Change = Callable[[dict[str, Any]], object]


def _edit(path: Path, change: Change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def test_a_written_plan_carries_a_digest_of_its_content_that_verifies(plan: Path) -> None:
    data = json.loads(plan.read_text(encoding="utf-8"))
    assert list(data)[-1] == "digest"
    assert data["digest"]["algorithm"] == "sha256"
    content = {k: v for k, v in data.items() if k != "digest"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert data["digest"]["value"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert data["digest"]["value"] == plan_digest(data)
    assert verify_digest(data) is None
    assert verify_digest(load_plan(plan)) is None


def test_reformatting_is_not_an_edit(plan: Path) -> None:
    data = json.loads(plan.read_text(encoding="utf-8"))
    plan.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")  # one line, keys sorted
    assert verify_digest(load_plan(plan)) is None


def test_writing_replaces_a_stale_digest(tmp_path: Path) -> None:
    stale = Plan(
        status="optimal",
        assignments=[Assignment(defector="D1", area="2480")],
        digest={"algorithm": "sha256", "value": "0" * 64},
    )
    assert verify_digest(stale) is not None
    path = tmp_path / "plan.json"
    write_plan(stale, path)
    assert verify_digest(load_plan(path)) is None
    assert json.loads(plan_to_json(stale))["digest"]["value"] != "0" * 64


def test_check_passes_an_untouched_plan_without_warnings(
    runner: CliRunner, scenario: Path, plan: Path
) -> None:
    result = runner.invoke(main, ["check", str(scenario), str(plan)])
    assert result.exit_code == EXIT_OK
    assert "Warnings" not in result.stdout


def test_an_edit_that_breaks_no_rule_is_a_warning_not_a_failure(
    runner: CliRunner, scenario: Path, plan: Path
) -> None:
    def reword(data: dict[str, Any]) -> None:
        data["unplaced"][0]["reasons"] = ["nobody wanted to"]

    _edit(plan, reword)
    result = runner.invoke(main, ["check", str(scenario), str(plan)])
    assert result.exit_code == EXIT_OK
    assert "Warnings (1):" in result.stdout
    assert f"  {EDITED}: its content does not match its digest (sha256 " in result.stdout
    as_json = runner.invoke(main, ["check", str(scenario), str(plan), "--json"])
    assert as_json.exit_code == EXIT_OK
    assert json.loads(as_json.stdout)["warnings"][0].startswith(EDITED)


def test_an_edit_that_breaks_a_rule_fails_and_warns(
    runner: CliRunner, scenario: Path, plan: Path
) -> None:
    def move_d1_next_to_its_network(data: dict[str, Any]) -> None:
        for entry in data["assignments"]:
            if entry["defector"] == "D1":
                entry["area"] = "1481"  # Mölndal, next to N01's Göteborg

    _edit(plan, move_d1_next_to_its_network)
    result = runner.invoke(main, ["check", str(scenario), str(plan)])
    assert result.exit_code == EXIT_VIOLATIONS
    assert EDITED in result.stdout and "Mölndal" in result.stdout


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        (lambda data: data.pop("digest"), "the plan carries no digest of its content"),
        (
            lambda data: data.__setitem__("digest", {"algorithm": "md5", "value": "x"}),
            "the plan's digest is not a sha256 digest",
        ),
        (lambda data: data.__setitem__("digest", "abc"), "is not a sha256 digest"),
    ],
)
def test_a_missing_or_unusable_digest_is_a_warning(
    runner: CliRunner, scenario: Path, plan: Path, change: Change, warning: str
) -> None:
    _edit(plan, change)
    result = runner.invoke(main, ["check", str(scenario), str(plan)])
    assert result.exit_code == EXIT_OK
    assert warning in result.stdout


def test_a_plan_for_another_version_of_the_scenario_gets_the_hash_warning(
    runner: CliRunner, scenario: Path, plan: Path
) -> None:
    scenario.write_text(SCENARIO.replace("name: Tamper test", "name: Tamper test v2"), "utf-8")
    result = runner.invoke(main, ["check", str(scenario), str(plan)])
    assert result.exit_code == EXIT_OK  # a warning, the rules still hold
    assert OTHER_SCENARIO in result.stdout
    assert EDITED not in result.stdout  # the plan itself is untouched
