"""Safe, literal parsing of YAML and JSON input files.

YAML 1.1 (PyYAML's default) reads an unquoted ``0127`` as the octal number 87 and ``0180`` as
the integer 180 -- another municipality, or none. This loader resolves integers only in the
YAML 1.2 core form (no leading zeros), so ``0127`` stays the string ``"0127"``. It also reads
only ``true``/``false`` as booleans (not ``yes``/``no``/``on``/``off``), constructs no Python
objects, reports duplicate keys instead of silently keeping the last one, and bounds the input
size and the number of aliases (a "billion laughs" file must not exhaust memory).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from placement.errors import InputError, Problem

MAX_INPUT_BYTES = 50 * 1024 * 1024
MAX_ALIASES = 1000

_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_FLOAT = "tag:yaml.org,2002:float"


class LiteralSafeLoader(yaml.SafeLoader):
    """A SafeLoader whose implicit integers, floats and booleans follow the YAML 1.2 core schema."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[str] = []
        self.alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases; refusing to expand them")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                if key in seen:
                    line = key_node.start_mark.line + 1
                    self.duplicate_keys.append(f"duplicate key '{key}' on line {line}")
                seen.add(key)
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


def _construct_int(loader: yaml.SafeLoader, node: Any) -> int:
    return int(loader.construct_scalar(node))


LiteralSafeLoader.add_constructor(_INT, _construct_int)


def read_bytes(path: Path) -> bytes:
    """Read an input file, refusing missing, unreadable or oversized ones with a clear message."""
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise InputError(
                str(path),
                [Problem("", f"file is {size:,} bytes; the limit is {MAX_INPUT_BYTES:,}")],
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), [Problem("", "file not found")]) from None
    except IsADirectoryError:
        raise InputError(str(path), [Problem("", "is a directory, not a file")]) from None
    except PermissionError:
        raise InputError(str(path), [Problem("", "permission denied")]) from None


def parse(data: bytes, path: Path) -> tuple[Any, list[Problem]]:
    """Parse JSON (``.json``) or YAML (anything else); return the document and any problems.

    A document of ``None`` means it could not be parsed at all.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return None, [Problem("", f"not UTF-8 text (byte {error.start})")]
    if path.suffix.lower() == ".json":
        return _parse_json(text)
    return _parse_yaml(text)


def _parse_json(text: str) -> tuple[Any, list[Problem]]:
    duplicates: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                duplicates.append(f"duplicate key '{key}'")
            result[key] = value
        return result

    try:
        document = json.loads(text, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as error:
        return None, [Problem("", f"invalid JSON at line {error.lineno}: {error.msg}")]
    except RecursionError:
        return None, [Problem("", "nested too deeply")]
    return document, [Problem("", message) for message in duplicates]


def _parse_yaml(text: str) -> tuple[Any, list[Problem]]:
    loader = LiteralSafeLoader(text)
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [Problem("", f"invalid YAML{where}: {error.problem or error}")]
    except yaml.YAMLError as error:
        return None, [Problem("", f"invalid YAML: {error}")]
    except RecursionError:
        return None, [Problem("", "nested too deeply")]
    finally:
        loader.dispose()
    return document, [Problem("", message) for message in loader.duplicate_keys]
