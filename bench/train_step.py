"""Training step time of every variant against a plain Keras model with the same layers.

    python -m bench.train_step                      # Health MLP and CIFAR MobileNet
    python -m bench.train_step --models health --jit both

Steady-state seconds per step (the best epoch after a warm-up epoch, in this process) for
Vanilla, deepFogGuard, ResiliNet (per-batch and per-example failout) and ResiliNet+, and for the
plain model: the MLP as a Sequential, ``keras.applications.MobileNet(alpha=0.75)`` with the CIFAR
strides. Each time is printed with its ratio to the plain model and the FLOP ratio next to it.
Targets (issue 5): Vanilla/plain <= 1.05; each skip variant/plain <= 1.05 x its FLOP ratio.
The batch is one fixed tensor, so the input pipeline costs nothing here (see input_pipeline.py).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from bench.common import CONFIGS, MODELS, Model, model_flops, print_results

VARIANTS = [
    ("vanilla", "batch"),
    ("deepfogguard", "batch"),
    ("resilinet", "batch"),
    ("resilinet", "example"),
    ("resilinet_plus", "batch"),
]


BATCH = {"health": 1024, "cifar_mobilenet": 128}  # the paper's batch sizes
STEPS = {"health": 200, "cifar_mobilenet": 15}  # steps per timed epoch


class EpochTimer(keras.callbacks.Callback):
    """Keeps each epoch's wall time."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.times.append(time.perf_counter() - self._start)


def step_time(model: Any, inputs: Any, labels: Any, case: Model, jit: bool, epochs: int) -> float:
    """Best seconds per step over ``epochs`` timed epochs, after one warm-up epoch."""
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit,
    )
    data = tf.data.Dataset.from_tensors((inputs, labels)).repeat()
    timer = EpochTimer()
    model.fit(
        data,
        epochs=epochs + 1,
        steps_per_epoch=STEPS[case.name],
        callbacks=[timer],
        verbose=0,
    )
    return min(timer.times[1:]) / STEPS[case.name]


def plain_model(case: Model, units: int, layers: int) -> Any:
    """The same layers without nodes: a Sequential MLP, or Keras' MobileNet with CIFAR strides."""
    if case.name == "health":
        return keras.Sequential(
            [keras.Input(case.shape)]
            + [keras.layers.Dense(units, activation="relu") for _ in range(layers)]
            + [keras.layers.Dense(case.classes, activation="softmax")]
        )
    reference = keras.applications.MobileNet(
        alpha=0.75, weights=None, classes=case.classes, input_shape=case.shape
    )
    return keras.Model.from_config(reference_geometry(reference.get_config()))


def reference_geometry(config: dict[str, Any]) -> dict[str, Any]:
    """Keras' MobileNet config edited to the reference code's CIFAR geometry (paper_spec §2.3).

    - stride 1 in conv1 and block 2;
    - conv1 after a ((0,1),(0,1)) zero-padding with "valid" padding, as the reference's Keras 2
      MobileNet had it (Keras 3 uses "same"): 31x31 feature maps, not 32x32, and so 15, 7 and 3
      after the stride-2 blocks. Without this the plain model does 28% more work than ours.
    """
    layers = config["layers"]
    conv1 = next(layer for layer in layers if layer["name"] == "conv1")
    pad = copy.deepcopy(next(layer for layer in layers if layer["name"] == "conv_pad_2"))
    pad["name"] = pad["config"]["name"] = "conv1_pad"
    pad["config"]["padding"] = ((0, 1), (0, 1))
    pad["inbound_nodes"] = copy.deepcopy(conv1["inbound_nodes"])
    conv1["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["conv1_pad", 0, 0]
    conv1["config"].update(strides=(1, 1), padding="valid")
    layers.insert(layers.index(conv1), pad)
    for layer in layers:
        if layer["name"] == "conv_dw_2":
            layer["config"]["strides"] = (1, 1)
        if layer["name"] == "conv_pad_2":  # same-size output at stride 1, as padding="same"
            layer["config"]["padding"] = ((1, 1), (1, 1))
    return config


def progress(case: Model, name: str, jit: bool, seconds: float) -> None:
    """One line per measurement as it lands (a CIFAR run takes minutes per case)."""
    xla = "on" if jit else "off"
    print(
        f"{case.name} {name} XLA {xla}: {1000 * seconds:.2f} ms/step", file=sys.stderr, flush=True
    )


def measure(case: Model, jits: list[bool], epochs: int) -> list[dict[str, Any]]:
    from resilinet_cli.config import load_config
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.models.registry import FAMILIES

    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH[case.name], *case.shape), dtype="float32")
    y = rng.integers(0, case.classes, BATCH[case.name])
    base = load_config(CONFIGS / case.config)
    hidden = sum(FAMILIES["mlp"].partitions[base.model.partition])  # the MLP's Dense(250)s
    rows = []
    for jit in jits:
        plain = plain_model(case, base.model.hidden_units, hidden)
        plain_flops = model_flops(plain)
        t_plain = step_time(plain, x, y, case, jit, epochs)
        progress(case, "plain", jit, t_plain)
        for variant, granularity in VARIANTS:
            keras.backend.clear_session()
            config = base.with_overrides([f"train.failout.granularity={granularity}"])
            model, _ = build_from_config(
                config, variant, input_shape=case.shape, num_classes=case.classes, seed=0
            )
            alive = np.ones((BATCH[case.name], len(config.topology.failable)), "float32")
            t = step_time(model, (x, alive), y, case, jit, epochs)
            name = variant if variant != "resilinet" else f"resilinet_{granularity}"
            progress(case, name, jit, t)
            flop_ratio = model_flops(model) / plain_flops
            if variant == "vanilla" and abs(flop_ratio - 1) > 0.01:
                raise SystemExit(f"{case.name}: plain model does not match Vanilla's FLOPs")
            rows.append(
                {
                    "model": case.name,
                    "variant": name,
                    "jit": int(jit),
                    "batch": BATCH[case.name],
                    "t_step_ms": 1000 * t,
                    "t_plain_ms": 1000 * t_plain,
                    "over_plain": t / t_plain,
                    "flop_ratio": flop_ratio,
                    "target": 1.05 * flop_ratio,
                    "ok": int(t / t_plain <= 1.05 * flop_ratio),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=", ".join(MODELS))
    parser.add_argument("--jit", choices=["off", "on", "both"], default="both", help="XLA")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs; the best counts")
    args = parser.parse_args()
    jits = {"off": [False], "on": [True], "both": [False, True]}[args.jit]
    rows = [r for name in args.models.split(",") for r in measure(MODELS[name], jits, args.epochs)]
    print()
    print(
        f"{'model':<16}{'variant':<20}{'XLA':>4}{'step ms':>9}{'plain ms':>10}"
        f"{'ratio':>7}{'FLOP ratio':>12}{'target':>8}{'':>4}"
    )
    for r in rows:
        print(
            f"{r['model']:<16}{r['variant']:<20}{'on' if r['jit'] else 'off':>4}"
            f"{r['t_step_ms']:>9.2f}{r['t_plain_ms']:>10.2f}{r['over_plain']:>7.3f}"
            f"{r['flop_ratio']:>12.3f}{r['target']:>8.3f}{'ok' if r['ok'] else 'MISS':>6}"
        )
    print_results(rows)


if __name__ == "__main__":
    main()
