"""Reduces to the classics through the search itself: with no skips, no failout and latency the
only cost, the plan's fastest candidate over `cut: all` is the brute force's best tuple."""

from __future__ import annotations

import keras
import pytest
from search_helpers import write

from resilinet_cli.config import load_config
from resilinet_cli.search.classics import brute_force_chain
from resilinet_cli.search.cost_model import CostModel
from resilinet_cli.search.plan import plan_search
from resilinet_cli.search.space import load_space

NETWORKS = {"MobileNetV2": {"alpha": 0.35}, "MobileNet": {"alpha": 0.25}}
COSTS = {
    "devices": {
        "iot": {"flops_per_second": 2.0e7},
        "edge": {"flops_per_second": 2.0e8},
        "cloud": {"flops_per_second": 2.0e10},
    },
    "links": {
        "iot->edge": {"bandwidth": 1.0e6, "latency_ms": 5.0},
        "edge->cloud": {"bandwidth": 2.0e6, "latency_ms": 30.0},
    },
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_searchs_fastest_design_is_the_brute_forces(tmp_path, name) -> None:
    args = {**NETWORKS[name], "input_shape": [32, 32, 3], "classes": 10}
    config = {
        "name": "classics",
        "topology": {
            "nodes": ["iot", "edge", "cloud"],
            "links": [["iot", "edge"], ["edge", "cloud"]],
            "failable": ["edge"],
            "reliability": {"no_failure": [1.0]},  # every survival 1
        },
        "dataset": {"name": "fashion_mnist", "image_size": 32, "channels": 3},
        "model": {"name": "keras", "source": f"keras.applications.{name}", "args": args,
                  "cut": {"iot": "Conv1" if name == "MobileNetV2" else "conv1", "edge": "conv_pw_1"
                          if name == "MobileNet" else "block_2_add"}},
        "variants": ["vanilla"],
        "costs": COSTS,
    }  # fmt: skip
    space = {"sampler": "grid", "asha": False, "minimise": ["latency_ms"],
             "dimensions": {"cut": "all", "skips": [[]]}}  # fmt: skip
    path = write(tmp_path, "space.yaml", space)
    loaded = load_config(write(tmp_path, "config.yaml", config))
    plan = plan_search(loaded, load_space(path), path, "config.yaml")
    fastest = min(plan.candidates, key=lambda c: c.costs["latency_ms"])
    network = getattr(keras.applications, name)(input_shape=(32, 32, 3), weights=None,
                                                classes=10, **NETWORKS[name])  # fmt: skip
    model = CostModel.from_config(loaded, "config.yaml")
    cut, latency = brute_force_chain(network, ("iot", "edge", "cloud"), model)
    assert len(plan.candidates) == len(plan.choices) > 100
    assert dict(fastest.design.cut) == cut
    assert fastest.costs["latency_ms"] == pytest.approx(latency, rel=1e-12)
