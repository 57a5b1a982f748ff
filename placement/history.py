"""History files: a case replayed over time (format ``placement-history/1``).

A history is a starting scenario (a path relative to the history file, or inline) and a dated
list of events: arrivals, departures, threat changes, feuds that start or end, territories that
shift, new networks, housing and service changes, policy changes. The contract is
``../shared/SCENARIO-FORMAT.md`` ("History file"); this project's additions are in
``docs/formats.md``.

Loading is held to the same standard as scenarios: the bytes are read through
``placement._yamlio`` (size, value, alias and nesting bounds; encrypted files are decrypted in
memory), personal identity numbers are refused with their place, and every problem is reported
at once, in the order of the file, with its place (``events[12].territory.network: unknown
network 'N44' (did you mean N04?)``). Events are checked against the world *as the earlier
events made it*: a network must exist at that date, someone who leaves must be in the program,
an arrival must bring a new id. Events apply in date order (sorted, same-date events in file
order), whatever their order in the file.

The world is kept as a scenario document (a dict) with every area written as its id, and
``World.apply`` changes it event by event; ``placement.replay`` resolves it with
``scenario_from_document`` after each date, so every rule of the scenario format applies to
every intermediate state as well.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from placement import _yamlio, crypto
from placement.errors import InputError, Problem
from placement.geography import Geography
from placement.names import UNREADABLE, HintBudget, did_you_mean, readable
from placement.scenario import (
    STANDARD_SERVICES,
    AreaRef,
    DefectorSpec,
    Identifier,
    NetworkSpec,
    Policy,
    Scenario,
    Text,
    id_and_readable_keys,
    in_file_order,
    pydantic_problems,
    read_scenario_file,
    refuse_personal_numbers,
    scenario_from_document,
    short_repr,
    without_broken_keys,
)

HISTORY_FORMAT: Final = "placement-history/1"

EventKind = Literal[
    "arrive", "leave", "threat", "rivalry", "truce", "territory", "network", "capacity", "policy"
]
#: Every kind of event, in the order the docs list them.
EVENT_KINDS: Final[tuple[EventKind, ...]] = (
    "arrive",
    "leave",
    "threat",
    "rivalry",
    "truce",
    "territory",
    "network",
    "capacity",
    "policy",
)
_TOP_KEYS: Final = ("format", "name", "scenario", "events")


def _no_number_date(value: Any) -> Any:
    """Refuse numbers as dates: pydantic would read ``5`` as a Unix time (1970-01-01)."""
    if isinstance(value, bool | int | float):
        raise ValueError(f"a date must be written as YYYY-MM-DD (got {value!r})")
    return value


EventDate = Annotated[datetime.date, BeforeValidator(_no_number_date), Strict(False)]
"""Lax on purpose: a JSON file writes dates as strings."""
NetworkPair = Annotated[list[Identifier], Field(min_length=2, max_length=2)]


class _Strict(BaseModel):
    # strict: values of another type are refused, never converted (``threat_level: true``
    # is not level 1), as in scenarios.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class TerritoryChange(_Strict):
    """Areas a network starts or stops operating in."""

    network: Identifier
    add: list[AreaRef] = Field(default_factory=list)
    remove: list[AreaRef] = Field(default_factory=list)


class CapacityChange(_Strict):
    """What one area offers from this date; keys given replace the area's values."""

    area: AreaRef
    housing_units: int | None = Field(None, ge=0, le=100_000)
    services: list[Identifier] | None = None
    wait_weeks: dict[Identifier, Annotated[float, Field(ge=0, le=1000)]] | None = None


class ThreatChange(_Strict):
    """A person's threat level (and, optionally, own threat buffer) from this date."""

    defector: Identifier
    threat_level: int | None = Field(None, ge=1, le=5)
    threat_buffer_km: float | None = Field(None, ge=0, le=5000)


class EventSpec(_Strict):
    """One dated event as written: ``date``, exactly one kind key, and optionally ``actual``."""

    date: EventDate
    actual: Any = Field(
        None,
        description="arrive: the area where the person was in fact placed (null: not placed); "
        "other events: a mapping of defector id to the area they were in fact moved to.",
    )
    arrive: DefectorSpec | None = None
    leave: Identifier | None = None
    threat: ThreatChange | None = None
    rivalry: NetworkPair | None = None
    truce: NetworkPair | None = None
    territory: TerritoryChange | None = None
    network: NetworkSpec | None = None
    capacity: CapacityChange | None = None
    policy: dict[str, Any] | None = Field(
        None, description="Policy keys to change; the same keys and bounds as a scenario's."
    )

    @field_validator(*EVENT_KINDS, mode="after")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        """A kind key left empty (``leave:`` with nothing after it) reads as null; say so."""
        if value is None:
            raise ValueError("is empty: give the event's details after the key")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> EventSpec:
        given = [kind for kind in EVENT_KINDS if kind in self.model_fields_set]
        if len(given) != 1:
            found = f"; found {' and '.join(given)}" if given else ""
            raise ValueError(
                f"an event has exactly one of {', '.join(EVENT_KINDS)} besides date and "
                f"actual{found}"
            )
        return self

    @property
    def kind(self) -> EventKind:
        return next(kind for kind in EVENT_KINDS if kind in self.model_fields_set)


class HistorySpec(_Strict):
    """The history file as written (for the JSON Schema; loading checks each part itself)."""

    format: Literal["placement-history/1"]
    name: Text = None
    scenario: str | dict[str, Any] = Field(
        description="A scenario file (path relative to this file) or the scenario inline."
    )
    events: list[EventSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------- resolved history


@dataclass(frozen=True)
class Event:
    """One valid event with every area written as its id (``data`` is the kind's value)."""

    position: int
    """Its index in the file's ``events`` list."""
    date: datetime.date
    kind: EventKind
    data: Any
    actual: Mapping[str, str | None] | None = None
    """Defector id -> the area (id) where they were in fact placed then (None: not placed)."""

    @property
    def place(self) -> str:
        return f"events[{self.position}]"

    def describe(self, geography: Geography) -> str:
        """The event in plain words, for timelines and reports."""
        data = self.data
        if self.kind == "arrive":
            nets = "/".join(data["networks"])
            level = data.get("threat_level", 3)
            household = data.get("household", 1)
            size = f", household {household}" if household != 1 else ""
            return f"{data['id']} arrives ({nets}, threat level {level}{size})"
        if self.kind == "leave":
            return f"{data} leaves the program"
        if self.kind == "threat":
            parts = []
            if data.get("threat_level") is not None:
                parts.append(f"threat level {data['threat_level']}")
            if data.get("threat_buffer_km") is not None:
                parts.append(f"threat buffer {data['threat_buffer_km']:g} km")
            return f"{data['defector']}: {' and '.join(parts)}"
        if self.kind == "rivalry":
            return f"new feud between {data[0]} and {data[1]}"
        if self.kind == "truce":
            return f"feud between {data[0]} and {data[1]} ends"
        if self.kind == "territory":
            parts = []
            if data.get("add"):
                parts.append(
                    "takes " + ", ".join(geography.label(_index(geography, a)) for a in data["add"])
                )
            if data.get("remove"):
                parts.append(
                    "leaves "
                    + ", ".join(geography.label(_index(geography, a)) for a in data["remove"])
                )
            return f"{data['network']} {' and '.join(parts)}"
        if self.kind == "network":
            where = ", ".join(geography.label(_index(geography, a)) for a in data["territory"])
            rivals = f", rival of {', '.join(data['rivals'])}" if data.get("rivals") else ""
            return f"new network {data['id']}" + (f" in {where}" if where else "") + rivals
        if self.kind == "capacity":
            label = geography.label(_index(geography, data["area"]))
            parts = []
            if data.get("housing_units") is not None:
                parts.append(f"{data['housing_units']} housing units")
            if data.get("services") is not None:
                parts.append("services " + (", ".join(data["services"]) or "none"))
            if data.get("wait_weeks") is not None:
                parts.append("waits updated")
            return f"{label}: {', '.join(parts)}"
        return "policy: " + ", ".join(f"{key} {value}" for key, value in data.items())


@dataclass(frozen=True, eq=False)
class History:
    """A validated history, ready to replay."""

    name: str | None
    sha256: str
    """Of the history file's bytes as stored (for an encrypted file, of the encrypted bytes)."""
    source: str
    start: Scenario
    """The starting scenario, resolved."""
    start_document: Mapping[str, Any]
    """The starting scenario as a document, every area written as its id."""
    events: tuple[Event, ...]
    encrypted: bool = False
    """The history file, or the scenario file it names, was encrypted."""
    scenario_sha256: str | None = None
    """Of the scenario file's bytes, when the scenario is a separate file."""

    @property
    def geography(self) -> Geography:
        return self.start.geography

    @property
    def dates(self) -> tuple[datetime.date, ...]:
        return tuple(dict.fromkeys(event.date for event in self.events))

    def events_on(self, date: datetime.date) -> tuple[Event, ...]:
        return tuple(event for event in self.events if event.date == date)


# --------------------------------------------------------------------------- the evolving world


def _index(geography: Geography, reference: str) -> int:
    index = geography.index_of(reference)
    if index is None:  # pragma: no cover - events are resolved before they are described
        raise ValueError(f"unknown area {reference!r}")
    return index


class World:
    """The scenario document as the events have made it so far.

    Areas are written as ids everywhere, so an area can be found by plain comparison. ``apply``
    assumes the event was validated against this world (``load_history`` does that).
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document: dict[str, Any] = copy.deepcopy(dict(document))
        self.document.setdefault("networks", [])
        self.document.setdefault("defectors", [])
        self.document.setdefault("policy", {})
        capacity = self.document.setdefault("capacity", {})
        capacity.setdefault("areas", {})

    @property
    def networks(self) -> list[dict[str, Any]]:
        networks: list[dict[str, Any]] = self.document["networks"]
        return networks

    @property
    def defectors(self) -> list[dict[str, Any]]:
        defectors: list[dict[str, Any]] = self.document["defectors"]
        return defectors

    def network(self, network_id: str) -> dict[str, Any] | None:
        return next((n for n in self.networks if n.get("id") == network_id), None)

    def defector(self, defector_id: str) -> dict[str, Any] | None:
        return next((d for d in self.defectors if d.get("id") == defector_id), None)

    def rivals(self, first: str, second: str) -> bool:
        return self._related(first, second, "rivals")

    def allies(self, first: str, second: str) -> bool:
        return self._related(first, second, "allies")

    def _related(self, first: str, second: str, relation: str) -> bool:
        a, b = self.network(first), self.network(second)
        return bool(
            (a is not None and second in a.get(relation, []))
            or (b is not None and first in b.get(relation, []))
        )

    def services(self) -> list[str]:
        return list(dict.fromkeys([*STANDARD_SERVICES, *self.document.get("services", [])]))

    def apply(self, event: Event) -> None:
        """Change the document as the event says."""
        data = copy.deepcopy(event.data)
        kind = event.kind
        if kind == "arrive":
            self.defectors.append(data)
        elif kind == "leave":
            self.document["defectors"] = [d for d in self.defectors if d.get("id") != data]
            for other in self.defectors:
                if data in other.get("keep_apart_from", []):
                    other["keep_apart_from"] = [p for p in other["keep_apart_from"] if p != data]
        elif kind == "threat":
            person = self.defector(data["defector"])
            assert person is not None
            for key in ("threat_level", "threat_buffer_km"):
                if data.get(key) is not None:
                    person[key] = data[key]
        elif kind in ("rivalry", "truce"):
            self._feud(data[0], data[1], start=kind == "rivalry")
        elif kind == "territory":
            network = self.network(data["network"])
            assert network is not None
            territory = [a for a in network.get("territory", []) if a not in data["remove"]]
            network["territory"] = list(dict.fromkeys([*territory, *data["add"]]))
        elif kind == "network":
            self.networks.append(data)
        elif kind == "capacity":
            areas = self.document["capacity"]["areas"]
            current = areas.get(data["area"])
            if current is None:
                current = copy.deepcopy(self.document["capacity"].get("default", {}))
            for key in ("housing_units", "services", "wait_weeks"):
                if data.get(key) is not None:
                    current[key] = data[key]
            areas[data["area"]] = current
        else:
            self.document["policy"] = {**self.document.get("policy", {}), **data}

    def _feud(self, first: str, second: str, *, start: bool) -> None:
        a, b = self.network(first), self.network(second)
        assert a is not None and b is not None
        for one, other in ((a, second), (b, first)):
            one["rivals"] = [n for n in one.get("rivals", []) if n != other]
            if start:  # a feud ends an alliance
                one["allies"] = [n for n in one.get("allies", []) if n != other]
        if start:
            a["rivals"].append(second)


# --------------------------------------------------------------------------- loading


def load_history(path: str | Path, *, allow_personal_numbers: bool = False) -> History:
    """Read, validate and resolve a history file; raise ``InputError`` listing every problem.

    The starting scenario is checked first (as a scenario file is); events are then checked
    one by one against the world as the events before them made it.
    """
    path = Path(path)
    raw = _yamlio.read_bytes(path)
    document, problems = _yamlio.parse(raw, path)
    if document is None:
        raise InputError(str(path), problems)
    if not allow_personal_numbers:
        refuse_personal_numbers(document, str(path))
    if not isinstance(document, dict):
        raise InputError(
            str(path), [*problems, Problem("", "a history must be a mapping of keys (format, ...)")]
        )
    encrypted = crypto.is_encrypted(raw)
    problems.extend(_top_level_problems(document))
    specs, broken = _event_specs(document.get("events"), problems)
    start, scenario_sha256, scenario_encrypted = _start_scenario(
        document.get("scenario"), path, problems, allow_personal_numbers=allow_personal_numbers
    )
    events: list[Event] = []
    if start is not None:
        start_document = canonical_document(start[1], start[0].geography)
        events = _Checker(start[0], start_document, problems).check(specs, broken)
    if problems or start is None:
        raise InputError(str(path), sorted(dict.fromkeys(problems), key=_document_order(document)))
    name = document.get("name")
    return History(
        name=name if isinstance(name, str) else None,
        sha256=hashlib.sha256(raw).hexdigest(),
        source=str(path),
        start=start[0],
        start_document=start_document,
        events=tuple(events),
        encrypted=encrypted or scenario_encrypted,
        scenario_sha256=scenario_sha256,
    )


def _top_level_problems(document: dict[str, Any]) -> list[Problem]:
    problems = []
    for key in document:
        if key not in _TOP_KEYS:
            hint = difflib.get_close_matches(str(key), _TOP_KEYS, n=2, cutoff=0.6)
            problems.append(
                Problem(_shown(key), f"unknown key '{_shown(key)}'{did_you_mean(hint)}")
            )
    fmt = document.get("format")
    if "format" not in document:
        problems.append(Problem("format", "required key is missing"))
    elif fmt != HISTORY_FORMAT:
        problems.append(Problem("format", f"expected '{HISTORY_FORMAT}', got {short_repr(fmt)}"))
    try:
        _NameOnly.model_validate({"name": document.get("name")})
    except ValidationError as error:
        problems.extend(pydantic_problems(error, _NameOnly))
    if "scenario" not in document:
        problems.append(Problem("scenario", "required key is missing"))
    events = document.get("events", [])
    if not isinstance(events, list):
        problems.append(Problem("events", f"must be a list of events (got {short_repr(events)})"))
    return problems


class _NameOnly(_Strict):
    name: Text = None


@dataclass(frozen=True)
class _Broken:
    """A structurally broken event (its problems already listed), kept for what it still says.

    ``spec`` is the event without its broken keys (an arrival missing a required key keeps
    the others, the missing ones None). Its names are checked too, and the events after it are
    judged against the world it would make, so that a person whose arrival has a bad
    ``threat_level`` is not also reported missing from every later event.
    """

    position: int
    date: datetime.date
    spec: EventSpec


_EVENT_DATE: TypeAdapter[datetime.date] = TypeAdapter(EventDate)
#: The kinds whose details are a mapping with a model of their own (salvaged key by key).
_PAYLOADS: Final[dict[str, type[BaseModel]]] = {
    "arrive": DefectorSpec,
    "threat": ThreatChange,
    "territory": TerritoryChange,
    "network": NetworkSpec,
    "capacity": CapacityChange,
}


def _event_specs(
    events: Any, problems: list[Problem]
) -> tuple[list[tuple[int, EventSpec]], list[_Broken]]:
    """Every structurally valid event with its position; what the others still say; problems."""
    valid = []
    broken = []
    for position, item in enumerate(events if isinstance(events, list) else []):
        place = f"events[{position}]"
        if not isinstance(item, dict):
            problems.append(Problem(place, f"an event must be a mapping (got {short_repr(item)})"))
            continue
        try:
            valid.append((position, EventSpec.model_validate(item)))
        except ValidationError as error:
            for problem in pydantic_problems(error, EventSpec):
                where = f"{place}.{problem.place}" if problem.place else place
                problems.append(Problem(where, problem.message))
            salvaged = _salvage_event(position, item, error)
            if salvaged is not None:
                broken.append(salvaged)
    return valid, broken


def _salvage_event(position: int, item: dict[str, Any], error: ValidationError) -> _Broken | None:
    """The event without its broken keys; None without a readable date and one kind."""
    try:
        date = _EVENT_DATE.validate_python(item.get("date"))
    except ValidationError:
        return None
    kinds = [kind for kind in EVENT_KINDS if kind in item]
    if len(kinds) != 1:
        return None
    kind = kinds[0]
    locations = [e["loc"] for e in error.errors()]
    cleaned = {k: v for k, v in item.items() if k == kind or (k,) not in locations}
    payload = item[kind]
    model = _PAYLOADS.get(kind)
    if isinstance(payload, dict) and model is not None:
        # Broken elements of its lists out (their places kept), other broken keys out.
        salvaged = without_broken_keys(model, payload)
        if salvaged is not None:
            cleaned[kind] = salvaged
    try:
        return _Broken(position, date, EventSpec.model_validate(cleaned))
    except ValidationError:
        if kind != "arrive":
            return None
        # Only required keys are missing or broken: keep the rest, the missing ones None.
        arrival = id_and_readable_keys(DefectorSpec, item[kind])
        if arrival is None:
            return None
        rest = {"actual": cleaned["actual"]} if "actual" in cleaned else {}
        return _Broken(position, date, EventSpec.model_construct(date=date, arrive=arrival, **rest))


def _start_scenario(
    value: Any, path: Path, problems: list[Problem], *, allow_personal_numbers: bool
) -> tuple[tuple[Scenario, dict[str, Any]] | None, str | None, bool]:
    """The starting scenario and its document, its file's sha256, and whether it was encrypted.

    Problems inside an inline scenario are placed under ``scenario.``; problems in a scenario
    file under ``scenario`` with the file's name.
    """
    if value is None:
        return None, None, False
    if isinstance(value, dict):
        try:
            scenario = scenario_from_document(
                value,
                source=f"{path} (scenario)",
                base_dir=path.parent,
                allow_personal_numbers=True,  # the whole history was looked at already
            )
        except InputError as error:
            problems.extend(
                Problem(f"scenario.{p.place}" if p.place else "scenario", p.message)
                for p in error.problems
            )
            return None, None, False
        return (scenario, value), None, False
    if not isinstance(value, str) or not value.strip():
        problems.append(
            Problem(
                "scenario",
                f"must be a scenario file's path or a scenario (got {short_repr(value)})",
            )
        )
        return None, None, False
    scenario_path = path.parent / value
    try:
        scenario, document, raw = read_scenario_file(
            scenario_path, allow_personal_numbers=allow_personal_numbers
        )
    except InputError as error:
        problems.extend(Problem("scenario", f"{value}: {p}") for p in error.problems)
        return None, None, False
    return (scenario, document), scenario.sha256, crypto.is_encrypted(raw)


def canonical_document(document: Mapping[str, Any], geography: Geography) -> dict[str, Any]:
    """A valid scenario document with every area reference written as the area's id.

    Only called on documents that resolved without problems, so every reference is known.
    """
    out = copy.deepcopy(dict(document))

    def ids(references: Iterable[str]) -> list[str]:
        return [geography.ids[_index(geography, r)] for r in references]

    capacity = out.get("capacity") or {}
    areas = capacity.get("areas") or {}
    capacity["areas"] = {geography.ids[_index(geography, k)]: v for k, v in areas.items()}
    out["capacity"] = capacity
    for network in out.get("networks") or []:
        network["territory"] = ids(network.get("territory", []))
    for person in out.get("defectors") or []:
        person["origin"] = ids([person["origin"]])[0]
        for key in ("avoid", "prefer"):
            person[key] = ids(person.get(key, []))
        if person.get("placed_in") is not None:
            person["placed_in"] = ids([person["placed_in"]])[0]
    return out


@dataclass
class _Checker:
    """Checks valid-looking events against the world as the events before them made it."""

    start: Scenario
    start_document: dict[str, Any]
    problems: list[Problem]
    world: World = field(init=False)
    left: dict[str, str] = field(default_factory=dict)
    """Defector id -> the place of the event where they left."""
    arrived: dict[str, str] = field(default_factory=dict)
    budget: HintBudget = field(default_factory=HintBudget)
    salvaging: bool = False
    """True while a broken event's remains are checked (``_apply_broken``)."""

    def __post_init__(self) -> None:
        self.world = World(self.start_document)

    @property
    def geography(self) -> Geography:
        return self.start.geography

    def check(
        self, specs: Sequence[tuple[int, EventSpec]], broken: Sequence[_Broken] = ()
    ) -> list[Event]:
        """Resolve the events in date order (the contract's), same-date ones in file order.

        The file's order need not be the dates' order: events are sorted by date, stably, and
        keep their places in the file (``events[12]``) for messages and the replay's record.
        Broken events (already reported) change the world as far as they can be read, so the
        events after them are judged against it; they are never returned.
        """
        ordered = sorted(
            [
                *((p, s.date, s, None) for p, s in specs),
                *((b.position, b.date, None, b) for b in broken),
            ],
            key=lambda item: (item[1], item[0]),
        )
        events = []
        for number, (position, date, spec, salvaged) in enumerate(ordered):
            place = f"events[{position}]"
            if salvaged is not None:
                self._apply_broken(salvaged)
                continue
            assert spec is not None
            before = len(self.problems)
            event = self._resolve(position, spec)
            if event is None:
                continue
            self.world.apply(event)
            if len(self.problems) == before:
                events.append(event)
            last_of_date = number + 1 == len(ordered) or ordered[number + 1][1] != date
            if last_of_date and not self.problems:
                self._resolve_world(place)
        return events

    def _apply_broken(self, broken: _Broken) -> None:
        """Check what a broken event still says, and change the world as it would.

        Checks that a key is given ("give add or remove") are skipped: the broken keys taken
        away may be their only cause, and those are reported already.
        """
        self.salvaging = True
        try:
            event = self._resolve(broken.position, broken.spec)
        finally:
            self.salvaging = False
        if event is not None:
            self.world.apply(event)

    def _resolve_world(self, place: str) -> None:
        """A safety net: the world after a date must be a valid scenario (it always should be)."""
        try:
            scenario_from_document(
                self.world.document,
                source="history",
                geography=self.geography,
                allow_personal_numbers=True,
            )
        except InputError as error:
            self.problems.extend(
                Problem(place, f"after this date's events the scenario is invalid: {p}")
                for p in error.problems
            )

    # -- helpers -------------------------------------------------------------------------

    def _problem(self, place: str, message: str) -> None:
        self.problems.append(Problem(place, message))

    def _hint(self, name: str, known: Iterable[str]) -> str:
        return self.budget.hint(name, known)

    def _area(self, reference: str, place: str) -> str | None:
        index = self.budget.area(self.geography, reference, place, self.problems)
        return None if index is None else self.geography.ids[index]

    def _areas(self, references: Sequence[str], place: str) -> list[str]:
        found = self.budget.areas(self.geography, references, place, self.problems)
        return [self.geography.ids[index] for index in found]

    def _known_network(self, network: str, place: str) -> bool:
        if self.world.network(network) is None:
            known = [str(n.get("id")) for n in self.world.networks]
            self._problem(
                place, f"unknown network '{network}' at this date{self._hint(network, known)}"
            )
            return False
        return True

    def _present(self, person: str, place: str) -> bool:
        if self.world.defector(person) is not None:
            return True
        if person in self.left:
            self._problem(place, f"'{person}' left the program at {self.left[person]}")
        else:
            known = [str(d.get("id")) for d in self.world.defectors]
            self._problem(
                place, f"'{person}' is not in the program at this date{self._hint(person, known)}"
            )
        return False

    def _service(self, name: str, place: str) -> None:
        services = self.world.services()
        if name not in services:
            self._problem(place, f"unknown service '{name}'{self._hint(name, services)}")

    # -- kinds ---------------------------------------------------------------------------

    def _resolve(self, position: int, spec: EventSpec) -> Event | None:
        place = f"events[{position}]"
        kind = spec.kind
        data = getattr(self, f"_{kind}")(getattr(spec, kind), f"{place}.{kind}")
        if data is None:
            if kind not in ("arrive", "leave"):
                # The change is refused, but its ``actual`` names people and areas all the
                # same (an arrival's or a departure's depends on who the event brings or takes).
                self._actual(spec, kind, None, place)
            return None
        actual = self._actual(spec, kind, data, place)
        return Event(position=position, date=spec.date, kind=kind, data=data, actual=actual)

    def _arrive(self, spec: DefectorSpec, place: str) -> dict[str, Any] | None:
        if spec.id in self.left:
            self._problem(
                f"{place}.id",
                f"defector '{spec.id}' already was in the program "
                f"(left at {self.left[spec.id]}); give a returning person a new id",
            )
            return None
        if self.world.defector(spec.id) is not None:
            where = self.arrived.get(spec.id, "the starting scenario")
            self._problem(f"{place}.id", f"defector '{spec.id}' already exists (from {where})")
            return None
        self.arrived[spec.id] = place
        for position, network in readable(spec.networks or ()):  # None: salvaged, missing
            self._known_network(network, f"{place}.networks[{position}]")
        for position, need in readable(spec.needs):
            self._service(need, f"{place}.needs[{position}]")
        for position, other in readable(spec.keep_apart_from):
            where = f"{place}.keep_apart_from[{position}]"
            if other == spec.id:
                self._problem(where, f"defector '{other}' lists themself")
            else:
                self._present(other, where)
        if spec.placed_in is not None:
            self._problem(
                f"{place}.placed_in",
                "an arriving person is pending; write where they were in fact placed as the "
                "event's `actual`",
            )
        data = spec.model_dump(exclude_unset=True)
        if spec.origin is not None:  # None: a salvaged arrival without one
            data["origin"] = self._area(spec.origin, f"{place}.origin") or spec.origin
        data["avoid"] = self._areas(spec.avoid, f"{place}.avoid")
        data["prefer"] = self._areas(spec.prefer, f"{place}.prefer")
        data.pop("placed_in", None)
        return data

    def _leave(self, person: str, place: str) -> str | None:
        if not self._present(person, place):
            return None
        self.left[person] = place.rpartition(".")[0]
        return person

    def _given(self, given: bool, place: str, message: str) -> bool:
        """Whether the event gives what it must; a problem if not (unless salvaging)."""
        if not given and not self.salvaging:
            self._problem(place, message)
        return given

    def _threat(self, spec: ThreatChange, place: str) -> dict[str, Any] | None:
        given = self._given(
            spec.threat_level is not None or spec.threat_buffer_km is not None,
            place,
            "give threat_level or threat_buffer_km (or both)",
        )
        if not self._present(spec.defector, f"{place}.defector") or not given:
            return None
        return spec.model_dump(exclude_none=True)

    def _pair(self, pair: list[str], place: str) -> tuple[str, str] | None:
        first, second = pair
        if first == second:
            self._problem(place, f"a feud needs two networks ('{first}' twice)")
            return None
        known = [self._known_network(n, f"{place}[{i}]") for i, n in enumerate(pair)]
        return (first, second) if all(known) else None

    def _rivalry(self, pair: list[str], place: str) -> list[str] | None:
        found = self._pair(pair, place)
        if found is None:
            return None
        if self.world.rivals(*found):
            self._problem(place, f"{found[0]} and {found[1]} are already rivals at this date")
            return None
        return list(found)

    def _truce(self, pair: list[str], place: str) -> list[str] | None:
        found = self._pair(pair, place)
        if found is None:
            return None
        if not self.world.rivals(*found):
            self._problem(place, f"{found[0]} and {found[1]} are not rivals at this date")
            return None
        return list(found)

    def _territory(self, spec: TerritoryChange, place: str) -> dict[str, Any] | None:
        given = self._given(bool(spec.add or spec.remove), place, "give add or remove (or both)")
        if not self._known_network(spec.network, f"{place}.network"):
            self._areas(spec.add, f"{place}.add")
            self._areas(spec.remove, f"{place}.remove")
            return None
        if not given:
            return None
        network = self.world.network(spec.network)
        assert network is not None
        current = set(network.get("territory", []))
        add = self._areas(spec.add, f"{place}.add")
        remove = []
        for position, reference in readable(spec.remove):  # each at its own place
            area = self._area(reference, f"{place}.remove[{position}]")
            if area is None:
                continue
            remove.append(area)
            if area not in current:
                label = self.geography.label(_index(self.geography, area))
                self._problem(
                    f"{place}.remove[{position}]",
                    f"{label} is not in {spec.network}'s territory at this date",
                )
        return {"network": spec.network, "add": add, "remove": remove}

    def _network(self, spec: NetworkSpec, place: str) -> dict[str, Any] | None:
        if self.world.network(spec.id) is not None:
            self._problem(f"{place}.id", f"network '{spec.id}' already exists")
            return None
        for relation in ("rivals", "allies"):
            for position, other in readable(getattr(spec, relation)):
                where = f"{place}.{relation}[{position}]"
                if other == spec.id:
                    self._problem(where, f"network '{other}' lists itself")
                else:
                    self._known_network(other, where)
        both = sorted((set(spec.rivals) & set(spec.allies)) - {UNREADABLE})
        if both:
            self._problem(place, f"network '{spec.id}' is both rival and ally of {', '.join(both)}")
        data = spec.model_dump(exclude_unset=True)
        data["territory"] = self._areas(spec.territory, f"{place}.territory")
        data.setdefault("rivals", [])
        data.setdefault("allies", [])
        return data

    def _capacity(self, spec: CapacityChange, place: str) -> dict[str, Any] | None:
        given = self._given(
            spec.housing_units is not None
            or spec.services is not None
            or spec.wait_weeks is not None,
            place,
            "give housing_units, services or wait_weeks",
        )
        area = self._area(spec.area, f"{place}.area")
        for position, name in readable(spec.services or []):
            self._service(name, f"{place}.services[{position}]")
        for name in spec.wait_weeks or {}:
            self._service(name, f"{place}.wait_weeks.{name}")
        if area is None or not given:
            return None
        data = spec.model_dump(exclude_none=True)
        data["area"] = area
        return data

    def _policy(self, value: dict[str, Any], place: str) -> dict[str, Any] | None:
        if not value:
            self._problem(place, "give at least one policy key")
            return None
        try:
            policy = Policy.model_validate(value)
        except ValidationError as error:
            for problem in pydantic_problems(error, Policy):
                self._problem(
                    f"{place}.{problem.place}" if problem.place else place, problem.message
                )
            return None
        return policy.model_dump(include=set(value))

    def _actual(
        self, spec: EventSpec, kind: EventKind, data: Any, place: str
    ) -> dict[str, str | None] | None:
        if "actual" not in spec.model_fields_set:
            return None
        value = spec.actual
        where = f"{place}.actual"
        if kind == "arrive":
            if value is None:
                return {data["id"]: None}
            if not isinstance(value, str):
                self._problem(
                    where,
                    "for an arrival, actual is the area where the person was in fact placed "
                    f"(or null); got {short_repr(value)}",
                )
                return None
            area = self._area(value, where)
            return {data["id"]: area} if area is not None else None
        if not isinstance(value, dict) or not value:
            self._problem(
                where,
                "actual is a mapping of defector id to the area they were in fact moved to "
                f"(or null); got {short_repr(value)}",
            )
            return None
        found: dict[str, str | None] = {}
        after = copy.deepcopy(self.world)  # the person must be in the program after the event
        if data is not None:  # None: a broken event that changes nothing here
            after.apply(Event(0, spec.date, kind, data))
        for person, area in value.items():
            key = f"{where}.{_shown(person)}"
            if not isinstance(person, str) or after.defector(person) is None:
                self._problem(key, f"'{_shown(person)}' is not in the program after this event")
                continue
            if area is None:
                found[person] = None
            elif not isinstance(area, str):
                self._problem(
                    key, f"an area must be a name or a quoted code (got {short_repr(area)})"
                )
            else:
                resolved = self._area(area, key)
                if resolved is not None:
                    found[person] = resolved
        return found


# --------------------------------------------------------------------------- small helpers


def _document_order(document: Any) -> Callable[[Problem], tuple[Any, ...]]:
    """Problems in the order of the file, as in scenario files (``in_file_order``): by where
    each key stands, events by number, a missing key after the keys that are there. Problems
    of a scenario file share the place ``scenario`` and keep that file's own order."""
    return in_file_order(document)


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def history_json_schema() -> dict[str, Any]:
    """The JSON Schema of history files, for editors and other tools."""
    schema = HistorySpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"placement history ({HISTORY_FORMAT})"
    return schema
