"""Plan files (format ``placement-plan/1``): the model, reading, and atomic writing.

A plan lists every defector of its scenario exactly once: in ``assignments`` (with the area's
code or id) or in ``unplaced`` (with reasons in plain words). The contract's keys are
``format``, ``scenario``, ``status``, ``assignments`` and ``unplaced``; this project adds
``provenance``, ``metrics`` and, per assignment, ``threat_level``, ``placed_before`` and
``margins`` (documented in ``docs/plan-format.md``).

Every plan written carries, as its last key, ``digest``: the sha256 of its own content (the
canonical JSON of the plan without ``digest``), so an edit made after writing is visible
(``verify_digest``). It is tamper evidence, not a signature: whoever edits a plan on purpose
can recompute it. Encrypted plans (``placement.crypto``) are protected by the cipher itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from placement import _yamlio, crypto
from placement.errors import InputError, Problem

if TYPE_CHECKING:
    from placement.scenario import Scenario
    from placement.solve import SolveResult

PLAN_FORMAT: Final = "placement-plan/1"
DIGEST_ALGORITHM: Final = "sha256"
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


def load_plan(path: str | Path, *, allow_personal_numbers: bool = False) -> Plan:
    """Read a plan file; raise ``InputError`` with every structural problem.

    Like scenarios, plans may hold only pseudonyms: a value that looks like a Swedish
    personal identity number is refused with its place (a hand-edited plan could carry one)
    unless ``allow_personal_numbers``.
    """
    from placement.scenario import pydantic_problems

    path = Path(path)
    document, problems = read_json_object(
        path, what="a plan", allow_personal_numbers=allow_personal_numbers
    )
    try:
        plan = Plan.model_validate(document)
    except ValidationError as error:
        raise InputError(str(path), problems + pydantic_problems(error, Plan)) from None
    if problems:
        raise InputError(str(path), problems)
    return plan


def read_json_object(
    path: Path, *, what: str, allow_personal_numbers: bool
) -> tuple[dict[str, Any], list[Problem]]:
    """Read a JSON (or YAML) file that must hold one object, through the guarded reader.

    Returns the document and the parser's non-fatal problems (e.g. duplicate keys), for the
    caller to report together with its own validation. Raises ``InputError`` when the file
    cannot be parsed, is not an object, or carries a personal identity number (alone: other
    messages could quote the value) unless ``allow_personal_numbers``.
    """
    from placement.personal import personal_number_problems

    document, problems = _yamlio.parse(_yamlio.read_bytes(path), path)
    if document is None:
        raise InputError(str(path), problems)
    if not allow_personal_numbers:
        personal = personal_number_problems(document)
        if personal:
            raise InputError(str(path), personal)
    if not isinstance(document, dict):
        raise InputError(str(path), [Problem("", f"{what} must be a JSON object")])
    return document, problems


def plan_to_json(plan: Plan) -> str:
    """The plan as stable, human-diffable JSON (fixed key order, two-space indent).

    A fresh ``digest`` of the content is always the last key (any digest the plan held is
    replaced), so the text is consistent with itself whatever happened to the object.
    """
    data = plan.model_dump(mode="json", exclude_none=False)
    data.pop("digest", None)
    data["digest"] = {"algorithm": DIGEST_ALGORITHM, "value": plan_digest(data)}
    return json.dumps(data, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------- tamper evidence


def plan_digest(document: Mapping[str, Any]) -> str:
    """The sha256 (hex) of a plan's canonical JSON without its ``digest`` key.

    Canonical: keys sorted, no whitespace, non-ASCII kept as UTF-8 -- so re-indenting or
    reordering keys is not an edit, while changing any value is.
    """
    content = {key: value for key, value in document.items() if key != "digest"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verify_digest(plan: Plan | Mapping[str, Any]) -> str | None:
    """A warning when the plan's ``digest`` is missing or does not match its content, else None.

    Takes a loaded ``Plan`` (its content as written: loading keeps every key) or the parsed
    JSON document.
    """
    document = plan.model_dump(mode="json") if isinstance(plan, Plan) else plan
    digest = document.get("digest")
    if digest is None:
        return "the plan carries no digest of its content, so edits to it cannot be detected"
    if (
        not isinstance(digest, Mapping)
        or digest.get("algorithm") != DIGEST_ALGORITHM
        or not isinstance(digest.get("value"), str)
    ):
        return "the plan's digest is not a sha256 digest, so edits to it cannot be detected"
    if digest["value"] != plan_digest(document):
        return (
            "the plan was edited after it was written: its content does not match its "
            f"digest (sha256 {digest['value'][:12]}...)"
        )
    return None


# --------------------------------------------------------------------------- writing


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file atomically (UTF-8, ending in a newline); see ``write_bytes_atomic``."""
    write_bytes_atomic(path, (text if text.endswith("\n") else text + "\n").encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write a file so that readers see either the old file or the whole new one, never a part.

    The bytes go to a temporary file in the same directory (created readable by its owner
    only), are flushed to disk, and the file is then renamed over the target (an atomic
    operation on POSIX file systems).
    """
    write_files_atomic([(Path(path), data)])


class OutputWriteError(OSError):
    """One of several outputs could not be written; none of them was replaced."""

    def __init__(self, target: Path, error: OSError) -> None:
        super().__init__(error.errno, error.strerror)
        self.target = target


def write_files_atomic(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write several files all or none: each to a temporary first, then all renamed.

    Why: a command with several outputs (a report and its map, k alternative plans) must not
    leave a new file beside an old one when the disk fills on the second. Renames within a
    directory do not fail for want of space. Raises ``OutputWriteError`` naming the target.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files:
            directory = path.parent if str(path.parent) else Path(".")
            try:
                handle, temporary = tempfile.mkstemp(
                    prefix=f".{path.name}.", suffix=".tmp", dir=directory
                )
                staged.append((temporary, path))
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                    stream.flush()
                    os.fsync(stream.fileno())
            except OSError as error:
                raise OutputWriteError(path, error) from error
        for temporary, path in staged:
            try:
                os.replace(temporary, path)
            except OSError as error:
                raise OutputWriteError(path, error) from error
    except BaseException:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        raise


def write_plan(plan: Plan, path: str | Path, *, passphrase: str | None = None) -> None:
    """Write the plan atomically, with its digest; encrypted when a passphrase is given."""
    write_bytes_atomic(path, plan_bytes(plan, passphrase=passphrase))


def plan_bytes(plan: Plan, *, passphrase: str | None = None) -> bytes:
    """The plan file's bytes, with its digest; encrypted when a passphrase is given."""
    data = (plan_to_json(plan) + "\n").encode("utf-8")
    return data if passphrase is None else crypto.encrypt(data, passphrase)


def plan_dict(plan: Plan) -> dict[str, Any]:
    return plan.model_dump(mode="json")


# --------------------------------------------------------------------------- from a solve


def plan_from_result(
    result: SolveResult, *, extra_provenance: dict[str, Any] | None = None
) -> Plan:
    """The plan document for a solve: assignments, unplaced with reasons, metrics, provenance."""
    import platform
    from datetime import UTC, datetime
    from importlib.metadata import version

    import placement
    from placement.explain import rule_facts
    from placement.objectives import THREAT_LEVELS
    from placement.reasons import unplaced_reasons

    scenario = result.scenario
    final_areas = {
        index: area
        for index in range(len(scenario.defectors))
        if (area := result.area_of(index)) is not None
    }
    facts = rule_facts(result.candidates, final_areas)
    geography = scenario.geography
    policy = scenario.policy
    assignments: list[Assignment] = []
    unplaced: list[Unplaced] = []
    margins: list[tuple[float, str, int]] = []
    by_level = {str(level): {"placed": 0, "unplaced": 0} for level in THREAT_LEVELS}
    for index, person in enumerate(scenario.defectors):
        area = result.area_of(index)
        if area is None:
            by_level[str(person.threat_level)]["unplaced"] += 1
            unplaced.append(
                Unplaced(
                    defector=person.id,
                    threat_level=person.threat_level,
                    reasons=unplaced_reasons(result, index),
                )
            )
            continue
        extra: dict[str, Any] = {"threat_level": person.threat_level}
        if person.placed_in is not None:
            extra["placed_before"] = True
        else:
            by_level[str(person.threat_level)]["placed"] += 1
            candidate = result.candidates.people[index]
            threat_margin = candidate.threat_margin_km(area)
            margin = threat_margin
            extra["placed_before"] = False
            nearest = int(candidate.threat_nearest[area])
            if nearest >= 0:
                extra["nearest_threat"] = {
                    "area": geography.ids[nearest],
                    "area_name": geography.label(nearest),
                    "distance_km": _round_km(float(candidate.threat_distance_km[area])),
                    "required_km": person.threat_buffer_km,
                }
            # The keep-apart fact was computed against everyone's final places: its `who` is
            # the nearest person to keep apart from, its `value` the exact distance.
            kept_apart = next(f for f in facts[index] if f.rule == "keep_apart")
            if kept_apart.who is not None and kept_apart.value is not None:
                other = scenario.defector_index[kept_apart.who]
                other_area = final_areas[other]
                distance = kept_apart.value
                extra["nearest_kept_apart"] = {
                    "defector": scenario.defectors[other].id,
                    "area": geography.ids[other_area],
                    "area_name": geography.label(other_area),
                    "distance_km": _round_km(distance),
                    "required_km": policy.keep_apart_km,
                }
                margin = min(margin, distance - policy.keep_apart_km)
            extra["safety_margin_km"] = _round_km(margin)
            margins.append((margin, person.id, area))
        extra["rules"] = {f.rule: f.to_dict(with_rule=False) for f in facts[index]}
        assignments.append(
            Assignment(
                defector=person.id,
                area=geography.ids[area],
                area_name=geography.label(area),
                **extra,
            )
        )
    load: dict[int, list[int]] = {}
    for index, area in result.new_areas.items():
        load.setdefault(area, []).append(index)
    area_load = [
        {
            "area": geography.ids[area],
            "area_name": geography.label(area),
            "newcomers": len(people),
            "housing_used": int(result.candidates.placed_load[area])
            + sum(scenario.defectors[p].household for p in people),
            "housing_units": scenario.offers[area].housing_units,
        }
        for area, people in sorted(load.items())
    ]
    margins.sort()
    metrics: dict[str, Any] = {
        "defectors": len(scenario.defectors),
        "already_placed": len(scenario.placed),
        "pending": len(scenario.pending),
        "newly_placed": len(result.new_areas),
        "unplaced": len(unplaced),
        "pending_by_threat_level": by_level,
        "primary_optimal": result.primary_optimal,
        "min_safety_margin_km": _round_km(margins[0][0]) if margins else None,
        "tightest_margins": [
            {
                "defector": who,
                "area": geography.ids[area],
                "area_name": geography.label(area),
                "safety_margin_km": _round_km(margin),
            }
            for margin, who, area in margins[:5]
        ],
        "area_load": area_load,
        "model": result.model_size,
        "stages": [
            {
                "name": s.name,
                "status": s.status.lower(),
                "objective": s.objective,
                "bound": s.bound,
                **({"found_by": s.found_by} if s.found_by else {}),
            }
            for s in result.stages
        ],
    }
    settings = result.settings
    provenance: dict[str, Any] = {
        "tool": "placement",
        "version": placement.__version__,
        "solver": f"ortools-cp-sat {version('ortools')}",
        "python": platform.python_version(),
        "seed": settings.seed,
        "workers": settings.workers,
        "time_limit_s": settings.time_limit_s,
        "reproducible": settings.reproducible,
        "areas": geography.source,
        **(extra_provenance or {}),
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        # Whether a neighbourhood search ran beside the secondary stage (it does when a core
        # is spare); not how many rounds it made, which depends on the clock.
        **({"neighbourhood_search": True} if result.helpers else {}),
        "timing_s": {
            "build": round(result.build_s, 3),
            **{f"stage_{i + 1}": round(s.wall_s, 3) for i, s in enumerate(result.stages)},
        },
    }
    top_level: dict[str, Any] = {}
    if result.interrupted is not None:
        done = [s.name for s in result.stages if s.status == "OPTIMAL"]
        top_level["status_reason"] = (
            f"interrupted by {result.interrupted}: the best plan found so far"
            + (f"; proven stages: {', '.join(done)}" if done else "; no stage was proven")
        )
    plan = Plan(
        format=PLAN_FORMAT,
        scenario=ScenarioRef(name=scenario.name, sha256=scenario.sha256),
        status=result.status,
        assignments=assignments,
        unplaced=unplaced,
        **top_level,
        metrics=metrics,
        provenance=provenance,
    )
    return _with_pre_existing(plan, scenario)


def _with_pre_existing(plan: Plan, scenario: Scenario) -> Plan:
    """The plan with ``pre_existing_problems`` when people who stay break a rule among themselves.

    The contract: the plan reports such problems as pre-existing (they are not counted against
    it). The checker finds them, on the plan itself, so a what-if move that ends one counts.
    """
    from placement.check import check_plan

    found = check_plan(scenario, plan).pre_existing
    if not found:
        return plan
    problems = [
        {
            "rule": v.rule,
            "defectors": list(v.defectors),
            "areas": list(v.areas),
            "message": v.message,
        }
        for v in found
    ]
    return Plan.model_validate({**plan_dict(plan), "pre_existing_problems": problems})


def _round_km(value: float) -> float | None:
    """Kilometres to 0.1 km, rounded down so a quoted margin is never larger than the true one."""
    import math

    if math.isinf(value):
        return None
    return math.floor(value * 10) / 10
