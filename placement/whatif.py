"""What-if changes: ``--set`` overrides of the scenario, ``--pin`` and ``--forbid`` decisions.

A reviewer asks "what if Umeå had 6 housing units?", "what if D05 lived in Luleå?", "what if
nobody went to Gävle?". This module reads those questions and applies them:

- ``--set PATH=VALUE`` edits the scenario *document* before it is validated, so a bad value is
  reported like a mistake in the file, with its place (``policy.keep_apart_km``) and a note of
  the ``--set`` it came from. Paths: ``policy.KEY``, ``capacity.default.KEY``,
  ``capacity.AREA.KEY`` (also ``capacity.areas.AREA.KEY``; an area not listed starts from
  ``capacity.default``), ``defectors.ID.KEY``, ``networks.ID.KEY``; deeper keys such as
  ``capacity.Umeå.wait_weeks.trauma_care`` work too. VALUE is read as YAML (``80``,
  ``[trauma_care]``, ``null``; ``0127`` stays a string), like a value in the file;
- ``--pin ID=AREA`` places the person in that area (and nowhere else) or the plan is
  infeasible with the reason; ``--forbid ID=AREA`` adds the area to their avoid list. An
  already placed person pinned elsewhere, or forbidden their current area, is moved (see
  ``placement.solve``).

Every change is recorded in the plan (``provenance.what_if``: ``set``, ``pin``, ``forbid``,
each a list of the texts as given). Unknown paths, keys, areas and people are errors (exit 2)
naming the option and the nearest valid names.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from placement import _yamlio
from placement.errors import InputError, Problem
from placement.geography import SWEDEN_MUNICIPALITIES, Geography, load_geography
from placement.names import close_matches, did_you_mean
from placement.plan import Plan
from placement.scenario import (
    AreaCapacity,
    DefectorSpec,
    NetworkSpec,
    Policy,
    Scenario,
    load_scenario,
    scenario_from_document,
)

if TYPE_CHECKING:
    from placement.solve import SolveResult

SET_ROOTS = ("policy", "capacity", "defectors", "networks")


@dataclass(frozen=True)
class WhatIf:
    """The what-if changes as given on the command line (texts, in order)."""

    sets: tuple[str, ...] = ()
    pins: tuple[str, ...] = ()
    forbids: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sets or self.pins or self.forbids)

    def to_provenance(self) -> dict[str, list[str]]:
        """``provenance.what_if`` of a plan."""
        return {"set": list(self.sets), "pin": list(self.pins), "forbid": list(self.forbids)}

    @classmethod
    def of_plan(cls, plan: Plan) -> WhatIf:
        """The changes a plan records (none when it records none, or not as lists of text)."""
        provenance = (plan.model_extra or {}).get("provenance")
        recorded = provenance.get("what_if") if isinstance(provenance, Mapping) else None
        if not isinstance(recorded, Mapping):
            return cls()

        def texts(key: str) -> tuple[str, ...]:
            values = recorded.get(key)
            if not isinstance(values, list):
                return ()
            return tuple(v for v in values if isinstance(v, str))

        return cls(sets=texts("set"), pins=texts("pin"), forbids=texts("forbid"))

    def describe(self) -> str:
        """``--set policy.keep_apart_km=80 --pin D05=Umeå``."""
        parts = [f"--set {s}" for s in self.sets]
        parts += [f"--pin {p}" for p in self.pins]
        parts += [f"--forbid {f}" for f in self.forbids]
        return " ".join(parts)


def _split(text: str, option: str) -> tuple[str, str] | Problem:
    left, sep, right = text.partition("=")
    if not sep or not left.strip():
        example = "PATH=VALUE" if option == "--set" else "ID=AREA"
        return Problem(f"{option} {text}", f"expected {example}")
    return left.strip(), right.strip()


# --------------------------------------------------------------------------- --set


def load_scenario_what_if(
    path: str | Path,
    sets: Sequence[str],
    *,
    allow_personal_numbers: bool = False,
) -> Scenario:
    """Load a scenario file with ``--set`` overrides applied to its document.

    The scenario keeps the sha256 of the file as stored (the plan records the overrides).
    Raises ``InputError``: for a bad override, naming ``--set`` and the nearest valid names;
    for a value that makes the scenario invalid, naming the place and the override.
    """
    path = Path(path)
    raw = _yamlio.read_bytes(path)
    document, problems = _yamlio.parse(raw, path)
    if document is None or problems or not isinstance(document, dict):
        # Report the file's own problems exactly as a plain load would.
        return load_scenario(path, allow_personal_numbers=allow_personal_numbers)
    changed, places = apply_sets(document, sets, base_dir=path.parent)
    try:
        return scenario_from_document(
            changed,
            sha256=hashlib.sha256(raw).hexdigest(),
            source=str(path),
            base_dir=path.parent,
            allow_personal_numbers=allow_personal_numbers,
        )
    except InputError as error:
        raise InputError(error.source, [_annotate(p, places) for p in error.problems]) from None


def _annotate(problem: Problem, places: Mapping[str, str]) -> Problem:
    for place, text in places.items():
        if problem.place == place or problem.place.startswith((place + ".", place + "[")):
            return Problem(problem.place, f"{problem.message} (from --set {text})")
    return problem


def apply_sets(
    document: Mapping[str, Any], sets: Sequence[str], *, base_dir: Path | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy of the scenario document with every override applied, and where each went.

    Returns the document and ``{place in the document: override text}``. Raises
    ``InputError`` (source ``--set``) listing every override that names nothing.
    """
    changed: dict[str, Any] = copy.deepcopy(dict(document))
    places: dict[str, str] = {}
    problems: list[Problem] = []
    geography: Geography | None = None
    for text in sets:
        split = _split(text, "--set")
        if isinstance(split, Problem):
            problems.append(split)
            continue
        path, raw_value = split
        value, value_problems = _yamlio.parse(raw_value.encode("utf-8"), Path("--set"))
        if value_problems:
            problems.append(Problem(f"--set {text}", f"cannot read the value '{raw_value}'"))
            continue
        parts = [p.strip() for p in path.split(".")]
        if parts[0] == "capacity" and geography is None:
            areas = changed.get("areas", SWEDEN_MUNICIPALITIES)
            try:
                geography = load_geography(
                    areas if isinstance(areas, str) else SWEDEN_MUNICIPALITIES, base_dir=base_dir
                )
            except InputError as error:
                problems.extend(error.problems)
                continue
        target = _target(changed, parts, geography)
        if isinstance(target, str):
            problems.append(Problem(f"--set {text}", target))
            continue
        container, key, place = target
        container[key] = value
        places[place] = text
    if problems:
        raise InputError("--set", problems)
    return changed, places


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    return did_you_mean(close_matches(name, known))


def _fields(model: type[BaseModel], *, without: Sequence[str] = ()) -> list[str]:
    return [name for name in model.model_fields if name not in without]


def _target(
    document: dict[str, Any], parts: list[str], geography: Geography | None
) -> tuple[dict[str, Any], str, str] | str:
    """The dict and key a path sets, and the place in the document; or what is wrong."""
    root = parts[0]
    if root not in SET_ROOTS:
        roots = ", ".join(f"{r}." for r in SET_ROOTS)
        hint = _did_you_mean(root, SET_ROOTS)
        return f"unknown path '{'.'.join(parts)}': it must start with {roots}{hint}"
    if root == "policy":
        if len(parts) != 2:
            return "expected policy.KEY"
        return _key_in(document, "policy", parts[1], _fields(Policy), "policy")
    if root == "capacity":
        return _capacity_target(document, parts, geography)
    kind = "defector" if root == "defectors" else "network"
    model: type[BaseModel] = DefectorSpec if root == "defectors" else NetworkSpec
    if len(parts) < 3:
        return f"expected {root}.ID.KEY"
    items = document.get(root)
    entries = (
        [item for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]
        if isinstance(items, list)
        else []
    )
    ids = [entry["id"] for entry in entries]
    if parts[1] not in ids or not isinstance(items, list):
        return f"unknown {kind} '{parts[1]}'" + _did_you_mean(parts[1], ids)
    entry = entries[ids.index(parts[1])]
    place = f"{root}[{items.index(entry)}]"
    return _deep(entry, parts[2:], _fields(model, without=("id",)), place)


def _key_in(
    document: dict[str, Any], section: str, key: str, allowed: list[str], place: str
) -> tuple[dict[str, Any], str, str] | str:
    if key not in allowed:
        return f"unknown key '{key}' in {section}" + _did_you_mean(key, allowed)
    container = document.get(section)
    if container is None:
        container = document[section] = {}
    if not isinstance(container, dict):
        return f"{section} in the scenario is not a mapping"
    return container, key, f"{place}.{key}"


def _deep(
    entry: dict[str, Any], keys: list[str], allowed: list[str], place: str
) -> tuple[dict[str, Any], str, str] | str:
    """Walk ``keys`` into ``entry`` (the first must be one of ``allowed``), creating mappings."""
    if keys[0] not in allowed:
        return f"unknown key '{keys[0]}'" + _did_you_mean(keys[0], allowed)
    container = entry
    for key in keys[:-1]:
        inner = container.get(key)
        if inner is None:
            inner = container[key] = {}
        if not isinstance(inner, dict):
            return f"'{key}' is not a mapping, so '{'.'.join(keys)}' cannot be set"
        container = inner
        place = f"{place}.{key}"
    return container, keys[-1], f"{place}.{keys[-1]}"


def _capacity_target(
    document: dict[str, Any], parts: list[str], geography: Geography | None
) -> tuple[dict[str, Any], str, str] | str:
    capacity = document.get("capacity")
    if capacity is None:
        capacity = document["capacity"] = {}
    if not isinstance(capacity, dict):
        return "capacity in the scenario is not a mapping"
    allowed = _fields(AreaCapacity)
    if len(parts) >= 3 and parts[1] == "default":
        default = capacity.get("default")
        if default is None:
            default = capacity["default"] = {}
        if not isinstance(default, dict):
            return "capacity.default in the scenario is not a mapping"
        return _deep(default, parts[2:], allowed, "capacity.default")
    rest = parts[2:] if len(parts) >= 2 and parts[1] == "areas" else parts[1:]
    if len(rest) < 2:
        return "expected capacity.AREA.KEY (e.g. capacity.Umeå.housing_units)"
    reference = rest[0]
    assert geography is not None
    index = geography.index_of(reference)
    if index is None:
        return geography.unknown_reference(reference)
    areas = capacity.get("areas")
    if areas is None:
        areas = capacity["areas"] = {}
    if not isinstance(areas, dict):
        return "capacity.areas in the scenario is not a mapping"
    listed = next(
        (key for key in areas if isinstance(key, str) and geography.index_of(key) == index), None
    )
    if listed is None:
        # An area not listed has the default capacity: start from it.
        default = capacity.get("default")
        listed = reference
        areas[listed] = copy.deepcopy(default) if isinstance(default, dict) else {}
    entry = areas[listed]
    if not isinstance(entry, dict):
        return f"capacity.areas.{listed} in the scenario is not a mapping"
    return _deep(entry, rest[1:], allowed, f"capacity.areas.{listed}")


# --------------------------------------------------------------------------- pins, forbids


@dataclass(frozen=True)
class Decisions:
    """Pins and forbids resolved to indices, for ``placement.solve.solve_scenario``."""

    pins: dict[int, int]
    """Defector index -> the one area index they must be placed in."""
    forbids: dict[int, frozenset[int]]
    """Defector index -> area indices they must not be placed in."""


def resolve_decisions(scenario: Scenario, what_if: WhatIf) -> Decisions:
    """Resolve ``--pin`` and ``--forbid`` against the scenario.

    Raises ``InputError`` listing every unknown person or area (with the nearest valid names),
    a person pinned to two areas, and a pin that a forbid contradicts.
    """
    problems: list[Problem] = []
    pins: dict[int, int] = {}
    forbids: dict[int, set[int]] = {}
    for option, texts in (("--pin", what_if.pins), ("--forbid", what_if.forbids)):
        for text in texts:
            resolved = _person_and_area(scenario, text, option)
            if isinstance(resolved, Problem):
                problems.append(resolved)
                continue
            person, area = resolved
            if option == "--forbid":
                forbids.setdefault(person, set()).add(area)
                continue
            if person in pins and pins[person] != area:
                problems.append(
                    Problem(
                        f"--pin {text}",
                        f"{scenario.defectors[person].id} is already pinned to "
                        f"{scenario.geography.label(pins[person])}",
                    )
                )
                continue
            pins[person] = area
    for person, area in pins.items():
        if area in forbids.get(person, set()):
            who = scenario.defectors[person].id
            where = scenario.geography.label(area)
            problems.append(
                Problem(
                    f"--pin {who}={where}",
                    f"contradicts --forbid {who}={where}",
                )
            )
    if problems:
        raise InputError("what-if", problems)
    return Decisions(pins=pins, forbids={k: frozenset(v) for k, v in forbids.items()})


def _person_and_area(scenario: Scenario, text: str, option: str) -> tuple[int, int] | Problem:
    split = _split(text, option)
    if isinstance(split, Problem):
        return split
    who, where = split
    place = f"{option} {text}"
    person = scenario.defector_index.get(who)
    if person is None:
        return Problem(
            place, f"unknown defector '{who}'" + _did_you_mean(who, list(scenario.defector_index))
        )
    area = scenario.geography.index_of(where)
    if area is None:
        return Problem(place, scenario.geography.unknown_reference(where))
    return person, area


def requested_moves(scenario: Scenario, what_if: WhatIf) -> set[str]:
    """Already placed people whose move the decisions ask for: pinned elsewhere, or forbidden
    their home. The contract lets them move only then ("unless the user explicitly allows")."""
    moves: set[str] = set()
    for option, texts in (("--pin", what_if.pins), ("--forbid", what_if.forbids)):
        for text in texts:
            resolved = _person_and_area(scenario, text, option)
            if isinstance(resolved, Problem):
                continue
            person, area = resolved
            home = scenario.defectors[person].placed_in
            if home is not None and (area != home) == (option == "--pin"):
                moves.add(scenario.defectors[person].id)
    return moves


def decisions_honoured(scenario: Scenario, plan: Plan, what_if: WhatIf) -> list[str]:
    """Notes on a plan's recorded pins and forbids: one line per decision the plan breaks.

    For ``check``: pins and forbids are the user's decisions, not rules of the scenario, so a
    broken one is reported as a warning. Decisions naming unknown people or areas are noted.
    """
    from placement.explain import plan_areas

    notes: list[str] = []
    areas = plan_areas(scenario, plan)
    for option, texts in (("--pin", what_if.pins), ("--forbid", what_if.forbids)):
        for text in texts:
            resolved = _person_and_area(scenario, text, option)
            if isinstance(resolved, Problem):
                notes.append(f"the plan records {option} {text}, which names nothing here")
                continue
            person, area = resolved
            actual = areas.get(person)
            where = scenario.geography.label(actual) if actual is not None else "no area"
            if option == "--pin" and actual != area:
                notes.append(f"the plan records {option} {text}, but the person is in {where}")
            if option == "--forbid" and actual == area:
                notes.append(f"the plan records {option} {text}, but the person is there")
    return notes


# --------------------------------------------------------------------------- the plan


def plan_of(
    result: SolveResult,
    what_if: WhatIf | None = None,
    *,
    extra_provenance: Mapping[str, Any] | None = None,
) -> Plan:
    """The plan document of a solve made with what-if changes.

    Records the changes in ``provenance.what_if``; marks moved people with ``moved_from``
    (their former area). For an infeasible what-if, nobody new is placed, already placed
    people stay where they are, ``status`` is ``infeasible`` and ``status_reason`` says why.
    """
    from placement.candidates import Candidates
    from placement.plan import plan_from_result
    from placement.solve import SolveResult

    provenance: dict[str, Any] = {}
    if what_if:
        provenance["what_if"] = what_if.to_provenance()
    provenance.update(extra_provenance or {})
    reason = result.infeasible_reason
    if reason is None:
        plan = plan_from_result(result, extra_provenance=provenance)
        if not result.moved:
            return plan
        data = plan.model_dump(mode="json")
        ids = result.scenario.geography.ids
        former = {result.scenario.defectors[i].id: ids[a] for i, a in result.moved.items()}
        for entry in data["assignments"]:
            if entry["defector"] in former:
                entry["moved_from"] = former[entry["defector"]]
        return Plan.model_validate(data)
    base = result.original or result.scenario
    stand_in = SolveResult(
        scenario=base,
        candidates=Candidates(base),
        settings=result.settings,
        new_areas={},
        build_s=result.build_s,
        model_size=result.model_size,
        primary_optimal=False,
    )
    data = plan_from_result(stand_in, extra_provenance=provenance).model_dump(mode="json")
    ordered: dict[str, Any] = {}
    for key, value in data.items():
        ordered[key] = value
        if key == "status":
            ordered[key] = "infeasible"
            ordered["status_reason"] = reason
    for entry in ordered["unplaced"]:
        entry["reasons"] = [f"no plan was made: {reason}"]
    return Plan.model_validate(ordered)
