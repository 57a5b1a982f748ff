"""The personal data guard: no Swedish personal identity number may sit in a scenario.

A scenario says where threatened people live; the people in it must be named by pseudonyms
(``D001``). A personal identity number in the file turns a leaked file into a list of named
targets, so loading refuses any value that looks like one, with its place in the file and
without repeating the number (error messages end up on terminals, in shell histories and in
logs).

What counts as one (Skatteverket's formats):

- a *personnummer*: ``YYMMDD-NNNC`` (10 digits; ``+`` instead of ``-`` from the year the
  person turns 100; the separator may be left out) or ``YYYYMMDD-NNNC`` (12 digits, century
  18, 19 or 20; the ``-`` may be left out);
- a *samordningsnummer* (coordination number): the same with 60 added to the day;
- the date must exist (month 01-12, a day the month has), and ``C`` must be the Luhn check
  digit of ``YYMMDDNNN``.

The check runs over every string, integer and key of the parsed document, including digits
inside longer text (``"Kalle 811218-9876"``) but not inside longer runs of digits. An integer of
8 or 9 digits is read with its lost leading zeros restored, since a JSON tool may have written
``0012189876`` as the number ``12189876``. Municipality codes, four-digit numbers, ``D001``
style ids and dates such as ``2023-01-10`` have too few digits to match; about one random
10-digit number in 150 passes both the date and the check digit, which is what
``--allow-personal-numbers`` is for. A string that is exactly a sha256 digest in hex (64 of
``0-9a-f``, as plans and timelines carry) is not read: its digits are chance.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from typing import Any, Final

from placement.errors import Problem

PERSONAL_NUMBER_MESSAGE: Final = (
    "looks like a Swedish personal identity number; scenarios must use pseudonyms "
    "(use --allow-personal-numbers only if this is a false positive)"
)
PERSONAL_NUMBER_KEY_MESSAGE: Final = "a key " + PERSONAL_NUMBER_MESSAGE

# Digits only as ASCII: ``\d`` would also match other scripts' digits.
_CANDIDATE = re.compile(
    r"(?<![0-9])"
    r"(?:(?P<century>18|19|20)(?P<long>[0-9]{6})-?(?P<long_serial>[0-9]{4})"
    r"|(?P<short>[0-9]{6})[-+]?(?P<short_serial>[0-9]{4}))"
    r"(?![0-9])"
)
_COORDINATION_OFFSET = 60
#: A sha256 digest in hex, as plans and timelines carry (``digest.value``, ``scenario.sha256``).
#: Its runs of digits are chance: about one digest in a few thousand holds one that passes the
#: date and check digit, which made such a plan fail to load. Not read.
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def looks_like_personal_number(text: str) -> bool:
    """Whether ``text`` contains something that looks like a personnummer or samordningsnummer."""
    return any(_is_valid(match) for match in _CANDIDATE.finditer(text))


def personal_number_problems(document: Any) -> list[Problem]:
    """Every value and key in a parsed YAML/JSON document that looks like a personal number.

    Each problem names its place (``defectors[3].id``) and never the value. Shared values
    (YAML aliases) are looked at once, so a "billion laughs" document costs no more than its
    size in the file.
    """
    problems = []
    for place, is_key in _hits(document):
        message = PERSONAL_NUMBER_KEY_MESSAGE if is_key else PERSONAL_NUMBER_MESSAGE
        problems.append(Problem(place, message))
    return problems


def _is_valid(match: re.Match[str]) -> bool:
    if match["century"] is not None:
        year = int(match["century"] + match["long"][:2])
        digits = match["long"] + match["long_serial"]
    else:
        year = None
        digits = match["short"] + match["short_serial"]
    return _plausible_date(digits[:6], year) and _luhn_ok(digits)


def _plausible_date(yymmdd: str, year: int | None) -> bool:
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    if not 1 <= month <= 12:
        return False
    if day > _COORDINATION_OFFSET:
        day -= _COORDINATION_OFFSET
    if year is None:  # the century is unknown: accept 29 February in any year ending 00, 04, ...
        year = 2000 + int(yymmdd[:2])
    return 1 <= day <= calendar.monthrange(year, month)[1]


def _luhn_ok(digits: str) -> bool:
    """Luhn over ``YYMMDDNNNC``: weights 2, 1, 2, ... on the first nine digits."""
    total = 0
    for position, digit in enumerate(digits[:9]):
        product = int(digit) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10 == int(digits[9])


def _scalar_text(value: Any) -> str | None:
    """The text of a scalar worth looking at, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        text = str(abs(value)) if -(10**13) < value < 10**13 else None
        if text is not None and 8 <= len(text) <= 9:
            text = text.zfill(10)  # leading zeros lost by a tool that read it as a number
        return text
    if isinstance(value, float):
        if value.is_integer() and 1e7 <= abs(value) < 1e13:
            return _scalar_text(int(value))
        return None
    if isinstance(value, str):
        return None if _SHA256_HEX.fullmatch(value) else value
    if isinstance(value, bytes | bytearray):  # YAML !!binary
        return bytes(value).decode("latin-1")
    return None


def _segment(key: Any) -> str:
    """A dict key as a part of a place, cut short."""
    shown = str(key)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _hits(document: Any) -> Iterator[tuple[str, bool]]:
    """(place, is_key) of every hit, in the order of the file; iterative, for deep documents."""
    seen: set[int] = set()
    # (place, value, whether the key that leads to this value is itself a hit)
    stack: list[tuple[str, Any, bool]] = [("", document, False)]
    while stack:
        place, value, key_hit = stack.pop()
        if key_hit:
            yield place.rpartition(".")[0], True
        if isinstance(value, dict | list | tuple | set | frozenset):
            if id(value) in seen:
                continue
            seen.add(id(value))
        children: list[tuple[str, Any, bool]] = []
        if isinstance(value, dict):
            for position, (key, item) in enumerate(value.items()):
                text = _scalar_text(key)
                hit = text is not None and looks_like_personal_number(text)
                segment = f"<key {position + 1}>" if hit else _segment(key)
                children.append((f"{place}.{segment}" if place else segment, item, hit))
        elif isinstance(value, list | tuple | set | frozenset):
            items = value if isinstance(value, list | tuple) else sorted(value, key=repr)
            children = [(f"{place}[{index}]", item, False) for index, item in enumerate(items)]
        else:
            text = _scalar_text(value)
            if text is not None and looks_like_personal_number(text):
                yield place, False
            continue
        stack.extend(reversed(children))
