"""What a live answer can say about the failable nodes: which ones contributed.

The cloud learns a node's state only through the nodes between it and the cloud. A node that is
alive but whose every path to the cloud crosses a dead node cannot be told from a dead one, and
needs not be: a dead node sends zeros whatever it receives, so that node's output changes
nothing. The live ``contributed`` bit string therefore says *contributed* (1) or not (0), and the
sweep's prediction for it equals the prediction for the true dead set. Likewise a standby
replica that is alive but not serving (its primary is) contributes nothing.
"""

from __future__ import annotations

from resilinet_cli.topology import Combination, Topology


def contributing(topology: Topology, combination: Combination) -> Combination:
    """The combination a live answer reports when the nodes (and replicas) of ``combination``
    are alive: over ``topology.alive_columns``; a replicated node's role contributes through
    the replica serving it (the first alive one), its other replicas not at all."""
    flags = dict(zip(topology.alive_columns, combination, strict=False))
    up = set(topology.nodes) - topology.dead_nodes(flags)
    reaches = {topology.output_node}
    for node in reversed(topology.nodes):
        if node in up and any(k.dst in reaches for k in topology.links if k.src == node):
            reaches.add(node)
    primary = dict(topology.replicas)
    return tuple(
        int(primary.get(c, c) in reaches and topology.serving(flags, primary.get(c, c)) == c)
        for c in topology.alive_columns
    )
