"""Replaying a history: what the planner would have decided at each date, and how that compares.

For each date of a history (``placement.history``), after that date's events are applied to the
world (a scenario document), the planner decides in three steps:

1. **Who must move.** Every placed person's place is checked against every hard rule, given
   everyone's current places (``placement.candidates``, the same evaluation ``explain`` uses).
   Only people whose place now breaks a rule -- a new feud, a territory that moved, housing that
   was cut -- are considered at all: a person whose place is still safe is never moved, not even
   to improve a score, and never to make room for someone else.
2. **Repair** (``repair``): a small CP-SAT model over those people only; everyone else stays
   fixed. Each may stay (if that keeps every rule), move to an area that keeps every rule, or be
   reported *at risk*: no safe place exists for them, so they stay where they are, still using
   their housing and still counted by everyone else's rules. Lexicographically: fewest people at
   risk, most threatened first; then fewest moves (of a pair that breaks keep-apart only one is
   moved); then this project's secondary objective (wide safety margins, short waits, wishes).
   Every rule holds among everyone not at risk.
3. **Place the pending** with ``placement.solve.solve_scenario`` on the repaired state: people
   already placed (including those at risk) are fixed facts, as in any solve.

Reproducible: one worker, a fixed seed and a *deterministic* time budget per search
(CP-SAT's ``max_deterministic_time``), so the same history and settings give the same
timeline byte for byte; the timeline holds no clock time. A wall-clock cap per date
(``step_time_limit_s``) only guards against a runaway machine; if it ever cuts a search,
the step's ``status`` says ``feasible``.

Where events carry ``actual`` (what was in fact done), an "as done" world is kept next to
the planner's: the starting places, then each actual placement or move. At every date it is
checked with the independent checker (``placement.check``) and every broken rule involving a
person placed by an ``actual`` is reported, with the planner's decision for comparison.

The hindsight benchmark (``hindsight``) compares the replay with an offline optimum; its
definition is in that function's docstring and in ``docs/formats.md``.
"""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from ortools.sat.python import cp_model

from placement import crypto
from placement.candidates import Candidates, Occupancy, PersonCandidates
from placement.check import check_plan
from placement.explain import RuleFact, rule_facts, safety_margin
from placement.history import Event, History, World
from placement.model import build_model
from placement.objectives import THREAT_LEVELS, placed_at_level, score_parts, secondary_objective
from placement.plan import Assignment, Plan, Unplaced, plan_digest, write_bytes_atomic
from placement.reasons import unplaced_reasons
from placement.scenario import Scenario, scenario_from_document
from placement.solve import SolveSettings, StopRequest, search_in_worker, solve_scenario
from placement.threats import Threats

TIMELINE_FORMAT: Final = "placement-timeline/1"
DEFAULT_STEP_BUDGET: Final = 20.0
"""CP-SAT deterministic time (its own work units, roughly seconds) per search."""
DEFAULT_STEP_TIME_LIMIT_S: Final = 300.0
ReportFormat = Literal["text", "markdown"]
MAX_NAMED: Final = 5
"""People named at most in one "no safe place" reason."""
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReplaySettings:
    """Solver settings for a replay; all are recorded in the timeline."""

    seed: int = 0
    step_budget: float = DEFAULT_STEP_BUDGET
    """CP-SAT deterministic time per search (reproducible, unlike wall-clock limits)."""
    step_time_limit_s: float = DEFAULT_STEP_TIME_LIMIT_S
    """Wall-clock cap per date: a guard only; a cut search makes the step ``feasible``."""
    hindsight: bool = True
    """Also compute the offline optimum (one more solve) and compare."""

    def solve_settings(self) -> SolveSettings:
        return _BudgetedSolveSettings(
            time_limit_s=self.step_time_limit_s, seed=self.seed, budget=self.step_budget
        )

    def to_dict(self) -> dict[str, Any]:
        from importlib.metadata import version

        import placement

        return {
            "tool": "placement",
            "version": placement.__version__,
            "solver": f"ortools-cp-sat {version('ortools')}",
            "seed": self.seed,
            "workers": 1,
            "step_budget": self.step_budget,
            "step_time_limit_s": self.step_time_limit_s,
        }


@dataclass(frozen=True)
class _BudgetedSolveSettings(SolveSettings):
    """``SolveSettings`` with a deterministic time budget per stage (for reproducible steps)."""

    budget: float = DEFAULT_STEP_BUDGET

    def cp_sat_parameters(self, remaining_s: float) -> dict[str, Any]:
        params = super().cp_sat_parameters(remaining_s)
        params["max_deterministic_time"] = self.budget
        return params


@dataclass
class Replay:
    """The outcome of a replay: the timeline document and, per step, the world it decided on."""

    timeline: dict[str, Any]
    documents: list[dict[str, Any]] = field(default_factory=list)
    """Per step: the scenario document after that date's events, before the decision
    (``placed_in`` = where people lived then; those without it were pending)."""
    interrupted: str | None = None

    @property
    def steps(self) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = self.timeline["steps"]
        return steps


# --------------------------------------------------------------------------- the replay


def replay_history(
    history: History,
    settings: ReplaySettings | None = None,
    *,
    stop: StopRequest | None = None,
    progress: Progress | None = None,
) -> Replay:
    """Replay every date of the history; see the module docstring for what is decided."""
    settings = settings or ReplaySettings()
    world = World(history.start_document)
    start_areas = {str(d["id"]): str(d["placed_in"]) for d in world.defectors if d.get("placed_in")}
    as_done = _AsDone(dict(start_areas), any(e.actual for e in history.events))
    replay = Replay(timeline={})
    steps: list[dict[str, Any]] = []
    for date in history.dates:
        if stop is not None and stop.reason is not None:
            break
        events = history.events_on(date)
        for event in events:
            world.apply(event)
            as_done.apply(event)
        replay.documents.append(copy.deepcopy(world.document))
        steps.append(_decide(history, world, events, as_done, settings, stop))
        if progress is not None:
            progress(_progress_line(steps[-1]))
    timeline: dict[str, Any] = {
        "format": TIMELINE_FORMAT,
        "history": {
            "name": history.name,
            "sha256": history.sha256,
            **({"scenario_sha256": history.scenario_sha256} if history.scenario_sha256 else {}),
        },
        "settings": settings.to_dict(),
        "steps": steps,
        "summary": _summary(history, steps),
    }
    if settings.hindsight and (stop is None or stop.reason is None):
        timeline["hindsight"] = hindsight(history, world, start_areas, steps, settings, stop=stop)
    if stop is not None and stop.reason is not None:
        replay.interrupted = stop.reason  # also when it came during the last date or hindsight
    replay.timeline = timeline
    return replay


def _progress_line(step: dict[str, Any]) -> str:
    risk = f", {len(step['at_risk'])} AT RISK" if step["at_risk"] else ""
    return (
        f"{step['date']}: {len(step['placed'])} placed, {len(step['moves'])} moved, "
        f"{len(step['unplaced'])} waiting{risk}"
    )


def _scenario(document: Mapping[str, Any], history: History, date: datetime.date) -> Scenario:
    return scenario_from_document(
        document,
        sha256=history.sha256,
        source=f"{history.source} at {date.isoformat()}",
        geography=history.geography,
        allow_personal_numbers=True,  # the history was looked at when it was loaded
    )


def _decide(
    history: History,
    world: World,
    events: Sequence[Event],
    as_done: _AsDone,
    settings: ReplaySettings,
    stop: StopRequest | None,
) -> dict[str, Any]:
    """One date: repair broken places, place the pending, and describe it all."""
    date = events[0].date
    geography = history.geography
    scenario = _scenario(world.document, history, date)
    fixed = repair(scenario, settings, events=events, stop=stop)
    for index, area in fixed.areas.items():
        _person(world, scenario.defectors[index].id)["placed_in"] = geography.ids[area]
    repaired = _scenario(world.document, history, date)
    placed: list[dict[str, Any]] = []
    unplaced: list[dict[str, Any]] = []
    statuses: list[str] = [fixed.status]
    if repaired.pending:
        result = solve_scenario(repaired, settings.solve_settings(), stop=stop)
        statuses.append(result.status)
        for index, person in enumerate(repaired.defectors):
            if person.placed_in is not None:
                continue
            new_area = result.new_areas.get(index)
            if new_area is None:
                unplaced.append(
                    {
                        "defector": person.id,
                        "threat_level": person.threat_level,
                        "reasons": unplaced_reasons(result, index),
                    }
                )
            else:
                _person(world, person.id)["placed_in"] = geography.ids[new_area]
                placed.append(_where(person.id, new_area, repaired))
    final = _scenario(world.document, history, date)
    candidates = Candidates(final)
    areas_of = {i: d.placed_in for i, d in enumerate(final.defectors) if d.placed_in is not None}
    facts = rule_facts(candidates, areas_of)
    at_risk_ids = {scenario.defectors[i].id for i in fixed.at_risk}
    assignments = []
    for index, area in areas_of.items():
        person = final.defectors[index]
        entry = _where(person.id, area, final)
        entry["threat_level"] = person.threat_level
        entry["safety_margin_km"] = _margin(facts[index])
        if person.id in at_risk_ids:
            entry["at_risk"] = True
        assignments.append(entry)
    step: dict[str, Any] = {
        "date": date.isoformat(),
        "events": [
            {"event": e.place, "kind": e.kind, "text": e.describe(geography)} for e in events
        ],
        "assignments": assignments,
        "unplaced": unplaced,
        "placed": placed,
        "moves": fixed.moves,
        "at_risk": fixed.at_risk_entries,
        "status": "optimal" if all(s == "optimal" for s in statuses) else "feasible",
    }
    if as_done.used:
        step["actual"] = as_done.compare(final, candidates, facts, events)
    return step


def _person(world: World, person_id: str) -> dict[str, Any]:
    found = world.defector(person_id)
    assert found is not None
    return found


def _where(person: str, area: int, scenario: Scenario) -> dict[str, Any]:
    return {
        "defector": person,
        "area": scenario.geography.ids[area],
        "area_name": scenario.geography.label(area),
    }


def _margin(facts: Sequence[RuleFact]) -> float | None:
    """The safety margin (see ``explain.safety_margin``), rounded down to 0.1 km: never
    overstated."""
    import math

    margin = safety_margin(facts)
    return None if margin is None else math.floor(margin * 10) / 10


# --------------------------------------------------------------------------- repair


@dataclass
class Repair:
    """The repair of one date: new areas of the people who had to move, and who is at risk."""

    areas: dict[int, int] = field(default_factory=dict)
    """Defector index -> new area, for the people moved."""
    moves: list[dict[str, Any]] = field(default_factory=list)
    at_risk: set[int] = field(default_factory=set)
    at_risk_entries: list[dict[str, Any]] = field(default_factory=list)
    involved: tuple[int, ...] = ()
    """Everyone whose place broke a rule before the repair."""
    status: Literal["optimal", "feasible"] = "optimal"


def repair(
    scenario: Scenario,
    settings: ReplaySettings | None = None,
    *,
    events: Sequence[Event] = (),
    stop: StopRequest | None = None,
) -> Repair:
    """Move as few placed people as possible so that every rule holds again.

    Only people whose place breaks a rule (given everyone's places) are decided; see the module
    docstring. ``events`` (the date's events) only serve to say what caused a move.
    """
    settings = settings or ReplaySettings()
    threats = Threats(scenario)
    candidates = Candidates(scenario, threats)
    current = {i: d.placed_in for i, d in enumerate(scenario.defectors) if d.placed_in is not None}
    facts = rule_facts(candidates, current)
    broken = {
        i: [f for f in fs if not f.ok] for i, fs in facts.items() if not all(f.ok for f in fs)
    }
    if not broken:
        return Repair()
    involved = tuple(sorted(broken))
    stays = Occupancy.of(scenario, {i: a for i, a in current.items() if i not in broken})
    evaluated = {i: candidates.evaluate(i, stays) for i in involved}
    built = _RepairModel(scenario, candidates, current, evaluated, stays, threats)
    solution, status = built.solve(settings, stop)
    outcome = Repair(involved=involved, status=status)
    geography = scenario.geography
    for index in involved:
        person = scenario.defectors[index]
        area = solution.get(index)
        reasons = [_cause(scenario, person.id, f, events) for f in broken[index]]
        if area is None:
            outcome.at_risk.add(index)
            outcome.at_risk_entries.append(
                {
                    **_where(person.id, current[index], scenario),
                    "threat_level": person.threat_level,
                    "reasons": [
                        *reasons,
                        _no_safe_area(
                            evaluated[index], _rivals_for_room(index, evaluated, current)
                        ),
                    ],
                }
            )
        elif area != current[index]:
            outcome.areas[index] = area
            outcome.moves.append(
                {
                    "defector": person.id,
                    "from": geography.ids[current[index]],
                    "from_name": geography.label(current[index]),
                    "to": geography.ids[area],
                    "to_name": geography.label(area),
                    "threat_level": person.threat_level,
                    "reason": "; ".join(reasons),
                }
            )
    return outcome


def _rivals_for_room(
    index: int, evaluated: Mapping[int, PersonCandidates], current: Mapping[int, int]
) -> list[str]:
    """The other people who had to be decided and could use one of this person's areas."""
    mine = set(evaluated[index].areas)
    return [
        person.defector.id
        for j, person in sorted(evaluated.items())
        if j != index and mine & {*person.areas, current[j]}
    ]


def _no_safe_area(person: PersonCandidates, others: Sequence[str]) -> str:
    if not person.areas:
        return (
            "no safe place: no area keeps every rule for them, given everyone who stays where "
            "they are"
        )
    shown = ", ".join(others[:MAX_NAMED]) + (
        f" and {len(others) - MAX_NAMED} more" if len(others) > MAX_NAMED else ""
    )
    together = f" together with {shown}" if others else ""
    return (
        f"no safe place: {len(person.areas)} area(s) keep every rule for them given everyone "
        f"who stays, but none can take them{together} (who also need a safe place; the most "
        "threatened come first)"
    )


_RULE_WORDS: Final = {
    "threats": "threats",
    "origin": "origin",
    "keep_apart": "keep-apart",
    "same_network": "same network",
    "capacity": "housing",
    "services": "services",
    "avoid": "avoid list",
}


def _cause(scenario: Scenario, person_id: str, fact: RuleFact, events: Sequence[Event]) -> str:
    """A broken rule in plain words, led by the date's event that caused it when one did."""
    person = scenario.defector(person_id)
    mine = set(person.networks)
    causes: list[str] = []
    for event in events:
        kind, data = event.kind, event.data
        if kind == "rivalry" and fact.rule in ("threats", "keep_apart"):
            theirs = _their_networks(scenario, fact)
            if (data[0] in mine and data[1] in theirs) or (data[1] in mine and data[0] in theirs):
                causes.append(f"new feud between {data[0]} and {data[1]}")
        elif kind == "territory" and fact.rule == "threats":
            if data["network"] in (fact.who or "").split("/") and data["add"]:
                causes.append(f"{data['network']} took new territory")
        elif kind == "network" and fact.rule == "threats":
            if data["id"] in (fact.who or "").split("/"):
                causes.append(f"new network {data['id']}")
        elif kind == "capacity" and fact.rule in ("capacity", "services"):
            if _area_id_of(scenario, person_id) == data["area"]:
                causes.append(f"{scenario.geography.label(_area(scenario, data['area']))} changed")
        elif kind == "policy" and (
            (fact.rule == "threats" and "threat_buffer_km" in data)
            or (fact.rule == "keep_apart" and "keep_apart_km" in data)
            or (fact.rule == "origin" and "origin_buffer_km" in data)
            or (fact.rule == "same_network" and "max_same_network_per_area" in data)
            or (fact.rule in ("threats", "keep_apart", "origin") and "distance" in data)
            or (fact.rule == "services" and "youth_age" in data)
            or (fact.rule == "threats" and "allies_of_rivals_threaten" in data)
        ):
            causes.append("policy changed")
        elif (
            kind == "threat"
            and fact.rule == "threats"
            and data["defector"] == person_id
            and "threat_buffer_km" in data  # a threat level alone moves no buffer
        ):
            causes.append(f"{person_id}'s threat buffer changed")
    detail = fact.text
    if fact.rule == "keep_apart" and fact.who is not None:
        networks = "/".join(scenario.defector(fact.who).networks)
        detail = detail.replace(fact.who, f"{fact.who} ({networks})", 1)
    text = f"{_RULE_WORDS[fact.rule]}: {detail}"
    return f"{', '.join(dict.fromkeys(causes))}: {text}" if causes else text


def _their_networks(scenario: Scenario, fact: RuleFact) -> set[str]:
    if fact.rule == "keep_apart" and fact.who is not None:
        return set(scenario.defector(fact.who).networks)
    return set((fact.who or "").split("/"))


def _area_id_of(scenario: Scenario, person_id: str) -> str | None:
    area = scenario.defector(person_id).placed_in
    return None if area is None else scenario.geography.ids[area]


def _area(scenario: Scenario, area_id: str) -> int:
    index = scenario.geography.index_of(area_id)
    assert index is not None
    return index


class _RepairModel:
    """The CP-SAT model of one repair: stay, move or be at risk, for each involved person."""

    def __init__(
        self,
        scenario: Scenario,
        candidates: Candidates,
        current: Mapping[int, int],
        evaluated: Mapping[int, PersonCandidates],
        stays: Occupancy,
        threats: Threats,
    ) -> None:
        self.scenario = scenario
        self.current = current
        self.evaluated = evaluated
        model = self.model = cp_model.CpModel()
        people = scenario.defectors
        self.go: dict[tuple[int, int], cp_model.IntVar] = {}
        self.risk: dict[int, cp_model.IntVar] = {}
        for index, person in sorted(evaluated.items()):
            for area in person.areas:
                self.go[index, area] = model.new_bool_var(f"go_{index}_{area}")
            self.risk[index] = model.new_bool_var(f"risk_{index}")
            model.add_exactly_one([*(self.go[index, a] for a in person.areas), self.risk[index]])
        self._capacity(stays)
        self._same_network(stays)
        self._keep_apart(threats)
        n = len(evaluated)
        self.risk_cost = cp_model.LinearExpr.weighted_sum(
            [self.risk[i] for i in sorted(self.risk)],
            [(n + 1) ** (people[i].threat_level - 1) for i in sorted(self.risk)],
        )
        moving = [(i, a) for (i, a) in sorted(self.go) if a != current[i]]
        self.moves = cp_model.LinearExpr.sum([self.go[key] for key in moving])
        self.score = cp_model.LinearExpr.weighted_sum(
            [self.go[key] for key in sorted(self.go)],
            [score_parts(candidates, evaluated[i], a).total for (i, a) in sorted(self.go)],
        )

    def _at(self, area: int) -> list[tuple[int, cp_model.IntVar, bool]]:
        """(person, literal, is_risk) of everyone who may end up living in ``area``."""
        found = [(i, var, False) for (i, a), var in sorted(self.go.items()) if a == area]
        found += [(i, var, True) for i, var in sorted(self.risk.items()) if self.current[i] == area]
        return found

    def _touched(self) -> list[int]:
        return sorted({a for _, a in self.go} | {self.current[i] for i in self.risk})

    def _capacity(self, stays: Occupancy) -> None:
        """Hard constraint: households fit, wherever someone not at risk lives."""
        people = self.scenario.defectors
        for area in self._touched():
            entries = self._at(area)
            room = self.scenario.offers[area].housing_units - int(stays.load[area])
            if sum(people[i].household for i, _, _ in entries) <= room:
                continue
            used = cp_model.LinearExpr.weighted_sum(
                [var for _, var, _ in entries], [people[i].household for i, _, _ in entries]
            )
            self._limit(used, room, entries, fixed_there=int(stays.load[area]) > 0)

    def _same_network(self, stays: Occupancy) -> None:
        """Hard constraint: at most ``max_same_network_per_area`` per network and area."""
        people = self.scenario.defectors
        limit = self.scenario.policy.max_same_network_per_area
        for area in self._touched():
            by_network: dict[str, list[tuple[int, cp_model.IntVar, bool]]] = {}
            for entry in self._at(area):
                for network in people[entry[0]].networks:
                    by_network.setdefault(network, []).append(entry)
            for network, entries in sorted(by_network.items()):
                counts = stays.by_network.get(network)
                already = int(counts[area]) if counts is not None else 0
                if len(entries) + already <= limit:
                    continue
                count = cp_model.LinearExpr.sum([var for _, var, _ in entries])
                self._limit(count, limit - already, entries, fixed_there=already > 0)

    def _limit(
        self,
        expression: cp_model.LinearExpr,
        bound: int,
        entries: list[tuple[int, cp_model.IntVar, bool]],
        *,
        fixed_there: bool,
    ) -> None:
        """``expression <= bound`` wherever the rule protects someone: a person who stays
        fixed there, or an involved person who is there and not at risk."""
        if fixed_there:
            self.model.add(expression <= bound)
            return
        for _, var, is_risk in entries:
            if not is_risk:
                self.model.add(expression <= bound).only_enforce_if(var)

    def _keep_apart(self, threats: Threats) -> None:
        """Hard constraint: two involved people kept apart are not too close, unless both are
        at risk (one at risk is still where they are, and the other must keep away)."""
        limit = self.scenario.policy.keep_apart_km
        distance = self.scenario.distance_km
        for pair in threats.keep_apart_pairs:
            first, second = pair.first, pair.second
            if first not in self.risk or second not in self.risk:
                continue
            second_areas = [a for (i, a) in sorted(self.go) if i == second]
            for area, literal, is_risk in self._options(first):
                close = [self.go[second, b] for b in second_areas if not distance[area, b] >= limit]
                if not is_risk and not distance[area, self.current[second]] >= limit:
                    close.append(self.risk[second])
                if close:
                    self.model.add_at_most_one([literal, *close])

    def _options(self, index: int) -> list[tuple[int, cp_model.IntVar, bool]]:
        options = [(a, var, False) for (i, a), var in sorted(self.go.items()) if i == index]
        return [*options, (self.current[index], self.risk[index], True)]

    def solve(
        self, settings: ReplaySettings, stop: StopRequest | None
    ) -> tuple[dict[int, int | None], Literal["optimal", "feasible"]]:
        """Stage by stage: fewest at risk, then fewest moves, then the best score.

        Returns each involved person's area (None: at risk) and whether every stage was proven.
        """
        model = self.model
        hint: dict[int, int | None] = dict.fromkeys(self.risk)  # everyone at risk: feasible
        proven = True
        for sense, objective in (
            ("min", self.risk_cost),
            ("min", self.moves),
            ("max", self.score),
        ):
            model.clear_objective()  # type: ignore[no-untyped-call]  # ortools lacks the hint
            model.clear_hints()  # type: ignore[no-untyped-call]  # ortools lacks the hint
            for (i, a), var in sorted(self.go.items()):
                model.add_hint(var, hint.get(i) == a)
            for i, var in sorted(self.risk.items()):
                model.add_hint(var, hint.get(i) is None)
            if sense == "min":
                model.minimize(objective)
            else:
                model.maximize(objective)
            solver, status = _search(model, settings, stop)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                proven = False
                break
            hint = {
                i: next(
                    (a for (j, a), var in self.go.items() if j == i and solver.value(var)), None
                )
                for i in sorted(self.risk)
            }
            value = round(solver.objective_value)
            optimal = status == cp_model.OPTIMAL
            proven = proven and optimal
            if sense == "min":
                model.add(objective == value if optimal else objective <= value)
            else:
                model.add(objective == value if optimal else objective >= value)
        return hint, "optimal" if proven else "feasible"


def _search(
    model: cp_model.CpModel, settings: ReplaySettings, stop: StopRequest | None
) -> tuple[cp_model.CpSolver, Any]:
    """One reproducible CP-SAT search, in a worker thread so that a signal can stop it."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = settings.seed
    solver.parameters.max_deterministic_time = settings.step_budget
    solver.parameters.max_time_in_seconds = settings.step_time_limit_s
    solver.parameters.catch_sigint_signal = False
    return solver, search_in_worker(solver, model, stop)


# --------------------------------------------------------------------------- what was done


class _AsDone:
    """The world as it was in fact handled: starting places, then every ``actual``."""

    def __init__(self, areas: dict[str, str], used: bool) -> None:
        self.areas = areas
        self.used = used
        self.by_actual: set[str] = set()
        """People whose place comes from an ``actual`` (not from the starting scenario)."""
        self.seen: set[str] = set()

    def apply(self, event: Event) -> None:
        if event.kind == "leave":
            self.areas.pop(event.data, None)
            self.by_actual.discard(event.data)
        for person, area in (event.actual or {}).items():
            if area is None:
                self.areas.pop(person, None)
            else:
                self.areas[person] = area
            self.by_actual.add(person)

    def compare(
        self,
        final: Scenario,
        candidates: Candidates,
        planner_facts: Mapping[int, Sequence[RuleFact]],
        events: Sequence[Event],
    ) -> dict[str, Any]:
        """Rules broken in the as-done world (involving an actual placement), and how the
        planner's decision of the date differs for the people placed by this date's events."""
        geography = final.geography
        index = final.defector_index
        areas = {index[p]: _area(final, a) for p, a in sorted(self.areas.items()) if p in index}
        nobody_placed = _without_places(final)
        plan = Plan(
            status="feasible",
            assignments=[
                Assignment(defector=final.defectors[i].id, area=geography.ids[a])
                for i, a in sorted(areas.items())
            ],
            unplaced=[
                Unplaced(defector=d.id) for i, d in enumerate(final.defectors) if i not in areas
            ],
        )
        report = check_plan(nobody_placed, plan)
        violations = []
        for violation in report.violations:
            if not set(violation.defectors) & self.by_actual:
                continue
            found = violation.to_dict()
            found.pop("pre_existing")
            found["new"] = violation.message not in self.seen
            violations.append(found)
        self.seen = {v["message"] for v in violations}
        as_done_facts = rule_facts(candidates, areas)
        comparisons = []
        planner_areas = {
            i: d.placed_in for i, d in enumerate(final.defectors) if d.placed_in is not None
        }
        for event in events:
            for person in sorted(event.actual or {}):
                if person not in index:
                    continue
                i = index[person]
                entry: dict[str, Any] = {"defector": person}
                actual_area = areas.get(i)
                planner_area = planner_areas.get(i)
                entry["actual_area"] = None if actual_area is None else geography.ids[actual_area]
                entry["actual_area_name"] = (
                    None if actual_area is None else geography.label(actual_area)
                )
                entry["planner_area"] = (
                    None if planner_area is None else geography.ids[planner_area]
                )
                entry["planner_area_name"] = (
                    None if planner_area is None else geography.label(planner_area)
                )
                actual_margin = _margin(as_done_facts[i]) if i in as_done_facts else None
                planner_margin = _margin(planner_facts[i]) if i in planner_facts else None
                entry["actual_margin_km"] = actual_margin
                entry["planner_margin_km"] = planner_margin
                entry["margin_gained_km"] = (
                    round(planner_margin - actual_margin, 1)
                    if actual_margin is not None and planner_margin is not None
                    else None
                )
                entry["actual_broke"] = [
                    f"{v['rule']}" for v in violations if person in v["defectors"]
                ]
                entry["actual_too_close_to"] = sorted(
                    {
                        other
                        for v in violations
                        if v["rule"] == "keep_apart" and person in v["defectors"]
                        for other in v["defectors"]
                        if other != person
                    }
                )
                comparisons.append(entry)
        return {
            "broke_rules": bool(violations),
            "violations": violations,
            "comparisons": comparisons,
        }


def _without_places(scenario: Scenario) -> Scenario:
    """The same scenario with nobody placed: so the checker counts every broken rule."""
    return scenario.with_pending(range(len(scenario.defectors)))


# --------------------------------------------------------------------------- summary, hindsight


def _summary(history: History, steps: Sequence[dict[str, Any]]) -> dict[str, Any]:
    moved = [m["defector"] for s in steps for m in s["moves"]]
    at_risk = sorted({r["defector"] for s in steps for r in s["at_risk"]})
    last = steps[-1] if steps else None
    summary: dict[str, Any] = {
        "dates": len(steps),
        "events": len(history.events),
        "arrivals": sum(1 for e in history.events if e.kind == "arrive"),
        "moves": len(moved),
        "people_moved": sorted(set(moved)),
        "ever_at_risk": at_risk,
        "steps_with_people_at_risk": sum(1 for s in steps if s["at_risk"]),
        "at_end": (
            {
                "placed": len(last["assignments"]),
                "waiting": len(last["unplaced"]),
                "at_risk": len(last["at_risk"]),
            }
            if last
            else _start_counts(history)
        ),
    }
    actual = [s["actual"] for s in steps if "actual" in s]
    if actual:
        summary["actual"] = {
            "steps_where_actual_broke_rules": sum(1 for a in actual if a["broke_rules"]),
            "new_violations": sum(1 for a in actual for v in a["violations"] if v["new"]),
        }
    return summary


def _start_counts(history: History) -> dict[str, int]:
    """``at_end`` of a history without events: nothing was decided, the start stands."""
    people = history.start.defectors
    placed = sum(1 for person in people if person.placed_in is not None)
    return {"placed": placed, "waiting": len(people) - placed, "at_risk": 0}


def hindsight(
    history: History,
    world: World,
    start_areas: Mapping[str, str],
    steps: Sequence[dict[str, Any]],
    settings: ReplaySettings,
    *,
    stop: StopRequest | None = None,
) -> dict[str, Any]:
    """Compare the replay (online) with the offline optimum, computed with everything known.

    **The offline optimum** is one solve, with all arrivals known at once, of the world as it
    is after the last event (networks, territories, feuds, housing, services and policy as they
    ended) in which *everyone* still in the program is pending: the contract's lexicographic
    objective (most placed at threat level 5, then 4, ...) stage by stage as in
    ``placement.solve``, then this project's secondary one, with the per-step budget per stage.
    Nobody is held where the past put them: the people the replay has placed and not at risk
    at its last step form a plan this solve could also choose, and it starts from that plan
    (a solution hint), so even a search cut short by its budget is never worse than the
    replay at the most threatened level where they differ; ``offline.status`` says whether
    every stage was proven optimal. Its *moves* are the people of the starting scenario still
    in the program whom it places somewhere other than their starting place, or nowhere.

    **The online result** is the replay's last step: everyone placed there and not at risk,
    and the moves made over the whole replay.

    Both are reported per threat level, with the minimum safety margin of the people placed.
    ``placed_percent_of_offline`` is online / offline people placed, in percent (100 when the
    offline optimum places nobody); ``weighted_percent_of_offline`` weighs each person by their
    threat level (1-5), so placing a level-2 person where hindsight places a level-3 one shows.
    """
    document = copy.deepcopy(world.document)
    for person in document["defectors"]:
        person.pop("placed_in", None)
    last = history.dates[-1] if history.dates else datetime.date.min
    offline_scenario = _scenario(document, history, last)
    people = offline_scenario.defectors
    index = offline_scenario.defector_index
    online_areas = {
        index[entry["defector"]]: _area(offline_scenario, entry["area"])
        for entry in (steps[-1]["assignments"] if steps else _start_assignments(history))
        if not entry.get("at_risk")
    }
    candidates = Candidates(offline_scenario)
    new_areas, status = _offline_solve(candidates, online_areas, settings, stop)
    offline_levels = _levels(people[i].threat_level for i in new_areas)
    offline_facts = rule_facts(candidates, new_areas)
    offline_margins = [_margin(offline_facts[i]) for i in new_areas]
    # A starting resident whose home changes, or who is left without one, moves.
    offline_ids = {people[i].id: offline_scenario.geography.ids[a] for i, a in new_areas.items()}
    offline_moves = sum(
        1
        for person_id, start in start_areas.items()
        if person_id in index and offline_ids.get(person_id) != start
    )
    online_levels: dict[str, int] = {str(level): 0 for level in THREAT_LEVELS}
    online_margins: list[float | None] = []
    for entry in steps[-1]["assignments"] if steps else _start_assignments(history):
        if not entry.get("at_risk"):
            online_levels[str(entry["threat_level"])] += 1
            online_margins.append(entry["safety_margin_km"])
    offline: dict[str, Any] = {
        "placed": len(new_areas),
        "placed_by_threat_level": offline_levels,
        "min_safety_margin_km": _min_margin(offline_margins),
        "moves": offline_moves,
        "status": status,
    }
    online_placed = sum(online_levels.values())
    offline_placed = offline["placed"]
    return {
        "definition": (
            "offline: one solve of the world after the last event with everyone still in the "
            "program pending (all arrivals known at once, nobody held where the past put them); "
            "online: everyone placed and not at risk at the last step"
        ),
        "people": len(people),
        "online": {
            "placed": online_placed,
            "placed_by_threat_level": online_levels,
            "min_safety_margin_km": _min_margin(online_margins),
            "moves": sum(len(s["moves"]) for s in steps),
        },
        "offline": offline,
        "placed_percent_of_offline": _percent(online_placed, offline_placed),
        "weighted_percent_of_offline": _percent(
            _weighted(online_levels), _weighted(offline["placed_by_threat_level"])
        ),
    }


def _start_assignments(history: History) -> list[dict[str, Any]]:
    """The starting scenario's placed people, as a step's assignments (for an empty history:
    nothing was decided, so the start is the online state)."""
    start = history.start
    candidates = Candidates(start)
    areas_of = {i: d.placed_in for i, d in enumerate(start.defectors) if d.placed_in is not None}
    facts = rule_facts(candidates, areas_of)
    return [
        {
            **_where(start.defectors[i].id, area, start),
            "threat_level": start.defectors[i].threat_level,
            "safety_margin_km": _margin(facts[i]),
        }
        for i, area in areas_of.items()
        if all(f.ok for f in facts[i])
    ]


def _offline_solve(
    candidates: Candidates,
    hint: Mapping[int, int],
    settings: ReplaySettings,
    stop: StopRequest | None,
) -> tuple[dict[int, int], Literal["optimal", "feasible"]]:
    """``placement.solve``'s stages (one threat level at a time, then the secondary objective)
    on the model of ``placement.model``, started from ``hint``: a plan the model allows."""
    built = build_model(candidates)
    model = built.model
    solution = {p: a for p, a in hint.items() if (p, a) in built.assign}
    proven = True
    people = candidates.scenario.defectors
    # Each level's stage also counts the less threatened, far below its own level's weight, so
    # that a search cut short by its budget keeps them placed rather than dropping them.
    weight = len(people) + 1
    stages: list[tuple[cp_model.LinearExprT, cp_model.LinearExprT, int | None]] = []
    for position, level in enumerate(THREAT_LEVELS):
        at_level = placed_at_level(built, level)
        lower = [placed_at_level(built, other) for other in THREAT_LEVELS[position + 1 :]]
        stages.append((at_level, weight * at_level + cp_model.LinearExpr.sum(lower), level))
    secondary = secondary_objective(built)
    stages.append((secondary, secondary, None))
    for count, objective, stage_level in stages:
        if stage_level is not None and not any(
            people[p].threat_level == stage_level for p, _ in built.assign
        ):
            continue
        model.clear_objective()  # type: ignore[no-untyped-call]  # ortools lacks the hint
        model.clear_hints()  # type: ignore[no-untyped-call]  # ortools lacks the hint
        for (person, area), var in sorted(built.assign.items()):
            model.add_hint(var, solution.get(person) == area)
        model.maximize(objective)
        solver, status = _search(model, settings, stop)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            proven = False
            break
        solution = {
            p: a for (p, a), var in sorted(built.assign.items()) if solver.boolean_value(var)
        }
        optimal = status == cp_model.OPTIMAL
        proven = proven and optimal
        if stage_level is not None:
            value = sum(1 for p in solution if people[p].threat_level == stage_level)
            model.add(count == value if optimal else count >= value)
    return solution, "optimal" if proven else "feasible"


def _weighted(levels: Mapping[str, int]) -> int:
    return sum(int(level) * count for level, count in levels.items())


def _percent(online: int, offline: int) -> float:
    return 100.0 if offline == 0 else round(100 * online / offline, 1)


def _levels(levels: Iterable[int]) -> dict[str, int]:
    counts = {str(level): 0 for level in THREAT_LEVELS}
    for level in levels:
        counts[str(level)] += 1
    return counts


def _min_margin(margins: Iterable[float | None]) -> float | None:
    known = [m for m in margins if m is not None]
    return min(known) if known else None


# --------------------------------------------------------------------------- writing


def timeline_to_json(timeline: Mapping[str, Any]) -> str:
    """The timeline as stable JSON, with a sha256 ``digest`` of its content as the last key."""
    data = {key: value for key, value in timeline.items() if key != "digest"}
    data["digest"] = {"algorithm": "sha256", "value": plan_digest(data)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_timeline(
    timeline: Mapping[str, Any], path: str | Path, *, passphrase: str | None = None
) -> None:
    """Write the timeline atomically; encrypted when a passphrase is given."""
    data = timeline_to_json(timeline).encode("utf-8")
    if passphrase is not None:
        data = crypto.encrypt(data, passphrase)
    write_bytes_atomic(path, data)


# --------------------------------------------------------------------------- reading it


def render_timeline(timeline: Mapping[str, Any], fmt: ReportFormat = "text") -> str:
    """The timeline for people: per date, what happened and what was decided, risks first."""
    md = fmt == "markdown"
    lines: list[str] = []

    def heading(text: str, level: int = 2) -> None:
        if md:
            lines.extend([f"{'#' * level} {text}", ""])
        else:
            lines.extend([text, "=" * len(text) if level == 1 else "-" * len(text)])

    def item(text: str, depth: int = 0) -> None:
        lines.append(("  " * depth) + ("- " if md else "  ") + text)

    history = timeline["history"]
    heading(f"Replay of {history.get('name') or 'a history'}", 1)
    summary = timeline["summary"]
    risk_total = len(summary["ever_at_risk"])
    lines.append(
        f"{summary['dates']} dates, {summary['events']} events, {summary['arrivals']} arrivals; "
        f"{summary['moves']} moves; "
        + (
            f"{'**' if md else ''}AT RISK at some date: {', '.join(summary['ever_at_risk'])}"
            f"{'**' if md else ''}"
            if risk_total
            else "nobody was ever at risk"
        )
    )
    lines.append("")
    for step in timeline["steps"]:
        heading(step["date"])
        for risk in step["at_risk"]:
            flag = "**AT RISK**" if md else "!! AT RISK"
            item(
                f"{flag} {risk['defector']} (threat level {risk['threat_level']}) in "
                f"{risk['area_name']}: {'; '.join(risk['reasons'])}"
            )
        for event in step["events"]:
            item(f"event: {event['text']}")
        for move in step["moves"]:
            item(
                f"moved {move['defector']} from {move['from_name']} to {move['to_name']}: "
                f"{move['reason']}"
            )
        for placed in step["placed"]:
            item(f"placed {placed['defector']} in {placed['area_name']}")
        for waiting in step["unplaced"]:
            item(f"waiting: {waiting['defector']}: {'; '.join(waiting['reasons'])}")
        actual = step.get("actual")
        if actual:
            for violation in actual["violations"]:
                if violation["new"]:
                    item(f"actual placement broke a rule: {violation['message']}")
            continuing = sum(1 for v in actual["violations"] if not v["new"])
            if continuing:
                item(f"as done: {continuing} rule violation(s) from earlier dates continue")
            for entry in actual["comparisons"]:
                item(comparison_text(entry))
        if step["status"] != "optimal":
            item("(a search was cut short by its budget: decisions are the best found)")
        lines.append("")
    if "hindsight" in timeline:
        heading("Hindsight benchmark")
        lines.extend(_hindsight_lines(timeline["hindsight"], md))
    return "\n".join(lines).rstrip() + "\n"


def comparison_text(entry: Mapping[str, Any]) -> str:
    """One line comparing what was done with the planner's decision for one person."""
    actual = entry["actual_area_name"] or "not placed"
    planner = entry["planner_area_name"] or "not placed (waiting)"
    text = f"{entry['defector']}: actually {actual}, planner {planner}"
    if entry["margin_gained_km"] is not None:
        text += (
            f"; safety margin {entry['actual_margin_km']} km as done vs "
            f"{entry['planner_margin_km']} km planned ({entry['margin_gained_km']:+} km)"
        )
    if entry["actual_too_close_to"]:
        text += f"; as done too close to {', '.join(entry['actual_too_close_to'])}"
    return text


def _hindsight_lines(data: Mapping[str, Any], md: bool) -> list[str]:
    online, offline = data["online"], data["offline"]
    rows = [
        ["", *(f"level {lvl}" for lvl in THREAT_LEVELS), "placed", "min margin km", "moves"],
        [
            "online (replay)",
            *(str(online["placed_by_threat_level"][str(lvl)]) for lvl in THREAT_LEVELS),
            str(online["placed"]),
            _fmt(online["min_safety_margin_km"]),
            str(online["moves"]),
        ],
        [
            "offline optimum",
            *(str(offline["placed_by_threat_level"][str(lvl)]) for lvl in THREAT_LEVELS),
            str(offline["placed"]),
            _fmt(offline["min_safety_margin_km"]),
            str(offline["moves"]),
        ],
    ]
    lines = []
    if md:
        lines.append("| " + " | ".join(rows[0]) + " |")
        lines.append("|" + " --- |" * len(rows[0]))
        lines.extend("| " + " | ".join(r) + " |" for r in rows[1:])
    else:
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines.extend(
            "  "
            + "  ".join(
                cell.rjust(w) if c else cell.ljust(w)
                for c, (cell, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
            for r in rows
        )
    lines.append("")
    if offline["status"] != "optimal":
        lines.append(
            "(The offline search was not proven optimal within its budget: it started from the "
            "replay's final state and is the best plan found, not a proven optimum.)"
        )
    lines.append(
        f"People placed: {data['placed_percent_of_offline']}% of the hindsight optimum "
        f"({online['placed']} of {offline['placed']}; {data['people']} people in the program); "
        f"weighted by threat level: {data['weighted_percent_of_offline']}%."
    )
    lines.append(order_against_hindsight(data))
    return lines


def order_against_hindsight(data: Mapping[str, Any]) -> str:
    """How the replay compares with hindsight in the contract's order: level 5 first.

    Why: hindsight places the most threatened first, so it may place fewer people in all, and
    "people placed" can read above 100%; this sentence says which is better by the contract.
    """
    online = data["online"]["placed_by_threat_level"]
    offline = data["offline"]["placed_by_threat_level"]
    for level in THREAT_LEVELS:
        mine, best = int(online[str(level)]), int(offline[str(level)])
        if mine != best:
            where = "behind" if mine < best else "ahead of"
            return (
                f"In the contract's order (most threatened first) the replay is {where} "
                f"hindsight from threat level {level} ({mine} placed against {best})."
            )
    return (
        "In the contract's order (most threatened first) the replay places as many as "
        "hindsight at every threat level."
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render_summary(timeline: Mapping[str, Any]) -> str:
    """A few lines for the terminal after a replay."""
    summary = timeline["summary"]
    lines = [
        f"Replayed {summary['dates']} dates ({summary['events']} events, "
        f"{summary['arrivals']} arrivals): {summary['moves']} moves; at the end "
        f"{summary['at_end']['placed']} placed, {summary['at_end']['waiting']} waiting."
    ]
    for step in timeline["steps"]:
        for risk in step["at_risk"]:
            lines.append(
                f"!! AT RISK on {step['date']}: {risk['defector']} in {risk['area_name']}: "
                f"{'; '.join(risk['reasons'])}"
            )
    if "actual" in summary:
        actual = summary["actual"]
        lines.append(
            f"As done: rules broken at {actual['steps_where_actual_broke_rules']} dates "
            f"({actual['new_violations']} violations)."
        )
    if "hindsight" in timeline:
        data = timeline["hindsight"]
        lines.append(
            f"Hindsight: people placed {data['placed_percent_of_offline']}% of the offline "
            f"optimum ({data['online']['placed']} of {data['offline']['placed']}; weighted by "
            f"threat level {data['weighted_percent_of_offline']}%). "
            + order_against_hindsight(data)
        )
    return "\n".join(lines)
