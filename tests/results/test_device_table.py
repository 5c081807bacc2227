"""tables/devices.csv of a fan-in run: each device dead alone, beside all present, paired."""

from __future__ import annotations

import itertools
from typing import NamedTuple

import pandas as pd
import pytest

from resilinet_cli.results.device_table import (
    device_markdown,
    device_rows,
    paired_costs,
    paired_markdown,
)
from resilinet_cli.topology import Link, Topology

TOPOLOGY = Topology(
    nodes=("a", "b", "hub", "edge", "cloud"),
    links=(Link("a", "hub"), Link("b", "hub"), Link("hub", "edge"), Link("edge", "cloud")),
    failable=("edge", "a", "b"),
    devices=("a", "b"),
)


class Unit(NamedTuple):
    variant: str
    iteration: int


def frame(everyone: float, a_dead: float, b_dead: float) -> pd.DataFrame:
    rows = []
    for edge, a, b in itertools.product((0, 1), repeat=3):
        accuracy = {(1, 1, 1): everyone, (1, 0, 1): a_dead, (1, 1, 0): b_dead}.get((edge, a, b))
        rows.append({"edge": edge, "a": a, "b": b, "information_flow": edge and (a or b),
                     "accuracy": 0.1 if accuracy is None else accuracy})  # fmt: skip
    return pd.DataFrame(rows)


def test_each_device_dead_alone_with_its_paired_cost():
    results = {
        Unit("vanilla", 1): frame(0.9, 0.5, 0.8),
        Unit("vanilla", 2): frame(0.8, 0.6, 0.8),
    }
    table = device_rows(results, TOPOLOGY).set_index(["variant", "dead"])
    assert table.loc[("vanilla", "none"), "mean"] == pytest.approx(0.85)
    assert table.loc[("vanilla", "a"), "mean"] == pytest.approx(0.55)
    assert table.loc[("vanilla", "a"), "cost_mean"] == pytest.approx(30.0)  # (40 + 20) / 2
    assert table.loc[("vanilla", "a"), "cost_std"] == pytest.approx(14.142136, rel=1e-6)
    assert table.loc[("vanilla", "b"), "cost_mean"] == pytest.approx(5.0)
    assert int(table.loc[("vanilla", "b"), "iterations"]) == 2
    text = device_markdown(device_rows(results, TOPOLOGY))
    assert (
        "| vanilla | 2 | 85.00 ± 7.07 | 55.00 ± 7.07 (\u221230.00) | 80.00 ± 0.00 (\u22125.00) |"
        in (text)
    )


def test_costs_are_tested_against_the_reference_paired_by_seed():
    results = {
        Unit("resilinet", 1): frame(0.9, 0.85, 0.9),
        Unit("resilinet", 2): frame(0.8, 0.76, 0.8),
        Unit("resilinet", 3): frame(0.85, 0.80, 0.85),
        Unit("vanilla", 1): frame(0.9, 0.5, 0.9),
        Unit("vanilla", 2): frame(0.8, 0.45, 0.8),
        Unit("vanilla", 3): frame(0.85, 0.40, 0.85),
    }
    table = paired_costs(results, TOPOLOGY, "resilinet", "holm").set_index("dead")
    # vanilla's costs of a: 40, 35, 45; resilinet's: 5, 4, 5; differences 35, 31, 40
    assert table.loc["a", "difference"] == pytest.approx((35 + 31 + 40) / 3)
    assert table.loc["a", "pairs"] == 3
    assert 0 < table.loc["a", "p"] < 0.01
    assert pd.isna(table.loc["b", "p"])  # no spread: nothing to test
    assert table.loc["a", "p_adjusted"] == pytest.approx(table.loc["a", "p"])  # family of one
    text = paired_markdown(paired_costs(results, TOPOLOGY, "resilinet", "holm"), "holm")
    assert "- vanilla: a +35.33 (p 0.005), b +0.00 (p n/a)" in text
    assert "Holm-adjusted over 1 test)" in text


def test_the_reference_alone_has_nothing_to_compare():
    results = {Unit("resilinet", 1): frame(0.9, 0.85, 0.9)}
    assert paired_costs(results, TOPOLOGY, "resilinet", "holm").empty
    assert paired_costs(results, TOPOLOGY, "vanilla", "holm").empty  # no reference run
