"""Who threatens whom (rule 1) and who must live apart (rule 3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from placement.geography import sweden_municipalities
from placement.scenario import SCENARIO_FORMAT, Scenario, scenario_from_document
from placement.threats import KeepApart, Threats, feud_graph

SWEDEN = sweden_municipalities()


def scenario(
    networks: Sequence[dict[str, Any]],
    defectors: Sequence[dict[str, Any]] = (),
    **policy: Any,
) -> Scenario:
    people = [{"origin": "Umeå", **person} for person in defectors]
    return scenario_from_document(
        {
            "format": SCENARIO_FORMAT,
            "policy": policy,
            "networks": list(networks),
            "defectors": people,
        },
        geography=SWEDEN,
    )


def area(reference: str) -> int:
    index = SWEDEN.index_of(reference)
    assert index is not None
    return index


# A feuds with B (listed by B only); B is allied with C; A is allied with D; C feuds with E.
NETWORKS = [
    {"id": "A", "territory": ["Göteborg"], "allies": ["D"]},
    {"id": "B", "territory": ["Malmö", "Lund"], "rivals": ["A"], "allies": ["C"]},
    {"id": "C", "territory": ["Stockholm"], "rivals": ["E"]},
    {"id": "D", "territory": ["Uppsala"]},
    {"id": "E", "territory": ["Luleå", "Malmö"]},
]
PEOPLE = [
    {"id": "a", "networks": ["A"]},
    {"id": "b", "networks": ["B"]},
    {"id": "c", "networks": ["C"]},
    {"id": "d", "networks": ["D"]},
    {"id": "e", "networks": ["E"]},
    {"id": "ae", "networks": ["A", "E"]},
]


def test_feud_graph_has_one_edge_per_relation() -> None:
    graph = feud_graph(scenario(NETWORKS))
    assert set(graph.nodes) == {"A", "B", "C", "D", "E"}
    edges = sorted((*sorted((u, v)), kind) for u, v, kind in graph.edges(data="kind"))
    assert edges == [
        ("A", "B", "rival"),
        ("A", "D", "ally"),
        ("B", "C", "ally"),
        ("C", "E", "rival"),
    ]
    assert graph.nodes["A"]["territory"] == (area("Göteborg"),)


def test_relations_listed_on_both_sides_give_one_edge() -> None:
    graph = feud_graph(
        scenario([{"id": "A", "rivals": ["B"]}, {"id": "B", "rivals": ["A"], "allies": []}])
    )
    assert list(graph.edges(data="kind")) == [("A", "B", "rival")]


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("a", ("A", "B")),  # own and rival; not its ally D
        ("b", ("A", "B")),  # the rivalry holds both ways; not its ally C
        ("c", ("C", "E")),
        ("d", ("D",)),  # no rivals: only its own network
        ("e", ("C", "E")),
        ("ae", ("A", "B", "C", "E")),  # every own network counts
    ],
)
def test_threatening_networks(person: str, expected: tuple[str, ...]) -> None:
    loaded = scenario(NETWORKS, PEOPLE)
    assert Threats(loaded).threatening_networks(loaded.defector(person)) == expected


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("a", ("A", "B", "C")),  # C is allied with rival B
        ("b", ("A", "B", "D")),  # D is allied with rival A
        ("c", ("C", "E")),  # E has no allies
        ("d", ("D",)),
        ("e", ("B", "C", "E")),  # B is allied with rival C
        ("ae", ("A", "B", "C", "E")),
    ],
)
def test_allies_of_rivals_threaten_only_by_policy(person: str, expected: tuple[str, ...]) -> None:
    loaded = scenario(NETWORKS, PEOPLE, allies_of_rivals_threaten=True)
    assert Threats(loaded).threatening_networks(loaded.defector(person)) == expected


def test_allies_of_rivals_are_not_followed_further() -> None:
    # A feuds with B; B is allied with C; C is allied with D: D is not a threat to A's people.
    loaded = scenario(
        [
            {"id": "A", "rivals": ["B"]},
            {"id": "B", "allies": ["C"]},
            {"id": "C", "allies": ["D"], "rivals": ["F"]},
            {"id": "D"},
            {"id": "F"},
        ],
        [{"id": "x", "networks": ["A"]}],
        allies_of_rivals_threaten=True,
    )
    assert Threats(loaded).threatening_networks(loaded.defectors[0]) == ("A", "B", "C")


def test_rivals_and_allies_of() -> None:
    threats = Threats(scenario(NETWORKS))
    assert threats.rivals_of("A") == {"B"}
    assert threats.rivals_of("B") == {"A"}
    assert threats.allies_of("B") == {"C"}
    assert threats.allies_of("C") == {"B"}
    assert threats.rivals_of("D") == set()


def test_threat_territory() -> None:
    loaded = scenario(NETWORKS, PEOPLE)
    threats = Threats(loaded)
    assert threats.threat_territory(loaded.defector("a")) == {
        area("Göteborg"): ("A",),
        area("Malmö"): ("B",),
        area("Lund"): ("B",),
    }
    assert threats.threat_territory(loaded.defector("c")) == {
        area("Stockholm"): ("C",),
        area("Luleå"): ("E",),
        area("Malmö"): ("E",),
    }
    assert threats.threat_territory(loaded.defector("ae"))[area("Malmö")] == ("B", "E")


def pairs(loaded: Scenario) -> dict[tuple[str, str], KeepApart]:
    ids = [d.id for d in loaded.defectors]
    return {(ids[p.first], ids[p.second]): p for p in Threats(loaded).keep_apart_pairs}


def test_keep_apart_pairs_from_rivalries() -> None:
    loaded = scenario(NETWORKS, PEOPLE)
    found = pairs(loaded)
    assert set(found) == {("a", "b"), ("b", "ae"), ("c", "e"), ("c", "ae")}
    assert found["a", "b"] == KeepApart(
        first=0, second=1, rival_networks=(("A", "B"),), listed=False
    )
    assert found["b", "ae"].rival_networks == (("B", "A"),)  # (network of b, network of ae)
    assert found["c", "ae"].rival_networks == (("C", "E"),)
    assert found["a", "b"].describe(loaded) == "rival networks A/B"
    # Allies, the same network and a person's own two networks never pair people.
    assert ("a", "d") not in found and ("a", "ae") not in found and ("e", "ae") not in found


def test_keep_apart_pairs_from_lists() -> None:
    loaded = scenario(
        [{"id": "N"}, {"id": "R", "rivals": ["N"]}],
        [
            {"id": "x", "networks": ["N"], "keep_apart_from": ["y", "z"]},
            {"id": "y", "networks": ["N"], "keep_apart_from": ["x"]},  # listed both ways
            {"id": "z", "networks": ["R"]},  # also a rival of x
            {"id": "w", "networks": ["N"]},  # a rival of z only
        ],
    )
    found = pairs(loaded)
    assert list(found) == [("x", "y"), ("x", "z"), ("y", "z"), ("z", "w")]
    assert found["x", "y"] == KeepApart(first=0, second=1, rival_networks=(), listed=True)
    assert found["x", "y"].describe(loaded) == "listed in keep_apart_from"
    assert found["x", "z"] == KeepApart(
        first=0, second=2, rival_networks=(("N", "R"),), listed=True
    )
    assert found["x", "z"].describe(loaded) == "rival networks N/R and listed in keep_apart_from"
    assert found["y", "z"].listed is False


def test_each_pair_once_with_every_rivalry() -> None:
    loaded = scenario(
        [{"id": "A", "rivals": ["B", "C"]}, {"id": "B"}, {"id": "C"}],
        [
            {"id": "p", "networks": ["B", "C"]},
            {"id": "q", "networks": ["A"]},
            {"id": "r", "networks": ["A"]},
        ],
    )
    all_pairs = Threats(loaded).keep_apart_pairs
    assert [(p.first, p.second) for p in all_pairs] == [(0, 1), (0, 2)]
    assert all_pairs[0].rival_networks == (("B", "A"), ("C", "A"))
    assert all_pairs[0].describe(loaded) == "rival networks B/A, C/A"


def test_keep_apart_partners() -> None:
    loaded = scenario(NETWORKS, PEOPLE)
    partners = Threats(loaded).keep_apart_partners
    index = loaded.defector_index
    named = {
        loaded.defectors[i].id: sorted(loaded.defectors[j].id for j in others)
        for i, others in partners.items()
    }
    assert named == {
        "a": ["b"],
        "b": ["a", "ae"],
        "c": ["ae", "e"],
        "e": ["c"],
        "ae": ["b", "c"],
    }
    assert index["d"] not in partners


def test_no_people_no_pairs() -> None:
    threats = Threats(scenario(NETWORKS))
    assert threats.keep_apart_pairs == ()
    assert threats.keep_apart_partners == {}
