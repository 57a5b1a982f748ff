"""Areas and distances: Sweden's municipalities and custom areas files."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from placement.errors import InputError, Problem
from placement.geography import (
    SWEDEN_MUNICIPALITIES,
    Geography,
    load_geography,
    sweden_municipalities,
)
from placement.scenario import load_scenario

SWEDEN = sweden_municipalities()

# Four 10 km squares in SWEREF 99 TM (metres): A and B touch, C lies 30 km east of B,
# D lies 90 km north of A.
X0, Y0 = 500_000, 6_500_000
SQUARES = {
    "A1": ("Alfa", (X0, Y0)),
    "B2": ("Bravo", (X0 + 10_000, Y0)),
    "C3": ("Charlie", (X0 + 50_000, Y0)),
    "D4": ("Delta", (X0, Y0 + 100_000)),
}


def square(x: float, y: float, size: float) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(properties: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def geojson(features: list[dict[str, Any]], *, crs: str | None = "EPSG::3006") -> str:
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        collection["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:{crs}"}}
    return json.dumps(collection)


def squares_file(path: Path) -> Path:
    features = [
        feature({"id": key, "name": name}, square(x, y, 10_000))
        for key, (name, (x, y)) in SQUARES.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(geojson(features))
    return path


def area_problems(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        load_geography(str(path))
    assert caught.value.source == str(path)
    return caught.value.problems


# --------------------------------------------------------------------------- Sweden


def test_sweden_has_290_municipalities() -> None:
    assert len(SWEDEN) == 290
    assert len(set(SWEDEN.ids)) == 290
    assert len({name.casefold() for name in SWEDEN.names}) == 290
    assert all(len(code) == 4 and code.isdigit() for code in SWEDEN.ids)
    assert list(SWEDEN.ids) == sorted(SWEDEN.ids)
    assert SWEDEN.source == SWEDEN_MUNICIPALITIES
    assert {g.geom_type for g in SWEDEN.geometries} <= {"Polygon", "MultiPolygon"}


def test_sweden_is_loaded_once() -> None:
    assert sweden_municipalities() is SWEDEN
    assert load_geography(SWEDEN_MUNICIPALITIES) is SWEDEN
    assert SWEDEN.distances("boundary") is SWEDEN.distances("boundary")


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ("0180", "0180"),
        ("Stockholm", "0180"),
        ("stockholm", "0180"),
        ("  STOCKHOLM ", "0180"),
        ("0127", "0127"),
        ("Botkyrka", "0127"),
        ("Göteborg", "1480"),
        ("göteborg", "1480"),
        ("GÖTEBORG", "1480"),
        ("1480", "1480"),
        ("Malmö", "1280"),
        ("MALMÖ", "1280"),
        ("Umeå", "2480"),
        ("Luleå", "2580"),
        ("Uppsala", "0380"),
        ("Mölndal", "1481"),
    ],
)
def test_index_of(reference: str, code: str) -> None:
    index = SWEDEN.index_of(reference)
    assert index is not None
    assert SWEDEN.ids[index] == code


@pytest.mark.parametrize("reference", ["", "180", "127", "87", "Stokholm", "Goteborg", "0000"])
def test_index_of_unknown(reference: str) -> None:
    assert SWEDEN.index_of(reference) is None


def test_suggestions() -> None:
    assert SWEDEN.suggestions("Stokholm") == ["Stockholm", "Boxholm", "Tidaholm"]
    assert SWEDEN.suggestions("goteborg")[0] == "Göteborg"
    assert SWEDEN.suggestions("MALMO")[0] == "Malmö"
    assert SWEDEN.suggestions("Stokholm", limit=1) == ["Stockholm"]
    assert SWEDEN.suggestions("xyzzy-qwerty") == []


def test_label_and_county() -> None:
    stockholm = SWEDEN.index_of("0180")
    kiruna = SWEDEN.index_of("Kiruna")
    assert stockholm is not None and kiruna is not None
    assert SWEDEN.label(stockholm) == "Stockholm"
    assert SWEDEN.county(stockholm) == "01"
    assert SWEDEN.county(kiruna) == "25"


def test_neighbours_are_zero_km_apart_by_boundary() -> None:
    stockholm, solna = SWEDEN.index_of("0180"), SWEDEN.index_of("0184")
    assert stockholm is not None and solna is not None
    assert SWEDEN.names[solna] == "Solna"
    assert SWEDEN.distances("boundary")[stockholm, solna] == 0
    assert 0 < SWEDEN.distances("centroid")[stockholm, solna] < 20


def test_stockholm_goteborg() -> None:
    stockholm, goteborg = SWEDEN.index_of("Stockholm"), SWEDEN.index_of("Göteborg")
    assert stockholm is not None and goteborg is not None
    boundary = SWEDEN.distances("boundary")[stockholm, goteborg]
    centroid = SWEDEN.distances("centroid")[stockholm, goteborg]
    assert 360 <= boundary <= 380
    assert centroid > boundary
    assert centroid < 420


def test_far_apart() -> None:
    ystad, haparanda = SWEDEN.index_of("Ystad"), SWEDEN.index_of("Haparanda")
    assert ystad is not None and haparanda is not None
    assert 1100 < SWEDEN.distances("boundary")[ystad, haparanda] < 1400


@pytest.mark.parametrize("kind", ["boundary", "centroid"])
def test_matrices_are_symmetric_with_zero_diagonal(kind: str) -> None:
    matrix = SWEDEN.distances(kind)  # type: ignore[arg-type]
    assert matrix.shape == (290, 290)
    assert matrix.dtype == np.float64
    assert np.array_equal(matrix, matrix.T)
    assert np.all(np.diag(matrix) == 0)
    assert np.all(matrix >= 0)
    assert np.all(np.isfinite(matrix))
    off_diagonal = matrix[~np.eye(290, dtype=bool)]
    if kind == "centroid":
        assert np.all(off_diagonal > 0)
    assert off_diagonal.max() < 1700  # Sweden is about 1570 km long


def test_geography_checks_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        Geography(ids=("a",), names=("a", "b"), geometries=np.empty(1, dtype=object))


# --------------------------------------------------------------------------- custom areas


def test_custom_areas_file(tmp_path: Path) -> None:
    path = squares_file(tmp_path / "squares.geojson")
    areas = load_geography(str(path))
    assert areas.ids == ("A1", "B2", "C3", "D4")
    assert areas.names == ("Alfa", "Bravo", "Charlie", "Delta")
    assert areas.source == str(path.resolve())
    assert areas.county(0) is None
    assert areas.index_of("b2") == areas.index_of("BRAVO") == 1
    assert areas.suggestions("Charly") == ["Charlie"]
    boundary = areas.distances("boundary")
    assert boundary[0, 1] == 0
    assert boundary[1, 2] == pytest.approx(30)
    assert boundary[0, 2] == pytest.approx(40)
    assert boundary[0, 3] == pytest.approx(90)
    assert boundary[2, 3] == pytest.approx(np.hypot(40, 90))
    centroid = areas.distances("centroid")
    assert centroid[0, 1] == pytest.approx(10)
    assert centroid[0, 2] == pytest.approx(50)
    assert centroid[0, 3] == pytest.approx(100)
    for matrix in (boundary, centroid):
        assert np.array_equal(matrix, matrix.T)
        assert np.all(np.diag(matrix) == 0)


def test_custom_areas_without_names_use_ids(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    path.write_text(geojson([feature({"id": " Z9 "}, square(X0, Y0, 1000))]))
    areas = load_geography(str(path))
    assert areas.ids == areas.names == ("Z9",)
    assert areas.label(0) == "Z9"


def test_custom_areas_in_wgs84_are_projected(tmp_path: Path) -> None:
    path = tmp_path / "wgs84.geojson"
    features = [
        feature({"id": "S", "name": "South"}, square(15.0, 60.0, 0.1)),
        feature({"id": "N", "name": "North"}, square(15.0, 61.0, 0.1)),
    ]
    path.write_text(geojson(features, crs=None))  # GeoJSON's default: WGS 84
    areas = load_geography(str(path))
    # 0.9 degrees of latitude on SWEREF 99 TM's central meridian
    assert 99 < areas.distances("boundary")[0, 1] < 101
    assert 110 < areas.distances("centroid")[0, 1] < 112


def test_custom_areas_as_geoparquet(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path / "areas.parquet"
    frame = gpd.GeoDataFrame(
        {"id": ["P", "Q"], "name": ["Pe", "Qu"]},
        geometry=[box(X0, Y0, X0 + 5000, Y0 + 5000), box(X0 + 25_000, Y0, X0 + 30_000, Y0 + 5000)],
        crs="EPSG:3006",
    )
    frame.to_parquet(path)
    areas = load_geography(str(path))
    assert areas.ids == ("P", "Q")
    assert areas.distances("boundary")[0, 1] == pytest.approx(20)


def test_scenario_with_custom_areas_relative_to_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    squares_file(tmp_path / "cases" / "maps" / "squares.geojson")
    scenario_path = tmp_path / "cases" / "scenario.yaml"
    scenario_path.write_text(
        textwrap.dedent("""\
        format: placement-scenario/1
        areas: maps/squares.geojson
        capacity:
          default: {housing_units: 1}
          areas: {C3: {housing_units: 5, services: [exit_program]}}
        networks: [{id: N, territory: [alfa, B2]}]
        defectors:
          - {id: D, networks: [N], origin: Alfa, prefer: [d4], placed_in: Charlie}
        """),
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # not the scenario's folder
    scenario = load_scenario(Path("cases") / "scenario.yaml")
    areas = scenario.geography
    assert areas.ids == ("A1", "B2", "C3", "D4")
    assert scenario.networks["N"].territory == (0, 1)
    person = scenario.defectors[0]
    assert (person.origin, person.prefer, person.placed_in) == (0, (3,), 2)
    assert [o.housing_units for o in scenario.offers] == [1, 1, 5, 1]
    assert scenario.distance_km[1, 2] == pytest.approx(30)


def test_unknown_custom_area_suggests_names(tmp_path: Path) -> None:
    squares_file(tmp_path / "squares.geojson")
    path = tmp_path / "s.yaml"
    path.write_text(
        "format: placement-scenario/1\nareas: squares.geojson\n"
        "networks: [{id: N, territory: [Charly, '0180']}]\n"
    )
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert [str(p) for p in caught.value.problems] == [
        "networks[0].territory[0]: unknown area 'Charly' (did you mean Charlie?)",
        "networks[0].territory[1]: unknown area '0180'",
    ]


def test_missing_custom_areas_file_in_a_scenario(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("format: placement-scenario/1\nareas: nowhere.geojson\npolicy: {x: 1}\n")
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    assert caught.value.source == str(path)
    assert [str(p) for p in caught.value.problems] == [
        "areas: areas file 'nowhere.geojson' not found",
        "policy.x: unknown key 'x'",
    ]


def test_a_shared_name_refers_to_no_area_and_says_which_share_it(tmp_path: Path) -> None:
    """Two districts may share a name in a custom file; a reference by it must not guess."""
    path = tmp_path / "a.geojson"
    features = [
        feature({"id": "A", "name": "Centrum"}, square(X0, Y0, 1000)),
        feature({"id": "B", "name": "centrum"}, square(X0 + 50_000, Y0, 1000)),
        feature({"id": "C", "name": "A"}, square(X0 + 90_000, Y0, 1000)),
    ]
    path.write_text(geojson(features))
    areas = load_geography(str(path))
    assert areas.index_of("Centrum") is None
    assert areas.ambiguous("CENTRUM") == ["A", "B"]
    assert areas.unknown_reference("Centrum") == (
        "area name 'Centrum' is shared by 2 areas (ids A, B): write the id"
    )
    assert areas.index_of("A") == 0  # an id wins over another area's name
    assert areas.refers_to("Centrum", 1) and not areas.refers_to("Centrum", 2)
    scenario_path = tmp_path / "s.yaml"
    scenario_path.write_text(
        "format: placement-scenario/1\nareas: a.geojson\n"
        "networks: [{id: N, territory: [Centrum, B]}]\n"
    )
    with pytest.raises(InputError) as caught:
        load_scenario(scenario_path)
    assert [str(p) for p in caught.value.problems] == [
        "networks[0].territory[0]: area name 'Centrum' is shared by 2 areas (ids A, B): "
        "write the id"
    ]


def test_references_match_whatever_the_unicode_normal_form() -> None:
    """ "Malmö" typed as "Malmo" + a combining diaeresis (NFD) is still Malmö."""
    decomposed = "Malmo\u0308"
    assert SWEDEN.index_of(decomposed) == SWEDEN.index_of("Malmö")


def test_an_areas_directory_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "d.geojson").mkdir()
    assert area_problems(tmp_path / "d.geojson") == [
        Problem("areas", f"areas file '{tmp_path / 'd.geojson'}' is a directory, not a file")
    ]


def test_metres_in_a_file_read_as_degrees_are_refused(tmp_path: Path) -> None:
    """GeoJSON without a crs member is WGS 84: SWEREF metres there would give NaN distances."""
    path = squares_file(tmp_path / "a.geojson")
    document = json.loads(path.read_text())
    del document["crs"]
    path.write_text(json.dumps(document))
    assert area_problems(path) == [
        Problem(
            "areas",
            "4 of 4 areas lie outside longitude -180..180 or latitude -90..90 in the file's "
            "CRS EPSG:4326 (areas[0], areas[1], areas[2] and 1 more): declare the CRS the "
            "coordinates are in (GeoJSON without 'crs' means WGS 84)",
        )
    ]


def test_rows_of_a_bad_areas_file_are_named_with_that_file(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    path.write_text(
        geojson(
            [feature({"id": "A"}, square(X0, Y0, 1)), feature({"id": "A"}, square(X0, Y0 + 9, 1))]
        )
    )
    scenario_path = tmp_path / "s.yaml"
    scenario_path.write_text("format: placement-scenario/1\nareas: a.geojson\n")
    with pytest.raises(InputError) as caught:
        load_scenario(scenario_path)
    assert [str(p) for p in caught.value.problems] == [
        "areas: a.geojson: areas[1].id: duplicate id 'A'"
    ]


def test_a_bad_areas_file_hides_no_other_problem_of_the_scenario(tmp_path: Path) -> None:
    """Names of networks, people and services need no areas: they are checked all the same.

    Area names cannot be looked up without the areas, so they alone wait for the file's fix.
    """
    path = tmp_path / "a.geojson"
    path.write_text(
        geojson(
            [feature({"id": "A"}, square(X0, Y0, 1)), feature({"id": "A"}, square(X0, Y0 + 9, 1))]
        )
    )
    scenario_path = tmp_path / "s.yaml"
    scenario_path.write_text(
        "format: placement-scenario/1\n"
        "policy: {x: 1}\n"
        "areas: a.geojson\n"
        "capacity: {default: {housing_units: 1, services: [trauma_car]}}\n"
        "networks: [{id: N1, territory: [Nowhere], rivals: [N9]}]\n"
        "defectors:\n"
        "  - {id: D1, networks: [N1, N7], threat_level: 3, origin: Nowhere, household: 1}\n"
        "  - {id: D1, networks: [N1], threat_level: 3, origin: A, household: 1,"
        " keep_apart_from: [D2]}\n"
    )
    with pytest.raises(InputError) as caught:
        load_scenario(scenario_path)
    assert [str(p) for p in caught.value.problems] == [
        "policy.x: unknown key 'x'",
        "areas: a.geojson: areas[1].id: duplicate id 'A'",
        "capacity.default.services[0]: unknown service 'trauma_car' (did you mean trauma_care?)",
        "networks[0].rivals[0]: unknown network 'N9'",
        "defectors[0].networks[1]: unknown network 'N7'",
        "defectors[1].id: duplicate defector id 'D1' (first at defectors[0])",
        "defectors[1].keep_apart_from[0]: unknown defector 'D2'",
    ]


def test_missing_custom_areas_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.geojson"
    assert area_problems(path) == [Problem("areas", f"areas file '{path}' not found")]


def test_custom_areas_file_without_id_column(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    path.write_text(geojson([feature({"name": "Alfa"}, square(X0, Y0, 1000))]))
    assert area_problems(path) == [Problem("areas", "areas file has no 'id' column")]


def test_custom_areas_file_with_duplicate_and_empty_ids(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    features = [
        feature({"id": "A", "name": "One"}, square(X0, Y0, 1000)),
        feature({"id": "B", "name": "Two"}, square(X0 + 2000, Y0, 1000)),
        feature({"id": "A", "name": "Three"}, square(X0 + 4000, Y0, 1000)),
        feature({"id": " ", "name": "Four"}, square(X0 + 6000, Y0, 1000)),
        feature({"id": None, "name": "Five"}, square(X0 + 8000, Y0, 1000)),
        feature({"id": "b", "name": "Six"}, square(X0 + 10_000, Y0, 1000)),
    ]
    path.write_text(geojson(features))
    assert area_problems(path) == [
        Problem("areas[2].id", "duplicate id 'A'"),
        Problem("areas[3].id", "empty id"),
        Problem("areas[4].id", "empty id"),  # not an area called 'nan'
        # references match ids case-insensitively, so 'b' could never be told from 'B'
        Problem("areas[5].id", "duplicate id 'b' (same as 'B' ignoring case)"),
    ]


def test_custom_areas_with_missing_names_use_their_ids(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    features = [
        feature({"id": "A", "name": "Alfa"}, square(X0, Y0, 1000)),
        feature({"id": "B", "name": None}, square(X0 + 2000, Y0, 1000)),
        feature({"id": "C", "name": " "}, square(X0 + 4000, Y0, 1000)),
    ]
    path.write_text(geojson(features))
    areas = load_geography(str(path))
    assert areas.names == ("Alfa", "B", "C")  # never an area called 'None'
    assert areas.index_of("None") is None


def test_custom_areas_file_with_non_polygons(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    features = [
        feature({"id": "A"}, square(X0, Y0, 1000)),
        feature({"id": "P"}, {"type": "Point", "coordinates": [X0, Y0]}),
        feature({"id": "L"}, {"type": "LineString", "coordinates": [[X0, Y0], [X0 + 1, Y0]]}),
        feature({"id": "N"}, None),  # type: ignore[arg-type]
    ]
    path.write_text(geojson(features))
    assert area_problems(path) == [
        Problem("areas[1].geometry", "expected a polygon, got Point"),
        Problem("areas[2].geometry", "expected a polygon, got LineString"),
        Problem("areas[3].geometry", "missing or empty geometry"),
    ]


def test_custom_areas_file_without_crs(tmp_path: Path) -> None:
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path / "a.parquet"
    gpd.GeoDataFrame({"id": ["A"]}, geometry=[box(0, 0, 1, 1)]).to_parquet(path)
    assert area_problems(path) == [
        Problem("areas", "areas file has no coordinate reference system")
    ]


def test_unreadable_custom_areas_file(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    path.write_text("this is not GeoJSON")
    problems = area_problems(path)
    assert len(problems) == 1
    assert problems[0].place == "areas"
    assert problems[0].message.startswith("cannot read areas file: ")


def test_empty_custom_areas_file(tmp_path: Path) -> None:
    path = tmp_path / "a.geojson"
    path.write_text(geojson([]))
    problems = area_problems(path)
    assert Problem("areas", "areas file holds no areas") in problems


# --------------------------------------------------------------------------- large custom files


def _shapes() -> np.ndarray:
    """Squares and thin triangles strewn over 1,000 km: box bounds are loose for triangles."""
    from shapely.geometry import Polygon, box

    rng = np.random.default_rng(0)
    shapes = []
    for number in range(60):
        x, y = rng.uniform(0, 400_000), rng.uniform(0, 1_000_000)
        if number % 2:
            shapes.append(box(x, y, x + 8_000, y + 8_000))
        else:
            shapes.append(Polygon([(x, y), (x + 30_000, y), (x, y + 30_000)]))
    return np.asarray(shapes, dtype=object)


def test_radius_distances_are_exact_within_and_a_lower_bound_beyond() -> None:
    from placement.geography import _dense_boundary_km, boundary_km_within

    shapes = _shapes()
    exact = _dense_boundary_km(shapes)
    fast = boundary_km_within(shapes, 200.0)
    near = exact <= 200.0
    assert near.sum() > len(shapes) and (~near).sum() > len(shapes)  # both kinds occur
    # Two squares: their box distance, which may differ from shapely's in the last bit.
    squares = np.array([number % 2 == 1 for number in range(len(shapes))])
    both_squares = squares[:, None] & squares[None, :]
    assert np.allclose(fast[near & both_squares], exact[near & both_squares], rtol=1e-15, atol=0)
    assert np.array_equal(fast[near & ~both_squares], exact[near & ~both_squares])
    assert np.all(fast[~near] >= 200.0)
    assert np.all(fast[~near] <= exact[~near] * (1 + 1e-12))  # up to rounding
    assert np.array_equal(fast, fast.T)
    assert np.all(np.diag(fast) == 0)


def test_large_custom_files_get_radius_distances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import placement.geography as geography

    monkeypatch.setattr(geography, "RADIUS_QUERY_MIN_AREAS", 4)
    monkeypatch.setattr(geography, "EXACT_WITHIN_KM", 50.0)
    areas = load_geography(str(squares_file(tmp_path / "squares.geojson")))
    boundary = areas.distances("boundary")
    assert boundary[0, 1] == 0  # exact within 50 km
    assert boundary[1, 2] == pytest.approx(30)
    assert boundary[0, 2] == pytest.approx(40)
    # A (0, 0) and D (0, 100 km): box gap 90 km, beyond 50 km: the bound is exact here ...
    assert boundary[0, 3] == pytest.approx(90)
    # ... and for C and D, the box distance hypot(40, 90) is exact too, as for any two boxes.
    assert boundary[2, 3] == pytest.approx(np.hypot(40, 90))


def test_the_radius_widens_to_what_a_scenario_asks_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule asking for more than the default radius is decided on exact distances too."""
    import placement.geography as geography
    from placement.geography import _dense_boundary_km

    monkeypatch.setattr(geography, "RADIUS_QUERY_MIN_AREAS", 2)
    monkeypatch.setattr(geography, "EXACT_WITHIN_KM", 50.0)
    shapes = _shapes()
    areas = Geography(
        ids=tuple(f"A{i}" for i in range(len(shapes))),
        names=tuple(f"A{i}" for i in range(len(shapes))),
        geometries=shapes,
        source="custom.geojson",
    )
    exact = _dense_boundary_km(shapes)
    between = (exact > 50) & (exact <= 300)
    assert np.any(areas.distances("boundary")[between] < exact[between])  # lower bounds
    wide = areas.distances("boundary", 300.0)
    within = exact <= 300
    assert np.allclose(wide[within], exact[within], rtol=1e-15, atol=0)
    assert np.all(wide[~within] >= 300)
    assert areas.distances("boundary", 120.0) is wide  # a wider matrix serves narrower asks


def test_a_scenario_asks_for_its_largest_rule_distance_and_the_margin() -> None:
    from placement.geography import MARGIN_KM
    from placement.objectives import MARGIN_CAP_KM
    from placement.scenario import scenario_from_document

    assert MARGIN_KM == MARGIN_CAP_KM  # what the objective counts is read exactly
    document = {
        "format": "placement-scenario/1",
        "policy": {"threat_buffer_km": 100, "origin_buffer_km": 150},
        "networks": [{"id": "N"}],
        "defectors": [
            {"id": "D1", "networks": ["N"], "origin": "Umeå"},
            {"id": "D2", "networks": ["N"], "origin": "Umeå", "threat_buffer_km": 450},
        ],
    }
    assert scenario_from_document(document).exact_within_km == 550.0


def test_municipality_distances_are_always_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    import shapely

    import placement.geography as geography

    monkeypatch.setattr(geography, "RADIUS_QUERY_MIN_AREAS", 2)
    monkeypatch.setattr(geography, "EXACT_WITHIN_KM", 10.0)
    picked = [SWEDEN.index_of(code) for code in ("1280", "2584", "0180", "1480", "2480")]
    rows = [i for i in picked if i is not None]
    subset = Geography(
        ids=tuple(SWEDEN.ids[i] for i in rows),
        names=tuple(SWEDEN.names[i] for i in rows),
        geometries=SWEDEN.geometries[rows],
        source=SWEDEN_MUNICIPALITIES,
    )
    matrix = subset.distances("boundary")
    expected = shapely.distance(subset.geometries[:, None], subset.geometries[None, :]) / 1000.0
    assert np.array_equal(matrix, expected)
    assert matrix[0, 1] > 1000  # Malmö - Kiruna: far beyond the (patched) radius
