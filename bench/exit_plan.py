"""The exit models the benchmarks measure, and the exit sweep's FLOP floor.

Kept beside the benchmarks, not in ``sweeps/plan.py`` next to ``flop_ratio``: only the
benchmarks read it, and the sweep's modules are part of the training fingerprint.
"""

from __future__ import annotations

from typing import Any

from resilinet_cli.sweeps.exits import ExitPlan
from resilinet_cli.topology import Topology

EXIT_VARIANTS = ("vanilla+exits", "resilinet+exits")  # a head at every non-final node


def exit_plan_flops(
    plan: ExitPlan, topology: Topology, node_flops: dict[str, float], head_flops: dict[str, float]
) -> float:
    """FLOPs per example of what the exit sweep computes: every planned node output, and one
    head evaluation per planned head. The output node's head is the model's own output, inside
    its node, so it costs nothing more."""
    nodes = sum(node_flops[signature[0]] for signature in plan.nodes)
    heads = sum(head_flops[node] for node, _ in plan.heads if node != topology.output_node)
    return nodes + heads


def exit_flop_ratio(
    plan: ExitPlan, topology: Topology, node_flops: dict[str, float], head_flops: dict[str, float]
) -> float:
    """The exit sweep's FLOP floor: its plan's FLOPs over one clean pass, in which every node
    and every exit head runs once."""
    clean = sum(node_flops[node] for node in topology.nodes) + sum(head_flops.values())
    return exit_plan_flops(plan, topology, node_flops, head_flops) / clean


def with_exit_variants(config: Any) -> Any:
    """The config with vanilla+exits and resilinet+exits: a head at every non-final node."""
    exits = list(config.topology.nodes[:-1])
    spec = {name: {"exits": exits} for name in EXIT_VARIANTS}
    return config.with_overrides([f"techniques={spec}"])
