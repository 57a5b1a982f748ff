"""The seven hard rules of the contract, by name.

The same names appear in the model (``placement.model``), the independent checker
(``placement.check``), unplaced reasons and the docs, so a reviewer can follow "keep_apart"
from a report to the code. The order is the order in which the contract lists them.
"""

from __future__ import annotations

from typing import Final, Literal

RuleName = Literal[
    "threats", "origin", "keep_apart", "same_network", "capacity", "services", "avoid"
]

RULES: Final[dict[RuleName, str]] = {
    "threats": "far enough from the territory of every network that threatens the defector",
    "origin": "far enough from the area the defector comes from",
    "keep_apart": "far enough from every defector of a rival network or listed to keep apart",
    "same_network": "not too many defectors of one network in one area",
    "capacity": "the households in an area need no more than its housing units",
    "services": "the area offers every service the defector needs",
    "avoid": "the area is not on the defector's avoid list",
}
