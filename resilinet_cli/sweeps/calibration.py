"""Picking the threshold rule's T from per-example head outputs: exact, not a grid (NumPy only).

With every node alive, an example exits at the first exit (in chain order) whose normalised
entropy is below T, else the final output answers. Its answer changes only where T passes one
of its exits' entropies, so the distinct entropies cut [0, 1] into intervals on which the exit
rate and the accuracy are constant: one candidate T per interval (``candidates``) covers every
behaviour. Each candidate lies in float32 strictly above the interval's lower entropy and at most
its upper one, so the sweep's float32 comparison ``entropy < T`` makes the same choices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resilinet_cli.variants import MAX_ACCURACY_DROP, TARGET_EXIT_RATE

RULES = (TARGET_EXIT_RATE, MAX_ACCURACY_DROP)


@dataclass(frozen=True)
class Choice:
    """A threshold and what it gives on the examples it was chosen on."""

    threshold: float
    exit_rate: float  # fraction of examples answered at some exit
    accuracy: float  # the threshold rule's accuracy
    final_accuracy: float  # the final output's accuracy (no exit taken)


@dataclass(frozen=True)
class Curve:
    """Exit rate and accuracy at each candidate T, in increasing T."""

    thresholds: np.ndarray  # float32
    exits: np.ndarray  # examples answered at some exit
    correct: np.ndarray  # examples answered correctly by the threshold rule
    size: int

    def choice(self, index: int) -> Choice:
        return Choice(
            float(self.thresholds[index]),
            float(self.exits[index] / self.size),
            float(self.correct[index] / self.size),
            float(self.correct[0] / self.size),  # the first candidate: no example exits
        )


def candidates(entropies: np.ndarray) -> np.ndarray:
    """One float32 T per interval between distinct entropies: 0 (no example exits), then for
    each distinct entropy v_j a T with v_j < T <= v_{j+1} (the last: halfway to 1). An entropy
    of 1 (a uniform prediction) gets T = 1, which does not pass it: ``curve`` drops it."""
    values = np.unique(np.asarray(entropies, dtype=np.float32))
    upper = np.append(values[1:], np.float32(1)).astype(np.float32)
    middle = ((values.astype(np.float64) + upper.astype(np.float64)) / 2).astype(np.float32)
    middle = np.where(middle > values, middle, upper)  # adjacent float32 values: take the upper
    return np.concatenate([np.zeros(1, np.float32), middle])


def curve(entropies: np.ndarray, exit_correct: np.ndarray, final_correct: np.ndarray) -> Curve:
    """The threshold rule at every candidate T. ``entropies`` and ``exit_correct`` are
    (examples, exits) in chain order; ``final_correct`` is (examples,).

    Each example's answer moves only when T passes one of its entropies, to the earliest exit
    whose entropy is at most that value: those moves, summed per value, give the curve.
    """
    e = np.asarray(entropies, dtype=np.float32)
    hit = np.column_stack([np.asarray(exit_correct, bool), np.asarray(final_correct, bool)])
    size, count = e.shape
    thresholds = candidates(e)
    if size == 0:
        return Curve(thresholds, np.zeros(1, np.int64), np.zeros(1, np.int64), 0)
    exits = np.arange(count)
    at_most = e[:, None, :] <= e[:, :, None]  # [i, k, j]: exit j's entropy <= exit k's
    below = e[:, None, :] < e[:, :, None]
    after = np.where(at_most, exits, count).min(axis=2)  # answer once T passes e[i, k]
    before = np.where(below, exits, count).min(axis=2)  # and just below it
    first = ~(np.triu(e[:, :, None] == e[:, None, :], 1).any(axis=1))  # one move per value
    rows = np.arange(size)[:, None]
    moved = (hit[rows, after].astype(np.int64) - hit[rows, before]) * first
    exited = ((before == count) & first).astype(np.int64)
    values = np.unique(e)
    where = np.searchsorted(values, e)
    correct_moves = np.zeros(values.size, np.int64)
    exit_moves = np.zeros(values.size, np.int64)
    np.add.at(correct_moves, where, moved)
    np.add.at(exit_moves, where, exited)
    start = int(hit[:, -1].sum())
    correct = np.concatenate([[start], start + np.cumsum(correct_moves)])
    exit_counts = np.concatenate([[0], np.cumsum(exit_moves)])
    passed = np.concatenate([[True], thresholds[1:] > values])  # T <= 1 passes no entropy >= 1
    return Curve(thresholds[passed], exit_counts[passed], correct[passed], size)


def for_exit_rate(scores: Curve, rate: float) -> Choice:
    """The smallest candidate T at which at least ``rate`` of the examples exit; the largest
    exit rate there is, if no T in [0, 1] reaches it (every exit's entropy is 1)."""
    reached = np.flatnonzero(scores.exits >= rate * scores.size - 1e-9)
    return scores.choice(int(reached[0]) if reached.size else len(scores.thresholds) - 1)


def for_accuracy_drop(scores: Curve, points: float) -> Choice:
    """The largest candidate T whose accuracy is at most ``points`` percentage points below
    the final output's (T = 0, where no example exits, always is)."""
    allowed = scores.correct[0] - points / 100 * scores.size - 1e-9
    return scores.choice(int(np.flatnonzero(scores.correct >= allowed)[-1]))


def pick(scores: Curve, rule: str, target: float) -> Choice:
    """T by ``rule`` (one of ``RULES``) with its ``target`` (a rate, or percentage points)."""
    return (
        for_exit_rate(scores, target)
        if rule == TARGET_EXIT_RATE
        else for_accuracy_drop(scores, target)
    )
