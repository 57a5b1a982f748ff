"""Safe, literal parsing of YAML and JSON input files.

YAML 1.1 (PyYAML's default) reads an unquoted ``0127`` as the octal number 87 and ``0180`` as
the integer 180 -- another municipality, or none. This loader resolves integers only in the
YAML 1.2 core form (no leading zeros), so ``0127`` stays the string ``"0127"``. It also reads
only ``true``/``false`` as booleans (not ``yes``/``no``/``on``/``off``), constructs no Python
objects, reports duplicate keys instead of silently keeping the last one, and bounds the input
size and the number of aliases (a "billion laughs" file must not exhaust memory).

The bounds, chosen so that a hostile file is refused within seconds and a few hundred MB of
memory while real files stay far below them (the bundled national scenario is 93 KB with about
10,000 values):

- ``MAX_INPUT_BYTES`` (10 MiB): checked from the file's size before reading, and again while
  reading (a device or a growing file may report a wrong size). The pure-Python YAML reader
  needs half a second to a second per MB of text, so this also bounds the parse time.
- ``MAX_VALUES`` (100,000): keys, values and list items in one document. Without it a 2 MB
  YAML list (``[1,1,1,...]``) takes half a minute and most of a GB to read.
- ``MAX_ALIASES`` (1,000): YAML aliases (``*name``); they are never copied, only shared.
- ``MAX_NUMBER_DIGITS`` (100): longer integers are refused rather than converted (Python refuses
  to convert more than 4,300 digits anyway, with an error no planner should see).

- ``MAX_DEPTH`` (100 levels): a valid file nests about 6 deep. Deeper documents are refused as
  "nested too deeply" before any other code walks them (pydantic, for one, cannot serialize
  more than about 250 levels, and Python's own recursion stops near 1,000).

A value the YAML reader cannot construct (``!!int x``, the date ``2023-02-30``) is
reported with its line and column, never as a crash.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from placement import crypto
from placement.errors import InputError, Problem

MAX_INPUT_BYTES = 10 * 1024 * 1024
MAX_VALUES = 100_000
MAX_ALIASES = 1000
MAX_NUMBER_DIGITS = 100
MAX_DEPTH = 100

_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class LiteralSafeLoader(yaml.SafeLoader):
    """A SafeLoader whose implicit integers, floats and booleans follow the YAML 1.2 core schema."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[str] = []
        self.alias_count = 0
        self.value_count = 0
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.value_count += 1
        if self.value_count > MAX_VALUES:
            raise yaml.YAMLError(_too_many_values())
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases; refusing to expand them")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        # PyYAML's scalar constructors raise plain Python errors on values that match a tag
        # but are not valid (the date 2023-02-30, an explicit ``!!int x``): report them with
        # their place in the file instead.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            if node.tag == _TIMESTAMP and not _explicit_tag(node):
                # 2023-02-30 looks like a date but is none: keep the text, so the file's
                # reader reports it at its place, with every other problem of the file.
                return node.value
            kind = _TAG_KINDS.get(node.tag, f"'{node.tag}'")
            raise yaml.constructor.ConstructorError(
                None, None, f"not a valid {kind}", node.start_mark
            ) from None

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            # 2480 and "2480" are one area code once read: the same key written twice.
            same = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
            try:
                if same in seen:
                    line = key_node.start_mark.line + 1
                    self.duplicate_keys.append(f"duplicate key '{_shown(key)}' on line {line}")
                seen.add(same)
            except TypeError:  # unhashable key; the base class reports it
                pass
        return super().construct_mapping(node, deep=deep)


_resolvers = {
    first: [(tag, regexp) for tag, regexp in entries if tag not in {_INT, _BOOL, _FLOAT}]
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
LiteralSafeLoader.yaml_implicit_resolvers = _resolvers
LiteralSafeLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
LiteralSafeLoader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*))$"), list("-+0123456789")
)
LiteralSafeLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.[0-9]+(?:[eE][-+]?[0-9]+)?)$"
    ),
    list("-+0123456789."),
)


class _TooDeep(Exception):
    """Nesting beyond ``MAX_DEPTH``; reported like Python's own RecursionError."""


def _explicit_tag(node: Any) -> bool:
    """Whether the value was written with a tag (``!!timestamp x``), not resolved from its text."""
    mark = node.start_mark
    return bool(mark.buffer) and mark.buffer[mark.index : mark.index + 1] == "!"


_TAG_KINDS = {
    _INT: "integer",
    _FLOAT: "number",
    _BOOL: "boolean",
    _TIMESTAMP: "date",
}


def _too_many_values() -> str:
    return f"more than {MAX_VALUES:,} values; refusing to read further"


def _too_long_number(digits: int) -> str:
    return f"a number with {digits:,} digits; the limit is {MAX_NUMBER_DIGITS}"


def _construct_int(loader: yaml.SafeLoader, node: Any) -> int:
    text = loader.construct_scalar(node)
    digits = len(text.lstrip("+-"))
    if digits > MAX_NUMBER_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, _too_long_number(digits), node.start_mark
        )
    return int(text)


LiteralSafeLoader.add_constructor(_INT, _construct_int)


def read_bytes(path: Path) -> bytes:
    """Read an input file, refusing missing, unreadable or oversized ones with a clear message.

    The size is checked before reading; the read itself stops one byte past the limit, for
    files whose size the file system does not know (``/dev/zero``, a pipe) or that grow.
    """
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputError(
                str(path),
                [Problem("", f"file is {size:,} bytes; the limit is {MAX_INPUT_BYTES:,}")],
            )
        with path.open("rb") as stream:
            data = stream.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise InputError(str(path), [Problem("", "file not found")]) from None
    except IsADirectoryError:
        raise InputError(str(path), [Problem("", "is a directory, not a file")]) from None
    except PermissionError:
        raise InputError(str(path), [Problem("", "permission denied")]) from None
    except OSError as error:  # a name too long, a path through a file, an I/O error, ...
        reason = error.strerror or type(error).__name__
        raise InputError(str(path), [Problem("", f"cannot read: {reason}")]) from None
    except ValueError:  # a NUL character in the path
        raise InputError(str(path), [Problem("", "not a valid file name")]) from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(
            str(path), [Problem("", f"file is over the limit of {MAX_INPUT_BYTES:,} bytes")]
        )
    return data


def parse(data: bytes, path: Path) -> tuple[Any, list[Problem]]:
    """Parse JSON (``.json``) or YAML (anything else); return the document and any problems.

    A document of ``None`` means it could not be parsed at all. An encrypted file
    (``placement.crypto``) is decrypted first, with the passphrase from
    ``crypto.passphrase_source``; callers hash ``data`` as given, i.e. the bytes as stored.
    """
    if crypto.is_encrypted(data):
        try:
            data = crypto.decrypt_with_source(data, source=str(path))
        except crypto.EncryptionError as error:
            return None, error.problems
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return None, [Problem("", f"not UTF-8 text (byte {error.start})")]
    if path.suffix.lower() == ".json":
        return _parse_json(text)
    return _parse_yaml(text)


class _NumberTooLong(Exception):
    pass


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        raise _NumberTooLong(_too_long_number(digits))
    return int(text)


def _parse_json(text: str) -> tuple[Any, list[Problem]]:
    duplicates: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                duplicates.append(f"duplicate key '{_shown(key)}'")
            result[key] = value
        return result

    try:
        document = json.loads(text, object_pairs_hook=pairs_hook, parse_int=_json_int)
    except json.JSONDecodeError as error:
        return None, [Problem("", f"invalid JSON at line {error.lineno}: {error.msg}")]
    except _NumberTooLong as error:
        return None, [Problem("", f"invalid JSON: {error}")]
    except RecursionError:
        return None, [Problem("", "nested too deeply")]
    try:
        _check_size(document)
    except _TooDeep:
        return None, [Problem("", "nested too deeply")]
    except _TooMany:
        return None, [Problem("", f"invalid JSON: {_too_many_values()}")]
    return document, [Problem("", message) for message in duplicates]


class _TooMany(Exception):
    pass


def _check_size(document: Any) -> None:
    """Raise ``_TooMany`` or ``_TooDeep`` for a parsed JSON document beyond the bounds.

    Counted as the YAML reader counts: every key, value and item, and the levels of nesting
    (a scalar at the top is one level).
    """
    count = 0
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise _TooMany
        if depth > MAX_DEPTH:
            raise _TooDeep
        if isinstance(value, dict):
            count += len(value)  # the keys
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _shown(key: Any) -> str:
    """A key as quoted in a message: cut short, so a megabyte-long key is not echoed whole."""
    text = str(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_yaml(text: str) -> tuple[Any, list[Problem]]:
    try:
        loader = LiteralSafeLoader(text)  # refuses control characters at once
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        return None, [
            Problem(
                "",
                f"invalid YAML at line {line}, column {column}: the character "
                f"U+{error.character:04X} is not allowed (write it as an escape in double quotes)",
            )
        ]
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [Problem("", f"invalid YAML{where}: {error.problem or error}")]
    except yaml.YAMLError as error:
        return None, [Problem("", f"invalid YAML: {error}")]
    except (RecursionError, _TooDeep):
        return None, [Problem("", "nested too deeply")]
    finally:
        loader.dispose()
    return document, [Problem("", message) for message in loader.duplicate_keys]
