"""Every model family of the registry (config/families.py), in every variant, obeys one contract.

The inputs are ``features`` and ``alive``; each node's stack is framed by markers so that the
sweep can cut it; the gates follow the topology's failable order; a dead node changes the
output as the alive mask says; the model survives a safe-mode save and load. A new family is
tested here as soon as it is registered (it needs a small setup below).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from paths import TOPOLOGIES

import resilinet_cli as rn
from resilinet_cli.config import read_yaml, validate_config
from resilinet_cli.config.families import FAMILIES
from resilinet_cli.sweeps.node_graph import cut_nodes
from resilinet_cli.topology import Topology
from resilinet_cli.variants import VARIANTS, variant_topology

# A small setup per family: topology preset, model options, input shape.
SETUPS: dict[str, tuple[str, dict[str, Any], tuple[int, ...]]] = {
    "mlp": ("health", {"hidden_units": 16}, (12,)),
    "mobilenet": ("cnn", {"alpha": 0.25}, (32, 32, 3)),
    "resnet18": ("cnn", {}, (32, 32, 3)),
    "keras": (
        "cnn",
        {
            "source": "keras.applications.MobileNetV2",
            "args": {"alpha": 0.35, "input_shape": [32, 32, 3], "classes": 10},
            "cut": {"iot": "block_2_add", "edge": "block_5_add", "fog": "block_12_add"},
        },
        (32, 32, 3),
    ),
}


def family_config(family: str) -> Any:
    assert family in SETUPS, f"add a small test setup for the model family '{family}' here"
    preset, options, _ = SETUPS[family]
    raw = {
        "name": f"family-{family}",
        "topology": read_yaml(TOPOLOGIES / f"{preset}.yaml"),
        "dataset": {"name": "digits"},
        "model": {"name": family, **options},
    }
    return validate_config(raw, "test")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_keeps_the_model_contract_in_every_variant(family: str, tmp_path: Path):
    config = family_config(family)
    shape = SETUPS[family][2]
    topology = Topology.from_config(config.topology)
    x = np.random.default_rng(0).random((4, *shape), dtype=np.float32)
    for variant in VARIANTS:
        model = rn.build_model(config, variant, input_shape=shape, num_classes=10, seed=0)
        assert model.name == variant
        assert [t.name for t in model.inputs] == ["features", "alive"]
        assert model.output_shape == (None, 10)
        assert rn.failable_nodes(model) == list(topology.failable)
        graph = cut_nodes(model, variant_topology(topology, variant))
        assert graph is not None and set(graph.stacks) == set(topology.nodes)
        alive = rn.predict(model, x)
        np.testing.assert_allclose(alive.sum(axis=1), 1.0, rtol=1e-5)
        first = topology.failable[0]
        mask = np.ones((len(x), len(topology.failable)), "float32")
        mask[:, 0] = 0.0
        dead = model.predict([x, mask], verbose=0)
        np.testing.assert_allclose(rn.predict(model, x, dead=[first]), dead, rtol=1e-6)
    # the last variant built (ResiliNet+) through a safe-mode file
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = rn.load_model(path)
    np.testing.assert_allclose(rn.predict(loaded, x, dead=[first]), dead, rtol=1e-5, atol=1e-7)
