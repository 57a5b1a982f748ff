"""A second search beside the secondary stage: large-neighbourhood search on a spare core.

Why: with nobody placed yet, the secondary stage (every level's count fixed) often ends at
the time limit, and CP-SAT's single search may find no better plan than its start in that
time: finding any plan that keeps every fixed count is itself hard. Re-solving a small part of
the plan at a time is not: most people stay where the current plan has them, and the people
living in one region of the country (plus everyone not placed) are free to move. Measured on
generated instances (docs/benchmarks.md, item 11), nobody placed, seed 2, 60 s limit: the plan
ends at 84,454 points, 1.0% below the stage's bound (85,343), where CP-SAT's search alone
found nothing better than its start (75,723) in the 27 s it had.

It only ever replaces the main search's plan when that search was cut short. A plan whose
secondary stage is proven optimal is always the main search's, so runs that end proven stay
reproducible; a run cut by its time limit could already differ between runs (its status says
``feasible``). It runs on its own thread, so it costs wall time only when no core is spare; the
solver starts it only when one is (``spare_core``).

Each round is reproducible given the plan it starts from: the region is drawn from a random
generator seeded with the solve's seed and the round number, and each re-solve is a one-worker
CP-SAT search stopped by a deterministic-time limit. Only how many rounds fit before the main
search ends depends on the clock.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Mapping
from typing import Any

from ortools.sat.python import cp_model

from placement.model import PlacementModel, plan_hint, set_hint, set_parameters
from placement.objectives import secondary_points

#: Share of the candidate areas, nearest first to a random centre, whose people are free to
#: move in one round (everyone not placed is free too). Measured on nobody placed, seeds
#: 1 / 2 / 4, 20 s each: see docs/benchmarks.md.
REGION_SHARE = 0.3
#: CP-SAT deterministic-time limit of one round's re-solve (about a second of search here).
ROUND_DETERMINISTIC_TIME = 1.0


def spare_core(workers: int) -> bool:
    """True when this process may use more cores than the main search's workers."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return cores > workers


class NeighbourhoodSearch:
    """Improve a plan by re-solving one region at a time, until stopped.

    ``built`` is the session's model with every constraint of the stage in place (the fixed
    counts too); ``objective`` is the stage's objective, built on that model. The model is
    copied at once, so the main search may run on the original meanwhile.
    """

    def __init__(
        self,
        built: PlacementModel,
        objective: cp_model.LinearExprT,
        start: Mapping[int, int],
        *,
        seed: int,
        parameters: Mapping[str, Any],
    ) -> None:
        self.candidates = built.candidates
        self.seed = seed
        self.parameters = dict(parameters)
        self.model = built.model.clone()
        self.model.clear_objective()  # type: ignore[no-untyped-call]  # ortools lacks the hint
        self.model.clear_hints()  # type: ignore[no-untyped-call]  # ortools lacks the hint
        self.model.maximize(objective)
        self.built = built
        self.assign = {key: var.index for key, var in sorted(built.assign.items())}
        self.best = dict(start)
        self.best_points = secondary_points(self.candidates, self.best)
        self.rounds = 0
        self.improvements = 0
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._solver: cp_model.CpSolver | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="neighbourhood-search", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the search and wait for its thread; ``best`` is then final."""
        self._stopped.set()
        with self._lock:
            if self._solver is not None:
                self._solver.stop_search()
        if self._thread is not None:
            self._thread.join()

    def run(self, rounds: int | None = None) -> None:
        """Re-solve regions until stopped (or, when given, for ``rounds`` rounds)."""
        areas = sorted({area for _, area in self.assign})
        if not areas:
            return  # nobody to place: nothing to re-solve
        while not self._stopped.is_set() and (rounds is None or self.rounds < rounds):
            rng = random.Random(f"{self.seed}:{self.rounds}")
            free = self._region_people(areas, rng.choice(areas))
            found = self._resolve(free)
            self.rounds += 1
            if found is None:
                continue
            points = secondary_points(self.candidates, found)
            if points > self.best_points:
                self.best, self.best_points = found, points
                self.improvements += 1

    def _region_people(self, areas: list[int], centre: int) -> set[int]:
        """People of the plan in the areas nearest ``centre``, and everyone not placed."""
        distance = self.candidates.distance_km[centre]
        nearest = sorted(areas, key=lambda area: (float(distance[area]), area))
        region = set(nearest[: max(1, round(len(nearest) * REGION_SHARE))])
        return {p for p, area in self.best.items() if area in region} | {
            p for p in self.candidates.people if p not in self.best
        }

    def _resolve(self, free: set[int]) -> dict[int, int] | None:
        """The best plan found with everyone outside ``free`` kept where they are."""
        model = self.model.clone()
        set_hint(model, plan_hint(self.built, self.best))
        fixed: list[cp_model.LiteralT] = []
        for (person, area), index in self.assign.items():
            if person not in free:
                var = model.get_bool_var_from_proto_index(index)
                fixed.append(var if self.best.get(person) == area else ~var)
        model.add_bool_and(fixed)
        solver = cp_model.CpSolver()
        set_parameters(
            solver, {**self.parameters, "max_deterministic_time": ROUND_DETERMINISTIC_TIME}
        )
        with self._lock:
            if self._stopped.is_set():
                return None
            self._solver = solver
        status = solver.solve(model)
        with self._lock:
            self._solver = None
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return {
            person: area
            for (person, area), index in self.assign.items()
            if solver.boolean_value(model.get_bool_var_from_proto_index(index))
        }
