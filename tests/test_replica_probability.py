"""Standby replicas' alive columns against brute force (issue 31): each combination's probability
over the extended mask, information flow (a role is up while any replica is), failure models
that name replicas, summing a replica out, and a replica table's weighted accuracy."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest
from paths import TOPOLOGIES

from resilinet_cli.config.schema import FailureModelConfig
from resilinet_cli.config.yaml_file import read_yaml
from resilinet_cli.failure_model import FailureModel
from resilinet_cli.results.tables import unit_weighted
from resilinet_cli.topology import Topology

HEALTH = Topology.from_mapping(read_yaml(TOPOLOGIES / "health.yaml"))
# the Health topology written out by hand, for the independent flow check
ORDER = ["iot", "edge", "fog2", "fog1", "cloud"]
CHAIN = {"edge": ["iot"], "fog2": ["edge"], "fog1": ["fog2"], "cloud": ["fog1"]}
SKIPS = {"fog2": ["iot"], "fog1": ["edge"], "cloud": ["fog2"]}
Flags = dict[str, int]


def assignments(columns: Sequence[str]) -> list[Flags]:
    """Every alive/dead assignment of ``columns``, as name -> 0/1."""
    bits = itertools.product((0, 1), repeat=len(columns))
    return [dict(zip(columns, b, strict=True)) for b in bits]


def primary_of(column: str) -> str:
    """``edge_r3`` -> ``edge``: a replica's column names its primary before ``_r<k>``."""
    head, _, k = column.rpartition("_r")
    return head if head and k.isdigit() else column


def brute_probability(flags: Flags, survival: Mapping[str, float]) -> float:
    """Π over columns of s or 1 - s, a replica's s being its primary's."""
    return math.prod(
        survival[primary_of(c)] if alive else 1 - survival[primary_of(c)]
        for c, alive in flags.items()
    )


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("setting", list(HEALTH.reliability))
def test_every_combination_over_the_extended_mask_is_brute_force(count: int, setting: str) -> None:
    topology = HEALTH.with_replicas({"edge": count})
    standbys = [f"edge_r{k}" for k in range(2, count + 1)]
    assert topology.columns == ("fog1", "fog2", "edge", *standbys)
    reliability = topology.reliability[setting]
    survival = dict(zip(HEALTH.failable, HEALTH.reliability[setting], strict=True))
    combinations = topology.combinations()
    assert len(combinations) == 2 ** (3 + count - 1)
    total = 0.0
    for combination, flags in zip(combinations, assignments(topology.columns), strict=True):
        p = topology.probability(combination, HEALTH.reliability[setting])
        assert p == pytest.approx(brute_probability(flags, survival), rel=1e-12, abs=1e-15)
        assert topology.probability(combination, reliability) == pytest.approx(p, rel=1e-12)
        total += p
    assert total == pytest.approx(1.0, abs=1e-12)


def reaches_the_cloud(flags: Flags, skips: bool) -> bool:
    """By hand: walk the nodes in order; a node is reached when its role is up (any replica of
    it alive) and a sender of it is reached."""
    up = {n: any(v for c, v in flags.items() if primary_of(c) == n) for n in ORDER}
    up["iot"] = up["cloud"] = True
    reached = {"iot": True}
    for node in ORDER[1:]:
        senders = CHAIN[node] + (SKIPS.get(node, []) if skips else [])
        reached[node] = up[node] and any(reached[s] for s in senders)
    return reached["cloud"]


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("skips", [False, True])
def test_information_flow_over_the_extended_mask(count: int, skips: bool) -> None:
    own = HEALTH if skips else HEALTH.with_skips(())
    topology = own.with_replicas({"edge": count})
    flows = 0
    for combination, flags in zip(
        topology.combinations(), assignments(topology.columns), strict=True
    ):
        expected = reaches_the_cloud(flags, skips)
        assert topology.has_information_flow(combination) == expected, flags
        flows += expected
        edge_up = any(flags[c] for c in topology.replicas_of("edge"))
        assert ("edge" in topology.dead_nodes(flags)) == (not edge_up)
        serving = next((c for c in topology.replicas_of("edge") if flags[c]), None)
        assert topology.serving(flags, "edge") == serving
    # Vanilla: fog1, fog2 alive and any of the edge's replicas: 2^count - 1 of 2^count
    if not skips:
        assert flows == 2**count - 1


def event_brute_force(
    columns: Sequence[str],
    survival: Mapping[str, float],
    events: Sequence[tuple[Sequence[str], float]],
) -> dict[tuple[int, ...], float]:
    """P(combination) by enumerating every column's own survival and every event's outcome:
    a column is alive iff it survives on its own and no event covering it happens."""
    out: dict[tuple[int, ...], float] = {}
    for own in itertools.product((0, 1), repeat=len(columns)):
        p_own = math.prod(
            survival[c] if a else 1 - survival[c] for c, a in zip(columns, own, strict=True)
        )
        for happened in itertools.product((0, 1), repeat=len(events)):
            p = p_own * math.prod(
                q if h else 1 - q for (_, q), h in zip(events, happened, strict=True)
            )
            killed = {
                c for (members, _), h in zip(events, happened, strict=True) if h for c in members
            }
            alive = tuple(int(a and c not in killed) for c, a in zip(columns, own, strict=True))
            out[alive] = out.get(alive, 0.0) + p
    return out


RACK = {
    "survival": {"fog1": 0.95, "edge": 0.87},
    "common_cause": [
        {"nodes": ["edge", "edge_r2"], "probability": 0.05},
        {"nodes": ["fog2", "edge_r2"], "probability": 0.1},
    ],
}


def test_a_rack_event_takes_a_node_and_its_standby_down_together() -> None:
    model = FailureModel.from_config(
        "rack", FailureModelConfig(**RACK), HEALTH.failable, (), [("edge_r2", "edge")]
    )
    assert model.columns == ("fog1", "fog2", "edge", "edge_r2")
    # edge_r2 unnamed in survival: its primary's 0.87; fog2 unnamed: 1
    assert model.survival == (0.95, 1.0, 0.87, 0.87)
    survival = dict(zip(model.columns, model.survival, strict=True))
    events = [(e["nodes"], e["probability"]) for e in RACK["common_cause"]]
    expected = event_brute_force(model.columns, survival, events)
    probabilities = model.probabilities()
    for combination, p in probabilities.items():
        assert p == pytest.approx(expected.get(combination, 0.0), abs=1e-15)
    assert math.fsum(probabilities.values()) == pytest.approx(1.0, abs=1e-12)
    both_down = sum(p for c, p in probabilities.items() if c[2] == 0 and c[3] == 0)
    independent = (1 - 0.87) ** 2  # without the events
    assert both_down > independent + 0.04  # the rack event adds about its 5 %


def summed_out(full: FailureModel, nodes: Sequence[str]) -> dict[tuple[int, ...], float]:
    """Brute-force marginal of ``full`` over ``nodes``: Σ over the other columns."""
    keep = [full.columns.index(n) for n in nodes]
    out: dict[tuple[int, ...], float] = {}
    for combination, p in full.probabilities().items():
        key = tuple(combination[i] for i in keep)
        out[key] = out.get(key, 0.0) + p
    return out


REPLICAS = [("edge_r2", "edge"), ("edge_r3", "edge")]
FULL = ("fog1", "fog2", "edge", "edge_r2", "edge_r3")


def models_over_two_standbys() -> list[FailureModel]:
    """An independent model, one with events, one joint table: over Health and edge x3."""
    independent = FailureModel.from_config(
        "own", FailureModelConfig(survival={"edge": 0.8, "edge_r3": 0.6}), HEALTH.failable,
        (), REPLICAS,
    )  # fmt: skip
    events = FailureModel.from_config(
        "rack",
        FailureModelConfig(**{**RACK, "common_cause": [
            *RACK["common_cause"], {"nodes": ["edge_r3"], "probability": 0.2},
            {"nodes": ["edge", "edge_r3", "fog1"], "probability": 0.07},
        ]}),
        HEALTH.failable, (), REPLICAS,
    )  # fmt: skip
    weights = np.random.default_rng(31).random(2 ** len(FULL))
    table = {
        "".join(map(str, bits)): float(w / weights.sum())
        for bits, w in zip(itertools.product((0, 1), repeat=len(FULL)), weights, strict=True)
    }
    joint = FailureModel.from_config(
        "joint", FailureModelConfig(joint=table), HEALTH.failable, (), REPLICAS
    )
    return [independent, events, joint]


@pytest.mark.parametrize("model", models_over_two_standbys(), ids=lambda m: m.name)
@pytest.mark.parametrize(
    "nodes",
    [
        ("fog1", "fog2", "edge", "edge_r2"),  # the last standby summed out
        ("fog1", "fog2", "edge", "edge_r3"),  # a middle column summed out
        ("fog1", "fog2", "edge"),  # both: a variant without replicas
    ],
)
def test_summing_out_a_replica_is_brute_force_marginalisation(
    model: FailureModel, nodes: tuple[str, ...]
) -> None:
    assert model.columns == FULL
    marginal = model.for_nodes(nodes, dict(REPLICAS))
    assert marginal.columns == nodes
    expected = summed_out(model, nodes)
    for combination, p in marginal.probabilities().items():
        assert p == pytest.approx(expected[combination], rel=1e-12, abs=1e-15)


def test_a_replica_the_model_lacks_takes_its_primarys_survival() -> None:
    model = FailureModel.from_config("rack", FailureModelConfig(**RACK), HEALTH.failable, (),
                                     [("edge_r2", "edge")])  # fmt: skip
    wider = model.for_nodes(FULL, dict(REPLICAS))
    for combination, p in wider.probabilities().items():
        r3 = 0.87 if combination[4] else 1 - 0.87  # independent of every event
        assert p == pytest.approx(model.probability(combination[:4]) * r3, rel=1e-12)


def replica_table(topology: Topology) -> pd.DataFrame:
    """A combinations table as a sweep writes it, with made-up accuracies: the flow case's
    accuracy depends on which replica serves the edge, so weights that mix up columns show."""
    rows = []
    for combination in topology.combinations():
        flags = dict(zip(topology.columns, combination, strict=True))
        flow = topology.has_information_flow(combination)
        serving = topology.serving(flags, "edge")
        rank = topology.replicas_of("edge").index(serving) if serving else 3  # 3: skipped
        accuracy = 0.1 if not flow else 0.9 - 0.05 * rank
        accuracy -= 0.01 * (1 - flags["fog1"]) + 0.003 * (1 - flags["fog2"])
        rows.append({**flags, "information_flow": flow, "accuracy": accuracy})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("count", [2, 3])
def test_unit_weighted_on_a_replica_table_is_a_brute_force_sum(count: int) -> None:
    table = replica_table(HEALTH.with_replicas({"edge": count}))
    columns = ["fog1", "fog2", "edge", *(f"edge_r{k}" for k in range(2, count + 1))]
    models = models_over_two_standbys()
    weighted = unit_weighted(table, HEALTH, models)
    assert set(weighted) == {*HEALTH.reliability, "own", "rack", "joint"}
    rows = table.to_dict("records")
    for setting, reliability in HEALTH.reliability.items():
        survival = dict(zip(HEALTH.failable, reliability, strict=True))
        expected = math.fsum(
            brute_probability({c: r[c] for c in columns}, survival) * r["accuracy"] for r in rows
        )
        assert weighted[setting] == pytest.approx(expected, rel=1e-12)
    for model in models:
        marginal = summed_out(model, columns)
        expected = math.fsum(
            marginal[tuple(int(r[c]) for c in columns)] * r["accuracy"] for r in rows
        )
        assert weighted[model.name] == pytest.approx(expected, rel=1e-12)


def test_unit_weighted_without_replica_columns_sums_the_models_standbys_out() -> None:
    table = replica_table(HEALTH)
    weighted = unit_weighted(table, HEALTH, models_over_two_standbys())
    columns = list(HEALTH.failable)
    for model in models_over_two_standbys():
        marginal = summed_out(model, columns)
        rows = table.to_dict("records")
        expected = math.fsum(
            marginal[tuple(int(r[c]) for c in columns)] * r["accuracy"] for r in rows
        )
        assert weighted[model.name] == pytest.approx(expected, rel=1e-12)
