"""Reading a timeline file back, and the timeline as a self-contained HTML page.

``placement replay`` prints its readable timeline while it runs; reviewers also need to read a
timeline written earlier, perhaps by someone else and perhaps altered since. A timeline file
is therefore treated like any other input: read through the same guarded loader (size limits,
transparent decryption, the personal-number guard), its structure validated with every
problem at its place, and its digest verified so an edit is visible.

The HTML page follows the plan report's rules: no scripts, no external resources (a
Content-Security-Policy forbids loading anything), every text escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from placement.errors import InputError
from placement.objectives import THREAT_LEVELS
from placement.plan import read_json_object, verify_digest
from placement.replay import comparison_text, order_against_hindsight
from placement.scenario import pydantic_problems

TIMELINE_FORMAT = "placement-timeline/1"


class _Open(BaseModel):
    """Keys the renderers need are checked; further keys are kept (the format may grow)."""

    model_config = ConfigDict(extra="allow")


class _Event(_Open):
    text: str


class _Placed(_Open):
    defector: str
    area_name: str


class _Waiting(_Open):
    defector: str
    reasons: list[str]


class _Move(_Open):
    defector: str
    from_name: str
    to_name: str
    reason: str


class _Risk(_Open):
    defector: str
    threat_level: int
    area_name: str
    reasons: list[str]


class _ActualViolation(_Open):
    new: bool
    message: str


class _ActualComparison(_Open):
    defector: str
    actual_area_name: str | None
    planner_area_name: str | None
    margin_gained_km: float | None
    actual_margin_km: float | None
    planner_margin_km: float | None
    actual_too_close_to: list[str]


class _Actual(_Open):
    violations: list[_ActualViolation]
    comparisons: list[_ActualComparison]


class _Step(_Open):
    date: str
    events: list[_Event]
    placed: list[_Placed]
    unplaced: list[_Waiting]
    moves: list[_Move]
    at_risk: list[_Risk]
    status: str
    actual: _Actual | None = None


class _AtEnd(_Open):
    placed: int
    waiting: int


class _Summary(_Open):
    dates: int
    events: int
    arrivals: int
    moves: int
    ever_at_risk: list[str]
    at_end: _AtEnd


class _Levels(_Open):
    """People placed at each threat level; every level is needed to draw the table."""

    level_1: int = Field(alias="1")
    level_2: int = Field(alias="2")
    level_3: int = Field(alias="3")
    level_4: int = Field(alias="4")
    level_5: int = Field(alias="5")


class _Side(_Open):
    placed_by_threat_level: _Levels
    placed: int
    min_safety_margin_km: float | None
    moves: int


class _Offline(_Side):
    status: str


class _Hindsight(_Open):
    online: _Side
    offline: _Offline
    people: int
    placed_percent_of_offline: float
    weighted_percent_of_offline: float


class _HistoryRef(_Open):
    name: str | None = None
    sha256: str


class TimelineFile(_Open):
    """The parts of a ``placement-timeline/1`` file that reading it back relies on."""

    format: Literal["placement-timeline/1"]
    history: _HistoryRef
    steps: list[_Step]
    summary: _Summary
    hindsight: _Hindsight | None = None


def load_timeline(
    path: str | Path, *, allow_personal_numbers: bool = False
) -> tuple[dict[str, Any], str | None]:
    """Read and validate a timeline file: the document and a digest warning (or None).

    Raises ``InputError`` listing every structural problem with its place.
    """
    path = Path(path)
    document, problems = read_json_object(
        path, what="a timeline", allow_personal_numbers=allow_personal_numbers
    )
    try:
        TimelineFile.model_validate(document)
    except ValidationError as error:
        raise InputError(str(path), problems + pydantic_problems(error, TimelineFile)) from None
    if problems:
        raise InputError(str(path), problems)
    warning = verify_digest(document)
    if warning is not None:
        warning = warning.replace("the plan", "the timeline")
    return document, warning


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1a1a1a;background:#fcfcfc}
h1{font-size:1.6rem}h2{font-size:1.15rem;border-bottom:1px solid #bbb;margin-top:1.6rem}
.secret{background:#fdecec;border:1px solid #d9a0a0;padding:.5rem .8rem}
.risk{background:#fdecec;border-left:5px solid #b3001b;padding:.35rem .7rem;margin:.3rem 0}
.warn{background:#fff6d6;border-left:5px solid #a67c00;padding:.35rem .7rem;margin:.3rem 0}
ul{padding-left:1.3rem}li{margin:.15rem 0}
.kind{display:inline-block;min-width:5.5rem;color:#555;font-size:.85em;text-transform:uppercase}
table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.2rem .55rem;text-align:right}
th:first-child,td:first-child{text-align:left}
@media print{body{margin:0;max-width:none}.secret{border-width:2px}}
"""


def render_timeline_html(timeline: Mapping[str, Any], *, warning: str | None = None) -> str:
    """The readable timeline as one self-contained HTML page: risks first at every date."""
    e = html.escape
    name = timeline["history"].get("name") or "a history"
    summary = timeline["summary"]
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>Replay of {e(name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Replay of {e(name)}</h1>",
        '<p class="secret"><strong>Secret.</strong> This timeline says where threatened people '
        "live and lived. Keep it encrypted at rest and share it only with those who need it.</p>",
    ]
    if warning:
        out.append(f'<p class="warn" id="digest-warning">Warning: {e(warning)}</p>')
    risk = summary["ever_at_risk"]
    out.append(
        f'<p id="summary">{summary["dates"]} dates, {summary["events"]} events, '
        f"{summary['arrivals']} arrivals; {summary['moves']} moves; at the end "
        f"{summary['at_end']['placed']} placed, {summary['at_end']['waiting']} waiting.</p>"
    )
    if risk:
        out.append(
            f'<p class="risk" id="ever-at-risk"><strong>AT RISK at some date:</strong> '
            f"{e(', '.join(risk))}</p>"
        )
    for step in timeline["steps"]:
        out.append(f'<section class="step" id="date-{e(step["date"])}">')
        out.append(f"<h2>{e(step['date'])}</h2>")
        for entry in step["at_risk"]:
            out.append(
                f'<p class="risk"><strong>AT RISK {e(entry["defector"])}</strong> '
                f"(threat level {int(entry['threat_level'])}) in {e(entry['area_name'])}: "
                f"{e('; '.join(entry['reasons']))}</p>"
            )
        items: list[tuple[str, str]] = []
        items.extend(("event", event["text"]) for event in step["events"])
        items.extend(
            ("moved", f"{m['defector']} from {m['from_name']} to {m['to_name']}: {m['reason']}")
            for m in step["moves"]
        )
        items.extend(("placed", f"{p['defector']} in {p['area_name']}") for p in step["placed"])
        items.extend(
            ("waiting", f"{w['defector']}: {'; '.join(w['reasons'])}") for w in step["unplaced"]
        )
        actual = step.get("actual")
        if actual:
            items.extend(
                ("as done", f"broke a rule: {v['message']}")
                for v in actual["violations"]
                if v["new"]
            )
            continuing = sum(1 for v in actual["violations"] if not v["new"])
            if continuing:
                items.append(("as done", f"{continuing} violation(s) from earlier dates continue"))
            items.extend(("compared", comparison_text(c)) for c in actual["comparisons"])
        if step["status"] != "optimal":
            items.append(("note", "a search was cut short by its budget: best decisions found"))
        out.append("<ul>")
        out.extend(
            f'<li class="{e(kind.replace(" ", "-"))}"><span class="kind">{e(kind)}</span> '
            f"{e(text)}</li>"
            for kind, text in items
        )
        out.append("</ul></section>")
    hindsight = timeline.get("hindsight")
    if hindsight:
        out.extend(_hindsight_html(hindsight))
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _hindsight_html(data: Mapping[str, Any]) -> list[str]:
    e = html.escape
    head = "".join(f"<th>level {level}</th>" for level in THREAT_LEVELS)
    rows = []
    for label, side in (("online (replay)", data["online"]), ("offline optimum", data["offline"])):
        cells = "".join(
            f"<td>{int(side['placed_by_threat_level'][str(level)])}</td>" for level in THREAT_LEVELS
        )
        margin = side["min_safety_margin_km"]
        rows.append(
            f"<tr><td>{label}</td>{cells}<td>{int(side['placed'])}</td>"
            f"<td>{'-' if margin is None else f'{float(margin):.1f}'}</td>"
            f"<td>{int(side['moves'])}</td></tr>"
        )
    out = [
        '<section id="hindsight"><h2>Hindsight benchmark</h2>',
        f"<table><tr><th></th>{head}<th>placed</th><th>min margin km</th><th>moves</th></tr>",
        *rows,
        "</table>",
        f"<p>People placed: {float(data['placed_percent_of_offline'])}% of the hindsight optimum "
        f"({int(data['online']['placed'])} of {int(data['offline']['placed'])}; "
        f"{int(data['people'])} people in the program); weighted by threat level: "
        f"{float(data['weighted_percent_of_offline'])}%.</p>",
        f"<p>{e(order_against_hindsight(data))}</p>",
    ]
    if data["offline"]["status"] != "optimal":
        out.append(
            f"<p>{e('The offline search was not proven optimal within its budget: it is the best')}"
            " plan found, not a proven optimum.</p>"
        )
    out.append("</section>")
    return out
