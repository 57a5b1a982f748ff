"""Why an unplaced defector cannot be placed, down to a small set of rules and cases.

``placement.reasons`` says in one line why someone is unplaced. This module goes to the bottom:
it finds a small set of rule instances (the "conflict") that together make placing the person
impossible without placing fewer people at the person's threat level or above, says each in
plain words with the people, areas and distances involved, and suggests changes to the
scenario ("remedies") that were verified by solving again.

Two cases:

1. **No area at all.** Every area breaks one of the person's own rules (the per-rule masks of
   ``placement.candidates``, computed against the people already placed). The conflict is the
   smallest subset of those seven rules whose masks together leave no area; all 127 subsets
   are cheap to try, so it is a minimum, not just a minimal set.
2. **Areas exist, but others took them.** A feasibility model (no objective) says: the person
   is placed, and at every threat level from theirs upwards at least as many people are placed
   as in the plan (who they are may change; lower levels are free). Each relaxable rule
   instance sits behind its own assumption literal: each of the person's own rules, the housing
   of an area, the same-network room of (network, area), and the keep-apart of a pair of
   pending people. CP-SAT's ``sufficient_assumptions_for_infeasibility`` (one worker, no
   objective) gives a first core, and a deletion filter makes it minimal: each group is dropped
   in turn and kept only if dropping it makes the model feasible. At-most-one-area and the
   per-level counts stay hard: relaxing them would mean placing someone twice or placing fewer
   of the more threatened, which is the premise, not a remedy.

   The person gets a variable in every area that breaks at most one of their own rules; an
   area that breaks two or more stays out. So every own rule the conflict names does free some
   area when relaxed alone. Everyone else keeps their candidate areas as a fixed fact, which the
   explanation states ("D1 can use only Umeå").

   When the model is feasible, the person lost a tie: they could be placed instead of someone
   at the same threat level, and the plan chose the other on the secondary objective. The
   conflict then explains why both cannot be placed (one more person required at that level).

   A minimal conflict is minimal with every rule instance outside it relaxed. With them in
   force, relaxing one of its items may still leave no place (the areas a keep-apart pair
   could otherwise use are full). For each such item a second minimal conflict without it is
   found (``further``), so the reader sees every reason before relaxing anything.

Remedies are concrete scenario changes (``apply_change``): more housing units in an area, a
lower ``keep_apart_km`` or ``origin_buffer_km``, a lower threat buffer for one person, a service
offered in an area, an area taken off an avoid list, a higher same-network limit. Distance
limits are found by binary search (feasibility is monotone in them); each candidate change is
checked by rebuilding the candidate masks and solving the feasibility model, and the ones that
pass are re-planned with ``placement.solve.solve_scenario``. A remedy says "would let D041 be
placed" only when that re-plan places the person; otherwise it says it makes room but the
planner would give the room to others. Because the conflict is minimal only among its own
groups, relaxing one item can fall short when other rules block too; the item then says that
no change of it alone was found, instead of promising one.

Distances are quoted from ``scenario.distance_km``: a distance that is too short is written with
enough decimals to stay below the limit, and a suggested new limit is rounded down to 0.1 km,
so every quoted fact holds under the checker's exact ``d >= required``. Everything is bounded by
the caller's time limit; an answer cut short says so (``complete`` is False, with a note).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from ortools.sat.python import cp_model

from placement.candidates import (
    RULE_ORDER,
    BoolArray,
    Candidates,
    Occupancy,
    PersonCandidates,
)
from placement.objectives import THREAT_LEVELS
from placement.plan import Plan
from placement.rules import RuleName
from placement.scenario import AreaOffer, Scenario
from placement.solve import SolveResult, SolveSettings, solve_scenario
from placement.threats import Threats

CONFLICTS_FORMAT: Final = "placement-unplaced-explanation/1"
MAX_NAMED: Final = 4
"""How many areas or people a sentence names before it says "and N more"."""
MAX_AREA_TRIALS: Final = 3
"""How many areas a remedy that works area by area (housing, services, avoid) tries."""
MAX_EXTRA_UNITS: Final = 6
"""How many housing amounts a housing remedy tries per area (the smallest that fits first)."""
MAX_EXTRA_SAME_NETWORK: Final = 3
MAX_OPTIONS: Final = 18
"""How many candidate changes one remedy search checks with the feasibility model."""
MAX_REPLANS: Final = 4
"""How many of those that make room are re-planned with the full solver, per remedy."""

Kind = Literal["no_area", "outcompeted", "tie", "placeable"]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ConflictItem:
    """One rule instance of the conflict, in plain words, with the remedy that relaxes it."""

    rule: RuleName
    defectors: tuple[str, ...]
    """The people the instance concerns, the explained person first when involved."""
    areas: tuple[str, ...]
    """Area ids (municipality codes) the instance concerns."""
    text: str
    remedy: str | None = None
    """A change relaxing this instance that was verified to make room for the person, or None
    when no change of this instance alone was found to do so."""
    change: Mapping[str, Any] | None = None
    """That change as data, in the scenario's (or a history event's) own keys; see
    ``apply_change``."""
    replanned: bool = False
    """True when re-planning the whole scenario with the change places the person (not only
    makes room for them)."""
    unplaces: tuple[str, ...] = ()
    """People this plan places whom that re-plan leaves unplaced (the remedy's cost)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "defectors": list(self.defectors),
            "areas": list(self.areas),
            "text": self.text,
            "remedy": self.remedy,
            "change": dict(self.change) if self.change is not None else None,
            "replanned": self.replanned,
            "unplaces": list(self.unplaces),
        }


@dataclass(frozen=True)
class FurtherConflict:
    """A conflict that remains when some items of the first are relaxed (each alone)."""

    relaxing: tuple[str, ...]
    """The items of the first conflict this one does not involve, in words: relaxing any of
    them alone leaves this conflict, so no place."""
    conflict: tuple[ConflictItem, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "relaxing": list(self.relaxing),
            "conflict": [item.to_dict() for item in self.conflict],
        }


@dataclass(frozen=True)
class UnplacedExplanation:
    """Why one pending defector is unplaced: the conflict, a summary, and verified remedies."""

    defector: str
    threat_level: int
    kind: Kind
    """``no_area``: no area passes the person's own rules; ``outcompeted``: placing them needs
    fewer placed at their level or above; ``tie``: they could replace someone of the same level;
    ``placeable``: a plan placing them too exists (the search stopped early)."""
    conflict: tuple[ConflictItem, ...]
    summary: str
    remedies: tuple[str, ...]
    """The items' verified remedies, those that re-plan the person first."""
    notes: tuple[str, ...] = ()
    complete: bool = True
    """False when the time limit cut the analysis short (the conflict may not be minimal, or
    some remedies were not tried)."""
    further: tuple[FurtherConflict, ...] = ()
    """For items of ``conflict`` whose relaxing alone (every other rule in force) would still
    leave no place: another minimal conflict, without them, that shows why."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CONFLICTS_FORMAT,
            "defector": self.defector,
            "threat_level": self.threat_level,
            "kind": self.kind,
            "summary": self.summary,
            "conflict": [item.to_dict() for item in self.conflict],
            "remedies": list(self.remedies),
            "notes": list(self.notes),
            "complete": self.complete,
            "further": [further.to_dict() for further in self.further],
        }


# --------------------------------------------------------------------------- scenario changes


def apply_change(scenario: Scenario, change: Mapping[str, Any]) -> Scenario:
    """The scenario with one remedy's change applied (the ``change`` of a ``ConflictItem``).

    Keys, as in a history file's events: ``{"capacity": {"area": ID, "housing_units": N}}``,
    ``{"capacity": {"area": ID, "services": [...]}}``, ``{"policy": {KEY: VALUE}}``, and
    ``{"defector": {"id": ID, "threat_buffer_km": KM}}`` or ``{"defector": {"id": ID, "avoid":
    [IDS]}}`` for one person's own settings.
    """
    geography = scenario.geography
    if "capacity" in change:
        spec = change["capacity"]
        area = geography.index_of(str(spec["area"]))
        if area is None:
            raise ValueError(f"unknown area {spec['area']!r}")
        offer = scenario.offers[area]
        new = AreaOffer(
            housing_units=int(spec.get("housing_units", offer.housing_units)),
            services=frozenset(spec.get("services", offer.services)),
            wait_weeks=offer.wait_weeks,
        )
        offers = list(scenario.offers)
        offers[area] = new
        return dataclasses.replace(scenario, offers=tuple(offers))
    if "policy" in change:
        policy = scenario.policy.model_copy(update=dict(change["policy"]))
        return dataclasses.replace(scenario, policy=policy)
    if "defector" in change:
        spec = dict(change["defector"])
        index = scenario.defector_index[str(spec.pop("id"))]
        person = scenario.defectors[index]
        updates: dict[str, Any] = {}
        if "threat_buffer_km" in spec:
            updates["threat_buffer_km"] = float(spec["threat_buffer_km"])
        if "avoid" in spec:
            avoid = [geography.index_of(str(a)) for a in spec["avoid"]]
            updates["avoid"] = frozenset(a for a in avoid if a is not None)
        unknown = sorted(set(spec) - {"threat_buffer_km", "avoid"})
        if unknown:
            raise ValueError(f"cannot change {', '.join(unknown)} of a defector")
        people = list(scenario.defectors)
        people[index] = dataclasses.replace(person, **updates)
        return dataclasses.replace(scenario, defectors=tuple(people))
    raise ValueError(f"unknown change {dict(change)!r}")


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, order=True)
class _Group:
    """One relaxable rule instance: a person's own rule, or one coupling constraint."""

    rule: RuleName
    person: int = -1
    """For a person's own rule (``own``): that person."""
    area: int = -1
    network: str = ""
    pair: tuple[int, int] = (-1, -1)
    own: bool = False


class _Budget:
    """The time left of the caller's limit, shared by every solve."""

    def __init__(self, limit_s: float) -> None:
        self.deadline = time.monotonic() + limit_s
        self.ran_out = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        if self.remaining() <= 0:
            self.ran_out = True
        return self.ran_out


_FEASIBLE = (cp_model.OPTIMAL, cp_model.FEASIBLE)


class _Feasibility:
    """Can ``focus`` be placed while each level from its own upwards keeps its count?

    ``widened`` people get a variable in every area that breaks at most one of their own rules,
    and each own rule becomes a group; everyone else keeps their candidate areas as a fixed
    fact (the areas their own rules allow, given who is already placed).
    """

    def __init__(
        self,
        candidates: Candidates,
        focus: int,
        minimum: Mapping[int, int],
        *,
        widened: Iterable[int] = (),
    ) -> None:
        self.candidates = candidates
        self.focus = focus
        self.model = cp_model.CpModel()
        self.literals: dict[_Group, cp_model.IntVar] = {}
        self.by_literal: dict[int, _Group] = {}
        self.vars: dict[tuple[int, int], cp_model.IntVar] = {}
        self.widened = frozenset(widened)
        self.areas: dict[int, tuple[int, ...]] = {}
        for index, person in sorted(candidates.people.items()):
            areas = _near_areas(person) if index in self.widened else person.areas
            self.areas[index] = areas
            for area in areas:
                self.vars[index, area] = self.model.new_bool_var(f"x_{index}_{area}")
        self._own_rules()
        self._people(minimum)
        self._capacity()
        self._same_network()
        self._keep_apart()

    def _literal(self, group: _Group) -> cp_model.IntVar:
        literal = self.literals.get(group)
        if literal is None:
            literal = self.model.new_bool_var(f"g{len(self.literals)}")
            self.literals[group] = literal
            self.by_literal[literal.index] = group
        return literal

    def _own_rules(self) -> None:
        for index in sorted(self.widened):
            person = self.candidates.people[index]
            for rule in RULE_ORDER:
                blocked = [a for a in self.areas[index] if not person.masks[rule][a]]
                if not blocked:
                    continue
                literal = self._literal(_Group(rule=rule, person=index, own=True))
                variables = [self.vars[index, a] for a in blocked]
                self.model.add(cp_model.LinearExpr.sum(variables) == 0).only_enforce_if(literal)

    def _people(self, minimum: Mapping[int, int]) -> None:
        """Hard: one area at most each, the focus placed, and the counts per level kept."""
        people = self.candidates.scenario.defectors
        placed: dict[int, cp_model.LinearExprT] = {}
        for index, areas in self.areas.items():
            variables = [self.vars[index, a] for a in areas]
            if len(variables) > 1:
                self.model.add_at_most_one(variables)
            placed[index] = cp_model.LinearExpr.sum(variables) if variables else 0
        self.model.add(placed[self.focus] == 1)
        for level, count in sorted(minimum.items()):
            at_level = [placed[p] for p in sorted(placed) if people[p].threat_level == level]
            self.model.add(cp_model.LinearExpr.sum(at_level) >= count)

    def _entries(self, rule: RuleName) -> dict[int, list[int]]:
        """Area -> people with a variable there that the coupling rule applies to.

        A widened person whose own mask for the rule already rules the area out (the people
        already placed fill it) is left to that mask, so one fact is never two groups.
        """
        table: dict[int, list[int]] = {}
        for index, area in self.vars:
            if index in self.widened and not self.candidates.people[index].masks[rule][area]:
                continue
            table.setdefault(area, []).append(index)
        return table

    def _capacity(self) -> None:
        people = self.candidates.scenario.defectors
        free = self.candidates.free_housing
        for area, entries in sorted(self._entries("capacity").items()):
            households = [people[p].household for p in entries]
            if sum(households) <= free[area]:
                continue
            literal = self._literal(_Group(rule="capacity", area=area))
            terms = [self.vars[p, area] for p in entries]
            self.model.add(
                cp_model.LinearExpr.weighted_sum(terms, households) <= int(free[area])
            ).only_enforce_if(literal)

    def _same_network(self) -> None:
        people = self.candidates.scenario.defectors
        limit = self.candidates.scenario.policy.max_same_network_per_area
        for area, entries in sorted(self._entries("same_network").items()):
            by_network: dict[str, list[int]] = {}
            for p in entries:
                for network in people[p].networks:
                    by_network.setdefault(network, []).append(p)
            for network, members in sorted(by_network.items()):
                room = limit - _placed_count(self.candidates, network, area)
                if len(members) <= room:
                    continue
                literal = self._literal(_Group(rule="same_network", area=area, network=network))
                variables = [self.vars[p, area] for p in members]
                self.model.add(cp_model.LinearExpr.sum(variables) <= max(room, 0)).only_enforce_if(
                    literal
                )

    def _keep_apart(self) -> None:
        """The model's strengthened pair encoding, one literal per pair of pending people."""
        limit = self.candidates.scenario.policy.keep_apart_km
        distance = self.candidates.distance_km
        for pair in self.candidates.threats.keep_apart_pairs:
            first, second = pair.first, pair.second
            if not self.areas.get(first) or not self.areas.get(second):
                continue
            if len(self.areas[first]) > len(self.areas[second]):
                first, second = second, first
            mine = np.array(self.areas[first], dtype=np.int64)
            other = np.array(self.areas[second], dtype=np.int64)
            close = distance[np.ix_(mine, other)] < limit
            if not close.any():
                continue
            literal = self._literal(
                _Group(rule="keep_apart", pair=(min(first, second), max(first, second)))
            )
            for row, area in enumerate(self.areas[first]):
                near = other[close[row]]
                if near.size == 0:
                    continue
                terms = [self.vars[first, area], *(self.vars[second, int(b)] for b in near)]
                self.model.add(cp_model.LinearExpr.sum(terms) <= 1).only_enforce_if(literal)

    def solve(
        self, assumed: Sequence[_Group], budget: _Budget
    ) -> tuple[bool | None, list[_Group], dict[int, int]]:
        """(feasible?, a core among ``assumed`` when not, the solution when it is).

        Groups not assumed are free: their literal may be false, which drops the constraint.
        None means the time ran out before an answer.
        """
        if budget.expired():
            return None, [], {}
        self.model.clear_assumptions()
        self.model.add_assumptions([self.literals[g] for g in assumed])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1  # sufficient_assumptions_for_infeasibility needs it
        solver.parameters.random_seed = 0
        solver.parameters.max_time_in_seconds = max(budget.remaining(), 0.01)
        # Without presolve: these models are small and solved many times, each with other
        # assumptions, and presolving them cost more than it saved. Measured on generated
        # national instances (150-300 placed, 60-80 pending): the deletion filter took 2.2 s
        # instead of 13.3 s over 12 people, the checks of candidate remedies 17 s instead of 28.
        solver.parameters.cp_model_presolve = False
        status = solver.solve(self.model)
        if status in _FEASIBLE:
            solution = {p: a for (p, a), var in self.vars.items() if solver.boolean_value(var)}
            return True, [], solution
        if status == cp_model.INFEASIBLE:
            core = solver.sufficient_assumptions_for_infeasibility()
            chosen = {self.by_literal[i] for i in core if i in self.by_literal}
            return False, [g for g in assumed if g in chosen], {}
        budget.ran_out = True
        return None, [], {}


def _near_areas(person: PersonCandidates) -> tuple[int, ...]:
    """The areas that break at most one of the person's own rules.

    Only these can be freed by relaxing one rule; an area that breaks two or more stays ruled
    out in the model. So every own rule the conflict names frees some area when relaxed alone,
    which is what a reader will try first.
    """
    broken = sum((~mask).astype(np.int64) for mask in person.masks.values())
    return tuple(int(a) for a in np.flatnonzero(broken <= 1))


def _placed_count(candidates: Candidates, network: str, area: int) -> int:
    counts = candidates.placed_by_network.get(network)
    return int(counts[area]) if counts is not None else 0


def _minimal_core(
    model: _Feasibility, budget: _Budget, assumed: Sequence[_Group] | None = None
) -> tuple[bool | None, list[_Group], dict[int, int], bool]:
    """(feasible?, minimal core, solution, proven minimal) with ``assumed`` (default: every
    group) holding and the other groups relaxed.

    Deletion filter: drop each group of the core in turn; if the rest is still infeasible the
    group goes (and the solver's smaller core replaces the rest), else it stays. A group found
    necessary stays necessary in every smaller core, so one pass suffices.
    """
    everything = sorted(model.literals) if assumed is None else list(assumed)
    feasible, core, solution = model.solve(everything, budget)
    if feasible is not False:
        return feasible, [], solution, False
    core = core or everything
    position = 0
    minimal = True
    while position < len(core):
        trial = core[:position] + core[position + 1 :]
        feasible, smaller, _ = model.solve(trial, budget)
        if feasible is False:
            kept = set(smaller) if smaller else set(trial)
            core = [g for g in trial if g in kept]
            continue
        if feasible is None:
            minimal = False
            break
        position += 1
    return False, core, {}, minimal


# --------------------------------------------------------------------------- words


def _and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _or(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _some(items: Sequence[str], limit: int = MAX_NAMED) -> str:
    """``A, B, C, D and 4 more``."""
    items = list(items)
    if len(items) <= limit:
        return _and(items)
    return ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def _num(value: float) -> str:
    return f"{value:g}"


def _below(d: float, required: float) -> str:
    """A too-short distance, with enough decimals that it still reads below the limit."""
    for decimals in range(1, 7):
        text = f"{d:.{decimals}f}"
        if float(text) < required:
            return text
    return repr(d)


def _floor_km(d: float) -> float:
    """A new limit to suggest: rounded down to 0.1 km so the distance it came from passes."""
    return math.floor(d * 10) / 10


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _levels_from(level: int) -> str:
    if level == max(THREAT_LEVELS):
        return f"threat level {level}"
    if level == min(THREAT_LEVELS):
        return "any threat level"
    return f"threat level {level} or above"


def _key(change: Mapping[str, Any]) -> str:
    return json.dumps(change, sort_keys=True, default=str)


_ASPECT: Final[dict[RuleName, str]] = {
    "threats": "distance from threatening territory",
    "origin": "distance from the origin",
    "keep_apart": "distance from placed people to keep apart from",
    "same_network": "room for another defector of the same network",
    "capacity": "free housing",
    "services": "services",
    "avoid": "the avoid list",
}
"""What each rule asks of an area, in a few words (for "227 fail on free housing alone")."""


# --------------------------------------------------------------------------- remedies


@dataclass(frozen=True)
class _Remedy:
    what: str
    change: Mapping[str, Any]
    area: int | None
    """Where a re-plan with the change places the person; None when it does not."""
    unplaces: tuple[int, ...] = ()
    """People the plan places and that re-plan leaves unplaced."""


@dataclass(frozen=True)
class _Replan:
    area: int | None
    """Where the re-plan places the person (None: nowhere)."""
    unplaces: tuple[int, ...]
    """People the plan places and the re-plan leaves unplaced, in index order."""


# --------------------------------------------------------------------------- the explainer


class _Explainer:
    """One person's analysis; holds what every step needs (scenario, masks, plan, budget)."""

    def __init__(self, result: SolveResult, index: int, budget: _Budget) -> None:
        self.result = result
        self.scenario = result.scenario
        self.candidates = result.candidates
        self.index = index
        self.person = self.candidates.people[index]
        self.defector = self.person.defector
        self.level = self.defector.threat_level
        self.budget = budget
        self.notes: list[str] = []
        self.distance = self.scenario.distance_km
        self.geography = self.scenario.geography
        people = self.scenario.defectors
        self.plan_counts = {
            level: sum(1 for p in result.new_areas if people[p].threat_level == level)
            for level in THREAT_LEVELS
            if level >= self.level
        }
        self.strict = False
        """True in the tie case: the person must be placed on top of the plan's count."""
        self._possible: dict[str, bool | None] = {}
        self._replanned: dict[str, _Replan | Literal["unknown"]] = {}

    # ------------------------------------------------------------ names

    def label(self, area: int) -> str:
        return self.geography.label(area)

    def who(self, index: int) -> str:
        person = self.scenario.defectors[index]
        return f"{person.id} (threat level {person.threat_level})"

    def by_level(self, indices: Iterable[int], limit: int = 2 * MAX_NAMED) -> str:
        """``D063 and D077 (threat level 5) and D068 (threat level 4)``, most threatened first."""
        people = self.scenario.defectors
        ordered = sorted(set(indices), key=lambda p: (-people[p].threat_level, people[p].id))
        shown, rest = ordered[:limit], len(ordered) - limit
        parts = []
        for level, group in itertools.groupby(shown, key=lambda p: people[p].threat_level):
            parts.append(f"{_and([people[p].id for p in group])} (threat level {level})")
        if rest > 0:
            parts.append(f"{rest} more")
        return _and(parts) or "no one else"

    def narrow_choices(self, indices: Iterable[int]) -> str:
        """``; D1 can use only Umeå or Luleå`` for competitors with one or two areas."""
        notes = []
        for p in indices:
            areas = self.candidates.people[p].areas
            if 0 < len(areas) <= 2:
                labels = _or([self.label(a) for a in areas])
                notes.append(f"{self.scenario.defectors[p].id} can use only {labels}")
        return "".join(f"; {note}" for note in notes[:MAX_NAMED])

    # ------------------------------------------------------------ verification

    def minimum(self) -> dict[int, int]:
        minimum = dict(self.plan_counts)
        if self.strict:
            minimum[self.level] += 1
        return minimum

    def possible(self, change: Mapping[str, Any]) -> bool | None:
        """With the change, can the person be placed without fewer at their level or above?"""
        key = _key(change)
        if key not in self._possible:
            if self.budget.expired():
                return None
            scenario = apply_change(self.scenario, change)
            candidates = Candidates(scenario, Threats(scenario))
            if not candidates.people[self.index].areas:
                self._possible[key] = False
            else:
                model = _Feasibility(candidates, self.index, self.minimum())
                self._possible[key] = model.solve(sorted(model.literals), self.budget)[0]
        return self._possible[key]

    def replan(self, change: Mapping[str, Any]) -> _Replan | Literal["unknown"]:
        """Where a full re-solve of the changed scenario places the person, and whom it unplaces.

        "unknown" when the time ran out, or when the re-solve leaves the person unplaced
        without proving that no better plan exists.
        """
        key = _key(change)
        if key not in self._replanned:
            settings = self.result.settings
            remaining = self.budget.remaining()
            if remaining <= 0.05:
                self.budget.ran_out = True
                return "unknown"
            changed = solve_scenario(
                apply_change(self.scenario, change),
                SolveSettings(
                    time_limit_s=min(settings.time_limit_s, remaining),
                    seed=settings.seed,
                    workers=settings.workers,
                    reproducible=settings.reproducible,
                ),
            )
            area = changed.new_areas.get(self.index)
            if area is None and not changed.primary_optimal:
                self._replanned[key] = "unknown"
            else:
                lost = tuple(sorted(p for p in self.result.new_areas if p not in changed.new_areas))
                self._replanned[key] = _Replan(area, lost)
        return self._replanned[key]

    def pick(self, options: Iterable[tuple[str, Mapping[str, Any]]]) -> _Remedy | None:
        """The first option that re-plans the person; else the first that makes room for them.

        Options come in order of preference (the smallest change first). Each is checked with
        the quick feasibility model; only those that pass are re-planned, at most
        ``MAX_REPLANS`` of them.
        """
        fallback: _Remedy | None = None
        replans = 0
        for what, change in itertools.islice(options, MAX_OPTIONS):
            if self.budget.expired():
                break
            if not self.possible(change):
                continue
            if fallback is None:
                fallback = _Remedy(what, change, None)
            if replans >= MAX_REPLANS:
                break
            replans += 1
            replanned = self.replan(change)
            if isinstance(replanned, _Replan) and replanned.area is not None:
                return _Remedy(what, change, replanned.area, replanned.unplaces)
        return fallback

    def largest(
        self, values: Iterable[float], change: Callable[[float], Mapping[str, Any]]
    ) -> list[float]:
        """The largest relaxed limit that makes room for the person, then the next ones down.

        Lowering a distance limit only removes constraints, so feasibility is monotone in the
        limit and a binary search over the candidate values takes a few solves.
        """
        ordered = sorted(set(values), reverse=True)
        low, high = 0, len(ordered) - 1
        found: int | None = None
        while low <= high and not self.budget.expired():
            middle = (low + high) // 2
            if self.possible(change(ordered[middle])):
                found = middle
                high = middle - 1
            else:
                low = middle + 1
        return [] if found is None else ordered[found : found + MAX_REPLANS]

    def remedy_text(self, remedy: _Remedy) -> str:
        x = self.defector.id
        if remedy.area is not None:
            cost = ""
            if remedy.unplaces:
                lost = self.by_level(remedy.unplaces)
                verb = "is" if len(remedy.unplaces) == 1 else "are"
                cost = f"; {lost}, placed in this plan, {verb} then left unplaced"
            return (
                f"{remedy.what} would let {x} be placed (re-planned with this change: {x} goes "
                f"to {self.label(remedy.area)}{cost})"
            )
        return (
            f"{remedy.what} would make room for {x} without placing fewer people at "
            f"{_levels_from(self.level)}, but a re-plan with it still leaves {x} unplaced "
            f"(the room then goes to others)"
        )

    def none_found(self, rule: RuleName) -> str:
        return f"no change of {rule} alone that was tried makes room for {self.defector.id}"

    # ------------------------------------------------------------ a person's own rules: words

    def predicate(self, person: PersonCandidates, rule: RuleName, *, plural: bool = False) -> str:
        """What an area must be for this rule, reading after "no area" (or "only A and B")."""
        d = person.defector
        policy = self.scenario.policy
        is_, has, offers = ("are", "have", "offer") if plural else ("is", "has", "offers")
        if rule == "threats":
            nets = person.threat_networks
            where = "territory" if len(nets) == 1 else "territories"
            return f"{is_} at least {_num(d.threat_buffer_km)} km from the {where} of {_and(nets)}"
        if rule == "origin":
            return (
                f"{is_} at least {_num(policy.origin_buffer_km)} km from {d.id}'s origin "
                f"{self.label(d.origin)}"
            )
        if rule == "keep_apart":
            partners = [self.scenario.defectors[p].id for p in self.placed_partners(person)]
            if len(partners) == 1:
                whom = f"{partners[0]} (already placed, to be kept apart from {d.id})"
            else:
                whom = (
                    f"each of the {len(partners)} already placed people {d.id} must be kept "
                    "apart from"
                )
            return f"{is_} at least {_num(policy.keep_apart_km)} km from {whom}"
        if rule == "same_network":
            return f"{has} room for another defector of {_and(d.networks)}"
        if rule == "capacity":
            return f"{has} {_plural(d.household, 'free housing unit')}"
        if rule == "services":
            return f"{offers} {_and(sorted(d.needs))}"
        return f"{is_} not on {d.id}'s avoid list"

    def placed_partners(self, person: PersonCandidates) -> list[int]:
        partners = self.candidates.threats.keep_apart_partners.get(person.index, ())
        return sorted(p for p in partners if self.scenario.defectors[p].placed_in is not None)

    def nearest_placed_partner(self, person: PersonCandidates, area: int) -> tuple[int, float]:
        best: tuple[int, float] | None = None
        for p in self.placed_partners(person):
            home = self.scenario.defectors[p].placed_in
            assert home is not None
            km = float(self.distance[area, home])
            if best is None or km < best[1]:
                best = (p, km)
        assert best is not None, "keep_apart rules an area out only near a placed partner"
        return best

    def blocked_fact(self, person: PersonCandidates, rule: RuleName, area: int) -> str:
        """Why this rule rules this area out for the person, with the checker's numbers."""
        d = person.defector
        policy = self.scenario.policy
        name = self.label(area)
        if rule == "threats":
            nearest = int(person.threat_nearest[area])
            km = float(person.threat_distance_km[area])
            networks = _and(self.candidates.threats.threat_territory(d).get(nearest, ()))
            if nearest == area:
                return f"{name} (territory of {networks})"
            return (
                f"{name} ({_below(km, d.threat_buffer_km)} km from {self.label(nearest)}, "
                f"territory of {networks})"
            )
        if rule == "origin":
            km = float(self.distance[area, d.origin])
            if area == d.origin:
                return f"{name} (the origin itself)"
            return f"{name} ({_below(km, policy.origin_buffer_km)} km from {self.label(d.origin)})"
        if rule == "keep_apart":
            partner, km = self.nearest_placed_partner(person, area)
            other = self.scenario.defectors[partner]
            assert other.placed_in is not None
            if other.placed_in == area:
                return f"{name} (where {other.id} lives)"
            return (
                f"{name} ({_below(km, policy.keep_apart_km)} km from {other.id} in "
                f"{self.label(other.placed_in)})"
            )
        if rule == "same_network":
            limit = policy.max_same_network_per_area
            full = [n for n in d.networks if _placed_count(self.candidates, n, area) >= limit]
            return f"{name} (already holds {limit} of {_and(full)})"
        if rule == "capacity":
            return f"{name} ({int(self.candidates.free_housing[area])} free)"
        if rule == "services":
            missing = sorted(d.needs - self.scenario.offers[area].services)
            return f"{name} (no {_and(missing)})"
        return name

    def closest_first(
        self, person: PersonCandidates, rule: RuleName, areas: BoolArray
    ) -> list[int]:
        """Areas ruled out by the rule, nearest misses first (those a small change frees)."""
        indices = [int(a) for a in np.flatnonzero(areas)]
        d = person.defector
        if rule == "threats":
            return sorted(indices, key=lambda a: -float(person.threat_distance_km[a]))
        if rule == "origin":
            return sorted(indices, key=lambda a: -float(self.distance[a, d.origin]))
        if rule == "keep_apart":
            return sorted(indices, key=lambda a: -float(person.partner_distance_km[a]))
        if rule == "capacity":
            return sorted(indices, key=lambda a: -int(self.candidates.free_housing[a]))
        if rule == "services":
            offers = self.scenario.offers
            return sorted(indices, key=lambda a: len(d.needs - offers[a].services))
        return indices

    # ------------------------------------------------------------ a person's own rules: remedies

    def own_rule_remedy(self, person: PersonCandidates, rule: RuleName) -> _Remedy | str:
        """Relax one of a person's own rules just enough to make room for the explained person.

        Only areas that this rule alone rules out (of all seven) can be freed by relaxing it;
        when there are none, relaxing it alone cannot help, and the returned text says why.
        """
        d = person.defector
        areas = self.only_rule_areas(person, rule)
        if not areas:
            also = sorted(
                {
                    other
                    for area in np.flatnonzero(~person.masks[rule])
                    for other in RULE_ORDER
                    if other != rule and not person.masks[other][int(area)]
                },
                key=RULE_ORDER.index,
            )
            return (
                f"relaxing {rule} alone cannot help: every area it rules out for {d.id} is also "
                f"ruled out by {_or(list(also))}"
            )
        policy = self.scenario.policy
        found: _Remedy | None = None
        if rule == "threats":

            def buffer(v: float) -> Mapping[str, Any]:
                return {"defector": {"id": d.id, "threat_buffer_km": v}}

            values = [_floor_km(float(person.threat_distance_km[a])) for a in areas]
            found = self.pick(
                (
                    f"a threat buffer of {_num(v)} km for {d.id} (now {_num(d.threat_buffer_km)})",
                    buffer(v),
                )
                for v in self.largest(values, buffer)
            )
        elif rule in ("origin", "keep_apart"):
            key = "origin_buffer_km" if rule == "origin" else "keep_apart_km"
            source = self.distance[:, d.origin] if rule == "origin" else person.partner_distance_km

            def limit(v: float) -> Mapping[str, Any]:
                return {"policy": {key: v}}

            now = _num(getattr(policy, key))
            values = [_floor_km(float(source[a])) for a in areas]
            found = self.pick(
                (f"{key} {_num(v)} km (now {now})", limit(v)) for v in self.largest(values, limit)
            )
        elif rule == "same_network":
            found = self.same_network_remedy()
        elif rule == "capacity":
            found = self.housing_remedy(areas, d.household)
        elif rule == "services":
            found = self.pick(self.service_options(person, areas))
        else:
            found = self.pick(
                (
                    f"lifting --forbid {d.id}={self.label(a)} (a what-if decision of the plan)"
                    if self.forbidden(a)
                    else f"{d.id} accepting {self.label(a)} (now on the avoid list)",
                    {
                        "defector": {
                            "id": d.id,
                            "avoid": sorted(self.geography.ids[b] for b in d.avoid if b != a),
                        }
                    },
                )
                for a in areas[:MAX_AREA_TRIALS]
            )
        return found if found is not None else self.none_found(rule)

    def forbidden(self, area: int) -> bool:
        """The area is on the person's avoid list only by a what-if --forbid of the plan."""
        original = self.result.original
        if original is None:
            return False
        return area in self.defector.avoid and area not in original.defectors[self.index].avoid

    def service_options(
        self, person: PersonCandidates, areas: Sequence[int]
    ) -> Iterable[tuple[str, Mapping[str, Any]]]:
        for area in areas[:MAX_AREA_TRIALS]:
            offer = self.scenario.offers[area]
            missing = sorted(person.defector.needs - offer.services)
            yield (
                f"offering {_and(missing)} in {self.label(area)}",
                {
                    "capacity": {
                        "area": self.geography.ids[area],
                        "services": sorted(offer.services | person.defector.needs),
                    }
                },
            )

    def housing_remedy(self, areas: Sequence[int], household: int) -> _Remedy | None:
        """More housing units in one of these areas: the fewest that work, area by area."""
        units = [o.housing_units for o in self.scenario.offers]

        def options() -> Iterable[tuple[str, Mapping[str, Any]]]:
            # The smallest addition first, across the areas, then one more unit, and so on.
            for step in range(MAX_EXTRA_UNITS):
                for area in areas[:MAX_AREA_TRIALS]:
                    free = int(self.candidates.free_housing[area])
                    total = int(self.candidates.placed_load[area]) + max(household, free + 1) + step
                    added = total - units[area]
                    yield (
                        f"{_plural(added, 'more housing unit')} in {self.label(area)} "
                        f"({total} instead of {units[area]})",
                        {"capacity": {"area": self.geography.ids[area], "housing_units": total}},
                    )

        return self.pick(options())

    def same_network_remedy(self) -> _Remedy | None:
        limit = self.scenario.policy.max_same_network_per_area
        return self.pick(
            (
                f"max_same_network_per_area {value} (now {limit})",
                {"policy": {"max_same_network_per_area": value}},
            )
            for value in range(limit + 1, limit + 1 + MAX_EXTRA_SAME_NETWORK)
        )

    def item(
        self,
        rule: RuleName,
        defectors: Iterable[str],
        areas: Iterable[int],
        text: str,
        remedy: _Remedy | str | None,
    ) -> ConflictItem:
        """A conflict item; a remedy that is only a remark (why none helps) joins the text."""
        if isinstance(remedy, str) or remedy is None:
            remark = remedy if isinstance(remedy, str) else self.none_found(rule)
            return ConflictItem(
                rule=rule,
                defectors=tuple(dict.fromkeys(defectors)),
                areas=tuple(self.geography.ids[a] for a in areas),
                text=f"{text}; {remark}",
            )
        return ConflictItem(
            rule=rule,
            defectors=tuple(dict.fromkeys(defectors)),
            areas=tuple(self.geography.ids[a] for a in areas),
            text=text,
            remedy=self.remedy_text(remedy),
            change=remedy.change,
            replanned=remedy.area is not None,
            unplaces=tuple(self.scenario.defectors[p].id for p in remedy.unplaces),
        )

    # ------------------------------------------------------------ case 1: no area

    def no_area(self) -> UnplacedExplanation:
        person = self.person
        masks = person.masks
        core = _smallest_empty_subset(masks)
        x = self.defector.id
        items = []
        for rule in core:
            others = [r for r in core if r != rule]
            allowed = np.ones(len(self.geography), dtype=np.bool_)
            for other in others:
                allowed &= masks[other]
            # Nearest misses are areas this rule alone rules out, so that none of them is
            # also barred by a rule the conflict does not name; failing that, each miss says
            # which other rules bar it too.
            nearest = self.only_rule_areas(person, rule) or self.closest_first(
                person, rule, allowed & ~masks[rule]
            )
            facts = [
                self.blocked_fact(person, rule, a) + self.also_broken(rule, a) for a in nearest[:3]
            ]
            count = int(allowed.sum())
            if others:
                scope = (
                    f"of the {_plural(count, 'area')} that "
                    f"{_and([self.predicate(person, r, plural=count != 1) for r in others])}, "
                    f"none "
                )
            else:
                scope = "no area "
            closest = f" (nearest misses: {'; '.join(facts)})" if facts else ""
            text = f"{rule}: {scope}{self.predicate(person, rule)}{closest}"
            items.append(
                self.item(rule, [x], nearest[:3], text, self.own_rule_remedy(person, rule))
            )
        summary = (
            f"{x} (threat level {self.level}) can be placed nowhere: no area "
            f"{_and([self.predicate(person, r) for r in core])}"
        )
        return self.finish("no_area", items, summary)

    # ------------------------------------------------------------ case 2: outcompeted

    def outcompeted(self) -> UnplacedExplanation:
        model = _Feasibility(self.candidates, self.index, self.minimum(), widened=[self.index])
        feasible, core, solution, minimal = _minimal_core(model, self.budget)
        kind: Kind = "outcompeted"
        instead: list[int] = []
        if feasible:
            people = self.scenario.defectors
            instead = sorted(
                p
                for p in self.result.new_areas
                if people[p].threat_level == self.level and p not in solution
            )
            self.strict = True
            kind = "tie"
            model = _Feasibility(self.candidates, self.index, self.minimum(), widened=[self.index])
            feasible, core, solution, minimal = _minimal_core(model, self.budget)
            if feasible:
                return self.placeable_anyway(solution)
        if feasible is None:
            self.notes.append("the time limit ran out before the first feasibility check ended")
            return self.finish(kind, [], f"{self.defector.id} is unplaced; not analysed in time")
        if not minimal:
            self.notes.append(
                "the time limit ran out while shrinking the conflict: it holds, but may not be "
                "minimal"
            )
        items = [self.conflict_item(model, group, core) for group in core]
        # Items with a verified remedy make room when relaxed alone; the others may not, and
        # for those the conflict that remains is looked for. A keep-apart remedy lowers
        # keep_apart_km for every pair, so a pair is always asked about alone (the model
        # drops exactly that pair's rows, so its answer holds).
        unhelped = [
            g
            for g, item in zip(core, items, strict=True)
            if item.remedy is None or g.rule == "keep_apart"
        ]
        further = self.further_cores(model, unhelped) if minimal else []
        summary = self.competition_summary(model, core, instead, further, unhelped)
        explanation = self.finish(kind, items, summary)
        return dataclasses.replace(
            explanation,
            further=tuple(
                FurtherConflict(
                    relaxing=tuple(self.group_label(g) for g in unhelped if g not in more),
                    conflict=tuple(self.conflict_item(model, group, more) for group in more),
                )
                for more in further
            ),
        )

    def further_cores(self, model: _Feasibility, unhelped: Sequence[_Group]) -> list[list[_Group]]:
        """For each item of the conflict that no change of its own was found to make room for
        (``unhelped``) and whose relaxing alone leaves no place in the model, a minimal conflict
        without it, unless one found already lacks it.

        A minimal conflict is minimal with every rule instance outside it relaxed. With them in
        force, relaxing one item may still leave no place (a keep-apart pair whose other areas
        lack a needed service or are full); the reader then needs that other conflict too, or
        they would relax the first item in vain. Items with a verified remedy are left out:
        the model relaxes housing only for people whose household fits today, so its "still no
        place" could contradict a remedy that a full re-plan confirmed.
        """
        found: list[list[_Group]] = []
        everything = sorted(model.literals)
        for group in unhelped:
            if self.budget.expired():
                break
            if any(group not in more for more in found):
                continue  # that conflict stands when this item alone is relaxed
            rest = [g for g in everything if g != group]
            feasible, more, _, _ = _minimal_core(model, self.budget, rest)
            if feasible is False and more:
                found.append(more)
        return found

    def group_label(self, group: _Group) -> str:
        """A rule instance of a conflict in a few words ("the housing in Umeå")."""
        people = self.scenario.defectors
        if group.own:
            return f"{group.rule} for {people[group.person].id}"
        if group.rule == "capacity":
            return f"the housing in {self.label(group.area)}"
        if group.rule == "same_network":
            return f"the same-network limit for {group.network} in {self.label(group.area)}"
        first, second = group.pair
        return f"the keep-apart of {people[first].id} and {people[second].id}"

    def placeable_anyway(self, solution: Mapping[int, int]) -> UnplacedExplanation:
        x = self.defector.id
        self.notes.append(
            "the plan was not proven best: the search stopped at its time limit"
            if not self.result.primary_optimal
            else "the plan's counts per threat level leave room for this person; re-solve"
        )
        # The feasible plan found may rearrange others: say so, and name any area that is
        # open to the person in this very plan.
        people = self.scenario.defectors
        everyone = {i: d.placed_in for i, d in enumerate(people) if d.placed_in is not None}
        everyone.update(self.result.new_areas)
        open_now = self.candidates.evaluate(self.index, Occupancy.of(self.scenario, everyone)).areas
        summary = (
            f"{x} could be placed too without placing fewer people at "
            f"{_levels_from(self.level)}: a better plan exists than this one (one such plan "
            f"puts {x} in {self.label(solution[self.index])}"
            + (
                f"; in this plan, {_and([self.label(a) for a in open_now])} "
                f"{'is' if len(open_now) == 1 else 'are'} still open to {x})"
                if len(open_now)
                else ", moving others)"
            )
        )
        return self.finish("placeable", [], summary)

    def open_areas(self, person: int) -> list[int]:
        """The areas a person's own rules allow (given who is already placed)."""
        return list(self.candidates.people[person].areas)

    def users(self, model: _Feasibility, area: int, rule: RuleName) -> list[int]:
        """Others at the explained level or above whom the coupling rule at an area concerns."""
        people = self.scenario.defectors
        return sorted(
            {
                p
                for (p, a) in model.vars
                if a == area
                and p != self.index
                and people[p].threat_level >= self.level
                and (p not in model.widened or self.candidates.people[p].masks[rule][a])
            }
        )

    def only_rule_areas(self, person: PersonCandidates, rule: RuleName) -> list[int]:
        """Areas that this rule alone rules out for the person, nearest misses first."""
        others_allow = np.ones(len(self.geography), dtype=np.bool_)
        for other in RULE_ORDER:
            if other != rule:
                others_allow &= person.masks[other]
        return self.closest_first(person, rule, others_allow & ~person.masks[rule])

    def own_item(self, group: _Group) -> ConflictItem:
        """One own rule of the person: the areas it alone rules out, with the numbers."""
        person = self.candidates.people[group.person]
        pid = person.defector.id
        freed = self.only_rule_areas(person, group.rule)
        facts = [self.blocked_fact(person, group.rule, a) for a in freed]
        text = (
            f"{group.rule} for {pid}: an area must be one that "
            f"{self.predicate(person, group.rule)}; this alone rules out "
            f"{_plural(len(freed), 'area')} that {pid}'s other rules allow: {_some(facts, 3)}"
        )
        return self.item(
            group.rule,
            [pid],
            freed[:MAX_NAMED],
            text,
            self.own_rule_remedy(person, group.rule),
        )

    def conflict_item(
        self, model: _Feasibility, group: _Group, core: Sequence[_Group]
    ) -> ConflictItem:
        """One group of the conflict in words, with its remedy."""
        if group.own:
            return self.own_item(group)
        if group.rule == "keep_apart":
            return self.keep_apart_item(model, group, core)
        people = self.scenario.defectors
        x = self.defector.id
        area = group.area
        if group.rule == "capacity":
            users = self.users(model, area, "capacity")
            free = int(self.candidates.free_housing[area])
            units = self.scenario.offers[area].housing_units
            used = int(self.candidates.placed_load[area])
            big = [
                f"{people[p].id} {people[p].household}" for p in users if people[p].household > 1
            ]
            blocked = self.own_block(area)
            whose = (
                f"{x} needs {self.defector.household}, and {self.by_level(users)} could also use it"
                if blocked is None
                else f"{self.by_level(users)} could use it; {x} cannot ({blocked})"
            )
            text = (
                f"capacity: {self.label(area)} has {_plural(free, 'free housing unit')} "
                f"({units} in all"
                + (f", {used} used by people already placed" if used else "")
                + f"); {whose}"
                + (f" (households needing more than one unit: {_and(big)})" if big else "")
                + self.narrow_choices(users)
            )
            remedy = self.housing_remedy([area], self.defector.household)
            return self.item("capacity", [x, *(people[p].id for p in users)], [area], text, remedy)
        network = group.network
        users = [
            p for p in self.users(model, area, "same_network") if network in people[p].networks
        ]
        already = [d.id for d in people if d.placed_in == area and network in d.networks]
        limit = self.scenario.policy.max_same_network_per_area
        blocked = self.own_block(area)
        mine = network in self.defector.networks and blocked is None
        members = ([self.index] if mine else []) + users
        text = (
            f"same_network: {self.label(area)} may hold {_plural(limit, 'defector')} of {network}"
            + (f" ({_and(already)} already there)" if already else "")
            + f"; {self.by_level(members)} of {network} could go there"
            + (f"; {x} cannot ({blocked})" if blocked is not None else "")
            + self.narrow_choices(users)
        )
        return self.item(
            "same_network",
            [people[p].id for p in members],
            [area],
            text,
            self.same_network_remedy(),
        )

    def also_broken(self, rule: RuleName, area: int) -> str:
        """`` (also threats and services)``: the explained person's other rules the area breaks."""
        others = [r for r in RULE_ORDER if r != rule and not self.person.masks[r][area]]
        return f" (also {_and(others)})" if others else ""

    def own_block(self, area: int) -> str | None:
        """Why the explained person's own rules rule the area out (the first rule), or None.

        A coupling rule (housing, same network) of the conflict can be about an area only others
        may use: its words must not suggest the explained person could live there.
        """
        for rule in RULE_ORDER:
            if not self.person.masks[rule][area]:
                return f"{rule}: {self.blocked_fact(self.person, rule, area)}"
        return None

    def conflict_areas(self, model: _Feasibility, person: int, core: Sequence[_Group]) -> list[int]:
        """The areas a person may use in the conflict's terms.

        For the explained person these are the areas that break at most one of their own
        rules, less those ruled out by the own rules the conflict names; for everyone else,
        their candidate areas.
        """
        masks = self.candidates.people[person].masks
        own = [g.rule for g in core if g.own and g.person == person]
        return [a for a in model.areas[person] if all(masks[rule][a] for rule in own)]

    def keep_apart_item(
        self, model: _Feasibility, group: _Group, core: Sequence[_Group]
    ) -> ConflictItem:
        people = self.scenario.defectors
        limit = self.scenario.policy.keep_apart_km
        first, second = group.pair
        if second == self.index:
            first, second = second, first
        why = self.pair_reason(group.pair)
        mine = self.conflict_areas(model, first, core)
        theirs = self.conflict_areas(model, second, core)
        close = sorted(
            {
                (float(self.distance[a, b]), min(a, b), max(a, b))
                for a in mine
                for b in theirs
                if a != b and self.distance[a, b] < limit
            },
            reverse=True,
        )
        same = sorted(set(mine) & set(theirs))
        facts = [
            f"{self.label(a)} to {self.label(b)} {_below(d, limit)} km" for d, a, b in close[:3]
        ]
        if len(close) > 3:
            facts.append(f"{len(close) - 3} more pairs")
        if same:
            facts.append(f"both could use {_some([self.label(a) for a in same], 3)}")
        can_use = [
            f"{people[p].id} can use {_some([self.label(a) for a in self.open_areas(p)])}"
            for p in (first, second)
        ]
        # In the conflict's terms the explained person may use areas their own rules bar
        # (those rules are relaxed there): a pair quoted with such an area says so.
        quoted = {a for _, a, b in close[:3]} | {b for _, a, b in close[:3]} | set(same)
        barred = [
            f"{people[first].id} cannot use {self.label(a)} ({block})"
            for a in sorted(quoted & set(mine))
            if first == self.index and (block := self.own_block(a)) is not None
        ]
        text = (
            f"keep_apart: {self.who(first)} and {self.who(second)} must live at least "
            f"{_num(limit)} km apart ({why}); {'; '.join(can_use)}; too close: "
            f"{'; '.join(facts)}" + "".join(f"; {fact}" for fact in barred)
        )
        # The new limit comes from the areas the two may really use (their full candidate
        # sets); the binary search then confirms the largest one that makes room.
        values = [
            _floor_km(float(self.distance[a, b]))
            for a in self.candidates.people[first].areas
            for b in self.candidates.people[second].areas
            if self.distance[a, b] < limit
        ]

        def relaxed(v: float) -> Mapping[str, Any]:
            return {"policy": {"keep_apart_km": v}}

        remedy = self.pick(
            (f"keep_apart_km {_num(v)} km (now {_num(limit)})", relaxed(v))
            for v in self.largest(values, relaxed)
        )
        areas = sorted({a for _, a, _ in close[:3]} | {b for _, _, b in close[:3]} | set(same))
        return self.item("keep_apart", [people[first].id, people[second].id], areas, text, remedy)

    def pair_reason(self, pair: tuple[int, int]) -> str:
        for candidate in self.candidates.threats.keep_apart_pairs:
            if (candidate.first, candidate.second) == pair:
                return candidate.describe(self.scenario)
        return "kept apart"

    def competition_summary(
        self,
        model: _Feasibility,
        core: Sequence[_Group],
        instead: Sequence[int],
        further: Sequence[Sequence[_Group]] = (),
        unhelped: Sequence[_Group] = (),
    ) -> str:
        people = self.scenario.defectors
        x = self.defector.id
        clauses = self.core_clauses(model, core)
        said = set(clauses)
        for more in further:
            relaxed = _or([self.group_label(g) for g in unhelped if g not in more])
            new = [c for c in self.core_clauses(model, more) if c not in said]
            said.update(new)
            clauses.append(
                f"relaxing {relaxed} alone is not enough"
                + (f": {'; '.join(new)}" if new else " (see below)")
            )
        if instead:
            # Not "whom the plan prefers": on equal points the choice is the solver's tie-break.
            # ``instead`` comes from one plan that places the person: others of the level may
            # be as good a swap, so they are named as an example, never as the only ones.
            head = (
                f"{x} (threat level {self.level}) could be placed only in place of someone else "
                f"of that threat level (one plan placing {x} leaves out "
                f"{_and([people[p].id for p in instead])}); no plan places one more there, and "
                "this one chose by margins, waits, wishes and spread, which may rate them equal "
                "(placement alternatives shows other choices)"
            )
        else:
            head = (
                f"{x} (threat level {self.level}) cannot be placed without placing fewer people "
                f"at {_levels_from(self.level)}"
            )
        return f"{head}: {'; '.join(clauses)}" if clauses else head

    def core_clauses(self, model: _Feasibility, core: Sequence[_Group]) -> list[str]:
        """The conflict's rule instances as short clauses for the summary."""
        people = self.scenario.defectors
        x = self.defector.id
        clauses: list[str] = []
        for person in sorted({g.person for g in core if g.own}):
            pc = self.candidates.people[person]
            counts = [
                (len(self.only_rule_areas(pc, g.rule)), _ASPECT[g.rule])
                for g in core
                if g.own and g.person == person
            ]
            failing = [
                f"{n} {'fails' if n == 1 else 'fail'} on {aspect} alone"
                if position == 0
                else f"{n} on {aspect} alone"
                for position, (n, aspect) in enumerate(counts)
            ]
            open_areas = [self.label(a) for a in self.open_areas(person)]
            clauses.append(
                f"{pc.defector.id}'s own rules allow only {_some(open_areas)}; of the other "
                f"areas, {_and(failing)}"
            )
        housing = [g for g in core if g.rule == "capacity" and not g.own]
        if housing:
            wanted = self.by_level(
                {p for g in housing for p in self.users(model, g.area, "capacity")}
            )
            barred = [self.label(g.area) for g in housing if self.own_block(g.area) is not None]
            # "also" only where the person could live: say which areas their own rules bar.
            aside = f" ({x}'s own rules rule out {_and(barred)})" if barred else ""
            if len(housing) == 1:
                area = housing[0].area
                free = int(self.candidates.free_housing[area])
                clauses.append(
                    f"{self.label(area)}'s {_plural(free, 'free housing unit')} "
                    f"{'is' if free == 1 else 'are'} {'' if barred else 'also '}wanted by "
                    f"{wanted}{aside}"
                )
            else:
                free_units = [
                    f"{self.label(g.area)} ({int(self.candidates.free_housing[g.area])})"
                    for g in housing
                ]
                clauses.append(
                    f"the free housing units in {_and(free_units)} are also wanted by "
                    f"{wanted}{aside}"
                )
        for group in core:
            if group.rule == "same_network" and not group.own:
                others = [
                    p
                    for p in self.users(model, group.area, "same_network")
                    if group.network in people[p].networks
                ]
                limit = self.scenario.policy.max_same_network_per_area
                there = _placed_count(self.candidates, group.network, group.area)
                room = max(limit - there, 0)
                clauses.append(
                    f"{self.label(group.area)} has room for {room} more of {group.network} "
                    f"(at most {limit}"
                    + (f", {there} already there" if there else "")
                    + f"), also wanted by {self.by_level(others)}"
                )
            elif group.rule == "keep_apart" and not group.own:
                first, second = group.pair
                if self.index in group.pair:
                    other = second if first == self.index else first
                    subject = f"{x} and {self.who(other)}"
                else:
                    subject = f"{self.who(first)} and {self.who(second)}"
                clauses.append(
                    f"{subject} must live at least {_num(self.scenario.policy.keep_apart_km)} km "
                    f"apart ({self.pair_reason(group.pair)})"
                )
        return clauses

    # ------------------------------------------------------------ result

    def finish(self, kind: Kind, items: list[ConflictItem], summary: str) -> UnplacedExplanation:
        ordered = sorted((i for i in items if i.remedy is not None), key=lambda i: not i.replanned)
        remedies = tuple(dict.fromkeys(i.remedy for i in ordered if i.remedy is not None))
        if self.budget.ran_out:
            self.notes.append(
                "the time limit ran out: the answer is partial (some remedies were not tried)"
            )
        return UnplacedExplanation(
            defector=self.defector.id,
            threat_level=self.level,
            kind=kind,
            conflict=tuple(items),
            summary=summary,
            remedies=remedies,
            notes=tuple(dict.fromkeys(self.notes)),
            complete=not self.budget.ran_out,
        )


def _smallest_empty_subset(masks: Mapping[RuleName, BoolArray]) -> list[RuleName]:
    """The fewest rules whose masks together allow no area (first in rule order on a tie).

    With seven rules, all 127 subsets are cheap to try, so the answer is a minimum.
    """
    for size in range(1, len(RULE_ORDER) + 1):
        for subset in itertools.combinations(RULE_ORDER, size):
            allowed = np.ones_like(masks[subset[0]])
            for rule in subset:
                allowed &= masks[rule]
            if not allowed.any():
                return list(subset)
    raise ValueError("the person's rules allow some area; nothing to explain")


# --------------------------------------------------------------------------- entry point


def explain_unplaced(
    result: SolveResult, defector_index: int, *, time_limit_s: float = 10.0
) -> UnplacedExplanation:
    """Why a pending defector is unplaced in this solve, and what would let them be placed.

    Raises ``ValueError`` when the person is already placed or placed by this solve.
    """
    person = result.scenario.defectors[defector_index]
    if person.placed_in is not None or defector_index in result.new_areas:
        raise ValueError(f"{person.id} is placed; only unplaced people can be explained")
    explainer = _Explainer(result, defector_index, _Budget(time_limit_s))
    if not explainer.person.areas:
        return explainer.no_area()
    return explainer.outcompeted()


def explain_unplaced_in_plan(
    scenario: Scenario,
    plan: Plan,
    defector: str,
    *,
    candidates: Candidates | None = None,
    time_limit_s: float = 10.0,
) -> UnplacedExplanation:
    """``explain_unplaced`` for a plan read from a file, without solving it again.

    The plan's placements of pending people stand in for a solve's decisions; whether its
    primary objective was proven is read from its metrics (a hand-made plan counts as not
    proven). Raises ``ValueError`` when the person has an area in the plan.

    An already placed person the plan moves (a what-if pin or forbid) is one of the people it
    placed, and their old home is free, as in the what-if solve that made the plan; one the
    plan leaves out still lives at home.
    """
    from placement.errors import InputError
    from placement.explain import where_people_live
    from placement.solve import decided_scenario
    from placement.whatif import WhatIf, resolve_decisions

    areas = where_people_live(scenario, plan)
    original = scenario
    try:  # the pins and forbids the plan records, as the solve that made it applied them
        decisions = resolve_decisions(scenario, WhatIf.of_plan(plan))
        scenario, moved = decided_scenario(scenario, decisions.pins, decisions.forbids)
    except InputError:  # decisions naming nothing here (already said by check)
        moved = {}
    people = scenario.defectors
    by_hand = {
        i: home for i, a in areas.items() if (home := people[i].placed_in) is not None and home != a
    }
    if by_hand:  # moves no recorded decision asks for: their homes are free all the same
        moved.update(by_hand)
        scenario = scenario.with_pending(by_hand)
    if scenario is not original:
        candidates = None  # those given see the world before the decisions
    metrics = (plan.model_extra or {}).get("metrics", {})
    provenance = (plan.model_extra or {}).get("provenance", {})
    settings = SolveSettings(
        seed=int(provenance.get("seed", 0)), workers=int(provenance.get("workers", 1))
    )
    result = SolveResult(
        scenario=scenario,
        candidates=candidates or Candidates(scenario),
        settings=settings,
        new_areas={i: a for i, a in areas.items() if scenario.defectors[i].placed_in is None},
        primary_optimal=bool(metrics.get("primary_optimal", False)),
        moved=moved,
        original=original if scenario is not original else None,
    )
    explanation = explain_unplaced(
        result, scenario.defector_index[defector], time_limit_s=time_limit_s
    )
    what_if = WhatIf.of_plan(plan)
    if what_if.pins or what_if.forbids:
        decided = " ".join(
            [*(f"--pin {p}" for p in what_if.pins), *(f"--forbid {f}" for f in what_if.forbids)]
        )
        note = (
            f"explained as the plan was made, with its what-if decisions ({decided}): a "
            "forbidden area counts as on the person's avoid list, a pinned person may use only "
            "the pinned area"
        )
        explanation = dataclasses.replace(explanation, notes=(*explanation.notes, note))
    return explanation


__all__ = [
    "CONFLICTS_FORMAT",
    "ConflictItem",
    "UnplacedExplanation",
    "apply_change",
    "explain_unplaced",
    "explain_unplaced_in_plan",
]
