"""The HTML report: one self-contained, offline file a reviewer opens in any browser.

``build_report`` turns a scenario and one or two plans into a single HTML document: a summary,
a map per plan (inline SVG drawn from the bundled municipality outlines, see
``placement.maps``), the load per area, the comparison tables (``placement.compare``), every
person's explanation rule by rule (``placement.explain``), what the independent checker found
(``placement.check``) and the provenance of each plan.

The file fetches nothing: no web tiles, no scripts, no fonts, no external URL; a
Content-Security-Policy forbids the browser from loading anything even if a URL slipped in.
It needs no JavaScript and prints on paper. Every piece of text from the scenario or the
plans is HTML-escaped. The report holds case data (who lives where): the command line writes
it like a plan -- atomically, readable by the owner only, and encrypted when asked to or when
its inputs are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Final

from placement import __version__
from placement.check import CheckReport, check_plan, failure_counts, plan_warnings
from placement.explain import (
    PersonExplanation,
    PlanExplanation,
    explain_plan,
    floor_km,
    safety_margin,
)
from placement.maps import (
    LINK_COLOUR,
    LOAD_CLASSES,
    MARKER_SHAPES,
    THREAT_COLOURS,
    TOO_CLOSE_COLOUR,
    PlanMap,
    legend_svg,
    map_png,
    map_svg,
    plan_map,
)
from placement.objectives import THREAT_LEVELS
from placement.plan import Plan
from placement.scenario import Scenario
from placement.threats import Threats

REPORT_FORMAT: Final = "placement-report/1"
"""Written into the report's ``<meta name="generator">``; bumped when its structure changes."""

# No external resource may load: the policy also stops a URL that slipped into the text.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)

CSS: Final = """
:root { --ink: #1a1a1a; --muted: #5a5a5a; --line: #d0d0d0; --bad: #b00016; --ok: #1b6e20; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 1180px; }
h1 { font-size: 1.6rem; margin: 0.2rem 0 0.3rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.6rem; padding-bottom: 0.2rem;
     border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; }
h4 { font-size: 0.95rem; margin: 0.9rem 0 0.3rem; }
.secret { background: #fff1f0; border: 1px solid #e5a3a3; padding: 0.4rem 0.7rem;
          font-size: 0.9rem; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.3rem 1.2rem; }
nav a { color: inherit; }
table { border-collapse: collapse; margin: 0.4rem 0 0.8rem; font-size: 0.9rem; }
th, td { border: 1px solid var(--line); padding: 0.2rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.muted { color: var(--muted); }
.maps { display: flex; gap: 1.2rem; align-items: flex-start; flex-wrap: wrap; }
.maps figure { margin: 0; flex: 1 1 300px; max-width: 600px; }
.maps figcaption { font-weight: 600; margin-bottom: 0.3rem; }
svg.plan-map { width: 100%; height: auto; max-height: 88vh; display: block;
               background: #fcfdff; border: 1px solid var(--line); }
svg.plan-map .label { font-size: 15px; stroke: #fff; stroke-width: 3px; paint-order: stroke;
                      fill: #111; font-family: inherit; }
.legend { flex: 0 1 250px; font-size: 0.85rem; }
.legend ul { list-style: none; margin: 0 0 0.7rem; padding: 0; }
.legend li { display: flex; align-items: center; gap: 0.4rem; margin: 0.12rem 0; }
.legend h4 { margin: 0.6rem 0 0.2rem; }
svg.sym { flex: none; }
.person { border-top: 1px solid var(--line); padding: 0.1rem 0 0.3rem; break-inside: avoid; }
.person h4 { margin: 0.4rem 0 0.1rem; }
.person p { margin: 0.1rem 0; }
.person table { width: 100%; margin: 0.2rem 0; font-size: 0.85rem; table-layout: fixed; }
.person td { padding: 0.05rem 0.4rem; }
.person td:first-child { width: 7.5rem; white-space: nowrap; color: var(--muted); }
.person td:nth-child(2) { width: 4rem; }
h4.group { font-size: 1rem; margin: 1rem 0 0.2rem; }
.person:target { outline: 3px solid #fd8d3c; outline-offset: 2px; }
.cmp-table caption { text-align: left; font-weight: 600; padding: 0.2rem 0; }
.cmp-table tbody th { background: #fafafa; font-weight: 500; }
.same { font-size: 0.9rem; }
code { font-size: 0.85rem; overflow-wrap: anywhere; }
@media print {
  nav { display: none; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  h2 { break-after: avoid; }
  .maps, figure, table { break-inside: avoid; }
  svg.plan-map { max-height: 24cm; }
}
"""


@dataclass(frozen=True)
class _PlanView:
    """One plan with everything computed once for the report."""

    label: str
    key: str
    """A short, HTML-id-safe key (``p1``, ``p2``)."""
    plan: Plan
    explanation: PlanExplanation
    check: CheckReport
    map: PlanMap


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _plan_views(
    scenario: Scenario, plans: Sequence[Plan], labels: Sequence[str]
) -> list[_PlanView]:
    threats = Threats(scenario)
    views = []
    for k, (plan, label) in enumerate(zip(plans, labels, strict=True)):
        report = check_plan(scenario, plan)
        report.warnings[:0] = plan_warnings(scenario, plan)
        views.append(
            _PlanView(
                label=label,
                key=f"p{k + 1}",
                plan=plan,
                explanation=explain_plan(scenario, plan),
                check=report,
                map=plan_map(
                    scenario,
                    plan,
                    threats=threats,
                    violations=report.violations + report.pre_existing,
                ),
            )
        )
    return views


def _labels(plans: Sequence[Plan], labels: Sequence[str] | None) -> list[str]:
    if labels is None:
        return [f"plan {k + 1}" for k in range(len(plans))]
    if len(labels) != len(plans):
        raise ValueError("give one label per plan")
    return list(labels)


def build_report(
    scenario: Scenario,
    plans: Sequence[Plan],
    *,
    labels: Sequence[str] | None = None,
    title: str | None = None,
) -> str:
    """The whole report for one or two plans of ``scenario``, as one HTML document.

    ``labels`` name the plans in headings and tables (default ``plan 1``, ``plan 2``). The
    output depends only on the inputs (no clock, no randomness): the same scenario and plans
    give the same bytes.
    """
    if not 1 <= len(plans) <= 2:
        raise ValueError("a report covers one or two plans")
    names = _labels(plans, labels)
    views = _plan_views(scenario, plans, names)
    heading = title or f"Placement report: {scenario.name or 'unnamed scenario'}"
    sections = [
        ("summary", "Summary", _summary(scenario, views)),
        ("map", "Map", _maps(views)),
        ("load", "Load per area", _load_table(views)),
        ("comparison", "Comparison", _comparison(scenario, views)),
        ("explanations", "Explanations", _explanations(views)),
        ("check", "Check", _checks(views)),
        ("provenance", "Provenance", _provenance(scenario, views)),
    ]
    nav = "".join(f'<li><a href="#{key}">{_e(name)}</a></li>' for key, name, _ in sections)
    body = "\n".join(
        f'<section id="{key}">\n<h2>{_e(name)}</h2>\n{content}\n</section>'
        for key, name, content in sections
    )
    which = " and ".join(_e(v.label) for v in views)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_e(CONTENT_SECURITY_POLICY)}">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="placement {_e(__version__)} ({REPORT_FORMAT})">
<title>{_e(heading)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{_e(heading)}</h1>
<p class="muted">Scenario <strong>{_e(scenario.name or "(unnamed)")}</strong>; {which}.</p>
<p class="secret"><strong>Secret.</strong> This report says where threatened people live.
Keep it encrypted at rest, share it only with those who need it, and do not print or
forward more copies than needed.</p>
<nav><ul>{nav}</ul></nav>
</header>
<main>
{body}
</main>
</body>
</html>
"""


def report_png(
    scenario: Scenario, plans: Sequence[Plan], *, labels: Sequence[str] | None = None
) -> bytes:
    """The report's map(s) as one PNG (matplotlib), for documents."""
    names = _labels(plans, labels)
    threats = Threats(scenario)
    maps = []
    for plan in plans:
        report = check_plan(scenario, plan)
        violations = report.violations + report.pre_existing
        maps.append(plan_map(scenario, plan, threats=threats, violations=violations))
    titles = [f"{scenario.name or 'scenario'}: {name}" for name in names]
    return map_png(maps, titles=titles)


def _sha256_note(recorded: str | None, actual: str) -> str:
    """Whether the plan names this scenario file: yes, another one, or none at all."""
    if not recorded:
        return ' <span class="bad">(the plan names no scenario file)</span>'
    if recorded.strip().lower() == actual:
        return ""
    return ' <span class="bad">(not this scenario file)</span>'


# --------------------------------------------------------------------------- sections


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    cls: str = "",
    numeric: Sequence[int] = (),
) -> str:
    """A table; cells are already HTML. Columns listed in ``numeric`` are right-aligned.

    When every header is empty the table has no head row (a list of key-value rows).
    """

    def cell(tag: str, k: int, content: str) -> str:
        align = ' class="num"' if k in numeric else ""
        return f"<{tag}{align}>{content}</{tag}>"

    head = "".join(cell("th", k, _e(h)) for k, h in enumerate(headers))
    thead = f"<thead><tr>{head}</tr></thead>\n" if any(headers) else ""
    body = "\n".join(
        "<tr>" + "".join(cell("td", k, c) for k, c in enumerate(row)) + "</tr>" for row in rows
    )
    class_attr = f' class="{cls}"' if cls else ""
    return f"<table{class_attr}>\n{thead}<tbody>\n{body}\n</tbody>\n</table>"


def _status_counts(scenario: Scenario, view: _PlanView) -> dict[str, Any]:
    """Who the plan places, by kind; pending people and already placed ones kept apart."""
    pending_levels = {lvl: 0 for lvl in THREAT_LEVELS}
    placed_levels = {lvl: 0 for lvl in THREAT_LEVELS}
    for person in scenario.pending:
        pending_levels[person.threat_level] += 1
    counts = {"newly": 0, "already": 0, "moved": 0, "unplaced": 0, "missing": 0}
    margins: list[float] = []
    for p in view.explanation.people:
        pending = scenario.defector(p.defector).placed_in is None
        if p.status == "already placed":
            counts["already"] += 1
        elif p.status == "unplaced":
            counts["unplaced" if pending else "missing"] += 1
        else:  # given an area by the plan: a pending person, or a placed one moved
            counts["newly" if pending else "moved"] += 1
            if pending:
                placed_levels[p.threat_level] += 1
            margin = _safety_margin(p)
            if margin is not None:
                margins.append(margin)
    return {
        **counts,
        "pending_levels": pending_levels,
        "placed_levels": placed_levels,
        "min_margin": min(margins) if margins else None,
    }


def _safety_margin(person: PersonExplanation) -> float | None:
    return None if person.here is None else safety_margin(person.here.facts)


def _verdict_html(report: CheckReport) -> str:
    if report.ok:
        return '<span class="ok">OK: keeps every hard rule</span>'
    found = failure_counts(len(report.structural), len(report.violations))
    return f'<span class="bad">FAILED: {_e(found)}</span>'


def _summary(scenario: Scenario, views: Sequence[_PlanView]) -> str:
    counts = [_status_counts(scenario, v) for v in views]
    rows: list[list[str]] = [
        ["status", *(_e(v.plan.status) for v in views)],
        ["check", *(_verdict_html(v.check) for v in views)],
        ["people in the scenario", *(str(len(scenario.defectors)) for _ in views)],
        ["already placed, staying", *(str(c["already"]) for c in counts)],
        ["pending", *(str(len(scenario.pending)) for _ in views)],
        ["newly placed", *(str(c["newly"]) for c in counts)],
        ["unplaced", *(str(c["unplaced"]) for c in counts)],
    ]
    for level in sorted(THREAT_LEVELS, reverse=True):
        rows.append(
            [
                f"placed at threat level {level}",
                *(f"{c['placed_levels'][level]} of {c['pending_levels'][level]}" for c in counts),
            ]
        )
    rows.append(
        [
            "smallest safety margin",
            *(floor_km(c["min_margin"]) if c["min_margin"] is not None else "-" for c in counts),
        ]
    )
    if any(c["moved"] for c in counts):
        rows.append(["already placed people moved", *(str(c["moved"]) for c in counts)])
    if any(c["missing"] for c in counts):
        rows.append(["already placed people left out", *(str(c["missing"]) for c in counts)])
    policy = scenario.policy
    parts = [
        _table(
            ["", *(v.label for v in views)],
            rows,
            cls="summary",
            numeric=range(1, len(views) + 1),
        ),
        f'<p class="muted">Policy: threat buffer {policy.threat_buffer_km:g} km, origin buffer '
        f"{policy.origin_buffer_km:g} km, keep apart {policy.keep_apart_km:g} km, at most "
        f"{policy.max_same_network_per_area} per network and area, {_e(policy.distance)} "
        f"distance. Safety margin: km beyond the required distance to the nearest threat or "
        f"kept-apart person, rounded down.</p>",
    ]
    for view in views:
        unplaced = [
            p
            for p in view.explanation.people
            if p.status == "unplaced" and scenario.defector(p.defector).placed_in is None
        ]
        if unplaced:
            items = "".join(
                f"<li><strong>{_e(p.defector)}</strong> (threat level {p.threat_level}): "
                f"{_e('; '.join(p.reasons) or 'no reason recorded in the plan')}</li>"
                for p in unplaced
            )
            parts.append(
                f'<h3>Unplaced in {_e(view.label)} ({len(unplaced)})</h3><ul class="unplaced">'
                f"{items}</ul>"
            )
    return "\n".join(parts)


def _legend(views: Sequence[_PlanView]) -> str:
    first = views[0].map
    load = "".join(
        f"<li>{legend_svg('swatch', colour, stroke='#8a8a8a')}{_e(text)}</li>"
        for colour, text in LOAD_CLASSES.values()
    )
    people = "".join(
        f"<li>{legend_svg(shape, '#fd8d3c')}{_e(status)}</li>"
        for status, shape in MARKER_SHAPES.items()
    )
    levels = "".join(
        f"<li>{legend_svg('circle', colour)}threat level {level}</li>"
        for level, colour in THREAT_COLOURS.items()
    )
    networks = "".join(
        f"<li>{legend_svg('hatch', n.colour, stroke=n.colour)}<span><strong>{_e(n.id)}</strong>"
        f"{_e(' ' + n.name) if n.name else ''}: {_e(', '.join(n.territory) or 'no territory')}"
        "</span></li>"
        for n in first.networks
    )
    shown = "; ".join(
        f"{_e(v.label)}: {_e(v.map.links_shown)}" if len(views) > 1 else _e(v.map.links_shown)
        for v in views
    )
    return f"""<div class="legend">
<h4>Load (households / housing units)</h4><ul>{load}</ul>
<h4>People</h4><ul>{people}</ul>
<h4>Fill: threat level</h4><ul>{levels}</ul>
<h4>Networks</h4><ul>
<li>{legend_svg("swatch", "#ffffff", stroke="#555", dash="4 3")}threat buffer:
{first.threat_buffer_km:g} km around the territory</li>
{networks}</ul>
<h4>Kept apart</h4><ul>
<li>{legend_svg("line", "none", stroke=LINK_COLOUR, dash="4 3")}pair to keep
{first.keep_apart_km:g} km apart</li>
<li>{legend_svg("line", "none", stroke=TOO_CLOSE_COLOUR)}closer than {first.keep_apart_km:g}
km</li></ul>
<p class="muted">Drawn: {shown}. Hover a shape for details. Outlines are simplified; every
distance in this report is the checker's, not measured on the drawing.</p>
</div>"""


def _maps(views: Sequence[_PlanView]) -> str:
    figures = "\n".join(
        f'<figure class="plan-figure" data-plan="{_e(v.label)}">'
        f"<figcaption>{_e(v.label)}</figcaption>\n"
        + map_svg(
            v.map,
            title=f"Map of {v.label}",
            element_id=f"map-{v.key}",
            person_links=_person_anchors(v, views[0]),
        )
        + "\n</figure>"
        for v in views
    )
    return f'<div class="maps">\n{figures}\n{_legend(views)}\n</div>'


def _load_table(views: Sequence[_PlanView]) -> str:
    first = views[0].map.areas
    indices = [
        a.index
        for a in first
        if a.housing_units > 0 or any(v.map.areas[a.index].households for v in views)
    ]
    indices.sort(
        key=lambda i: (
            -max(_share(v.map.areas[i].households, v.map.areas[i].housing_units) for v in views),
            first[i].name,
        )
    )
    headers = ["area", "code", "housing units"]
    for v in views:
        prefix = f"{v.label}: " if len(views) > 1 else ""
        headers += [f"{prefix}people", f"{prefix}households", f"{prefix}load"]
    rows = []
    for i in indices:
        row = [_e(first[i].name), _e(first[i].id), str(first[i].housing_units)]
        for v in views:
            area = v.map.areas[i]
            share = _share(area.households, area.housing_units)
            cls = "bad" if area.load_class == "over" else ""
            load = "-" if area.housing_units == 0 and area.households == 0 else f"{share:.0%}"
            if area.housing_units == 0 and area.households:
                load = "no housing"
            row += [
                _e(", ".join(area.people)),
                str(area.households),
                f'<span class="{cls}">{_e(load)}</span>' if cls else _e(load),
            ]
        rows.append(row)
    note = (
        '<p class="muted">Areas that offer housing or where someone lives; households '
        "already placed and newly placed, against the area's housing units.</p>"
    )
    numeric = [2, *(c for k in range(len(views)) for c in (4 + 3 * k, 5 + 3 * k))]
    return note + _table(headers, rows, cls="load", numeric=numeric)


def _share(households: int, units: int) -> float:
    if units <= 0:
        return math.inf if households else 0.0
    return households / units


def _comparison(scenario: Scenario, views: Sequence[_PlanView]) -> str:
    from placement.compare import compare_plans, comparison_html_fragment

    comparison = compare_plans(scenario, [v.plan for v in views], labels=[v.label for v in views])
    return comparison_html_fragment(comparison)


def _person_anchor(view: _PlanView, index: int) -> str:
    return f"{view.key}-person-{index}"


def _person_anchors(view: _PlanView, first: _PlanView) -> dict[str, str]:
    """Pseudonym -> in-page link to the person's explanation (markers link there).

    A person listed once because the first plan has the same place and facts (see
    ``_explanations``) links to that first plan's explanation.
    """
    links = {}
    for index, person in enumerate(view.explanation.people):
        same = view is not first and _same_facts(person, first.explanation.people[index])
        links[person.defector] = f"#{_person_anchor(first if same else view, index)}"
    return links


def _fact_rows(person: PersonExplanation) -> str:
    if person.here is None:
        return ""
    rows = "".join(
        f"<tr><td>{_e(f.rule)}</td><td>"
        + ('<span class="ok">ok</span>' if f.ok else '<span class="bad">BROKEN</span>')
        + f"</td><td>{_e(f.text)}</td></tr>"
        for f in person.here.facts
    )
    return f'<table class="facts"><tbody>{rows}</tbody></table>'


def _person_html(view: _PlanView, index: int, person: PersonExplanation) -> str:
    where = f" in {person.here.area_name} ({person.here.area})" if person.here is not None else ""
    lines = [
        f'<section class="person" id="{_person_anchor(view, index)}" '
        f'data-defector="{_e(person.defector)}" data-status="{_e(person.status)}">',
        f"<h4>{_e(person.defector)} (threat level {person.threat_level}): "
        f"{_e(person.status)}{_e(where)}</h4>",
    ]
    if person.here is not None:
        state = (
            '<span class="ok">this place keeps every rule</span>'
            if not person.breaks
            else '<span class="bad">this place BREAKS '
            + _e(", ".join(f.rule for f in person.breaks))
            + "</span>"
        )
        extras = []
        if person.preferred:
            extras.append("on the person's prefer list")
        if person.here.score is not None:
            s = person.here.score
            extras.append(
                f"score {s.total} (margin {s.margin:+d}, waits {s.wait:+d}, "
                f"preference {s.preference:+d})"
            )
        tail = f'; <span class="muted">{_e("; ".join(extras))}</span>' if extras else ""
        lines.append(f"<p>{state}{tail}</p>")
        lines.append(_fact_rows(person))
    for reason in person.reasons:
        lines.append(f'<p class="bad">unplaced: {_e(reason)}</p>')
    lines.append("</section>")
    return "\n".join(lines)


def _same_facts(a: PersonExplanation, b: PersonExplanation) -> bool:
    return (
        a.status == b.status
        and a.reasons == b.reasons
        and (a.here.area if a.here else None) == (b.here.area if b.here else None)
        and (a.here.facts if a.here else None) == (b.here.facts if b.here else None)
    )


EXPLANATION_GROUPS: Final = (
    ("unplaced", "Unplaced"),
    ("newly placed", "Newly placed"),
    ("already placed", "Already placed"),
)


def _explanations(views: Sequence[_PlanView]) -> str:
    parts = [
        '<p class="muted">For every person, each hard rule where the plan puts them, with its '
        "margin; distances are the checker's, rounded down to 0.1 km. Click a person on the "
        "map to jump here. <code>placement explain SCENARIO PLAN --defector ID</code> also "
        "ranks every other area for one person.</p>"
    ]
    first = views[0]
    for view in views:
        parts.append(f'<div class="plan-explanations" data-plan="{_e(view.label)}">')
        if len(views) > 1:
            parts.append(f"<h3>{_e(view.label)}</h3>")
        same: list[str] = []
        for status, heading in EXPLANATION_GROUPS:
            shown = []
            for index, person in enumerate(view.explanation.people):
                if person.status != status:
                    continue
                if view is not first and _same_facts(person, first.explanation.people[index]):
                    same.append(person.defector)
                    continue
                shown.append(_person_html(view, index, person))
            if shown:
                parts.append(f'<h4 class="group">{_e(heading)} ({len(shown)})</h4>')
                parts.extend(shown)
        if same:
            parts.append(
                f'<p class="same">In the same place with the same facts as in {_e(first.label)} '
                f"({len(same)}): {_e(', '.join(sorted(same)))}.</p>"
            )
        parts.append("</div>")
    return "\n".join(parts)


def _checks(views: Sequence[_PlanView]) -> str:
    parts = [
        '<p class="muted">The independent checker (<code>placement check</code>), written '
        "apart from the solver, re-derives every hard rule from the scenario.</p>"
    ]
    for view in views:
        report = view.check
        parts.append(f'<div class="plan-check" data-plan="{_e(view.label)}">')
        parts.append(
            f"<h3>{_e(view.label)}: {_verdict_html(report)}</h3>"
            f"<p>{report.assigned_count} assigned, {report.unplaced_count} unplaced, of "
            f"{len(view.explanation.people)} people.</p>"
        )
        groups = [
            ("Plan problems", "structural", report.structural),
            ("Violations", "violations", [v.message for v in report.violations]),
            (
                "Pre-existing problems among people who stay (not counted against the plan)",
                "pre-existing",
                [v.message for v in report.pre_existing],
            ),
            ("Warnings", "warnings", report.warnings),
        ]
        for heading, cls, items in groups:
            if items:
                lis = "".join(f"<li>{_e(item)}</li>" for item in items)
                parts.append(f'<h4>{_e(heading)} ({len(items)})</h4><ul class="{cls}">{lis}</ul>')
        parts.append("</div>")
    return "\n".join(parts)


def _provenance(scenario: Scenario, views: Sequence[_PlanView]) -> str:
    rows = [
        ["scenario", _e(scenario.name or "(unnamed)")],
        ["scenario file", _e(Path(scenario.source).name)],
        ["scenario sha256", f"<code>{_e(scenario.sha256)}</code>"],
        ["areas", _e(scenario.geography.source)],
        ["report made by", _e(f"placement {__version__} ({REPORT_FORMAT})")],
    ]
    parts = [_table(["", ""], rows, cls="provenance")]
    keys = [
        "tool",
        "version",
        "solver",
        "python",
        "seed",
        "workers",
        "time_limit_s",
        "reproducible",
        "created_at",
    ]
    headers = ["", *(v.label for v in views)]
    plan_rows: list[list[str]] = [
        ["status", *(_e(v.plan.status) for v in views)],
        [
            "status reason",
            *(_e((v.plan.model_extra or {}).get("status_reason", "-")) for v in views),
        ],
        [
            "made for scenario sha256",
            *(
                f"<code>{_e(v.plan.scenario.sha256 or '-')}</code>"
                + _sha256_note(v.plan.scenario.sha256, scenario.sha256)
                for v in views
            ),
        ],
    ]
    for key in keys:
        values = [_provenance_value(v.plan, key) for v in views]
        plan_rows.append([_e(key.replace("_", " ")), *(_e(x) for x in values)])
    plan_rows.append(
        [
            "digest (sha256 of the plan)",
            *(f"<code>{_e(_digest_value(v.plan))}</code>" for v in views),
        ]
    )
    parts.append(_table(headers, plan_rows, cls="plan-provenance"))
    return "\n".join(parts)


def _provenance_value(plan: Plan, key: str) -> str:
    provenance = (plan.model_extra or {}).get("provenance")
    if not isinstance(provenance, dict) or key not in provenance:
        return "-"
    return str(provenance[key])


def _digest_value(plan: Plan) -> str:
    digest = (plan.model_extra or {}).get("digest")
    if isinstance(digest, dict) and isinstance(digest.get("value"), str):
        return str(digest["value"])
    return "-"
