"""Unknown names in input files: "did you mean ...?" hints, within a budget per file.

Every reader (scenario, history, plan check, what-if options) says which known names come
close to an unknown one. Each hint costs up to milliseconds (more against thousands of ids),
so a file names its first ``MAX_HINTS`` unknown names with hints and the rest without: a
hostile file with 100,000 unknown names must not take minutes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence

from placement.errors import Problem
from placement.geography import Geography

#: "Did you mean" hints are given for this many unknown names per file, then left out.
MAX_HINTS = 50


class Unreadable(str):
    """A list element that failed validation (already reported), kept in its list so that
    the elements after it keep their places (``territory[2]``) in messages. Readers skip it:
    it is never looked up, and equals no name (it holds a control character no name may)."""


UNREADABLE = Unreadable("\x00")


def readable(values: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Each element of a list with its place in it, the unreadable ones (reported) left out."""
    for position, value in enumerate(values):
        if not isinstance(value, Unreadable):
            yield position, value


def did_you_mean(candidates: Sequence[str]) -> str:
    """`` (did you mean A or B?)``, or nothing when there is no candidate."""
    return f" (did you mean {' or '.join(candidates)}?)" if candidates else ""


def close_matches(name: str, known: Iterable[str]) -> list[str]:
    """Up to three known names that look like ``name``, closest first."""
    return difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)


class HintBudget:
    """Hints for one file: the first ``MAX_HINTS`` unknown names get them."""

    def __init__(self) -> None:
        self.given = 0

    def allows(self) -> bool:
        """Count one more unknown name; whether it may still get a hint."""
        self.given += 1
        return self.given <= MAX_HINTS

    def hint(self, name: str, known: Iterable[str]) -> str:
        """The "did you mean" suffix for an unknown name, or nothing past the budget."""
        return did_you_mean(close_matches(name, known)) if self.allows() else ""

    def area(
        self, geography: Geography, reference: str, place: str, problems: list[Problem]
    ) -> int | None:
        """The area's index, or None with a problem naming the place and the likely areas."""
        index = geography.index_of(reference)
        if index is None:
            problems.append(
                Problem(place, geography.unknown_reference(reference, hint=self.allows()))
            )
        return index

    def areas(
        self, geography: Geography, references: Iterable[str], place: str, problems: list[Problem]
    ) -> list[int]:
        """The indices of the known areas of a list; a problem for each unknown one."""
        found = []
        for position, reference in readable(references):
            index = self.area(geography, reference, f"{place}[{position}]", problems)
            if index is not None:
                found.append(index)
        return found
