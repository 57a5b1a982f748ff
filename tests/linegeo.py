"""A tiny custom geography whose distances are known by construction.

Areas A0..A9 are 10 km squares on a line, 60 km apart from one left edge to the next, so the
boundary distance between Ai and Aj is ``60 * |i - j| - 10`` km (50, 110, 170, ...) and areas
never touch. Tests use it to place a rule's limit exactly between two areas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from placement.geography import Geography
from placement.scenario import Scenario, scenario_from_document

SIDE_KM = 10
STEP_KM = 60


def line_geography(count: int = 10) -> Geography:
    squares = [
        shapely.box(i * STEP_KM * 1000, 0, i * STEP_KM * 1000 + SIDE_KM * 1000, SIDE_KM * 1000)
        for i in range(count)
    ]
    return Geography(
        ids=tuple(f"A{i}" for i in range(count)),
        names=tuple(f"Area {i}" for i in range(count)),
        geometries=np.asarray(squares, dtype=object),
        source="line-test-geography",
    )


def gap_km(i: int, j: int) -> float:
    """Boundary distance between areas Ai and Aj."""
    return float(STEP_KM * abs(i - j) - SIDE_KM) if i != j else 0.0


LINE = line_geography()


def line_scenario(
    *,
    networks: list[dict[str, Any]],
    defectors: list[dict[str, Any]],
    housing: dict[str, int] | None = None,
    services: dict[str, list[str]] | None = None,
    policy: dict[str, Any] | None = None,
    default_housing: int = 0,
) -> Scenario:
    """A scenario on the line geography; every area offers every standard service."""
    everything = [
        "exit_program",
        "trauma_care",
        "psychiatric_care",
        "addiction_treatment",
        "youth_services",
    ]
    areas: dict[str, Any] = {}
    for area, units in (housing or {}).items():
        areas[area] = {"housing_units": units, "services": (services or {}).get(area, everything)}
    for area, offered in (services or {}).items():
        areas.setdefault(area, {"housing_units": default_housing, "services": offered})
    document = {
        "format": "placement-scenario/1",
        "policy": {"origin_buffer_km": 0, **(policy or {})},
        "capacity": {
            "default": {"housing_units": default_housing, "services": everything},
            "areas": areas,
        },
        "networks": networks,
        "defectors": defectors,
    }
    return scenario_from_document(document, geography=LINE, sha256="test")
