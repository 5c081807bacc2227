"""What a live answer can say about the failable nodes: which ones contributed.

The cloud learns a node's state only through the nodes between it and the cloud. A node that is
alive but whose every path to the cloud crosses a dead node cannot be told from a dead one, and
needs not be: a dead node sends zeros whatever it receives, so that node's output changes
nothing. The live ``contributed`` bit string therefore says *contributed* (1) or not (0), and the
sweep's prediction for it equals the prediction for the true dead set.
"""

from __future__ import annotations

from resilinet_cli.topology import Combination, Topology


def contributing(topology: Topology, combination: Combination) -> Combination:
    """The combination a live answer reports when the nodes of ``combination`` are alive."""
    alive = {n for n, a in zip(topology.failable, combination, strict=True) if a}
    up = set(topology.nodes) - set(topology.failable) | alive
    reaches = {topology.output_node}
    for node in reversed(topology.nodes):
        if node in up and any(k.dst in reaches for k in topology.links if k.src == node):
            reaches.add(node)
    return tuple(int(n in reaches) for n in topology.failable)
