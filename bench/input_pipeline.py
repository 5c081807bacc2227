"""The tf.data input pipeline alone against training, in examples per second.

    python -m bench.input_pipeline                 # Health and CIFAR MobileNet (augmentation on)
    python -m bench.input_pipeline --models cifar_mobilenet --steps 30

The pipeline is resilinet's own (``inputs.build_inputs``: shuffle, batch, shape, augment, alive
mask, prefetch) over a synthetic training set of the real shape. Its throughput is measured
alone, then training ResiliNet on it. Target: pipeline >= 3x training throughput, so
the input is never what training waits for.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import keras
import numpy as np

from bench.common import CONFIGS, MODELS, Model, print_results

TRAIN_SIZE = {"health": 100_000, "cifar_mobilenet": 10_000}  # synthetic training rows


class EpochTimer(keras.callbacks.Callback):
    """Keeps each epoch's wall time (the pipeline's cost shows in the whole epoch)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.times.append(time.perf_counter() - self._start)


def synthetic_splits(case: Model) -> Any:
    from resilinet_cli.data import Splits

    rng = np.random.default_rng(0)

    def part(n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.random((n, *case.shape), dtype="float32"), rng.integers(0, case.classes, n)

    (xt, yt), (xv, yv), (xs, ys) = part(TRAIN_SIZE[case.name]), part(256), part(256)
    return Splits(case.name, xt, yt, xv, yv, xs, ys, case.classes)


def pipeline_and_training(
    config: Any, splits: Any, classes: int, steps: int, whole_epoch: bool = False
) -> tuple[float, float]:
    """Examples per second of the training pipeline alone, then of training ResiliNet on it.

    ``whole_epoch``: time the pipeline over one whole epoch, as training draws it (one iterator,
    the shuffle buffer filled once), not over ``steps`` batches of a new iterator; for a large
    training split, filling its buffer would otherwise be charged to ``steps`` batches alone.
    """
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.training.inputs import build_inputs

    failable = len(config.topology.failable)
    inputs = build_inputs(splits, config, failable, seed=0)
    batch = config.train.batch_size
    train = inputs.train_epoch(0)
    for _ in train.take(steps):  # warm-up: traces the maps, fills the shuffle buffer
        pass
    start = time.perf_counter()
    examples = 0
    for (features, _), _ in train if whole_epoch else train.take(steps):
        examples += int(features.shape[0])
    pipeline = examples / (time.perf_counter() - start)

    model, _ = build_from_config(
        config, "resilinet", input_shape=inputs.input_shape, num_classes=classes, seed=0
    )
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    timer = EpochTimer()
    model.fit(train.repeat(), epochs=3, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    return pipeline, steps * batch / min(timer.times[1:])


def measure(case: Model, steps: int) -> dict[str, Any]:
    from resilinet_cli.config import load_config

    config = load_config(CONFIGS / case.config)
    pipeline, training = pipeline_and_training(config, synthetic_splits(case), case.classes, steps)
    return {
        "model": case.name,
        "augment": int(config.train.augment),
        "batch": config.train.batch_size,
        "pipeline_examples_per_s": pipeline,
        "train_examples_per_s": training,
        "pipeline_over_train": pipeline / training,
        "ok": int(pipeline >= 3 * training),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=", ".join(MODELS))
    parser.add_argument("--steps", type=int, default=40, help="batches per timed pass")
    args = parser.parse_args()
    rows = [measure(MODELS[name], args.steps) for name in args.models.split(",")]
    print()
    print(
        f"{'model':<16}{'augment':>8}{'batch':>6}{'pipeline ex/s':>15}"
        f"{'train ex/s':>12}{'ratio':>7}"
    )
    for r in rows:
        print(
            f"{r['model']:<16}{'on' if r['augment'] else 'off':>8}{r['batch']:>6}"
            f"{r['pipeline_examples_per_s']:>15.0f}{r['train_examples_per_s']:>12.0f}"
            f"{r['pipeline_over_train']:>7.1f}  {'ok' if r['ok'] else 'MISS (target 3.0)'}"
        )
    print_results(rows)


if __name__ == "__main__":
    main()
