"""Starting plans for the search: a stage's plan completed greedily, with one-step moves,
and, for the secondary stage, improved by single moves (``improve_plan``).

Each threat level's stage starts from the previous stage's plan (a CP-SAT solution hint),
which places the people of the new level only by chance. ``complete_plan`` adds the people not
yet placed, most threatened first, each to the first of their candidate areas (in area order)
where the rules coupling pending people still hold: housing left, same network, keep apart.
When no area is free for someone, it tries to make room by moving one person of the plan: if a
single person blocks an area (a rival too close, the network's one place taken, the housing
they use), and that person fits in another of their own areas, they move and the newcomer
takes the area. Nobody in the plan is ever left out, so the counts the earlier stages proved
still hold in the completed plan.

Only the start of the search changes, never what is proven. Measured on generated instances
(docs/benchmarks.md, "How the solver got here"), primary objective only, before and after in
one session: with nobody placed (seed 2) the level 2 start rose from 18 to 25 of 32
placements, and all five levels were proven in 44 s instead of 143 s (level 2: 25 s instead of
119 s, where CP-SAT had the bound 32 after 4 s and spent the rest finding plans); seeds 1 and 3
took 17 s and 13 s instead of 14 s and 18 s; national and fine 12.5 km instances were within
noise (0.7-5.3 s).
"""

from __future__ import annotations

from collections.abc import Mapping

from placement.candidates import Candidates
from placement.objectives import CROWDING_POINTS, score_parts


class _Occupancy:
    """Who of the plan lives where, and what is left: housing and same-network places."""

    def __init__(self, candidates: Candidates) -> None:
        self.candidates = candidates
        scenario = candidates.scenario
        self.people = scenario.defectors
        self.limit = scenario.policy.max_same_network_per_area
        self.keep_apart_km = scenario.policy.keep_apart_km
        self.partners = candidates.threats.keep_apart_partners
        self.free = candidates.free_housing.copy()
        self.members: dict[tuple[str, int], int] = {}
        self.area_of: dict[int, int] = {}
        self.residents: dict[int, list[int]] = {}
        """Area -> people of the plan living there, in the order they came."""

    def members_in(self, network: str, area: int) -> int:
        """The network's people in the area: already placed and in the plan."""
        if (network, area) not in self.members:
            already = self.candidates.placed_by_network.get(network)
            self.members[network, area] = int(already[area]) if already is not None else 0
        return self.members[network, area]

    def settle(self, person: int, area: int) -> None:
        self.free[area] -= self.people[person].household
        for network in self.people[person].networks:
            self.members[network, area] = self.members_in(network, area) + 1
        self.area_of[person] = area
        self.residents.setdefault(area, []).append(person)

    def leave(self, person: int) -> int:
        """Take the person out of the plan; returns the area they lived in."""
        area = self.area_of.pop(person)
        self.free[area] += self.people[person].household
        for network in self.people[person].networks:
            self.members[network, area] -= 1
        self.residents[area].remove(person)
        return area

    def too_close(self, person: int, area: int) -> list[int]:
        """People of the plan the person must be kept apart from who live too close to area."""
        distance = self.candidates.distance_km
        return [
            other
            for other in self.partners.get(person, ())
            if other in self.area_of and distance[area, self.area_of[other]] < self.keep_apart_km
        ]

    def fits(self, person: int, area: int) -> bool:
        defector = self.people[person]
        if self.free[area] < defector.household:
            return False
        if any(self.members_in(n, area) >= self.limit for n in defector.networks):
            return False
        return not self.too_close(person, area)

    def single_blocker(self, person: int, area: int) -> int | None:
        """The one person of the plan whose leaving might let ``person`` into ``area``, if any.

        None when nobody blocks, when it takes two or more to leave, or when the block is a
        fact (people placed before this solve, who do not move).
        """
        defector = self.people[person]
        blockers = set(self.too_close(person, area))
        here = self.residents.get(area, [])
        for network in defector.networks:
            excess = self.members_in(network, area) - self.limit + 1
            if excess <= 0:
                continue
            of_network = [p for p in here if network in self.people[p].networks]
            if excess > 1 or not of_network:
                return None
            if not blockers.intersection(of_network):
                blockers.add(of_network[0])
        short = defector.household - self.free[area]
        if short > 0:
            freed = sum(self.people[p].household for p in blockers if self.area_of[p] == area)
            if freed < short:
                if blockers:
                    return None
                large_enough = [p for p in here if self.people[p].household >= short]
                if not large_enough:
                    return None
                blockers.add(large_enough[0])
        return blockers.pop() if len(blockers) == 1 else None

    def make_room(self, person: int, area: int) -> bool:
        """Move the one person blocking ``area`` to another of their areas and settle there."""
        blocker = self.single_blocker(person, area)
        if blocker is None:
            return False
        home = self.leave(blocker)
        if self.fits(person, area):
            self.settle(person, area)
            for elsewhere in self.candidates.people[blocker].areas:
                if elsewhere != home and self.fits(blocker, elsewhere):
                    self.settle(blocker, elsewhere)
                    return True
            self.leave(person)
        self.settle(blocker, home)
        return False


def complete_plan(candidates: Candidates, plan: Mapping[int, int]) -> dict[int, int]:
    """The plan with more people added where every rule still holds, most threatened first.

    Everyone in ``plan`` stays placed (some perhaps elsewhere); see the module docstring.
    """
    occupancy = _Occupancy(candidates)
    for person, area in sorted(plan.items()):
        occupancy.settle(person, area)
    people = candidates.scenario.defectors
    waiting = sorted(
        (p for p, c in candidates.people.items() if c.areas and p not in plan),
        key=lambda p: (-people[p].threat_level, p),
    )
    for person in waiting:
        areas = candidates.people[person].areas
        free = next((area for area in areas if occupancy.fits(person, area)), None)
        if free is not None:
            occupancy.settle(person, free)
            continue
        for area in areas:
            if occupancy.make_room(person, area):
                break
    return dict(sorted(occupancy.area_of.items()))


def improve_plan(candidates: Candidates, plan: Mapping[int, int]) -> dict[int, int]:
    """The plan with people moved, one at a time, to areas worth more secondary points.

    The start of the secondary stage: the last level's plan was chosen for counts only. Each
    person in turn moves to the free area that raises the plan's secondary points the most
    (``placement.objectives``: margin, waits, wishes, and crowding), if any; passes repeat
    until no move helps. Everyone stays placed and every rule holds after each move, so the
    proven counts hold too; only the starting plan changes, never what is proven.
    """
    occupancy = _Occupancy(candidates)
    for person, area in sorted(plan.items()):
        occupancy.settle(person, area)
    points = {
        person: {a: score_parts(candidates, candidates.people[person], a).total for a in c.areas}
        for person, c in candidates.people.items()
        if person in plan
    }
    moved = True
    while moved:
        moved = False
        for person in sorted(plan):
            home = occupancy.area_of[person]
            # What staying is worth, against leaving: leaving a shared area ends one crowding.
            shared = len(occupancy.residents[home]) > 1
            here = points[person][home] - (CROWDING_POINTS if shared else 0)
            best_gain, best_area = 0, None
            occupancy.leave(person)
            for area, value in points[person].items():
                crowded = bool(occupancy.residents.get(area))
                gain = value - here - (CROWDING_POINTS if crowded else 0)
                if area != home and gain > best_gain and occupancy.fits(person, area):
                    best_gain, best_area = gain, area
            if best_area is None:
                occupancy.settle(person, home)
                continue
            occupancy.settle(person, best_area)
            moved = True
    return dict(sorted(occupancy.area_of.items()))
