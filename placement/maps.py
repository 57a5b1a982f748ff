"""Maps of a plan: municipalities by load, network territories and buffers, people, links.

One neutral description of the map (``plan_map``) is drawn two ways: as inline SVG for the
HTML report (``map_svg``; no tiles, no fonts, nothing fetched) and as a static PNG with
matplotlib for documents (``map_png``). Coordinates are kilometres in SWEREF 99 TM (EPSG:3006)
with the y axis flipped (north up, as SVG counts y downwards), so one SVG user unit is one km.

Layers, bottom to top:

- every area, filled by its load: households living there (already and newly placed) divided
  by its housing units;
- each network's territory (striped in the network's colour) and its threat buffer: the
  territory widened by the policy's ``threat_buffer_km``, as a dashed translucent outline
  (people with a personal buffer are held to theirs; the map shows the policy's);
- keep-apart links: a line between two kept-apart people, red when they live closer than
  ``keep_apart_km``;
- people, one marker each: a square when already placed, a circle when newly placed, a
  diamond when moved; filled by threat level.

Outlines are simplified (``SIMPLIFY_M``, shared borders kept shared) so that the national map
stays small; the report's distances are always the checker's, never measured on the drawing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final, Literal

import numpy as np

from placement.candidates import Candidates
from placement.check import Violation
from placement.explain import floor_km, rule_facts, safety_margin, where_people_live
from placement.plan import Plan
from placement.scenario import Scenario
from placement.threats import Threats

SIMPLIFY_M: Final = 500.0
"""Tolerance (metres) for simplifying area outlines on the map."""
BUFFER_SIMPLIFY_M: Final = 2000.0
"""Tolerance (metres) for simplifying threat buffer outlines."""
PAD_KM: Final = 12.0
MARKER_KM: Final = 9.0
"""Marker radius in map units (km); ``SMALL_MARKER_KM`` when the map shows many people."""
SMALL_MARKER_KM: Final = 6.0
MAX_LINKS: Final = 300
"""Up to this many keep-apart pairs are all drawn; beyond it, only the telling ones."""
MAX_LEGEND_NETWORKS: Final = 12
"""The PNG's legend names this many networks (the HTML report lists them all)."""
MAX_LABELS: Final = 60
"""Markers carry their pseudonym as a text label when the map shows at most this many."""

NETWORK_COLOURS: Final = (
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#ff7f0e",
    "#17becf",
    "#bcbd22",
    "#2ca02c",
    "#7f7f7f",
    "#393b79",
)
THREAT_COLOURS: Final = {1: "#fff3b0", 2: "#fed976", 3: "#fd8d3c", 4: "#e31a1c", 5: "#67000d"}
LINK_COLOUR: Final = "#4d4d4d"
TOO_CLOSE_COLOUR: Final = "#e0001b"

LoadClass = Literal["none", "empty", "low", "high", "full", "over"]
LOAD_CLASSES: Final[dict[LoadClass, tuple[str, str]]] = {
    "none": ("#f4f4f4", "no housing offered, nobody placed"),
    "empty": ("#deebf7", "housing offered, none used"),
    "low": ("#9ecae1", "under half used"),
    "high": ("#4292c6", "half used or more"),
    "full": ("#08519c", "full"),
    "over": ("#cb181d", "over capacity"),
}
MarkerStatus = Literal["already placed", "newly placed", "moved"]
MARKER_SHAPES: Final[dict[MarkerStatus, str]] = {
    "already placed": "square",
    "newly placed": "circle",
    "moved": "diamond",
}

Ring = list[tuple[float, float]]


@dataclass(frozen=True)
class AreaShape:
    """One area on the map: its outline (rings in map km) and its load in this plan."""

    index: int
    id: str
    name: str
    rings: tuple[Ring, ...]
    housing_units: int
    households: int
    people: tuple[str, ...]
    problems: tuple[str, ...] = ()
    """Check findings about this area (broken rules), for its outline and tooltip."""
    pre_existing: bool = False
    """True when every finding here is pre-existing (not the plan's doing)."""

    @property
    def load_class(self) -> LoadClass:
        if self.housing_units <= 0:
            return "over" if self.households > 0 else "none"
        if self.households > self.housing_units:
            return "over"
        if self.households == self.housing_units:
            return "full"
        if self.households == 0:
            return "empty"
        return "low" if self.households * 2 < self.housing_units else "high"

    @property
    def load_text(self) -> str:
        if self.housing_units <= 0 and self.households == 0:
            return "no housing units"
        share = (
            f" ({100 * self.households / self.housing_units:.0f}%)" if self.housing_units else ""
        )
        return f"{self.households} of {self.housing_units} housing units used{share}"


@dataclass(frozen=True)
class NetworkLayer:
    """One network's territory and threat buffer, in its colour."""

    id: str
    name: str | None
    colour: str
    territory: tuple[str, ...]
    """Names of the territory's areas."""
    territory_rings: tuple[Ring, ...]
    buffer_rings: tuple[Ring, ...]


@dataclass(frozen=True)
class Marker:
    """One person in the plan, at a point inside their area."""

    defector: str
    threat_level: int
    status: MarkerStatus
    area: str
    area_name: str
    x: float
    y: float
    note: str
    """A line for the tooltip (safety margin, nearest threat), from the plan's record."""
    dx: float = 0.0
    """Direction from the area's centre when several people share it (label goes that way)."""
    problems: tuple[str, ...] = ()
    """Check findings that name this person."""


@dataclass(frozen=True)
class Link:
    """Two kept-apart people, the distance between their areas, and whether it is too short."""

    first: str
    second: str
    x1: float
    y1: float
    x2: float
    y2: float
    distance_km: float
    too_close: bool
    why: str


@dataclass(frozen=True)
class PlanMap:
    """Everything drawn for one plan, in map km (x east, y south from the top left)."""

    width: float
    height: float
    areas: tuple[AreaShape, ...]
    networks: tuple[NetworkLayer, ...]
    markers: tuple[Marker, ...]
    links: tuple[Link, ...]
    links_total: int
    """Kept-apart pairs with both people on the map (``links`` may show only some)."""
    links_shown: str
    """Which pairs are drawn, in words."""
    threat_buffer_km: float
    keep_apart_km: float
    marker_km: float = MARKER_KM
    """Marker radius (km): smaller when many people share the map."""


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _Frame:
    """The projection from EPSG:3006 metres to map km: x east, y down from the north edge."""

    min_x: float
    max_y: float

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (
            round((x - self.min_x) / 1000 + PAD_KM, 1),
            round((self.max_y - y) / 1000 + PAD_KM, 1),
        )


def _rings(geometry: Any, frame: _Frame) -> tuple[Ring, ...]:
    """Exterior and interior rings of a (multi)polygon, projected; tiny ones dropped."""
    import shapely

    rings: list[Ring] = []
    parts = shapely.get_parts(geometry)
    for part in parts:
        if part.is_empty or part.geom_type != "Polygon":
            continue
        for ring in (part.exterior, *part.interiors):
            points = [frame.xy(float(x), float(y)) for x, y in np.asarray(ring.coords)[:, :2]]
            deduped = [p for k, p in enumerate(points) if k == 0 or p != points[k - 1]]
            if len(deduped) >= 4:
                rings.append(deduped)
    return tuple(rings)


def _simplified_areas(scenario: Scenario) -> Any:
    import shapely

    geometries = scenario.geography.geometries
    try:
        # keeps shared borders shared: neighbours neither overlap nor gape on the map
        return shapely.coverage_simplify(geometries, SIMPLIFY_M)
    except Exception:  # not a clean coverage (e.g. a custom areas file with overlaps)
        return shapely.simplify(geometries, SIMPLIFY_M, preserve_topology=True)


def _anchor_points(scenario: Scenario, frame: _Frame) -> list[tuple[float, float]]:
    import shapely

    points = shapely.point_on_surface(scenario.geography.geometries)
    return [frame.xy(float(p.x), float(p.y)) for p in points]


def _spread(
    centre: tuple[float, float], count: int, position: int, radius: float
) -> tuple[float, float]:
    """Where the ``position``-th of ``count`` markers in one area goes: around the centre."""
    if count <= 1:
        return centre
    ring = radius * (1.0 + 0.35 * count / 4)
    angle = 2 * math.pi * position / count - math.pi / 2
    return (
        round(centre[0] + ring * math.cos(angle), 1),
        round(centre[1] + ring * math.sin(angle), 1),
    )


def plan_map(
    scenario: Scenario,
    plan: Plan,
    *,
    threats: Threats | None = None,
    violations: Sequence[Violation] = (),
) -> PlanMap:
    """The map of one plan: areas by load, territories and buffers, people and links.

    ``violations`` (from ``placement.check``) mark the areas and people they name, so a
    broken rule is visible on the map, not only in the tables.
    """
    import shapely

    geography = scenario.geography
    policy = scenario.policy
    threats = threats or Threats(scenario)
    bounds = shapely.total_bounds(geography.geometries)
    frame = _Frame(min_x=float(bounds[0]), max_y=float(bounds[3]))
    width = round((bounds[2] - bounds[0]) / 1000 + 2 * PAD_KM, 1)
    height = round((bounds[3] - bounds[1]) / 1000 + 2 * PAD_KM, 1)

    areas_of = where_people_live(scenario, plan)
    households = np.zeros(len(geography), dtype=np.int64)
    people_in: dict[int, list[int]] = {}
    for index, area in sorted(areas_of.items()):
        households[area] += scenario.defectors[index].household
        people_in.setdefault(area, []).append(index)

    area_problems: dict[str, list[Violation]] = {}
    person_problems: dict[str, list[str]] = {}
    for violation in violations:
        for area_id in dict.fromkeys(violation.areas):
            area_problems.setdefault(area_id, []).append(violation)
        for person_id in dict.fromkeys(violation.defectors):
            person_problems.setdefault(person_id, []).append(violation.message)
    simplified = _simplified_areas(scenario)
    areas = tuple(
        AreaShape(
            index=a,
            id=geography.ids[a],
            name=geography.label(a),
            rings=_rings(simplified[a], frame),
            housing_units=scenario.offers[a].housing_units,
            households=int(households[a]),
            people=tuple(scenario.defectors[p].id for p in people_in.get(a, [])),
            problems=tuple(v.message for v in area_problems.get(geography.ids[a], [])),
            pre_existing=all(v.pre_existing for v in area_problems.get(geography.ids[a], [])),
        )
        for a in range(len(geography))
    )

    networks = []
    for k, network in enumerate(sorted(scenario.networks.values(), key=lambda n: n.id)):
        territory = sorted(set(network.territory))
        if territory:
            union = shapely.union_all(geography.geometries[territory])
            buffer = shapely.simplify(
                shapely.buffer(union, policy.threat_buffer_km * 1000, quad_segs=6),
                BUFFER_SIMPLIFY_M,
            )
            territory_rings = tuple(r for a in territory for r in areas[a].rings)
            buffer_rings = _rings(buffer, frame) if policy.threat_buffer_km > 0 else ()
        else:
            territory_rings, buffer_rings = (), ()
        networks.append(
            NetworkLayer(
                id=network.id,
                name=network.name,
                colour=NETWORK_COLOURS[k % len(NETWORK_COLOURS)],
                territory=tuple(geography.label(a) for a in territory),
                territory_rings=territory_rings,
                buffer_rings=buffer_rings,
            )
        )

    anchors = _anchor_points(scenario, frame)
    notes = _marker_notes(scenario, threats, areas_of)
    position: dict[int, tuple[float, float]] = {}
    markers = []
    marker_km = MARKER_KM if len(areas_of) <= MAX_LABELS else SMALL_MARKER_KM
    for area, people in sorted(people_in.items()):
        for k, person_index in enumerate(people):
            person = scenario.defectors[person_index]
            x, y = _spread(anchors[area], len(people), k, marker_km * 1.4)
            dx = round(x - anchors[area][0], 1)
            position[person_index] = (x, y)
            status: MarkerStatus = (
                "newly placed"
                if person.placed_in is None
                else ("already placed" if person.placed_in == area else "moved")
            )
            markers.append(
                Marker(
                    defector=person.id,
                    threat_level=person.threat_level,
                    status=status,
                    area=geography.ids[area],
                    area_name=geography.label(area),
                    x=x,
                    y=y,
                    note=notes.get(person.id, ""),
                    dx=dx,
                    problems=tuple(person_problems.get(person.id, ())),
                )
            )

    distance = scenario.distance_km
    candidates: list[Link] = []
    for pair in threats.keep_apart_pairs:
        if pair.first not in areas_of or pair.second not in areas_of:
            continue
        a, b = areas_of[pair.first], areas_of[pair.second]
        d = float(distance[a, b])
        (x1, y1), (x2, y2) = position[pair.first], position[pair.second]
        candidates.append(
            Link(
                first=scenario.defectors[pair.first].id,
                second=scenario.defectors[pair.second].id,
                x1=x1,
                y1=y1,
                x2=x2,
                y2=y2,
                distance_km=d,
                too_close=not d >= policy.keep_apart_km,
                why=pair.describe(scenario),
            )
        )
    links, shown = _telling_links(candidates, policy.keep_apart_km, listed=_listed(threats))
    return PlanMap(
        width=float(width),
        height=float(height),
        areas=areas,
        networks=tuple(networks),
        markers=tuple(markers),
        links=links,
        links_total=len(candidates),
        links_shown=shown,
        threat_buffer_km=policy.threat_buffer_km,
        keep_apart_km=policy.keep_apart_km,
        marker_km=marker_km,
    )


def _listed(threats: Threats) -> set[frozenset[str]]:
    people = threats.scenario.defectors
    return {
        frozenset((people[p.first].id, people[p.second].id))
        for p in threats.keep_apart_pairs
        if p.listed
    }


def _telling_links(
    links: Sequence[Link], keep_apart_km: float, *, listed: set[frozenset[str]]
) -> tuple[tuple[Link, ...], str]:
    """All links when there are few; otherwise the ones a reviewer must see.

    At national size thousands of rival pairs live far apart; drawing them all hides the map.
    Beyond ``MAX_LINKS`` only pairs closer than twice ``keep_apart_km`` (including any too
    close) and pairs listed in ``keep_apart_from`` are drawn.
    """
    if len(links) <= MAX_LINKS:
        return tuple(links), f"all {len(links)} kept-apart pairs"
    near = 2 * keep_apart_km
    chosen = tuple(
        link
        for link in links
        if link.distance_km < near or frozenset((link.first, link.second)) in listed
    )
    return chosen, (
        f"{len(chosen)} of {len(links)} kept-apart pairs: those closer than {near:g} km "
        f"and those listed in keep_apart_from"
    )


def _marker_notes(
    scenario: Scenario, threats: Threats, areas_of: Mapping[int, int]
) -> dict[str, str]:
    """Per person, a tooltip line: the safety margin and the nearest threat where they live.

    Recomputed from the scenario and everyone's places, as the tables are: a plan's own
    record may be stale (edited by hand, or made under what-if changes).
    """
    facts = rule_facts(Candidates(scenario, threats), areas_of)
    notes: dict[str, str] = {}
    for index, person_facts in facts.items():
        parts = []
        margin = safety_margin(person_facts)
        if margin is not None:
            parts.append(f"safety margin {floor_km(margin)}")
        threat = next(f for f in person_facts if f.rule == "threats")
        if threat.value is not None and math.isfinite(threat.value):
            parts.append(threat.text)
        notes[scenario.defectors[index].id] = "; ".join(parts)
    return notes


# --------------------------------------------------------------------------- SVG


def _path_data(rings: Sequence[Ring]) -> str:
    return " ".join(
        "M" + " ".join(f"{x:g} {y:g}" for x, y in ring[:-1]) + "Z"
        for ring in rings
        if len(ring) >= 4
    )


def _marker_svg(shape: str, x: float, y: float, r: float, attrs: str) -> str:
    if shape == "square":
        s = r * 0.9
        return f'<rect x="{x - s:g}" y="{y - s:g}" width="{2 * s:g}" height="{2 * s:g}"{attrs}/>'
    if shape == "diamond":
        d = r * 1.25
        points = f"{x:g},{y - d:g} {x + d:g},{y:g} {x:g},{y + d:g} {x - d:g},{y:g}"
        return f'<polygon points="{points}"{attrs}/>'
    return f'<circle cx="{x:g}" cy="{y:g}" r="{r:g}"{attrs}/>'


def map_svg(
    plan_map: PlanMap,
    *,
    title: str,
    element_id: str = "map",
    person_links: Mapping[str, str] | None = None,
) -> str:
    """The map as one inline ``<svg>`` element; every piece of text is escaped.

    Hovering an area, territory, marker or link shows its ``<title>`` (a browser tooltip);
    the same facts are in the report's tables for print and for readers without a mouse.
    ``person_links`` maps a pseudonym to an in-page anchor (``#...``): the person's marker
    then links to it. ``element_id`` must be unique in the page and plain (letters, digits,
    ``-``); it prefixes the ids of the map's own definitions.
    """
    m = plan_map
    eid = escape(element_id)
    out: list[str] = [
        f'<svg class="plan-map" id="{eid}" '
        f'viewBox="0 0 {m.width:g} {m.height:g}" role="img" aria-labelledby="{eid}-title">',
        f'<title id="{eid}-title">{escape(title)}</title>',
        "<defs>",
    ]
    for k, network in enumerate(m.networks):
        out.append(
            f'<pattern id="{eid}-hatch-{k}" patternUnits="userSpaceOnUse" width="6" height="6" '
            'patternTransform="rotate(45)">'
            f'<rect width="6" height="6" fill="{network.colour}" fill-opacity="0.18"/>'
            f'<rect width="2.6" height="6" fill="{network.colour}" fill-opacity="0.9"/></pattern>'
        )
    out.append("</defs>")

    out.append('<g class="areas" stroke="#8a8a8a" stroke-width="0.6" stroke-linejoin="round">')
    for area in m.areas:
        fill, _ = LOAD_CLASSES[area.load_class]
        who = f"; people: {', '.join(area.people)}" if area.people else ""
        tip = f"{area.name} ({area.id}): {area.load_text}{who}"
        out.append(
            f'<path class="area load-{area.load_class}" data-area="{escape(area.id)}" '
            f'fill="{fill}" d="{_path_data(area.rings)}"><title>{escape(tip)}</title></path>'
        )
    out.append("</g>")

    # translucent fills add up where buffers overlap: keep the sum light however many there are
    buffer_fill = min(0.05, 0.3 / max(len(m.networks), 1))
    out.append('<g class="buffers" fill-rule="evenodd">')
    for network in m.networks:
        if network.buffer_rings:
            tip = (
                f"{network.id}: {m.threat_buffer_km:g} km threat buffer around its territory "
                f"({', '.join(network.territory)})"
            )
            out.append(
                f'<path class="buffer" data-network="{escape(network.id)}" '
                f'd="{_path_data(network.buffer_rings)}" fill="{network.colour}" '
                f'fill-opacity="{buffer_fill:.3g}" stroke="{network.colour}" stroke-opacity="0.8" '
                f'stroke-width="1.6" stroke-dasharray="7 5"><title>{escape(tip)}</title></path>'
            )
    out.append("</g>")

    out.append('<g class="territories" fill-rule="evenodd">')
    for k, network in enumerate(m.networks):
        if network.territory_rings:
            name = f" ({network.name})" if network.name else ""
            tip = f"{network.id}{name}: territory {', '.join(network.territory)}"
            out.append(
                f'<path class="territory" data-network="{escape(network.id)}" '
                f'd="{_path_data(network.territory_rings)}" fill="url(#{eid}-hatch-{k})" '
                f'stroke="{network.colour}" stroke-width="1.8">'
                f"<title>{escape(tip)}</title></path>"
            )
    out.append("</g>")

    out.append('<g class="problems" fill="none" stroke-linejoin="round">')
    for area in m.areas:
        if area.problems:
            dash = ' stroke-dasharray="6 4"' if area.pre_existing else ""
            kind = "pre-existing: " if area.pre_existing else ""
            out.append(
                f'<path class="problem-area" data-area="{escape(area.id)}" '
                f'stroke="{TOO_CLOSE_COLOUR}" stroke-width="3.5"{dash} '
                f'd="{_path_data(area.rings)}"><title>{escape(area.name)}: {escape(kind)}'
                f"{escape('; '.join(area.problems))}</title></path>"
            )
    out.append("</g>")

    out.append('<g class="links" stroke-linecap="round">')
    for link in m.links:
        state = "TOO CLOSE: " if link.too_close else ""
        tip = (
            f"{state}{link.first} and {link.second} are {floor_km(link.distance_km)} apart "
            f"(needs {m.keep_apart_km:g} km): {link.why}"
        )
        style = (
            f'stroke="{TOO_CLOSE_COLOUR}" stroke-width="4"'
            if link.too_close
            else f'stroke="{LINK_COLOUR}" stroke-opacity="0.55" stroke-width="1.3" '
            'stroke-dasharray="4 3"'
        )
        out.append(
            f'<line class="link{" too-close" if link.too_close else ""}" '
            f'data-pair="{escape(link.first)} {escape(link.second)}" '
            f'x1="{link.x1:g}" y1="{link.y1:g}" x2="{link.x2:g}" y2="{link.y2:g}" {style}>'
            f"<title>{escape(tip)}</title></line>"
        )
    out.append("</g>")

    labels = len(m.markers) <= MAX_LABELS
    links = person_links or {}
    out.append('<g class="markers" stroke="#1a1a1a" stroke-width="1.2">')
    for marker in m.markers:
        shape = MARKER_SHAPES[marker.status]
        tip = (
            f"{marker.defector} (threat level {marker.threat_level}): {marker.status} in "
            f"{marker.area_name} ({marker.area})"
            + (f"; {marker.note}" if marker.note else "")
            + (f"; BREAKS: {'; '.join(marker.problems)}" if marker.problems else "")
        )
        attrs = f' fill="{THREAT_COLOURS.get(marker.threat_level, "#999")}"'
        body = [f"<title>{escape(tip)}</title>"]
        if marker.problems:
            body.append(
                f'<circle class="problem-ring" cx="{marker.x:g}" cy="{marker.y:g}" '
                f'r="{m.marker_km + 4:g}" fill="none" stroke="{TOO_CLOSE_COLOUR}" '
                'stroke-width="3"/>'
            )
        body.append(_marker_svg(shape, marker.x, marker.y, m.marker_km, attrs))
        if labels:
            left = marker.dx < 0
            x = marker.x - m.marker_km - 3 if left else marker.x + m.marker_km + 3
            anchor = ' text-anchor="end"' if left else ""
            body.append(
                f'<text x="{x:g}" y="{marker.y + 5:g}" class="label"{anchor}>'
                f"{escape(marker.defector)}</text>"
            )
        content = "".join(body)
        href = links.get(marker.defector)
        if href is not None:
            content = f'<a href="{escape(href)}">{content}</a>'
        out.append(
            f'<g class="marker {shape}" data-defector="{escape(marker.defector)}" '
            f'data-status="{escape(marker.status)}" data-threat-level="{marker.threat_level}">'
            f"{content}</g>"
        )
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def legend_svg(shape: str, fill: str, *, stroke: str = "#1a1a1a", dash: str = "") -> str:
    """A small symbol for the report's legend, drawn like its map counterpart."""
    attrs = f' fill="{fill}" stroke="{stroke}" stroke-width="1.2"'
    if shape == "line":
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        body = f'<line x1="1" y1="8" x2="23" y2="8" stroke="{stroke}" stroke-width="2.5"{extra}/>'
    elif shape == "hatch":
        lines = "".join(
            f'<line x1="{x:g}" y1="14" x2="{x + 12:g}" y2="2" stroke="{fill}" stroke-width="2.2"/>'
            for x in (-5, 1, 7, 13)
        )
        body = (
            f'<svg x="1" y="2" width="22" height="12" viewBox="1 2 22 12">{lines}</svg>'
            f'<rect x="1" y="2" width="22" height="12" fill="none" stroke="{stroke}" '
            'stroke-width="1.2"/>'
        )
    elif shape == "swatch":
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        body = f'<rect x="1" y="2" width="22" height="12"{attrs}{extra}/>'
    else:
        body = _marker_svg(shape, 12, 8, 6, attrs)
    return (
        '<svg class="sym" width="24" height="16" '
        f'viewBox="0 0 24 16" aria-hidden="true">{body}</svg>'
    )


# --------------------------------------------------------------------------- PNG


def map_png(maps: Sequence[PlanMap], *, titles: Sequence[str], dpi: int = 150) -> bytes:
    """A static PNG of one or more plan maps side by side (matplotlib, Agg; no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, PathPatch
    from matplotlib.path import Path as MplPath

    def mpl_path(rings: Sequence[Ring]) -> MplPath:
        vertices: list[tuple[float, float]] = []
        codes: list[np.uint8] = []
        for ring in rings:
            vertices.extend(ring)
            codes.extend([MplPath.MOVETO, *([MplPath.LINETO] * (len(ring) - 2)), MplPath.CLOSEPOLY])
        return MplPath(vertices, codes)

    figure = Figure(figsize=(5.2 * len(maps) + 2.6, 10.5), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(maps), squeeze=False)[0]
    marker_codes = {"square": "s", "circle": "o", "diamond": "D"}
    for ax, m, title in zip(axes, maps, titles, strict=True):
        ax.set_title(title, fontsize=10)
        for area in m.areas:
            if area.rings:
                ax.add_patch(
                    PathPatch(
                        mpl_path(area.rings),
                        facecolor=LOAD_CLASSES[area.load_class][0],
                        edgecolor="#8a8a8a",
                        linewidth=0.25,
                    )
                )
        for network in m.networks:
            if network.buffer_rings:
                ax.add_patch(
                    PathPatch(
                        mpl_path(network.buffer_rings),
                        facecolor="none",
                        edgecolor=network.colour,
                        linewidth=0.8,
                        linestyle=(0, (4, 3)),
                        alpha=0.8,
                    )
                )
            if network.territory_rings:
                ax.add_patch(
                    PathPatch(
                        mpl_path(network.territory_rings),
                        facecolor="none",
                        edgecolor=network.colour,
                        hatch="////",
                        linewidth=0.8,
                    )
                )
        for area in m.areas:
            if area.problems and area.rings:
                ax.add_patch(
                    PathPatch(
                        mpl_path(area.rings),
                        facecolor="none",
                        edgecolor=TOO_CLOSE_COLOUR,
                        linewidth=1.6,
                        linestyle="--" if area.pre_existing else "-",
                        zorder=3,
                    )
                )
        flagged = [k for k in m.markers if k.problems]
        if flagged:
            ax.scatter(
                [k.x for k in flagged],
                [k.y for k in flagged],
                marker="o",
                s=110,
                facecolors="none",
                edgecolors=TOO_CLOSE_COLOUR,
                linewidths=1.5,
                zorder=4,
            )
        plain = [((k.x1, k.y1), (k.x2, k.y2)) for k in m.links if not k.too_close]
        close = [((k.x1, k.y1), (k.x2, k.y2)) for k in m.links if k.too_close]
        ax.add_collection(
            LineCollection(plain, colors=LINK_COLOUR, linewidths=0.6, alpha=0.5, linestyles=":")
        )
        ax.add_collection(LineCollection(close, colors=TOO_CLOSE_COLOUR, linewidths=2.0))
        for status, shape in MARKER_SHAPES.items():
            group = [k for k in m.markers if k.status == status]
            if group:
                ax.scatter(
                    [k.x for k in group],
                    [k.y for k in group],
                    marker=marker_codes[shape],
                    s=30,
                    c=[THREAT_COLOURS.get(k.threat_level, "#999") for k in group],
                    edgecolors="#1a1a1a",
                    linewidths=0.6,
                    zorder=5,
                )
        if len(m.markers) <= MAX_LABELS:
            for k in m.markers:
                left = k.dx < 0
                ax.annotate(
                    k.defector,
                    (k.x, k.y),
                    xytext=(-4 if left else 4, -2),
                    textcoords="offset points",
                    ha="right" if left else "left",
                    fontsize=6,
                )
        ax.set_xlim(0, m.width)
        ax.set_ylim(m.height, 0)
        ax.set_aspect("equal")
        ax.set_axis_off()
    handles: list[Patch | Line2D | PathCollection] = [
        Patch(facecolor=colour, edgecolor="#8a8a8a", label=f"load: {text}")
        for colour, text in LOAD_CLASSES.values()
    ]
    handles += [
        Line2D(
            [],
            [],
            marker=marker_codes[shape],
            linestyle="none",
            markerfacecolor="#fd8d3c",
            markeredgecolor="#1a1a1a",
            label=status,
        )
        for status, shape in MARKER_SHAPES.items()
    ]
    handles += [
        Patch(facecolor=colour, edgecolor="#1a1a1a", label=f"threat level {level}")
        for level, colour in THREAT_COLOURS.items()
    ]
    handles += [
        Patch(facecolor="none", edgecolor="#555", hatch="////", label="network territory"),
        Line2D(
            [], [], color="#555", linestyle="--", label=f"{maps[0].threat_buffer_km:g} km buffer"
        ),
        Line2D([], [], color=LINK_COLOUR, linestyle=":", label="keep-apart pair"),
        Line2D([], [], color=TOO_CLOSE_COLOUR, linewidth=2, label="kept apart, too close"),
        Patch(facecolor="none", edgecolor=TOO_CLOSE_COLOUR, label="area or person breaking a rule"),
    ]
    networks = maps[0].networks
    handles += [
        Patch(facecolor="none", edgecolor=n.colour, hatch="////", label=f"{n.id}")
        for n in networks[:MAX_LEGEND_NETWORKS]
    ]
    if len(networks) > MAX_LEGEND_NETWORKS:
        handles.append(
            Patch(facecolor="none", edgecolor="none", label=f"... {len(networks)} networks")
        )
    figure.legend(handles=handles, loc="outside right center", fontsize=7, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
