"""Benchmark: replayed (online) decisions against the hindsight optimum, on generated histories.

Run on demand (not part of the test suite)::

    python bench/hindsight.py [--sizes small,medium] [--seeds 1,2,3] [--markdown FILE]

Each history is made by ``placement.generate.generate_history`` (same seed, same history) and
replayed with the default replay settings, which are deterministic: the figures below do not
depend on the machine, only the seconds do. The offline optimum is the replay's own (see
``placement.replay.hindsight``): the world after the last event, everyone still in the program
pending, solved at once. "Online" counts people placed and not at risk at the last step.
Annie MOORE, the refugee resettlement planner, reports reaching over 98% of its hindsight
optimum; the percentages here are the same kind of figure.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from placement.generate import generate_history, scenario_yaml  # noqa: E402  # after sys.path
from placement.history import load_history  # noqa: E402
from placement.replay import ReplaySettings, replay_history  # noqa: E402


class HistorySize(TypedDict):
    """``generate_history`` arguments of one size."""

    networks: int
    placed: int
    arrivals: int


SIZES: dict[str, HistorySize] = {
    "small": {"networks": 10, "placed": 40, "arrivals": 20},
    "medium": {"networks": 20, "placed": 100, "arrivals": 60},
    "large": {"networks": 40, "placed": 300, "arrivals": 150},
}

COLUMNS = (
    "history",
    "dates",
    "events",
    "moves",
    "ever at risk",
    "online placed",
    "offline placed",
    "placed %",
    "weighted %",
    "offline status",
    "replay s",
)


def run(size: str, seed: int) -> dict[str, Any]:
    arguments = SIZES[size]
    document = generate_history(seed=seed, **arguments)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "history.yaml"
        path.write_text(scenario_yaml(document), "utf-8")
        history = load_history(path)
    started = time.perf_counter()
    result = replay_history(history, ReplaySettings())
    seconds = time.perf_counter() - started
    summary = result.timeline["summary"]
    hindsight = result.timeline["hindsight"]
    return {
        "history": f"{size} seed {seed} ({arguments['networks']} networks, "
        f"{arguments['placed']} placed, {arguments['arrivals']} arrivals)",
        "dates": summary["dates"],
        "events": summary["events"],
        "moves": summary["moves"],
        "ever at risk": len(summary["ever_at_risk"]),
        "online placed": hindsight["online"]["placed"],
        "offline placed": hindsight["offline"]["placed"],
        "placed %": hindsight["placed_percent_of_offline"],
        "weighted %": hindsight["weighted_percent_of_offline"],
        "offline status": hindsight["offline"]["status"],
        "replay s": f"{seconds:.1f}",
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines.extend("| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in rows)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="small,medium", help="comma-separated: " + ",".join(SIZES)
    )
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    options = parser.parse_args()
    rows = []
    for size in options.sizes.split(","):
        for seed in (int(s) for s in options.seeds.split(",")):
            rows.append(run(size, seed))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = table(rows)
    print()
    print(text)
    if options.markdown is not None:
        options.markdown.write_text(text + "\n", "utf-8")


if __name__ == "__main__":
    main()
