"""The command line, driven through click's CliRunner; results are checked through the library."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import EXIT_INVALID, EXIT_OK, EXIT_VIOLATIONS, main
from placement.check import check_plan
from placement.plan import load_plan
from placement.scenario import load_scenario

README = Path(__file__).resolve().parent.parent / "README.md"

TINY = """\
format: placement-scenario/1
name: CLI test
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

BROKEN = """\
format: placement-scenario/1
networks:
  - {id: N01, territory: [Göteborg]}
defectors:
  - {id: D1, networks: [N01], origin: Stokholm}
  - {id: D2, networks: [N09], origin: Malmö, threat_level: 7}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    return path


def test_solve_writes_a_plan_that_passes_check(runner: CliRunner, tiny: Path) -> None:
    out = tiny.parent / "plan.json"
    result = runner.invoke(main, ["solve", str(tiny), "-o", str(out), "--time-limit", "20"])
    assert result.exit_code == EXIT_OK, result.output
    assert "Status: optimal" in result.stdout
    assert "D4: no area has 3 free housing units" in result.stdout
    assert f"Plan written to {out}" in result.stdout
    plan = load_plan(out)
    assert check_plan(load_scenario(tiny), plan).ok
    assert {a.defector for a in plan.assignments} == {"D1", "D2", "D3"}
    assert [u.defector for u in plan.unplaced] == ["D4"]


def test_plan_keys_are_pinned(runner: CliRunner, tiny: Path) -> None:
    out = tiny.parent / "plan.json"
    runner.invoke(main, ["solve", str(tiny), "-o", str(out), "-q"])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert list(data) == [
        "format",
        "scenario",
        "status",
        "assignments",
        "unplaced",
        "metrics",
        "provenance",
        "digest",
    ]
    assert data["format"] == "placement-plan/1"
    assert set(data["digest"]) == {"algorithm", "value"}
    assert set(data["scenario"]) == {"name", "sha256"}
    assert set(data["provenance"]) >= {
        "tool",
        "version",
        "solver",
        "python",
        "seed",
        "workers",
        "time_limit_s",
        "reproducible",
        "created_at",
        "timing_s",
    }
    first = data["assignments"][0]
    assert list(first)[:3] == ["defector", "area", "area_name"]
    assert set(data["unplaced"][0]) == {"defector", "reasons", "threat_level"}


def test_check_reports_violations_with_exit_1(runner: CliRunner, tiny: Path) -> None:
    out = tiny.parent / "plan.json"
    runner.invoke(main, ["solve", str(tiny), "-o", str(out), "-q"])
    data = json.loads(out.read_text(encoding="utf-8"))
    for entry in data["assignments"]:
        if entry["defector"] == "D1":
            entry["area"] = "1481"  # Mölndal: next to N01's Göteborg
    out.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(main, ["check", str(tiny), str(out)])
    assert result.exit_code == EXIT_VIOLATIONS
    assert "threats" in result.stdout and "D1" in result.stdout and "Mölndal" in result.stdout
    as_json = runner.invoke(main, ["check", str(tiny), str(out), "--json"])
    assert as_json.exit_code == EXIT_VIOLATIONS
    assert json.loads(as_json.stdout)["ok"] is False


def test_check_passes_with_exit_0(runner: CliRunner, tiny: Path) -> None:
    out = tiny.parent / "plan.json"
    runner.invoke(main, ["solve", str(tiny), "-o", str(out), "-q"])
    result = runner.invoke(main, ["check", str(tiny), str(out)])
    assert result.exit_code == EXIT_OK
    assert "OK" in result.stdout


def test_pre_existing_problems_are_reported_by_validate_solve_and_the_plan(
    runner: CliRunner, tiny: Path
) -> None:
    """The contract: rules already placed people break among themselves are reported as such."""
    tiny.write_text(
        TINY + "  - {id: D5, networks: [N01], origin: Göteborg, placed_in: Luleå}\n",
        encoding="utf-8",
    )
    expected = "keep_apart: D3 in Luleå (2580) and D5 in Luleå (2580) are 0.0 km apart"
    validated = runner.invoke(main, ["validate", str(tiny)])
    assert "Pre-existing problems among people already placed (1;" in validated.stdout
    assert expected in validated.stdout
    out = tiny.parent / "plan.json"
    solved = runner.invoke(main, ["solve", str(tiny), "-o", str(out)])
    assert solved.exit_code == EXIT_OK and expected in solved.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    (problem,) = data["pre_existing_problems"]
    assert (problem["rule"], problem["defectors"]) == ("keep_apart", ["D3", "D5"])
    assert problem["message"].startswith(expected)
    assert check_plan(load_scenario(tiny), load_plan(out)).ok  # not counted against the plan


def test_check_says_when_a_plan_names_no_scenario_file(runner: CliRunner, tiny: Path) -> None:
    out = tiny.parent / "plan.json"
    runner.invoke(main, ["solve", str(tiny), "-o", str(out), "-q"])
    data = json.loads(out.read_text(encoding="utf-8"))
    del data["scenario"]["sha256"]
    out.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(main, ["check", str(tiny), str(out)])
    assert result.exit_code == EXIT_OK
    assert "the plan records no scenario sha256" in result.stdout


def test_bad_scenario_gives_exit_2_every_problem_and_no_file(
    runner: CliRunner, broken: Path
) -> None:
    out = broken.parent / "plan.json"
    result = runner.invoke(main, ["solve", str(broken), "-o", str(out)])
    assert result.exit_code == EXIT_INVALID
    assert "Traceback" not in result.output
    assert "defectors[0].origin: unknown area 'Stokholm' (did you mean Stockholm" in result.stderr
    assert "defectors[1].networks[0]: unknown network 'N09'" in result.stderr
    assert "defectors[1].threat_level" in result.stderr
    assert result.stderr.startswith(f"Error: {broken}: 3 problems")
    assert not out.exists()
    assert list(broken.parent.iterdir()) == [broken]  # no temporary file left either


def test_missing_output_directory_is_exit_2(runner: CliRunner, tiny: Path) -> None:
    result = runner.invoke(main, ["solve", str(tiny), "-o", str(tiny.parent / "no" / "p.json")])
    assert result.exit_code == EXIT_INVALID
    assert "does not exist" in result.stderr


def test_missing_scenario_file_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == EXIT_INVALID
    assert "file not found" in result.stderr


def test_malformed_plan_is_exit_2(runner: CliRunner, tiny: Path) -> None:
    plan = tiny.parent / "plan.json"
    plan.write_text('{"format": "placement-plan/1", "status": "great"', encoding="utf-8")
    result = runner.invoke(main, ["check", str(tiny), str(plan)])
    assert result.exit_code == EXIT_INVALID
    assert "invalid JSON" in result.stderr
    plan.write_text('{"format": "placement-plan/1", "status": "great"}', encoding="utf-8")
    result = runner.invoke(main, ["check", str(tiny), str(plan)])
    assert result.exit_code == EXIT_INVALID
    assert "status" in result.stderr


def test_validate_summarises_a_valid_scenario(runner: CliRunner, tiny: Path) -> None:
    result = runner.invoke(main, ["validate", str(tiny)])
    assert result.exit_code == EXIT_OK
    assert "Scenario: CLI test  [valid]" in result.stdout
    assert "networks: 2, rivalries 1" in result.stdout
    assert "No allowed area at all for 1 pending: D4" in result.stdout


def test_validate_lists_problems(runner: CliRunner, broken: Path) -> None:
    result = runner.invoke(main, ["validate", str(broken)])
    assert result.exit_code == EXIT_INVALID
    assert "unknown area 'Stokholm'" in result.stderr


def test_schema_is_json_schema(runner: CliRunner) -> None:
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == EXIT_OK
    schema = json.loads(result.stdout)
    assert {"format", "policy", "capacity", "networks", "defectors"} <= set(schema["properties"])


def test_schema_history_is_the_history_files_schema(runner: CliRunner) -> None:
    result = runner.invoke(main, ["schema", "--history"])
    assert result.exit_code == EXIT_OK
    schema = json.loads(result.stdout)
    assert {"format", "scenario", "events"} <= set(schema["properties"])


def test_history_only_options_without_history_are_a_usage_error(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "s.yaml"
    result = runner.invoke(main, ["generate", "-o", str(out), "--months", "3", "--events", "2"])
    assert result.exit_code == EXIT_INVALID
    assert "--months and --events only apply with --history" in result.stderr
    assert not out.exists()


def test_usage_error_is_exit_2(runner: CliRunner, tiny: Path) -> None:
    result = runner.invoke(main, ["solve", str(tiny)])  # no -o
    assert result.exit_code == EXIT_INVALID
    result = runner.invoke(main, ["solve", str(tiny), "-o", "x.json", "--workers", "0"])
    assert result.exit_code == EXIT_INVALID


def test_every_command_has_help_and_a_readme_mention(runner: CliRunner) -> None:
    readme = README.read_text(encoding="utf-8")
    for name, command in main.commands.items():
        assert command.help, f"{name} has no help text"
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == EXIT_OK
        assert f"placement {name}" in readme, f"README does not mention 'placement {name}'"
    top = runner.invoke(main, ["--help"])
    assert "Exit codes" in top.stdout


NATIONAL = Path(__file__).resolve().parent.parent / "scenarios" / "national.yaml"


def _without_times(text: str) -> dict[str, object]:
    data = json.loads(text)
    data["provenance"].pop("created_at")
    data["provenance"].pop("timing_s")
    data.pop("digest")  # covers the times too
    return data


def test_two_runs_write_the_same_plan_byte_for_byte_apart_from_times(
    runner: CliRunner, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for out in (first, second):
        result = runner.invoke(main, ["solve", str(NATIONAL), "-o", str(out), "-q"])
        assert result.exit_code == EXIT_OK, result.output
    a, b = first.read_text(encoding="utf-8"), second.read_text(encoding="utf-8")
    assert _without_times(a) == _without_times(b)
    # Byte for byte once the time values (and only those) are blanked out.
    assert _blank_times(a) == _blank_times(b)


def _blank_times(text: str) -> str:
    text = re.sub(r'"created_at": "[^"]*"', '"created_at": ""', text)
    text = re.sub(r'"value": "[0-9a-f]{64}"', '"value": ""', text)  # the digest covers the times
    return re.sub(r'"(build|stage_\d+)": [0-9.e-]+', r'"\1": 0', text)


def test_progress_goes_to_stderr(
    runner: CliRunner, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import placement.solve

    monkeypatch.setattr(placement.solve, "PROGRESS_AFTER_S", 0.0)
    out = tiny.parent / "plan.json"
    result = runner.invoke(main, ["solve", str(tiny), "-o", str(out)])
    assert result.exit_code == EXIT_OK
    assert "incumbent" in result.stderr and "bound" in result.stderr
    assert "incumbent" not in result.stdout
    quiet = runner.invoke(main, ["solve", str(tiny), "-o", str(out), "-q"])
    assert quiet.stdout == "" and quiet.stderr == ""


def test_unwritable_output_is_exit_2_without_traceback(
    runner: CliRunner, tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import placement.plan

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(placement.plan, "write_files_atomic", refuse)
    out = tiny.parent / "plan.json"
    result = runner.invoke(main, ["solve", str(tiny), "-o", str(out), "-q"])
    assert result.exit_code == EXIT_INVALID
    assert "--output: cannot write: Permission denied" in result.stderr
    assert not out.exists()


def test_output_that_is_a_directory_is_exit_2(runner: CliRunner, tiny: Path) -> None:
    result = runner.invoke(main, ["solve", str(tiny), "-o", str(tiny.parent)])
    assert result.exit_code == EXIT_INVALID
    assert "is a directory" in result.stderr


def test_generate_writes_a_valid_scenario_deterministically(
    runner: CliRunner, tmp_path: Path
) -> None:
    args = ["--seed", "4", "--networks", "8", "--placed", "20", "--pending", "6"]
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    for out in (first, second):
        result = runner.invoke(main, ["generate", "-o", str(out), *args])
        assert result.exit_code == EXIT_OK, result.output
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text(encoding="utf-8").startswith("# SYNTHETIC scenario, made by:")
    scenario = load_scenario(first)
    assert len(scenario.networks) == 8
    assert (len(scenario.placed), len(scenario.pending)) == (20, 6)
    as_json = tmp_path / "c.json"
    assert runner.invoke(main, ["generate", "-o", str(as_json), *args]).exit_code == EXIT_OK
    assert load_scenario(as_json).defectors == scenario.defectors
    plan = tmp_path / "plan.json"
    assert runner.invoke(main, ["solve", str(first), "-o", str(plan), "-q"]).exit_code == EXIT_OK
    assert check_plan(scenario, load_plan(plan)).ok


def test_generate_impossible_request_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "g.yaml"
    result = runner.invoke(
        main, ["generate", "-o", str(out), "--networks", "2", "--placed", "5000"]
    )
    assert result.exit_code == EXIT_INVALID
    assert "could not place" in result.stderr
    assert not out.exists()


def test_every_option_of_every_command_has_help_text() -> None:
    missing = [
        f"{name} {param.opts[0]}"
        for name, command in sorted(main.commands.items())
        for param in command.params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert not missing, missing
