"""Failure models beyond independent node crashes: the probability of every failure combination.

The paper gives each failable node a survival probability and lets nodes fail independently
(docs/method.md §6). A failure model (docs/evaluation.md, "Failure models") may add:

- ``common_cause`` events: each happens independently with its probability and kills every
  node it lists at once (two fog servers on one rack, power feed or uplink);
- ``links``: a link survives independently with its probability;
- or, instead of all of these, a ``joint`` table of measured combination probabilities.

A node is alive exactly when it survives on its own and no event that covers it happens; a link
carries data exactly when it survives and its sender is alive. A standby replica (``edge_r2``,
docs/variants.md §7) is named like a node; where a model does not name it, it survives on its
own with its primary's survival and no event covers it. A combination lists the failable
nodes' flags (topology order), then the model's links' flags (the order the model lists them).
The paper's reliability settings are the models with survival only; their probabilities are the
same product as before (``topology.probability``), so their numbers do not change.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from resilinet_cli.topology import LINK_ARROW, Combination, probability


@dataclass(frozen=True)
class FailureModel:
    """A named distribution over failure combinations of one topology's failable nodes."""

    name: str
    failable: tuple[str, ...]
    survival: tuple[float, ...]  # per failable node, on its own
    events: tuple[tuple[tuple[int, ...], float], ...] = ()  # (node indices, probability)
    links: tuple[str, ...] = ()  # "src->dst", in combination order after the nodes
    link_survival: tuple[float, ...] = ()
    joint: Mapping[Combination, float] | None = field(default=None, compare=False)

    @classmethod
    def independent(
        cls, name: str, failable: Sequence[str], reliability: Sequence[float]
    ) -> FailureModel:
        """A paper reliability setting: independent node failures, nothing else."""
        return cls(name, tuple(failable), tuple(float(r) for r in reliability))

    @classmethod
    def from_config(
        cls,
        name: str,
        config: Any,
        failable: Sequence[str],
        failable_links: Sequence[str] = (),
        replicas: Sequence[tuple[str, str]] = (),
    ) -> FailureModel:
        """The model of a validated ``FailureModelConfig`` for these failable nodes, and the
        standby ``replicas`` ((column, primary) pairs) of any variant the config defines.

        A joint table's bit strings cover the nodes (replicas included), or those then
        ``failable_links``.
        """
        primary = dict(replicas)
        failable = (*failable, *primary)
        if config.joint is not None:
            joint = {tuple(int(bit) for bit in key): float(p) for key, p in config.joint.items()}
            links = tuple(failable_links) if len(next(iter(config.joint))) > len(failable) else ()
            return cls(name, failable, (1.0,) * len(failable), links=links, joint=joint)
        index = {node: i for i, node in enumerate(failable)}
        events = tuple(
            (tuple(sorted(index[node] for node in set(event.nodes))), float(event.probability))
            for event in config.common_cause
        )
        return cls(
            name,
            failable,
            tuple(
                float(config.survival.get(node, config.survival.get(primary.get(node, ""), 1.0)))
                for node in failable
            ),
            events,
            tuple(config.links),
            tuple(float(p) for p in config.links.values()),
        )

    @property
    def is_independent(self) -> bool:
        """Only independent node failures: what the paper's settings and estimators assume."""
        return self.joint is None and not self.events and not self.links

    @property
    def columns(self) -> tuple[str, ...]:
        """The flags of a combination: failable nodes, then links."""
        return (*self.failable, *self.links)

    def for_nodes(self, nodes: Sequence[str], primary: Mapping[str, str]) -> FailureModel:
        """The model over exactly these node columns (a variant's failable nodes and replicas).

        A replica the model has but ``nodes`` lacks is summed out (its events keep their other
        nodes); one it lacks takes its ``primary``'s survival, independently.
        """
        nodes = tuple(nodes)
        if nodes == self.failable:
            return self
        if self.joint is not None:
            if not set(nodes) <= set(self.failable):
                missing = ", ".join(sorted(set(nodes) - set(self.failable)))
                raise ValueError(
                    f"failure model {self.name!r}'s joint table has no bit for {missing}"
                )
            keep = [self.failable.index(node) for node in nodes]
            tail = range(len(self.failable), len(self.columns))
            joint: dict[Combination, float] = {}
            for combo, p in self.joint.items():
                key = tuple(combo[i] for i in [*keep, *tail])
                joint[key] = joint.get(key, 0.0) + p
            return replace(self, failable=nodes, survival=(1.0,) * len(nodes), joint=joint)
        own = dict(zip(self.failable, self.survival, strict=True))
        survival = tuple(own[node] if node in own else own[primary[node]] for node in nodes)
        index = {node: i for i, node in enumerate(nodes)}
        events = []
        for members, p in self.events:
            kept = tuple(
                sorted(index[self.failable[i]] for i in members if self.failable[i] in index)
            )
            if kept:
                events.append((kept, p))
        return replace(self, failable=nodes, survival=survival, events=tuple(events))

    def probability(self, combination: Combination) -> float:
        """P(combination): nodes (and links) alive exactly as the flags say."""
        if self.joint is not None:
            return self.joint.get(tuple(combination), 0.0)
        nodes = combination[: len(self.failable)]
        links = combination[len(self.failable) :]
        p_links = probability(links, self.link_survival) if self.links else 1.0
        if not self.events:
            return probability(nodes, self.survival) * p_links
        total = 0.0
        for happened in itertools.product((0, 1), repeat=len(self.events)):
            pairs = list(zip(self.events, happened, strict=True))
            covered = {i for (members, _), h in pairs if h for i in members}
            if any(nodes[i] for i in covered):
                continue  # a node an event killed cannot be alive
            weight = math.prod(p if h else 1.0 - p for (_, p), h in pairs)
            for i, (alive, r) in enumerate(zip(nodes, self.survival, strict=True)):
                if i not in covered:
                    weight *= r if alive else 1.0 - r
            total += weight
        return total * p_links

    def combinations(self) -> list[Combination]:
        """Every combination of nodes and links, index i = binary i (MSB first)."""
        return list(itertools.product((0, 1), repeat=len(self.columns)))

    def probabilities(self) -> dict[Combination, float]:
        return {combo: self.probability(combo) for combo in self.combinations()}

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` combinations drawn from the model: [size, nodes + links] of 0/1 (uint8)."""
        if self.joint is not None:
            combos = list(self.joint)
            weights = np.array([self.joint[c] for c in combos])
            picks = rng.choice(len(combos), size=size, p=weights / weights.sum())
            return np.array(combos, dtype=np.uint8)[picks]
        alive = rng.random((size, len(self.failable))) < np.array(self.survival)
        for members, p in self.events:
            happened = rng.random(size) < p
            alive[np.ix_(happened, list(members))] = False
        links = rng.random((size, len(self.links))) < np.array(self.link_survival)
        return np.concatenate([alive, links], axis=1).astype(np.uint8)

    def weighted(self, combinations: Any) -> float:
        """Σ_c P(c)·acc(c) over a unit's combinations table (docs/method.md §6.3).

        Exact. A model with links needs the table's link columns, which a sweep writes for the
        topology's ``failable_links``; a failable link the model does not name always carries
        data under it, so only the rows where it is up count.
        """
        missing = [column for column in self.columns if column not in combinations.columns]
        if missing:
            raise ValueError(f"the combinations table has no column for {', '.join(missing)}")
        always_up = [c for c in combinations.columns if LINK_ARROW in c and c not in self.columns]
        if always_up:
            combinations = combinations[(combinations[always_up] == 1).all(axis=1)]
        flags = combinations[list(self.columns)].to_numpy(dtype=int)
        accuracy = combinations["accuracy"].to_numpy(dtype=float)
        rows = zip(flags.tolist(), accuracy, strict=True)
        return sum(self.probability(tuple(row)) * acc for row, acc in rows)


def configured(config: Any) -> list[FailureModel]:
    """The failure models an experiment config names (``failure_models:``), in its order, over
    its failable nodes and the standby replicas of every variant it defines."""
    topology, replicas = config.topology, config.replica_columns()
    return [
        FailureModel.from_config(name, model, topology.failable, topology.failable_links, replicas)
        for name, model in config.failure_models.items()
    ]
