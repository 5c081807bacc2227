"""Cost columns of standby replicas and learned stand-ins (issue 31): a standby is a device of its
own and costs what its layers hold; a stand-in's generator costs at its receiver."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from resilinet_cli.config import ExperimentConfig, load_config
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.models.costs import FAILURE_LAYERS, NodeCosts, layer_flops, node_costs
from resilinet_cli.results import variant_comparison as vc
from resilinet_cli.variants import topology_of

HIDDEN, FEATURES, CLASSES = 32, 64, 10
CONFIG = f"""\
name: costs
topology: health
dataset: {{name: digits}}
model: {{name: mlp, hidden_units: {HIDDEN}, partition: 1}}
variants: [vanilla, half, full, three, resilinet, standin, rhalf]
techniques:
  half: {{base: vanilla, replicas: {{edge: 2}}, standby: {{edge: {{width: 0.5}}}}}}
  full: {{base: vanilla, replicas: {{edge: 2}}}}
  three: {{base: vanilla, replicas: {{edge: 3}}, standby: {{edge: {{width: 0.25}}}}}}
  standin: {{base: resilinet, stand_in: true}}
  rhalf: {{base: resilinet, replicas: {{edge: 2}}, standby: {{edge: {{width: 0.5}}}}}}
experiment: {{type: methods, reference: vanilla}}
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> ExperimentConfig:
    path = tmp_path_factory.mktemp("costs") / "costs.yaml"
    path.write_text(CONFIG)
    return load_config(path)


@pytest.fixture(scope="module")
def costs(config: ExperimentConfig) -> dict[str, NodeCosts]:
    """Each variant's costs, from the model it builds (untrained: costs need no weights)."""
    found = {}
    for variant in config.variants:
        model, _ = build_from_config(
            config, variant, input_shape=(FEATURES,), num_classes=CLASSES, seed=0
        )
        found[variant] = node_costs(model, topology_of(config, variant))
    return found


def dense(inputs: int, units: int) -> int:
    """A Dense layer's parameters: the kernel and the bias."""
    return inputs * units + units


def test_a_half_width_standby_holds_its_own_narrower_layers(costs: dict[str, NodeCosts]) -> None:
    half, vanilla = costs["half"], costs["vanilla"]
    # the Health MLP at partition 1: the edge is one Dense layer on the IoT node's raw features
    assert vanilla.params["edge"] == dense(FEATURES, HIDDEN)
    assert half.params["edge_r2"] == dense(FEATURES, HIDDEN // 2)
    assert half.flops["edge_r2"] == 2 * FEATURES * (HIDDEN // 2) + HIDDEN // 2
    assert list(half.params) == ["iot", "edge", "edge_r2", "fog2", "fog1", "cloud"]
    assert half.standbys == ("edge_r2",)
    # the standby's layers no longer land at its receiver: every node keeps Vanilla's counts
    for node in vanilla.params:
        assert half.params[node] == vanilla.params[node]
    assert sum(half.params.values()) == sum(vanilla.params.values()) + dense(FEATURES, 16)


def test_a_full_width_standby_doubles_its_node(costs: dict[str, NodeCosts]) -> None:
    full, vanilla = costs["full"], costs["vanilla"]
    assert full.params["edge"] + full.params["edge_r2"] == 2 * vanilla.params["edge"]
    assert full.flops["edge"] + full.flops["edge_r2"] == 2 * vanilla.flops["edge"]
    for node in ("iot", "fog1", "cloud"):
        assert full.flops[node] == vanilla.flops[node]
    # the receiver only gains the switch's flag comparisons (a handful of FLOPs, no weights)
    assert 0 <= full.flops["fog2"] - vanilla.flops["fog2"] < 10
    assert full.params["fog2"] == vanilla.params["fog2"]


def test_a_standby_on_resilinet_leaves_the_skips_and_the_mux_at_their_receivers(
    costs: dict[str, NodeCosts],
) -> None:
    rhalf, resilinet = costs["rhalf"], costs["resilinet"]
    assert rhalf.params["edge_r2"] == dense(FEATURES, HIDDEN // 2)
    for node in resilinet.params:
        assert rhalf.params[node] == resilinet.params[node]
    assert rhalf.link_bytes == resilinet.link_bytes


def test_three_replicas_are_two_devices(costs: dict[str, NodeCosts]) -> None:
    three = costs["three"]
    assert three.standbys == ("edge_r2", "edge_r3")
    for column in three.standbys:
        assert three.params[column] == dense(FEATURES, HIDDEN // 4)
    assert three.link_bytes == costs["vanilla"].link_bytes


def test_a_stand_ins_generator_costs_at_its_receiver(costs: dict[str, NodeCosts]) -> None:
    standin, resilinet = costs["standin"], costs["resilinet"]
    hidden = max(4, HIDDEN // 8)
    generator = dense(HIDDEN, hidden) + dense(hidden, HIDDEN)  # reads one other slot
    # ResiliNet's mux takes a stand-in on its chain slot only: edge->fog2, fog2->fog1, fog1->cloud
    for sender, receiver in [("edge", "fog2"), ("fog2", "fog1"), ("fog1", "cloud")]:
        assert standin.params[receiver] == resilinet.params[receiver] + generator
        assert standin.params[sender] - resilinet.params[sender] in (0, generator)
        assert generator / resilinet.params[sender] < 0.15  # well under the sender's own layers
    assert standin.params["iot"] == resilinet.params["iot"] == 0
    assert standin.params["edge"] == resilinet.params["edge"]
    assert standin.standbys == ()


def test_the_methods_table_counts_every_replica(
    config: ExperimentConfig, costs: dict[str, NodeCosts]
) -> None:
    variants = list(costs)
    values = pd.DataFrame(
        {
            "label": variants,
            "variant": variants,
            "rule": vc.FINAL,
            "seed": 1,
            "iteration": 1,
            "setting": "hazardous",
            "value": 0.5,
            vc.EXITED: None,
        }
    )
    frame = vc.table(config, values, costs).set_index("row")
    for variant, cost in costs.items():
        assert vc.total(frame.loc[variant].to_dict(), "params") == sum(cost.params.values())
        assert vc.total(frame.loc[variant].to_dict(), "flops") == sum(cost.flops.values())
    assert list(frame["extra_nodes"]) == [0, 1, 1, 2, 0, 0, 1]
    assert frame.loc["half", "extra_params"] == dense(FEATURES, HIDDEN // 2)
    assert frame.loc["full", "params_edge_r2"] == dense(FEATURES, HIDDEN)
    assert frame.loc["half", "params_edge_r3"] == 0 and frame.loc["three", "params_edge_r3"] > 0
    shown = vc.markdown(config, frame.reset_index())
    header = shown.splitlines()[0]
    assert "extra devices" in header
    three = next(line for line in shown.splitlines() if line.startswith("| three"))
    total = sum(costs["three"].params.values())
    assert f"{total:,}" in three and three.rstrip(" |").endswith("2")


def test_no_replicas_no_extra_devices_column(
    config: ExperimentConfig, costs: dict[str, NodeCosts]
) -> None:
    values = pd.DataFrame(
        {"label": ["vanilla"], "variant": ["vanilla"], "rule": [vc.FINAL], "seed": [1],
         "iteration": [1], "setting": ["hazardous"], "value": [0.5], vc.EXITED: [None]}
    )  # fmt: skip
    frame = vc.table(config, values, {"vanilla": costs["vanilla"]})
    assert "extra devices" not in vc.markdown(config, frame)
    assert frame["extra_nodes"].tolist() == [0]


def test_switches_and_stand_ins_count_without_a_warning(
    config: ExperimentConfig, caplog: pytest.LogCaptureFixture
) -> None:
    """The switch, the role flags and the stand-in's choice are failure layers: whatever ops
    they use, the FLOPs count logs nothing missing."""
    for variant, kinds in [("half", {"ReplicaSwitch"}), ("standin", {"StandIn", "InputMux"})]:
        model, _ = build_from_config(
            config, variant, input_shape=(FEATURES,), num_classes=CLASSES, seed=0
        )
        found = {
            type(layer).__name__ for layer in model.layers if isinstance(layer, FAILURE_LAYERS)
        }
        assert kinds <= found
        with caplog.at_level(logging.WARNING, logger="resilinet_cli.models.costs"):
            layer_flops(model)
        assert not caplog.records
