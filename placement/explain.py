"""Explanations a reviewer can check by hand: why here, why not there, and recommendations.

Every statement is a fact about one rule for one person in one area, computed by the shared
rule evaluation (``placement.candidates``) against where everyone else lives in the plan, from
the same distance matrix the checker uses. Each fact carries its exact numbers (distance and
required distance, units free and needed), so tests and other tools can verify it; the text
shows distances rounded *down* to 0.1 km, so a quoted distance never overstates a margin.

- ``explain_plan``: for every person in a plan, each rule with its margin at their area (and,
  for already placed people, whether their place still keeps every rule).
- ``rank_areas``: for one person, every area -- allowed ones ranked by this project's secondary
  objective (what choosing them gains or costs), excluded ones with the first rule that rules
  them out there.
- ``recommend``: ``rank_areas`` for a pending or new case against the current placements.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from placement.candidates import RULE_ORDER, Candidates, Occupancy, PersonCandidates
from placement.objectives import CROWDING_POINTS, ScoreParts, score_parts
from placement.plan import Plan
from placement.rules import RuleName
from placement.scenario import Scenario

if TYPE_CHECKING:
    from placement.conflicts import UnplacedExplanation

EXPLANATION_FORMAT = "placement-explanation/1"
RECOMMENDATION_FORMAT = "placement-recommendation/1"
Format = Literal["text", "markdown", "json"]


def floor_km(value: float) -> str:
    """A distance for reading, rounded down to 0.1 km: never larger than the true distance."""
    if math.isinf(value):
        return "unlimited"
    return f"{math.floor(value * 10) / 10:.1f} km"


def _num(value: float) -> str:
    return f"{value:g}"


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass(frozen=True)
class RuleFact:
    """One rule for one person in one area: kept or broken, in words and in numbers."""

    rule: RuleName
    ok: bool
    text: str
    value: float | None = None
    """The measured quantity: a distance in km, free housing units, or a head count."""
    required: float | None = None
    """What the rule requires of ``value`` (a minimum distance or units, a maximum count)."""
    who: str | None = None
    """The network, defector or area the fact is about, when there is one."""

    def to_dict(self, *, with_rule: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule} if with_rule else {}
        data.update(ok=self.ok, text=self.text)
        if self.value is not None:
            data["value"] = None if math.isinf(self.value) else self.value
        if self.required is not None:
            data["required"] = self.required
        if self.who is not None:
            data["who"] = self.who
        return data


@dataclass(frozen=True)
class AreaVerdict:
    """One area for one person: every rule's fact, the first broken rule, and the score."""

    area: str
    area_name: str
    facts: tuple[RuleFact, ...]
    score: ScoreParts | None
    """This project's secondary-objective points for the person there (allowed areas only)."""

    @property
    def allowed(self) -> bool:
        return all(f.ok for f in self.facts)

    @property
    def blocking(self) -> RuleFact | None:
        return next((f for f in self.facts if not f.ok), None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "area": self.area,
            "area_name": self.area_name,
            "allowed": self.allowed,
        }
        blocking = self.blocking
        if blocking is not None:
            data["blocking_rule"] = blocking.rule
            data["reason"] = blocking.text
        if self.score is not None:
            data["score"] = {
                "total": self.score.total,
                "margin": self.score.margin,
                "wait": self.score.wait,
                "preference": self.score.preference,
                "spread": self.score.spread,
            }
        data["rules"] = [f.to_dict() for f in self.facts]
        return data


class _Facts:
    """Builds the rule facts of one evaluated person (``PersonCandidates``) at an area."""

    def __init__(self, candidates: Candidates, person: PersonCandidates, occupancy: Occupancy):
        self.scenario = candidates.scenario
        self.candidates = candidates
        self.person = person
        self.occupancy = occupancy

    def label(self, area: int) -> str:
        return self.scenario.geography.label(area)

    def at(self, area: int) -> tuple[RuleFact, ...]:
        return tuple(getattr(self, f"_{rule}")(area) for rule in RULE_ORDER)

    def _threats(self, area: int) -> RuleFact:
        person, buffer = self.person, self.person.defector.threat_buffer_km
        distance = float(person.threat_distance_km[area])
        nearest = int(person.threat_nearest[area])
        if nearest < 0:
            return RuleFact("threats", True, "no threatening network has a territory")
        networks = "/".join(person.territory_networks[nearest])
        ok = bool(person.masks["threats"][area])
        where = f"{networks}'s territory in {self.label(nearest)}"
        text = (
            f"{floor_km(distance)} from {where}, needs {_num(buffer)} km"
            if not ok
            else f"nearest threat {where} is {floor_km(distance)} away "
            f"(needs {_num(buffer)} km; margin {floor_km(distance - buffer)})"
        )
        return RuleFact("threats", ok, text, distance, buffer, networks)

    def _origin(self, area: int) -> RuleFact:
        required = self.scenario.policy.origin_buffer_km
        distance = float(self.person.origin_distance_km[area])
        origin = self.label(self.person.defector.origin)
        ok = bool(self.person.masks["origin"][area])
        text = f"{floor_km(distance)} from the origin {origin}, needs {_num(required)} km"
        return RuleFact("origin", ok, text, distance, required, origin)

    def _keep_apart(self, area: int) -> RuleFact:
        required = self.scenario.policy.keep_apart_km
        other = int(self.person.partner_nearest[area])
        if other < 0:
            return RuleFact("keep_apart", True, "nobody to keep apart from lives anywhere yet")
        distance = float(self.person.partner_distance_km[area])
        who = self.scenario.defectors[other].id
        where = self.label(self.occupancy.areas_of[other])
        ok = bool(self.person.masks["keep_apart"][area])
        text = f"{floor_km(distance)} from {who} in {where}, needs {_num(required)} km"
        return RuleFact("keep_apart", ok, text, distance, required, who)

    def _same_network(self, area: int) -> RuleFact:
        limit = self.scenario.policy.max_same_network_per_area
        count = int(self.person.same_network_count[area])
        mine = set(self.person.defector.networks)
        there = sorted(
            self.scenario.defectors[i].id
            for i, a in self.occupancy.areas_of.items()
            if a == area
            and i != self.person.index
            and mine & set(self.scenario.defectors[i].networks)
        )
        ok = bool(self.person.masks["same_network"][area])
        nets = "/".join(self.person.defector.networks)
        if not there:
            text = f"no other defector of {nets} lives there (at most {limit})"
        else:
            text = f"{_and(there)} of {nets} already live{'s' if len(there) == 1 else ''} there"
            text += f" (at most {limit} per network)"
        return RuleFact("same_network", ok, text, count, limit, ", ".join(there) or None)

    def _capacity(self, area: int) -> RuleFact:
        free = int(self.person.free_housing[area])
        units = self.scenario.offers[area].housing_units
        need = self.person.defector.household
        ok = bool(self.person.masks["capacity"][area])
        text = (
            f"{units} housing units, {units - free} used by others, {max(free, 0)} free; "
            f"the household needs {need}"
        )
        return RuleFact("capacity", ok, text, free, need)

    def _services(self, area: int) -> RuleFact:
        needs = sorted(self.person.defector.needs)
        offer = self.scenario.offers[area]
        missing = [s for s in needs if s not in offer.services]
        if not needs:
            return RuleFact("services", True, "needs no particular service")
        if missing:
            return RuleFact("services", False, f"does not offer {_and(missing)}")
        waits = [f"{s} {_num(offer.wait_weeks[s])} weeks" for s in needs if s in offer.wait_weeks]
        text = f"offers {_and(needs)}" + (f" (waits: {', '.join(waits)})" if waits else "")
        return RuleFact("services", True, text)

    def _avoid(self, area: int) -> RuleFact:
        ok = bool(self.person.masks["avoid"][area])
        return RuleFact("avoid", ok, "not on the avoid list" if ok else "on the avoid list")


@dataclass(frozen=True)
class _Spread:
    """The crowding a newcomer adds to an area, given the plan's other newcomers."""

    newcomers: Mapping[int, int]
    here: int | None
    """The person's own area in the plan: they are not one of the others there."""

    def points(self, area: int) -> int:
        others = self.newcomers.get(area, 0) - (area == self.here)
        return -CROWDING_POINTS if others > 0 else 0


def _verdict(
    facts: _Facts,
    area: int,
    scoring: PersonCandidates | None = None,
    spread: _Spread | None = None,
) -> AreaVerdict:
    """The area's rule facts, and for an allowed area its points.

    ``scoring`` is the person as the secondary objective sees them (margins against the
    people placed before the plan); by default, against everyone ``facts`` holds. ``spread``
    adds the crowding the person would bring there.
    """
    rule_facts = facts.at(area)
    allowed = all(f.ok for f in rule_facts)
    score = None
    if allowed:
        parts = score_parts(facts.candidates, scoring or facts.person, area)
        score = dataclasses.replace(parts, spread=spread.points(area) if spread else 0)
    geography = facts.scenario.geography
    return AreaVerdict(geography.ids[area], geography.label(area), rule_facts, score)


def plan_areas(scenario: Scenario, plan: Plan) -> dict[int, int]:
    """Defector index -> area index for every valid assignment in a plan (first one wins)."""
    index = scenario.defector_index
    areas: dict[int, int] = {}
    for entry in plan.assignments:
        person = index.get(entry.defector)
        area = scenario.geography.index_of(entry.area)
        if person is not None and area is not None:
            areas.setdefault(person, area)
    return areas


def where_people_live(scenario: Scenario, plan: Plan) -> dict[int, int]:
    """``plan_areas``, plus the already placed people the plan leaves out or lists as unplaced.

    They live where they did all the same (the contract: placed people stay unless moved), so
    they count for everyone else's distances and housing, as the checker counts them.
    """
    areas = plan_areas(scenario, plan)
    for index, person in enumerate(scenario.defectors):
        if person.placed_in is not None:
            areas.setdefault(index, person.placed_in)
    return dict(sorted(areas.items()))


def safety_margin(facts: Sequence[RuleFact]) -> float | None:
    """The safety margin at a place: km beyond the required distance to the nearest threat,
    a threatening territory or a kept-apart person; None when nothing threatens there."""
    margins = [
        f.value - f.required
        for f in facts
        if f.rule in ("threats", "keep_apart")
        and f.value is not None
        and f.required is not None
        and not math.isinf(f.value)
    ]
    return min(margins) if margins else None


def rule_facts(
    candidates: Candidates, areas_of: Mapping[int, int]
) -> dict[int, tuple[RuleFact, ...]]:
    """Every placed person's rule facts at their own area, given everyone's placements."""
    occupancy = Occupancy.of(candidates.scenario, areas_of)
    return {
        index: _Facts(candidates, candidates.evaluate(index, occupancy), occupancy).at(area)
        for index, area in sorted(areas_of.items())
    }


# --------------------------------------------------------------------------- explain


@dataclass(frozen=True)
class PersonExplanation:
    """Why a person is where the plan puts them (or why nowhere), rule by rule."""

    defector: str
    threat_level: int
    status: Literal["newly placed", "already placed", "unplaced"]
    here: AreaVerdict | None
    """The person's area in the plan, with every rule's fact there."""
    reasons: tuple[str, ...] = ()
    """For unplaced people: the plan's reasons."""
    ranking: tuple[AreaVerdict, ...] = ()
    """With a single-person request: every other area, allowed ones ranked first."""
    preferred: bool | None = None
    conflict: UnplacedExplanation | None = None
    """With a single-person request for an unplaced person: the rules and cases that together
    leave no place, and verified remedies (``placement.conflicts``)."""

    @property
    def breaks(self) -> tuple[RuleFact, ...]:
        """Rules the person's current area breaks (already placed people can be affected)."""
        return tuple(f for f in self.here.facts if not f.ok) if self.here else ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "defector": self.defector,
            "threat_level": self.threat_level,
            "status": self.status,
        }
        if self.here is not None:
            data["area"] = self.here.to_dict()
            data["safe"] = not self.breaks
            data["preferred"] = self.preferred
        if self.reasons:
            data["reasons"] = list(self.reasons)
        if self.conflict is not None:
            data["why_unplaced"] = self.conflict.to_dict()
        if self.ranking:
            data["other_areas"] = [v.to_dict() for v in self.ranking]
        return data


@dataclass(frozen=True)
class PlanExplanation:
    scenario: Scenario
    people: tuple[PersonExplanation, ...]
    notes: tuple[str, ...] = ()
    """What the reader must know first (e.g. which rules a what-if plan is explained under)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": EXPLANATION_FORMAT,
            "scenario": {"name": self.scenario.name, "sha256": self.scenario.sha256},
            "notes": list(self.notes),
            "people": [p.to_dict() for p in self.people],
        }


def explain_plan(
    scenario: Scenario,
    plan: Plan,
    *,
    defector: str | None = None,
    candidates: Candidates | None = None,
) -> PlanExplanation:
    """Explain every person of a plan, or one person with every other area ranked.

    Raises ``KeyError`` for an unknown ``defector`` id.
    """
    candidates = candidates or Candidates(scenario)
    occupancy = Occupancy.of(scenario, where_people_live(scenario, plan))
    # Newcomers per area (newly placed or moved): the spread term of the secondary objective.
    newcomers = Counter(
        area
        for index, area in occupancy.areas_of.items()
        if scenario.defectors[index].placed_in != area
    )
    reasons = {u.defector: tuple(u.reasons) for u in plan.unplaced}
    if defector is not None:
        indices = [scenario.defector_index[defector]]
    else:
        indices = list(range(len(scenario.defectors)))
    people = []
    for index in indices:
        person = scenario.defectors[index]
        evaluated = candidates.evaluate(index, occupancy)
        facts = _Facts(candidates, evaluated, occupancy)
        area = occupancy.areas_of.get(index)
        # A pending person's points as the solver counts them: margins against the people
        # placed before the plan, and the crowding they add among the plan's newcomers; so
        # "+N vs here" is what moving them alone would change in the plan's objective.
        scoring = candidates.people.get(index) if person.placed_in is None else None
        spread = _Spread(newcomers, here=area) if scoring is not None else None
        ranking: tuple[AreaVerdict, ...] = ()
        if defector is not None:
            others = [a for a in range(len(scenario.geography)) if a != area]
            ranking = tuple(_ranked([_verdict(facts, a, scoring, spread) for a in others]))
        if area is None:
            status: Literal["newly placed", "already placed", "unplaced"] = "unplaced"
        elif person.placed_in == area:
            status = "already placed"
        else:
            status = "newly placed"
        conflict = None
        if defector is not None and area is None and person.placed_in is None:
            from placement.conflicts import explain_unplaced_in_plan

            conflict = explain_unplaced_in_plan(scenario, plan, person.id, candidates=candidates)
        people.append(
            PersonExplanation(
                conflict=conflict,
                defector=person.id,
                threat_level=person.threat_level,
                status=status,
                here=_verdict(facts, area, scoring, spread) if area is not None else None,
                reasons=reasons.get(person.id, ()),
                ranking=ranking,
                preferred=(area in person.prefer) if area is not None else None,
            )
        )
    return PlanExplanation(scenario, tuple(people))


def _ranked(verdicts: list[AreaVerdict]) -> list[AreaVerdict]:
    """Allowed areas by score (best first), then excluded ones by first rule, then name."""
    allowed = sorted(
        (v for v in verdicts if v.allowed),
        key=lambda v: (-(v.score.total if v.score else 0), v.area_name),
    )
    excluded = sorted(
        (v for v in verdicts if not v.allowed),
        key=lambda v: (RULE_ORDER.index(v.blocking.rule) if v.blocking else 0, v.area_name),
    )
    return allowed + excluded


# --------------------------------------------------------------------------- recommend


@dataclass(frozen=True)
class Recommendation:
    scenario: Scenario
    defector: str
    threat_level: int
    ranking: tuple[AreaVerdict, ...]
    context: str
    """Whose placements were taken as fixed (already placed people, or a plan)."""

    @property
    def allowed(self) -> tuple[AreaVerdict, ...]:
        return tuple(v for v in self.ranking if v.allowed)

    @property
    def excluded(self) -> tuple[AreaVerdict, ...]:
        return tuple(v for v in self.ranking if not v.allowed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": RECOMMENDATION_FORMAT,
            "scenario": {"name": self.scenario.name, "sha256": self.scenario.sha256},
            "defector": self.defector,
            "threat_level": self.threat_level,
            "context": self.context,
            "recommended": [v.to_dict() for v in self.allowed],
            "excluded": [v.to_dict() for v in self.excluded],
        }


def recommend(
    scenario: Scenario,
    defector: str,
    *,
    placements: Mapping[int, int] | None = None,
    context: str = "people already placed in the scenario",
    candidates: Candidates | None = None,
) -> Recommendation:
    """Rank every area for one person, given everyone else's placements (a direct evaluation).

    By default the placements are the scenario's already placed people. Raises ``KeyError``
    for an unknown defector id.
    """
    index = scenario.defector_index[defector]
    candidates = candidates or Candidates(scenario)
    if placements is None:
        occupancy = candidates.occupancy
    else:
        occupancy = Occupancy.of(scenario, {i: a for i, a in placements.items() if i != index})
    evaluated = candidates.evaluate(index, occupancy)
    facts = _Facts(candidates, evaluated, occupancy)
    verdicts = [_verdict(facts, a) for a in range(len(scenario.geography))]
    person = scenario.defectors[index]
    return Recommendation(
        scenario, person.id, person.threat_level, tuple(_ranked(verdicts)), context
    )


# --------------------------------------------------------------------------- rendering


@dataclass
class _Writer:
    markdown: bool
    lines: list[str] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.lines.append(f"## {text}" if self.markdown else text)

    def item(self, text: str, depth: int = 1) -> None:
        indent = "  " * (depth - 1)
        self.lines.append(f"{indent}- {text}" if self.markdown else f"{'  ' * depth}{text}")

    def blank(self) -> None:
        self.lines.append("")


def _facts_lines(writer: _Writer, verdict: AreaVerdict, depth: int) -> None:
    for fact in verdict.facts:
        mark = "ok" if fact.ok else "BROKEN"
        writer.item(f"{fact.rule} [{mark}]: {fact.text}", depth)


def _score_text(score: ScoreParts | None) -> str:
    if score is None:
        return ""
    spread = f", spread {score.spread:+d}" if score.spread else ""
    return (
        f"score {score.total} (margin {score.margin:+d}, waits {score.wait:+d}, "
        f"preference {score.preference:+d}{spread})"
    )


def render_explanation(explanation: PlanExplanation, fmt: Format, *, top: int = 10) -> str:
    """The explanation as text, markdown, or versioned JSON."""
    import json

    if fmt == "json":
        return json.dumps(explanation.to_dict(), indent=2, ensure_ascii=False)
    writer = _Writer(markdown=fmt == "markdown")
    for note in explanation.notes:
        writer.lines.append(f"- note: {note}" if writer.markdown else f"note: {note}")
    if explanation.notes:
        writer.blank()
    for person in explanation.people:
        where = person.here.area_name if person.here else "no area"
        writer.heading(
            f"{person.defector} (threat level {person.threat_level}): {person.status}"
            + (f" in {where} ({person.here.area})" if person.here else "")
        )
        if person.here is not None:
            state = (
                "keeps every rule"
                if not person.breaks
                else ("BREAKS " + ", ".join(f.rule for f in person.breaks))
            )
            writer.item(f"this place {state}")
            _facts_lines(writer, person.here, 2)
            if person.preferred:
                writer.item("on the person's prefer list")
            if person.here.score is not None:
                writer.item(_score_text(person.here.score))
        for reason in person.reasons:
            writer.item(f"unplaced: {reason}")
        if person.conflict is not None:
            _conflict_lines(writer, person.conflict)
        if person.ranking:
            allowed = [v for v in person.ranking if v.allowed]
            excluded = [v for v in person.ranking if not v.allowed]
            base = person.here.score.total if person.here and person.here.score else None
            writer.item(f"other allowed areas: {len(allowed)}")
            for verdict in allowed[:top]:
                cost = (
                    f", {verdict.score.total - base:+d} vs here"
                    if (base is not None and verdict.score is not None)
                    else ""
                )
                writer.item(f"{verdict.area_name}: {_score_text(verdict.score)}{cost}", 2)
            if len(allowed) > top:
                writer.item(f"... and {len(allowed) - top} more", 2)
            writer.item(f"areas ruled out: {len(excluded)}")
            for verdict in excluded[:top]:
                assert verdict.blocking is not None
                writer.item(
                    f"{verdict.area_name}: {verdict.blocking.rule}: {verdict.blocking.text}", 2
                )
            if len(excluded) > top:
                writer.item(f"... and {len(excluded) - top} more (use --format json for all)", 2)
        writer.blank()
    return "\n".join(writer.lines).rstrip() + "\n"


def _conflict_lines(writer: _Writer, conflict: UnplacedExplanation) -> None:
    writer.item(f"why unplaced, to the bottom: {conflict.summary}")
    if conflict.conflict:
        writer.item("the rules and cases that together leave no place:", 2)
    for item in conflict.conflict:
        writer.item(item.text, 3)
    for further in conflict.further:
        writer.item(
            f"relaxing {' or '.join(further.relaxing)} alone is not enough; these still leave "
            "no place:",
            2,
        )
        for item in further.conflict:
            writer.item(item.text, 3)
    if conflict.remedies:
        writer.item("what would make placement possible (each checked by solving again):", 2)
        for remedy in conflict.remedies:
            writer.item(remedy, 3)
    for note in conflict.notes:
        writer.item(f"note: {note}", 2)


def render_recommendation(rec: Recommendation, fmt: Format, *, top: int = 10) -> str:
    import json

    if fmt == "json":
        return json.dumps(rec.to_dict(), indent=2, ensure_ascii=False)
    writer = _Writer(markdown=fmt == "markdown")
    writer.heading(
        f"Areas for {rec.defector} (threat level {rec.threat_level}), given the {rec.context}"
    )
    allowed, excluded = rec.allowed, rec.excluded
    if not allowed:
        writer.item("no area keeps every rule")
    for rank, verdict in enumerate(allowed[:top], start=1):
        writer.item(f"{rank}. {verdict.area_name} ({verdict.area}): {_score_text(verdict.score)}")
        _facts_lines(writer, verdict, 2)
    if len(allowed) > top:
        writer.item(f"... and {len(allowed) - top} more allowed areas")
    writer.blank()
    counts: dict[str, int] = {}
    for verdict in excluded:
        assert verdict.blocking is not None
        counts[verdict.blocking.rule] = counts.get(verdict.blocking.rule, 0) + 1
    writer.heading(
        f"Excluded: {len(excluded)} areas ("
        + ", ".join(f"{rule} {n}" for rule, n in counts.items())
        + ")"
    )
    for verdict in excluded[:top]:
        assert verdict.blocking is not None
        writer.item(f"{verdict.area_name}: {verdict.blocking.rule}: {verdict.blocking.text}")
    if len(excluded) > top:
        writer.item(f"... and {len(excluded) - top} more (use --format json for all)")
    return "\n".join(writer.lines).rstrip() + "\n"
