"""The estimators for many failable nodes: most-likely-first enumeration, bounded, Monte Carlo.

Exact oracles come from enumerating every combination of small topologies: per-combination
accuracies tabulated (at random, or from a real tiny model's hits per example), so the
estimators are checked against the exhaustive value without mocking any of our code paths.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resilinet_cli.config import TopologyConfig, validate_config
from resilinet_cli.config.generate import chain_mapping, chain_topology
from resilinet_cli.estimate.bounded import bounded_accuracy, exact_part
from resilinet_cli.estimate.enumeration import (
    by_probability,
    combination_keys,
    flow_mask,
    nonzero_count,
)
from resilinet_cli.estimate.methods import (
    EstimateOptions,
    bounded_count,
    choose_method,
    estimate_weighted,
    flow_count,
    stratum_threshold,
)
from resilinet_cli.estimate.montecarlo import monte_carlo_accuracy
from resilinet_cli.topology import Combination, Topology, topology_problems

GUESS = 0.1


# -- helpers -----------------------------------------------------------------------------------


def exhaustive(topology: Topology, reliability, accuracy: dict[Combination, float]) -> float:
    """Σ_c P(c)·acc(c) over all 2^N combinations (the guess where nothing flows)."""
    return math.fsum(
        topology.probability(c, reliability)
        * (accuracy[c] if topology.has_information_flow(c) else GUESS)
        for c in topology.combinations()
    )


class Table:
    """Tabulated hits [combination, example]: an accuracy source and a per-sample scorer."""

    def __init__(self, topology: Topology, hits: dict[Combination, np.ndarray]) -> None:
        self.combos = topology.combinations()
        keys = combination_keys(np.array(self.combos, dtype=np.uint8))
        self.row = {int(key): i for i, key in enumerate(keys)}
        width = len(next(iter(hits.values())))
        self.hits = np.stack([hits.get(c, np.zeros(width, dtype=np.uint8)) for c in self.combos])
        self.asked: list[Combination] = []

    def __call__(self, combinations) -> dict[Combination, float]:
        self.asked += combinations
        return {c: float(self.hits[self.combos.index(c)].mean()) for c in combinations}

    def seconds_per_combination(self) -> float:
        return 0.01

    def score(self, examples: np.ndarray, alive: np.ndarray) -> np.ndarray:
        rows = [self.row[int(k)] for k in combination_keys(alive.astype(np.uint8))]
        return self.hits[rows, examples]

    def accuracy(self) -> dict[Combination, float]:
        return {c: float(self.hits[i].mean()) for i, c in enumerate(self.combos)}


@st.composite
def topologies(draw: st.DrawFn) -> Topology:
    """A random valid topology: a chain of 1-6 middle nodes, random skips, failable nodes and
    up to 3 failable links."""
    middle = draw(st.integers(1, 6))
    nodes = ["in", *(f"n{k}" for k in range(1, middle + 1)), "out"]
    links = [list(pair) for pair in itertools.pairwise(nodes)]
    candidates = [[a, b] for i, a in enumerate(nodes) for b in nodes[i + 2 :]]
    skips = draw(st.lists(st.sampled_from(candidates), unique_by=tuple, max_size=5))
    failable = draw(
        st.lists(st.sampled_from(nodes[1:-1]), min_size=1, unique=True, max_size=middle)
    )
    names = [f"{a}->{b}" for a, b in [*links, *skips]]
    failable_links = draw(st.lists(st.sampled_from(names), unique=True, max_size=3))
    config = TopologyConfig(
        nodes=nodes,
        links=links,
        skips=skips,
        failable=failable,
        failable_links=failable_links,
        reliability={"x": [0.5] * len(failable)},
    )
    assert topology_problems(config) == []
    return Topology.from_config(config)


survivals = st.floats(0.01, 0.99)


# -- most likely first -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(survivals, min_size=1, max_size=9))
def test_best_first_is_ordered_and_covers_every_combination_once(reliability) -> None:
    listed = list(by_probability(reliability))
    probabilities = [p for _, p in listed]
    assert all(a >= b * (1 - 1e-9) for a, b in itertools.pairwise(probabilities))
    combos = [c for c, _ in listed]
    assert len(combos) == len(set(combos)) == 2 ** len(reliability)
    topology = chain_topology(len(reliability))
    for combo, probability in listed:
        assert probability == pytest.approx(topology.probability(combo, reliability), rel=1e-12)
    assert math.fsum(probabilities) == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0]), min_size=1, max_size=8))
def test_certain_nodes_never_flip(reliability) -> None:
    listed = list(by_probability(reliability))
    assert len(listed) == nonzero_count(reliability)
    assert all(p > 0 for _, p in listed)
    assert math.fsum(p for _, p in listed) == pytest.approx(1.0, abs=1e-12)


def test_best_first_does_not_enumerate_everything() -> None:
    """The 1000 most likely of 2^40 combinations come at once, lazily."""
    first = list(itertools.islice(by_probability([0.9] * 40), 1000))
    assert first[0] == ((1,) * 40, pytest.approx(0.9**40))
    assert sum(1 for combo, _ in first if sum(combo) == 39) == 40  # every single failure


@settings(max_examples=40, deadline=None)
@given(topologies())
def test_vectorised_flow_equals_the_graph_test(topology: Topology) -> None:
    combos = topology.combinations()
    flows = flow_mask(topology, np.array(combos, dtype=np.uint8))
    assert flows.tolist() == [topology.has_information_flow(c) for c in combos]


# -- bounded -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topologies(), st.data(), st.floats(0.0, 0.6))
def test_bounded_brackets_the_exhaustive_value(topology: Topology, data, tolerance) -> None:
    n = len(topology.columns)  # survival of each failable node, then of each failable link
    reliability = data.draw(st.lists(survivals, min_size=n, max_size=n))
    accuracy = {c: data.draw(st.floats(0.0, 1.0)) for c in topology.combinations()}
    exact = exhaustive(topology, reliability, accuracy)
    asked: list[Combination] = []

    def accuracy_of(combinations):
        assert all(topology.has_information_flow(c) for c in combinations)
        asked.extend(combinations)
        return {c: accuracy[c] for c in combinations}

    interval = bounded_accuracy(topology, reliability, accuracy_of, GUESS, tolerance=tolerance)
    assert interval.lower - 1e-12 <= exact <= interval.upper + 1e-12
    assert interval.width < tolerance or (tolerance == 0 and interval.width == 0)
    assert len(asked) == len(set(asked))  # no combination is evaluated twice
    assert len(asked) == sum(map(topology.has_information_flow, asked))
    full = bounded_accuracy(topology, reliability, accuracy_of, GUESS, tolerance=0.0)
    assert full.lower == full.upper == pytest.approx(exact, abs=1e-12)
    assert full.combinations == 2**n


def test_bounded_stops_at_its_count_cap_with_a_valid_wider_interval() -> None:
    topology = chain_topology(10)
    reliability = topology.reliability["hazardous"]
    accuracy = {c: sum(c) / 10 for c in topology.combinations()}
    exact = exhaustive(topology, reliability, accuracy)

    def accuracy_of(combinations):
        return {c: accuracy[c] for c in combinations}

    capped = bounded_accuracy(
        topology, reliability, accuracy_of, GUESS, tolerance=1e-6, max_flow=20
    )
    assert not capped.target_met and capped.width > 1e-6
    assert capped.lower <= exact <= capped.upper
    assert sum(topology.has_information_flow(c) for c, _ in itertools.islice(
        by_probability(reliability), capped.combinations
    )) == 20  # fmt: skip


# -- method choice -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exhaustive_count", "bounded_count_", "budget", "method"),
    [
        (55, 20, 1.0, "exhaustive"),  # 55 x 0.01 s fits
        (55, 20, 0.3, "bounded"),
        (55, 20, 0.1, "montecarlo"),
        (None, 20, 1.0, "bounded"),  # too many to count: never exhaustive
        (None, None, 1e9, "montecarlo"),
    ],
)
def test_the_first_method_that_fits_the_budget_is_chosen(
    exhaustive_count, bounded_count_, budget, method
) -> None:
    chosen = choose_method(
        exhaustive=exhaustive_count, bounded=bounded_count_, seconds=0.01, budget=budget
    )
    assert chosen == method


def test_the_counts_behind_the_choice() -> None:
    topology = chain_topology(8)
    reliability = topology.reliability["normal"]
    assert flow_count(topology, reliability) == 55  # Fibonacci: no two neighbours dead
    assert flow_count(topology, topology.reliability["no_failure"]) == 1
    assert flow_count(chain_topology(24), [0.9] * 24) is None
    needed = bounded_count(topology, reliability, 0.01, math.inf)
    walked = list(itertools.islice(by_probability(reliability), 200))
    mass, count = 0.0, 0
    for combo, probability in walked:
        if 1 - mass < 0.01:
            break
        mass += probability
        count += topology.has_information_flow(combo)
    assert needed == count
    assert bounded_count(topology, reliability, 0.01, needed - 1) is None


def test_a_combination_joins_the_stratum_only_if_it_saves_more_than_it_costs() -> None:
    # 95%, sd 0.5, h 0.005: n = 38416 m^2 samples; at 10 us each a combination of
    # probability p saves 2 * 38416 * p * 1e-5 s = 0.77 p s.
    costly = stratum_threshold(
        per_combination=1.0, per_sample=1e-5, sd=0.5, tail=1.0, half_width=0.005
    )
    assert costly == pytest.approx(1 / 0.768, rel=1e-3)  # above 1: no combination is worth it
    cheap = stratum_threshold(
        per_combination=1e-4, per_sample=1e-5, sd=0.5, tail=1.0, half_width=0.005
    )
    assert cheap == pytest.approx(1e-4 / 0.768, rel=1e-3)


def test_monte_carlo_samples_nothing_when_the_stratum_is_tight_enough() -> None:
    topology = chain_topology(4)
    reliability = [0.999] * 4
    accuracy = {c: 0.5 for c in topology.combinations()}

    def accuracy_of(combinations):
        return {c: accuracy[c] for c in combinations}

    stratum = exact_part(topology, reliability, accuracy_of, GUESS, max_flow=5)
    assert stratum.remaining < 0.01

    def scorer(examples, alive):
        raise AssertionError("no sample is needed")

    interval = monte_carlo_accuracy(
        topology, reliability, scorer, stratum, test_size=10, guess=GUESS, half_width=0.005, seed=0
    )
    assert interval.samples == 0 and interval.confidence is None
    assert interval.lower == stratum.value and interval.upper == stratum.value + stratum.remaining


def test_auto_picks_by_budget_and_each_method_brackets_the_exact_value() -> None:
    topology = chain_topology(8)
    rng = np.random.default_rng(0)
    hits = {c: (rng.random(300) < sum(c) / 8).astype(np.uint8) for c in topology.combinations()}
    table = Table(topology, hits)
    reliability = topology.reliability["poor"]
    exact = exhaustive(topology, reliability, table.accuracy())

    def run(**options: object):
        return estimate_weighted(
            topology,
            reliability,
            table,
            lambda: table.score,
            guess=GUESS,
            test_size=300,
            options=EstimateOptions(seed=1, **options),
        )

    everything = run(budget=1e6)
    assert everything.method == "exhaustive" and everything.estimate == pytest.approx(exact)
    bounded = run(method="bounded", tolerance=0.05)
    assert bounded.method == "bounded" and bounded.lower <= exact <= bounded.upper
    assert bounded.width < 0.05 and bounded.confidence is None
    sampled = run(method="montecarlo", half_width=0.01)
    assert sampled.method == "montecarlo" and sampled.samples >= 2000
    assert sampled.upper - sampled.lower <= 0.02 + 1e-12 and sampled.confidence == 0.95
    assert abs(sampled.estimate - exact) < 0.03
    # 8 combinations (the probe) at 0.01 s each use up a budget of 0.05 s: sampling is left.
    assert run(budget=0.05).method == "montecarlo"
    certain = estimate_weighted(
        topology,
        topology.reliability["no_failure"],
        table,
        lambda: table.score,
        guess=GUESS,
        test_size=300,
        options=EstimateOptions(budget=0.05),
    )
    assert certain.method == "exhaustive" and certain.combinations == 1
    assert certain.estimate == table.accuracy()[(1,) * 8]


def test_monte_carlo_with_failable_links_covers_the_exact_value_for_most_seeds() -> None:
    mapping = chain_mapping(4) | {"failable_links": ["fog1->fog2", "fog2->fog4"]}
    topology = Topology.from_mapping(mapping)
    reliability = (0.6, 0.7, 0.5, 0.8, 0.7, 0.6)  # four fogs, then the two links
    rng = np.random.default_rng(1)
    hits = {
        c: (rng.random(300) < rng.uniform(0.2, 0.9)).astype(np.uint8)
        for c in topology.combinations()
        if topology.has_information_flow(c)
    }
    table = Table(topology, hits)
    exact = exhaustive(topology, reliability, table.accuracy())
    bounded = bounded_accuracy(topology, reliability, table, GUESS, tolerance=0.05)
    assert bounded.lower - 1e-12 <= exact <= bounded.upper + 1e-12
    stratum = exact_part(topology, reliability, table, GUESS, max_flow=3)
    assert stratum.remaining > 0.5  # most of the mass is left to the samples
    covered = 0
    for seed in range(40):
        interval = monte_carlo_accuracy(
            topology, reliability, table.score, stratum,
            test_size=300, guess=GUESS, half_width=0.02, seed=seed,
        )  # fmt: skip
        covered += interval.lower <= exact <= interval.upper
    assert covered >= 34  # a 95 % interval: 38 of 40 expected


# -- Monte Carlo on a real tiny model ----------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    """A ResiliNet MLP on a chain of 5 fog nodes, trained briefly on digits, and its hits."""
    from resilinet_cli.data import load_splits
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.sweeps.sweep import predict_combinations
    from resilinet_cli.training.fit import set_seeds, train_model
    from resilinet_cli.training.inputs import build_inputs
    from resilinet_cli.variants import variant_topology

    layers = {f"fog{k}": 1 for k in range(1, 6)} | {"cloud": 1}
    raw = {
        "name": "tiny",
        "dataset": {"name": "digits", "subset": {"train": 600, "test": 200}},
        "topology": chain_mapping(5),
        "model": {"name": "mlp", "hidden_units": 32, "layers_per_node": layers},
        "train": {"epochs": 3, "batch_size": 64, "failout": {"survival": 0.8}},
    }
    config = validate_config(raw, "tiny")
    splits = load_splits(config.dataset)
    inputs = build_inputs(splits, config, 5, seed=0)
    set_seeds(0)
    model, _ = build_from_config(
        config, "resilinet", input_shape=inputs.input_shape, num_classes=10, seed=0
    )
    train_model(
        model,
        inputs.train_epoch,
        inputs.val,
        epochs=3,
        seed=0,
        work_dir=tmp_path_factory.mktemp("t"),
        verbose=0,
    )
    topology = variant_topology(Topology.from_config(config.topology), "resilinet")
    flows = [c for c in topology.combinations() if topology.has_information_flow(c)]
    outputs = predict_combinations(model, topology, splits.x_test, flows)
    hits = {c: (out.argmax(-1) == splits.y_test).astype(np.uint8) for c, out in outputs.items()}
    return model, topology, inputs, splits, Table(topology, hits)


def test_the_monte_carlo_interval_covers_the_exact_value_for_most_seeds(tiny) -> None:
    _, topology, _, splits, table = tiny
    reliability = topology.reliability["hazardous"]
    exact = exhaustive(topology, reliability, table.accuracy())
    stratum = exact_part(topology, reliability, table, GUESS, max_flow=3)
    assert 0.3 < stratum.remaining < 0.8
    covered, widths = 0, []
    for seed in range(100):
        interval = monte_carlo_accuracy(
            topology,
            reliability,
            table.score,
            stratum,
            test_size=len(splits.y_test),
            guess=GUESS,
            half_width=0.02,
            seed=seed,
        )
        covered += interval.lower <= exact <= interval.upper
        widths.append(interval.width)
        assert interval.target_met and interval.samples >= 2000
    assert covered >= 90
    assert max(widths) <= 0.04 + 1e-12


def test_the_model_scorers_agree_with_the_shared_sweep(tiny) -> None:
    from resilinet_cli.sweeps.scoring import CombinationAccuracy, ExampleScorer
    from resilinet_cli.sweeps.sweep import sweep, weighted_accuracy

    model, topology, inputs, splits, table = tiny
    source = CombinationAccuracy(model, topology, inputs.test, inputs.test_size, batch_size=64)
    swept = sweep(model, topology, inputs.test, inputs.test_size, guess=inputs.guess, batch_size=64)
    reliability = topology.reliability["normal"]
    full = bounded_accuracy(topology, reliability, source, inputs.guess, tolerance=0.0)
    assert full.estimate == pytest.approx(weighted_accuracy(swept, topology, reliability))
    accuracy = table.accuracy()
    assert all(source.cache[c] == pytest.approx(accuracy[c]) for c in source.cache)
    rng = np.random.default_rng(0)
    alive = (rng.random((500, 5)) < 0.7).astype(np.uint8)
    alive = alive[flow_mask(topology, alive)]
    examples = rng.integers(0, len(splits.y_test), len(alive))
    scorer = ExampleScorer(model, splits.x_test, splits.y_test, chunk=128)
    assert scorer(examples, alive).tolist() == table.score(examples, alive).tolist()
