"""What the failure sweep must compute: each node's output once per distinct input.

A failure upstream of a node changes what reaches it; a failure downstream does not. So under
every combination, each node's output is named by a *signature*: the node and the signatures of
the inputs that reach it. Combinations that give a node the same signature share its output:
the IoT node runs once, the edge once, a fog node once per distinct (chosen) sender, and so on.
This module is pure Python; ``sweep.py`` runs the plan with TensorFlow (``run_plan``).

Signatures (nested tuples, hashable):

- node:  ``(node, inputs)``; the input node's (and each device's) ``inputs`` is ``()``;
- inputs: ``("one", link)`` for a single input or the mux's choice; ``("add", (link, ...))``
  for an Add merge; ``("zeros",)`` when a mux has no live sender (it then outputs zeros);
  ``("agg", (link, ...))`` for a hub aggregating its devices (topology.aggregate);
- link:  ``(src, dst, sender)`` with ``sender`` the sender's node signature, ``None`` when
  the sender is dead and sends zeros, or ``CUT`` when the (failable) link itself is dead and
  its receiver gets zeros; a mux skips both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from resilinet_cli.topology import Combination, Link, Topology, link_name

Signature = tuple[Any, ...]
MERGES = ("add", "mux")
CUT = "cut"  # a dead link's sender in a link signature
AGGREGATE = "agg"  # a hub's inputs: every device link, aggregated


@dataclass(frozen=True)
class SweepPlan:
    """Output signature of each runnable combination, and every distinct node output needed."""

    outputs: dict[Combination, Signature]
    nodes: tuple[Signature, ...]  # distinct node signatures, each after its inputs

    def distinct_outputs(self) -> list[Signature]:
        """The output node's distinct signatures: one prediction pass each."""
        return list(dict.fromkeys(self.outputs.values()))


def node_signature(
    topology: Topology, merge: str, combination: Combination, node: str
) -> Signature | None:
    """The signature of ``node``'s output under ``combination``; None if the node is dead."""
    if merge not in MERGES:
        raise ValueError(f"merge must be one of {MERGES}. Received: merge={merge!r}")
    alive = dict(zip(topology.columns, combination, strict=True))
    memo: dict[str, Signature | None] = {}

    def sent(name: str) -> Signature | None:
        if name not in memo:
            memo[name] = None if alive.get(name, 1) == 0 else (name, inputs(name))
        return memo[name]

    def up(k: Link) -> bool:
        return alive.get(link_name(k.src, k.dst), 1) == 1

    def link(k: Link) -> Signature:
        return (k.src, k.dst, sent(k.src) if up(k) else CUT)

    def inputs(name: str) -> Signature:
        if name in topology.sources:
            return ()
        links = topology.incoming(name)
        if topology.fan_in and name == topology.input_node:
            return (AGGREGATE, tuple(link(k) for k in links))
        if len(links) == 1:
            return ("one", link(links[0]))
        if merge == "add":
            return ("add", tuple(link(k) for k in links))
        for k in links:  # the mux takes the first input, in priority order, that carries data
            if up(k) and sent(k.src) is not None:
                return ("one", link(k))
        return ("zeros",)

    return sent(node)


def plan_sweep(topology: Topology, merge: str, combinations: Iterable[Combination]) -> SweepPlan:
    """The shared-work plan for the given (runnable) combinations of ``topology``."""
    outputs: dict[Combination, Signature] = {}
    ordered: dict[Signature, None] = {}
    for combination in combinations:
        signature = node_signature(topology, merge, combination, topology.output_node)
        if signature is None:
            raise ValueError(f"the output node {topology.output_node!r} never fails")
        outputs[combination] = signature
        for needed in dependencies(signature):
            ordered.setdefault(needed, None)
    return SweepPlan(outputs, tuple(ordered))


def dependencies(signature: Signature) -> list[Signature]:
    """Every node signature ``signature`` depends on, itself last (inputs before users)."""
    found: list[Signature] = []
    for link in input_links(signature):
        if link[2] is not None and link[2] != CUT:
            found.extend(dependencies(link[2]))
    found.append(signature)
    return found


def input_links(signature: Signature) -> tuple[Signature, ...]:
    """The link signatures feeding a node signature."""
    inputs = signature[1]
    if not inputs or inputs[0] == "zeros":
        return ()
    if inputs[0] == "one":
        return (inputs[1],)
    return tuple(inputs[1])


def flop_ratio(plan: SweepPlan, topology: Topology, node_flops: dict[str, float]) -> float:
    """FLOPs of the plan over FLOPs of one clean pass (each node once), from per-node FLOPs.

    This is the sweep's FLOP floor: no correct sweep can compute less than every node once per
    distinct input that reaches it. Link projections are left out on both sides (they are
    small, and a clean pass runs each once too).
    """
    clean = sum(node_flops[node] for node in topology.nodes)
    needed = sum(node_flops[signature[0]] for signature in plan.nodes)
    return needed / clean
