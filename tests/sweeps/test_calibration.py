"""Picking T (sweeps/calibration.py) against the threshold rule replayed per example.

The independent path: for each candidate T, every example's answer is chosen in NumPy by the
rule itself (the first exit in chain order whose entropy is below T, else the final output),
not by the event sums the module uses.
"""

from __future__ import annotations

import numpy as np
import pytest

from resilinet_cli.sweeps.calibration import (
    MAX_ACCURACY_DROP,
    TARGET_EXIT_RATE,
    candidates,
    curve,
    pick,
)


def replay(entropies, exit_correct, final_correct, threshold):
    """(examples answered at an exit, examples answered right) under ``threshold``."""
    confident = entropies < np.float32(threshold)
    exited = confident.any(axis=1)
    answer = np.where(exited, confident.argmax(axis=1), entropies.shape[1])
    hits = np.column_stack([exit_correct, final_correct])[np.arange(len(answer)), answer]
    return int(exited.sum()), int(hits.sum())


def random_heads(seed: int, examples: int, exits: int, levels: int | None = None):
    rng = np.random.default_rng(seed)
    if levels:  # few distinct values: ties within and between examples
        values = np.linspace(0, 1, levels, dtype=np.float32)
        entropies = rng.choice(values, size=(examples, exits))
    else:
        entropies = rng.random((examples, exits)).astype(np.float32)
    return entropies, rng.random((examples, exits)) < 0.5, rng.random(examples) < 0.7


@pytest.mark.parametrize("seed", range(40))
def test_the_curve_equals_the_rule_replayed_at_every_candidate(seed: int) -> None:
    heads = random_heads(seed, examples=1 + seed, exits=1 + seed % 3, levels=[None, 5][seed % 2])
    scores = curve(*heads)
    for threshold, exited, correct in zip(
        scores.thresholds, scores.exits, scores.correct, strict=True
    ):
        assert (exited, correct) == replay(*heads, threshold), threshold


def test_candidates_separate_every_pair_of_distinct_entropies() -> None:
    """Each T is above one distinct entropy and at most the next, in float32 too: also for
    entropies one float32 step apart, where no float32 lies strictly between them. An entropy
    of 1 gets T = 1, which no T in [0, 1] passes: ``curve`` drops that one."""
    low = np.float32(0.25)
    values = np.array([0.0, low, np.nextafter(low, np.float32(1)), 0.5, 1.0], np.float32)
    found = candidates(values)
    assert found.dtype == np.float32 and found[0] == 0
    for value, threshold, upper in zip(values[:-1], found[1:-1], values[1:], strict=True):
        assert value < threshold <= upper
    assert found[-1] == 1.0 and len(curve(values[:, None], [[1]] * 5, [1] * 5).thresholds) == 5


def test_a_target_exit_rate_gives_the_smallest_t_reaching_it() -> None:
    entropies = np.array([[0.1], [0.2], [0.3], [0.4]], np.float32)
    heads = (entropies, np.ones((4, 1), bool), np.zeros(4, bool))
    choice = pick(curve(*heads), TARGET_EXIT_RATE, 0.5)
    assert 0.2 < choice.threshold <= 0.3  # two of four exit; any smaller T lets one exit
    assert (choice.exit_rate, choice.accuracy, choice.final_accuracy) == (0.5, 0.5, 0.0)
    assert pick(curve(*heads), TARGET_EXIT_RATE, 0.51).exit_rate == 0.75


def test_a_uniform_head_never_exits_so_the_largest_rate_is_given() -> None:
    heads = (np.array([[0.2], [1.0]], np.float32), np.ones((2, 1), bool), np.ones(2, bool))
    choice = pick(curve(*heads), TARGET_EXIT_RATE, 0.9)
    assert choice.exit_rate == 0.5 and choice.threshold <= 1.0


def test_a_maximum_accuracy_drop_gives_the_largest_t_within_it() -> None:
    # the exit is right on examples 0 and 2 only; the final output on all four
    entropies = np.array([[0.1], [0.2], [0.3], [0.4]], np.float32)
    heads = (entropies, np.array([[1], [0], [1], [0]], bool), np.ones(4, bool))
    assert pick(curve(*heads), MAX_ACCURACY_DROP, 0.0).threshold <= 0.2  # only example 0
    within = pick(curve(*heads), MAX_ACCURACY_DROP, 25.0)
    assert 0.3 < within.threshold <= 0.4 and within.accuracy == 0.75  # 0, 2 exit; 1 wrong
    assert pick(curve(*heads), MAX_ACCURACY_DROP, 50.0).exit_rate == 1.0
    assert within.final_accuracy == 1.0


def test_the_earliest_confident_exit_answers_even_if_a_later_one_is_surer() -> None:
    """Example: edge 0.3 (wrong), fog 0.1 (right). Below 0.3 only the fog is confident."""
    heads = (np.array([[0.3, 0.1]], np.float32), np.array([[0, 1]], bool), np.zeros(1, bool))
    scores = curve(*heads)
    assert scores.correct.tolist() == [0, 1, 0]
    assert scores.exits.tolist() == [0, 1, 1]
