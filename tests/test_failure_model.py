"""Failure models: combination probabilities against hand-computed oracles, sampling against
the model, the paper's settings as the special case, and one-line config errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from paths import TOPOLOGIES

from resilinet_cli.config import read_yaml, validate_config
from resilinet_cli.errors import ConfigError
from resilinet_cli.failure_model import FailureModel
from resilinet_cli.sweeps.sweep import weighted_accuracy
from resilinet_cli.topology import Topology

FAILABLE = ("fog1", "fog2", "edge")  # the Health topology's order
RACK = {
    "survival": {"fog1": 0.95, "fog2": 0.95, "edge": 0.9},
    "common_cause": [{"nodes": ["fog1", "fog2"], "probability": 0.05}],
}


LINKS = ["edge->fog2", "iot->fog2"]  # failable links of the tests' Health topology


def health(links: list[str] | None = None, **models: dict) -> object:
    topology = read_yaml(TOPOLOGIES / "health.yaml") | {"failable_links": links or []}
    raw = {"name": "t", "topology": topology, "dataset": {"name": "digits"},
           "failure_models": models}  # fmt: skip
    return validate_config(raw, "t.yaml")


def model(name: str = "rack", **section: object) -> FailureModel:
    config = health(LINKS, **{name: section})
    return FailureModel.from_config(name, config.failure_models[name], FAILABLE, LINKS)


def test_common_cause_probabilities_by_hand() -> None:
    rack = model(**RACK)
    assert rack.probability((1, 1, 1)) == pytest.approx(0.95 * 0.95 * 0.95 * 0.9, abs=1e-15)
    # both fogs dead: the event (0.05), or no event and each fails on its own
    both = 0.05 * 0.9 + 0.95 * 0.05 * 0.05 * 0.9
    assert rack.probability((0, 0, 1)) == pytest.approx(both, abs=1e-15)
    assert rack.probability((1, 0, 1)) == pytest.approx(0.95 * 0.95 * 0.05 * 0.9, abs=1e-15)
    assert rack.probability((0, 0, 0)) == pytest.approx(0.05 * 0.1 + 0.95 * 0.05 * 0.05 * 0.1)
    assert math.fsum(rack.probabilities().values()) == pytest.approx(1.0, abs=1e-12)


def test_a_link_multiplies_in_its_own_survival() -> None:
    linked = model(**RACK, links={"edge->fog2": 0.97})
    assert linked.columns == (*FAILABLE, "edge->fog2")
    no_link = model(**RACK)
    for combo in itertools.product((0, 1), repeat=3):
        p = no_link.probability(combo)
        assert linked.probability((*combo, 1)) == pytest.approx(p * 0.97, abs=1e-15)
        assert linked.probability((*combo, 0)) == pytest.approx(p * 0.03, abs=1e-15)
    assert math.fsum(linked.probabilities().values()) == pytest.approx(1.0, abs=1e-12)


def test_event_probability_zero_is_exactly_independent_and_one_kills_the_group() -> None:
    survival = RACK["survival"]
    never = model(survival=survival, common_cause=[{"nodes": ["fog1", "fog2"], "probability": 0}])
    plain = FailureModel.independent("x", FAILABLE, [0.95, 0.95, 0.9])
    for combo in itertools.product((0, 1), repeat=3):
        assert never.probability(combo) == plain.probability(combo)  # bit for bit
    always = model(survival=survival, common_cause=[{"nodes": ["fog1", "fog2"], "probability": 1}])
    for combo, p in always.probabilities().items():
        if combo[0] or combo[1]:
            assert p == 0.0
    assert math.fsum(always.probabilities().values()) == pytest.approx(1.0, abs=1e-12)


def test_the_papers_settings_give_exactly_todays_weighted_accuracy() -> None:
    topology = Topology.from_config(health().topology)
    rng = np.random.default_rng(3)
    combos = pd.DataFrame(list(itertools.product((0, 1), repeat=3)), columns=list(FAILABLE))
    combos["information_flow"] = True
    combos["accuracy"] = rng.random(8)
    for name, reliability in topology.reliability.items():
        setting = FailureModel.independent(name, FAILABLE, reliability)
        assert setting.is_independent
        assert setting.weighted(combos) == weighted_accuracy(combos, topology, reliability)


def test_a_joint_table_is_taken_as_given() -> None:
    table = {"".join(map(str, c)): 0.0 for c in itertools.product((0, 1), repeat=3)}
    table |= {"111": 0.7, "011": 0.2, "001": 0.1}
    joint = model(joint=table)
    assert joint.probability((1, 1, 1)) == 0.7 and joint.probability((1, 0, 1)) == 0.0
    counts = pd.Series(map(tuple, joint.sample(np.random.default_rng(0), 20_000).tolist()))
    assert set(counts) == {(1, 1, 1), (0, 1, 1), (0, 0, 1)}


def test_a_joint_table_may_cover_the_failable_links() -> None:
    table = {"".join(map(str, c)): 0.0 for c in itertools.product((0, 1), repeat=5)}
    table |= {"11111": 0.9, "11101": 0.1}  # edge->fog2 drops one time in ten
    joint = model(joint=table)
    assert joint.columns == (*FAILABLE, *LINKS)
    assert joint.probability((1, 1, 1, 0, 1)) == 0.1


def test_a_model_without_a_failable_link_counts_only_rows_where_it_is_up() -> None:
    rows = list(itertools.product((0, 1), repeat=4))  # nodes, then edge->fog2
    table = pd.DataFrame(rows, columns=[*FAILABLE, "edge->fog2"]).assign(
        accuracy=[0.5 + 0.01 * i for i in range(len(rows))]
    )
    accuracy = dict(zip(rows, table["accuracy"], strict=True))
    rack = model(**RACK)  # no links: edge->fog2 always carries data under it
    expected = sum(rack_by_hand(*row[:3]) * accuracy[row] for row in rows if row[3])
    assert rack.weighted(table) == pytest.approx(expected, rel=1e-12)
    linked = model(**RACK, links={"edge->fog2": 0.9})
    link = {1: 0.9, 0: 0.1}
    expected = sum(rack_by_hand(*row[:3]) * link[row[3]] * accuracy[row] for row in rows)
    assert linked.weighted(table) == pytest.approx(expected, rel=1e-12)


def rack_by_hand(fog1: int, fog2: int, edge: int) -> float:
    """P(fog1, fog2, edge) under RACK, derived by hand rather than by enumerating events.

    The edge is independent (0.9); the fogs share one event (0.05) that kills both, and
    otherwise each survives on its own (0.95), so both dead is the event or two own failures.
    """
    q, s = 0.05, 0.95
    fogs = {(1, 1): (1 - q) * s * s, (1, 0): (1 - q) * s * (1 - s),
            (0, 1): (1 - q) * (1 - s) * s, (0, 0): q + (1 - q) * (1 - s) * (1 - s)}  # fmt: skip
    return fogs[fog1, fog2] * (0.9 if edge else 0.1)


def test_samples_follow_the_model_within_four_sigma() -> None:
    linked = model(**RACK, links={"edge->fog2": 0.8})
    n = 200_000
    drawn = linked.sample(np.random.default_rng(7), n)
    assert drawn.shape == (n, 4) and drawn.dtype == np.uint8
    counts = pd.Series(map(tuple, drawn.tolist())).value_counts()
    for combo, p in linked.probabilities().items():
        sigma = math.sqrt(p * (1 - p) / n)
        assert abs(counts.get(combo, 0) / n - p) <= 4 * sigma + 1e-12, combo


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"survival": {"fog3": 0.9}},
         "t.yaml: failure_models.m.survival.fog3: unknown node 'fog3' (did you mean 'fog2'?"),
        ({"survival": {"fog1": 1.5}},
         "t.yaml: failure_models.m.survival.fog1: Input should be less than or equal to 1"),
        ({"common_cause": [{"nodes": [], "probability": 0.1}]},
         "t.yaml: failure_models.m.common_cause[0].nodes: an event kills at least one node"),
        ({"common_cause": [{"nodes": ["fog1", "cloud"], "probability": 0.1}]},
         "common_cause[0].nodes: unknown failable node 'cloud'"),
        ({"common_cause": [{"nodes": ["fog1"], "probability": -0.1}]},
         "common_cause[0].probability: Input should be greater than or equal to 0"),
        ({"links": {"edge->fog": 0.9}},
         "t.yaml: failure_models.m.links.edge->fog: unknown link 'edge->fog' (did you mean "),
        ({"joint": {"111": 1.0}}, "failure_models.m.joint: misses combinations 000, 001,"),
        ({"joint": {"".join(map(str, c)): 0.125 + (c == (1, 1, 1)) * 0.01
                    for c in itertools.product((0, 1), repeat=3)}},
         "failure_models.m.joint: the probabilities sum to 1.01, not 1 (within 1e-9)"),
        ({"joint": {"11": 1.0}}, "failure_models.m.joint.11: expected a bit string of 3"),
        ({"links": {"fog2->fog1": 0.9}},
         "links.fog2->fog1: link 'fog2->fog1' is not failable: list it under "
         "topology.failable_links"),
    ],
)  # fmt: skip
def test_bad_failure_models_are_one_line_naming_the_key(section: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        health(LINKS, m=section)
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_a_failure_model_does_not_change_the_config_hash() -> None:
    assert health().digest() == health(rack=RACK).digest()
    assert "failure_models" not in health().to_dict()
