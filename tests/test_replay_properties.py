"""Replay invariants on generated histories, checked by the independent checker.

The bundled histories (tests/test_replay.py) each test one story. Here hypothesis writes
histories of its own: a small generated scenario, then a random but valid stream of events
(arrivals, feuds and truces, territory changes, housing changes, policy changes, departures,
threat changes). Whatever happens, at every date:

- every rule holds among everyone in the program, except for violations that involve someone
  the step reports as at risk (checked with ``check_plan`` with nobody pre-placed, so that every
  broken rule counts);
- nobody whose place was still safe before the date's decision is moved or reported at risk;
- everyone still in the program is listed once.
"""

from __future__ import annotations

import datetime
import random
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_replay import everyone_stays, step_plan, step_scenario

from placement.check import check_plan
from placement.generate import generate_tiny
from placement.history import load_history
from placement.replay import ReplaySettings, replay_history, timeline_to_json

SETTINGS = ReplaySettings(step_budget=5.0)


def _random_history(seed: int) -> dict[str, Any]:
    """A valid history over a tiny generated scenario, with one to eight dated events.

    The events are drawn so that each is valid at its date (a truce ends an existing feud, a
    departure names someone in the program): invalid histories are test_replay's hostile-input
    tests' business, here every history must replay.
    """
    rng = random.Random(seed)
    scenario = generate_tiny(seed=seed)
    networks = [n["id"] for n in scenario["networks"]]
    feuds = {frozenset((n["id"], r)) for n in scenario["networks"] for r in n.get("rivals", [])}
    territory = {n["id"]: list(n.get("territory", [])) for n in scenario["networks"]}
    people = [d["id"] for d in scenario["defectors"]]
    levels = {d["id"]: int(d.get("threat_level", 3)) for d in scenario["defectors"]}
    areas = sorted(scenario["capacity"]["areas"])
    towns = ["Stockholm", "Göteborg", "Malmö", "Uppsala", "Örebro", "Linköping", "Umeå"]
    events: list[dict[str, Any]] = []
    date = datetime.date(2024, 1, 1)
    for number in range(rng.randint(1, 8)):
        date += datetime.timedelta(days=rng.choice([0, 7, 30]))
        kinds = ["arrive", "capacity", "policy", "territory", "threat"]
        if len(networks) >= 2:
            kinds.append("rivalry")
        if feuds:
            kinds.append("truce")
        if people:
            kinds.append("leave")
        kind = rng.choice(kinds)
        event: dict[str, Any] = {"date": date.isoformat()}
        if kind == "arrive":
            person = f"H{number:02d}"
            event["arrive"] = {
                "id": person,
                "networks": [rng.choice(networks)],
                "origin": rng.choice(towns),
                "household": rng.choice([1, 1, 2]),
                "threat_level": rng.randint(1, 5),
            }
            if rng.random() < 0.4:
                event["actual"] = rng.choice(areas)
            people.append(person)
            levels[person] = event["arrive"]["threat_level"]
        elif kind == "capacity":
            event["capacity"] = {"area": rng.choice(areas), "housing_units": rng.randint(0, 3)}
        elif kind == "policy":
            key = rng.choice(["keep_apart_km", "threat_buffer_km", "origin_buffer_km"])
            event["policy"] = {key: rng.choice([30, 60, 120, 200])}
        elif kind == "territory":
            network = rng.choice(networks)
            removable = territory[network]
            if removable and rng.random() < 0.3:
                gone = rng.choice(removable)
                removable.remove(gone)
                event["territory"] = {"network": network, "remove": [gone]}
            else:
                town = rng.choice(towns)
                if town not in removable:
                    removable.append(town)
                event["territory"] = {"network": network, "add": [town]}
        elif kind == "threat":
            person = rng.choice(people) if people else None
            if person is None:
                continue
            levels[person] = rng.randint(1, 5)
            event["threat"] = {"defector": person, "threat_level": levels[person]}
        elif kind == "rivalry":
            calm = [
                (a, b)
                for i, a in enumerate(networks)
                for b in networks[i + 1 :]
                if frozenset((a, b)) not in feuds
            ]
            if not calm:
                continue
            pair = rng.choice(calm)
            feuds.add(frozenset(pair))
            event["rivalry"] = list(pair)
        elif kind == "truce":
            pair = sorted(rng.choice(sorted(feuds, key=sorted)))
            feuds.discard(frozenset(pair))
            event["truce"] = pair
        else:
            person = rng.choice(people)
            people.remove(person)
            event["leave"] = person
        events.append(event)
    return {
        "format": "placement-history/1",
        "name": f"Generated history (seed {seed})",
        "scenario": scenario,
        "events": events,
    }


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_generated_histories_keep_every_rule_and_move_nobody_needlessly(
    seed: int, tmp_path_factory: Any
) -> None:
    path = Path(tmp_path_factory.mktemp("history")) / "history.yaml"
    path.write_text(yaml.safe_dump(_random_history(seed), allow_unicode=True), "utf-8")
    history = load_history(path)
    result = replay_history(history, SETTINGS)
    assert len(result.steps) == len(history.dates)
    for step, document in zip(result.steps, result.documents, strict=True):
        # The step's state, judged with nobody pre-placed: every violation involves someone
        # the step reports as at risk.
        after = step_scenario(history, document, placed=False)
        report = check_plan(after, step_plan(step))
        assert not report.structural, (seed, step["date"], report.structural)
        at_risk = {r["defector"] for r in step["at_risk"]}
        for violation in report.violations:
            assert set(violation.defectors) & at_risk, (seed, step["date"], violation.message)
        # Before the decision: only people whose place broke a rule may move or be at risk.
        before = step_scenario(history, document, placed=True)
        findings = check_plan(before, everyone_stays(before))
        unsafe = {p for v in findings.violations + findings.pre_existing for p in v.defectors}
        moved = {m["defector"] for m in step["moves"]}
        assert moved <= unsafe, (seed, step["date"], moved - unsafe)
        assert at_risk <= unsafe, (seed, step["date"], at_risk - unsafe)
        listed = [a["defector"] for a in step["assignments"]] + [
            u["defector"] for u in step["unplaced"]
        ]
        assert sorted(listed) == sorted(d["id"] for d in document["defectors"])


def test_a_generated_history_replays_to_the_same_timeline_twice(tmp_path: Path) -> None:
    path = tmp_path / "history.yaml"
    path.write_text(yaml.safe_dump(_random_history(17), allow_unicode=True), "utf-8")
    first = replay_history(load_history(path), SETTINGS)
    second = replay_history(load_history(path), SETTINGS)
    assert timeline_to_json(first.timeline) == timeline_to_json(second.timeline)
