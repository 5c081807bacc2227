"""Link failures in the sweep: flow, the shared plan, and a dead link against the slow path."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from reference_method import reference_model, reference_predictions, with_dead_links

from resilinet_cli.models.builder import build_from_config
from resilinet_cli.sweeps.plan import CUT, plan_sweep
from resilinet_cli.sweeps.sweep import predict_combinations
from resilinet_cli.topology import Topology
from resilinet_cli.variants import variant_topology

LINKS = ["edge->fog2", "iot->fog2"]  # fog2's chain input and its skip from the IoT node


@pytest.fixture(scope="module")
def linked_config(quick_config):
    """The session's trained-model config (tests/conftest.py) with failable links."""
    return quick_config.with_overrides([f"topology.failable_links=[{','.join(LINKS)}]"])


def test_combinations_cover_nodes_then_links(linked_config) -> None:
    topology = Topology.from_config(linked_config.topology)
    assert topology.columns == ("fog1", "fog2", "edge", *LINKS)
    assert len(topology.combinations()) == 2**5
    # both links into fog2 dead: only the edge -> fog1 skip is left
    assert topology.has_information_flow((1, 1, 1, 0, 0))
    assert not topology.has_information_flow((1, 1, 0, 0, 0))
    assert not topology.with_skips(()).has_information_flow((1, 1, 1, 0, 1))
    # a dead link weighs nothing under a reliability setting of the nodes alone
    assert topology.probability((1, 1, 1, 0, 1), (0.9, 0.9, 0.9)) == 0.0
    assert topology.probability((1, 1, 1, 1, 1), (0.9, 0.8, 0.7)) == 0.9 * 0.8 * 0.7


def test_a_dead_link_is_shared_with_its_dead_sender_under_the_mux(linked_config) -> None:
    topology = variant_topology(Topology.from_config(linked_config.topology), "resilinet")
    edge_dead, link_dead = (1, 1, 0, 1, 1), (1, 1, 1, 0, 1)
    plan = plan_sweep(topology, "mux", [edge_dead, link_dead])
    fog2 = Counter(signature for signature in plan.nodes if signature[0] == "fog2")
    assert len(fog2) == 1  # either way fog2 takes the IoT skip: computed once
    add = plan_sweep(topology, "add", [link_dead]).outputs[link_dead]
    cut = [s for s in _links(add) if s[:2] == ("edge", "fog2")]
    assert cut and cut[0][2] == CUT  # deepFogGuard's fog2 adds zeros for the dead chain link


def _links(signature):
    inputs = signature[1]
    found = []
    if inputs and inputs[0] != "zeros":
        for link in [inputs[1]] if inputs[0] == "one" else inputs[1]:
            found.append(link)
            if isinstance(link[2], tuple):
                found.extend(_links(link[2]))
    return found


@pytest.mark.parametrize("variant", ["vanilla", "deepfogguard", "resilinet"])
def test_dead_links_equal_masks_and_zeroed_inputs(
    linked_config, quick_config, digits, trained, variant
) -> None:
    model, family = trained[variant]  # trained without link flags: the same weights fit
    linked, _ = build_from_config(
        linked_config, variant, input_shape=digits.x_test.shape[1:],
        num_classes=digits.num_classes, seed=0,
    )  # fmt: skip
    linked.set_weights(model.get_weights())
    topology = variant_topology(Topology.from_config(linked_config.topology), variant)
    x = digits.x_test[:64]
    runnable = [c for c in topology.combinations() if topology.has_information_flow(c)]
    shared = predict_combinations(linked, topology, x, runnable)
    slow = reference_model(quick_config, variant, digits)
    copies = {}
    nodes = len(topology.failable)
    for combo in runnable:
        alive = np.tile(np.array(combo, "float32"), (len(x), 1))
        masked = linked.predict([x, alive], verbose=0, batch_size=len(x))
        dead = tuple(
            (k.src, k.dst)
            for k in topology.links
            if not dict(zip(LINKS, combo[nodes:], strict=True)).get(f"{k.src}->{k.dst}", 1)
        )  # fmt: skip (Vanilla has no IoT skip: its flag changes nothing)
        if dead not in copies:
            copies[dead] = with_dead_links(slow, dead)
        zeroed = reference_predictions(
            copies[dead], model, family, topology.failable, x, combo[:nodes]
        )
        np.testing.assert_allclose(shared[combo], masked, atol=1e-5, err_msg=f"{combo}")
        np.testing.assert_allclose(shared[combo], zeroed, atol=1e-5, err_msg=f"{combo}")
    if variant == "vanilla":  # its chain is cut: no flow, and its missing skip is inert
        assert (1, 1, 1, 0, 1) not in shared
        np.testing.assert_array_equal(shared[(1, 1, 1, 1, 0)], shared[(1, 1, 1, 1, 1)])
    else:  # a dead link changes what the model predicts (it is not ignored)
        assert not np.allclose(shared[(1, 1, 1, 1, 1)], shared[(1, 1, 1, 0, 1)], atol=1e-3)
