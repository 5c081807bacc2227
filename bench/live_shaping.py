"""Shaped links measured end to end: latency per hop and bandwidth, against the same deployment
unshaped, in one run.

    python -m bench.live_shaping                  # 300 requests per case
    python -m bench.live_shaping --requests 1000

The Health MLP of configs/health.yaml (ResiliNet, random weights) is deployed on 127.0.0.1 three
times, one after the other, and requests are sent one at a time:

- unshaped: batch 1, then batches of ``--rows`` rows;
- latency: every link (chain links and skips) 40 ms; a reply crosses four links on the longest
  path (iot -> edge -> fog2 -> fog1 -> cloud), so (p50 - unshaped p50) / 4 is what one hop
  added: target 40 +- 2 ms;
- bandwidth: ``iot->edge`` at 2 Mbit/s, batches of ``--rows`` rows, as many requests as carry
  1,000,000 bytes of the IoT node's output over it; the stream's wall time less the same stream
  unshaped is the time on the link: target 8 * bytes / 2e6 s (4 s for 1,000,000 bytes) +- 5 %.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CONFIGS, MODELS, print_results

LATENCY_MS = 40.0
HOPS = 4
BANDWIDTH = 2e6  # bits per second
PAYLOAD = 1_000_000  # bytes over the shaped link, at least
LINKS = ["iot->edge", "edge->fog2", "fog2->fog1", "fog1->cloud", "iot->fog2", "edge->fog1",
         "fog2->cloud"]  # fmt: skip


def deployed(folder: Path, shapes: dict[str, Any]) -> tuple[Any, Any, Any]:
    """A started deployment of the benchmark's model with ``shapes``; its client; the model."""
    from resilinet_cli.config import load_config
    from resilinet_cli.live.client import LiveClient
    from resilinet_cli.live.deployment import Deployment
    from resilinet_cli.live.launch import LaunchOptions, model_spec
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.variants import topology_of

    case = MODELS["health"]
    config = load_config(CONFIGS / case.config)
    model_path = folder / "model.keras"
    if not model_path.exists():
        model, _ = build_from_config(
            config, "resilinet", input_shape=case.shape, num_classes=case.classes, seed=0
        )
        model.save(model_path)
    topology = topology_of(config, "resilinet")
    prior = [1 / case.classes] * case.classes
    options = LaunchOptions(deadline_ms=2000.0)  # no shaped request may miss it
    spec = model_spec(model_path, topology, prior, options, shaping=(0, shapes))
    deployment = Deployment.start(spec, folder / f"deployment-{len(shapes)}")
    return deployment, LiveClient(spec), topology


def stream(
    client: Any, x: np.ndarray, count: int, rows: int, label: str
) -> tuple[list[float], float]:
    """Latencies of ``count`` requests of ``rows`` rows each, one at a time, and the wall time.
    Request ids are new (``label``-i): a node answers a repeated id from its memory."""
    started = time.perf_counter()
    latencies = []
    for i in range(count):
        start = (i * rows) % (len(x) - rows)
        latencies.append(client.infer(x[start : start + rows], f"{label}-{i}").latency_ms)
    return latencies, time.perf_counter() - started


def iot_bytes_per_row(folder: Path, topology: Any, x: np.ndarray) -> int:
    """The payload one example puts on ``iot->edge``: the IoT node's output, in bytes."""
    from resilinet_cli.live.compute import NodeCompute
    from resilinet_cli.results.model_files import load_model

    compute = NodeCompute(load_model(folder / "model.keras"), topology, "iot", max_rows=1024)
    return int(compute.run_input(x[:1]).nbytes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="batch-1 requests per case")
    parser.add_argument("--rows", type=int, default=256, help="rows per bandwidth request")
    args = parser.parse_args()
    from resilinet_cli.live.shaping import LinkShape
    from resilinet_cli.quiet_import import quiet_tensorflow_import

    quiet_tensorflow_import()
    x = np.random.default_rng(0).normal(size=(4096, *MODELS["health"].shape)).astype("float32")
    cases = {
        "unshaped": {},
        "latency": {link: LinkShape(latency_ms=LATENCY_MS) for link in LINKS},
        "bandwidth": {"iot->edge": LinkShape(bandwidth=BANDWIDTH)},
    }
    p50, walls, results = {}, {}, []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, shapes in cases.items():
            deployment, client, topology = deployed(folder, shapes)
            with deployment, client:
                if name == "unshaped":  # the same model every time: its IoT output's size
                    per_row = iot_bytes_per_row(folder, topology, x)
                    batches = math.ceil(PAYLOAD / (per_row * args.rows))
                stream(client, x, 20, 1, "warm-up")  # each node's first call builds its graph
                stream(client, x, 3, args.rows, "warm-up-rows")  # and for the batches' size
                if name != "bandwidth":
                    latencies, _ = stream(client, x, args.requests, 1, "one")
                    p50[name] = float(np.percentile(latencies, 50))
                if name != "latency":
                    _, walls[name] = stream(client, x, batches, args.rows, "rows")
    added = (p50["latency"] - p50["unshaped"]) / HOPS
    print(f"batch 1, {args.requests} requests: unshaped p50 {p50['unshaped']:.2f} ms, every link "
          f"{LATENCY_MS:g} ms p50 {p50['latency']:.2f} ms: {added:.2f} ms per hop "
          f"(target {LATENCY_MS:g} +- 2)")  # fmt: skip
    payload = batches * args.rows * per_row
    expected = 8 * payload / BANDWIDTH
    on_link = walls["bandwidth"] - walls["unshaped"]
    print(f"{batches} requests of {args.rows} rows, {payload:,} bytes over iot->edge: "
          f"{walls['bandwidth']:.2f} s at {BANDWIDTH / 1e6:g} Mbit/s against "
          f"{walls['unshaped']:.2f} s unshaped: {on_link:.2f} s on the link, "
          f"{on_link / expected:.3f} of the {expected:.2f} s asked (target 1 +- 0.05)")  # fmt: skip
    results.append({"case": "latency", "added_per_hop_ms": added, "target_ms": LATENCY_MS})
    results.append({"case": "bandwidth", "payload_bytes": payload, "on_link_s": on_link,
                    "expected_s": expected, "ratio": on_link / expected})  # fmt: skip
    print_results(results)


if __name__ == "__main__":
    main()
