"""Training step time of every variant against a plain Keras model with the same layers.

    python -m bench.train_step                      # Health MLP and CIFAR MobileNet
    python -m bench.train_step --models health --jit both

Steady-state seconds per step (the median step of an epoch, the best of several epochs, after
a warm-up epoch) for
Vanilla, deepFogGuard, ResiliNet (per-batch and per-example failout) and ResiliNet+, and for the
plain model: the MLP as a Sequential, ``keras.applications.MobileNet(alpha=0.75)`` with the CIFAR
strides. Each time is printed with its ratio to the plain model (the median over rounds of the
ratio within a round) and the FLOP ratio next to it. A second copy of the plain model is timed
as a control: its ratio to the first is the noise of the measurement.
Targets: Vanilla/plain <= 1.05; each skip variant/plain <= 1.05 x its FLOP ratio.
Exits: ``vanilla+exits`` and ``resilinet+exits`` (a head at every non-final node, trained on
the sum of every output's loss, as ``resilinet run`` trains them) are printed with their ratio
to their base variant (the median over rounds, as above) beside the FLOP ratio of the models.
The models take turns, one timed epoch each per round, so a slow phase of the shared machine
hits all of them alike. The batch is one fixed tensor, so the input pipeline costs nothing here
(see input_pipeline.py).
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
from bench.exit_plan import EXIT_VARIANTS, with_exit_variants

VARIANTS = [
    ("vanilla", "batch"),
    ("deepfogguard", "batch"),
    ("resilinet", "batch"),
    ("resilinet", "example"),
    ("resilinet_plus", "batch"),
    *((name, "batch") for name in EXIT_VARIANTS),
]
BASE = {"vanilla+exits": "vanilla", "resilinet+exits": "resilinet_batch"}  # timed against


BATCH = {"health": 1024, "cifar_mobilenet": 128}  # the paper's batch sizes
STEPS = {"health": 100, "cifar_mobilenet": 6}  # steps per timed epoch


class StepTimer(keras.callbacks.Callback):
    """The median time between consecutive step ends of an epoch.

    A median, not the epoch's mean: on the shared machine an epoch now and then stalls once for
    about 200 ms, which would add 2 ms to every step of a 100-step Health epoch (a 15 % error
    on a 13 ms step) and hit whichever model happened to run then.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.ends = [time.perf_counter()]

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.ends.append(time.perf_counter())

    def seconds_per_step(self) -> float:
        return float(np.median(np.diff(self.ends)))


def compiled(model: Any, jit: bool) -> Any:
    """Compiled as training compiles it: with exit heads, the sum of every output's loss."""
    heads = len(model.outputs)
    accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="sparse_categorical_crossentropy"
        if heads == 1
        else ["sparse_categorical_crossentropy"] * heads,
        loss_weights=None if heads == 1 else [1.0] * heads,
        metrics=[accuracy] if heads == 1 else [[accuracy], *[[] for _ in range(heads - 1)]],
        jit_compile=jit,
    )
    return model


def interleaved_step_times(
    cases: dict[str, tuple[Any, Any]], labels: Any, steps: int, rounds: int
) -> dict[str, list[float]]:
    """Seconds per step of each model in each round; the models take turns, one epoch each.

    Every model is warmed up (traced) first. Timing the models in alternation, rather than one
    after the other, spreads a slow phase of the shared machine over all of them; the ratio of
    two models within one round is then fair even when absolute times drift by 10%.
    """
    data = {  # with exit heads, one label per output
        name: tf.data.Dataset.from_tensors((inputs, labeled(labels, model))).repeat()
        for name, (model, inputs) in cases.items()
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for turn in range(rounds + 1):  # turn 0 is the warm-up
        names = list(cases)
        names = names[turn % len(names) :] + names[: turn % len(names)]
        for name in names:
            timer = StepTimer()
            model = cases[name][0]
            model.fit(data[name], epochs=1, steps_per_epoch=steps, callbacks=[timer], verbose=0)
            if turn:
                times[name].append(timer.seconds_per_step())
        if turn:
            print(f"round {turn}/{rounds} done", file=sys.stderr, flush=True)
    return times


def labeled(labels: Any, model: Any) -> Any:
    """The labels as the model's outputs take them: once, or once per output."""
    heads = len(model.outputs)
    return labels if heads == 1 else (labels,) * heads


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
    """Keras' MobileNet config edited to the reference code's CIFAR geometry (docs/method.md §2.3).

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


def measure(
    case: Model, jit: bool, rounds: int, variants: list[str] | None = None
) -> list[dict[str, Any]]:
    """One row per model: best ms/step, and the median over rounds of its ratio to plain.

    A second, identical plain model ("plain_copy") runs as a control: its ratio to the first
    shows how far two equal models drift apart on this machine, the benchmark's resolution.
    """
    from resilinet_cli.config import load_config
    from resilinet_cli.config.families import FAMILIES
    from resilinet_cli.models.builder import build_from_config

    keras.backend.clear_session()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH[case.name], *case.shape), dtype="float32")
    y = rng.integers(0, case.classes, BATCH[case.name])
    base = with_exit_variants(load_config(CONFIGS / case.config))
    hidden = sum(FAMILIES["mlp"].partitions[base.model.partition])  # the MLP's Dense(250)s
    cases, flops = {}, {}
    for name in ("plain", "plain_copy"):
        plain = compiled(plain_model(case, base.model.hidden_units, hidden), jit)
        cases[name], flops[name] = (plain, x), model_flops(plain)
    for variant, granularity in VARIANTS:
        config = base.with_overrides([f"train.failout.granularity={granularity}"])
        model, _ = build_from_config(
            config, variant, input_shape=case.shape, num_classes=case.classes, seed=0
        )
        alive = np.ones((BATCH[case.name], len(config.topology.failable)), "float32")
        name = variant if variant != "resilinet" else f"resilinet_{granularity}"
        if variants and name not in variants:
            continue
        cases[name] = (compiled(model, jit), (x, alive))
        flops[name] = model_flops(model)
    if "vanilla" in flops and abs(flops["vanilla"] / flops["plain"] - 1) > 0.01:
        raise SystemExit(f"{case.name}: plain model does not match Vanilla's FLOPs")
    times = interleaved_step_times(cases, y, STEPS[case.name], rounds)
    rows = []
    for name, seconds in times.items():
        if name == "plain":
            continue
        ratio = float(np.median(np.divide(seconds, times["plain"])))
        flop_ratio = flops[name] / flops["plain"]
        target = 1.05 * flop_ratio
        base = BASE.get(name, name)
        over_base = np.median(np.divide(seconds, times[base])) if base in times else np.nan
        rows.append(
            {
                "model": case.name,
                "variant": name,
                "jit": int(jit),
                "batch": BATCH[case.name],
                "t_step_ms": 1000 * min(seconds),
                "t_plain_ms": 1000 * min(times["plain"]),
                "over_plain": ratio,
                "flop_ratio": flop_ratio,
                "target": target,
                "ok": int(ratio <= target),
                "base": base,
                "over_base": float(over_base),
                "flops_over_base": flops[name] / flops[base] if base in flops else np.nan,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=", ".join(MODELS))
    parser.add_argument("--jit", choices=["off", "on", "both"], default="both", help="XLA")
    parser.add_argument(
        "--rounds", type=int, default=7, help="timed epochs per model, in turns (default 7)"
    )
    parser.add_argument(
        "--variants",
        default="",
        help="comma-separated rows to time (default: all), e.g. "
        "vanilla,resilinet_batch,vanilla+exits,resilinet+exits",
    )
    args = parser.parse_args()
    chosen = [name for name in args.variants.split(",") if name]
    jits = {"off": [False], "on": [True], "both": [False, True]}[args.jit]
    rows = [
        r
        for name in args.models.split(",")
        for jit in jits
        for r in measure(MODELS[name], jit, args.rounds, chosen)
    ]
    print()
    print(
        f"{'model':<16}{'variant':<20}{'XLA':>4}{'step ms':>9}{'plain ms':>10}"
        f"{'ratio':>7}{'FLOP ratio':>12}{'target':>8}{'':>6}{'/base':>7}{'FLOPs/base':>12}"
    )
    for r in rows:
        print(
            f"{r['model']:<16}{r['variant']:<20}{'on' if r['jit'] else 'off':>4}"
            f"{r['t_step_ms']:>9.2f}{r['t_plain_ms']:>10.2f}{r['over_plain']:>7.3f}"
            f"{r['flop_ratio']:>12.3f}{r['target']:>8.3f}{'ok' if r['ok'] else 'MISS':>6}"
            f"{r['over_base']:>7.3f}{r['flops_over_base']:>12.3f}"
        )
    print_results(rows)


if __name__ == "__main__":
    main()
