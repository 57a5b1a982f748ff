"""Genuinely different good plans: each optimal on the primary objective, pairwise different.

Reviewers rarely accept the first plan. ``find_alternatives`` gives up to ``k`` plans that
all place exactly as many people at each threat level as the best plan (the contract's
primary objective), ranked by this project's secondary objective, each differing from every
other in the outcome of at least ``min_diff`` people (their area, or placed versus unplaced).

How: the threat levels are solved as ``placement.solve`` does and their counts are then held
fixed (``==``). Plan 1 maximises the secondary objective. Each next plan adds, for every
earlier plan ``S``, the linear constraint

    sum over p placed in S of (1 - x[p, S(p)])  +  sum over p unplaced in S of placed[p]  >= N

(the number of people whose outcome differs from ``S``), and maximises the secondary objective
again. No random restarts: a plan that exists is found, and when none is left the search says
so (``stopped_because``).

Default ``min_diff`` (``default_min_diff``): 10% of the pending people who have at least one
allowed area (people with none cannot differ), rounded up, at least 1.

Each alternative's ``status`` is ``optimal`` when the primary stages and its own secondary
stage were proven: then it is the best plan among those that differ enough from the earlier
ones. ``--time-limit`` applies to each plan: the primary stages share plan 1's budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from placement.objectives import THREAT_LEVELS, placed_at_level, secondary_objective
from placement.scenario import Scenario
from placement.solve import (
    SECONDARY_STAGE_PARAMETERS,
    Progress,
    SolveResult,
    SolveSession,
    SolveSettings,
    StageResult,
    StopRequest,
    run_stage,
    solve_primary,
    start_session,
)

MIN_DIFF_SHARE = 0.10
"""Default ``min_diff``: this share of the pending people who have an allowed area."""


@dataclass(frozen=True)
class Alternative:
    """One plan among the alternatives."""

    rank: int
    result: SolveResult
    secondary_objective: float
    """This plan's secondary-objective points (higher is better)."""
    cost_vs_best: float
    """Points fewer than plan 1 (0 for plan 1; never negative when every stage was proven)."""
    differs_from: dict[int, int]
    """Rank of each earlier plan -> how many people's outcome differs from it."""


@dataclass
class Alternatives:
    plans: list[Alternative] = field(default_factory=list)
    min_diff: int = 1
    requested: int = 1
    stopped_because: str | None = None
    """Why fewer than ``requested`` plans were found, in words (None when all were)."""
    infeasible: SolveResult | None = None
    """The result when the what-if decisions cannot hold (no plan at all)."""


def default_min_diff(pending_with_areas: int) -> int:
    return max(1, math.ceil(MIN_DIFF_SHARE * pending_with_areas))


def differing(first: Mapping[int, int], second: Mapping[int, int], people: Collection[int]) -> int:
    """How many of ``people`` have a different outcome (area, or none) in the two plans."""
    return sum(1 for p in people if first.get(p) != second.get(p))


def find_alternatives(
    scenario: Scenario,
    k: int,
    settings: SolveSettings | None = None,
    *,
    min_diff: int | None = None,
    pins: Mapping[int, int] | None = None,
    forbids: Mapping[int, Collection[int]] | None = None,
    progress: Progress | None = None,
    stop: StopRequest | None = None,
) -> Alternatives:
    """Up to ``k`` primary-optimal plans, best first, pairwise different in ``min_diff`` people.

    Raises ``ValueError`` when ``k`` or ``min_diff`` is below 1.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if min_diff is not None and min_diff < 1:
        raise ValueError("min_diff must be at least 1")
    settings = settings or SolveSettings()
    session = start_session(
        scenario, settings, progress=progress, stop=stop, pins=pins, forbids=forbids
    )
    base = session.result
    deciding = [p for p, c in sorted(base.candidates.people.items()) if c.areas]
    outcome = Alternatives(
        min_diff=min_diff if min_diff is not None else default_min_diff(len(deciding)),
        requested=k,
    )
    if base.infeasible_reason is not None:
        outcome.infeasible = base
        outcome.stopped_because = base.infeasible_reason
        return outcome
    built = session.built
    if not built.assign:
        outcome.plans.append(Alternative(1, base, 0.0, 0.0, {}))
        if k > 1:
            outcome.stopped_because = "nobody has an area to choose, so there is only one plan"
        return outcome

    solution = solve_primary(session)
    primary_stages = list(base.stages)
    if session.stopped or not primary_stages or primary_stages[-1].objective is None:
        outcome.stopped_because = "stopped before the primary objective was solved"
        return outcome
    people = built.candidates.scenario.defectors
    for level in sorted({people[p].threat_level for p in deciding}):
        placed = sum(1 for p in solution if people[p].threat_level == level)
        built.model.add(placed_at_level(built, level) == placed)  # equal, even if unproven
    objective = secondary_objective(built)

    earlier: list[dict[int, int]] = []
    hint = solution
    for rank in range(1, k + 1):
        if rank > 1:
            _differ_from(session, earlier[-1], deciding, outcome.min_diff)
            session.started = time.monotonic()  # each plan gets the full time limit
        base.stages = []
        found = (
            None
            if session.stopped
            else run_stage(
                session,
                name=f"alternative {rank}: margins, waits, wishes, spread",
                objective=objective,
                hint=hint,
                parameters=SECONDARY_STAGE_PARAMETERS,
            )
        )
        stage = base.stages[-1] if base.stages else None
        if found is None or stage is None or stage.objective is None:
            outcome.stopped_because = _why_stopped(session, stage, rank, outcome.min_diff)
            break
        new_areas, proven = found
        # Only the plan whose search the signal cut short is marked: one proven before it,
        # or cut by its time limit before the signal came, is as good as without it.
        cut_by_signal = stop is not None and stop.reason is not None and not proven
        result = replace(
            base,
            new_areas=dict(sorted(new_areas.items())),
            stages=[*primary_stages, stage],
            interrupted=stop.reason if cut_by_signal and stop is not None else None,
        )
        best = outcome.plans[0].secondary_objective if outcome.plans else stage.objective
        outcome.plans.append(
            Alternative(
                rank=rank,
                result=result,
                secondary_objective=stage.objective,
                cost_vs_best=best - stage.objective,
                differs_from={
                    i + 1: differing(new_areas, other, deciding) for i, other in enumerate(earlier)
                },
            )
        )
        earlier.append(new_areas)
        hint = new_areas
    return outcome


def _differ_from(
    session: SolveSession, plan: Mapping[int, int], deciding: list[int], min_diff: int
) -> None:
    """Hard constraint: at least ``min_diff`` people's outcome differs from ``plan``."""
    built = session.built
    kept = [built.assign[p, a] for p, a in sorted(plan.items())]
    newly = [built.placed[p] for p in deciding if p not in plan]
    changed = len(kept) - cp_model.LinearExpr.sum(kept) + cp_model.LinearExpr.sum(newly)
    built.model.add(changed >= min_diff)


def _why_stopped(session: SolveSession, stage: StageResult | None, rank: int, min_diff: int) -> str:
    if session.stopped:
        return f"interrupted by {session.stop.reason if session.stop else 'a request'}"
    if stage is not None and stage.status == "INFEASIBLE":
        people = "person" if min_diff == 1 else "people"
        return (
            f"no plan {rank} exists: every other plan that is optimal on the primary objective "
            f"differs from an earlier one in fewer than {min_diff} {people}"
        )
    return f"no plan {rank} was found within the time limit"


def provenance_of(alternative: Alternative, outcome: Alternatives) -> dict[str, object]:
    """``provenance.alternative`` of an alternative's plan file."""
    return {
        "rank": alternative.rank,
        "requested": outcome.requested,
        "min_diff": outcome.min_diff,
        "secondary_objective": alternative.secondary_objective,
        "cost_vs_best": alternative.cost_vs_best,
        "differs_from": {
            f"plan-{rank}": count for rank, count in sorted(alternative.differs_from.items())
        },
    }


def render_alternatives(outcome: Alternatives, files: list[str]) -> str:
    """The summary table the CLI prints: one row per plan, best first."""
    lines: list[str] = []
    if outcome.plans:
        first = outcome.plans[0].result
        people = first.scenario.defectors
        counts = [
            sum(1 for p in first.new_areas if people[p].threat_level == level)
            for level in THREAT_LEVELS
        ]
        proven = "proven optimal" if first.primary_optimal else "best found, NOT proven optimal"
        lines.append(
            f"{len(outcome.plans)} of {outcome.requested} plans, each placing the same number "
            f"of people at every threat level ({proven}; levels 5..1: "
            f"{', '.join(map(str, counts))}), pairwise different in at least "
            f"{outcome.min_diff} {'person' if outcome.min_diff == 1 else 'people'}"
        )
        rows = [["rank", "file", "status", "secondary points", "cost vs best", "differs from"]]
        for alternative, name in zip(outcome.plans, files, strict=True):
            rows.append(
                [
                    str(alternative.rank),
                    name,
                    alternative.result.status,
                    f"{alternative.secondary_objective:g}",
                    f"{alternative.cost_vs_best:g}",
                    ", ".join(
                        f"plan-{rank}: {count}"
                        for rank, count in sorted(alternative.differs_from.items())
                    )
                    or "-",
                ]
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            lines.append(
                "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
    if outcome.stopped_because:
        lines.append(f"Stopped: {outcome.stopped_because}.")
    return "\n".join(lines)
