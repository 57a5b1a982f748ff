"""Scenario files: reading, validating and resolving them into a ready-to-plan ``Scenario``.

A scenario file (YAML or JSON, format ``placement-scenario/1``) is a contract with users; see
``../shared/SCENARIO-FORMAT.md`` and ``docs/scenario-format.md``. Loading happens in three steps:

1. parse the bytes safely (``placement._yamlio``): municipality codes such as ``0127`` stay
   strings, duplicate keys are reported;
2. check the structure with pydantic models (types, ranges, unknown keys);
3. resolve references (areas, networks, defectors, services) against the geography and each
   other, making rivalries, alliances and keep-apart lists symmetric.

Every problem of steps 2 and 3 is gathered and raised once as an ``InputError`` whose lines name
the place in the file (``defectors[3].origin``) and, for unknown names, the closest valid ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
import reprlib
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Final, Literal, TypeVar, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from placement import _yamlio
from placement.errors import InputError, Problem
from placement.geography import (
    MARGIN_KM,
    SWEDEN_MUNICIPALITIES,
    FloatMatrix,
    Geography,
    load_geography,
)
from placement.names import UNREADABLE, HintBudget, close_matches, did_you_mean, readable
from placement.personal import personal_number_problems

SCENARIO_FORMAT: Final = "placement-scenario/1"

#: Service names every scenario understands; a scenario may add more with ``services:``.
STANDARD_SERVICES: tuple[str, ...] = (
    "exit_program",
    "trauma_care",
    "psychiatric_care",
    "addiction_treatment",
    "youth_services",
)
YOUTH_SERVICE = "youth_services"


def _area_reference(value: Any) -> Any:
    """Accept a 4-digit integer as a municipality code; refuse any other number.

    JSON and YAML may carry ``1480`` as a number. A shorter number means a leading zero was lost
    (``0180`` read as 180 by some tool), and guessing it back could name another municipality,
    so it is refused with a message that says how to write it.
    """
    if isinstance(value, bool):
        return value  # let pydantic report the wrong type
    if isinstance(value, int):
        if 1000 <= value <= 9999:
            return str(value)
        example = f' (e.g. "{value:04d}")' if 0 <= value < 1000 else ""
        as_id = f', and ids of an areas file quoted ("{value}")' if abs(value) < 10**9 else ""
        raise ValueError(
            f"area code {value} is a number; write municipality codes as quoted 4-digit "
            f"strings{example}{as_id}"
        )
    return value


def _plain_id(value: str) -> str:
    """Refuse control and format characters in ids and area references.

    They are echoed into reports and terminals, where an escape sequence or a right-to-left
    override could rewrite what the planner sees or make one id look like another.
    """
    for character in value:
        if unicodedata.category(character) in {"Cc", "Cf", "Cs"}:
            raise ValueError(
                f"contains the invisible or control character U+{ord(character):04X}; "
                "ids and area names must be plain text"
            )
    # One form for what looks the same: an editor may write "ö" as "o" + a combining mark.
    return unicodedata.normalize("NFC", value)


def plain_text(value: str | None) -> str | None:
    """Refuse control characters (a terminal escape, a carriage return) in free text.

    Also lone surrogates (from a JSON escape such as ``"\\ud800"``): text holding one cannot be
    printed or written as UTF-8 at all.
    """
    for character in value or "":
        category = unicodedata.category(character)
        if category == "Cs" or (category == "Cc" and character not in "\t\n"):
            kind = "lone surrogate" if category == "Cs" else "control character"
            raise ValueError(
                f"contains the {kind} U+{ord(character):04X}; names must be plain text"
            )
    return value


AreaRef = Annotated[
    str,
    BeforeValidator(_area_reference),
    Field(min_length=1, max_length=200),
    AfterValidator(_plain_id),
]
Identifier = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_plain_id)]
Text = Annotated[str | None, AfterValidator(plain_text)]


class _Strict(BaseModel):
    # allow_inf_nan=False: ``threat_buffer_km: NaN`` (JSON) or ``nan`` (YAML, read as text)
    # is refused as "not a finite number" rather than by a confusing bound ("should be less
    # than or equal to 5000"); a NaN that slipped through would compare false everywhere.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class Policy(_Strict):
    """Rule parameters shared by all defectors (every key optional)."""

    threat_buffer_km: float = Field(
        100, ge=0, le=5000, description="Minimum distance from every threatening territory."
    )
    origin_buffer_km: float = Field(
        150, ge=0, le=5000, description="Minimum distance from the defector's origin area."
    )
    keep_apart_km: float = Field(
        50, ge=0, le=5000, description="Minimum distance between two people kept apart."
    )
    max_same_network_per_area: int = Field(
        1, ge=1, le=1000, description="At most this many defectors of one network in one area."
    )
    distance: Literal["boundary", "centroid"] = Field(
        "boundary",
        description="boundary: closest points of two areas (0 if they touch); centroid.",
    )
    allies_of_rivals_threaten: bool = Field(
        False, description="When true, allies of a rival network also threaten."
    )
    youth_age: int = Field(
        18, ge=0, le=150, description="Defectors younger than this need youth_services."
    )


class AreaCapacity(_Strict):
    """What one area offers: housing units in all (the households of people already placed
    there count against them), services and current waits."""

    housing_units: int = Field(0, ge=0, le=100_000)
    services: list[Identifier] = Field(default_factory=list)
    wait_weeks: dict[Identifier, Annotated[float, Field(ge=0, le=1000)]] = Field(
        default_factory=dict
    )


class Capacity(_Strict):
    default: AreaCapacity = Field(default_factory=AreaCapacity)
    areas: dict[AreaRef, AreaCapacity] = Field(default_factory=dict)


class NetworkSpec(_Strict):
    id: Identifier
    name: Text = None
    territory: list[AreaRef] = Field(default_factory=list)
    rivals: list[Identifier] = Field(default_factory=list)
    allies: list[Identifier] = Field(default_factory=list)


class DefectorSpec(_Strict):
    id: Identifier = Field(description="A pseudonym, unique in the scenario.")
    networks: list[Identifier] = Field(min_length=1)
    origin: AreaRef
    household: int = Field(1, ge=1, le=50, description="Housing units the household needs.")
    threat_level: int = Field(3, ge=1, le=5, description="1 (low) .. 5 (critical).")
    age: int | None = Field(None, ge=0, le=120)
    needs: list[Identifier] = Field(default_factory=list)
    avoid: list[AreaRef] = Field(default_factory=list)
    prefer: list[AreaRef] = Field(default_factory=list)
    keep_apart_from: list[Identifier] = Field(default_factory=list)
    threat_buffer_km: float | None = Field(None, ge=0, le=5000)
    placed_in: AreaRef | None = Field(None, description="Present: already living there.")


class ScenarioSpec(_Strict):
    """The scenario file as written (format ``placement-scenario/1``)."""

    format: Literal["placement-scenario/1"]
    name: Text = None
    areas: str = Field(
        SWEDEN_MUNICIPALITIES,
        description="'sweden-municipalities' or a path (relative to the file) to an areas file.",
    )
    services: list[Identifier] = Field(
        default_factory=list, description="Service names beyond the standard five (added key)."
    )
    policy: Policy = Field(default_factory=Policy)
    capacity: Capacity = Field(default_factory=Capacity)
    networks: list[NetworkSpec] = Field(default_factory=list)
    defectors: list[DefectorSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------- resolved model


@dataclass(frozen=True)
class Network:
    id: str
    name: str | None
    territory: tuple[int, ...]
    rivals: frozenset[str]
    allies: frozenset[str]


@dataclass(frozen=True)
class Defector:
    """A defector with every reference resolved to area indices and known ids."""

    id: str
    networks: tuple[str, ...]
    origin: int
    household: int
    threat_level: int
    age: int | None
    needs: frozenset[str]
    """Services the area must offer: the stated needs plus youth_services for minors."""
    avoid: frozenset[int]
    prefer: tuple[int, ...]
    keep_apart_from: frozenset[str]
    """Symmetric: includes people who listed this defector."""
    threat_buffer_km: float
    placed_in: int | None

    @property
    def is_placed(self) -> bool:
        return self.placed_in is not None


@dataclass(frozen=True)
class AreaOffer:
    housing_units: int
    services: frozenset[str]
    wait_weeks: Mapping[str, float]


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario, ready for the model and the checker."""

    name: str | None
    sha256: str
    source: str
    policy: Policy
    geography: Geography
    networks: Mapping[str, Network]
    defectors: tuple[Defector, ...]
    offers: tuple[AreaOffer, ...]
    """What each area offers, by area index (the default for areas not listed)."""
    services: tuple[str, ...] = field(default=STANDARD_SERVICES)

    @cached_property
    def defector_index(self) -> dict[str, int]:
        return {d.id: i for i, d in enumerate(self.defectors)}

    def defector(self, defector_id: str) -> Defector:
        return self.defectors[self.defector_index[defector_id]]

    def with_pending(self, indices: Collection[int]) -> Scenario:
        """The same scenario with these people pending: their homes freed (a move, a replay)."""
        return dataclasses.replace(
            self,
            defectors=tuple(
                dataclasses.replace(d, placed_in=None) if i in indices else d
                for i, d in enumerate(self.defectors)
            ),
        )

    @property
    def distance_km(self) -> FloatMatrix:
        """Area-by-area distances in km, by the policy's distance kind.

        Exact up to ``exact_within_km``, so every rule and margin is decided on true distances.
        """
        return self.geography.distances(self.policy.distance, self.exact_within_km)

    @cached_property
    def exact_within_km(self) -> float:
        """The largest distance a rule of this scenario asks for, plus the margin that counts.

        Why: a large custom areas file stores only lower bounds beyond some radius; a rule
        asking for more (a per-person threat buffer of 450 km) read against a lower bound
        would refuse a far enough area, and the checker would quote a false distance.
        """
        policy = self.policy
        buffers = [d.threat_buffer_km for d in self.defectors]
        largest = max(
            [policy.threat_buffer_km, policy.origin_buffer_km, policy.keep_apart_km, *buffers]
        )
        return float(largest) + MARGIN_KM

    @property
    def pending(self) -> tuple[Defector, ...]:
        return tuple(d for d in self.defectors if d.placed_in is None)

    @property
    def placed(self) -> tuple[Defector, ...]:
        return tuple(d for d in self.defectors if d.placed_in is not None)


# --------------------------------------------------------------------------- loading


def load_scenario(
    path: str | Path,
    *,
    geography: Geography | None = None,
    allow_personal_numbers: bool = False,
) -> Scenario:
    """Read, validate and resolve a scenario file; raise ``InputError`` listing every problem.

    A value that looks like a Swedish personal identity number is refused (see
    ``placement.personal``) unless ``allow_personal_numbers``.
    """
    scenario, _, _ = read_scenario_file(
        path, geography=geography, allow_personal_numbers=allow_personal_numbers
    )
    return scenario


def read_scenario_file(
    path: str | Path,
    *,
    geography: Geography | None = None,
    allow_personal_numbers: bool = False,
) -> tuple[Scenario, Any, bytes]:
    """``load_scenario``, also returning the parsed document and the file's bytes.

    For readers that keep the document (a history replays events on it) or must know
    whether the file was encrypted.
    """
    path = Path(path)
    raw_bytes = _yamlio.read_bytes(path)
    document, problems = _yamlio.parse(raw_bytes, path)
    if problems and document is None:
        raise InputError(str(path), problems)
    scenario = scenario_from_document(
        document,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        source=str(path),
        base_dir=path.parent,
        geography=geography,
        parse_problems=problems,
        allow_personal_numbers=allow_personal_numbers,
    )
    return scenario, document, raw_bytes


def load_scenario_with_case(
    path: str | Path,
    case_path: str | Path,
    *,
    geography: Geography | None = None,
    allow_personal_numbers: bool = False,
) -> tuple[Scenario, str]:
    """The scenario with one more pending defector read from a case file; returns its id too.

    A case file holds one defector entry with the scenario's keys (``placed_in`` not allowed:
    a case is someone to place). Problems in the case are reported with the case file's name
    and places inside it (``origin``), problems in the scenario with the scenario's.
    """
    path, case_path = Path(path), Path(case_path)
    raw_bytes = _yamlio.read_bytes(path)
    document, problems = _yamlio.parse(raw_bytes, path)
    if not allow_personal_numbers:
        refuse_personal_numbers(document, str(path))
    if document is None or problems:
        raise InputError(str(path), problems)
    case, case_problems = _yamlio.parse(_yamlio.read_bytes(case_path), case_path)
    if not allow_personal_numbers:
        refuse_personal_numbers(case, str(case_path))
    if case is None or case_problems:
        raise InputError(str(case_path), case_problems)
    if not isinstance(case, dict):
        raise InputError(str(case_path), [Problem("", "a case must be one defector's keys")])
    # Problems of the case as a case; listed with everything else wrong in it, not alone.
    own: list[Problem] = []
    keys = list(case)  # for listing the problems in the file's order
    if "placed_in" in case:
        own.append(Problem("placed_in", "a case is someone to place; remove placed_in"))
        case = {key: value for key, value in case.items() if key != "placed_in"}
    if not isinstance(document, dict) or not isinstance(document.get("defectors", []), list):
        # raises with the scenario's problems
        return load_scenario(path, geography=geography, allow_personal_numbers=True), ""
    position = len(document.get("defectors", []))
    existing = {
        d.get("id")
        for d in document.get("defectors", [])
        if isinstance(d, dict) and isinstance(d.get("id"), str)
    }
    duplicate = isinstance(case.get("id"), str) and case["id"] in existing
    if duplicate:
        own.append(Problem("id", f"defector '{case.get('id')}' already exists in the scenario"))
    merged = {**document, "defectors": [*document.get("defectors", []), case]}
    prefix = f"defectors[{position}]"
    try:
        scenario = scenario_from_document(
            merged,
            sha256=hashlib.sha256(raw_bytes).hexdigest(),
            source=str(path),
            base_dir=path.parent,
            geography=geography,
            allow_personal_numbers=True,  # both files were looked at above
        )
    except InputError as error:
        in_case = [p for p in error.problems if p.place.startswith(prefix)]
        if len(in_case) < len(error.problems):
            raise InputError(str(path), [p for p in error.problems if p not in in_case]) from None
        inside = [Problem(p.place[len(prefix) :].lstrip("."), p.message) for p in in_case]
        if duplicate:  # said above in the case's own words
            inside = [p for p in inside if not (p.place == "id" and "duplicate" in p.message)]
        own += inside
    if own:

        def case_order(problem: Problem) -> tuple[int, str]:
            key = problem.place.split(".")[0].split("[")[0]
            return (keys.index(key) if key in keys else len(keys), problem.place)

        raise InputError(str(case_path), sorted(own, key=case_order)) from None
    return scenario, str(case["id"])


def scenario_from_document(
    document: Any,
    *,
    sha256: str = "",
    source: str = "<scenario>",
    base_dir: Path | None = None,
    geography: Geography | None = None,
    parse_problems: Sequence[Problem] = (),
    allow_personal_numbers: bool = False,
) -> Scenario:
    """Validate and resolve an already parsed scenario document (a dict).

    Personal identity numbers are looked for first (unless ``allow_personal_numbers``): when
    one is found, only those problems are raised, since other messages may quote the value.
    """
    if not allow_personal_numbers:
        refuse_personal_numbers(document, source)
    problems = list(parse_problems)
    if not isinstance(document, dict):
        problems.append(Problem("", "a scenario must be a mapping of keys (format, networks, ...)"))
        raise InputError(source, problems)
    spec: ScenarioSpec | None = None
    positions: dict[str, list[int]] = {}
    try:
        spec = ScenarioSpec.model_validate(document)
    except ValidationError as error:
        problems.extend(pydantic_problems(error, ScenarioSpec))
    if spec is None:
        spec = _salvage(document, positions)

    def without_areas() -> InputError:
        # Everything that does not name an area is still checked, so that one run reports
        # the areas' problems and this file's own (unknown networks, services, ids).
        _Resolver(spec, None, problems, positions=positions).check_without_areas()
        unique = list(dict.fromkeys(problems))
        return InputError(source, sorted(unique, key=in_file_order(document)))

    if geography is None and not isinstance(document.get("areas", SWEDEN_MUNICIPALITIES), str):
        raise without_areas()  # 'areas: 5' is reported; which areas are meant is unknown
    if geography is None:
        try:
            geography = load_geography(spec.areas, base_dir=base_dir)
        except InputError as error:
            # A row of the areas file is named with that file, not as a place in this one.
            problems.extend(
                p if p.place == "areas" else Problem("areas", f"{spec.areas}: {p}")
                for p in error.problems
            )
            raise without_areas() from None
    resolver = _Resolver(spec, geography, problems, positions=positions)
    scenario = resolver.resolve(sha256=sha256, source=source)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise InputError(source, sorted(unique, key=in_file_order(document)))
    return scenario


def refuse_personal_numbers(document: Any, source: str) -> None:
    """Raise ``InputError`` naming every place that holds what looks like a personal number.

    Only those problems are raised: any other message might quote the number (an unknown
    area, a duplicate key). For history files and anything else read as a document too.
    """
    found = personal_number_problems(document)
    if found:
        raise InputError(source, found)


_AREA_REF: TypeAdapter[str] = TypeAdapter(AreaRef)
_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)
_Model = TypeVar("_Model", bound=BaseModel)


def without_broken_keys(model: type[_Model], item: Any) -> _Model | None:
    """The item validated, or without what breaks it; None when even that fails.

    A broken element of a list is taken out alone (its place kept by ``UNREADABLE``), so the
    list's other names are still checked; text where a list belongs is read as a list of
    one, so that what it names is known to what follows; any other broken key goes. All of
    it was reported already: this only lets the reference checks see the rest.
    """
    try:
        return model.model_validate(item)
    except ValidationError as error:
        if not isinstance(item, dict):
            return None
        errors = error.errors()
    elements: dict[str, set[int]] = {}
    members: dict[str, set[Any]] = {}
    wrapped: set[str] = set()
    dropped: set[Any] = set()
    for detail in errors:
        location = detail["loc"]
        if not location:
            return None  # the item as a whole is wrong: nothing to keep
        key, value = location[0], item.get(location[0])
        if len(location) >= 2 and isinstance(location[1], int) and isinstance(value, list):
            elements.setdefault(str(key), set()).add(location[1])
        elif len(location) >= 2 and isinstance(value, dict) and location[1] in value:
            members.setdefault(str(key), set()).add(location[1])  # e.g. one wait_weeks entry
        elif detail["type"] == "list_type" and isinstance(value, str):
            wrapped.add(str(key))
        else:
            dropped.add(key)
    for _ in range(2):  # a list emptied by its broken elements may break a minimum length
        cleaned: dict[str, Any] = {}
        for key, value in item.items():
            if key in dropped:
                continue
            if key in elements:
                value = [v for i, v in enumerate(value) if i not in elements[key]]
            elif key in members:
                value = {k: v for k, v in value.items() if k not in members[key]}
            elif key in wrapped:
                value = [value]
            cleaned[key] = value
        try:
            valid = model.model_validate(cleaned)
        except ValidationError as again:
            dropped |= {e["loc"][0] for e in again.errors() if e["loc"]}
            elements = {k: v for k, v in elements.items() if k not in dropped}
            members = {k: v for k, v in members.items() if k not in dropped}
            continue
        update: dict[str, Any] = {}
        for key, positions in elements.items():
            good = iter(getattr(valid, key))
            update[key] = [
                UNREADABLE if i in positions else next(good) for i in range(len(item[key]))
            ]
        return valid.model_copy(update=update) if update else valid
    return None


def id_and_readable_keys(model: type[_Model], item: Any) -> _Model | None:
    """An item whose required keys are broken or missing, kept by its id for reference checks.

    Its other keys are validated (so 1480 reads as "1480" and ids are in one Unicode form, as
    everywhere), with stand-ins for the missing required keys that are then set to None,
    which the resolver takes as "not known". Without this, a person whose origin is broken
    was also reported as an unknown defector wherever named, a second person with their id
    was not reported as a duplicate, and their own lists went unchecked.
    """
    if not isinstance(item, dict):
        return None
    try:
        model.model_validate(item)
    except ValidationError as error:
        errors = error.errors()
    else:
        return None  # without_broken_keys took it
    whole = {e["loc"][0] for e in errors if len(e["loc"]) == 1}
    # First keep lists with some broken elements (their other names are checked); if a
    # required list is left empty by them, give it up to a stand-in too.
    for broken in (whole, whole | {e["loc"][0] for e in errors if e["loc"]}):
        readable = {k: v for k, v in item.items() if k not in broken and k in model.model_fields}
        try:
            _IDENTIFIER.validate_python(readable.get("id"))
        except ValidationError:
            return None
        stand_ins = {
            name: ["?"] if get_origin(info.annotation) is list else "?"
            for name, info in model.model_fields.items()
            if info.is_required() and name not in readable
        }
        valid = without_broken_keys(model, {**readable, **stand_ins})
        if valid is not None:
            return valid.model_copy(update=dict.fromkeys(stand_ins))
    return None


def _salvage(document: dict[str, Any], positions: dict[str, list[int]]) -> ScenarioSpec:
    """Keep every part of a structurally broken document that validates on its own.

    This lets reference checks run on the valid parts, so one run reports the type errors and
    the unknown names together. ``positions`` receives, for ``networks`` and ``defectors``, the
    position in the file of each kept item, so problems still name the right place.
    """

    def each(key: str, model: type[BaseModel]) -> list[Any]:
        items = document.get(key)
        good = []
        kept = positions.setdefault(key, [])
        for position, item in enumerate(items if isinstance(items, list) else []):
            # Keep a broken item without its broken keys (already reported), so that others
            # referring to its id are not told that the id is unknown.
            valid = without_broken_keys(model, item) or id_and_readable_keys(model, item)
            if valid is not None:
                good.append(valid)
                kept.append(position)
        return good

    def one(key: str, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate(document.get(key) or {})
        except ValidationError:
            return model()

    areas = document.get("areas")
    capacity = one("capacity", Capacity)
    raw = document.get("capacity")
    if capacity == Capacity() and isinstance(raw, dict):
        # Each part on its own, so that one broken key hides no other problem in capacity.
        default = without_broken_keys(AreaCapacity, raw.get("default") or {})
        raw_areas = raw.get("areas")
        kept: dict[str, AreaCapacity] = {}
        for key, value in raw_areas.items() if isinstance(raw_areas, dict) else []:
            try:
                reference = _AREA_REF.validate_python(key)
            except ValidationError:
                continue
            # A value that is no mapping at all still names its area (checked, duplicates too).
            kept[reference] = without_broken_keys(AreaCapacity, value) or AreaCapacity()
        capacity = Capacity.model_construct(default=default or AreaCapacity(), areas=kept)
    services = document.get("services")
    return ScenarioSpec.model_construct(
        format=SCENARIO_FORMAT,
        name=None,
        areas=areas if isinstance(areas, str) else SWEDEN_MUNICIPALITIES,
        services=(
            [s for s in services if isinstance(s, str)]
            if isinstance(services, list)
            else [services]
            if isinstance(services, str)
            else []
        ),
        policy=one("policy", Policy),
        capacity=capacity,
        networks=each("networks", NetworkSpec),
        defectors=each("defectors", DefectorSpec),
    )


class _Resolver:
    """Resolves names in a structurally valid spec, recording every problem it meets.

    Without a geography (the areas file could not be read), area names are not looked up:
    ``check_without_areas`` reports every other problem.
    """

    def __init__(
        self,
        spec: ScenarioSpec,
        geography: Geography | None,
        problems: list[Problem],
        *,
        positions: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        self.spec = spec
        self.geography = geography
        self.problems = problems
        self.positions = positions or {}
        self.services = tuple(dict.fromkeys([*STANDARD_SERVICES, *spec.services]))
        self.budget = HintBudget()

    def numbered(self, key: str, specs: Sequence[Any]) -> Iterable[tuple[int, Any]]:
        """Each item with its position in the file (a salvaged list may have dropped some)."""
        if key in self.positions:
            return zip(self.positions[key], specs, strict=True)
        return enumerate(specs)

    def close_matches(self, name: str, known: Sequence[str]) -> list[str]:
        return close_matches(name, known) if self.budget.allows() else []

    def area(self, reference: str, place: str) -> int | None:
        if self.geography is None:
            return None
        return self.budget.area(self.geography, reference, place, self.problems)

    def areas(self, references: Iterable[str], place: str) -> list[int]:
        if self.geography is None:
            return []
        return self.budget.areas(self.geography, references, place, self.problems)

    def service(self, name: str, place: str) -> None:
        if name not in self.services:
            hint = self.close_matches(name, self.services)
            self.problems.append(Problem(place, f"unknown service '{name}'{did_you_mean(hint)}"))

    def check_without_areas(self) -> None:
        """Record every problem that does not depend on the areas: services, networks, ids."""
        capacity = self.spec.capacity
        self._check_capacity_services(capacity.default, "capacity.default")
        for key, value in capacity.areas.items():
            self._check_capacity_services(value, f"capacity.areas.{key}")
        self._defectors(self._networks())

    def resolve(self, *, sha256: str, source: str) -> Scenario:
        assert self.geography is not None, "resolve needs the areas"
        offers = self._offers()
        networks = self._networks()
        defectors = self._defectors(networks)
        return Scenario(
            name=self.spec.name,
            sha256=sha256,
            source=source,
            policy=self.spec.policy,
            geography=self.geography,
            networks=networks,
            defectors=defectors,
            offers=offers,
            services=self.services,
        )

    def _offers(self) -> tuple[AreaOffer, ...]:
        assert self.geography is not None
        capacity = self.spec.capacity
        self._check_capacity_services(capacity.default, "capacity.default")
        default = _offer(capacity.default)
        offers = [default] * len(self.geography)
        listed_at: dict[int, str] = {}
        for key, value in capacity.areas.items():
            place = f"capacity.areas.{key}"
            self._check_capacity_services(value, place)
            index = self.area(key, place)
            if index is None:
                continue
            if index in listed_at:
                self.problems.append(
                    Problem(
                        place,
                        f"area {self.geography.label(index)} ({self.geography.ids[index]}) is "
                        f"already listed as '{listed_at[index]}'",
                    )
                )
                continue
            listed_at[index] = key
            offers[index] = _offer(value)
        return tuple(offers)

    def _check_capacity_services(self, value: AreaCapacity, place: str) -> None:
        for position, name in readable(value.services):
            self.service(name, f"{place}.services[{position}]")
        for name in value.wait_weeks:
            self.service(name, f"{place}.wait_weeks.{name}")

    def _networks(self) -> dict[str, Network]:
        specs = self.spec.networks
        first_at: dict[str, int] = {}
        for position, net in self.numbered("networks", specs):
            if net.id in first_at:
                self.problems.append(
                    Problem(
                        f"networks[{position}].id",
                        f"duplicate network id '{net.id}' (first at networks[{first_at[net.id]}])",
                    )
                )
            else:
                first_at[net.id] = position
        known = list(first_at)
        rivals: dict[str, set[str]] = {n: set() for n in known}
        allies: dict[str, set[str]] = {n: set() for n in known}
        for position, net in self.numbered("networks", specs):
            first = first_at.get(net.id) == position  # a duplicate's names are checked too
            for relation, table in (("rivals", rivals), ("allies", allies)):
                for other_pos, other in readable(getattr(net, relation)):
                    place = f"networks[{position}].{relation}[{other_pos}]"
                    if other == net.id:
                        self.problems.append(Problem(place, f"network '{other}' lists itself"))
                    elif other not in first_at:
                        hint = self.close_matches(other, [k for k in known if k != net.id])
                        self.problems.append(
                            Problem(place, f"unknown network '{other}'{did_you_mean(hint)}")
                        )
                    elif first:
                        table[net.id].add(other)
                        table[other].add(net.id)
            if not first:
                self.areas(net.territory, f"networks[{position}].territory")
        for position, net in self.numbered("networks", specs):
            if first_at.get(net.id) != position:
                continue
            # Said where it is written: at the network that lists the other as both, or, when
            # two networks disagree, at each of them.
            written = set(net.rivals) | set(net.allies)
            both = sorted(n for n in rivals[net.id] & allies[net.id] if n in written)
            if both:
                self.problems.append(
                    Problem(
                        f"networks[{position}]",
                        f"network '{net.id}' is both rival and ally of {', '.join(both)}",
                    )
                )
        resolved = {}
        for position, net in self.numbered("networks", specs):
            if first_at.get(net.id) != position:
                continue
            territory = self.areas(net.territory, f"networks[{position}].territory")
            resolved[net.id] = Network(
                id=net.id,
                name=net.name,
                territory=tuple(dict.fromkeys(territory)),
                rivals=frozenset(rivals[net.id]),
                allies=frozenset(allies[net.id]),
            )
        return resolved

    def _defectors(self, networks: Mapping[str, Network]) -> tuple[Defector, ...]:
        specs = self.spec.defectors
        policy = self.spec.policy
        first_at: dict[str, int] = {}
        for position, person in self.numbered("defectors", specs):
            if person.id in first_at:
                self.problems.append(
                    Problem(
                        f"defectors[{position}].id",
                        f"duplicate defector id '{person.id}' "
                        f"(first at defectors[{first_at[person.id]}])",
                    )
                )
            else:
                first_at[person.id] = position
        known_networks = list(networks)
        known_people = list(first_at)
        apart: dict[str, set[str]] = {p: set() for p in known_people}
        for position, person in self.numbered("defectors", specs):
            for other_pos, other in readable(person.keep_apart_from):
                place = f"defectors[{position}].keep_apart_from[{other_pos}]"
                if other == person.id:
                    self.problems.append(Problem(place, f"defector '{other}' lists themself"))
                elif other not in first_at:
                    hint = self.close_matches(other, known_people)
                    self.problems.append(
                        Problem(place, f"unknown defector '{other}'{did_you_mean(hint)}")
                    )
                elif first_at[person.id] == position:
                    apart[person.id].add(other)
                    apart[other].add(person.id)
        resolved = []
        for position, person in self.numbered("defectors", specs):
            place = f"defectors[{position}]"
            for net_pos, net in readable(person.networks or ()):  # None: broken, reported
                if net not in networks:
                    hint = self.close_matches(net, known_networks)
                    self.problems.append(
                        Problem(
                            f"{place}.networks[{net_pos}]",
                            f"unknown network '{net}'{did_you_mean(hint)}",
                        )
                    )
            needs = {need for _, need in readable(person.needs)}
            for need_pos, need in readable(person.needs):
                self.service(need, f"{place}.needs[{need_pos}]")
            if person.age is not None and person.age < policy.youth_age:
                needs.add(YOUTH_SERVICE)
            origin = (
                self.area(person.origin, f"{place}.origin") if person.origin is not None else None
            )
            avoid = self.areas(person.avoid, f"{place}.avoid")
            prefer = self.areas(person.prefer, f"{place}.prefer")
            placed_in = (
                self.area(person.placed_in, f"{place}.placed_in")
                if person.placed_in is not None
                else None
            )
            if first_at.get(person.id) != position or origin is None or not person.networks:
                continue
            resolved.append(
                Defector(
                    id=person.id,
                    networks=tuple(
                        dict.fromkeys(network for _, network in readable(person.networks))
                    ),
                    origin=origin,
                    household=person.household,
                    threat_level=person.threat_level,
                    age=person.age,
                    needs=frozenset(needs),
                    avoid=frozenset(avoid),
                    prefer=tuple(dict.fromkeys(prefer)),
                    keep_apart_from=frozenset(apart.get(person.id, ())),
                    threat_buffer_km=(
                        person.threat_buffer_km
                        if person.threat_buffer_km is not None
                        else policy.threat_buffer_km
                    ),
                    placed_in=placed_in,
                )
            )
        return tuple(resolved)


def _offer(value: AreaCapacity) -> AreaOffer:
    return AreaOffer(
        housing_units=value.housing_units,
        services=frozenset(value.services),
        wait_weeks=dict(value.wait_weeks),
    )


def in_file_order(document: Any) -> Callable[[Problem], tuple[Any, ...]]:
    """A sort key putting problems in the order of the file: keys as written, items by number.

    Each part of a place (``defectors[3].origin``) is looked up in the document: a key sorts by
    where it stands in its mapping, a list index as a number (``defectors[10]`` after
    ``defectors[9]``). A place the document does not hold (a missing required key, a place
    in another file) sorts after the keys that are there, by name. Whole-file problems (no
    place) come first.
    """
    positions: dict[int, dict[str, int]] = {}

    def position_in(mapping: dict[Any, Any]) -> dict[str, int]:
        found = positions.get(id(mapping))
        if found is None:
            found = positions[id(mapping)] = {str(k): i for i, k in enumerate(mapping)}
        return found

    def key(problem: Problem) -> tuple[Any, ...]:
        node: Any = document
        out: list[tuple[int, int, str]] = []
        # At most 18 digits: a key such as "[999...]" (thousands of digits) is a name.
        for number, name in re.findall(r"\[([0-9]{1,18})\]|([^.\[\]]+)", problem.place):
            if number:
                index = int(number)
                out.append((0, index, ""))
                node = node[index] if isinstance(node, list) and index < len(node) else None
            elif isinstance(node, dict) and name in (where := position_in(node)):
                out.append((0, where[name], name))
                node = _get(node, name)
            else:
                out.append((1, 0, name))
                node = None
        return tuple(out)

    return key


def _get(mapping: dict[Any, Any], name: str) -> Any:
    """The value of the key written ``name`` (a YAML key may be a number, e.g. 1480)."""
    if name in mapping:
        return mapping[name]
    return next((v for k, v in mapping.items() if str(k) == name), None)


# --------------------------------------------------------------------------- pydantic errors


def format_place(location: Sequence[int | str]) -> str:
    """``('defectors', 3, 'origin')`` -> ``defectors[3].origin``."""
    text = ""
    parts = list(location)
    for position, part in enumerate(parts):
        if part == "[key]":
            continue  # pydantic's marker for a bad dict key: the key itself is the place
        is_key = parts[position + 1 : position + 2] == ["[key]"]
        if isinstance(part, int) and not isinstance(part, bool) and not is_key:
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def pydantic_problems(error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into ``Problem`` lines a planner can act on."""
    problems = []
    for item in error.errors(include_url=False):
        location = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function"))]
        kind = item["type"]
        if kind == "extra_forbidden":
            key = str(location[-1]) if location else ""
            allowed = _allowed_keys(model, location[:-1])
            hint = difflib.get_close_matches(key, allowed, n=2, cutoff=0.6)
            message = f"unknown key '{key}'{did_you_mean(hint)}"
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "literal_error" and location == ["format"]:
            expected = item.get("ctx", {}).get("expected", repr(SCENARIO_FORMAT))
            message = f"expected {expected}, got {short_repr(item['input'])}"
        elif kind == "value_error":
            message = str(item["ctx"]["error"]) if "ctx" in item else item["msg"]
        else:
            message = f"{item['msg']} (got {short_repr(item.get('input'))})"
        problems.append(Problem(format_place(location), message))
    return problems


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = _REPR.maxother = 60


def short_repr(value: Any) -> str:
    """The value as in a message: its repr, at most 60 characters."""
    # reprlib, not repr: a YAML alias bomb is a small graph of shared lists whose full repr
    # would be billions of characters long.
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(model: type[BaseModel], location: Sequence[int | str]) -> list[str]:
    """The keys accepted at a place in the document, for "did you mean" on unknown keys."""
    current: Any = model
    for part in location:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field_info = current.model_fields.get(str(part))
            if field_info is None:
                # a dict key (capacity.areas.<name>): _inner_model already gave the value's model
                continue
            current = _inner_model(field_info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """The model inside an annotation: ``list[NetworkSpec]`` -> ``NetworkSpec``, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors and other tools."""
    schema = ScenarioSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "placement scenario (placement-scenario/1)"
    return schema
