"""Weighted accuracy after every epoch (``train.epoch_sweep``): how resilience grows in training.

A unit's final sweep says how resilient the trained model is; this says when it got there. After
each epoch the validation set is swept over every failure combination, as the final sweep does
the test set, and each reliability setting's weighted accuracy joins the epoch's logs as
``val_weighted_<setting>``, so it lands in history.csv (and in anything else that reads logs).
The model is only evaluated, in inference mode: training draws the same random numbers with or
without it, and the weights it ends with are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.sweeps.sweep import EPOCH_COLUMN_PREFIX, Sweeper, weighted_accuracy
from resilinet_cli.topology import Topology
from resilinet_cli.variants import topology_of

if TYPE_CHECKING:
    from resilinet_cli.training.inputs import Inputs


def column(setting: str) -> str:
    """The history column of ``setting``'s weighted accuracy."""
    return EPOCH_COLUMN_PREFIX + setting


def epoch_sweeps(config: ExperimentConfig, variant: str, inputs: Inputs) -> list[EpochSweep]:
    """The unit's epoch sweep as a callback list: empty unless ``train.epoch_sweep`` is on."""
    if not config.train.epoch_sweep or inputs.val_examples is None or inputs.val_size == 0:
        return []
    topology = topology_of(config, variant)
    sweep = EpochSweep(
        topology,
        inputs.val_examples,
        inputs.val_size,
        guess=inputs.guess,
        batch_size=config.evaluation.batch_size,
    )
    return [sweep]


class EpochSweep(keras.callbacks.Callback):
    """Adds ``val_weighted_<setting>`` for every reliability setting to each epoch's logs.

    ``topology`` is the variant's own (Vanilla: no skips), as for the final sweep; ``examples``
    the unbatched validation set of ``size`` examples; ``guess`` the accuracy of combinations
    without information flow.
    """

    def __init__(
        self,
        topology: Topology,
        examples: tf.data.Dataset,
        size: int,
        *,
        guess: float,
        batch_size: int,
    ) -> None:
        super().__init__()
        self.topology = topology
        self.examples = examples
        self.size = size
        self.guess = guess
        self.batch_size = batch_size
        self.sweeper: Sweeper | None = None  # cut and traced at the first epoch's end

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if logs is None:
            return
        if self.sweeper is None:
            self.sweeper = Sweeper(
                self.model, self.topology, guess=self.guess, batch_size=self.batch_size
            )
        combinations = self.sweeper.table(self.examples, self.size)
        for setting, reliability in self.topology.reliability.items():
            logs[column(setting)] = weighted_accuracy(combinations, self.topology, reliability)
