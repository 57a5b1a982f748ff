"""Plan files: atomic writing and reading back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from placement.errors import InputError
from placement.plan import (
    Assignment,
    OutputWriteError,
    Plan,
    load_plan,
    write_files_atomic,
    write_plan,
    write_text_atomic,
)


def test_atomic_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old", encoding="utf-8")
    write_text_atomic(target, "new content")
    assert target.read_text(encoding="utf-8") == "new content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old", encoding="utf-8")

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(target, "new content")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_several_outputs_are_written_all_or_none(tmp_path: Path) -> None:
    """A report and its map, or k plans: a failure on one leaves every old file as it was."""
    first, second = tmp_path / "report.html", tmp_path / "map.png"
    first.write_text("old report", encoding="utf-8")
    second.write_text("old map", encoding="utf-8")
    unwritable = tmp_path / "no-such-dir" / "plan-3.json"
    with pytest.raises(OutputWriteError) as caught:
        write_files_atomic([(first, b"new report"), (second, b"new map"), (unwritable, b"x")])
    assert caught.value.target == unwritable
    assert (first.read_text(), second.read_text()) == ("old report", "old map")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.png", "report.html"]
    write_files_atomic([(first, b"new report"), (second, b"new map")])
    assert (first.read_text(), second.read_text()) == ("new report", "new map")


def test_plan_round_trip_keeps_added_keys(tmp_path: Path) -> None:
    plan = Plan(
        status="optimal",
        assignments=[Assignment(defector="D1", area="2480", area_name="Umeå", threat_level=4)],
        metrics={"pending": 1},
    )
    path = tmp_path / "plan.json"
    write_plan(plan, path)
    again = load_plan(path)
    assert again.model_extra is not None
    assert again.model_extra.pop("digest")["algorithm"] == "sha256"  # added on writing
    assert again == plan
    assert again.assignments[0].model_extra == {"threat_level": 4}


def test_plan_with_wrong_structure_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(
        '{"format": "placement-plan/2", "status": "great", "assignments": [{"area": "0180"}]}',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_plan(path)
    places = [p.place for p in caught.value.problems]
    assert places == ["format", "status", "assignments[0].defector"]
    assert str(caught.value.problems[0]) == (
        "format: expected 'placement-plan/1', got 'placement-plan/2'"
    )
