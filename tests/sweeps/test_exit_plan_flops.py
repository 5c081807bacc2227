"""The exit sweep's FLOP floor (bench/exit_plan.py) against sums worked out by hand.

Health topology (iot -> edge -> fog2 -> fog1 -> cloud; ResiliNet's skips iot->fog2, edge->fog1,
fog2->cloud; its mux prefers the chain link), exits at every non-final node, every combination.
Per-node and per-head FLOPs are plain numbers, one decimal digit per node, so each sum below
reads as "how many times each node (head) runs".
"""

from __future__ import annotations

import pytest

from bench.common import CONFIGS
from bench.exit_plan import exit_flop_ratio, exit_plan_flops
from resilinet_cli.config import load_config
from resilinet_cli.sweeps.exits import plan_exits
from resilinet_cli.variants import topology_of

EXITS = ["iot", "edge", "fog2", "fog1"]
NODE_FLOPS = {"iot": 1.0, "edge": 10.0, "fog2": 100.0, "fog1": 1_000.0, "cloud": 10_000.0}
HEAD_FLOPS = {"iot": 2.0, "edge": 20.0, "fog2": 200.0, "fog1": 2_000.0}
CLEAN = 11_111 + 2_222  # every node once, every exit head once

# ResiliNet, by hand, the nodes reached under each combination (fog1, fog2, edge); F2(x) is
# fog2 on x's output, and so on:
#   (0,0,0) iot                    (1,0,0) iot (fog1 gets zeros: unreached)
#   (0,0,1) iot E                  (1,0,1) iot E F1(E) C(F1(E))
#   (0,1,0) iot F2(iot) C(F2(iot)) (1,1,0) iot F2(iot) F1(F2(iot)) C(F1(F2(iot)))
#   (0,1,1) iot E F2(E) C(F2(E))   (1,1,1) iot E F2(E) F1(F2(E)) C(F1(F2(E)))
# Distinct: iot 1, edge 1, fog2 2, fog1 3, cloud 5; one head per distinct non-final output,
# the cloud's head being its own output.
RESILINET_NODES = 1 * 1 + 1 * 10 + 2 * 100 + 3 * 1_000 + 5 * 10_000
RESILINET_HEADS = 1 * 2 + 1 * 20 + 2 * 200 + 3 * 2_000


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        # Vanilla: a node is reached only with everything upstream alive, so each node and
        # each head runs once, as in a clean pass: the floor is 1.
        ("vanilla", CLEAN),
        ("resilinet", RESILINET_NODES + RESILINET_HEADS),
    ],
)
def test_exit_plan_flops_equal_the_sum_by_hand(variant: str, expected: int) -> None:
    topology = topology_of(load_config(CONFIGS / "health.yaml"), variant)
    plan = plan_exits(topology, "mux", EXITS, topology.combinations())
    assert exit_plan_flops(plan, topology, NODE_FLOPS, HEAD_FLOPS) == expected
    assert exit_flop_ratio(plan, topology, NODE_FLOPS, HEAD_FLOPS) == pytest.approx(
        expected / CLEAN
    )


def test_only_the_listed_exits_heads_count() -> None:
    """Only the edge has a head: it runs once (the edge always sees the IoT output)."""
    topology = topology_of(load_config(CONFIGS / "health.yaml"), "resilinet")
    plan = plan_exits(topology, "mux", ["edge"], topology.combinations())
    heads = {"edge": 20.0}
    # edge's own ancestors: iot 1, edge 1; the output's: fog2 2, fog1 3, cloud 5 as above
    assert exit_plan_flops(plan, topology, NODE_FLOPS, heads) == RESILINET_NODES + 20
    assert exit_flop_ratio(plan, topology, NODE_FLOPS, heads) == pytest.approx(
        (RESILINET_NODES + 20) / (11_111 + 20)
    )
