"""Each node's computation (compute.py), chained in one process, equals the sweep's simulation.

No processes here: the node sub-models are chained as the live runtime chains them (a dead
sender: None, its input zeros through the link), for every variant, so the Add merge of
deepFogGuard and ResiliNet+ and Vanilla's single links are covered as well as the mux.
"""

from __future__ import annotations

import numpy as np
import pytest

from resilinet_cli.live.compute import NodeCompute
from resilinet_cli.live.semantics import contributing
from resilinet_cli.sweeps.sweep import predict_combinations
from resilinet_cli.topology import Topology
from resilinet_cli.variants import variant_topology


def chained(computes: dict[str, NodeCompute], topology: Topology, combo, x) -> np.ndarray:
    alive = dict(zip(topology.failable, combo, strict=True))
    outputs: dict[str, np.ndarray | None] = {}
    for node in topology.nodes:
        if not alive.get(node, 1):
            outputs[node] = None
        elif node == topology.input_node:
            outputs[node] = computes[node].run_input(x)
        else:
            received = [outputs[s] for s in computes[node].senders]
            outputs[node] = computes[node].run(received, len(x))
    return outputs[topology.output_node]


@pytest.mark.parametrize("variant", ["vanilla", "deepfogguard", "resilinet", "resilinet_plus"])
def test_chained_nodes_equal_predict_combinations(trained, quick_config, digits, variant):
    model = trained[variant][0]
    topology = variant_topology(Topology.from_config(quick_config.topology), variant)
    computes = {n: NodeCompute(model, topology, n, max_rows=64) for n in topology.nodes}
    x = digits.x_test[:32]
    runnable = [c for c in topology.combinations() if topology.has_information_flow(c)]
    simulated = predict_combinations(model, topology, x, runnable)
    for combo in runnable:
        live = chained(computes, topology, combo, x)
        np.testing.assert_allclose(live, simulated[combo], atol=1e-5)
        assert (live.argmax(-1) == simulated[combo].argmax(-1)).all()
        # what a live answer reports predicts the same
        reported = contributing(topology, combo)
        np.testing.assert_allclose(simulated[reported], simulated[combo], atol=1e-6)


def test_contributing_hides_only_nodes_cut_off_from_the_cloud(health):
    assert contributing(health, (0, 0, 1)) == (0, 0, 0)  # edge feeds only fog2 and fog1
    assert contributing(health, (1, 0, 1)) == (1, 0, 1)  # edge -> fog1 -> cloud
    assert contributing(health, (0, 1, 0)) == (0, 1, 0)  # fog2 -> cloud
    vanilla = health.with_skips(())
    assert contributing(vanilla, (1, 0, 1)) == (1, 0, 0)  # the chain breaks at fog2
