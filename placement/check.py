"""The independent checker ("the oracle"): does a plan keep the seven hard rules?

The checker is deliberately written apart from the solver model (it imports neither
``placement.model`` nor ``placement.threats``): it reads the resolved ``Scenario`` and the plan and
re-derives every rule in plain Python over ``scenario.distance_km``. Tests trust it to catch a
model that encodes a rule wrongly, which only works if the two do not share code.

A report separates four kinds of findings:

* ``structural``: the plan itself is malformed for this scenario (someone missing, listed twice,
  an unknown person or area, an already placed person listed as unplaced, or moved when no
  decision the plan records asks for it);
* ``violations``: broken rules the plan is to blame for;
* ``pre_existing``: broken rules among already placed people who stay where they were; the
  contract says these are reported but not counted against the plan;
* ``warnings``: things a careful reader should know that break no rule (a plan made for another
  scenario file, an already placed person moved as a recorded decision asks).

Distances are compared exactly as the contract writes them, ``d >= required``, with no epsilon,
so a plan the checker accepts is one the contract accepts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from placement.geography import FloatMatrix
from placement.names import HintBudget, did_you_mean
from placement.plan import Plan
from placement.rules import RULES, RuleName
from placement.scenario import Defector, Scenario

CHECK_FORMAT: Final = "placement-check/1"

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Violation:
    """One broken hard rule: which rule, who, where, and by how much.

    ``distance_km`` and ``required_km`` are set for the distance rules (threats, origin,
    keep_apart); ``count`` and ``limit`` for the counting rules (same_network: people of one
    network; capacity: housing units needed).
    """

    rule: RuleName
    defectors: tuple[str, ...]
    areas: tuple[str, ...]
    message: str
    distance_km: float | None = None
    required_km: float | None = None
    pre_existing: bool = False
    count: int | None = None
    limit: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The violation as JSON-ready data (area ids, not indices)."""
        return {
            "rule": self.rule,
            "defectors": list(self.defectors),
            "areas": list(self.areas),
            "message": self.message,
            "distance_km": self.distance_km,
            "required_km": self.required_km,
            "count": self.count,
            "limit": self.limit,
            "pre_existing": self.pre_existing,
        }


@dataclass
class CheckReport:
    """Everything the checker found in one plan, sorted into what counts and what does not."""

    structural: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    pre_existing: list[Violation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    assigned_count: int = 0
    """Assignments whose person and area are both known (these are the ones checked)."""
    unplaced_count: int = 0

    @property
    def ok(self) -> bool:
        """True when the plan is well formed and breaks no rule it is to blame for."""
        return not self.structural and not self.violations

    def to_dict(self) -> dict[str, Any]:
        """The report as versioned, JSON-ready data (key order is stable)."""
        return {
            "format": CHECK_FORMAT,
            "ok": self.ok,
            "assigned": self.assigned_count,
            "unplaced": self.unplaced_count,
            "structural": list(self.structural),
            "violations": [v.to_dict() for v in self.violations],
            "pre_existing": [v.to_dict() for v in self.pre_existing],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class _Placement:
    """One checked person in the plan: the defector, their area index, and whether they stay."""

    defector: Defector
    area: int
    staying: bool
    """Already placed (``placed_in``) and assigned to that same area."""
    listed: bool = True
    """False for an already placed person the plan leaves out: they live there all the same."""


# --------------------------------------------------------------------------- entry points


def check_plan(scenario: Scenario, plan: Plan) -> CheckReport:
    """Check a plan against its scenario: structure first, then each of the seven hard rules.

    Rules are checked over the assignments whose person and area are known; structural problems
    (which already make the plan fail) do not stop the rule checks, so one run shows everything.
    When a person is assigned more than once, their first assignment is the one checked.
    """
    from placement.whatif import WhatIf, requested_moves

    report = CheckReport()
    allowed = requested_moves(scenario, WhatIf.of_plan(plan))
    placements = _read_plan(scenario, plan, report, moves_allowed=allowed)
    report.assigned_count = sum(1 for p in placements if p.listed)
    report.unplaced_count = sum(1 for u in plan.unplaced if u.defector in scenario.defector_index)
    distance = scenario.distance_km
    found: list[Violation] = []
    found += _check_threats(scenario, placements, distance)
    found += _check_origin(scenario, placements, distance)
    found += _check_keep_apart(scenario, placements, distance)
    found += _check_same_network(scenario, placements)
    found += _check_capacity(scenario, placements)
    found += _check_services(scenario, placements)
    found += _check_avoid(scenario, placements)
    report.violations = [v for v in found if not v.pre_existing]
    report.pre_existing = [v for v in found if v.pre_existing]
    return report


def plan_warnings(scenario: Scenario, plan: Plan) -> list[str]:
    """What a reader of a plan file should know beyond the rules, wherever the plan is shown.

    The plan names no scenario file (no sha256), was edited after it was written (digest), or
    does not honour a pin or forbid it records. ``check``, ``compare`` and ``report`` all show
    these with the checker's own warnings, so no view of a plan hides them.
    """
    from placement.plan import verify_digest
    from placement.whatif import WhatIf, decisions_honoured

    warnings = []
    if not plan.scenario.sha256:
        warnings.append(
            "the plan records no scenario sha256: whether it was made for this scenario file "
            "cannot be told"
        )
    digest = verify_digest(plan)
    if digest is not None:
        warnings.append(digest)
    what_if = WhatIf.of_plan(plan)
    if what_if.pins or what_if.forbids:
        warnings += decisions_honoured(scenario, plan, what_if)
    return warnings


def pre_existing_problems(scenario: Scenario) -> list[Violation]:
    """Rules the already placed people break among themselves, before anyone new is placed.

    The contract: such problems are reported as pre-existing, not counted against a plan.
    Checked on the plan in which everyone placed stays and nobody new is placed.
    """
    from placement.plan import Assignment, Unplaced

    staying = Plan(
        status="feasible",
        assignments=[
            Assignment(defector=d.id, area=scenario.geography.ids[d.placed_in])
            for d in scenario.defectors
            if d.placed_in is not None
        ],
        unplaced=[
            Unplaced(defector=d.id, reasons=["pending"])
            for d in scenario.defectors
            if d.placed_in is None
        ],
    )
    return check_plan(scenario, staying).pre_existing


def render_report(report: CheckReport, scenario: Scenario) -> str:
    """The report as plain text for the CLI, most important first, ending in a one-line verdict."""
    lines: list[str] = []
    title = scenario.name or scenario.source
    lines.append(
        f"Checked plan for {title}: {report.assigned_count} assigned, "
        f"{report.unplaced_count} unplaced, of {len(scenario.defectors)} defectors."
    )

    def section(heading: str, items: Iterable[str]) -> None:
        entries = list(items)
        if entries:
            lines.append("")
            lines.append(f"{heading} ({len(entries)}):")
            lines.extend(f"  {entry}" for entry in entries)

    section("Plan problems", report.structural)
    section("Violations", (v.message for v in report.violations))
    section(
        "Pre-existing problems among people who stay (not counted against the plan)",
        (v.message for v in report.pre_existing),
    )
    section("Warnings", report.warnings)
    lines.append("")
    lines.append(_verdict(report))
    return "\n".join(lines)


def _verdict(report: CheckReport) -> str:
    if report.ok:
        extra = (
            f"; {_count(len(report.pre_existing), 'pre-existing problem')} not counted"
            if report.pre_existing
            else ""
        )
        return f"OK: the plan keeps all {len(RULES)} hard rules{extra}."
    return f"FAILED: {failure_counts(len(report.structural), len(report.violations))}."


def failure_counts(structural: int, violations: int) -> str:
    """What a failed check found, in the words every output uses: ``placement check``'s
    verdict, the comparison table and the HTML report (e.g. "1 plan problem and 2 rule
    violations")."""
    parts = []
    if structural:
        parts.append(_count(structural, "plan problem"))
    if violations:
        parts.append(_count(violations, "rule violation"))
    return " and ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------- plan structure


def _read_plan(
    scenario: Scenario, plan: Plan, report: CheckReport, *, moves_allowed: set[str]
) -> list[_Placement]:
    """Resolve the plan's people and areas, recording structural problems and warnings.

    An already placed person in another area is a structural problem unless the plan records
    a decision that asks for the move (``moves_allowed``: a --pin elsewhere or a --forbid of
    their home); then it is a warning, so the reader still sees it.

    Returns one placement per known person with a known area (first assignment wins), in the
    scenario's order of defectors so that every later finding comes out in a stable order.
    """
    geography = scenario.geography
    known = scenario.defector_index
    places: dict[str, list[str]] = defaultdict(list)
    chosen: dict[str, int] = {}
    budget = HintBudget()  # a hostile plan with 100,000 unknown names must not take minutes

    recorded = (plan.scenario.sha256 or "").strip().lower()  # hex in either case
    if recorded and scenario.sha256 and recorded != scenario.sha256:
        report.warnings.append(
            f"the plan was made for a different scenario file (sha256 {recorded[:12]}"
            f"..., this scenario is {scenario.sha256[:12]}...)"
        )

    for position, assignment in enumerate(plan.assignments):
        place = f"assignments[{position}]"
        person_id = assignment.defector
        if person_id not in known:
            report.structural.append(
                f"{place}: unknown defector '{person_id}'{budget.hint(person_id, known)}"
            )
            continue
        places[person_id].append(place)
        area = geography.index_of(assignment.area)
        if area is None:
            if geography.ambiguous(assignment.area):
                why = geography.unknown_reference(assignment.area)
                report.structural.append(f"{place}: {why} (for {person_id})")
                continue
            hint = did_you_mean(geography.suggestions(assignment.area)) if budget.allows() else ""
            report.structural.append(
                f"{place}: unknown area '{assignment.area}' for {person_id}{hint}"
            )
            continue
        name = assignment.area_name
        if name is not None and not geography.refers_to(name, area):
            report.warnings.append(
                f"{place}: area_name '{name}' does not match area '{assignment.area}' "
                f"({geography.names[area]}); the area, not the name, was checked"
            )
        chosen.setdefault(person_id, area)

    for position, unplaced in enumerate(plan.unplaced):
        place = f"unplaced[{position}]"
        person_id = unplaced.defector
        if person_id not in known:
            report.structural.append(
                f"{place}: unknown defector '{person_id}'{budget.hint(person_id, known)}"
            )
            continue
        places[person_id].append(place)
        placed_in = scenario.defector(person_id).placed_in
        if placed_in is not None:
            report.structural.append(
                f"{place}: {person_id} already lives in {_area(scenario, placed_in)} and cannot "
                f"be unplaced; list them in assignments"
            )

    placements: list[_Placement] = []
    for person in scenario.defectors:
        seen_at = places.get(person.id, [])
        if not seen_at:
            report.structural.append(
                f"{person.id} is missing: every defector must appear once, in assignments or "
                f"unplaced"
            )
        elif len(seen_at) > 1:
            report.structural.append(
                f"{person.id} is listed {len(seen_at)} times ({', '.join(seen_at)}); "
                f"every defector must appear exactly once"
            )
        area = chosen.get(person.id)
        if area is None:
            if person.placed_in is not None:
                # Left out, or listed as unplaced (both structural problems above): they still
                # live there, so newcomers' rules against them are checked in the same run.
                placements.append(_Placement(person, person.placed_in, staying=True, listed=False))
            continue
        if person.placed_in is not None and area != person.placed_in:
            move = (
                f"{person.id} is moved from {_area(scenario, person.placed_in)} to "
                f"{_area(scenario, area)}"
            )
            if person.id in moves_allowed:
                report.warnings.append(f"{move}, as a decision the plan records asks")
            else:
                report.structural.append(
                    f"{move}, but the plan records no --pin or --forbid that asks for it; "
                    "already placed people stay unless the user asks"
                )
        placements.append(_Placement(person, area, staying=area == person.placed_in))
    return placements


# --------------------------------------------------------------------------- the seven rules


def _check_threats(
    scenario: Scenario, placements: list[_Placement], distance: FloatMatrix
) -> list[Violation]:
    """Hard rule: far enough from the territory of every network that threatens the defector.

    The threatening networks are the person's own networks and their rivals (and the rivals'
    allies when the policy says so). One violation is reported per person and network, naming the
    nearest territory area of that network, since that is the one that decides the margin.
    """
    nearest_km, nearest_area = _nearest_territory(scenario, distance)
    found = []
    for p in placements:
        x = p.defector
        for network, why in _threatening_networks(scenario, x).items():
            if network not in nearest_km:
                continue  # a network with no territory threatens no area
            d = float(nearest_km[network][p.area])
            if _far_enough(d, x.threat_buffer_km):
                continue
            t = int(nearest_area[network][p.area])
            found.append(
                Violation(
                    rule="threats",
                    defectors=(x.id,),
                    areas=(_id(scenario, p.area), _id(scenario, t)),
                    message=(
                        f"threats: {x.id} in {_area(scenario, p.area)} is "
                        f"{_km(d, x.threat_buffer_km)} km from {_area(scenario, t)}, territory of "
                        f"{network} ({why}); needs {_num(x.threat_buffer_km)} km"
                    ),
                    distance_km=d,
                    required_km=x.threat_buffer_km,
                    pre_existing=p.staying,
                )
            )
    return found


def _threatening_networks(scenario: Scenario, person: Defector) -> dict[str, str]:
    """The networks that threaten a person, each with the reason in words (first reason wins)."""
    networks = scenario.networks
    why: dict[str, str] = {}
    for own in person.networks:
        why.setdefault(own, "the person's own network")
    for own in person.networks:
        for rival in sorted(networks[own].rivals):
            why.setdefault(rival, f"rival of {own}")
    if scenario.policy.allies_of_rivals_threaten:
        for own in person.networks:
            for rival in sorted(networks[own].rivals):
                for ally in sorted(networks[rival].allies):
                    why.setdefault(ally, f"ally of {rival}, a rival of {own}")
    return why


def _nearest_territory(
    scenario: Scenario, distance: FloatMatrix
) -> tuple[dict[str, npt.NDArray[np.float64]], dict[str, IntArray]]:
    """For each network with territory: from every area, the distance to and the index of its
    nearest territory area. Computed once per network so each person costs one lookup."""
    nearest_km: dict[str, npt.NDArray[np.float64]] = {}
    nearest_area: dict[str, IntArray] = {}
    for network in scenario.networks.values():
        if not network.territory:
            continue
        territory = np.asarray(network.territory, dtype=np.intp)
        columns = distance[:, territory]
        best = np.argmin(columns, axis=1)
        nearest_area[network.id] = territory[best]
        nearest_km[network.id] = columns[np.arange(len(columns)), best]
    return nearest_km, nearest_area


def _check_origin(
    scenario: Scenario, placements: list[_Placement], distance: FloatMatrix
) -> list[Violation]:
    """Hard rule: far enough from the area the defector comes from."""
    required = scenario.policy.origin_buffer_km
    found = []
    for p in placements:
        x = p.defector
        d = float(distance[p.area, x.origin])
        if _far_enough(d, required):
            continue
        found.append(
            Violation(
                rule="origin",
                defectors=(x.id,),
                areas=(_id(scenario, p.area), _id(scenario, x.origin)),
                message=(
                    f"origin: {x.id} in {_area(scenario, p.area)} is {_km(d, required)} km from "
                    f"{_area(scenario, x.origin)}, where they come from; needs {_num(required)} km"
                ),
                distance_km=d,
                required_km=required,
                pre_existing=p.staying,
            )
        )
    return found


def _check_keep_apart(
    scenario: Scenario, placements: list[_Placement], distance: FloatMatrix
) -> list[Violation]:
    """Hard rule: far enough from every defector of a rival network or listed to keep apart.

    Each pair is reported once, with every reason that applies to it.
    """
    required = scenario.policy.keep_apart_km
    networks = scenario.networks
    found = []
    for i, j in sorted(_too_close_pairs(scenario, placements, distance)):
        p, q = placements[i], placements[j]
        x, y = p.defector, q.defector
        d = float(distance[p.area, q.area])
        reasons = []
        feuds = sorted(
            f"{a} and {b}" for a in x.networks for b in y.networks if b in networks[a].rivals
        )
        if feuds:
            reasons.append(f"rival networks {', '.join(feuds)}")
        if y.id in x.keep_apart_from:
            reasons.append("listed to keep apart")
        found.append(
            Violation(
                rule="keep_apart",
                defectors=(x.id, y.id),
                areas=(_id(scenario, p.area), _id(scenario, q.area)),
                message=(
                    f"keep_apart: {x.id} in {_area(scenario, p.area)} and {y.id} in "
                    f"{_area(scenario, q.area)} are {_km(d, required)} km apart "
                    f"({'; '.join(reasons)}); needs {_num(required)} km"
                ),
                distance_km=d,
                required_km=required,
                pre_existing=p.staying and q.staying,
            )
        )
    return found


def _too_close_pairs(
    scenario: Scenario, placements: list[_Placement], distance: FloatMatrix
) -> set[tuple[int, int]]:
    """Positions ``(i, j)``, ``i < j``, of the placements that must be apart but are too close.

    Rather than test all pairs of people (25 million for 5,000), each feud compares areas: the
    areas holding members of one side against those holding the other, at most 290 by 290 in
    one numpy step. Only the people in area pairs that are too close are then paired up, so the
    work grows with the violations found, not with the square of the people.
    """
    required = scenario.policy.keep_apart_km
    members: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, p in enumerate(placements):
        for network in p.defector.networks:
            members[network][p.area].append(i)

    pairs: set[tuple[int, int]] = set()
    for a, b in _feuds(scenario):
        if a not in members or b not in members:
            continue
        areas_a, areas_b = sorted(members[a]), sorted(members[b])
        close = ~(distance[np.ix_(areas_a, areas_b)] >= required)
        rows, cols = np.nonzero(close)
        for u, v in zip(rows.tolist(), cols.tolist(), strict=True):
            for i in members[a][areas_a[u]]:
                for j in members[b][areas_b[v]]:
                    if i != j:  # one person in two feuding networks is not a pair
                        pairs.add((min(i, j), max(i, j)))

    position_of = {p.defector.id: i for i, p in enumerate(placements)}
    for i, p in enumerate(placements):
        for other in p.defector.keep_apart_from:
            partner = position_of.get(other)
            if partner is not None and i < partner:
                d = float(distance[p.area, placements[partner].area])
                if not _far_enough(d, required):
                    pairs.add((i, partner))
    return pairs


def _feuds(scenario: Scenario) -> list[tuple[str, str]]:
    """Every rivalry once, as a sorted pair of network ids."""
    return sorted(
        (a, b) for a, network in scenario.networks.items() for b in network.rivals if a < b
    )


def _check_same_network(scenario: Scenario, placements: list[_Placement]) -> list[Violation]:
    """Hard rule: not too many defectors of one network in one area.

    Staying people who already exceed the limit on their own are a pre-existing problem; newly
    placed people who join such a group, or push one over the limit, are a violation of the plan.
    """
    limit = scenario.policy.max_same_network_per_area
    groups: dict[tuple[int, str], list[_Placement]] = defaultdict(list)
    for p in placements:
        for network in p.defector.networks:
            groups[(p.area, network)].append(p)

    found = []
    for (area, network), group in sorted(groups.items()):
        for people, pre_existing in _blame(group, len, limit):
            found.append(
                Violation(
                    rule="same_network",
                    defectors=tuple(p.defector.id for p in people),
                    areas=(_id(scenario, area),),
                    message=(
                        f"same_network: {len(people)} defectors of {network} in "
                        f"{_area(scenario, area)} ({_people(people)}); at most {limit} allowed"
                    ),
                    pre_existing=pre_existing,
                    count=len(people),
                    limit=limit,
                )
            )
    return found


def _check_capacity(scenario: Scenario, placements: list[_Placement]) -> list[Violation]:
    """Hard rule: the households in an area need no more than its housing units.

    Both already placed and newly placed households count. Staying households that already
    exceed the units on their own are a pre-existing problem; newcomers who push an area over,
    or move into an area already over, are a violation of the plan.
    """
    groups: dict[int, list[_Placement]] = defaultdict(list)
    for p in placements:
        groups[p.area].append(p)

    found = []
    for area, group in sorted(groups.items()):
        units = scenario.offers[area].housing_units
        for people, pre_existing in _blame(group, _households, units):
            needed = _households(people)
            found.append(
                Violation(
                    rule="capacity",
                    defectors=tuple(p.defector.id for p in people),
                    areas=(_id(scenario, area),),
                    message=(
                        f"capacity: households in {_area(scenario, area)} need {needed} housing "
                        f"units ({_people(people, households=True)}); it has {units}"
                    ),
                    pre_existing=pre_existing,
                    count=needed,
                    limit=units,
                )
            )
    return found


def _households(people: list[_Placement]) -> int:
    return sum(p.defector.household for p in people)


def _blame(
    group: list[_Placement], measure: Callable[[list[_Placement]], int], limit: int
) -> list[tuple[list[_Placement], bool]]:
    """Who is to blame when the people of one area exceed a limit: ``(people, pre_existing)``.

    The staying people alone may already break it: a pre-existing problem. If newcomers are in
    the group and the whole group breaks it, the plan is to blame too (newcomers who join a group
    already over the limit make it worse, so they count even then).
    """
    staying = [p for p in group if p.staying]
    blamed = []
    if measure(staying) > limit:
        blamed.append((staying, True))
    if len(staying) < len(group) and measure(group) > limit:
        blamed.append((group, False))
    return blamed


def _check_services(scenario: Scenario, placements: list[_Placement]) -> list[Violation]:
    """Hard rule: the area offers every service the defector needs.

    ``needs`` already holds ``youth_services`` for people under the policy's youth age (the
    scenario adds it when resolving), so minors are covered here too.
    """
    found = []
    for p in placements:
        x = p.defector
        missing = sorted(x.needs - scenario.offers[p.area].services)
        if not missing:
            continue
        found.append(
            Violation(
                rule="services",
                defectors=(x.id,),
                areas=(_id(scenario, p.area),),
                message=(
                    f"services: {x.id} needs {', '.join(missing)}, which "
                    f"{_area(scenario, p.area)} does not offer"
                ),
                pre_existing=p.staying,
            )
        )
    return found


def _check_avoid(scenario: Scenario, placements: list[_Placement]) -> list[Violation]:
    """Hard rule: the area is not on the defector's avoid list."""
    found = []
    for p in placements:
        x = p.defector
        if p.area not in x.avoid:
            continue
        found.append(
            Violation(
                rule="avoid",
                defectors=(x.id,),
                areas=(_id(scenario, p.area),),
                message=(
                    f"avoid: {x.id} is in {_area(scenario, p.area)}, which is on their avoid list"
                ),
                pre_existing=p.staying,
            )
        )
    return found


# --------------------------------------------------------------------------- small helpers


def _far_enough(d: float, required: float) -> bool:
    """The contract's comparison, ``d >= required``, exactly (a NaN distance is never enough)."""
    return d >= required


def _id(scenario: Scenario, area: int) -> str:
    return scenario.geography.ids[area]


def _area(scenario: Scenario, area: int) -> str:
    """``Umeå (2480)``; just the id when the area has no separate name."""
    name, code = scenario.geography.names[area], scenario.geography.ids[area]
    return code if name == code else f"{name} ({code})"


def _num(value: float) -> str:
    """A policy figure as written: ``100``, ``62.5``."""
    return f"{value:g}"


def _km(d: float, required: float) -> str:
    """A too-short distance to one decimal, with more decimals only when one would round it up
    to the required figure (``100.0 km ... needs 100 km`` would read as no violation)."""
    for decimals in range(1, 7):
        text = f"{d:.{decimals}f}"
        if float(text) < required:
            return text
    return repr(d)


def _people(people: list[_Placement], *, households: bool = False) -> str:
    """``D001 (already placed), D003``: who is in a group, marking those who stay."""
    parts = []
    for p in people:
        notes = []
        if households:
            notes.append(f"household {p.defector.household}")
        if p.staying:
            notes.append("already placed")
        parts.append(f"{p.defector.id} ({', '.join(notes)})" if notes else p.defector.id)
    return ", ".join(parts)
