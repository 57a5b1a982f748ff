"""The HTML report: its content, that it is self-contained, and that a real browser renders it.

The structure is checked twice: by parsing the file with ``html.parser`` (fast, always), and
by loading it in headless Chromium and parsing the DOM the browser built, plus a screenshot
whose pixels must show the map (``test_renders_in_headless_chromium``). The browser test is
skipped only when Chromium is missing and ``PLACEMENT_REQUIRE_BROWSER`` is not set: CI sets it
(``.ci/run``), so there a missing browser fails the run instead of skipping silently.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import subprocess
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import EXIT_OK, main
from placement import crypto
from placement.crypto import PASSPHRASE_ENV, ScryptCost
from placement.maps import LOAD_CLASSES, THREAT_COLOURS
from placement.plan import Assignment, Plan, plan_from_result, write_plan
from placement.report import build_report
from placement.scenario import Scenario, load_scenario
from placement.solve import SolveSettings, solve_scenario

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "scenarios" / "tutorial.yaml"
MUNICIPALITIES = 290
SECTIONS = ("summary", "map", "load", "comparison", "explanations", "check", "provenance")
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def tutorial() -> tuple[Scenario, Plan]:
    scenario = load_scenario(TUTORIAL)
    result = solve_scenario(scenario, SolveSettings(time_limit_s=20))
    return scenario, plan_from_result(result)


def edited(plan: Plan, moves: dict[str, str]) -> Plan:
    """The plan with some people moved by hand (area codes), as a reviewer might."""
    assignments = [
        Assignment(defector=a.defector, area=moves[a.defector]) if a.defector in moves else a
        for a in plan.assignments
    ]
    return Plan(status="feasible", scenario=plan.scenario, assignments=assignments)


# D08 (network N04) next to D03 (N03, its rival) in Timrå, which has no housing: the checker
# finds keep_apart, capacity and services broken.
BAD_MOVES = {"D08": "2262"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    classes: set[str]
    parents: tuple[str, ...]
    """The ids and classes of the enclosing elements, innermost last."""


class Outline(HTMLParser):
    """Every element of a document with its attributes, and the text, via ``html.parser``."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "col", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.text: list[str] = []
        self.stack: list[tuple[str, str]] = []

    def _add(self, tag: str, attrs: list[tuple[str, str | None]]) -> dict[str, str]:
        values = {k: v or "" for k, v in attrs}
        parents = tuple(f"{t}#{i}" if i else t for t, i in self.stack)
        self.elements.append(Element(tag, values, set(values.get("class", "").split()), parents))
        return values

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = self._add(tag, attrs)
        if tag not in self.VOID:
            self.stack.append((tag, values.get("id", "")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                del self.stack[k:]
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, cls: str | None = None) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and (cls is None or cls in e.classes)]

    def inside(self, element_id: str, tag: str, cls: str | None = None) -> list[Element]:
        """Elements of ``tag`` (and class ``cls``) within the element with that id."""
        return [
            e for e in self.having(tag, cls) if any(p.endswith(f"#{element_id}") for p in e.parents)
        ]


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    parser.close()
    return parser


def assert_report_structure(doc: Outline, scenario: Scenario, plans: list[Plan]) -> None:
    """What every report must hold, whoever parsed it (html.parser or the browser)."""
    ids = {e.attrs.get("id") for e in doc.elements}
    for section in SECTIONS:
        assert section in ids, f"no section #{section}"
    maps = doc.having("svg", "plan-map")
    assert len(maps) == len(plans)
    for k, plan in enumerate(plans):
        map_id = maps[k].attrs["id"]
        areas = doc.inside(map_id, "path", "area")
        assert len(areas) == MUNICIPALITIES
        assert {a.attrs["data-area"] for a in areas} == set(scenario.geography.ids)
        assert all(a.attrs["d"].startswith("M") for a in areas)
        markers = doc.inside(map_id, "g", "marker")
        assert sorted(m.attrs["data-defector"] for m in markers) == sorted(
            a.defector for a in plan.assignments
        )
        territories = doc.inside(map_id, "path", "territory")
        assert {t.attrs["data-network"] for t in territories} == set(scenario.networks)
        assert len(doc.inside(map_id, "path", "buffer")) == len(scenario.networks)
        assert doc.inside(map_id, "line", "link"), "no keep-apart links drawn"
    # the tables: summary, load per area, the comparison's, a rule table per placed person
    assert doc.inside("summary", "table")
    load_rows = doc.inside("load", "tr")
    assert len(load_rows) > 1
    assert doc.inside("comparison", "table", "cmp-table")
    for k in range(len(plans)):
        people = [
            e
            for e in doc.inside("explanations", "section", "person")
            if e.attrs["id"].startswith(f"p{k + 1}-")
        ]
        if k == 0:
            assert sorted(p.attrs["data-defector"] for p in people) == sorted(
                d.id for d in scenario.defectors
            )
        else:  # only people whose place or facts differ from the first plan are repeated
            assert people
    assert len(doc.inside("explanations", "table", "facts")) >= len(plans[0].assignments)
    assert doc.inside("provenance", "code")


def test_report_has_every_section_map_layer_and_table(tutorial: tuple[Scenario, Plan]) -> None:
    scenario, plan = tutorial
    html = build_report(scenario, [plan], labels=["tutorial-plan.json"])
    doc = outline(html)
    assert_report_structure(doc, scenario, [plan])
    text = " ".join(doc.text)
    assert "OK: keeps every hard rule" in text
    assert "Tutorial, four networks" in text
    summary = _rows(html, "summary")
    assert summary["already placed, staying"] == ["4"]
    assert summary["newly placed"] == ["6"] and summary["unplaced"] == ["0"]
    assert summary["placed at threat level 4"] == ["2 of 2"]
    load = _rows(html, "load")
    assert load["Umeå"][:4] == ["2480", "5", "D01, D07", "4"]  # D01 household 1, D07 3 units
    assert scenario.sha256 in text
    # every person placed by the plan links from the map to their explanation
    anchors = {
        e.attrs["href"] for e in doc.having("a") if e.attrs.get("href", "").startswith("#p1")
    }
    assert {
        f"#{e.attrs['id']}"
        for e in doc.having("section", "person")
        if e.attrs.get("data-status") != "unplaced"
    } == anchors


def test_report_marks_violations_on_the_map_and_in_the_tables(
    tutorial: tuple[Scenario, Plan],
) -> None:
    scenario, plan = tutorial
    bad = edited(plan, BAD_MOVES)
    doc = outline(build_report(scenario, [plan, bad], labels=["solved", "hand-edited"]))
    assert_report_structure(doc, scenario, [plan, bad])
    too_close = doc.inside("map-p2", "line", "too-close")
    assert [e.attrs["data-pair"] for e in too_close] == ["D03 D08"]
    assert not doc.inside("map-p1", "line", "too-close")
    flagged = {e.attrs["data-area"] for e in doc.inside("map-p2", "path", "problem-area")}
    assert flagged == {"2262", "2281"}  # Timrå (D08) and Sundsvall (D03)
    timra = [e for e in doc.inside("map-p2", "path", "area") if e.attrs["data-area"] == "2262"]
    assert "load-over" in timra[0].classes  # a household where there is no housing
    text = " ".join(doc.text)
    assert "FAILED: 3 rule violations" in text  # the words of `placement check`
    assert "keep_apart: D03 in Sundsvall" in text
    assert "the plan was edited after it was written" not in text  # built in memory: no digest
    assert "BROKEN" in text
    # Every in-page link leads somewhere: a person listed once, with the same place and facts
    # in both plans, is linked from the second map to the first plan's explanation.
    ids = {e.attrs["id"] for e in doc.elements if "id" in e.attrs}
    targets = [e.attrs["href"][1:] for e in doc.having("a") if e.attrs["href"].startswith("#")]
    assert targets and all(target in ids for target in targets)


def test_map_tooltips_are_recomputed_not_read_from_the_plan(
    tutorial: tuple[Scenario, Plan],
) -> None:
    """A plan edited by hand keeps its old recorded margin; the map must not repeat it."""
    scenario, plan = tutorial
    stale = plan.model_copy(
        update={
            "assignments": [
                a.model_copy(update={"area": "2262"}) if a.defector == "D08" else a
                for a in plan.assignments
            ]
        }
    )
    recorded = next(a for a in plan.assignments if a.defector == "D08").model_extra
    assert recorded and recorded["safety_margin_km"] > 0  # the record says safe
    html = build_report(scenario, [plan, stale], labels=["solved", "hand-edited"])
    second_map = html[html.index('id="map-p2"') :]
    (tip,) = re.findall(r"<title>(D08 \(threat level[^<]*)</title>", second_map)[:1]
    # Timrå touches Sundsvall, where D03 (a rival) lives: 0 km, 50 km short.
    assert "in Timrå (2262); safety margin -50.0 km;" in tip
    assert f"safety margin {recorded['safety_margin_km']}" not in tip


def test_report_contains_no_external_resource_or_script(tutorial: tuple[Scenario, Plan]) -> None:
    scenario, plan = tutorial
    html = build_report(scenario, [plan, edited(plan, BAD_MOVES)])
    lowered = html.lower()
    for needle in ("http:", "https:", "ftp:", "//cdn", "@import", "<script", "<link", "<iframe"):
        assert needle not in lowered, needle
    assert re.findall(r"url\(([^)]*)\)", html) and all(
        u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", html)
    )
    doc = outline(html)
    assert not [e for e in doc.elements if "src" in e.attrs]
    assert all(e.attrs["href"].startswith("#") for e in doc.elements if "href" in e.attrs)
    policy = [
        e for e in doc.having("meta") if e.attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert "default-src 'none'" in policy[0].attrs["content"]


def test_text_from_the_scenario_is_escaped(tmp_path: Path, tutorial: tuple[Scenario, Plan]) -> None:
    hostile = '<script>alert("x")</script> & <b>bold</b>'
    text = TUTORIAL.read_text(encoding="utf-8")
    text = text.replace("name: Group A ", f"name: '{hostile}' ", 1)
    text = text.replace("name: Tutorial, four networks", f"name: '{hostile}'", 1)
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.networks["N01"].name == hostile
    _, plan = tutorial
    html = build_report(scenario, [plan], labels=['<img src=x onerror="1">'])
    assert "<script" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert hostile in " ".join(outline(html).text)


def test_report_is_deterministic(tutorial: tuple[Scenario, Plan]) -> None:
    scenario, plan = tutorial
    assert build_report(scenario, [plan]) == build_report(scenario, [plan])


def test_report_command_writes_a_private_file_and_a_png(
    tmp_path: Path, tutorial: tuple[Scenario, Plan]
) -> None:
    scenario, plan = tutorial
    plan_path = tmp_path / "plan.json"
    write_plan(plan, plan_path)
    out, png = tmp_path / "report.html", tmp_path / "map.png"
    result = CliRunner().invoke(
        main, ["report", str(TUTORIAL), str(plan_path), "-o", str(out), "--png", str(png)]
    )
    assert result.exit_code == EXIT_OK, result.output
    assert result.output == f"Report written to {out}; map to {png}\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert_report_structure(outline(html), scenario, [plan])
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    from PIL import Image

    with Image.open(io.BytesIO(png.read_bytes())) as image:
        width, height = image.size
        assert width > 600 and height > 1000
        colours = _colours(image)
    assert len(colours) > 50, "the PNG is nearly blank"
    assert _rgb(LOAD_CLASSES["full"][0]) in colours  # the areas are filled by load


def test_report_is_encrypted_when_a_plan_is(
    tmp_path: Path, tutorial: tuple[Scenario, Plan], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crypto, "scrypt_cost", ScryptCost(n=2**10, r=8, p=1))
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    _, plan = tutorial
    plain, sealed = tmp_path / "plan.json", tmp_path / "plan.json.enc"
    write_plan(plan, plain)
    write_plan(plan, sealed, passphrase=PASSPHRASE)
    runner = CliRunner()
    out = tmp_path / "report.html.enc"
    result = runner.invoke(main, ["report", str(TUTORIAL), str(sealed), "-o", str(out)])
    assert result.exit_code == EXIT_OK, result.output
    assert result.output == f"Report written to {out} (encrypted)\n"
    data = out.read_bytes()
    assert crypto.is_encrypted(data)
    assert crypto.decrypt(data, PASSPHRASE).startswith(b"<!DOCTYPE html>")
    # --encrypt seals a report of plain inputs; --no-encrypt writes plain text anyway
    result = runner.invoke(main, ["report", str(TUTORIAL), str(plain), "-o", str(out), "--encrypt"])
    assert result.exit_code == EXIT_OK and crypto.is_encrypted(out.read_bytes())
    result = runner.invoke(
        main, ["report", str(TUTORIAL), str(sealed), "-o", str(out), "--no-encrypt"]
    )
    assert result.exit_code == EXIT_OK and out.read_bytes().startswith(b"<!DOCTYPE html>")


def _rows(html: str, table_class: str) -> dict[str, list[str]]:
    """The body rows of the first table with that class, as first cell -> the other cells."""
    table = re.search(rf'<table class="{table_class}">(.*?)</table>', html, re.S)
    assert table is not None, table_class
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def _colours(image: Any) -> Counter[tuple[int, int, int]]:
    """How many pixels of each RGB colour an image has."""
    counts = image.convert("RGB").getcolors(maxcolors=1 << 24)
    return Counter({colour: n for n, colour in counts})


def _rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("PLACEMENT_REQUIRE_BROWSER"):
        pytest.fail("PLACEMENT_REQUIRE_BROWSER is set but chromium is not installed")
    return found


def _run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_renders_in_headless_chromium(tmp_path: Path, tutorial: tuple[Scenario, Plan]) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (set PLACEMENT_REQUIRE_BROWSER=1 to fail instead)")
    scenario, plan = tutorial
    bad = edited(plan, BAD_MOVES)
    page = tmp_path / "report.html"
    page.write_text(build_report(scenario, [plan, bad], labels=["solved", "edited"]), "utf-8")
    url = page.as_uri()

    dumped = _run_chromium(browser, tmp_path / "profile-dom", "--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr.decode(errors="replace")[-2000:]
    dom = dumped.stdout.decode("utf-8")
    # the browser's serialisation of the DOM it built, not our file read back
    assert dom != page.read_text("utf-8") and dom.rstrip().endswith("</body></html>")
    doc = outline(dom)
    assert_report_structure(doc, scenario, [plan, bad])
    assert [e.attrs["data-pair"] for e in doc.inside("map-p2", "line", "too-close")] == ["D03 D08"]

    # printable: the print layout makes a multi-page PDF
    pdf = tmp_path / "report.pdf"
    printed = _run_chromium(browser, tmp_path / "profile-pdf", f"--print-to-pdf={pdf}", url)
    assert printed.returncode == 0 and pdf.is_file(), printed.stderr.decode(errors="replace")
    document = pdf.read_bytes()
    assert document.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", document)) >= 4

    shot = tmp_path / "shot.png"
    shown = _run_chromium(
        browser, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,1600", url
    )
    assert shown.returncode == 0 and shot.is_file(), shown.stderr.decode(errors="replace")[-2000:]
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 1600)
        colours = _colours(image)
    assert len(colours) > 200, "the screenshot is nearly blank"
    # the maps are drawn, not only the legend (whose swatches hold about 200 pixels each):
    # municipalities filled by load, full ones, and markers in threat-level colours
    expected = {
        LOAD_CLASSES["none"][0]: 50_000,
        LOAD_CLASSES["full"][0]: 1_000,
        THREAT_COLOURS[3]: 400,
    }
    for colour, least in expected.items():
        assert colours[_rgb(colour)] > least, f"too few {colour} pixels: the map did not render"
