"""Hostile and broken input: the tool answers with success or a clean exit 2, nothing else.

Hypothesis starts from valid files (generated tiny scenarios, the bundled tutorial, a plan made
from it), breaks them (wrong types anywhere, deleted and unknown keys, huge and non-finite
numbers, unicode from right-to-left marks to lone surrogates, duplicate keys, deep nesting,
alias bombs, YAML tags, long strings, long lists, truncation, bytes that are not UTF-8) and
drives the command line. Whatever it makes, a run must end in time with exit 0 or 2 (check:
0, 1 or 2); exit 2 prints ``Error: ...`` and no traceback, and leaves no file behind.

The explicit tests below pin the bounds of ``placement._yamlio`` (input size, number of values,
nesting, number length) and measure the memory of the worst cases in a separate process.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import EXIT_INVALID, EXIT_OK, EXIT_VIOLATIONS, main
from placement import _yamlio
from placement.errors import InputError
from placement.plan import load_plan

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"
RUN_SECONDS = 30  # far above any run here (solves have --time-limit 5); a bound, not a target
PLACEHOLDER = "HOSTILE_PLACEHOLDER_7f3a"

SETTINGS = settings(
    max_examples=120,
    deadline=None,  # the per-run bound is _time_bound, which also stops a hang
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@functools.cache
def base_scenarios() -> tuple[dict[str, Any], ...]:
    from placement.generate import generate_tiny

    tutorial, problems = _yamlio.parse(TUTORIAL.read_bytes(), TUTORIAL)
    assert problems == []
    return (tutorial, *(generate_tiny(seed=seed) for seed in (3, 7)))


@functools.cache
def base_plan() -> dict[str, Any]:
    from placement.plan import plan_dict, plan_from_result
    from placement.scenario import load_scenario
    from placement.solve import SolveSettings, solve_scenario

    result = solve_scenario(load_scenario(TUTORIAL), SolveSettings(time_limit_s=10))
    return plan_dict(plan_from_result(result))


# --------------------------------------------------------------------------- strategies

HOSTILE_TEXTS = [
    "",
    " ",
    "\u202eD001",  # right-to-left override
    "\u200f",  # right-to-left mark
    "😀",
    "👨\u200d👩\u200d👧",
    "\x00",
    "a\x00b",
    "\ud800",  # a lone surrogate: JSON writes it as an escape
    "\udfff\ud800",
    "\x1b[2J\x1b[31mred",  # terminal escapes
    "\r\rover",
    "x" * 100_000,
    "0180",
    "0127",
    "180",
    "Göteborg",
    "göteborg ",
    "N01",
    "D001",
    "yes",
    "~",
    ".nan",
    "nan",
    "-inf",
    "2023-02-30",
    "exit_program",
    "../../etc/passwd",
    "sweden-municipalities",
    "placement-scenario/1",
]
HOSTILE_NUMBERS = [
    0,
    -1,
    1,
    5,
    6,
    1480,
    180,
    2**31,
    2**63,
    -(2**63) - 1,
    10**30,
    -(10**30),
    10**99,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    5e-324,
    -0.0,
    0.5,
    True,
    False,
    None,
]
HOSTILE_CONTAINERS: list[Any] = [
    [],
    {},
    [[[]]],
    {"a": {"b": None}},
    [None],
    list(range(20_000)),
    ["Umeå"] * 5_000,
    {f"k{i}": i for i in range(2_000)},
    {"0180": {}, 180: {}, None: {}, True: {}, 1.5: {}},
]

hostile_values = st.one_of(
    st.sampled_from(HOSTILE_TEXTS),
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from(HOSTILE_CONTAINERS).map(copy.deepcopy),  # mutations must not share them
    st.text(st.characters(exclude_categories=()), max_size=12),  # surrogates included
    st.integers(),
    st.floats(),
)
hostile_keys = st.one_of(
    st.sampled_from(["x", "format", "id", "", "\u202eid", "name ", 1, 0, None, True, 1.5]),
    st.text(st.characters(exclude_categories=()), max_size=8),
)


def deep(opening: str, closing: str, depth: int, inner: str = "") -> str:
    return opening * depth + inner + closing * depth


def billion_laughs(levels: int = 9) -> str:
    """An inline alias bomb: 9 ** levels strings if expanded, a few hundred bytes as written."""
    parts = ["&a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        parts.append(f"&a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "[" + ", ".join(parts) + "]"


RAW_COMMON = [
    deep("[", "]", 100),
    deep("[", "]", 999),
    deep("[", "]", 10_000),
    "9" * 5_000,
    "-" + "9" * 101,
    "9" * 100,
    "1e999",
    "-1e999",
    "1e-99999",
    "0.0000000000000000000000000000000000000000001",
    "[" + "1, " * 20_000 + "1]",
]
RAW_YAML = [
    *RAW_COMMON,
    deep("{a: ", "}", 500, "1"),
    deep("{a: ", "}", 10_000, "1"),
    ".nan",
    ".NaN",
    ".inf",
    "-.inf",
    "!!python/object:os.system {}",
    "!!python/object/apply:os.system [echo hi]",
    "!!python/name:os.system",
    "!custom x",
    "!<tag:example.com,2024:x> y",
    "!!binary aGVsbG8=",
    "!!binary '@@@'",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!pairs [a: 1, a: 2]",
    "!!int x",
    "!!int 0x1F",
    "!!float y",
    "!!bool maybe",
    "!!null 5",
    "!!str [a]",
    "!!timestamp 2023-02-30",
    "!!merge x",
    "2023-02-30",
    "2023-01-10T25:00:00",
    "2023-01-10",
    "*undefined",
    "&a [*a]",
    billion_laughs(),
    '"\\ud800"',
    '"\\0"',
    '"\\e[2J"',
    '"\\u202e"',
    "{<<: {a: 1}}",
    "{<<: [5]}",
    "{? [a, b] : c}",
    "{? {a: b} : c}",
    "{a: 1, a: 2}",
    "|\n  multi\n  line",
    "'unterminated",
    "[a, b",
    "\t",
    "%YAML 1.1",
    "--- x",
]
RAW_JSON = [
    *RAW_COMMON,
    deep('{"a": ', "}", 500, "1"),
    deep('{"a": ', "}", 10_000, "1"),
    "NaN",
    "Infinity",
    "-Infinity",
    '"\\ud800"',
    '"\\udfff\\ud800x"',
    '"\\u0000"',
    '"\\u001b[2J"',
    '"\\u202eD001"',
    '{"a": 1, "a": 2}',
    '{"id": "D1", "id": "D2"}',
    "[1, 2",
    '"unterminated',
    "01",
    "1.",
    "tru",
    '"' + "a" * 1_000_000 + '"',
]


@st.composite
def mutations(draw: st.DrawFn, document: Any) -> tuple[Any, bool]:
    """Apply 1-3 random mutations in place (to a copy); return it and whether a placeholder
    for raw text was planted."""
    planted = False
    for _ in range(draw(st.integers(1, 3))):
        parent: Any = None
        key: Any = None
        node = document
        while isinstance(node, dict | list) and node and draw(st.integers(0, 3)) > 0:
            key = draw(st.sampled_from(list(node))) if isinstance(node, dict) else None
            if isinstance(node, list):
                key = draw(st.integers(0, len(node) - 1))
            parent, node = node, node[key]
        operation = draw(
            st.sampled_from(["replace", "delete", "add", "retype", "repeat", "raw", "rekey"])
        )
        if parent is None:  # the whole document
            if operation in {"replace", "retype"}:
                document = draw(hostile_values)
            elif operation == "raw":
                document, planted = PLACEHOLDER, True
            elif operation == "add" and isinstance(document, dict):
                document[draw(hostile_keys)] = draw(hostile_values)
            continue
        if operation == "replace":
            parent[key] = draw(hostile_values)
        elif operation == "delete":
            del parent[key]
        elif operation == "add" and isinstance(node, dict):
            node[draw(hostile_keys)] = draw(hostile_values)
        elif operation == "retype":
            parent[key] = _other_type(node)
        elif operation == "repeat" and isinstance(node, list) and node:
            parent[key] = node * draw(st.sampled_from([2, 50, 1000]))
        elif operation == "raw" and not planted:
            parent[key], planted = PLACEHOLDER, True
        elif operation == "rekey" and isinstance(parent, dict):
            parent[draw(hostile_keys)] = parent.pop(key)
    return document, planted


def _other_type(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return list(value.values())
    return "null"


@st.composite
def hostile_files(draw: st.DrawFn, base: Any) -> tuple[bytes, str]:
    """A broken version of ``base`` as file bytes, and the suffix to give the file."""
    document, planted = draw(mutations(copy.deepcopy(base)))
    as_json = draw(st.booleans())
    if as_json:
        ascii_only = draw(st.booleans())
        text = json.dumps(
            document, ensure_ascii=ascii_only, indent=draw(st.sampled_from([None, 1]))
        )
        if planted:
            text = text.replace(f'"{PLACEHOLDER}"', draw(st.sampled_from(RAW_JSON)), 1)
        if draw(st.integers(0, 5)) == 0 and text.startswith("{") and len(text) > 2:
            text = text[:-1] + ', "format": "placement-scenario/1"}'  # a duplicate key
    else:
        text = yaml.safe_dump(
            document,
            allow_unicode=draw(st.booleans()),
            default_flow_style=draw(st.sampled_from([False, None, True])),
            sort_keys=False,
            width=draw(st.sampled_from([80, 10**6])),
        )
        if planted:
            pattern = re.compile(f"['\"]?{PLACEHOLDER}['\"]?")
            text = pattern.sub(lambda _: draw(st.sampled_from(RAW_YAML)), text, count=1)
        if draw(st.integers(0, 5)) == 0 and isinstance(document, dict) and "format" in document:
            text += "format: placement-scenario/1\n"  # a duplicate key
    data = text.encode("utf-8", errors="surrogatepass")  # lone surrogates: not UTF-8 at all
    damage = draw(st.sampled_from(["none"] * 6 + ["truncate", "bom", "bad-utf8", "nul"]))
    if damage == "truncate":
        data = data[: draw(st.integers(0, max(0, len(data) - 1)))]
    elif damage == "bom":
        data = b"\xef\xbb\xbf" + data
    elif damage == "bad-utf8":
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + b"\xff\xfe" + data[cut:]
    elif damage == "nul":
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + b"\x00" + data[cut:]
    return data, ".json" if as_json else ".yaml"


# --------------------------------------------------------------------------- running


class RunTooLong(Exception):
    pass


@contextmanager
def _time_bound(seconds: float) -> Iterator[None]:
    """Raise RunTooLong in the running code after ``seconds`` (a hang must fail, not hang)."""
    if not hasattr(signal, "setitimer"):  # not on Windows: the elapsed-time check remains
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise RunTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run(args: list[str]) -> Result:
    started = time.perf_counter()
    with _time_bound(RUN_SECONDS):
        result = CliRunner().invoke(main, args)
    elapsed = time.perf_counter() - started
    assert elapsed < RUN_SECONDS, f"{args[0]} took {elapsed:.1f} s"
    return result


def assert_clean(result: Result, *, allowed: tuple[int, ...] = (EXIT_OK, EXIT_INVALID)) -> None:
    """Exit 0 or 2 (or what ``allowed`` says); exit 2 with "Error: ..." and no traceback."""
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed, "".join(_traceback(result))
    assert result.exit_code in allowed, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    if result.exit_code == EXIT_INVALID:
        assert result.stderr.startswith("Error: "), result.stderr[:500]
        assert len(result.stderr.splitlines()) <= 103  # a header, 100 problems, "... more"
        assert "\x1b" not in result.stderr  # no terminal escape from the file reaches the screen


def _traceback(result: Result) -> list[str]:
    import traceback

    assert result.exc_info is not None
    return traceback.format_exception(*result.exc_info)


def only_file_left(directory: Path, expected: set[str]) -> None:
    assert {p.name for p in directory.iterdir()} == expected


# --------------------------------------------------------------------------- properties


@SETTINGS
@given(data=st.data())
def test_broken_scenarios_give_a_plan_or_a_clean_exit_2(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(base_scenarios()))
    content, suffix = data.draw(hostile_files(base))
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        scenario = folder / f"scenario{suffix}"
        scenario.write_bytes(content)
        out = folder / "plan.json"
        validated = run(["validate", str(scenario)])
        assert_clean(validated)
        solved = run(["solve", str(scenario), "-o", str(out), "--time-limit", "5", "-q"])
        assert_clean(solved)
        assert solved.exit_code == validated.exit_code, (validated.output, solved.output)
        if solved.exit_code == EXIT_INVALID:
            only_file_left(folder, {scenario.name})
        else:
            load_plan(out)  # a whole, valid plan
            only_file_left(folder, {scenario.name, out.name})


@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_broken_plans_are_checked_or_refused_cleanly(data: st.DataObject) -> None:
    content, suffix = data.draw(hostile_files(base_plan()))
    with tempfile.TemporaryDirectory() as directory:
        plan = Path(directory) / f"plan{suffix}"
        plan.write_bytes(content)
        result = run(["check", str(TUTORIAL), str(plan)])
        assert_clean(result, allowed=(EXIT_OK, EXIT_VIOLATIONS, EXIT_INVALID))


@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_broken_case_files_are_ranked_or_refused_cleanly(data: st.DataObject) -> None:
    person = {"id": "D900", "networks": ["N01"], "origin": "Göteborg", "needs": ["exit_program"]}
    content, suffix = data.draw(hostile_files(person))
    with tempfile.TemporaryDirectory() as directory:
        case = Path(directory) / f"case{suffix}"
        case.write_bytes(content)
        result = run(["recommend", str(TUTORIAL), "--case", str(case)])
        assert_clean(result)


# --------------------------------------------------------------------------- explicit cases


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, text: str | bytes, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


HEAD = "format: placement-scenario/1\n"
PERSON = "defectors:\n  - {id: D1, networks: [N1], origin: Umeå, %s}\nnetworks: [{id: N1}]\n"


def refused(path: Path, *args: str) -> str:
    """Run validate and solve on ``path``; both must refuse it cleanly. Returns stderr."""
    out = path.parent / "plan.json"
    validated = run(["validate", str(path), *args])
    assert_clean(validated)
    assert validated.exit_code == EXIT_INVALID, validated.output
    solved = run(["solve", str(path), "-o", str(out), "--time-limit", "5", *args])
    assert_clean(solved)
    assert solved.exit_code == EXIT_INVALID
    assert solved.stderr == validated.stderr
    assert not out.exists()
    return validated.stderr


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_100_mb_file_is_refused_at_once_without_being_read(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / f"huge{suffix}"
    with path.open("wb") as stream:
        stream.truncate(100 * 1024 * 1024)  # sparse: no disk used, but stat says 100 MB

    opened = []
    original_open = Path.open

    def watched_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            opened.append(self)
        return original_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", watched_open)
    started = time.perf_counter()
    stderr = refused(path)
    assert time.perf_counter() - started < 2
    assert opened == []
    assert stderr == (
        f"Error: {path}: 1 problem\n  file is 104,857,600 bytes; the limit is 10,485,760\n"
    )


def test_a_file_of_unknown_size_is_read_only_up_to_the_limit() -> None:
    zero = Path("/dev/zero")  # stat says 0 bytes; reading would never end
    if not zero.exists():
        pytest.skip("no /dev/zero here")
    started = time.perf_counter()
    result = run(["validate", str(zero)])
    assert_clean(result)
    assert result.stderr == (
        f"Error: {zero}: 1 problem\n  file is over the limit of 10,485,760 bytes\n"
    )
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (HEAD + "name: " + deep("[", "]", 10_000) + "\n", "s.yaml"),
        (HEAD + "name: " + deep("{a: ", "}", 10_000, "1") + "\n", "s.yaml"),
        ('{"format": "placement-scenario/1", "name": ' + deep("[", "]", 10_000) + "}", "s.json"),
        ('{"name": ' + deep('{"a": ', "}", 10_000, "1") + "}", "s.json"),
    ],
)
def test_10000_nested_levels_are_refused(tmp_path: Path, text: str, name: str) -> None:
    path = write(tmp_path, text, name)
    assert refused(path) == f"Error: {path}: 1 problem\n  nested too deeply\n"


@pytest.mark.parametrize(
    ("text", "name", "place"),
    [
        (HEAD + "policy: {threat_buffer_km: .nan}\n", "s.yaml", "policy.threat_buffer_km"),
        (HEAD + "policy: {threat_buffer_km: nan}\n", "s.yaml", "policy.threat_buffer_km"),
        (HEAD + "policy: {keep_apart_km: .inf}\n", "s.yaml", "policy.keep_apart_km"),
        (HEAD + "policy: {origin_buffer_km: -.inf}\n", "s.yaml", "policy.origin_buffer_km"),
        (HEAD + "policy: {origin_buffer_km: 1e999}\n", "s.yaml", "policy.origin_buffer_km"),
        (HEAD + PERSON % "threat_buffer_km: .nan", "s.yaml", "defectors[0].threat_buffer_km"),
        (
            '{"format": "placement-scenario/1", "policy": {"threat_buffer_km": NaN}}',
            "s.json",
            "policy.threat_buffer_km",
        ),
        (
            '{"format": "placement-scenario/1", "policy": {"keep_apart_km": Infinity}}',
            "s.json",
            "policy.keep_apart_km",
        ),
        (
            '{"format": "placement-scenario/1", "capacity": {"default": '
            '{"wait_weeks": {"trauma_care": -Infinity}}}}',
            "s.json",
            "capacity.default.wait_weeks.trauma_care",
        ),
        (
            '{"format": "placement-scenario/1", "policy": {"max_same_network_per_area": NaN}}',
            "s.json",
            "policy.max_same_network_per_area",
        ),
    ],
)
def test_nan_and_infinity_are_refused_with_the_place(
    tmp_path: Path, text: str, name: str, place: str
) -> None:
    stderr = refused(write(tmp_path, text, name))
    assert f"\n  {place}: " in stderr
    assert stderr.count("\n  ") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + PERSON % "household: 1000000000000000000000000000000", "defectors[0].household: "),
        (HEAD + PERSON % f"threat_level: {10**99}", "defectors[0].threat_level: "),
        (HEAD + "policy: {youth_age: -1000000000000000000000000000000}\n", "policy.youth_age: "),
        (HEAD + "capacity: {default: {housing_units: 18446744073709551617}}\n", "housing_units: "),
        (HEAD + "networks: [{id: N1, territory: [1000000000000000000000]}]\n", "territory[0]: "),
        (HEAD + "policy: {youth_age: " + "9" * 101 + "}\n", "digits; the limit is 100"),
        (HEAD + "policy: {youth_age: " + "9" * 5000 + "}\n", "a number with 5,000 digits"),
        (HEAD + "policy: {youth_age: !!int " + "9" * 5000 + "}\n", "a number with 5,000 digits"),
    ],
)
def test_very_large_integers_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    stderr = refused(write(tmp_path, text))
    assert expected in stderr
    assert all(len(line) < 200 for line in stderr.splitlines())


def test_very_large_integers_in_json_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '{"format": "placement-scenario/1", "n": ' + "9" * 5000 + "}", "s.json")
    assert refused(path) == (
        f"Error: {path}: 1 problem\n  invalid JSON: a number with 5,000 digits; the limit is 100\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + "1: one\n", "[1]: Keys should be strings"),
        (HEAD + "null: nothing\n", "None: Keys should be strings"),
        (HEAD + "2023-01-10: a date\n", "Keys should be strings"),
        (HEAD + "1.5: a float\n", "Keys should be strings"),
        (HEAD + "capacity: {areas: {180: {housing_units: 1}}}\n", "area code 180 is a number"),
        (HEAD + "capacity: {areas: {null: {housing_units: 1}}}\n", "capacity.areas.None: "),
        (HEAD + "? [a, b]\n: list key\n", "found unhashable key"),
        (HEAD + "? {a: b}\n: dict key\n", "found unhashable key"),
        (HEAD + "true: yes\nTrue: again\n", "duplicate key 'True' on line 3"),
    ],
)
def test_keys_that_are_not_strings(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(write(tmp_path, text))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("!!python/object/apply:os.system [echo hi]", "could not determine a constructor"),
        ("!!python/object:os.system {}", "could not determine a constructor"),
        ("!custom x", "could not determine a constructor for the tag '!custom'"),
        ("!!int x", "line 2, column 7: not a valid integer"),
        ("!!float x", "line 2, column 7: not a valid number"),
        ("!!bool x", "line 2, column 7: not a valid boolean"),
        ("!!timestamp x", "line 2, column 7: not a valid date"),
    ],
)
def test_yaml_tags_and_impossible_values(tmp_path: Path, raw: str, expected: str) -> None:
    assert expected in refused(write(tmp_path, HEAD + f"name: {raw}\n"))


def test_unicode_is_refused_where_it_could_deceive_and_never_crashes(tmp_path: Path) -> None:
    ids = '{"format": "placement-scenario/1", "networks": [{"id": "\\u202eN1"}]}'
    assert "networks[0].id: contains the invisible or control character U+202E" in refused(
        write(tmp_path, ids, "s.json")
    )
    escape = '{"format": "placement-scenario/1", "name": "x\\u001b[2J", "\\u001b]0;x\\u0007": 1}'
    stderr = refused(write(tmp_path, escape, "s.json"))
    assert "name: contains the control character U+001B" in stderr
    assert "\\x1b]0;x\\x07: unknown key" in stderr  # shown escaped, never sent to the terminal
    surrogate = '{"format": "placement-scenario/1", "name": "\\ud800x"}'
    assert "name: contains the lone surrogate U+D800" in refused(
        write(tmp_path, surrogate, "s.json")
    )
    surrogate = '{"format": "placement-scenario/1", "\\udfff": 1}'
    assert "(got '\\udfff')" in refused(write(tmp_path, surrogate, "s.json"))
    raw_nul = HEAD.encode() + b"name: a\x00b\n"
    assert "line 2, column 8: the character U+0000 is not allowed" in refused(
        write(tmp_path, raw_nul)
    )
    fine = HEAD + "name: Umeå 😀 \u200f\u05e9\u05dc\u05d5\u05dd\n"
    assert run(["validate", str(write(tmp_path, fine))]).exit_code == EXIT_OK


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    started = time.perf_counter()
    stderr = refused(write(tmp_path, HEAD + f"services: {billion_laughs()}\n"))
    assert time.perf_counter() - started < 5
    assert "services[0]: Input should be a valid string" in stderr


@pytest.mark.parametrize("name", ["s.yaml", "s.json"])
def test_too_many_values_are_refused(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At the real limit (250,000) this takes seconds in YAML; the worst-case test below runs it.
    monkeypatch.setattr(_yamlio, "MAX_VALUES", 1000)

    def services(count: int) -> str:  # 5 + count values: the mapping, 2 keys, 2 values
        items = ", ".join(["1"] * count)
        return f'{{"format": "placement-scenario/1", "services": [{items}]}}'

    stderr = refused(write(tmp_path, services(996), name))
    assert stderr.endswith(": more than 1,000 values; refusing to read further\n")
    assert "more than" not in refused(write(tmp_path, services(995), name))


def test_sixty_thousand_problems_make_a_screenful(tmp_path: Path) -> None:
    areas = ", ".join(f'"Nowhere{i}"' for i in range(60_000))
    text = (
        '{"format": "placement-scenario/1", "networks": [{"id": "N1", "territory": ['
        + areas
        + "]}]}"
    )
    started = time.perf_counter()
    stderr = refused(write(tmp_path, text, "s.json"))
    assert time.perf_counter() - started < 20
    lines = stderr.splitlines()
    assert lines[0].endswith(": 60000 problems")
    assert lines[-1] == "  ... and 59,900 more"
    assert "networks[0].territory[0]: unknown area 'Nowhere0'" in stderr


def test_a_megabyte_long_key_is_not_echoed_whole(tmp_path: Path) -> None:
    key = "k" * 1_000_000
    stderr = refused(write(tmp_path, f'{{"format": "placement-scenario/1", "{key}": 1}}', "s.json"))
    assert len(stderr) < 1000


def test_the_areas_path_cannot_crash_the_loader(tmp_path: Path) -> None:
    for areas in ["x" * 5000, "/dev/zero", "/", str(tmp_path), "\\0"]:
        text = HEAD + f'areas: "{areas}"\n'
        assert "areas: " in refused(write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"format": "placement-plan/1", "status": "optimal"', "invalid JSON"),
        ('{"format": "placement-plan/1", "status": "optimal", "status": "x"}', "duplicate key"),
        ('{"format": "placement-plan/1", "status": NaN}', "status: "),
        ('{"status": "optimal", "assignments": [{"defector": 1, "area": NaN}]}', "assignments[0]"),
        ('{"status": "optimal", "assignments": ' + deep("[", "]", 10_000) + "}", "nested too"),
        ('{"status": "optimal", "n": ' + "9" * 5000 + "}", "a number with 5,000 digits"),
        ('{"status": "optimal", "x": [' + deep("[", "]", 900) + "]}", "nested too deeply"),
        ('["placement-plan/1"]', "a plan must be a JSON object"),
        ("", "invalid JSON"),
        ('{"status": "optimal", "unplaced": [{"defector": "\\ud800"}]}', "unplaced[0].defector"),
    ],
)
def test_hostile_plans_are_refused_by_check(tmp_path: Path, text: str, expected: str) -> None:
    plan = write(tmp_path, text, "plan.json")
    result = run(["check", str(TUTORIAL), str(plan)])
    assert_clean(result)
    assert result.exit_code == EXIT_INVALID
    assert expected in result.stderr


def test_a_plan_with_odd_but_valid_values_is_checked(tmp_path: Path) -> None:
    plan = copy.deepcopy(base_plan())
    plan["assignments"][0]["area"] = "Nowhere"
    plan["assignments"][1]["defector"] = "\u202eD01"
    plan["unplaced"] = [{"defector": "D999", "reasons": ["x" * 100_000]}]
    plan["extra"] = {"nested": [[[1e308, -0.0, 10**30]]]}
    path = write(tmp_path, json.dumps(plan), "plan.json")
    result = run(["check", str(TUTORIAL), str(path)])
    assert_clean(result, allowed=(EXIT_VIOLATIONS, EXIT_INVALID))


WORST = {
    "list.yaml": "[" + "1," * 300_000 + "1]",
    "list.json": "[" + "1," * 4_000_000 + "1]",
    "bomb.yaml": HEAD + f"services: {billion_laughs()}\nname: *a9\nnetworks: *a9\n",
    "deep.yaml": HEAD + "name: " + deep("[", "]", 100_000) + "\n",
    "deep.json": deep("[", "]", 100_000),
    "comments.yaml": ("#" * 99 + "\n") * (_yamlio.MAX_INPUT_BYTES // 100 - 1),
    "keys.json": "{" + ",".join(f'"k{i}": 0' for i in range(49_000)) + "}",  # just under
}


def test_the_worst_files_stay_within_memory_and_time(tmp_path: Path) -> None:
    """In a fresh process, so that the peak memory measured is theirs (a bound: 1 GB)."""
    for name, text in WORST.items():
        write(tmp_path, text, name)
    script = textwrap.dedent(
        """
        import resource, sys, time
        from click.testing import CliRunner
        from cli import main
        runner = CliRunner()
        for path in sys.argv[1:]:
            started = time.perf_counter()
            result = runner.invoke(main, ["validate", path])
            assert result.exit_code == 2, (path, result.output, result.exception)
            print(path, round(time.perf_counter() - started, 1), flush=True)
        print("peak_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        """
    )
    paths = [str(tmp_path / name) for name in WORST]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    peak = int(lines[-1].split()[1])
    assert peak < 1000, done.stdout
    for line in lines[:-1]:
        assert float(line.split()[-1]) < 15, line
    assert time.perf_counter() - started < 60


# --------------------------------------------------------------------------- the reader itself


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!timestamp 2023-02-30\n", "invalid YAML at line 1, column 4: not a valid date"),
        ("a: !!int 12x\n", "invalid YAML at line 1, column 4: not a valid integer"),
        ("a: [1, !!float x]\n", "invalid YAML at line 1, column 8: not a valid number"),
        (
            "a: b\nc: d\x07\n",
            "invalid YAML at line 2, column 5: the character U+0007 is not allowed",
        ),
        ("a: " + "1" * 101 + "\n", "invalid YAML at line 1, column 4: a number with 101 digits"),
    ],
)
def test_yaml_values_that_cannot_be_constructed_are_problems(text: str, message: str) -> None:
    document, problems = _yamlio.parse(text.encode(), Path("s.yaml"))
    assert document is None
    assert len(problems) == 1 and problems[0].message.startswith(message), problems


@pytest.mark.parametrize("name", ["s.yaml", "s.json"])
def test_nesting_is_bounded_at_100_levels(name: str) -> None:
    """A valid file nests about 6 deep; 250 levels already break pydantic's serializer."""
    assert _yamlio.parse(deep("[", "]", 100).encode(), Path(name))[1] == []
    document, problems = _yamlio.parse(deep("[", "]", 101).encode(), Path(name))
    assert document is None
    assert [p.message for p in problems] == ["nested too deeply"]
    document, problems = _yamlio.parse(f"[{deep('[', ']', 100)}]".encode(), Path(name))
    assert [p.message for p in problems] == ["nested too deeply"]


def test_numbers_up_to_the_digit_limit_are_read() -> None:
    hundred = "9" * 100
    assert _yamlio.parse(f"a: -{hundred}\n".encode(), Path("s.yaml")) == ({"a": -int(hundred)}, [])
    assert _yamlio.parse(f'{{"a": -{hundred}}}'.encode(), Path("s.json")) == (
        {"a": -int(hundred)},
        [],
    )


def test_paths_that_cannot_be_read_are_problems(tmp_path: Path) -> None:
    file = write(tmp_path, "a: 1\n", "s.yaml")
    for path, message in [
        (file / "inside.yaml", "cannot read: Not a directory"),
        (tmp_path / ("x" * 5000), "cannot read: File name too long"),
    ]:
        with pytest.raises(InputError) as caught:
            _yamlio.read_bytes(path)
        assert [p.message for p in caught.value.problems] == [message]
