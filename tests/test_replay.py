"""Replaying histories: every step checked by the independent checker, no needless moves,
the expected outcome of each bundled history, reproducible timelines, and hostile input."""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile import assert_clean, hostile_files, run

from cli import EXIT_INVALID, EXIT_OK, EXIT_SIGTERM, main
from placement import _yamlio, crypto
from placement.check import check_plan
from placement.crypto import PASSPHRASE_ENV, ScryptCost
from placement.history import History, load_history
from placement.plan import Assignment, Plan, Unplaced
from placement.replay import (
    TIMELINE_FORMAT,
    Replay,
    ReplaySettings,
    render_timeline,
    replay_history,
    timeline_to_json,
)
from placement.scenario import Scenario, scenario_from_document

ROOT = Path(__file__).resolve().parent.parent
HISTORY_DIR = ROOT / "scenarios" / "history"
HISTORIES = sorted(p.stem for p in HISTORY_DIR.glob("*.yaml"))
SETTINGS = ReplaySettings(step_budget=10.0)


@functools.cache
def replayed(name: str) -> tuple[History, Replay]:
    history = load_history(HISTORY_DIR / f"{name}.yaml")
    return history, replay_history(history, SETTINGS)


def step_scenario(history: History, document: dict[str, Any], *, placed: bool) -> Scenario:
    """The scenario as the events made it at a step; with ``placed=False`` nobody is placed,
    so that the checker counts every broken rule against the plan."""
    scenario = scenario_from_document(document, geography=history.geography)
    if placed:
        return scenario
    return replace(
        scenario, defectors=tuple(replace(d, placed_in=None) for d in scenario.defectors)
    )


def step_plan(step: dict[str, Any]) -> Plan:
    return Plan(
        status="feasible",
        assignments=[
            Assignment(defector=a["defector"], area=a["area"]) for a in step["assignments"]
        ],
        unplaced=[Unplaced(defector=u["defector"]) for u in step["unplaced"]],
    )


def everyone_stays(before: Scenario) -> Plan:
    """The plan in which nobody moves and nobody pending is placed: what the date started
    from, so that the checker names everyone whose place broke a rule before the decision."""
    return Plan(
        status="feasible",
        assignments=[
            Assignment(defector=d.id, area=before.geography.ids[d.placed_in])
            for d in before.placed
            if d.placed_in is not None
        ],
        unplaced=[Unplaced(defector=d.id) for d in before.pending],
    )


@pytest.mark.parametrize("name", HISTORIES)
def test_every_step_keeps_every_rule_except_for_people_at_risk(name: str) -> None:
    history, result = replayed(name)
    assert len(result.steps) == len(history.dates) == len(result.documents)
    for step, document in zip(result.steps, result.documents, strict=True):
        report = check_plan(step_scenario(history, document, placed=False), step_plan(step))
        assert not report.structural, (step["date"], report.structural)
        at_risk = {r["defector"] for r in step["at_risk"]}
        for violation in report.violations:
            assert set(violation.defectors) & at_risk, (step["date"], violation.message)


@pytest.mark.parametrize("name", HISTORIES)
def test_nobody_whose_place_was_safe_is_moved(name: str) -> None:
    history, result = replayed(name)
    for step, document in zip(result.steps, result.documents, strict=True):
        before = step_scenario(history, document, placed=True)
        report = check_plan(before, everyone_stays(before))
        unsafe = {p for v in report.violations + report.pre_existing for p in v.defectors}
        moved = {m["defector"] for m in step["moves"]}
        assert moved <= unsafe, (step["date"], moved - unsafe)
        assert {r["defector"] for r in step["at_risk"]} <= unsafe
        placed_before = {
            d.id: before.geography.ids[d.placed_in]
            for d in before.placed
            if d.placed_in is not None
        }
        for entry in step["assignments"]:
            if entry["defector"] in placed_before and entry["defector"] not in moved:
                assert entry["area"] == placed_before[entry["defector"]]


@pytest.mark.parametrize("name", HISTORIES)
def test_each_step_lists_everyone_in_the_program_once(name: str) -> None:
    _, result = replayed(name)
    for step, document in zip(result.steps, result.documents, strict=True):
        listed = [a["defector"] for a in step["assignments"]] + [
            u["defector"] for u in step["unplaced"]
        ]
        assert sorted(listed) == sorted(d["id"] for d in document["defectors"])
        for entry in step["unplaced"]:
            assert entry["reasons"]
        for move in step["moves"]:
            assert move["reason"] and move["from"] != move["to"]


def moves(result: Replay) -> list[tuple[str, str, str]]:
    return [(s["date"], m["defector"], m["to_name"]) for s in result.steps for m in s["moves"]]


def at_risk(result: Replay) -> list[tuple[str, str]]:
    return [(s["date"], r["defector"]) for s in result.steps for r in s["at_risk"]]


def actual_violations(result: Replay) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (s["date"], v["rule"], tuple(v["defectors"]))
        for s in result.steps
        for v in s.get("actual", {}).get("violations", [])
        if v["new"]
    ]


def test_feud_split_moves_only_the_person_next_to_the_new_faction() -> None:
    _, result = replayed("feud-split")
    assert [(d, who) for d, who, _ in moves(result)] == [("2024-02-01", "D01")]
    (step,) = [s for s in result.steps if s["moves"]]
    assert step["moves"][0]["reason"].startswith(
        "new network N05: threats: 39.4 km from N05's territory in Jönköping, needs 100 km"
    )
    assert at_risk(result) == []
    assert all(not s["unplaced"] for s in result.steps)
    flagged = actual_violations(result)
    assert ("2024-01-15", "origin", ("D10",)) in flagged
    assert ("2024-03-01", "keep_apart", ("D04", "D11")) in flagged
    comparison = result.steps[2]["actual"]["comparisons"][0]
    assert comparison["defector"] == "D11" and comparison["actual_too_close_to"] == ["D01", "D04"]
    assert comparison["margin_gained_km"] > 0


def test_territory_shift_reports_the_less_threatened_at_risk_until_housing_frees_up() -> None:
    _, result = replayed("territory-shift")
    assert moves(result) == [
        ("2024-05-01", "D21", "Östersund"),
        ("2024-06-15", "D22", moves(result)[1][2]),
    ]
    assert at_risk(result) == [("2024-05-01", "D22"), ("2024-06-01", "D22")]
    assert [u["defector"] for u in result.steps[1]["unplaced"]] == ["D25"]
    assert [p["defector"] for p in result.steps[2]["placed"]] == ["D25"]
    assert ("2024-06-01", "threats", ("D25",)) in actual_violations(result)


def test_youth_surge_places_the_most_threatened_and_moves_when_a_service_closes() -> None:
    _, result = replayed("youth-surge")
    assert moves(result) == [("2024-09-16", "D32", "Gävle")]
    assert at_risk(result) == []
    assert [p["defector"] for p in result.steps[0]["placed"]] == ["D31", "D32"]
    assert [u["defector"] for u in result.steps[-1]["unplaced"]] == ["D34"]
    hindsight = result.timeline["hindsight"]
    # With hindsight D34 (level 3) is placed instead of D35 (level 2): same count, lower weight.
    online, offline = hindsight["online"], hindsight["offline"]
    assert offline["placed_by_threat_level"]["3"] == online["placed_by_threat_level"]["3"] + 1
    assert offline["placed_by_threat_level"]["2"] == online["placed_by_threat_level"]["2"] - 1
    assert hindsight["placed_percent_of_offline"] == 100.0
    assert hindsight["weighted_percent_of_offline"] == 94.7
    assert offline["status"] == "optimal"


def test_housing_crunch_moves_the_most_threatened_first_and_never_all_three() -> None:
    _, result = replayed("housing-crunch")
    first = result.steps[0]
    assert [m["defector"] for m in first["moves"]] == ["D42"]
    assert sorted(r["defector"] for r in first["at_risk"]) == ["D41", "D43"]
    assert len(result.steps[2]["moves"]) == 1 and not result.steps[2]["at_risk"]
    assert [p["defector"] for p in result.steps[3]["placed"]] == ["D44"]
    assert ("2025-02-20", "capacity", ("D41", "D42", "D43", "D44")) in actual_violations(result)


@pytest.mark.parametrize("name", HISTORIES)
def test_hindsight_figures(name: str) -> None:
    _, result = replayed(name)
    hindsight = result.timeline["hindsight"]
    assert hindsight["placed_percent_of_offline"] == 100.0
    assert hindsight["offline"]["status"] == "optimal"
    assert hindsight["online"]["moves"] == result.timeline["summary"]["moves"]
    levels = [str(level) for level in (5, 4, 3, 2, 1)]
    online = [hindsight["online"]["placed_by_threat_level"][lvl] for lvl in levels]
    offline = [hindsight["offline"]["placed_by_threat_level"][lvl] for lvl in levels]
    assert offline >= online  # the offline optimum is an upper bound, most threatened first


def test_timeline_keys_are_pinned() -> None:
    _, result = replayed("feud-split")
    timeline = json.loads(timeline_to_json(result.timeline))
    assert list(timeline) == [
        "format",
        "history",
        "settings",
        "steps",
        "summary",
        "hindsight",
        "digest",
    ]
    assert timeline["format"] == TIMELINE_FORMAT
    assert list(timeline["steps"][0]) == [
        "date",
        "events",
        "assignments",
        "unplaced",
        "placed",
        "moves",
        "at_risk",
        "status",
        "actual",
    ]
    assert set(timeline["steps"][1]["moves"][0]) == {
        "defector",
        "from",
        "from_name",
        "to",
        "to_name",
        "threat_level",
        "reason",
    }


def test_report_flags_people_at_risk_prominently() -> None:
    _, result = replayed("territory-shift")
    text = render_timeline(result.timeline, "text")
    assert "!! AT RISK D22 (threat level 2) in Falun" in text
    markdown = render_timeline(result.timeline, "markdown")
    assert "- **AT RISK** D22" in markdown and "## 2024-05-01" in markdown
    assert "People placed: 100.0% of the hindsight optimum" in markdown


# --------------------------------------------------------------------------- a keep-apart pair

PAIR = """\
format: placement-history/1
scenario:
  format: placement-scenario/1
  capacity:
    areas:
      Umeå: {housing_units: 1}
      Skellefteå: {housing_units: 1}
      Luleå: {housing_units: 1}
      Östersund: {housing_units: 1}
  networks:
    - {id: N01, territory: [Göteborg]}
    - {id: N02, territory: [Malmö]}
  defectors:
    - {id: D01, networks: [N01], origin: Göteborg, threat_level: 2, placed_in: Umeå}
    - {id: D02, networks: [N02], origin: Malmö, threat_level: 4, placed_in: Skellefteå}
events:
  - {date: 2023-02-01, rivalry: [N01, N02]}
"""


def test_a_new_feud_moves_one_of_a_pair_never_both(tmp_path: Path) -> None:
    path = tmp_path / "pair.yaml"
    path.write_text(PAIR, encoding="utf-8")
    result = replay_history(load_history(path), SETTINGS)
    (step,) = result.steps
    assert len(step["moves"]) == 1 and step["at_risk"] == []
    assert "new feud between N01 and N02: keep-apart: 0.0 km from" in step["moves"][0]["reason"]
    # With nowhere to go, both stay, and both are at risk: each lives next to the other.
    path.write_text(
        PAIR.replace("Östersund: {housing_units: 1}", "Kiruna: {housing_units: 0}").replace(
            "Luleå: {housing_units: 1}", "Luleå: {housing_units: 0}"
        ),
        "utf-8",
    )
    (step,) = replay_history(load_history(path), SETTINGS).steps
    assert step["moves"] == []
    assert [r["defector"] for r in step["at_risk"]] == ["D01", "D02"]


CROWDED_NORTH = """\
format: placement-history/1
scenario:
  format: placement-scenario/1
  capacity:
    areas:
      Skellefteå: {housing_units: 1}
      Luleå: {housing_units: 1}
      Älvsbyn: {housing_units: 1}
      Piteå: {housing_units: 1}
  networks:
    - {id: N01, territory: [Göteborg], rivals: [N02]}
    - {id: N02, territory: [Malmö]}
  defectors:
    - {id: D1, networks: [N01], origin: Göteborg, threat_level: 1, placed_in: Skellefteå}
    - {id: D2, networks: [N01], origin: Göteborg, threat_level: 1, placed_in: Luleå}
    - {id: D3, networks: [N01], origin: Göteborg, threat_level: 1, placed_in: Älvsbyn}
events:
  - {date: 2024-01-10, arrive: {id: X, networks: [N02], origin: Malmö, threat_level: 5}}
"""


def test_hindsight_says_who_is_ahead_in_the_contracts_order(tmp_path: Path) -> None:
    """Three placed at level 1 against hindsight's one at level 5: 300% of its count, behind."""
    path = tmp_path / "north.yaml"
    path.write_text(CROWDED_NORTH, encoding="utf-8")
    result = replay_history(load_history(path), SETTINGS)
    data = result.timeline["hindsight"]
    assert (data["online"]["placed"], data["offline"]["placed"]) == (3, 1)
    assert data["offline"]["moves"] == 3  # hindsight leaves D1-D3 without a home: they move
    text = render_timeline(result.timeline, "text")
    assert "the replay is behind hindsight from threat level 5 (0 placed against 1)" in text


def test_a_threat_level_change_is_not_called_a_buffer_change(tmp_path: Path) -> None:
    path = tmp_path / "level.yaml"
    path.write_text(
        PAIR.replace("events:\n  - {date: 2023-02-01, rivalry: [N01, N02]}\n", "") + "events:\n"
        "  - {date: 2024-01-10, territory: {network: N02, add: [Umeå]}}\n"
        "  - {date: 2024-01-10, rivalry: [N01, N02]}\n"
        "  - {date: 2024-01-10, threat: {defector: D01, threat_level: 4}}\n",
        encoding="utf-8",
    )
    (step,) = replay_history(load_history(path), SETTINGS).steps
    reasons = [m["reason"] for m in step["moves"]] + [
        "; ".join(r["reasons"]) for r in step["at_risk"]
    ]
    assert any("N02 took new territory" in r for r in reasons)
    assert not any("threat buffer changed" in r for r in reasons)


def test_a_history_without_events_ends_where_it_started(tmp_path: Path) -> None:
    """No date, no decision: the summary's end is the start (two placed), not an empty world."""
    path = tmp_path / "still.yaml"
    path.write_text(PAIR.replace("events:\n  - {date: 2023-02-01, rivalry: [N01, N02]}\n", ""))
    result = replay_history(load_history(path), SETTINGS)
    assert result.steps == []
    assert result.timeline["summary"]["at_end"] == {"placed": 2, "waiting": 0, "at_risk": 0}


# --------------------------------------------------------------------------- the command line


def test_replay_cli_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    outputs = []
    for attempt in ("a", "b"):
        out = tmp_path / f"{attempt}.json"
        result = CliRunner().invoke(
            main, ["replay", str(HISTORY_DIR / "territory-shift.yaml"), "-o", str(out), "-q"]
        )
        assert result.exit_code == EXIT_OK, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert b"created_at" not in outputs[0]


def test_replay_cli_report_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    result = CliRunner().invoke(
        main,
        [
            "replay",
            str(HISTORY_DIR / "housing-crunch.yaml"),
            "-o",
            str(out),
            "--report",
            "markdown",
        ],
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "# Replay of Housing crunch in the north (synthetic)" in result.stdout
    assert "!! AT RISK on 2025-02-01: D41 in Umeå" in result.stdout
    assert json.loads(out.read_text("utf-8"))["format"] == TIMELINE_FORMAT


def test_replay_cli_invalid_history_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(PAIR.replace("rivalry: [N01, N02]", "rivalry: [N01, N03]"), "utf-8")
    out = tmp_path / "t.json"
    result = CliRunner().invoke(main, ["replay", str(path), "-o", str(out)])
    assert result.exit_code == EXIT_INVALID
    assert result.stderr == (
        f"Error: {path}: 1 problem\n"
        "  events[0].rivalry[1]: unknown network 'N03' at this date (did you mean N02 or N01?)\n"
    )
    assert not out.exists()


def test_encrypted_history_gives_an_encrypted_timeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crypto, "scrypt_cost", ScryptCost(n=2**10, r=8, p=1))
    sealed = tmp_path / "pair.yaml"
    sealed.write_bytes(crypto.encrypt(PAIR.encode("utf-8"), "secret words"))
    env = {PASSPHRASE_ENV: "secret words"}
    out = tmp_path / "t.json"
    args = ["replay", str(sealed), "-o", str(out), "-q", "--no-hindsight"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == EXIT_OK, result.output
    assert crypto.is_encrypted(out.read_bytes())
    timeline = json.loads(crypto.decrypt(out.read_bytes(), "secret words"))
    assert "hindsight" not in timeline
    result = CliRunner().invoke(main, [*args, "--no-encrypt"], env=env)
    assert result.exit_code == EXIT_OK and not crypto.is_encrypted(out.read_bytes())


def test_an_interrupted_replay_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import placement.replay
    from placement.solve import StopRequest

    stop = StopRequest()
    stop.request("SIGINT")
    history, _ = replayed("feud-split")
    stopped = replay_history(history, SETTINGS, stop=stop)
    assert stopped.interrupted == "SIGINT" and stopped.steps == []
    assert "hindsight" not in stopped.timeline

    real = placement.replay.replay_history

    def signalled(history: History, settings: ReplaySettings, **kwargs: Any) -> Replay:
        kwargs["stop"].request("SIGTERM")  # as the SIGTERM handler does, mid-replay
        return real(history, settings, **kwargs)

    monkeypatch.setattr(placement.replay, "replay_history", signalled)
    out = tmp_path / "t.json"
    result = CliRunner().invoke(
        main, ["replay", str(HISTORY_DIR / "feud-split.yaml"), "-o", str(out), "-q"]
    )
    assert result.exit_code == EXIT_SIGTERM
    assert "Interrupted by SIGTERM; nothing written" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- hostile input


@functools.cache
def base_history() -> Any:
    path = HISTORY_DIR / "feud-split.yaml"
    document, problems = _yamlio.parse(path.read_bytes(), path)
    assert problems == []
    for event in document["events"]:  # as text, so that the fuzzer can also write JSON
        event["date"] = event["date"].isoformat()
    return document


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_broken_histories_give_a_timeline_or_a_clean_exit_2(data: st.DataObject) -> None:
    data_bytes, suffix = data.draw(hostile_files(copy.deepcopy(base_history())))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"history{suffix}"
        path.write_bytes(data_bytes)
        out = Path(directory) / "timeline.json"
        result = run(["replay", str(path), "-o", str(out), "-q", "--step-budget", "2"])
        assert_clean(result)
        if result.exit_code == EXIT_INVALID:
            assert not out.exists()
        else:
            assert json.loads(out.read_text("utf-8"))["format"] == TIMELINE_FORMAT


def test_history_reads_dates_and_quoted_codes(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(PAIR.replace("Umeå: {housing_units: 1}", '"2480": {housing_units: 1}'), "utf-8")
    history = load_history(path)
    assert history.events[0].date.isoformat() == "2023-02-01"
    assert "2480" in history.start_document["capacity"]["areas"]


def test_actual_moves_on_any_event_and_an_empty_history(tmp_path: Path) -> None:
    history_text = PAIR.replace(
        "  - {date: 2023-02-01, rivalry: [N01, N02]}\n",
        "  - {date: 2023-01-15, leave: D02, actual: {D01: Skellefteå}}\n"
        "  - {date: 2023-02-01, rivalry: [N01, N02]}\n",
    ).replace("placed_in: Skellefteå}", "placed_in: Luleå}")
    path = tmp_path / "h.yaml"
    path.write_text(history_text, "utf-8")
    result = replay_history(load_history(path), SETTINGS)
    first = result.steps[0]
    (comparison,) = first["actual"]["comparisons"]
    assert comparison["actual_area_name"] == "Skellefteå"
    assert comparison["planner_area_name"] == "Umeå"  # safe where they were: not moved
    assert first["moves"] == []
    empty = tmp_path / "empty.yaml"
    empty.write_text(PAIR.split("events:")[0] + "events: []\n", "utf-8")
    result = replay_history(load_history(empty), SETTINGS)
    assert result.steps == []
    assert result.timeline["hindsight"]["online"]["placed"] == 2


def test_sigint_during_a_real_replay_exits_130_and_leaves_no_file(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    history = tmp_path / "national-history.yaml"
    history.write_text(
        "format: placement-history/1\n"
        f"scenario: {ROOT / 'scenarios' / 'national.yaml'}\n"
        "events:\n"
        "  - {date: 2024-01-10, arrive: {id: X001, networks: [N01], origin: Göteborg}}\n"
        "  - {date: 2024-02-01, territory: {network: N03, add: [Uppsala, Gävle, Sundsvall]}}\n"
        "  - {date: 2024-03-01, policy: {keep_apart_km: 80}}\n",
        "utf-8",
    )
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "replay", str(history), "-o", str(out / "t.json")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    first = process.stderr.readline()  # the first date is decided: the replay is under way
    assert first.startswith("2024-01-10"), first
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130, rest
    assert "Interrupted by SIGINT; nothing written" in rest
    assert list(out.iterdir()) == []
