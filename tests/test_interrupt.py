"""Interrupting a real solve: the best plan so far is written whole, or nothing is.

Each test starts ``placement solve`` in a subprocess on a scenario that takes far longer than
the test waits (300 pending people, nobody placed), sends a signal, and inspects what is left
in the output directory: either nothing, or one complete plan that passes ``check`` -- never a
partial file or a temporary one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from placement.check import check_plan
from placement.generate import generate_scenario, scenario_yaml
from placement.plan import load_plan
from placement.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def long_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "long.yaml"
    document = generate_scenario(seed=12, networks=100, placed=0, pending=300)
    path.write_text(scenario_yaml(document), encoding="utf-8")
    return path


def _start(scenario: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "solve", str(scenario), "-o", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_solving(process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait for the first progress line: the search is running (stages take > 2 s here)."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if "incumbent" in line:
            return
    raise AssertionError("the solve never reported progress")


def _leftovers(directory: Path, out: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p != out and p.suffix != ".yaml")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_during_search_writes_the_best_plan_so_far(
    long_scenario: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    out = tmp_path / "plan.json"
    process = _start(long_scenario, out)
    _wait_until_solving(process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert f"Interrupted by {sig.name}: wrote the best plan found so far" in stderr
    assert "Traceback" not in stderr
    plan = load_plan(out)
    assert plan.status == "feasible"
    assert (plan.model_extra or {})["status_reason"].startswith(f"interrupted by {sig.name}")
    assert check_plan(load_scenario(long_scenario), plan).ok
    assert _leftovers(tmp_path, out) == []


@pytest.mark.parametrize("delay", [0.2, 0.8, 1.6, 3.0])
def test_signal_at_any_moment_leaves_a_whole_plan_or_nothing(
    long_scenario: Path, tmp_path: Path, delay: float
) -> None:
    out = tmp_path / "plan.json"
    process = _start(long_scenario, out)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    if out.exists():
        plan = load_plan(out)
        assert check_plan(load_scenario(long_scenario), plan).ok
    assert _leftovers(tmp_path, out) == []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_second_signal_stops_at_once(
    long_scenario: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    out = tmp_path / "plan.json"
    process = _start(long_scenario, out)
    _wait_until_solving(process)
    process.send_signal(sig)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    if out.exists():  # the first signal's plan may have been written before the second
        json.loads(out.read_text(encoding="utf-8"))
    assert _leftovers(tmp_path, out) == []
