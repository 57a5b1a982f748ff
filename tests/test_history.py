"""History files: loading, and every problem reported with its place, in the file's order."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from placement import crypto
from placement.crypto import PASSPHRASE_ENV, ScryptCost
from placement.errors import InputError
from placement.history import World, load_history

ROOT = Path(__file__).resolve().parent.parent
HISTORIES = sorted((ROOT / "scenarios" / "history").glob("*.yaml"))

START = textwrap.dedent(
    """\
    format: placement-scenario/1
    capacity:
      areas:
        Umeå: {housing_units: 2, services: [exit_program]}
    networks:
      - {id: N01, territory: [Göteborg], rivals: [N02]}
      - {id: N02, territory: [Malmö]}
    defectors:
      - {id: D01, networks: [N01], origin: Göteborg, placed_in: Umeå}
    """
)


def write(
    tmp_path: Path, events: str, *, name: str = "h.yaml", scenario: str = "start.yaml"
) -> Path:
    (tmp_path / "start.yaml").write_text(START, encoding="utf-8")
    path = tmp_path / name
    path.write_text(
        f"format: placement-history/1\nname: test\nscenario: {scenario}\nevents:\n"
        + textwrap.indent(textwrap.dedent(events), "  "),
        encoding="utf-8",
    )
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_history(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_bundled_histories_load(path: Path) -> None:
    history = load_history(path)
    assert history.events and history.dates == tuple(sorted(history.dates))


def test_a_valid_history_resolves_areas_to_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        - date: 2023-01-10
          arrive: {id: D02, networks: [N02], origin: malmö}
          actual: Luleå
        - date: 2023-02-01
          territory: {network: N02, add: [Lund], remove: [Malmö]}
        """,
    )
    history = load_history(path)
    assert [e.kind for e in history.events] == ["arrive", "territory"]
    assert history.events[0].actual == {"D02": "2580"}
    assert history.events[0].data["origin"] == "1280"
    assert history.events[1].data == {"network": "N02", "add": ["1281"], "remove": ["1280"]}
    assert history.scenario_sha256 is not None


def test_every_problem_is_listed_with_its_place_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        - date: 2023-03-01
          rivalry: [N01, N03]
        - date: 2023-02-01
          leave: D09
        - date: 2023-03-02
          arrive: {id: D01, networks: [N01], origin: Göteborg}
        - date: 2023-03-03
          territory: {network: N44, add: [Stokholm]}
        - date: 2023-03-04
          network: {id: N03, territory: [Stokholm], rivals: [N01]}
        - date: 2023-03-05
          territory: {network: N03, remove: [Malmö]}
        - date: 2023-03-06
          leave: D01
        - date: 2023-03-07
          threat: {defector: D01, threat_level: 5}
        - date: 2023-03-08
          policy: {keep_apart_kms: 60}
        - date: 2023-03-09
          arive: {id: D05}
        - date: 2023-03-10
          truce: [N01, N03]
          rivalry: [N01, N02]
        """,
    )
    assert problems(path) == [
        "events[0].rivalry[1]: unknown network 'N03' at this date (did you mean N02 or N01?)",
        "events[1].leave: 'D09' is not in the program at this date (did you mean D01?)",
        "events[2].arrive.id: defector 'D01' already exists (from the starting scenario)",
        "events[3].territory.network: unknown network 'N44' at this date",
        "events[3].territory.add[0]: unknown area 'Stokholm' (did you mean Stockholm or Boxholm "
        "or Tidaholm?)",
        "events[4].network.territory[0]: unknown area 'Stokholm' (did you mean Stockholm or "
        "Boxholm or Tidaholm?)",
        "events[5].territory.remove[0]: Malmö is not in N03's territory at this date",
        "events[7].threat.defector: 'D01' left the program at events[6]",
        "events[8].policy.keep_apart_kms: unknown key 'keep_apart_kms' (did you mean "
        "keep_apart_km?)",
        "events[9].arive: unknown key 'arive' (did you mean arrive or leave?)",
        "events[10]: an event has exactly one of arrive, leave, threat, rivalry, truce, "
        "territory, network, capacity, policy besides date and actual; found rivalry and truce",
    ]


def test_an_empty_event_is_a_problem_at_its_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        - date: 2023-03-01
          leave:
        - date: 2023-03-02
          arrive: null
        - date: 2023-03-03
          rivalry:
        """,
    )
    assert problems(path) == [
        "events[0].leave: is empty: give the event's details after the key",
        "events[1].arrive: is empty: give the event's details after the key",
        "events[2].rivalry: is empty: give the event's details after the key",
    ]


def test_events_apply_in_date_order_whatever_the_file_order(tmp_path: Path) -> None:
    """The contract: events apply in date order, same-date events in file order."""
    path = write(
        tmp_path,
        """\
        - date: 2023-03-01
          leave: D02
        - date: 2023-02-01
          arrive: {id: D02, networks: [N02], origin: Malmö}
        - date: 2023-02-01
          threat: {defector: D02, threat_level: 5}
        """,
    )
    history = load_history(path)
    assert [(e.date.isoformat(), e.kind, e.position) for e in history.events] == [
        ("2023-02-01", "arrive", 1),
        ("2023-02-01", "threat", 2),
        ("2023-03-01", "leave", 0),
    ]


def test_event_values_of_another_type_are_never_converted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        - date: 2023-03-01
          threat: {defector: D01, threat_level: true}
        - date: 2023-03-02
          capacity: {area: Umeå, housing_units: "3"}
        """,
    )
    assert problems(path) == [
        "events[0].threat.threat_level: Input should be a valid integer (got True)",
        "events[1].capacity.housing_units: Input should be a valid integer (got '3')",
    ]


def test_a_broken_event_still_counts_for_the_events_after_it(tmp_path: Path) -> None:
    """A bad value in an arrival is one problem: the person is not also reported missing.

    The rest of a broken event is checked as well (its unknown names), and an arrival whose
    required keys are broken still brings its id, as a new network brings its own.
    """
    path = write(
        tmp_path,
        """\
        - date: 2023-02-01
          arrive: {id: D02, networks: [N02], origin: Malmö, threat_level: 9}
        - date: 2023-02-02
          threat: {defector: D02, threat_level: 4}
        - date: 2023-02-03
          arrive: {id: D03, networks: [N09], origin: Stokholm, household: "two"}
        - date: 2023-02-04
          arrive: {id: D04, networks: [], origin: Malmö}
        - date: 2023-02-05
          network: {id: N05, territory: Malmö}
        - date: 2023-02-06
          rivalry: [N05, N01]
        - date: 2023-02-07
          arrive: {id: D06, networks: [N05], origin: Malmö, keep_apart_from: [D04, D07]}
        - date: 2023-03-01
          leave: D02
        - date: 2023-03-02
          threat: {defector: D01, threat_level: true}
        """,
    )
    assert problems(path) == [
        "events[0].arrive.threat_level: Input should be less than or equal to 5 (got 9)",
        "events[2].arrive.networks[0]: unknown network 'N09' at this date (did you mean N02 or "
        "N01?)",
        "events[2].arrive.origin: unknown area 'Stokholm' (did you mean Stockholm or Boxholm or "
        "Tidaholm?)",
        "events[2].arrive.household: Input should be a valid integer (got 'two')",
        "events[3].arrive.networks: List should have at least 1 item after validation, not 0 "
        "(got [])",
        "events[4].network.territory: Input should be a valid list (got 'Malmö')",
        "events[6].arrive.keep_apart_from[1]: 'D07' is not in the program at this date (did you "
        "mean D04 or D03 or D02?)",
        "events[8].threat.threat_level: Input should be a valid integer (got True)",
    ]


def test_every_name_of_a_broken_event_is_still_checked(tmp_path: Path) -> None:
    """Without its broken keys an event may lack what it must give: its names count still."""
    path = write(
        tmp_path,
        """\
        - date: 2023-02-01
          territory: {network: N44, add: [5]}
        - date: 2023-02-02
          capacity: {area: Umea, housing_units: -1}
        - date: 2023-02-03
          threat: {defector: DX, threat_level: 9}
          actual: {D01: Lulea}
        - date: 2023-02-04
          arrive: {id: D01, networks: [N09], avoid: [Lulea], keep_apart_from: [DX]}
        - date: 2023-02-05
          network: {id: N07, territory: [7], rivals: [N01], allies: [N01]}
        """,
    )
    assert problems(path) == [
        "events[0].territory.network: unknown network 'N44' at this date",
        "events[0].territory.add[0]: area code 5 is a number; write municipality codes as quoted "
        '4-digit strings (e.g. "0005"), and ids of an areas file quoted ("5")',
        "events[1].capacity.area: unknown area 'Umea' (did you mean Umeå or Kumla?)",
        "events[1].capacity.housing_units: Input should be greater than or equal to 0 (got -1)",
        "events[2].threat.defector: 'DX' is not in the program at this date",
        "events[2].threat.threat_level: Input should be less than or equal to 5 (got 9)",
        "events[2].actual.D01: unknown area 'Lulea' (did you mean Luleå or Kumla?)",
        "events[3].arrive.id: defector 'D01' already exists (from the starting scenario)",
        "events[3].arrive.origin: required key is missing",
        "events[4].network: network 'N07' is both rival and ally of N01",
        "events[4].network.territory[0]: area code 7 is a number; write municipality codes as "
        'quoted 4-digit strings (e.g. "0007"), and ids of an areas file quoted ("7")',
    ]


def test_what_a_broken_event_plainly_says_is_not_lost_to_the_events_after_it(
    tmp_path: Path,
) -> None:
    """'add: Umeå' (not a list) still adds Umeå for the events after it; a list with one bad
    element still brings its other names. Only the structural problems are reported."""
    path = write(
        tmp_path,
        """\
        - date: 2023-02-01
          territory: {network: N01, add: Umeå}
        - date: 2023-02-02
          territory: {network: N01, remove: [Umeå]}
        - date: 2023-02-03
          network: {id: N09, territory: [Kiruna, 7], rivals: N01}
        - date: 2023-02-04
          truce: [N09, N01]
        - date: 2023-02-05
          arrive: {id: D09, networks: [N09, 5], origin: Malmö, keep_apart_from: D01}
        - date: 2023-02-06
          leave: D09
        """,
    )
    assert problems(path) == [
        "events[0].territory.add: Input should be a valid list (got 'Umeå')",
        "events[2].network.territory[1]: area code 7 is a number; write municipality codes as "
        'quoted 4-digit strings (e.g. "0007"), and ids of an areas file quoted ("7")',
        "events[2].network.rivals: Input should be a valid list (got 'N01')",
        "events[4].arrive.networks[1]: Input should be a valid string (got 5)",
        "events[4].arrive.keep_apart_from: Input should be a valid list (got 'D01')",
    ]


def test_places_and_actuals_hold_when_an_event_is_refused(tmp_path: Path) -> None:
    """'remove' problems name the element's own place; a refused change's actual is checked;
    an arrival with a code written as a number and no networks is one problem, no crash."""
    path = write(
        tmp_path,
        """\
        - date: 2023-02-01
          territory: {network: N01, remove: [5, Borås, Stokholm, Umeå]}
        - date: 2023-02-02
          truce: [N01, N02]
        - date: 2023-02-03
          truce: [N01, N02]
          actual: {D01: Umea}
        - date: 2023-02-04
          arrive: {id: D05, origin: 1480}
        """,
    )
    assert problems(path) == [
        "events[0].territory.remove[0]: area code 5 is a number; write municipality codes as "
        'quoted 4-digit strings (e.g. "0005"), and ids of an areas file quoted ("5")',
        "events[0].territory.remove[1]: Borås is not in N01's territory at this date",
        "events[0].territory.remove[2]: unknown area 'Stokholm' (did you mean Stockholm or "
        "Boxholm or Tidaholm?)",
        "events[0].territory.remove[3]: Umeå is not in N01's territory at this date",
        "events[2].truce: N01 and N02 are not rivals at this date",
        "events[2].actual.D01: unknown area 'Umea' (did you mean Umeå or Kumla?)",
        "events[3].arrive.networks: required key is missing",
    ]


def test_impossible_dates_are_problems_at_their_place_with_the_others(tmp_path: Path) -> None:
    """2023-02-30 looks like a YAML date and is none: reported where it is, not alone."""
    path = write(
        tmp_path,
        """\
        - date: 2023-02-30
          leave: D01
        - date: 2023-1-5
          leave: D09
        """,
    )
    found = problems(path)
    assert [p.split(":")[0] for p in found] == ["events[0].date", "events[1].date"]
    assert "day value is outside expected range (got '2023-02-30')" in found[0]


def test_a_json_history_writes_dates_as_strings(tmp_path: Path) -> None:
    (tmp_path / "start.yaml").write_text(START, encoding="utf-8")
    path = tmp_path / "h.json"
    path.write_text(
        '{"format": "placement-history/1", "scenario": "start.yaml", '
        '"events": [{"date": "2023-03-01", "leave": "D01"}]}',
        encoding="utf-8",
    )
    (event,) = load_history(path).events
    assert (event.date.isoformat(), event.kind) == ("2023-03-01", "leave")


def test_problems_in_the_scenario_file_are_named_with_it(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(START.replace("Göteborg]", "Goteborg]"), encoding="utf-8")
    path = write(tmp_path, "- {date: 2023-01-10, leave: D01}\n", scenario="bad.yaml")
    (found,) = problems(path)
    assert found.startswith("scenario: bad.yaml: networks[0].territory[0]: unknown area")


def test_top_level_problems(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text("format: placement-history/2\nevnts: []\nevents: 3\n", encoding="utf-8")
    assert problems(path) == [
        "format: expected 'placement-history/1', got 'placement-history/2'",
        "evnts: unknown key 'evnts' (did you mean events?)",
        "events: must be a list of events (got 3)",
        "scenario: required key is missing",
    ]


def test_actual_must_name_known_people_and_areas(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        - date: 2023-01-10
          arrive: {id: D02, networks: [N02], origin: Malmö}
          actual: [Luleå]
        - date: 2023-01-11
          truce: [N01, N02]
          actual: {D01: Kirna, D07: Luleå}
        """,
    )
    found = problems(path)
    assert found[0].startswith("events[0].actual: for an arrival, actual is the area")
    assert found[1:] == [
        "events[1].actual.D01: unknown area 'Kirna' (did you mean Kiruna or Kinda?)",
        "events[1].actual.D07: 'D07' is not in the program after this event",
    ]


def test_personal_numbers_are_refused_with_their_place(tmp_path: Path) -> None:
    path = write(tmp_path, "- {date: 2023-01-10, leave: '811218-9876'}\n")
    assert problems(path) == [
        "events[0].leave: looks like a Swedish personal identity number; scenarios must use "
        "pseudonyms (use --allow-personal-numbers only if this is a false positive)"
    ]
    with pytest.raises(InputError) as caught:
        load_history(path, allow_personal_numbers=True)
    assert "is not in the program" in str(caught.value)


def test_inline_scenario_and_its_problems(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    inline = textwrap.indent(START.replace("origin: Göteborg", "origin: Götborg"), "  ")
    path.write_text(f"format: placement-history/1\nscenario:\n{inline}events: []\n", "utf-8")
    (found,) = problems(path)
    assert found.startswith("scenario.defectors[0].origin: unknown area 'Götborg'")


def test_encrypted_history_is_read_transparently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crypto, "scrypt_cost", ScryptCost(n=2**10, r=8, p=1))
    monkeypatch.setenv(PASSPHRASE_ENV, "secret words")
    plain = write(tmp_path, "- {date: 2023-01-10, leave: D01}\n")
    sealed = tmp_path / "sealed.yaml"
    sealed.write_bytes(crypto.encrypt(plain.read_bytes(), "secret words"))
    history = load_history(sealed)
    assert history.encrypted and [e.kind for e in history.events] == ["leave"]
    assert not load_history(plain).encrypted


def test_world_feuds_end_alliances_and_leaving_clears_keep_apart() -> None:
    world = World(
        {
            "networks": [{"id": "A", "allies": ["B"]}, {"id": "B", "rivals": []}],
            "defectors": [{"id": "X", "keep_apart_from": ["Y"]}, {"id": "Y"}],
        }
    )
    from datetime import date

    from placement.history import Event

    world.apply(Event(0, date(2023, 1, 1), "rivalry", ["B", "A"]))
    assert world.rivals("A", "B") and not world.allies("A", "B")
    world.apply(Event(1, date(2023, 1, 2), "truce", ["A", "B"]))
    assert not world.rivals("A", "B")
    world.apply(Event(2, date(2023, 1, 3), "leave", "Y"))
    assert world.defectors == [{"id": "X", "keep_apart_from": []}]
