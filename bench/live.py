"""The live runtime on loopback: latency and throughput healthy, with a node hung, with one
killed; time to detect and recover against the deadline; per-hop overhead against compute.

    python -m bench.live                       # Health MLP (ResiliNet), deadlines 100 and 200 ms
    python -m bench.live --deadlines 200 --requests 500

The Health MLP of configs/health.yaml (random weights: speed does not depend on training,
23 features, 13 classes) is deployed as five node processes on 127.0.0.1; requests are sent one
at a time, batch 1. For each deadline it prints, side by side from one run:

- healthy / fog2 hung / edge killed: requests per second, latency p50, p99 and max;
- detect: from the SIGSTOP (or from the SIGKILLed process being reaped) until an answer reports
  the node dead; then how many of the next requests took the deadline or longer (target 0: a
  dead node costs no deadline again);
- recover: from SIGCONT, or from a restarted node serving again, until answers use it;
- per hop: (latency - the five nodes' compute) / the six calls on the critical path
  (client->iot->cloud->fog1->fog2->edge->iot), beside the mean compute per node.

Targets: detect <= deadline + 50 ms; after detection no request pays the deadline; healthy
per-hop overhead < 2 ms at batch 1.

    python -m bench.live --part saturation     # 1, 4 and 8 clients, batching off and on
    python -m bench.live --part saturation --csv results/live_load/saturation.csv

Saturation: each client sends its next request as soon as its answer is back (closed loop,
live/load.py), for ``--seconds`` per step, at 1, 4 and 8 clients, against a deployment whose
nodes run each request alone and one whose nodes batch what arrives within 5 ms (at most 8
rows); healthy, then with edge killed. It prints the answers per second, latency p50/p99 and
the clients' share of the CPU (they share the 2 cores with the five node processes), and the
throughput with batching over without, per row.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CONFIGS, MODELS, print_results

CRITICAL_CALLS = 6  # client->iot, iot->cloud, cloud->fog1, fog1->fog2, fog2->edge, edge->iot


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def stream(client: Any, x: np.ndarray, count: int) -> tuple[list[Any], float]:
    started = time.perf_counter()
    answers = [client.infer(x[i % len(x) : i % len(x) + 1]) for i in range(count)]
    return answers, time.perf_counter() - started


def until(client: Any, x: np.ndarray, index: int, bit: str, since: float) -> tuple[float, list]:
    """Seconds from ``since`` until an answer shows failable ``index`` as ``bit``."""
    seen = []
    while True:
        answer = client.infer(x[:1])
        seen.append(answer)
        if answer.contributed[index] == bit:
            return time.perf_counter() - since, seen
        if time.perf_counter() - since > 30:
            raise RuntimeError(f"never saw bit {index} = {bit}")


def figures(answers: list[Any], seconds: float) -> dict[str, float]:
    latency = [a.latency_ms for a in answers]
    return {
        "rps": len(answers) / seconds,
        "p50_ms": percentile(latency, 50),
        "p99_ms": percentile(latency, 99),
        "max_ms": max(latency),
    }


def health_spec(folder: Path, options: Any) -> tuple[Any, np.ndarray]:
    """The Health MLP (ResiliNet, random weights) saved in ``folder``, its deployment spec
    under launch ``options``, and 256 random examples."""
    from resilinet_cli.config import load_config
    from resilinet_cli.live.launch import model_spec
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.variants import topology_of

    case = MODELS["health"]
    config = load_config(CONFIGS / case.config)
    if not (folder / "model.keras").exists():
        model, _ = build_from_config(
            config, "resilinet", input_shape=case.shape, num_classes=case.classes, seed=0
        )
        model.save(folder / "model.keras")
    topology = topology_of(config, "resilinet")
    prior = [1 / case.classes] * case.classes
    spec = model_spec(folder / "model.keras", topology, prior, options)
    x = np.random.default_rng(0).normal(size=(256, *case.shape)).astype("float32")
    return spec, x


def saturation(folder: Path, seconds: float) -> list[dict[str, Any]]:
    """Closed-loop throughput at 1, 4 and 8 clients, batching off and on, healthy and with
    edge killed (the module's docstring)."""
    from resilinet_cli.live.deployment import Deployment
    from resilinet_cli.live.launch import LaunchOptions
    from resilinet_cli.live.load_curve import load_curve

    rows = []
    for window in (0.0, 5.0):
        options = LaunchOptions(batch_window_ms=window, max_batch=8)
        spec, x = health_spec(folder, options)
        steps = [(clients, None) for clients in (1, 4, 8)]
        with Deployment.start(spec, folder / f"window-{window:g}") as deployment:
            table = load_curve(deployment, x, steps, seconds, dead="edge")
        rows += table.to_dict("records")
    plain = {(r["condition"], r["clients"]): r["answered_rps"] for r in rows
             if r["batch_window_ms"] == 0}  # fmt: skip
    for row in rows:
        row["vs_unbatched"] = row["answered_rps"] / plain[(row["condition"], row["clients"])]
    return rows


SATURATION_HEADER = [
    "condition", "clients", "batch_window_ms", "answered_rps", "latency_p50_ms",
    "latency_p99_ms", "client_cpu_share", "vs_unbatched",
]  # fmt: skip


def measure(deadline_ms: float, requests: int, folder: Path) -> list[dict[str, Any]]:
    from resilinet_cli.live.client import LiveClient
    from resilinet_cli.live.deployment import Deployment
    from resilinet_cli.live.launch import LaunchOptions

    spec, x = health_spec(folder, LaunchOptions(deadline_ms=deadline_ms))
    topology = spec.topology
    fog2, edge = topology.failable.index("fog2"), topology.failable.index("edge")
    rows = []
    with Deployment.start(spec, folder) as deployment, LiveClient(spec) as client:
        stream(client, x, 50)  # warm-up
        healthy, seconds = stream(client, x, requests)
        overhead = [(a.latency_ms - sum(a.compute_ms.values())) / CRITICAL_CALLS for a in healthy]
        compute = [statistics.mean(a.compute_ms.values()) for a in healthy]
        rows.append(
            {
                "case": "healthy",
                "deadline_ms": deadline_ms,
                **figures(healthy, seconds),
                "hop_overhead_p50_ms": percentile(overhead, 50),
                "node_compute_p50_ms": percentile(compute, 50),
            }
        )
        for action, node, index, resume in (
            ("hang", "fog2", fog2, "resume"),
            ("kill", "edge", edge, "restart"),
        ):
            if action == "hang":
                since = time.perf_counter()
                deployment.hang(node)
            else:
                deployment.kill(node)  # returns once the process is gone
                since = time.perf_counter()
            detect, _ = until(client, x, index, "0", since)
            answers, seconds = stream(client, x, requests)
            after = [a.latency_ms for a in answers]
            if resume == "resume":
                since = time.perf_counter()
                deployment.resume(node)
            else:
                deployment.restart(node)  # returns once it serves again
                since = time.perf_counter()
            recover, _ = until(client, x, index, "1", since)
            rows.append(
                {
                    "case": f"{node}_{'hung' if action == 'hang' else 'killed'}",
                    "deadline_ms": deadline_ms,
                    **figures(answers, seconds),
                    "detect_ms": 1000 * detect,
                    "after_over_deadline": sum(ms >= deadline_ms for ms in after),
                    "recover_ms": 1000 * recover,
                }
            )
    return rows


HEADER = [
    "case",
    "deadline_ms",
    "rps",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "detect_ms",
    "after_over_deadline",
    "recover_ms",
    "hop_overhead_p50_ms",
    "node_compute_p50_ms",
]


def print_table(rows: list[dict[str, Any]], header: list[str] = HEADER) -> None:
    """The figures side by side, as a Markdown table (the README quotes it)."""
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        cells = [
            f"{row[k]:.4g}" if isinstance(row.get(k), float) else str(row.get(k, ""))
            for k in header
        ]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadlines", default="100,200", help="per-hop deadlines in ms")
    parser.add_argument("--requests", type=int, default=1000, help="requests per case")
    parser.add_argument("--part", choices=["latency", "saturation", "all"], default="latency")
    parser.add_argument("--seconds", type=float, default=8.0, help="per saturation step")
    parser.add_argument("--csv", type=Path, help="also write the saturation rows to this CSV")
    args = parser.parse_args()
    from resilinet_cli.quiet_import import quiet_tensorflow_import

    quiet_tensorflow_import()
    if args.part in ("latency", "all"):
        rows = []
        for deadline in (float(d) for d in args.deadlines.split(",")):
            with tempfile.TemporaryDirectory() as folder:
                rows += measure(deadline, args.requests, Path(folder))
        print_table(rows)
        print_results(rows)
    if args.part in ("saturation", "all"):
        with tempfile.TemporaryDirectory() as folder:
            rows = saturation(Path(folder), args.seconds)
        print_table(rows, SATURATION_HEADER)
        if args.csv:
            import pandas as pd

            pd.DataFrame(rows)[SATURATION_HEADER].to_csv(args.csv, index=False)
        print_results(rows)


if __name__ == "__main__":
    main()
