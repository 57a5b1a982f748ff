"""Benchmark: how long ``recommend`` takes for one case at national size.

Run on demand (not part of the test suite): ``python bench/recommend.py``. Prints a table of
timings: the one-off costs of a process (loading the scenario, computing distances, the
candidate evaluation of everyone already placed) and the per-case evaluation, over every
pending person of the scenario. Times are wall-clock medians; compare rows as ratios.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from placement.candidates import Candidates  # noqa: E402  # after the path set-up above
from placement.explain import recommend  # noqa: E402
from placement.scenario import load_scenario  # noqa: E402


def main() -> None:
    path = ROOT / "scenarios" / "national.yaml"
    started = time.perf_counter()
    scenario = load_scenario(path)
    loaded = time.perf_counter()
    _ = scenario.distance_km
    distances = time.perf_counter()
    candidates = Candidates(scenario)
    built = time.perf_counter()
    per_case = []
    for person in scenario.pending:
        tick = time.perf_counter()
        recommend(scenario, person.id, candidates=candidates)
        per_case.append(time.perf_counter() - tick)
    rows = [
        ("load and validate national.yaml", loaded - started),
        ("boundary distances, 290 x 290", distances - loaded),
        ("evaluate every pending person once", built - distances),
        (f"recommend, one case (median of {len(per_case)})", statistics.median(per_case)),
        ("recommend, one case (slowest)", max(per_case)),
    ]
    print("| step | ms |\n| --- | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1000:.1f} |")


if __name__ == "__main__":
    main()
