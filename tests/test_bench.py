"""The benchmark's peers (bench/peers.py) on tiny generated instances.

The benchmark itself is never run here; these tests make sure its peers are sound, so that the
ratios it reports compare like with like: every peer's plan passes the independent checker, and
the exact peers agree with the planner on the contract's objective.
"""

from __future__ import annotations

import importlib
import math
import random
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ortools.sat.python import cp_model

from placement.candidates import Candidates
from placement.generate import generate_scenario
from placement.model import build_model
from placement.objectives import secondary_objective, secondary_points
from placement.scenario import Scenario, scenario_from_document

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _bench_module(name: str) -> ModuleType:
    """A module of bench/ (not a package: its scripts import each other by name)."""
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCH))


@pytest.fixture(scope="module")
def peers() -> ModuleType:
    return _bench_module("peers")


@pytest.fixture(scope="module")
def benchmark() -> ModuleType:
    return _bench_module("benchmark")


@pytest.fixture(scope="module", params=[3, 7])
def scenario(request: pytest.FixtureRequest) -> Scenario:
    document = generate_scenario(seed=request.param, networks=8, placed=40, pending=16)
    return scenario_from_document(document)


def test_greedy_plan_passes_the_checker(peers: ModuleType, scenario: Scenario) -> None:
    result = peers.run_greedy(scenario)
    assert result.new_areas, "greedy placed nobody: the instance tests nothing"
    assert peers.violations(scenario, result.new_areas, status=result.status) == 0


@pytest.mark.parametrize("peer", ["highs", "naive"])
def test_exact_peers_agree_with_the_planner(
    peers: ModuleType, scenario: Scenario, peer: str
) -> None:
    ours = peers.run_placement(scenario, time_limit_s=20)
    theirs = peers.RUNNERS[peer](scenario, time_limit_s=20)
    assert ours.status == theirs.status == "optimal"
    assert peers.placed_per_level(scenario, theirs.new_areas) == peers.placed_per_level(
        scenario, ours.new_areas
    )
    # Same model, same secondary objective: the proven optima agree too.
    candidates = Candidates(scenario)
    assert secondary_points(candidates, theirs.new_areas) == secondary_points(
        candidates, ours.new_areas
    )
    assert theirs.stages[-1].objective == ours.stages[-1].objective
    assert peers.violations(scenario, theirs.new_areas, status=theirs.status) == 0


def test_greedy_never_beats_the_planner(peers: ModuleType, scenario: Scenario) -> None:
    ours = peers.placed_per_level(
        scenario, peers.run_placement(scenario, time_limit_s=20).new_areas
    )
    greedy = peers.placed_per_level(scenario, peers.run_greedy(scenario).new_areas)
    levels = sorted(ours, reverse=True)
    assert [greedy[lvl] for lvl in levels] <= [ours[lvl] for lvl in levels]


def test_naive_encoding_has_a_row_per_close_pair_of_areas(
    peers: ModuleType, scenario: Scenario
) -> None:
    candidates = Candidates(scenario)
    naive = peers.naive_rows(candidates)
    rows = zip(naive.rows, naive.kinds, strict=True)
    keep_apart = {
        tuple(sorted(naive.keys[v] for v in variables))
        for (variables, _, _, _), kind in rows
        if kind == "keep_apart"
    }
    assert keep_apart, "no keep-apart rows: the instance tests nothing"
    limit = scenario.policy.keep_apart_km
    expected = set()
    for pair in candidates.threats.keep_apart_pairs:
        first, second = candidates.people.get(pair.first), candidates.people.get(pair.second)
        if first is None or second is None:
            continue
        for a in first.areas:
            for b in second.areas:
                if candidates.distance_km[a, b] < limit:
                    expected.add(tuple(sorted([(first.index, a), (second.index, b)])))
    assert keep_apart == expected
    assert naive.size["constraints_keep_apart"] == len(expected)


def _holds(rows: Any, values: dict[int, int]) -> bool:
    """Every row of a row model holds for these variable values (absent ones are 0)."""
    for variables, coefs, lower, upper in rows.rows:
        total = sum(c * values.get(v, 0) for v, c in zip(variables, coefs, strict=True))
        if not lower <= total <= upper:
            return False
    return True


def test_highs_rows_are_the_planner_model(peers: ModuleType, scenario: Scenario) -> None:
    """On random partial plans, the rows hold exactly when CP-SAT's model accepts the plan."""
    candidates = Candidates(scenario)
    rows = peers.placement_rows(candidates)
    built = build_model(candidates)
    secondary_objective(built)  # the crowding counters, as in the secondary stage
    assert len(rows.rows) == len(built.model.proto.constraints)
    assert rows.keys == {var.index: key for key, var in built.assign.items()}
    people = sorted(p for p, person in candidates.people.items() if person.areas)
    generator = random.Random(1)
    verdicts = []
    for _ in range(60):
        chosen = generator.sample(people, generator.randint(1, len(people)))
        plan = {p: generator.choice(candidates.people[p].areas) for p in chosen}
        values = {built.assign[p, a].index: 1 for p, a in plan.items()}
        newcomers = Counter(plan.values())
        low = generator.random() < 0.3  # crowding counters too low: a row must object
        for area, crowding in built.crowding.items():
            values[crowding.index] = 0 if low else max(newcomers[area] - 1, 0)
        model = built.model.clone()
        for index in range(len(model.proto.variables)):
            model.add(model.get_int_var_from_proto_index(index) == values.get(index, 0))
        accepted = cp_model.CpSolver().solve(model) == cp_model.OPTIMAL
        assert _holds(rows, values) == accepted, plan
        verdicts.append(accepted)
    assert any(verdicts) and not all(verdicts), "the plans test only one side"


def test_constraints_without_a_row_form_are_refused(peers: ModuleType) -> None:
    model = cp_model.CpModel()
    x, y, z = (model.new_bool_var(name) for name in "xyz")
    model.add_at_most_one([x, ~y])
    model.add_exactly_one([~x, y, z])
    [at_most_one, exactly_one] = model.proto.constraints
    # not-y is 1 - y: -y with the 1 moved to the bound.
    assert peers._proto_row(at_most_one, 0) == ("at_most_one", ([0, 1], [1, -1], -math.inf, 0))
    assert peers._proto_row(exactly_one, 1) == ("exactly_one", ([0, 1, 2], [-1, 1, 1], 0, 0))
    model.add_bool_or([x, y]).only_enforce_if(z)
    model.add_multiplication_equality(x, [y, z])
    for number in (2, 3):
        with pytest.raises(ValueError, match=f"constraint {number}: "):
            peers._proto_row(model.proto.constraints[number], number)


def _run(solve_s: float, violations: int = 0) -> dict[str, Any]:
    return {"peer": "placement", "status": "optimal", "solve_s": solve_s, "violations": violations}


def test_repeated_runs_report_the_median_with_the_range(benchmark: ModuleType) -> None:
    row = benchmark.median_run([_run(3.0), _run(1.0, violations=2), _run(2.0)])
    assert (row["solve_s"], row["solve_s_min"], row["solve_s_max"], row["runs"]) == (2.0, 1, 3, 3)
    assert row["violations"] == 2  # any run's violations count, not only the median one's
    assert benchmark.median_run([_run(4.0), _run(1.0)])["solve_s"] == 1.0  # lower middle
    single = benchmark.median_run([_run(5.0)])
    assert single["solve_s"] == 5.0 and single["runs"] == 1
    crashed = {"peer": "placement", "status": "crashed (1)", "error": []}
    assert benchmark.median_run([_run(1.0), crashed]) is crashed


def test_peer_table_shows_the_range_of_repeated_runs(benchmark: ModuleType) -> None:
    def full(solve_s: list[float], peer: str) -> dict[str, Any]:
        runs = [
            {
                **_run(t),
                "peer": peer,
                "distances_s": 0.1,
                "build_s": 0.2,
                "primary_proven_s": None,
                "primary_gap": None,
                "secondary_gap": None,
                "peak_mib": 100.0,
                "placed": {str(level): 1 for level in range(1, 6)},
                "secondary": 10,
            }
            for t in solve_s
        ]
        return dict(benchmark.median_run(runs))

    lines = benchmark.peer_table([full([2.0, 1.0, 3.0], "placement"), full([4.0], "highs")])
    assert "| 2.00 (1.00-3.00) |" in lines[2]
    assert "| 4.00 | 2.00 |" in lines[3]  # one run: no range; ratio of medians
    # Below 0.1 s a third decimal keeps the ratio checkable from the times shown.
    lines = benchmark.peer_table([full([0.032], "placement"), full([0.013], "greedy")])
    assert "| 0.032 | - |" in lines[2] and "| 0.013 | 0.41 |" in lines[3]


def test_repeat_below_one_is_refused_with_exit_2(
    benchmark: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        benchmark.main(["--quick", "--repeat", "0"])
    assert exited.value.code == 2
    assert "--repeat must be at least 1" in capsys.readouterr().err


def test_a_child_that_writes_much_to_stderr_does_not_hang_the_benchmark(
    benchmark: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PYTHONVERBOSE makes the child write far more than a pipe holds (64 KiB) to stderr.

    Reading stdout to its end before stderr then blocked both processes for ever.
    """
    import threading

    instance = benchmark.instance_file(benchmark.SIZES["tiny"], 1)
    monkeypatch.setenv("PYTHONVERBOSE", "1")
    outcome: list[dict[str, Any]] = []
    worker = threading.Thread(
        target=lambda: outcome.append(benchmark.run_child(instance, "greedy", 5.0)), daemon=True
    )
    worker.start()
    worker.join(120)
    assert outcome, "run_child did not return within 120 s"
    assert outcome[0]["violations"] == 0 and outcome[0]["peak_mib"] > 0
