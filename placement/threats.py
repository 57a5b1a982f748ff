"""Who threatens whom: the feud/alliance graph between networks, and keep-apart pairs.

A networkx multigraph holds one node per network and an edge per rivalry (``kind="rival"``)
or alliance (``kind="ally"``). From it follow the networks that threaten each defector
(rule 1 of the contract) and the pairs of defectors who must live apart (rule 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx

from placement.scenario import Defector, Scenario


def feud_graph(scenario: Scenario) -> nx.MultiGraph:
    """The networks as nodes, with an edge for every rivalry and every alliance."""
    graph = nx.MultiGraph()
    for network in scenario.networks.values():
        graph.add_node(network.id, name=network.name, territory=network.territory)
    for network in scenario.networks.values():
        for other in network.rivals:
            if network.id < other:
                graph.add_edge(network.id, other, kind="rival")
        for other in network.allies:
            if network.id < other:
                graph.add_edge(network.id, other, kind="ally")
    return graph


def _neighbours(graph: nx.MultiGraph, node: str, kind: str) -> set[str]:
    return {other for _, other, edge_kind in graph.edges(node, data="kind") if edge_kind == kind}


@dataclass(frozen=True)
class KeepApart:
    """Two defectors who must live at least ``keep_apart_km`` apart, and why."""

    first: int
    second: int
    rival_networks: tuple[tuple[str, str], ...]
    """Pairs (network of first, network of second) that are rivals."""
    listed: bool
    """True when one of them lists the other in ``keep_apart_from``."""

    def describe(self, scenario: Scenario) -> str:
        parts = []
        if self.rival_networks:
            pairs = ", ".join(f"{a}/{b}" for a, b in self.rival_networks)
            parts.append(f"rival networks {pairs}")
        if self.listed:
            parts.append("listed in keep_apart_from")
        return " and ".join(parts)


class Threats:
    """The threat relations of one scenario, computed once from the feud graph."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.graph = feud_graph(scenario)

    def rivals_of(self, network: str) -> set[str]:
        return _neighbours(self.graph, network, "rival")

    def allies_of(self, network: str) -> set[str]:
        return _neighbours(self.graph, network, "ally")

    def threatening_networks(self, defector: Defector) -> tuple[str, ...]:
        """The defector's own networks, their rivals and (by policy) the rivals' allies."""
        threats = set(defector.networks)
        for network in defector.networks:
            rivals = self.rivals_of(network)
            threats |= rivals
            if self.scenario.policy.allies_of_rivals_threaten:
                for rival in rivals:
                    threats |= self.allies_of(rival)
        return tuple(sorted(threats))

    def threat_territory(self, defector: Defector) -> dict[int, tuple[str, ...]]:
        """Each area in a threatening network's territory -> the networks operating there."""
        areas: dict[int, list[str]] = {}
        for network in self.threatening_networks(defector):
            for area in self.scenario.networks[network].territory:
                areas.setdefault(area, []).append(network)
        return {area: tuple(nets) for area, nets in areas.items()}

    @cached_property
    def keep_apart_pairs(self) -> tuple[KeepApart, ...]:
        """Every pair of defectors that must be kept apart (rival networks or listed)."""
        people = self.scenario.defectors
        index = self.scenario.defector_index
        by_network: dict[str, list[int]] = {}
        for i, person in enumerate(people):
            for network in person.networks:
                by_network.setdefault(network, []).append(i)
        rival_pairs: dict[tuple[int, int], set[tuple[str, str]]] = {}
        for first_net, second_net, kind in self.graph.edges(data="kind"):
            if kind != "rival":
                continue
            for i in by_network.get(first_net, ()):
                for j in by_network.get(second_net, ()):
                    if i == j:
                        continue
                    key = (min(i, j), max(i, j))
                    pair = (first_net, second_net) if i < j else (second_net, first_net)
                    rival_pairs.setdefault(key, set()).add(pair)
        listed: set[tuple[int, int]] = set()
        for i, person in enumerate(people):
            for other in person.keep_apart_from:
                j = index[other]
                listed.add((min(i, j), max(i, j)))
        return tuple(
            KeepApart(
                first=i,
                second=j,
                rival_networks=tuple(sorted(rival_pairs.get((i, j), ()))),
                listed=(i, j) in listed,
            )
            for i, j in sorted(set(rival_pairs) | listed)
        )

    @cached_property
    def keep_apart_partners(self) -> dict[int, tuple[int, ...]]:
        """Defector index -> indices of everyone they must be kept apart from."""
        partners: dict[int, list[int]] = {}
        for pair in self.keep_apart_pairs:
            partners.setdefault(pair.first, []).append(pair.second)
            partners.setdefault(pair.second, []).append(pair.first)
        return {k: tuple(v) for k, v in partners.items()}
