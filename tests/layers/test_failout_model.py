"""Failout drawn from a failure model: the dead sets it draws follow the model (within 4 sigma), and
without events it draws exactly what the paper's failout draws."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
import pandas as pd
import pytest
from paths import TOPOLOGIES

from resilinet_cli.config import read_yaml, validate_config
from resilinet_cli.errors import ConfigError
from resilinet_cli.failure_model import FailureModel
from resilinet_cli.layers import Failout

RACK = {
    "survival": {"fog1": 0.95, "fog2": 0.9, "edge": 0.8},
    "common_cause": [{"nodes": ["fog1", "fog2"], "probability": 0.15},
                     {"nodes": ["fog2", "edge"], "probability": 0.05}],
}  # fmt: skip
FAILABLE = ("fog1", "fog2", "edge")  # the Health topology's order


def health(**train: object) -> object:
    raw = {"name": "t", "topology": read_yaml(TOPOLOGIES / "health.yaml"),
           "dataset": {"name": "digits"}, "failure_models": {"rack": RACK},
           "train": train}  # fmt: skip
    return validate_config(raw, "t.yaml")


def test_per_example_draws_follow_the_failure_model_within_four_sigma() -> None:
    config = health()
    model = FailureModel.from_config(
        "rack", config.failure_models["rack"], ("fog1", "fog2", "edge")
    )
    assert_draws_follow(Failout(model.survival, "example", seed=3, events=model.events), model)


def assert_draws_follow(layer: Failout, model: FailureModel, n: int = 100_000) -> None:
    """Every combination's frequency over ``n`` per-example draws within 4 sigma of the model."""
    drawn = np.asarray(layer(np.ones((n, len(model.columns)), "float32"), training=True))
    counts = pd.Series(map(tuple, drawn.astype(int).tolist())).value_counts()
    for combo, p in model.probabilities().items():
        sigma = math.sqrt(p * (1 - p) / n)
        assert abs(counts.get(combo, 0) / n - p) <= 4 * sigma, (combo, counts.get(combo, 0) / n, p)


def test_link_failures_are_drawn_with_the_nodes_within_four_sigma() -> None:
    """As the builder draws them: the model's link survival after the nodes' in the rates."""
    raw = {"name": "t", "dataset": {"name": "digits"},
           "topology": read_yaml(TOPOLOGIES / "health.yaml") | {"failable_links": ["edge->fog2"]},
           "failure_models": {"flaky": RACK | {"links": {"edge->fog2": 0.7}}}}  # fmt: skip
    config = validate_config(raw, "t.yaml")
    model = FailureModel.from_config(
        "flaky", config.failure_models["flaky"], ("fog1", "fog2", "edge"), ["edge->fog2"]
    )
    assert model.columns == ("fog1", "fog2", "edge", "edge->fog2")
    rates = [*model.survival, *model.link_survival]
    assert_draws_follow(Failout(rates, "example", seed=4, events=model.events), model)


def test_per_batch_draws_one_dead_set_for_the_whole_batch() -> None:
    model = FailureModel.from_config(
        "rack", health().failure_models["rack"], ("fog1", "fog2", "edge")
    )
    layer = Failout(model.survival, "batch", seed=1, events=model.events)
    for _ in range(20):
        drawn = np.asarray(layer(np.ones((64, 3), "float32"), training=True))
        assert (drawn == drawn[0]).all()


SOLO = {"survival": {"edge": 0.7, "fog1": 0.9, "fog2": 0.8}}  # no events; not topology order
SOLO_RATES = (0.9, 0.8, 0.7)  # fog1, fog2, edge: the Health topology's failable order


@pytest.mark.parametrize("granularity", ["batch", "example"])
def test_without_events_the_draws_are_the_papers(granularity: str) -> None:
    """A failure model of survival only must draw what the paper's failout draws, draw for draw,
    or runs trained before failure models existed would not train the same.

    The paper's draw is stated here on its own: per call, one uniform per row and node from a
    stream seeded like the layer's, and a node is kept where it falls below its survival.
    """
    raw = {"name": "t", "topology": read_yaml(TOPOLOGIES / "health.yaml"),
           "dataset": {"name": "digits"}, "failure_models": {"solo": SOLO}}  # fmt: skip
    config = validate_config(raw, "t.yaml")
    model = FailureModel.from_config("solo", config.failure_models["solo"], FAILABLE)
    assert model.events == () and model.survival == SOLO_RATES
    layer = Failout(model.survival, granularity, seed=5, events=model.events)
    stream = keras.random.SeedGenerator(5)
    n = 20_000
    rows = 1 if granularity == "batch" else n
    alive = np.ones((n, len(FAILABLE)), "float32")
    drawn = []
    for _ in range(3):
        uniform = np.asarray(keras.random.uniform((rows, len(FAILABLE)), seed=stream))
        papers = np.broadcast_to(uniform < np.array(SOLO_RATES), alive.shape).astype("float32")
        got = np.asarray(layer(alive, training=True))
        np.testing.assert_array_equal(got, papers)
        drawn.append(got)
    if granularity == "example":  # and the paper's draws are independent Bernoulli per node
        assert_independent(np.concatenate(drawn), SOLO_RATES)


def assert_independent(drawn: np.ndarray, rates: tuple[float, ...]) -> None:
    """Each dead set's frequency within 4 sigma of the product of per-node Bernoulli(rate)."""
    n = len(drawn)
    counts = pd.Series(map(tuple, drawn.astype(int).tolist())).value_counts()
    for combo in itertools.product((0, 1), repeat=len(rates)):
        p = math.prod(r if up else 1 - r for up, r in zip(combo, rates, strict=True))
        sigma = math.sqrt(p * (1 - p) / n)
        assert abs(counts.get(combo, 0) / n - p) <= 4 * sigma, (combo, counts.get(combo, 0) / n, p)


def test_the_failout_model_is_part_of_the_config_hash_and_must_exist() -> None:
    independent, drawn = health(), health(failout={"model": "rack"})
    assert independent.digest() != drawn.digest()
    assert "model" not in independent.to_dict()["train"]["failout"]
    with pytest.raises(ConfigError, match=r"train\.failout\.model: unknown failure model 'rak'"):
        health(failout={"model": "rak"})
