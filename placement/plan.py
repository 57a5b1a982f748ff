"""Plan files (format ``placement-plan/1``): the model, reading, and atomic writing.

A plan lists every defector of its scenario exactly once: in ``assignments`` (with the area's
code or id) or in ``unplaced`` (with reasons in plain words). The contract's keys are
``format``, ``scenario``, ``status``, ``assignments`` and ``unplaced``; this project adds
``provenance``, ``metrics`` and, per assignment, ``threat_level``, ``placed_before`` and
``margins`` (documented in ``docs/plan-format.md``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from placement import _yamlio
from placement.errors import InputError, Problem

PLAN_FORMAT = "placement-plan/1"
PlanStatus = Literal["optimal", "feasible", "infeasible", "error"]


class _Open(BaseModel):
    # Plans may carry keys added by other tools or later versions; keep them, don't reject.
    model_config = ConfigDict(extra="allow")


class ScenarioRef(_Open):
    name: str | None = None
    sha256: str | None = None


class Assignment(_Open):
    defector: str = Field(min_length=1)
    area: str = Field(min_length=1)
    area_name: str | None = None


class Unplaced(_Open):
    defector: str = Field(min_length=1)
    reasons: list[str] = Field(default_factory=list)


class Plan(_Open):
    format: Literal["placement-plan/1"] = PLAN_FORMAT
    scenario: ScenarioRef = Field(default_factory=ScenarioRef)
    status: PlanStatus
    assignments: list[Assignment] = Field(default_factory=list)
    unplaced: list[Unplaced] = Field(default_factory=list)


def load_plan(path: str | Path) -> Plan:
    """Read a plan file; raise ``InputError`` with every structural problem."""
    from placement.scenario import pydantic_problems

    path = Path(path)
    document, problems = _yamlio.parse(_yamlio.read_bytes(path), path)
    if document is None:
        raise InputError(str(path), problems)
    if not isinstance(document, dict):
        raise InputError(str(path), [Problem("", "a plan must be a JSON object")])
    try:
        plan = Plan.model_validate(document)
    except ValidationError as error:
        raise InputError(str(path), problems + pydantic_problems(error, Plan)) from None
    if problems:
        raise InputError(str(path), problems)
    return plan


def plan_to_json(plan: Plan) -> str:
    """The plan as stable, human-diffable JSON (fixed key order, two-space indent)."""
    return json.dumps(plan.model_dump(mode="json", exclude_none=False), indent=2, ensure_ascii=False)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a file so that readers see either the old file or the whole new one, never a part.

    The text goes to a temporary file in the same directory, is flushed to disk, and is then
    renamed over the target (an atomic operation on POSIX file systems).
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            if not text.endswith("\n"):
                stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_plan(plan: Plan, path: str | Path) -> None:
    write_text_atomic(path, plan_to_json(plan))


def plan_dict(plan: Plan) -> dict[str, Any]:
    return plan.model_dump(mode="json")
