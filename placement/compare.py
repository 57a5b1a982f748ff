"""Comparing plans side by side: the figures a reviewer weighs, and who is placed differently.

Every figure is computed here from the plans' assignments and the scenario's geography and
rules, never read from a plan's ``metrics`` block: a hand-edited plan (or one from another
tool) has no trustworthy metrics. Rule violations come from the independent checker
(``placement.check``), so a hand-edited plan shows what it breaks.

Definitions (also in ``docs/formats.md``):

- **placed by the plan**: a pending person with an area, or an already placed person whom the
  plan moves (an explicit what-if move). Already placed people who stay are the same in every
  plan and are not counted in the per-plan figures below, except as occupants (housing used,
  keep-apart partners);
- **safety margin** of a person placed by the plan: km beyond the required distance to the
  nearest threat, ``min(d(nearest threatening territory) - threat buffer, d(nearest person to
  keep apart from, anywhere in the plan) - keep_apart_km)``; negative when a rule is broken;
  people threatened by nobody are left out (their margin is unlimited);
- **tightest keep-apart distance**: the smallest distance between two people who must be kept
  apart, over the pairs in which at least one is placed by the plan;
- **load per county**: newcomers (placed by the plan) and housing units used by everyone in
  the plan, against the county's housing units (per area for custom areas files);
- **waits**: for each person placed by the plan, the current weeks of wait of every service
  they need at their area, summed (total) and the longest such sum;
- **preferences met**: people placed by the plan whose area is on their ``prefer`` list, of the
  pending people who stated one;
- **secondary points**: the solver's secondary objective for the newly placed pending people
  (``placement.objectives``), so the cost of a change can be read in the solver's own terms.

Everything a plan carries about how it was made is shown as it is: its status, and the
what-if changes it records (``provenance.what_if``). A plan made for another version of the
scenario (sha256) or edited after it was written (``digest``) gives a warning.
"""

from __future__ import annotations

import html
import json
import math
import statistics
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from placement.candidates import Candidates, Occupancy
from placement.check import check_plan, failure_counts, plan_warnings
from placement.explain import where_people_live
from placement.objectives import THREAT_LEVELS, secondary_points
from placement.plan import Plan
from placement.scenario import Scenario
from placement.threats import Threats

COMPARISON_FORMAT: Final = "placement-comparison/1"
ComparisonFormat = Literal["text", "markdown", "html", "json"]

#: County (län) names by the two first digits of a municipality code.
COUNTY_NAMES: Final[dict[str, str]] = {
    "01": "Stockholm",
    "03": "Uppsala",
    "04": "Södermanland",
    "05": "Östergötland",
    "06": "Jönköping",
    "07": "Kronoberg",
    "08": "Kalmar",
    "09": "Gotland",
    "10": "Blekinge",
    "12": "Skåne",
    "13": "Halland",
    "14": "Västra Götaland",
    "17": "Värmland",
    "18": "Örebro",
    "19": "Västmanland",
    "20": "Dalarna",
    "21": "Gävleborg",
    "22": "Västernorrland",
    "23": "Jämtland",
    "24": "Västerbotten",
    "25": "Norrbotten",
}


# --------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class KeepApartFigure:
    """The closest pair of people who must be kept apart, in one plan."""

    distance_km: float
    required_km: float
    defectors: tuple[str, str]
    areas: tuple[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "distance_km": self.distance_km,
            "required_km": self.required_km,
            "defectors": list(self.defectors),
            "areas": list(self.areas),
        }


@dataclass(frozen=True)
class Move:
    defector: str
    from_area: str
    to_area: str


@dataclass(frozen=True)
class Outcome:
    """One person in one plan: their area (None: unplaced or missing) and safety margin."""

    area: str | None
    area_name: str | None
    margin_km: float | None
    """Only for people placed by the plan; None also when nothing threatens them."""

    def to_dict(self) -> dict[str, Any]:
        return {"area": self.area, "area_name": self.area_name, "safety_margin_km": self.margin_km}


@dataclass(frozen=True)
class PlanFigures:
    """Every compared figure of one plan, computed from its assignments."""

    label: str
    status: str
    status_reason: str | None
    """The plan's own ``status_reason`` (an interrupted solve, infeasible what-if decisions)."""
    what_if: Mapping[str, Any] | None
    placed_by_level: dict[int, int]
    """Pending people placed, per threat level."""
    unplaced_by_level: dict[int, int]
    """Pending people without an area, per threat level."""
    margins: dict[str, float]
    """Defector -> safety margin (km), for people placed by the plan with a finite margin."""
    tightest_keep_apart: KeepApartFigure | None
    county_load: dict[str, tuple[int, int]]
    """County (or area) -> (newcomers, housing units used by everyone there)."""
    waits: dict[str, float]
    """Defector -> weeks of wait summed over their needed services, for people placed."""
    preferences_met: int
    moves: tuple[Move, ...]
    secondary_points: int
    check_ok: bool
    structural: tuple[str, ...]
    violations: tuple[str, ...]
    warnings: tuple[str, ...]
    outcomes: dict[str, Outcome] = field(repr=False)
    broken: dict[str, tuple[str, ...]] = field(repr=False, default_factory=dict)
    """Defector -> the rules their placement breaks (violations the plan is to blame for)."""

    @property
    def newly_placed(self) -> int:
        return sum(self.placed_by_level.values())

    @property
    def unplaced(self) -> int:
        return sum(self.unplaced_by_level.values())

    @property
    def min_margin(self) -> tuple[float, str] | None:
        if not self.margins:
            return None
        who = min(self.margins, key=lambda d: (self.margins[d], d))
        return self.margins[who], who

    @property
    def median_margin_km(self) -> float | None:
        return statistics.median(self.margins.values()) if self.margins else None

    @property
    def wait_weeks_total(self) -> float:
        return sum(self.waits.values())

    @property
    def longest_wait(self) -> tuple[float, str] | None:
        if not self.waits:
            return None
        who = max(self.waits, key=lambda d: (self.waits[d], d))
        return self.waits[who], who

    def to_dict(self) -> dict[str, Any]:
        low = self.min_margin
        longest = self.longest_wait
        return {
            "label": self.label,
            "status": self.status,
            "status_reason": self.status_reason,
            "what_if": dict(self.what_if) if self.what_if else None,
            "check": {
                "ok": self.check_ok,
                "structural": list(self.structural),
                "violations": list(self.violations),
                "warnings": list(self.warnings),
            },
            "pending_by_threat_level": {
                str(level): {
                    "placed": self.placed_by_level[level],
                    "unplaced": self.unplaced_by_level[level],
                }
                for level in THREAT_LEVELS
            },
            "newly_placed": self.newly_placed,
            "unplaced": self.unplaced,
            "min_safety_margin_km": low[0] if low else None,
            "min_safety_margin_defector": low[1] if low else None,
            "median_safety_margin_km": self.median_margin_km,
            "safety_margins_km": dict(sorted(self.margins.items())),
            "tightest_keep_apart": (
                self.tightest_keep_apart.to_dict() if self.tightest_keep_apart else None
            ),
            "load": {
                key: {"newcomers": newcomers, "housing_used": used}
                for key, (newcomers, used) in sorted(self.county_load.items())
            },
            "wait_weeks_total": self.wait_weeks_total,
            "longest_wait_weeks": longest[0] if longest else None,
            "longest_wait_defector": longest[1] if longest else None,
            "preferences_met": self.preferences_met,
            "moves": [
                {"defector": m.defector, "from": m.from_area, "to": m.to_area} for m in self.moves
            ],
            "secondary_points": self.secondary_points,
        }


@dataclass(frozen=True)
class PersonDifference:
    """A person whose outcome differs between the plans, and why that matters."""

    defector: str
    threat_level: int
    outcomes: tuple[Outcome, ...]
    notes: tuple[str, ...]
    """Per plan after the first: what changes against the first plan, in words."""

    def to_dict(self, labels: Sequence[str]) -> dict[str, Any]:
        return {
            "defector": self.defector,
            "threat_level": self.threat_level,
            "plans": {
                label: outcome.to_dict()
                for label, outcome in zip(labels, self.outcomes, strict=True)
            },
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class LoadRow:
    key: str
    """County code (two digits), or the area id for custom areas files."""
    name: str
    housing_units: int


@dataclass(frozen=True)
class Comparison:
    """Plans of one scenario side by side; the first plan is the baseline for differences."""

    scenario_name: str | None
    scenario_sha256: str
    load_kind: Literal["county", "area"]
    plans: tuple[PlanFigures, ...]
    load_rows: tuple[LoadRow, ...]
    """The counties (or areas) where at least one plan places someone."""
    differences: tuple[PersonDifference, ...]
    preferences_stated: int
    """Pending people with a non-empty ``prefer`` list."""

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.plans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": COMPARISON_FORMAT,
            "scenario": {"name": self.scenario_name, "sha256": self.scenario_sha256},
            "baseline": self.labels[0] if self.plans else None,
            "preferences_stated": self.preferences_stated,
            "load_kind": self.load_kind,
            "load_areas": [
                {"key": row.key, "name": row.name, "housing_units": row.housing_units}
                for row in self.load_rows
            ],
            "plans": [p.to_dict() for p in self.plans],
            "differences": [d.to_dict(self.labels) for d in self.differences],
        }


# --------------------------------------------------------------------------- computing


def compare_plans(
    scenario: Scenario, plans: Sequence[Plan], *, labels: Sequence[str] | None = None
) -> Comparison:
    """Compute every compared figure of each plan against ``scenario``.

    ``labels`` name the plans in tables (default ``A``, ``B``, ...); the first plan is the
    baseline the per-person notes compare against. Raises ``ValueError`` when ``labels`` and
    ``plans`` differ in length.
    """
    if labels is None:
        labels = [_letter(i) for i in range(len(plans))]
    if len(labels) != len(plans):
        raise ValueError(f"{len(labels)} labels for {len(plans)} plans")
    candidates = Candidates(scenario, Threats(scenario))
    figures = tuple(
        _figures(scenario, candidates, plan, label)
        for plan, label in zip(plans, labels, strict=True)
    )
    geography = scenario.geography
    kind: Literal["county", "area"] = (
        "county" if geography.county(0) is not None and len(geography) else "area"
    )
    keys = sorted({key for f in figures for key, (n, _) in f.county_load.items() if n})
    load_rows = tuple(_load_row(scenario, key, kind) for key in keys)
    return Comparison(
        scenario_name=scenario.name,
        scenario_sha256=scenario.sha256,
        load_kind=kind,
        plans=figures,
        load_rows=load_rows,
        differences=_differences(scenario, figures),
        preferences_stated=sum(1 for d in scenario.pending if d.prefer),
    )


def _letter(position: int) -> str:
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _load_key(scenario: Scenario, area: int) -> str:
    county = scenario.geography.county(area)
    return county if county is not None else scenario.geography.ids[area]


def _load_row(scenario: Scenario, key: str, kind: str) -> LoadRow:
    geography = scenario.geography
    areas = [a for a in range(len(geography)) if _load_key(scenario, a) == key]
    units = sum(scenario.offers[a].housing_units for a in areas)
    if kind == "county":
        name = COUNTY_NAMES.get(key, key)
    else:
        name = geography.label(areas[0]) if areas else key
    return LoadRow(key=key, name=name, housing_units=units)


def _figures(scenario: Scenario, candidates: Candidates, plan: Plan, label: str) -> PlanFigures:
    geography = scenario.geography
    people = scenario.defectors
    policy = scenario.policy
    areas_of = where_people_live(scenario, plan)
    occupancy = Occupancy.of(scenario, areas_of)
    # Newly placed and moved people: what the plan decided.
    by_plan = {i: a for i, a in areas_of.items() if people[i].placed_in != a}

    placed_by_level = dict.fromkeys(THREAT_LEVELS, 0)
    unplaced_by_level = dict.fromkeys(THREAT_LEVELS, 0)
    for index, person in enumerate(people):
        if person.placed_in is None:
            table = placed_by_level if index in areas_of else unplaced_by_level
            table[person.threat_level] += 1

    margins: dict[str, float] = {}
    outcomes: dict[str, Outcome] = {}
    for index, person in enumerate(people):
        area = areas_of.get(index)
        margin: float | None = None
        if area is not None:
            # Everyone's margin where they live in this plan (the per-person notes compare
            # them); the plan's figures count the people it placed or moved.
            evaluated = candidates.evaluate(index, occupancy)
            value = min(
                float(evaluated.threat_distance_km[area]) - person.threat_buffer_km,
                float(evaluated.partner_distance_km[area]) - policy.keep_apart_km,
            )
            if math.isfinite(value):
                margin = value
                if index in by_plan:
                    margins[person.id] = value
        outcomes[person.id] = Outcome(
            area=geography.ids[area] if area is not None else None,
            area_name=geography.label(area) if area is not None else None,
            margin_km=margin,
        )

    tightest: KeepApartFigure | None = None
    distance = scenario.distance_km
    for pair in Threats(scenario).keep_apart_pairs:
        first, second = areas_of.get(pair.first), areas_of.get(pair.second)
        if first is None or second is None:
            continue
        if pair.first not in by_plan and pair.second not in by_plan:
            continue
        d = float(distance[first, second])
        if tightest is None or d < tightest.distance_km:
            tightest = KeepApartFigure(
                distance_km=d,
                required_km=policy.keep_apart_km,
                defectors=(people[pair.first].id, people[pair.second].id),
                areas=(geography.ids[first], geography.ids[second]),
            )

    county_load: dict[str, tuple[int, int]] = {}
    for index, area in areas_of.items():
        key = _load_key(scenario, area)
        newcomers, used = county_load.get(key, (0, 0))
        county_load[key] = (newcomers + (index in by_plan), used + people[index].household)

    waits: dict[str, float] = {}
    preferences_met = 0
    for index, area in by_plan.items():
        person = people[index]
        offered = scenario.offers[area].wait_weeks
        waits[person.id] = float(sum(offered.get(s, 0.0) for s in sorted(person.needs)))
        # Counted over the pending people, as the total it is shown against.
        preferences_met += person.placed_in is None and area in person.prefer

    moves = tuple(
        Move(
            defector=people[i].id,
            from_area=geography.ids[placed_in],
            to_area=geography.ids[a],
        )
        for i, a in sorted(by_plan.items())
        if (placed_in := people[i].placed_in) is not None
    )

    report = check_plan(scenario, plan)
    broken: dict[str, set[str]] = {}
    for violation in report.violations:
        for who in violation.defectors:
            broken.setdefault(who, set()).add(violation.rule)
    warnings = [*plan_warnings(scenario, plan), *report.warnings]
    extra = plan.model_extra or {}
    reason = extra.get("status_reason")
    provenance = extra.get("provenance")
    what_if = provenance.get("what_if") if isinstance(provenance, Mapping) else None
    return PlanFigures(
        label=label,
        status=plan.status,
        status_reason=reason if isinstance(reason, str) else None,
        what_if=what_if if isinstance(what_if, Mapping) and what_if else None,
        placed_by_level=placed_by_level,
        unplaced_by_level=unplaced_by_level,
        margins=margins,
        tightest_keep_apart=tightest,
        county_load=county_load,
        waits=waits,
        preferences_met=preferences_met,
        moves=moves,
        secondary_points=_secondary_points(scenario, candidates, by_plan),
        check_ok=report.ok,
        structural=tuple(report.structural),
        violations=tuple(v.message for v in report.violations),
        warnings=tuple(warnings),
        outcomes=outcomes,
        broken={who: tuple(sorted(rules)) for who, rules in broken.items()},
    )


def _secondary_points(
    scenario: Scenario, candidates: Candidates, by_plan: Mapping[int, int]
) -> int:
    """The plan's secondary points, with people it moves scored as the what-if solve scores them.

    A moved person's old home is free in that plan: the others' distances are measured to
    where people live, and the moved person is one of those placed (as in ``placement.whatif``).
    """
    people = scenario.defectors
    moved = {i for i in by_plan if people[i].placed_in is not None}
    if not moved:
        return secondary_points(candidates, by_plan)
    freed = scenario.with_pending(moved)
    return secondary_points(Candidates(freed, Threats(freed)), by_plan)


def _differences(
    scenario: Scenario, figures: Sequence[PlanFigures]
) -> tuple[PersonDifference, ...]:
    if len(figures) < 2:
        return ()
    found = []
    for person in scenario.defectors:
        outcomes = tuple(f.outcomes[person.id] for f in figures)
        if len({o.area for o in outcomes}) == 1:
            continue
        base = outcomes[0]
        notes = tuple(
            f"{f.label}: {_note(base, outcome, person.id, f, figures[0].label)}"
            for f, outcome in zip(figures[1:], outcomes[1:], strict=True)
            if outcome.area != base.area
        )
        found.append(PersonDifference(person.id, person.threat_level, outcomes, notes))
    found.sort(key=lambda d: (-d.threat_level, d.defector))
    return tuple(found)


def _note(base: Outcome, other: Outcome, who: str, figures: PlanFigures, baseline: str) -> str:
    if other.area is None:
        text = f"NOT placed (placed in {baseline})"
    elif base.area is None:
        text = f"placed (not placed in {baseline})"
        if other.margin_km is not None:
            text += f", margin {_km(other.margin_km)}"
    elif base.margin_km is not None and other.margin_km is not None:
        # The change between the two figures shown (each rounded down), so the text adds up
        # and a loss is not understated by rounding.
        before, after = _floor_tenth(base.margin_km), _floor_tenth(other.margin_km)
        delta = round(after - before, 1)
        verb = "gained" if delta >= 0 else "lost"
        text = f"margin {verb} {abs(delta):.1f} ({before:.1f} -> {after:.1f})"
    else:
        text = f"other area ({other.area_name}), no threat to measure a margin against"
    broken = figures.broken.get(who, ())
    if broken:
        text += f"; breaks {', '.join(broken)}"
    return text


# --------------------------------------------------------------------------- rendering


def _km(value: float | None) -> str:
    """A distance for reading, rounded down to 0.1 km, so a margin is never overstated."""
    if value is None:
        return "-"
    return f"{_floor_tenth(value):.1f}"


def _floor_tenth(value: float) -> float:
    return math.floor(value * 10) / 10


def _weeks(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class _Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    name: str
    """A short machine name, used in HTML class names (``cmp-<name>``)."""


def _plain(text: str) -> str:
    """Text from a plan file made safe to show: control and format characters (a terminal
    escape, a right-to-left override) are shown as escapes, as the CLI does for errors."""
    return "".join(
        c.encode("unicode_escape").decode("ascii")
        if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co"}
        else c
        for c in text
    )


def _tables(comparison: Comparison) -> list[_Table]:
    """Every table of the comparison, with every cell made safe to show."""
    return [
        _Table(
            _plain(t.title),
            [_plain(h) for h in t.headers],
            [[_plain(c) for c in row] for row in t.rows],
            t.name,
        )
        for t in _raw_tables(comparison)
    ]


def _raw_tables(comparison: Comparison) -> list[_Table]:
    plans = comparison.plans
    labels = list(comparison.labels)
    first = plans[0] if plans else None

    def delta(value: float, base: float | None) -> str:
        if base is None or value == base:
            return ""
        return f" ({value - base:+g})"

    def check_cell(f: PlanFigures) -> str:
        if f.check_ok:
            return "OK"
        return "FAILED: " + failure_counts(len(f.structural), len(f.violations))

    rows: list[list[str]] = [
        ["status", *(f.status for f in plans)],
        ["check (hard rules)", *(check_cell(f) for f in plans)],
        ["what-if", *(_what_if_text(f.what_if) or "-" for f in plans)],
    ]
    for level in THREAT_LEVELS:
        rows.append(
            [
                f"placed at threat level {level}",
                *(
                    f"{f.placed_by_level[level]}"
                    + delta(
                        f.placed_by_level[level], first.placed_by_level[level] if first else None
                    )
                    for f in plans
                ),
            ]
        )
    for level in THREAT_LEVELS:
        rows.append(
            [
                f"unplaced at threat level {level}",
                *(f"{f.unplaced_by_level[level]}" for f in plans),
            ]
        )
    rows += [
        ["newly placed", *(str(f.newly_placed) for f in plans)],
        ["unplaced", *(str(f.unplaced) for f in plans)],
        [
            "min safety margin km",
            *(f"{_km(low[0])} ({low[1]})" if (low := f.min_margin) else "-" for f in plans),
        ],
        ["median safety margin km", *(_km(f.median_margin_km) for f in plans)],
        [
            "tightest keep-apart km",
            *(
                f"{_km(t.distance_km)} of {t.required_km:g} ({t.defectors[0]}-{t.defectors[1]})"
                if (t := f.tightest_keep_apart)
                else "-"
                for f in plans
            ),
        ],
        ["service waits, total weeks", *(_weeks(f.wait_weeks_total) for f in plans)],
        [
            "longest wait, weeks",
            *(f"{_weeks(w[0])} ({w[1]})" if (w := f.longest_wait) else "-" for f in plans),
        ],
        [
            "preferences met",
            *(f"{f.preferences_met} of {comparison.preferences_stated}" for f in plans),
        ],
        [
            "moves of placed people",
            *(
                str(len(f.moves))
                + (
                    " ("
                    + ", ".join(f"{m.defector} {m.from_area}->{m.to_area}" for m in f.moves)
                    + ")"
                    if f.moves
                    else ""
                )
                for f in plans
            ),
        ],
        [
            "secondary points",
            *(
                f"{f.secondary_points}"
                + delta(f.secondary_points, first.secondary_points if first else None)
                for f in plans
            ),
        ],
    ]
    tables = [
        _Table(
            "Figures (differences against the first plan in brackets)",
            ["", *labels],
            rows,
            "figures",
        )
    ]

    load_rows = [
        [
            f"{row.key} {row.name}" if comparison.load_kind == "county" else row.name,
            *(
                f"{f.county_load.get(row.key, (0, 0))[0]} new, "
                f"{f.county_load.get(row.key, (0, 0))[1]} of {row.housing_units} units"
                for f in plans
            ),
        ]
        for row in comparison.load_rows
    ]
    if load_rows:
        tables.append(
            _Table(
                f"Load per {comparison.load_kind}",
                [comparison.load_kind, *labels],
                load_rows,
                "load",
            )
        )

    if comparison.differences:
        diff_rows = [
            [
                d.defector,
                str(d.threat_level),
                *(
                    f"{o.area_name} ({o.area})"
                    + (f", margin {_km(o.margin_km)}" if o.margin_km is not None else "")
                    if o.area is not None
                    else "unplaced"
                    for o in d.outcomes
                ),
                "; ".join(d.notes),
            ]
            for d in comparison.differences
        ]
        tables.append(
            _Table(
                f"People placed differently ({len(diff_rows)})",
                ["defector", "threat level", *labels, "why it matters"],
                diff_rows,
                "differences",
            )
        )
    findings = [
        [f.label, kind, text]
        for f in plans
        for kind, items in (
            ("status reason", (f.status_reason,) if f.status_reason else ()),
            ("plan problem", f.structural),
            ("violation", f.violations),
            ("warning", f.warnings),
        )
        for text in items
    ]
    if findings:
        tables.append(
            _Table("Check findings and warnings", ["plan", "kind", "finding"], findings, "findings")
        )
    return tables


def _what_if_text(what_if: Mapping[str, Any] | None) -> str:
    if not what_if:
        return ""
    parts: list[str] = []
    for key in ("set", "pin", "forbid"):
        values = what_if.get(key) or []
        if isinstance(values, list):
            parts.extend(f"--{key} {value}" for value in values)
    return " ".join(parts)


def _header(comparison: Comparison) -> list[str]:
    title = _plain(comparison.scenario_name or "(unnamed scenario)")
    return [
        f"Comparison of {len(comparison.plans)} plans for {title} "
        f"(scenario sha256 {comparison.scenario_sha256[:12]}...)",
        "Every figure is computed from the plans' assignments and the scenario; "
        "margins in km beyond the required distance, rounded down to 0.1 km.",
    ]


def _text_table(table: _Table) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in table.rows]) for i, h in enumerate(table.headers)]
    lines = [table.title + ":"]
    for row in [table.headers, *table.rows]:
        lines.append(
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )
    return lines


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown_table(table: _Table) -> list[str]:
    lines = [f"### {table.title}", ""]
    lines.append("| " + " | ".join(_markdown_cell(h) for h in table.headers) + " |")
    lines.append("|" + "|".join(" --- " for _ in table.headers) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_markdown_cell(c) for c in row) + " |")
    return lines


def comparison_html_fragment(comparison: Comparison) -> str:
    """The comparison's tables as an HTML fragment: no ``<html>``/``<head>``, no external
    resources, every class prefixed ``cmp-`` so it can be embedded in another page."""
    esc = html.escape
    parts = ['<div class="cmp-comparison">']
    parts += [f'<p class="cmp-intro">{esc(line)}</p>' for line in _header(comparison)]
    for table in _tables(comparison):
        parts.append(f'<table class="cmp-table cmp-{table.name}">')
        parts.append(f'<caption class="cmp-caption">{esc(table.title)}</caption>')
        parts.append(
            "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in table.headers) + "</tr></thead>"
        )
        parts.append("<tbody>")
        for row in table.rows:
            cells = "".join(
                f'<th scope="row">{esc(c)}</th>' if i == 0 else f"<td>{esc(c)}</td>"
                for i, c in enumerate(row)
            )
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</tbody></table>")
    parts.append("</div>")
    return "\n".join(parts)


_CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; }
.cmp-table { border-collapse: collapse; margin: 1.5em 0; }
.cmp-table caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
.cmp-table th, .cmp-table td { border: 1px solid #bbb; padding: 0.25em 0.6em; vertical-align: top; }
.cmp-table thead th { background: #eee; }
.cmp-table tbody th { text-align: left; font-weight: normal; }
"""


def render_comparison(comparison: Comparison, fmt: ComparisonFormat) -> str:
    """The comparison as plain text, markdown, a self-contained HTML document, or JSON."""
    if fmt == "json":
        return json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        title = html.escape(f"Plan comparison: {comparison.scenario_name or 'scenario'}")
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{title}</h1>\n{comparison_html_fragment(comparison)}\n</body>\n</html>\n"
        )
    lines: list[str] = []
    if fmt == "markdown":
        lines += [f"## {_header(comparison)[0]}", "", _header(comparison)[1]]
        for table in _tables(comparison):
            lines += ["", *_markdown_table(table)]
    else:
        lines += _header(comparison)
        for table in _tables(comparison):
            lines += ["", *_text_table(table)]
        if len(comparison.plans) > 1 and not comparison.differences:
            lines += ["", "Every person has the same outcome in every plan."]
    return "\n".join(lines) + "\n"
