"""One small error hierarchy, so the CLI can map every failure to a documented exit code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in an input file: where it is (``defectors[3].origin``) and what is wrong."""

    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


class PlacementError(Exception):
    """Base class of every error the library raises on purpose."""


class InputError(PlacementError):
    """Invalid input (a scenario, plan or areas file): every problem found, listed at once.

    Gathering all problems before raising spares the planner a fix-one-rerun loop on a file
    that may hold dozens of mistakes.
    """

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{source}: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
