"""Short readable summaries of a scenario and of a plan, for the terminal."""

from __future__ import annotations

from collections import Counter

from placement.check import pre_existing_problems
from placement.objectives import THREAT_LEVELS
from placement.plan import Plan
from placement.scenario import Scenario
from placement.threats import Threats

MAX_ROWS = 8


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    body = [
        "  ".join(
            c.rjust(w) if c[:1].isdigit() or c[:1] == "-" else c.ljust(w)
            for c, w in zip(r, widths, strict=True)
        )
        for r in rows
    ]
    return ["  " + line.rstrip(), *("  " + b.rstrip() for b in body)]


def render_scenario_summary(scenario: Scenario) -> str:
    """One screen: sizes, policy, people by threat level, housing and who has no allowed area."""
    from placement.candidates import Candidates

    policy = scenario.policy
    rivalries = sum(len(n.rivals) for n in scenario.networks.values()) // 2
    alliances = sum(len(n.allies) for n in scenario.networks.values()) // 2
    pending = scenario.pending
    placed_levels = Counter(d.threat_level for d in scenario.placed)
    pending_levels = Counter(d.threat_level for d in pending)
    with_housing = [o.housing_units for o in scenario.offers if o.housing_units > 0]
    threats = Threats(scenario)
    candidates = Candidates(scenario, threats)
    no_area = sorted(scenario.defectors[i].id for i, c in candidates.people.items() if not c.areas)
    lines = [
        f"Scenario: {scenario.name or '(unnamed)'}  [valid]",
        f"  file sha256 {scenario.sha256[:16]}...",
        f"  areas: {len(scenario.geography)} ({scenario.geography.source})",
        f"  networks: {len(scenario.networks)}, rivalries {rivalries}, alliances {alliances}",
        f"  defectors: {len(scenario.defectors)} ({len(scenario.placed)} placed, "
        f"{len(pending)} pending); keep-apart pairs {len(threats.keep_apart_pairs)}",
        f"  housing: {sum(with_housing)} units in {len(with_housing)} areas, "
        f"{int(candidates.free_housing.sum())} free after placed households",
        f"  policy: threat buffer {policy.threat_buffer_km:g} km, origin buffer "
        f"{policy.origin_buffer_km:g} km, keep apart {policy.keep_apart_km:g} km, "
        f"max {policy.max_same_network_per_area} per network and area, {policy.distance} "
        f"distance{', allies of rivals threaten' if policy.allies_of_rivals_threaten else ''}",
        "",
        *_table(
            ["threat level", *map(str, THREAT_LEVELS)],
            [
                ["placed", *(str(placed_levels[lvl]) for lvl in THREAT_LEVELS)],
                ["pending", *(str(pending_levels[lvl]) for lvl in THREAT_LEVELS)],
            ],
        ),
        "",
    ]
    if pending:
        sizes = sorted(len(c.areas) for c in candidates.people.values())
        lines.append(
            f"Allowed areas per pending person (each rule on its own): "
            f"min {sizes[0]}, median {sizes[len(sizes) // 2]}, max {sizes[-1]}"
        )
    if no_area:
        shown = ", ".join(no_area[:10]) + (" ..." if len(no_area) > 10 else "")
        lines.append(f"No allowed area at all for {len(no_area)} pending: {shown}")
    pre_existing = pre_existing_problems(scenario)
    if pre_existing:
        lines += ["", _pre_existing_heading(len(pre_existing))]
        lines += [f"  {v.message}" for v in pre_existing[:MAX_ROWS]]
        if len(pre_existing) > MAX_ROWS:
            lines.append(f"  ... and {len(pre_existing) - MAX_ROWS} more")
    return "\n".join(lines)


def _pre_existing_heading(count: int) -> str:
    return (
        f"Pre-existing problems among people already placed ({count}; not caused by the plan, "
        "not counted against it):"
    )


def render_solve_summary(plan: Plan, scenario: Scenario) -> str:
    """Status, placed/unplaced by level, tightest margins, load per area."""
    metrics = plan.model_extra.get("metrics", {}) if plan.model_extra else {}
    by_level = metrics.get("pending_by_threat_level", {})
    lines = [
        f"Status: {plan.status}"
        + (
            ""
            if plan.status == "optimal"
            else " (primary objective "
            + ("proven optimal)" if metrics.get("primary_optimal") else "not proven)")
        ),
        f"Pending: {metrics.get('pending', 0)}; newly placed {metrics.get('newly_placed', 0)}, "
        f"unplaced {metrics.get('unplaced', 0)}; already placed {metrics.get('already_placed', 0)}",
        "",
        *_table(
            ["threat level", *map(str, THREAT_LEVELS)],
            [
                [
                    "placed",
                    *(str(by_level.get(str(lvl), {}).get("placed", 0)) for lvl in THREAT_LEVELS),
                ],
                [
                    "unplaced",
                    *(str(by_level.get(str(lvl), {}).get("unplaced", 0)) for lvl in THREAT_LEVELS),
                ],
            ],
        ),
    ]
    tightest = metrics.get("tightest_margins", [])
    if tightest:
        lines += ["", "Tightest safety margins (km beyond the required distance):"]
        lines += _table(
            ["defector", "area", "margin km"],
            [[t["defector"], t["area_name"], f"{t['safety_margin_km']}"] for t in tightest],
        )
    load = sorted(metrics.get("area_load", []), key=lambda r: (-r["newcomers"], r["area_name"]))
    if load:
        lines += ["", f"Load per area (newcomers; {len(load)} areas receive people):"]
        lines += _table(
            ["area", "newcomers", "housing used", "of"],
            [
                [
                    r["area_name"],
                    str(r["newcomers"]),
                    str(r["housing_used"]),
                    str(r["housing_units"]),
                ]
                for r in load[:MAX_ROWS]
            ],
        )
        if len(load) > MAX_ROWS:
            lines.append(f"  ... and {len(load) - MAX_ROWS} more areas")
    pre_existing = (plan.model_extra or {}).get("pre_existing_problems") or []
    if pre_existing:
        lines += ["", _pre_existing_heading(len(pre_existing))]
        lines += [f"  {p['message']}" for p in pre_existing[:MAX_ROWS]]
        if len(pre_existing) > MAX_ROWS:
            lines.append(f"  ... and {len(pre_existing) - MAX_ROWS} more (see the plan file)")
    if plan.unplaced:
        lines += ["", "Unplaced:"]
        for entry in plan.unplaced[:MAX_ROWS]:
            lines.append(f"  {entry.defector}: {'; '.join(entry.reasons)}")
        if len(plan.unplaced) > MAX_ROWS:
            lines.append(f"  ... and {len(plan.unplaced) - MAX_ROWS} more (see the plan file)")
    return "\n".join(lines)
