"""Safe, literal parsing of YAML and JSON input (``placement._yamlio``)."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest

from placement import _yamlio
from placement.errors import InputError, Problem

YAML = Path("scenario.yaml")
JSON = Path("scenario.json")


def parse_yaml(text: str) -> tuple[object, list[Problem]]:
    return _yamlio.parse(text.encode(), YAML)


def only_message(problems: list[Problem]) -> str:
    assert len(problems) == 1, problems
    assert problems[0].place == ""
    return problems[0].message


# --------------------------------------------------------------------------- scalars


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0127", "0127"),  # YAML 1.1 would read octal 87
        ("0180", "0180"),  # YAML 1.1 would read 180
        ("0380", "0380"),
        ("00", "00"),
        ("012.5", "012.5"),
        ("1480", 1480),
        ("0", 0),
        ("-3", -3),
        ("+4", 4),
        ("12.5", 12.5),
        ("1e3", 1000.0),
        ("0x1F", "0x1F"),
        ("0o17", "0o17"),
        ("1_000", "1_000"),
        ("1:20", "1:20"),  # YAML 1.1 sexagesimal
        ("yes", "yes"),
        ("no", "no"),
        ("NO", "NO"),  # e.g. a network id
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("n", "n"),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("~", None),
        ("null", None),
        (".inf", ".inf"),
        ("'0127'", "0127"),
        ('"yes"', "yes"),
        ("2023-01-10", datetime.date(2023, 1, 10)),
    ],
)
def test_yaml_scalars_follow_the_literal_core_schema(text: str, expected: object) -> None:
    document, problems = parse_yaml(f"value: {text}\n")
    assert problems == []
    assert isinstance(document, dict)
    assert document["value"] == expected
    assert type(document["value"]) is type(expected)


def test_yaml_keys_keep_leading_zeros() -> None:
    document, problems = parse_yaml("0127: a\n0180: b\n1480: c\nNO: d\n")
    assert problems == []
    assert document == {"0127": "a", "0180": "b", 1480: "c", "NO": "d"}


def test_loader_does_not_change_pyyaml_safe_loader() -> None:
    import yaml

    assert yaml.safe_load("value: 0127") == {"value": 87}  # the trap this module avoids
    assert yaml.safe_load("value: yes") == {"value": True}


# --------------------------------------------------------------------------- duplicate keys


def test_yaml_duplicate_keys_are_reported_with_their_line() -> None:
    document, problems = parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert document == {"a": 3, "b": {"c": 2}}  # parsed, so validation can go on
    assert sorted(problems) == [
        Problem("", "duplicate key 'a' on line 5"),
        Problem("", "duplicate key 'c' on line 4"),
    ]


def test_yaml_codes_written_two_ways_are_duplicates() -> None:
    _, problems = parse_yaml("0180: a\n'0180': b\n")
    assert problems == [Problem("", "duplicate key '0180' on line 2")]
    # A number key and the same digits quoted: one area code once read, so one key.
    _, problems = parse_yaml("'2480': a\n2480: b\n")
    assert problems == [Problem("", "duplicate key '2480' on line 2")]


def test_json_duplicate_keys_are_reported() -> None:
    document, problems = _yamlio.parse(b'{"a": 1, "a": 2, "b": {"c": 1, "c": 1}}', JSON)
    assert document == {"a": 2, "b": {"c": 1}}
    assert sorted(problems) == [Problem("", "duplicate key 'a'"), Problem("", "duplicate key 'c'")]


# --------------------------------------------------------------------------- broken input


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1, 2\nb: 3\n", "invalid YAML at line 2, column 2: expected ',' or ']', but got ':'"),
        ("a: b: c\n", "invalid YAML at line 1, column 5: mapping values are not allowed here"),
        ('a: "x\n', "invalid YAML at line 2, column 1: found unexpected end of stream"),
        ("--- a\n--- b\n", "invalid YAML at line 2, column 1: but found another document"),
        (
            '!!python/object/apply:os.system ["echo hi"]\n',
            "invalid YAML at line 1, column 1: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
    ],
)
def test_invalid_yaml(text: str, message: str) -> None:
    document, problems = parse_yaml(text)
    assert document is None
    assert only_message(problems) == message


def test_invalid_json() -> None:
    document, problems = _yamlio.parse(b'{"a": 1,}', JSON)
    assert document is None
    assert only_message(problems) == (
        "invalid JSON at line 1: Expecting property name enclosed in double quotes"
    )


def test_json_is_chosen_by_suffix_case_insensitively() -> None:
    document, problems = _yamlio.parse(b'{"code": "0127", "n": 180}', Path("S.JSON"))
    assert (document, problems) == ({"code": "0127", "n": 180}, [])
    # YAML would have accepted this unquoted key; JSON must not
    document, problems = _yamlio.parse(b"code: 0127\n", Path("s.json"))
    assert document is None
    assert only_message(problems).startswith("invalid JSON at line 1:")


@pytest.mark.parametrize("path", [YAML, JSON])
def test_nesting_too_deep(path: Path) -> None:
    document, problems = _yamlio.parse(b"[" * 2000 + b"]" * 2000, path)
    assert document is None
    assert only_message(problems) == "nested too deeply"


@pytest.mark.parametrize("path", [YAML, JSON])
def test_not_utf8(path: Path) -> None:
    document, problems = _yamlio.parse(b"name: caf\xe9\n", path)
    assert document is None
    assert only_message(problems) == "not UTF-8 text (byte 9)"


def test_utf8_bom_is_accepted() -> None:
    assert _yamlio.parse("\ufeffname: Umeå\n".encode(), YAML) == ({"name": "Umeå"}, [])
    assert _yamlio.parse('\ufeff{"name": "Umeå"}'.encode(), JSON) == ({"name": "Umeå"}, [])


def test_empty_yaml_is_no_document() -> None:
    assert _yamlio.parse(b"", YAML) == (None, [])


# --------------------------------------------------------------------------- aliases


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_parsed_without_expansion() -> None:
    started = time.perf_counter()
    document, problems = parse_yaml(billion_laughs())
    assert problems == []
    assert isinstance(document, dict)
    assert document["a9"][0] is document["a9"][1]  # shared, never copied
    assert time.perf_counter() - started < 2


def test_too_many_aliases_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_yamlio, "MAX_ALIASES", 10)
    text = "a: &a x\nb: [" + ", ".join(["*a"] * 11) + "]\n"
    document, problems = parse_yaml(text)
    assert document is None
    assert only_message(problems) == "invalid YAML: more than 10 aliases; refusing to expand them"
    document, problems = parse_yaml("a: &a x\nb: [" + ", ".join(["*a"] * 10) + "]\n")
    assert problems == []


def test_default_alias_limit_allows_ordinary_files() -> None:
    text = "a: &a x\nb: [" + ", ".join(["*a"] * _yamlio.MAX_ALIASES) + "]\n"
    document, problems = parse_yaml(text)
    assert problems == []
    assert isinstance(document, dict)
    assert len(document["b"]) == _yamlio.MAX_ALIASES


# --------------------------------------------------------------------------- reading files


def test_read_bytes_returns_exact_bytes(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"format: x\r\n\xc3\xa5\n")
    assert _yamlio.read_bytes(path) == b"format: x\r\n\xc3\xa5\n"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as caught:
        _yamlio.read_bytes(path)
    assert caught.value.source == str(path)
    assert caught.value.problems == [Problem("", "file not found")]
    assert str(caught.value) == f"{path}: 1 problem\n  file not found"


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _yamlio.read_bytes(tmp_path)
    assert caught.value.problems == [Problem("", "is a directory, not a file")]


def test_oversized_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_yamlio, "MAX_INPUT_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 1234)
    with pytest.raises(InputError) as caught:
        _yamlio.read_bytes(path)
    assert caught.value.problems == [Problem("", "file is 1,234 bytes; the limit is 100")]
    path.write_bytes(b"#" * 100)
    assert len(_yamlio.read_bytes(path)) == 100
