"""The personal data guard (``placement.personal``): no personal identity number in a scenario.

Every number here is synthetic: a made-up date and serial with the check digit computed by the
test, never a real person's number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cli import EXIT_INVALID, EXIT_OK, main
from placement.errors import InputError, Problem
from placement.personal import (
    PERSONAL_NUMBER_KEY_MESSAGE,
    PERSONAL_NUMBER_MESSAGE,
    looks_like_personal_number,
    personal_number_problems,
)
from placement.scenario import load_scenario, load_scenario_with_case, scenario_from_document


def luhn(nine: str) -> str:
    """The check digit of ``YYMMDDNNN``, computed independently of the module under test."""
    digits = [int(d) * (2 - i % 2) for i, d in enumerate(nine)]
    return str(-sum(d // 10 + d % 10 for d in digits) % 10)


def number(yymmdd: str, serial: str = "990") -> str:
    """A synthetic 10-digit number without separator: YYMMDD + serial + check digit."""
    return yymmdd + serial + luhn(yymmdd + serial)


def wrong_check_digit(digits: str) -> str:
    return digits[:-1] + str((int(digits[-1]) + 1) % 10)


PLAIN = number("850704")  # 10 digits, no separator
DASHED = PLAIN[:6] + "-" + PLAIN[6:]  # YYMMDD-NNNC
HUNDRED = PLAIN[:6] + "+" + PLAIN[6:]  # the separator of people aged 100 or more
LONG = "19" + PLAIN  # YYYYMMDDNNNC
LONG_DASHED = "19" + DASHED  # YYYYMMDD-NNNC
COORDINATION = number("850764")  # samordningsnummer: day 04 + 60


def test_check_digits_of_the_helper_are_luhn() -> None:
    # By hand: 8 5 0 7 0 4 9 9 0 times 2 1 2 1 2 1 2 1 2 is 16 5 0 7 0 4 18 9 0, whose digits
    # add up to 7+5+0+7+0+4+9+9+0 = 41, so the check digit is 10 - 1 = 9.
    assert luhn("850704990") == "9"
    assert PLAIN == "8507049909"


@pytest.mark.parametrize(
    "text",
    [
        PLAIN,
        DASHED,
        HUNDRED,
        LONG,
        LONG_DASHED,
        COORDINATION,
        "20" + number("040229"),  # 29 February of a leap year, 12 digits
        number("000101"),  # born in 2000: leading zeros
        "18" + number("991231"),
        f"Kalle {DASHED}",  # inside free text
        f"D{PLAIN}",  # glued to letters
        f"{DASHED}, moved",
    ],
)
def test_numbers_that_look_personal_are_found(text: str) -> None:
    assert looks_like_personal_number(text)


@pytest.mark.parametrize(
    "text",
    [
        wrong_check_digit(PLAIN),
        wrong_check_digit(DASHED),
        "19" + wrong_check_digit(PLAIN),
        number("851304"),  # month 13
        number("850000"),  # month 00
        number("850100"),  # day 00
        number("850431"),  # 31 April
        number("850230"),  # 30 February
        "19" + number("010229"),  # 29 February 1901
        number("850792"),  # coordination day 32
        number("850760"),  # coordination day 00
        "21" + PLAIN,  # no 21st century yet
        "1" + PLAIN,  # 11 digits
        PLAIN + "1",
        "0" + LONG,  # 13 digits
        PLAIN[:6] + "--" + PLAIN[6:],
        PLAIN[:6] + " " + PLAIN[6:],
        "19" + PLAIN[:6] + "+" + PLAIN[6:],  # 12 digits take only a dash
        "0180",
        "1480",
        "D001",
        "D0017",
        "N03",
        "2023-01-10",
        "2023-01-10T12:00:00",
        "20230110",
        "070-1234567",  # a phone number
        "a" * 100,
        "",
        "٨٥٠٧٠٤٩٩٠" + PLAIN[-1],  # other scripts' digits are not ASCII digits
    ],
)
def test_other_values_are_not_flagged(text: str) -> None:
    assert not looks_like_personal_number(text)


@given(st.integers(min_value=0, max_value=10**6 - 1))
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
def test_the_last_digit_decides(serial_and_date: int) -> None:
    """For any date-shaped start, exactly one last digit makes a 10-digit number look personal."""
    yymmdd = f"{serial_and_date % 100:02d}{serial_and_date // 100 % 12 + 1:02d}"
    yymmdd += f"{serial_and_date // 1200 % 28 + 1:02d}"
    serial = f"{serial_and_date % 1000:03d}"
    hits = [d for d in "0123456789" if looks_like_personal_number(yymmdd + serial + d)]
    assert hits == [luhn(yymmdd + serial)]


# --------------------------------------------------------------------------- documents


def test_every_place_is_named_without_the_number() -> None:
    document: dict[str, Any] = {
        "format": "placement-scenario/1",
        "name": f"Intake {DASHED}",
        "defectors": [
            {"id": "D1", "networks": ["N1"], "origin": "Umeå"},
            {"id": "D2", "networks": ["N1"], "origin": "Umeå"},
            {"id": "D3", "networks": ["N1"], "origin": "Umeå"},
            {"id": LONG, "networks": ["N1", COORDINATION], "origin": "Umeå"},
        ],
        "capacity": {"areas": {HUNDRED: {"housing_units": 1}, "Umeå": {"note": [[PLAIN]]}}},
        "x": int(LONG),
        "y": int(PLAIN),
    }
    found = personal_number_problems(document)
    assert found == [
        Problem("name", PERSONAL_NUMBER_MESSAGE),
        Problem("defectors[3].id", PERSONAL_NUMBER_MESSAGE),
        Problem("defectors[3].networks[1]", PERSONAL_NUMBER_MESSAGE),
        Problem("capacity.areas", PERSONAL_NUMBER_KEY_MESSAGE),
        Problem("capacity.areas.Umeå.note[0][0]", PERSONAL_NUMBER_MESSAGE),
        Problem("x", PERSONAL_NUMBER_MESSAGE),
        Problem("y", PERSONAL_NUMBER_MESSAGE),
    ]
    assert PLAIN not in repr(found)


def test_a_key_that_looks_personal_is_not_shown_in_places_below_it() -> None:
    found = personal_number_problems({"keep": {DASHED: {"a": PLAIN}}})
    assert found == [
        Problem("keep", PERSONAL_NUMBER_KEY_MESSAGE),
        Problem("keep.<key 1>.a", PERSONAL_NUMBER_MESSAGE),
    ]


def test_integers_that_lost_their_leading_zeros_are_found() -> None:
    born_2003 = number("030514")
    assert personal_number_problems({"id": int(born_2003)}) == [
        Problem("id", PERSONAL_NUMBER_MESSAGE)
    ]


def test_booleans_dates_and_small_numbers_are_ignored() -> None:
    import datetime

    document = {"a": True, "b": datetime.date(1985, 7, 4), "c": 1480, "d": 0.5, "e": None}
    assert personal_number_problems(document) == []


def test_shared_values_are_looked_at_once_and_deep_ones_too() -> None:
    shared = [PLAIN] * 3
    bomb: list[Any] = shared
    for _ in range(30):  # 3 ** 30 values if expanded
        bomb = [bomb, bomb, bomb]
    assert len(personal_number_problems({"bomb": bomb})) == 3
    deep: Any = PLAIN
    for _ in range(5000):
        deep = [deep]
    assert personal_number_problems({"deep": deep}) == [
        Problem("deep" + "[0]" * 5000, PERSONAL_NUMBER_MESSAGE)
    ]


def test_scenario_from_document_refuses_and_can_be_told_otherwise() -> None:
    document = {
        "format": "placement-scenario/1",
        "networks": [{"id": "N1", "territory": ["Malmö"]}],
        "defectors": [{"id": DASHED, "networks": ["N1"], "origin": "Malmö"}],
    }
    with pytest.raises(InputError) as caught:
        scenario_from_document(document, source="s.yaml")
    assert caught.value.problems == [Problem("defectors[0].id", PERSONAL_NUMBER_MESSAGE)]
    assert DASHED not in str(caught.value)
    scenario = scenario_from_document(document, allow_personal_numbers=True)
    assert [d.id for d in scenario.defectors] == [DASHED]


def test_only_the_personal_numbers_are_reported_since_others_could_quote_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "format: placement-scenario/1\n"
        "networks: [{id: N1}]\n"
        f"defectors:\n  - {{id: D1, networks: [N1], origin: '{DASHED}'}}\n"
        f"x_{PLAIN}: 1\nx_{PLAIN}: 2\n",  # an unknown area and a duplicate key would quote it
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert caught.value.problems == [
        Problem("defectors[0].origin", PERSONAL_NUMBER_MESSAGE),
        Problem("", PERSONAL_NUMBER_KEY_MESSAGE),  # the two keys are one once parsed
    ]
    assert PLAIN not in str(caught.value) and DASHED not in str(caught.value)


SCENARIO = """\
format: placement-scenario/1
capacity:
  default: {housing_units: 2, services: [exit_program]}
networks:
  - {id: N01, territory: [Göteborg]}
defectors:
  - {id: D001, networks: [N01], origin: Göteborg}
  - {id: D002, networks: [N01], origin: Göteborg}
  - {id: D003, networks: [N01], origin: Göteborg}
  - {id: "PERSON", networks: [N01], origin: Göteborg}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("written", [DASHED, LONG_DASHED, LONG, HUNDRED, COORDINATION])
def test_load_scenario_refuses_with_the_place(tmp_path: Path, written: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.replace("PERSON", written), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert caught.value.problems == [Problem("defectors[3].id", PERSONAL_NUMBER_MESSAGE)]
    assert load_scenario(path, allow_personal_numbers=True).defectors[3].id == written


def test_json_integers_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    document = {"format": "placement-scenario/1", "name": int(LONG)}
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert caught.value.problems == [Problem("name", PERSONAL_NUMBER_MESSAGE)]


def test_case_files_are_guarded_with_their_own_places(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO.replace("PERSON", "D004"), encoding="utf-8")
    case = tmp_path / "case.yaml"
    case.write_text(f"id: D9\nnetworks: [N01]\norigin: Göteborg\navoid: ['{DASHED}']\n")
    with pytest.raises(InputError) as caught:
        load_scenario_with_case(scenario, case)
    assert caught.value.source == str(case)
    assert caught.value.problems == [Problem("avoid[0]", PERSONAL_NUMBER_MESSAGE)]
    scenario.write_text(SCENARIO.replace("PERSON", DASHED), encoding="utf-8")
    case.write_text("id: D9\nnetworks: [N01]\norigin: Göteborg\n")
    with pytest.raises(InputError) as caught:
        load_scenario_with_case(scenario, case)
    assert caught.value.source == str(scenario)
    assert caught.value.problems == [Problem("defectors[3].id", PERSONAL_NUMBER_MESSAGE)]
    loaded, defector = load_scenario_with_case(scenario, case, allow_personal_numbers=True)
    assert defector == "D9" and len(loaded.defectors) == 5


@pytest.mark.parametrize("command", ["validate", "solve", "check", "explain", "recommend"])
def test_cli_refuses_with_exit_2_and_never_prints_the_number(
    runner: CliRunner, tmp_path: Path, command: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.replace("PERSON", LONG_DASHED), encoding="utf-8")
    plan = tmp_path / "plan.json"
    plan.write_text('{"format": "placement-plan/1", "status": "optimal"}', encoding="utf-8")
    args = {
        "validate": ["validate", str(path)],
        "solve": ["solve", str(path), "-o", str(tmp_path / "out.json"), "--time-limit", "5"],
        "check": ["check", str(path), str(plan)],
        "explain": ["explain", str(path), str(plan)],
        "recommend": ["recommend", str(path), "--defector", "D001"],
    }[command]
    result = runner.invoke(main, args)
    assert result.exit_code == EXIT_INVALID
    assert result.stderr == (
        f"Error: {path}: 1 problem\n  defectors[3].id: {PERSONAL_NUMBER_MESSAGE}\n"
    )
    for form in (LONG_DASHED, LONG, DASHED, PLAIN):
        assert form not in result.output
    assert not (tmp_path / "out.json").exists()
    allowed = runner.invoke(main, [*args, "--allow-personal-numbers"])
    assert allowed.exit_code != EXIT_INVALID or "personal identity" not in allowed.stderr


def test_cli_opt_out(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.replace("PERSON", DASHED), encoding="utf-8")
    result = runner.invoke(main, ["validate", str(path), "--allow-personal-numbers"])
    assert result.exit_code == EXIT_OK, result.output
    out = tmp_path / "plan.json"
    result = runner.invoke(
        main, ["solve", str(path), "-o", str(out), "-q", "--allow-personal-numbers"]
    )
    assert result.exit_code == EXIT_OK, result.output
    assert out.exists()


def test_every_scenario_command_has_the_flag() -> None:
    for name in ("solve", "check", "validate", "explain", "recommend"):
        options = {o for p in main.commands[name].params for o in getattr(p, "opts", [])}
        assert "--allow-personal-numbers" in options, name


def test_bundled_and_generated_scenarios_pass_the_guard() -> None:
    from placement.generate import generate_tiny

    root = Path(__file__).resolve().parent.parent / "scenarios"
    for path in sorted(root.glob("*.yaml")):
        load_scenario(path)  # raises if anything in them looked personal
    for seed in range(20):
        assert personal_number_problems(generate_tiny(seed=seed)) == []


def test_a_hand_edited_plan_with_a_personal_number_is_refused(tmp_path: Path) -> None:
    from placement.plan import load_plan

    digits = number("811218")
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "format": "placement-plan/1",
                "status": "feasible",
                "assignments": [{"defector": f"{digits[:6]}-{digits[6:]}", "area": "0180"}],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_plan(plan)
    (problem,) = caught.value.problems
    assert problem.place == "assignments[0].defector"
    assert digits[6:] not in str(caught.value)
    assert load_plan(plan, allow_personal_numbers=True).assignments[0].area == "0180"


def test_a_sha256_digest_is_not_read_even_when_its_digits_look_personal() -> None:
    """Plans and timelines carry sha256 digests; chance digit runs must not refuse them."""
    digest = "ab" + PLAIN + "c" * 52
    assert len(digest) == 64 and looks_like_personal_number(digest)
    assert personal_number_problems({"digest": {"value": digest}}) == []
    # Anything else around the same digits is still read.
    for text in (digest[:-1], digest.upper(), digest + "d", f"id {digest}"):
        assert personal_number_problems({"value": text}) != []


def test_a_plan_whose_digest_has_personal_looking_digits_loads(tmp_path: Path) -> None:
    from placement.plan import load_plan

    digest = "ab" + PLAIN + "c" * 52
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "format": "placement-plan/1",
                "status": "feasible",
                "scenario": {"name": "s", "sha256": digest},
                "assignments": [{"defector": "D001", "area": "0180"}],
                "digest": {"algorithm": "sha256", "value": digest},
            }
        ),
        encoding="utf-8",
    )
    assert load_plan(plan).assignments[0].area == "0180"
