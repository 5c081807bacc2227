"""Shared benchmark helpers: best-of-N timing, peak memory, FLOP counts, RESULT lines."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@dataclass(frozen=True)
class Model:
    """A benchmarked model: its config and the shape of its data."""

    name: str
    config: str
    shape: tuple[int, ...]
    classes: int


MODELS = {
    "health": Model("health", "health.yaml", (23,), 13),
    "cifar_mobilenet": Model("cifar_mobilenet", "cifar_mobilenet.yaml", (32, 32, 3), 10),
    # four camera quadrants into the CNN chain (docs/sensors.md)
    "grid4": Model("grid4", "sensors/fashion_mobilenet.yaml", (28, 28, 1), 10),
}


def best_time(run: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` timed calls, after one untimed warm-up call.

    The minimum is the figure least disturbed by other work on a shared machine.
    """
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def layer_flops(layer: Any) -> float:
    """FLOPs per example of one layer (2 per multiply-add); 0 for the cheap elementwise ones.

    Dense, Conv2D (with groups) and DepthwiseConv2D carry all but a few percent of the work of
    the MLP, MobileNet and ResNet; batch norm, activations and adds are left out.
    """
    import keras

    if isinstance(layer, keras.layers.Dense):
        return 2.0 * layer.kernel.shape[0] * layer.kernel.shape[1]
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kh, kw, channels, multiplier = layer.kernel.shape
        _, h, w, _ = layer.output.shape
        return 2.0 * kh * kw * channels * multiplier * h * w
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw, per_group, filters = layer.kernel.shape
        _, h, w, _ = layer.output.shape
        return 2.0 * kh * kw * per_group * filters * h * w
    return 0.0


def model_flops(model: Any) -> float:
    """FLOPs per example of a (sub-)model: the sum over its layers."""
    return sum(layer_flops(layer) for layer in model.layers)


def print_results(rows: Iterable[dict[str, Any]]) -> None:
    """A blank line, then one RESULT line per measured case."""
    print()
    for row in rows:
        print(result_line(**row))


def result_line(**figures: Any) -> str:
    """``RESULT key=value ...``: the machine-readable line that ends each benchmark case."""

    def text(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    return "RESULT " + " ".join(f"{key}={text(value)}" for key, value in figures.items())
