"""Reading a timeline back: `placement timeline` renders what `replay` wrote, refuses a
broken file with every problem at its place, and shows an edited one with a warning."""

from __future__ import annotations

import functools
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import EXIT_INVALID, EXIT_OK, main
from placement import crypto
from placement.crypto import PASSPHRASE_ENV, ScryptCost
from placement.history import load_history
from placement.replay import ReplaySettings, render_timeline, replay_history, timeline_to_json

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "scenarios" / "history" / "territory-shift.yaml"


@functools.cache
def _timeline_json() -> str:
    result = replay_history(load_history(HISTORY), ReplaySettings(step_budget=10.0))
    return timeline_to_json(result.timeline)


def timeline_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_timeline_json())
    return document


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    return path


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_text_and_markdown_are_the_replays_own_report(tmp_path: Path) -> None:
    path = tmp_path / "timeline.json"
    path.write_text(_timeline_json(), "utf-8")
    document = timeline_document()
    for fmt in ("text", "markdown"):
        result = invoke("timeline", str(path), "--format", fmt)
        assert result.exit_code == EXIT_OK, result.output
        assert result.stdout == render_timeline(document, fmt)  # type: ignore[arg-type]
        assert "AT RISK" in result.stdout and "Warning" not in result.stderr


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_has_a_section_per_date_risks_and_hindsight_and_fetches_nothing(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "timeline.json", timeline_document())
    out = tmp_path / "timeline.html"
    result = invoke("timeline", str(path), "--format", "html", "-o", str(out))
    assert result.exit_code == EXIT_OK, result.output
    page = out.read_text("utf-8")
    parser = _Collect()
    parser.feed(page)
    ids = {attrs.get("id") for _, attrs in parser.tags}
    steps = timeline_document()["steps"]
    assert {f"date-{s['date']}" for s in steps} <= ids
    assert {"summary", "ever-at-risk", "hindsight"} <= ids
    risks = [a for t, a in parser.tags if t == "p" and a.get("class") == "risk"]
    assert len(risks) == 1 + sum(len(s["at_risk"]) for s in steps)
    assert not any(tag in {"script", "img", "link", "iframe"} for tag, _ in parser.tags)
    assert "http:" not in page and "https:" not in page
    assert out.stat().st_mode & 0o077 == 0


def test_html_escapes_what_the_file_says(tmp_path: Path) -> None:
    document = timeline_document()
    document["history"]["name"] = "<script>alert(1)</script>"
    result = invoke("timeline", str(write(tmp_path / "t.json", document)), "--format", "html")
    assert "<script>" not in result.stdout and "&lt;script&gt;" in result.stdout


def test_an_edited_timeline_is_shown_with_a_warning(tmp_path: Path) -> None:
    document = timeline_document()
    document["steps"][0]["moves"][0]["to_name"] = "Malmö\x1b[31m"
    path = write(tmp_path / "t.json", document)
    result = invoke("timeline", str(path))
    assert result.exit_code == EXIT_OK
    assert "was edited after it was written" in result.stderr
    assert "\x1b" not in result.stdout and "Malmö\\x1b[31m" in result.stdout
    html_result = invoke("timeline", str(path), "--format", "html")
    assert 'id="digest-warning"' in html_result.stdout


def test_a_broken_timeline_lists_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    document = timeline_document()
    document["steps"][1]["at_risk"][0]["threat_level"] = "high"
    del document["summary"]["moves"]
    document["hindsight"]["online"]["placed_by_threat_level"].pop("3")
    out = tmp_path / "out.html"
    result = invoke("timeline", str(write(tmp_path / "t.json", document)), "-o", str(out))
    assert result.exit_code == EXIT_INVALID
    assert "3 problems" in result.stderr
    assert "steps[1].at_risk[0].threat_level" in result.stderr
    assert "summary.moves: required key is missing" in result.stderr
    assert "hindsight.online.placed_by_threat_level.3: required key is missing" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("content", ["[1, 2]", '{"format": "placement-plan/1"}', "{"])
def test_not_a_timeline_is_a_clean_exit_2(tmp_path: Path, content: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content, "utf-8")
    result = invoke("timeline", str(path))
    assert result.exit_code == EXIT_INVALID
    assert result.stderr.startswith("Error: ")


def test_an_encrypted_timeline_is_read_and_its_rendering_stays_encrypted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    monkeypatch.setattr(crypto, "scrypt_cost", ScryptCost(n=2**10, r=8, p=1))
    sealed = crypto.encrypt(_timeline_json().encode("utf-8"), "correct horse battery staple")
    path = tmp_path / "t.json.enc"
    path.write_bytes(sealed)
    out = tmp_path / "t.md"
    result = invoke("timeline", str(path), "--format", "markdown", "-o", str(out))
    assert result.exit_code == EXIT_OK, result.output
    assert crypto.is_encrypted_file(out)
    plain = crypto.decrypt(out.read_bytes(), "correct horse battery staple").decode("utf-8")
    assert plain == render_timeline(timeline_document(), "markdown")
