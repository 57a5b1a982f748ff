"""Loading scenario files: defaults, the contract's keys, codes, problems, symmetry, round trips."""

from __future__ import annotations

import hashlib
import json
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement import _yamlio
from placement.errors import InputError
from placement.geography import sweden_municipalities
from placement.scenario import (
    SCENARIO_FORMAT,
    STANDARD_SERVICES,
    AreaOffer,
    Policy,
    Scenario,
    load_scenario,
    scenario_from_document,
    scenario_json_schema,
)

SWEDEN = sweden_municipalities()
HEAD = "format: placement-scenario/1\n"

#: The example scenario of SCENARIO-FORMAT.md, word for word, plus the networks and the
#: defector it refers to (N02, N05, D017) so that it resolves.
CONTRACT_EXAMPLE = """\
format: placement-scenario/1          # required
name: Spring intake, western region   # optional, free text
areas: sweden-municipalities          # optional; the default. Or a path, relative to this file,
                                      # to a GeoPackage / GeoJSON / GeoParquet with an `id`
                                      # column, an optional `name` column and polygon geometry
policy:                               # every key optional; defaults shown
  threat_buffer_km: 100               # min distance from the territory of every threatening network
  origin_buffer_km: 150               # min distance from the defector's origin area
  keep_apart_km: 50                   # min distance between two defectors who must be kept apart
  max_same_network_per_area: 1        # at most this many defectors of one network in one area
  distance: boundary                  # boundary: closest points of the two areas (0 if they touch)
                                      # centroid: between the areas' centroids
  allies_of_rivals_threaten: false    # true: allies of a rival network also threaten
  youth_age: 18                       # defectors younger than this need `youth_services`
capacity:                             # what each area offers
  default: {housing_units: 0, services: []}   # for areas not listed below
  areas:
    Stockholm: {housing_units: 8, services: [exit_program, trauma_care, psychiatric_care, youth_services]}
    "0380": {housing_units: 4, services: [exit_program, trauma_care], wait_weeks: {trauma_care: 20}}
networks:
  - id: N01
    name: Group A                     # optional codename
    territory: [Göteborg, "1481"]     # areas where it operates (may be empty)
    rivals: [N02]                     # symmetric: listed on either side, it holds both ways
    allies: [N05]                     # symmetric
  - id: N02
    territory: [Malmö]
  - id: N05
defectors:
  - id: D001                          # a pseudonym, unique
    networks: [N01]                   # the network(s) the person belonged to (at least one)
    origin: Göteborg                  # the area they leave
    household: 1                      # housing units the household needs; default 1
    threat_level: 3                   # 1 (low) .. 5 (critical); default 3
    age: 24                           # optional
    needs: [exit_program]             # services the area must offer; default []
    avoid: [Malmö]                    # areas never to use for this person; default []
    prefer: [Umeå]                    # wished-for areas (soft); default []
    keep_apart_from: [D017]           # other defectors to keep apart from (symmetric); default []
    threat_buffer_km: 200             # optional per-person override of the policy's buffer
    placed_in: Luleå                  # present: already living there; absent: pending
  - id: D017
    networks: [N02]
    origin: Malmö
"""  # noqa: E501 - the contract's own line lengths


def code(index: int) -> str:
    return SWEDEN.ids[index]


def area(reference: str) -> int:
    index = SWEDEN.index_of(reference)
    assert index is not None, reference
    return index


def write(tmp_path: Path, text: str | bytes, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def load(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Scenario:
    return load_scenario(write(tmp_path, text, name))


def problems(tmp_path: Path, text: str | bytes, name: str = "scenario.yaml") -> list[str]:
    """The problem lines (``place: message``) of a file that must fail to load."""
    path = write(tmp_path, text, name)
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert caught.value.source == str(path)
    return [str(p) for p in caught.value.problems]


def doc_problems(tmp_path: Path, document: dict[str, Any]) -> list[str]:
    """Problems of a scenario given as a document, written as JSON."""
    return problems(tmp_path, json.dumps({"format": SCENARIO_FORMAT, **document}), "s.json")


# --------------------------------------------------------------------------- valid files


def test_minimal_scenario_loads_with_defaults(tmp_path: Path) -> None:
    scenario = load(tmp_path, HEAD)
    assert scenario.name is None
    assert scenario.policy == Policy()
    assert scenario.networks == {}
    assert scenario.defectors == ()
    assert scenario.pending == scenario.placed == ()
    assert scenario.services == STANDARD_SERVICES
    assert scenario.geography is SWEDEN
    assert len(scenario.offers) == len(SWEDEN) == 290
    empty = AreaOffer(housing_units=0, services=frozenset(), wait_weeks={})
    assert all(offer == empty for offer in scenario.offers)
    assert scenario.source == str(tmp_path / "scenario.yaml")


def test_policy_defaults_are_the_contracts() -> None:
    assert Policy().model_dump() == {
        "threat_buffer_km": 100,
        "origin_buffer_km": 150,
        "keep_apart_km": 50,
        "max_same_network_per_area": 1,
        "distance": "boundary",
        "allies_of_rivals_threaten": False,
        "youth_age": 18,
    }


def test_contract_example_loads(tmp_path: Path) -> None:
    scenario = load(tmp_path, CONTRACT_EXAMPLE)
    assert scenario.name == "Spring intake, western region"
    assert scenario.policy == Policy()
    assert scenario.offers[area("Stockholm")] == AreaOffer(
        housing_units=8,
        services=frozenset({"exit_program", "trauma_care", "psychiatric_care", "youth_services"}),
        wait_weeks={},
    )
    assert scenario.offers[area("Uppsala")] == AreaOffer(
        housing_units=4,
        services=frozenset({"exit_program", "trauma_care"}),
        wait_weeks={"trauma_care": 20},
    )
    assert scenario.offers[area("Umeå")] == AreaOffer(0, frozenset(), {})
    n01 = scenario.networks["N01"]
    assert n01.name == "Group A"
    assert [code(i) for i in n01.territory] == ["1480", "1481"]
    assert n01.rivals == {"N02"}
    assert n01.allies == {"N05"}
    assert scenario.networks["N02"].rivals == {"N01"}
    assert scenario.networks["N05"].allies == {"N01"}
    d001 = scenario.defector("D001")
    assert d001.networks == ("N01",)
    assert code(d001.origin) == "1480"
    assert (d001.household, d001.threat_level, d001.age) == (1, 3, 24)
    assert d001.needs == {"exit_program"}
    assert d001.avoid == {area("Malmö")}
    assert d001.prefer == (area("Umeå"),)
    assert d001.keep_apart_from == {"D017"}
    assert d001.threat_buffer_km == 200
    assert d001.placed_in == area("Luleå") and d001.is_placed
    d017 = scenario.defector("D017")
    assert (d017.household, d017.threat_level, d017.age, d017.placed_in) == (1, 3, None, None)
    assert d017.keep_apart_from == {"D001"}
    assert d017.threat_buffer_km == 100
    assert scenario.pending == (d017,)
    assert scenario.placed == (d001,)


def test_contract_example_as_json_loads_the_same(tmp_path: Path) -> None:
    from_yaml = load(tmp_path, CONTRACT_EXAMPLE)
    document = yaml.safe_load(CONTRACT_EXAMPLE)
    from_json = load(tmp_path, json.dumps(document, ensure_ascii=False), "scenario.json")
    assert resolved(from_json) == resolved(from_yaml)


def test_added_services_key(tmp_path: Path) -> None:
    scenario = load(
        tmp_path,
        HEAD
        + textwrap.dedent("""\
        services: [housing_support]
        capacity:
          default: {services: [housing_support], wait_weeks: {housing_support: 2}}
        networks: [{id: N1}]
        defectors: [{id: D1, networks: [N1], origin: Umeå, needs: [housing_support]}]
        """),
    )
    assert scenario.services == (*STANDARD_SERVICES, "housing_support")
    assert scenario.defectors[0].needs == {"housing_support"}
    assert scenario.offers[0].wait_weeks == {"housing_support": 2}


def test_scenario_from_document_without_a_file() -> None:
    scenario = scenario_from_document(
        {"format": SCENARIO_FORMAT, "networks": [{"id": "N"}]}, geography=SWEDEN
    )
    assert list(scenario.networks) == ["N"]
    assert scenario.source == "<scenario>"
    assert scenario.sha256 == ""


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    data = (HEAD + "name: Umeå  # comment\r\n").encode()
    path = write(tmp_path, data)
    assert load_scenario(path).sha256 == hashlib.sha256(data).hexdigest()
    bom = write(tmp_path, b"\xef\xbb\xbf" + data, "bom.yaml")
    assert load_scenario(bom).sha256 == hashlib.sha256(b"\xef\xbb\xbf" + data).hexdigest()


def test_distance_follows_the_policy(tmp_path: Path) -> None:
    boundary = load(tmp_path, HEAD)
    centroid = load(tmp_path, HEAD + "policy: {distance: centroid}\n")
    assert boundary.distance_km is SWEDEN.distances("boundary")
    assert centroid.distance_km is SWEDEN.distances("centroid")


# --------------------------------------------------------------------------- area codes


YAML_CODES = HEAD + textwrap.dedent("""\
    capacity:
      areas:
        0127: {housing_units: 2}
        0180: {housing_units: 3}
        1480: {housing_units: 4}
    networks:
      - id: NO
        territory: [0127, 0180, 1480]
        rivals: [yes]
      - id: yes
        allies: [on]
      - id: on
    defectors:
      - id: off
        networks: [NO, on]
        origin: 0127
        avoid: [0180]
        prefer: [1480]
        placed_in: 0180
    """)


def test_unquoted_yaml_codes_are_read_as_written(tmp_path: Path) -> None:
    scenario = load(tmp_path, YAML_CODES)
    botkyrka, stockholm, goteborg = area("Botkyrka"), area("Stockholm"), area("Göteborg")
    assert [code(i) for i in (botkyrka, stockholm, goteborg)] == ["0127", "0180", "1480"]
    assert scenario.networks["NO"].territory == (botkyrka, stockholm, goteborg)
    assert scenario.offers[botkyrka].housing_units == 2
    assert scenario.offers[stockholm].housing_units == 3
    assert scenario.offers[goteborg].housing_units == 4
    person = scenario.defector("off")
    assert person.origin == botkyrka
    assert person.avoid == {stockholm}
    assert person.prefer == (goteborg,)
    assert person.placed_in == stockholm


def test_yes_no_on_off_stay_strings(tmp_path: Path) -> None:
    scenario = load(tmp_path, YAML_CODES)
    assert list(scenario.networks) == ["NO", "yes", "on"]
    assert scenario.networks["NO"].rivals == {"yes"}
    assert scenario.networks["on"].allies == {"yes"}
    assert [d.id for d in scenario.defectors] == ["off"]
    assert scenario.defectors[0].networks == ("NO", "on")


def test_four_digit_numbers_are_codes_in_json(tmp_path: Path) -> None:
    scenario = load(
        tmp_path,
        json.dumps(
            {
                "format": SCENARIO_FORMAT,
                "networks": [{"id": "N", "territory": [1480, "0180"]}],
                "defectors": [{"id": "D", "networks": ["N"], "origin": 2480}],
            }
        ),
        "scenario.json",
    )
    assert scenario.networks["N"].territory == (area("Göteborg"), area("Stockholm"))
    assert scenario.defectors[0].origin == area("Umeå")


NUMBER_HINT = (
    'area code {0} is a number; write municipality codes as quoted 4-digit strings (e.g. "{0:04d}")'
    ', and ids of an areas file quoted ("{0}")'
)


def test_short_numbers_are_refused_with_the_quoting_hint_in_json(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path,
        {
            "networks": [{"id": "N", "territory": [180]}],
            "defectors": [
                {"id": "D", "networks": ["N"], "origin": 127, "avoid": [1480, 0], "placed_in": 99}
            ],
        },
    ) == [
        "networks[0].territory[0]: " + NUMBER_HINT.format(180),
        "defectors[0].origin: " + NUMBER_HINT.format(127),
        "defectors[0].avoid[1]: " + NUMBER_HINT.format(0),
        "defectors[0].placed_in: " + NUMBER_HINT.format(99),
    ]


def test_short_numbers_are_refused_with_the_quoting_hint_in_yaml(tmp_path: Path) -> None:
    text = HEAD + "capacity:\n  areas:\n    180: {housing_units: 1}\n"
    text += "networks: [{id: N, territory: [127]}]\n"
    assert problems(tmp_path, text) == [
        "capacity.areas.180: " + NUMBER_HINT.format(180),
        "networks[0].territory[0]: " + NUMBER_HINT.format(127),
    ]


def test_other_numbers_and_booleans_are_not_areas(tmp_path: Path) -> None:
    text = HEAD + "networks: [{id: N, territory: [12.5, true, 12345]}]\n"
    assert problems(tmp_path, text) == [
        "networks[0].territory[0]: Input should be a valid string (got 12.5)",
        "networks[0].territory[1]: Input should be a valid string (got True)",
        "networks[0].territory[2]: area code 12345 is a number; write municipality codes as "
        'quoted 4-digit strings, and ids of an areas file quoted ("12345")',
    ]


def test_area_names_are_case_insensitive(tmp_path: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        capacity: {areas: {göteborg: {housing_units: 1}, MALMÖ: {housing_units: 2}}}
        networks: [{id: N, territory: [GÖTEBORG, malmö, " Umeå "]}]
        defectors: [{id: D, networks: [N], origin: sTOCKHOLM}]
        """)
    scenario = load(tmp_path, text)
    assert scenario.networks["N"].territory == (area("Göteborg"), area("Malmö"), area("Umeå"))
    assert scenario.offers[area("Göteborg")].housing_units == 1
    assert scenario.offers[area("Malmö")].housing_units == 2
    assert scenario.defectors[0].origin == area("Stockholm")


# --------------------------------------------------------------------------- problems


def test_unknown_area_names_the_place_and_the_nearest_names(tmp_path: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        networks: [{id: N01, territory: [Göteborg, Gotebrog]}]
        defectors:
          - {id: D1, networks: [N01], origin: Umeå}
          - id: D2
            networks: [N01]
            origin: Stokholm
            avoid: [Malmo]
            prefer: [Uppsala, Upsala]
            placed_in: "0000"
        """)
    assert problems(tmp_path, text) == [
        "networks[0].territory[1]: unknown area 'Gotebrog' (did you mean Göteborg or Tibro?)",
        "defectors[1].origin: unknown area 'Stokholm' "
        "(did you mean Stockholm or Boxholm or Tidaholm?)",
        "defectors[1].avoid[0]: unknown area 'Malmo' (did you mean Malmö or Malå or Salem?)",
        "defectors[1].prefer[1]: unknown area 'Upsala' (did you mean Uppsala or Sala or Pajala?)",
        "defectors[1].placed_in: unknown area '0000'",
    ]


def test_unknown_networks(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path,
        {
            "networks": [
                {"id": "N01", "rivals": ["N02", "N99"], "allies": ["X"]},
                {"id": "N02"},
            ],
            "defectors": [{"id": "D1", "networks": ["N01", "N03"], "origin": "Umeå"}],
        },
    ) == [
        "networks[0].rivals[1]: unknown network 'N99'",
        "networks[0].allies[0]: unknown network 'X'",
        "defectors[0].networks[1]: unknown network 'N03' (did you mean N02 or N01?)",
    ]


def test_unknown_defector_in_keep_apart_from(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path,
        {
            "networks": [{"id": "N"}],
            "defectors": [
                {"id": "D001", "networks": ["N"], "origin": "Umeå", "keep_apart_from": ["D010"]},
                {"id": "D002", "networks": ["N"], "origin": "Umeå", "keep_apart_from": ["D002"]},
            ],
        },
    ) == [
        "defectors[0].keep_apart_from[0]: unknown defector 'D010' (did you mean D002 or D001?)",
        "defectors[1].keep_apart_from[0]: defector 'D002' lists themself",
    ]


def test_unknown_services(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path,
        {
            "capacity": {
                "default": {"services": ["exit_progam"]},
                "areas": {
                    "Umeå": {"services": ["trauma"], "wait_weeks": {"psychiatric": 3}},
                },
            },
            "networks": [{"id": "N"}],
            "defectors": [
                {"id": "D", "networks": ["N"], "origin": "Umeå", "needs": ["youth_service"]}
            ],
        },
    ) == [
        "capacity.default.services[0]: unknown service 'exit_progam' (did you mean exit_program?)",
        "capacity.areas.Umeå.services[0]: unknown service 'trauma' (did you mean trauma_care?)",
        "capacity.areas.Umeå.wait_weeks.psychiatric: unknown service 'psychiatric' "
        "(did you mean psychiatric_care?)",
        "defectors[0].needs[0]: unknown service 'youth_service' (did you mean youth_services?)",
    ]


def test_duplicate_ids(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path,
        {
            "networks": [{"id": "N1"}, {"id": "N2"}, {"id": "N1"}],
            "defectors": [
                {"id": "D1", "networks": ["N1"], "origin": "Umeå"},
                {"id": "D1", "networks": ["N2"], "origin": "Luleå"},
            ],
        },
    ) == [
        "networks[2].id: duplicate network id 'N1' (first at networks[0])",
        "defectors[1].id: duplicate defector id 'D1' (first at defectors[0])",
    ]


def test_ids_that_look_the_same_are_the_same(tmp_path: Path) -> None:
    """ "Dö" precomposed and as o + a combining diaeresis is one id (Unicode NFC)."""
    assert doc_problems(
        tmp_path,
        {
            "networks": [{"id": "N1"}],
            "defectors": [
                {"id": "D\u00f6", "networks": ["N1"], "origin": "Umeå"},
                {"id": "Do\u0308", "networks": ["N1"], "origin": "Luleå"},
            ],
        },
    ) == ["defectors[1].id: duplicate defector id 'D\u00f6' (first at defectors[0])"]


def test_network_relations_with_itself_or_both_ways(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path,
        {
            "networks": [
                {"id": "N1", "rivals": ["N1", "N2"]},
                {"id": "N2", "allies": ["N2", "N1"]},
                {"id": "N3", "rivals": ["N4"], "allies": ["N4"]},
                {"id": "N4"},
            ]
        },
    ) == [
        "networks[0]: network 'N1' is both rival and ally of N2",
        "networks[0].rivals[0]: network 'N1' lists itself",
        "networks[1]: network 'N2' is both rival and ally of N1",
        "networks[1].allies[0]: network 'N2' lists itself",
        "networks[2]: network 'N3' is both rival and ally of N4",
        # not at networks[3]: N4 lists nothing; the contradiction is written at N3 alone
    ]


def test_area_listed_twice_in_capacity(tmp_path: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        capacity:
          areas:
            Stockholm: {housing_units: 1}
            "0180": {housing_units: 2}
            Umeå: {housing_units: 3}
            UMEÅ: {housing_units: 4}
            1480: {housing_units: 5}
            göteborg: {housing_units: 6}
        """)
    assert problems(tmp_path, text) == [
        "capacity.areas.0180: area Stockholm (0180) is already listed as 'Stockholm'",
        "capacity.areas.UMEÅ: area Umeå (2480) is already listed as 'Umeå'",
        "capacity.areas.göteborg: area Göteborg (1480) is already listed as '1480'",
    ]


def test_unknown_keys_with_did_you_mean(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path,
        {
            "nmae": "x",
            "polcy": {},
            "policy": {"threat_bufer_km": 1, "colour": "red"},
            "capacity": {
                "areaz": {},
                "default": {"housing_unit": 1},
                "areas": {"Malmö": {"service": []}},
            },
            "networks": [{"id": "N1", "rival": []}],
            "defectors": [{"id": "D", "networks": ["N1"], "origin": "Malmö", "origni": 1}],
        },
    ) == [
        "nmae: unknown key 'nmae' (did you mean name?)",
        "polcy: unknown key 'polcy' (did you mean policy?)",
        "policy.threat_bufer_km: unknown key 'threat_bufer_km' "
        "(did you mean threat_buffer_km or origin_buffer_km?)",
        "policy.colour: unknown key 'colour'",
        "capacity.areaz: unknown key 'areaz' (did you mean areas?)",
        "capacity.default.housing_unit: unknown key 'housing_unit' (did you mean housing_units?)",
        "capacity.areas.Malmö.service: unknown key 'service' (did you mean services?)",
        "networks[0].rival: unknown key 'rival' (did you mean rivals?)",
        "defectors[0].origni: unknown key 'origni' (did you mean origin?)",
    ]


def test_missing_required_keys(tmp_path: Path) -> None:
    assert problems(tmp_path, "name: x\n") == ["format: required key is missing"]
    assert doc_problems(
        tmp_path,
        {"networks": [{"name": "no id"}, {"id": "N"}], "defectors": [{"name": "x"}, {}]},
    ) == [
        "networks[0].id: required key is missing",
        # What the file holds first, in its order; then the keys it lacks.
        "defectors[0].name: unknown key 'name'",
        "defectors[0].id: required key is missing",
        "defectors[0].networks: required key is missing",
        "defectors[0].origin: required key is missing",
        "defectors[1].id: required key is missing",
        "defectors[1].networks: required key is missing",
        "defectors[1].origin: required key is missing",
    ]


def test_wrong_format(tmp_path: Path) -> None:
    assert problems(tmp_path, "format: placement-scenario/2\n") == [
        "format: expected 'placement-scenario/1', got 'placement-scenario/2'"
    ]
    assert problems(tmp_path, "format: placement-plan/1\n") == [
        "format: expected 'placement-scenario/1', got 'placement-plan/1'"
    ]
    assert problems(tmp_path, "format: 1\n") == ["format: expected 'placement-scenario/1', got 1"]


def test_values_of_another_type_are_never_converted(tmp_path: Path) -> None:
    """``threat_level: true`` is not level 1, nor ``'yes'`` true: a typo must not go unseen."""
    assert doc_problems(
        tmp_path,
        {
            "policy": {"allies_of_rivals_threaten": "yes", "max_same_network_per_area": True},
            "networks": [{"id": "N1"}],
            "defectors": [
                {"id": "D1", "networks": ["N1"], "origin": "Umeå", "threat_level": True},
                {"id": "D2", "networks": ["N1"], "origin": "Umeå", "age": "17"},
                {"id": "D3", "networks": ["N1"], "origin": "Umeå", "household": 2.0},
            ],
        },
    ) == [
        "policy.allies_of_rivals_threaten: Input should be a valid boolean (got 'yes')",
        "policy.max_same_network_per_area: Input should be a valid integer (got True)",
        "defectors[0].threat_level: Input should be a valid integer (got True)",
        "defectors[1].age: Input should be a valid integer (got '17')",
        "defectors[2].household: Input should be a valid integer (got 2.0)",
    ]


def test_one_broken_capacity_entry_hides_no_other_capacity_problem(tmp_path: Path) -> None:
    problems = doc_problems(
        tmp_path,
        {
            "capacity": {
                "default": {"housing_units": 0, "services": ["exit_programme"]},
                "areas": {
                    "Stokholm": {"housing_units": 3, "services": ["trauma_kare"]},
                    "Umeå": {"housing_units": -3},
                    180: {"housing_units": 3},
                },
            },
            "networks": [{"id": "N1"}],
            "defectors": [{"id": "D1", "networks": ["N1"], "origin": "Umeå"}],
        },
    )
    assert [p.split(":")[0] for p in problems] == [
        "capacity.default.services[0]",
        "capacity.areas.Stokholm",
        "capacity.areas.Stokholm.services[0]",
        "capacity.areas.Umeå.housing_units",
        "capacity.areas.180",
    ]


def test_wrong_types(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path,
        {
            "name": 5,
            "areas": 3,
            "services": "x",
            "policy": {"distance": "euclid", "allies_of_rivals_threaten": "maybe"},
            "networks": [{"id": "N1", "territory": "Malmö"}],
            "defectors": [
                {
                    "id": "D",
                    "networks": "N1",
                    "origin": ["Malmö"],
                    "household": "two",
                    "needs": "exit_program",
                    "threat_buffer_km": "100 km",
                }
            ],
        },
    ) == [
        "name: Input should be a valid string (got 5)",
        "areas: Input should be a valid string (got 3)",
        "services: Input should be a valid list (got 'x')",
        "policy.distance: Input should be 'boundary' or 'centroid' (got 'euclid')",
        "policy.allies_of_rivals_threaten: Input should be a valid boolean (got 'maybe')",
        "networks[0].territory: Input should be a valid list (got 'Malmö')",
        "defectors[0].networks: Input should be a valid list (got 'N1')",
        "defectors[0].origin: Input should be a valid string (got ['Malmö'])",
        "defectors[0].household: Input should be a valid integer (got 'two')",
        "defectors[0].needs: Input should be a valid list (got 'exit_program')",
        "defectors[0].threat_buffer_km: Input should be a valid number (got '100 km')",
    ]
    assert doc_problems(tmp_path, {"networks": {"id": "N1"}}) == [
        "networks: Input should be a valid list (got {'id': 'N1'})"
    ]


def test_out_of_range(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path,
        {
            "policy": {"keep_apart_km": -5, "max_same_network_per_area": 0, "youth_age": -1},
            "capacity": {"default": {"housing_units": -1}},
            "networks": [{"id": "N"}],
            "defectors": [
                {"id": "D1", "networks": ["N"], "origin": "Umeå", "threat_level": 0},
                {"id": "D2", "networks": ["N"], "origin": "Umeå", "threat_level": 6},
                {"id": "D3", "networks": ["N"], "origin": "Umeå", "household": 0, "age": -1},
            ],
        },
    ) == [
        "policy.keep_apart_km: Input should be greater than or equal to 0 (got -5)",
        "policy.max_same_network_per_area: Input should be greater than or equal to 1 (got 0)",
        "policy.youth_age: Input should be greater than or equal to 0 (got -1)",
        "capacity.default.housing_units: Input should be greater than or equal to 0 (got -1)",
        "defectors[0].threat_level: Input should be greater than or equal to 1 (got 0)",
        "defectors[1].threat_level: Input should be less than or equal to 5 (got 6)",
        "defectors[2].household: Input should be greater than or equal to 1 (got 0)",
        "defectors[2].age: Input should be greater than or equal to 0 (got -1)",
    ]


def test_empty_networks_list(tmp_path: Path) -> None:
    assert doc_problems(
        tmp_path, {"defectors": [{"id": "D", "networks": [], "origin": "Umeå"}]}
    ) == [
        "defectors[0].networks: List should have at least 1 item after validation, not 0 (got [])"
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Structure, reference and parse problems of one file, in one message."""
    text = textwrap.dedent("""\
        format: placement-scenario/1
        name: first
        name: second
        policy: {threat_buffer_km: -1}
        networks:
          - {id: N01, rivals: [N02], territory: [Gotebrog]}
          - {id: N02, rivals: [N01], allies: [N01]}
        defectors:
          - {id: D1, networks: [N03], origin: Stokholm, threat_level: 9}
          - {id: D2, networks: [N01], origin: Umeå, keep_apart_from: [D1, D7]}
        """)
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert str(caught.value) == "\n".join(
        [
            f"{path}: 9 problems",
            "  duplicate key 'name' on line 3",
            "  policy.threat_buffer_km: Input should be greater than or equal to 0 (got -1)",
            "  networks[0]: network 'N01' is both rival and ally of N02",
            "  networks[0].territory[0]: unknown area 'Gotebrog' (did you mean Göteborg or Tibro?)",
            "  networks[1]: network 'N02' is both rival and ally of N01",
            "  defectors[0].networks[0]: unknown network 'N03' (did you mean N02 or N01?)",
            "  defectors[0].origin: unknown area 'Stokholm' "
            "(did you mean Stockholm or Boxholm or Tidaholm?)",
            "  defectors[0].threat_level: Input should be less than or equal to 5 (got 9)",
            "  defectors[1].keep_apart_from[1]: unknown defector 'D7'",
        ]
    )


def test_broken_items_keep_their_places_and_ids(tmp_path: Path) -> None:
    """A structurally broken item neither shifts later places nor makes its id unknown."""
    text = HEAD + textwrap.dedent("""\
        networks:
          - {id: N1, territory: 5}
          - {id: N2, territory: [Stokholm]}
        defectors:
          - {networks: [N1], origin: Malmö}
          - {id: D2, networks: [N2], origin: Gotebrg, age: old, keep_apart_from: [D3]}
          - {id: D3, networks: [N1], origin: Umeå, threat_level: 7}
        """)
    assert problems(tmp_path, text) == [
        "networks[0].territory: Input should be a valid list (got 5)",
        "networks[1].territory[0]: unknown area 'Stokholm' "
        "(did you mean Stockholm or Boxholm or Tidaholm?)",
        "defectors[0].id: required key is missing",
        "defectors[1].origin: unknown area 'Gotebrg' (did you mean Göteborg?)",
        "defectors[1].age: Input should be a valid integer (got 'old')",
        "defectors[2].threat_level: Input should be less than or equal to 5 (got 7)",
    ]


def test_an_item_with_a_broken_required_key_still_counts_by_its_id(tmp_path: Path) -> None:
    """D3's origin is broken: D3 is not unknown where named, and a second D3 is a duplicate."""
    text = HEAD + textwrap.dedent("""\
        networks: [{id: N1}]
        defectors:
          - {id: D3, networks: [N1], origin: 5}
          - {id: D4, networks: [N1], origin: Umeå, keep_apart_from: [D3]}
          - {id: D3, networks: [N9]}
        """)
    assert problems(tmp_path, text) == [
        "defectors[0].origin: area code 5 is a number; write municipality codes as quoted 4-digit "
        'strings (e.g. "0005"), and ids of an areas file quoted ("5")',
        "defectors[2].id: duplicate defector id 'D3' (first at defectors[0])",
        "defectors[2].networks[0]: unknown network 'N9'",
        "defectors[2].origin: required key is missing",
    ]


def test_one_bad_element_of_a_list_hides_no_other_name_in_it(tmp_path: Path) -> None:
    """Each name of a list is checked, at its own place, whatever its neighbours are."""
    text = HEAD + textwrap.dedent("""\
        networks:
          - {id: N1, territory: [Lundd, 5, Lund], rivals: [N9, 7]}
          - {id: N2, territory: Lund}
        defectors:
          - {id: D1, networks: [N8, 5], origin: Malmö}
          - {id: D2, networks: [N1], origin: Malmö, keep_apart_from: [D9, 5], needs: [x, 4]}
          - {id: D3, networks: [5], origin: Malmö, keep_apart_from: [D1]}
        """)
    assert problems(tmp_path, text) == [
        "networks[0].territory[0]: unknown area 'Lundd' (did you mean Lund or Falun?)",
        "networks[0].territory[1]: area code 5 is a number; write municipality codes as quoted "
        '4-digit strings (e.g. "0005"), and ids of an areas file quoted ("5")',
        "networks[0].rivals[0]: unknown network 'N9'",
        "networks[0].rivals[1]: Input should be a valid string (got 7)",
        "networks[1].territory: Input should be a valid list (got 'Lund')",
        "defectors[0].networks[0]: unknown network 'N8'",
        "defectors[0].networks[1]: Input should be a valid string (got 5)",
        "defectors[1].keep_apart_from[0]: unknown defector 'D9'",
        "defectors[1].keep_apart_from[1]: Input should be a valid string (got 5)",
        "defectors[1].needs[0]: unknown service 'x'",
        "defectors[1].needs[1]: Input should be a valid string (got 4)",
        "defectors[2].networks[0]: Input should be a valid string (got 5)",
    ]


def test_a_kept_broken_item_reads_its_other_keys_as_every_item_does(tmp_path: Path) -> None:
    """1480 written as a number crashed the reference checks of an item with a required key
    missing; an id written with a combining mark ("o" + U+0308) did not match its NFC twin."""
    assert doc_problems(
        tmp_path,
        {
            "networks": [{"id": "N1"}],
            "defectors": [
                {"id": "D1", "origin": 1480},
                {"id": "Do\u0308", "networks": [], "origin": "Malmö"},
                {"id": "D3", "networks": ["N1"], "origin": "Malmö", "keep_apart_from": ["D\u00f6"]},
            ],
        },
    ) == [
        "defectors[0].networks: required key is missing",
        "defectors[1].networks: List should have at least 1 item after validation, not 0 (got [])",
    ]


def test_names_of_a_duplicate_or_of_a_value_of_another_type_are_checked(tmp_path: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        services: peer_support
        capacity:
          areas: {Umea: 5, Umeå: {housing_units: 1, services: [peer_support]}}
        networks:
          - {id: N01, rivals: [N04]}
          - {id: N01, territory: [Umea], rivals: [N09]}
        """)
    assert problems(tmp_path, text) == [
        "services: Input should be a valid list (got 'peer_support')",
        "capacity.areas.Umea: Input should be a valid dictionary or instance of AreaCapacity "
        "(got 5)",
        "capacity.areas.Umea: unknown area 'Umea' (did you mean Umeå or Kumla?)",
        "networks[0].rivals[0]: unknown network 'N04'",  # no "did you mean N01": itself
        "networks[1].id: duplicate network id 'N01' (first at networks[0])",
        "networks[1].territory[0]: unknown area 'Umea' (did you mean Umeå or Kumla?)",
        "networks[1].rivals[0]: unknown network 'N09'",
    ]


def test_one_bad_entry_of_a_mapping_hides_no_other_name_in_it(tmp_path: Path) -> None:
    text = HEAD + "capacity:\n  default: {wait_weeks: {trauma_care: x, trauma_cre: 2}}\n"
    assert problems(tmp_path, text) == [
        "capacity.default.wait_weeks.trauma_care: Input should be a valid number (got 'x')",
        "capacity.default.wait_weeks.trauma_cre: unknown service 'trauma_cre' "
        "(did you mean trauma_care?)",
    ]


def test_areas_of_another_type_leave_area_names_unchecked(tmp_path: Path) -> None:
    """'areas: 5' says nothing of which areas are meant: names are not judged by Sweden's."""
    text = HEAD + textwrap.dedent("""\
        networks: [{id: N1, territory: [Alpha], rivals: [N2]}]
        defectors: [{id: D1, networks: [N1], origin: Alpha}]
        areas: 5
        """)
    assert problems(tmp_path, text) == [
        "networks[0].rivals[0]: unknown network 'N2'",
        "areas: Input should be a valid string (got 5)",
    ]


def test_duplicate_keys_in_json_are_reported_with_other_problems(tmp_path: Path) -> None:
    text = '{"format": "placement-scenario/1", "name": "a", "name": "b", "networks": [{"id": 1}]}'
    assert problems(tmp_path, text, "s.json") == [
        "duplicate key 'name'",
        "networks[0].id: Input should be a valid string (got 1)",
    ]


# --------------------------------------------------------------------------- unreadable files


def test_invalid_yaml(tmp_path: Path) -> None:
    assert problems(tmp_path, HEAD + "networks: [\n") == [
        "invalid YAML at line 3, column 1: expected the node content, but found '<stream end>'"
    ]


def test_invalid_json(tmp_path: Path) -> None:
    assert problems(tmp_path, '{"format": "placement-scenario/1",}', "s.json") == [
        "invalid JSON at line 1: Expecting property name enclosed in double quotes"
    ]


def test_non_utf8(tmp_path: Path) -> None:
    assert problems(tmp_path, HEAD.encode() + b"name: Ume\xe5\n") == ["not UTF-8 text (byte 38)"]


@pytest.mark.parametrize(
    ("text", "name"),
    [("- format: placement-scenario/1\n", "s.yaml"), ("[]", "s.json"), ("", "s.yaml")],
)
def test_not_a_mapping(tmp_path: Path, text: str, name: str) -> None:
    assert problems(tmp_path, text, name) == [
        "a scenario must be a mapping of keys (format, networks, ...)"
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: 1 problem\n  file not found"


def test_oversized_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_yamlio, "MAX_INPUT_BYTES", 20)
    assert problems(tmp_path, HEAD + "name: a long name\n") == ["file is 47 bytes; the limit is 20"]


@pytest.mark.parametrize(
    "where",
    ["name: *a9", "networks: *a9", "policy: *a9", "format: *a9", "services: *a9",
     "capacity: {areas: {Umeå: *a9}}", "defectors: [{id: D, networks: *a9, origin: Umeå}]"],
)  # fmt: skip
def test_billion_laughs_is_refused_quickly(tmp_path: Path, where: str) -> None:
    lines = ["x_bomb:", '  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        lines.append(f"  a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    text = "format: placement-scenario/1\n" + "\n".join(lines) + "\n" + where + "\n"
    started = time.perf_counter()
    found = problems(tmp_path, text)
    assert time.perf_counter() - started < 5
    assert "x_bomb: unknown key 'x_bomb'" in found
    assert all(len(line) < 200 for line in found)


# --------------------------------------------------------------------------- symmetry


def test_rivals_and_allies_hold_both_ways(tmp_path: Path) -> None:
    scenario = load(
        tmp_path,
        HEAD
        + textwrap.dedent("""\
        networks:
          - {id: A, rivals: [B], allies: [C]}
          - {id: B}
          - {id: C, rivals: [B]}
          - {id: D, allies: [A], rivals: [C]}
          - {id: E, rivals: [A], allies: [D]}
          - {id: F, rivals: [E]}
        """),
    )
    nets = scenario.networks
    # each relation listed on one side only; E-A rival stated by E, A-E by nobody
    assert nets["A"].rivals == {"B", "E"}
    assert nets["A"].allies == {"C", "D"}
    assert nets["B"].rivals == {"A", "C"}
    assert nets["B"].allies == set()
    assert nets["C"].rivals == {"B", "D"}
    assert nets["C"].allies == {"A"}
    assert nets["D"].rivals == {"C"}
    assert nets["D"].allies == {"A", "E"}
    assert nets["E"].rivals == {"A", "F"}
    assert nets["F"].rivals == {"E"}
    for net in nets.values():
        for other in net.rivals:
            assert net.id in nets[other].rivals
        for other in net.allies:
            assert net.id in nets[other].allies


def test_relations_listed_on_both_sides_are_accepted(tmp_path: Path) -> None:
    scenario = load(
        tmp_path,
        HEAD + "networks: [{id: A, rivals: [B, B], allies: [C]}, {id: B, rivals: [A]},"
        " {id: C, allies: [A]}]\n",
    )
    assert scenario.networks["A"].rivals == {"B"}
    assert scenario.networks["B"].rivals == {"A"}
    assert scenario.networks["C"].allies == {"A"}


def test_keep_apart_from_is_symmetric(tmp_path: Path) -> None:
    scenario = load(
        tmp_path,
        HEAD
        + textwrap.dedent("""\
        networks: [{id: N}]
        defectors:
          - {id: D1, networks: [N], origin: Umeå, keep_apart_from: [D2, D3]}
          - {id: D2, networks: [N], origin: Umeå}
          - {id: D3, networks: [N], origin: Umeå, keep_apart_from: [D1]}
          - {id: D4, networks: [N], origin: Umeå, keep_apart_from: [D2]}
          - {id: D5, networks: [N], origin: Umeå}
        """),
    )
    apart = {d.id: d.keep_apart_from for d in scenario.defectors}
    assert apart == {
        "D1": {"D2", "D3"},
        "D2": {"D1", "D4"},
        "D3": {"D1"},
        "D4": {"D2"},
        "D5": set(),
    }


def test_youth_services_for_the_young(tmp_path: Path) -> None:
    people = textwrap.dedent("""\
        networks: [{id: N}]
        defectors:
          - {id: A17, networks: [N], origin: Umeå, age: 17, needs: [exit_program]}
          - {id: A18, networks: [N], origin: Umeå, age: 18}
          - {id: A20, networks: [N], origin: Umeå, age: 20, needs: [youth_services]}
          - {id: NOAGE, networks: [N], origin: Umeå}
        """)
    default = load(tmp_path, HEAD + people)
    assert {d.id: d.needs for d in default.defectors} == {
        "A17": {"exit_program", "youth_services"},
        "A18": set(),
        "A20": {"youth_services"},
        "NOAGE": set(),
    }
    custom = load(tmp_path, HEAD + "policy: {youth_age: 21}\n" + people)
    assert {d.id: d.needs for d in custom.defectors} == {
        "A17": {"exit_program", "youth_services"},
        "A18": {"youth_services"},
        "A20": {"youth_services"},
        "NOAGE": set(),
    }
    assert custom.defector("A18").age == 18  # the age itself is kept


def test_threat_buffer_override(tmp_path: Path) -> None:
    people = textwrap.dedent("""\
        networks: [{id: N}]
        defectors:
          - {id: D1, networks: [N], origin: Umeå}
          - {id: D2, networks: [N], origin: Umeå, threat_buffer_km: 250}
          - {id: D3, networks: [N], origin: Umeå, threat_buffer_km: 0}
        """)
    default = load(tmp_path, HEAD + people)
    assert [d.threat_buffer_km for d in default.defectors] == [100, 250, 0]
    custom = load(tmp_path, HEAD + "policy: {threat_buffer_km: 75.5}\n" + people)
    assert [d.threat_buffer_km for d in custom.defectors] == [75.5, 250, 0]


def test_duplicate_references_collapse(tmp_path: Path) -> None:
    scenario = load(
        tmp_path,
        HEAD
        + textwrap.dedent("""\
        networks: [{id: N, territory: [Umeå, "2480", umeå, Luleå]}, {id: M}]
        defectors:
          - {id: D, networks: [N, M, N], origin: Umeå, prefer: [Kiruna, "2584", Luleå],
             avoid: [Lund, Lund]}
        """),
    )
    assert scenario.networks["N"].territory == (area("Umeå"), area("Luleå"))
    person = scenario.defectors[0]
    assert person.networks == ("N", "M")
    assert person.prefer == (area("Kiruna"), area("Luleå"))
    assert person.avoid == {area("Lund")}


# --------------------------------------------------------------------------- JSON Schema


def test_json_schema_is_serialisable_and_has_the_contract_keys() -> None:
    schema = scenario_json_schema()
    assert json.loads(json.dumps(schema)) == schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) >= {
        "format",
        "name",
        "areas",
        "policy",
        "capacity",
        "networks",
        "defectors",
    }
    assert schema["required"] == ["format"]
    assert schema["additionalProperties"] is False
    defs = schema["$defs"]
    assert set(defs["Policy"]["properties"]) == set(Policy.model_fields)
    assert set(defs["DefectorSpec"]["required"]) == {"id", "networks", "origin"}
    assert set(defs["NetworkSpec"]["required"]) == {"id"}


def test_contract_example_validates_against_the_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(CONTRACT_EXAMPLE), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"format": SCENARIO_FORMAT, "polcy": {}}, schema)


# --------------------------------------------------------------------------- round trip


def resolved(scenario: Scenario) -> tuple[Any, ...]:
    """Everything a loaded scenario means, comparable with ==."""
    return (
        scenario.name,
        scenario.policy,
        scenario.services,
        dict(scenario.networks),
        scenario.defectors,
        scenario.offers,
    )


def offer_key(offer: AreaOffer) -> tuple[Any, ...]:
    return (offer.housing_units, offer.services, tuple(sorted(offer.wait_weeks.items())))


def to_document(scenario: Scenario) -> dict[str, Any]:
    """A scenario document that means the same as a loaded scenario (areas by code)."""
    ids = scenario.geography.ids
    counts = Counter(offer_key(o) for o in scenario.offers)
    default = next(o for o in scenario.offers if offer_key(o) == counts.most_common(1)[0][0])

    def offer(value: AreaOffer) -> dict[str, Any]:
        return {
            "housing_units": value.housing_units,
            "services": sorted(value.services),
            "wait_weeks": dict(value.wait_weeks),
        }

    document: dict[str, Any] = {
        "format": SCENARIO_FORMAT,
        "services": [s for s in scenario.services if s not in STANDARD_SERVICES],
        "policy": scenario.policy.model_dump(),
        "capacity": {
            "default": offer(default),
            "areas": {ids[i]: offer(o) for i, o in enumerate(scenario.offers) if o != default},
        },
        "networks": [
            {
                "id": n.id,
                "territory": [ids[i] for i in n.territory],
                "rivals": sorted(n.rivals),
                "allies": sorted(n.allies),
            }
            | ({"name": n.name} if n.name is not None else {})
            for n in scenario.networks.values()
        ],
        "defectors": [
            {
                "id": d.id,
                "networks": list(d.networks),
                "origin": ids[d.origin],
                "household": d.household,
                "threat_level": d.threat_level,
                "needs": sorted(d.needs),
                "avoid": sorted(ids[i] for i in d.avoid),
                "prefer": [ids[i] for i in d.prefer],
                "keep_apart_from": sorted(d.keep_apart_from),
                "threat_buffer_km": d.threat_buffer_km,
            }
            | ({"age": d.age} if d.age is not None else {})
            | ({"placed_in": ids[d.placed_in]} if d.placed_in is not None else {})
            for d in scenario.defectors
        ],
    }
    if scenario.name is not None:
        document["name"] = scenario.name
    return document


# Ids a careless YAML reader would turn into booleans, numbers or null.
TRICKY_IDS = ["NO", "yes", "on", "Off", "null", "0127", "1480", "007", "1e3x", "N-1"]
IDS = st.from_regex(r"[A-Z][A-Za-z0-9_]{0,5}", fullmatch=True) | st.sampled_from(TRICKY_IDS)
SERVICES = [*STANDARD_SERVICES, "housing_support"]


@st.composite
def area_refs(draw: st.DrawFn) -> str | int:
    """One municipality written as a code, its name in any case, or a 4-digit number."""
    index = draw(st.integers(0, len(SWEDEN) - 1))
    forms: list[str | int] = [SWEDEN.ids[index], SWEDEN.names[index], SWEDEN.names[index].upper()]
    if SWEDEN.ids[index][0] != "0":
        forms.append(int(SWEDEN.ids[index]))
    return draw(st.sampled_from(forms))


@st.composite
def capacities(draw: st.DrawFn) -> dict[str, Any]:
    value: dict[str, Any] = {}
    if draw(st.booleans()):
        value["housing_units"] = draw(st.integers(0, 20))
    if draw(st.booleans()):
        value["services"] = draw(st.lists(st.sampled_from(SERVICES), max_size=3))
    if draw(st.booleans()):
        value["wait_weeks"] = draw(
            st.dictionaries(st.sampled_from(SERVICES), st.integers(0, 52) | st.floats(0, 52))
        )
    return value


@st.composite
def scenario_documents(draw: st.DrawFn) -> dict[str, Any]:
    network_ids = draw(st.lists(IDS, min_size=1, max_size=4, unique=True))
    people = draw(st.lists(IDS, min_size=0, max_size=5, unique=True))
    networks: list[dict[str, Any]] = [
        {"id": n, "territory": draw(st.lists(area_refs(), max_size=3))} for n in network_ids
    ]
    for i, first in enumerate(networks):
        for second in networks[i + 1 :]:
            relation = draw(st.sampled_from([None, "rivals", "allies"]))
            if relation is None:
                continue
            sides = draw(st.sampled_from([(first,), (second,), (first, second)]))
            for side in sides:
                other = second if side is first else first
                side.setdefault(relation, []).append(other["id"])
    for network in networks:
        if draw(st.booleans()):
            network["name"] = draw(st.sampled_from(["Group A", "Grupp Ö", "yes"]))
    defectors = []
    for person in people:
        entry: dict[str, Any] = {
            "id": person,
            "networks": draw(st.lists(st.sampled_from(network_ids), min_size=1, max_size=2)),
            "origin": draw(area_refs()),
        }
        others = [other for other in people if other != person]
        optional: dict[str, st.SearchStrategy[Any]] = {
            "household": st.integers(1, 4),
            "threat_level": st.integers(1, 5),
            "age": st.integers(12, 70),
            "needs": st.lists(st.sampled_from(SERVICES), max_size=2),
            "avoid": st.lists(area_refs(), max_size=2),
            "prefer": st.lists(area_refs(), max_size=2),
            "keep_apart_from": st.lists(st.sampled_from(others), max_size=2)
            if others
            else st.just([]),
            "threat_buffer_km": st.integers(0, 300) | st.floats(0, 300),
            "placed_in": area_refs(),
        }
        for key, strategy in optional.items():
            if draw(st.booleans()):
                entry[key] = draw(strategy)
        defectors.append(entry)
    listed = draw(st.lists(st.integers(0, len(SWEDEN) - 1), max_size=4, unique=True))
    document: dict[str, Any] = {
        "format": SCENARIO_FORMAT,
        "services": ["housing_support"],
        "capacity": {
            "default": draw(capacities()),
            "areas": {
                draw(st.sampled_from([SWEDEN.ids[i], SWEDEN.names[i]])): draw(capacities())
                for i in listed
            },
        },
        "networks": networks,
        "defectors": defectors,
    }
    if draw(st.booleans()):
        document["name"] = draw(st.sampled_from(["Spring intake", "Umeå: 2024", "no"]))
    if draw(st.booleans()):
        document["policy"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "threat_buffer_km": st.integers(0, 300),
                    "keep_apart_km": st.floats(0, 100),
                    "distance": st.sampled_from(["boundary", "centroid"]),
                    "allies_of_rivals_threaten": st.booleans(),
                    "youth_age": st.integers(0, 30),
                },
            )
        )
    return document


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=scenario_documents())
def test_load_dump_load_is_the_identity(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        (base / "s.yaml").write_text(
            yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        (base / "s.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        from_yaml = load_scenario(base / "s.yaml")
        from_json = load_scenario(base / "s.json")
        assert resolved(from_yaml) == resolved(from_json)
        assert [d.id for d in from_yaml.defectors] == [d["id"] for d in document["defectors"]]
        assert list(from_yaml.networks) == [n["id"] for n in document["networks"]]

        again = to_document(from_yaml)
        (base / "again.yaml").write_text(yaml.safe_dump(again, allow_unicode=True))
        assert resolved(load_scenario(base / "again.yaml")) == resolved(from_yaml)
        assert to_document(load_scenario(base / "again.yaml")) == again
