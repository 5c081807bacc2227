"""Standby failover live: the edge's primary killed (or hung) mid-stream, its standby takes over.

    python -m bench.replica_failover                  # 5 kills and 5 hangs, deadline 200 ms
    python -m bench.replica_failover --kills 9 --deadline-ms 100

The Health MLP of configs/health.yaml as ResiliNet with a standby of the edge (``replicas:
{edge: 2}``; random weights: timing does not depend on training) is deployed as six processes
on 127.0.0.1 (iot, edge, edge_r2, fog2, fog1, cloud). A client streams requests one at a time
(batch 1) while the edge's primary is killed (SIGKILL) or hung (SIGSTOP), then restarted (or
resumed) until the primary serves again; repeated ``--kills`` times. Per failure it measures:

- detect: from the failure until the first answer that no longer reports the primary
  contributing (a receiver found it dead: a refused connection, a failed health check, or a
  missed deadline);
- recover: from the failure until the first answer served by the standby (the receiver calls
  the next replica in the same request, so a request that finds the primary dead is already
  answered by the standby: recover = detect unless the standby is down too);
- exit (kill only): from the SIGKILL until the process is gone (the kernel has torn it down
  and closed its sockets: only then is a connection refused);
- failover latency: the largest latency of the requests in flight at the failure or sent
  until the standby serves; and requests lost (no answer), expected 0.

It prints the medians over the failures beside FailLite's 175.5 ms MTTR (arXiv 2504.15856).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CONFIGS, MODELS, print_results

FAILLITE_MTTR_MS = 175.5  # FailLite (arXiv 2504.15856): mean time to recovery, 27 models
VARIANT = "resilinet+standby"


@dataclass
class Stream:
    """Requests sent back to back from a thread: (sent, done, contributed) per answer."""

    client: Any
    x: np.ndarray
    answers: list[tuple[float, float, str]] = field(default_factory=list)
    lost: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import grpc

        i = 0
        while not self.stop.is_set():
            sent = time.perf_counter()
            try:
                answer = self.client.infer(self.x[i % len(self.x) : i % len(self.x) + 1])
            except grpc.RpcError:
                self.lost.append(sent)
            else:
                self.answers.append((sent, time.perf_counter(), answer.contributed))
            i += 1

    def wait_for(self, column: int, bit: str, since: float, seconds: float = 30.0) -> float:
        """The done time of the first answer after ``since`` with ``column`` at ``bit``."""
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            for _, done, bits in reversed(self.answers[-50:]):
                if done > since and bits[column] == bit:
                    return min(d for _, d, b in self.answers if d > since and b[column] == bit)
            time.sleep(0.005)
        raise RuntimeError(f"no answer with column {column} = {bit} within {seconds} s")


def deployed_spec(folder: Path, deadline_ms: float) -> Any:
    from resilinet_cli.config import load_config
    from resilinet_cli.live.launch import LaunchOptions, model_spec
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.variants import topology_of

    case = MODELS["health"]
    path = folder / "standby.yaml"
    path.write_text(
        f"base: {CONFIGS / case.config}\nvariants: ['{VARIANT}']\n"
        f"techniques:\n  '{VARIANT}': {{replicas: {{edge: 2}}}}\n"
    )
    config = load_config(path)
    model, _ = build_from_config(
        config, VARIANT, input_shape=case.shape, num_classes=case.classes, seed=0
    )
    model.save(folder / "model.keras")
    topology = topology_of(config, VARIANT)
    prior = [1 / case.classes] * case.classes
    options = LaunchOptions(deadline_ms=deadline_ms)
    return model_spec(folder / "model.keras", topology, prior, options), case


def measure(kills: int, deadline_ms: float, folder: Path) -> list[dict[str, Any]]:
    from resilinet_cli.live.client import LiveClient
    from resilinet_cli.live.deployment import Deployment

    spec, case = deployed_spec(folder, deadline_ms)
    columns = list(spec.topology.alive_columns)
    primary, standby = columns.index("edge"), columns.index("edge_r2")
    x = np.random.default_rng(0).normal(size=(256, *case.shape)).astype("float32")
    rows = []
    with Deployment.start(spec, folder) as deployment, LiveClient(spec) as client:
        stream = Stream(client, x)
        thread = threading.Thread(target=stream.run, daemon=True)
        thread.start()
        try:
            stream.wait_for(primary, "1", 0.0)
            for action in ("kill", "hang"):
                for k in range(kills):
                    time.sleep(0.5)  # a healthy stretch before each failure
                    rows.append(fail_over(deployment, stream, action, primary, standby, k))
        finally:
            stream.stop.set()
            thread.join(timeout=10)
    return rows


def fail_over(
    deployment: Any, stream: Stream, action: str, primary: int, standby: int, k: int
) -> dict[str, Any]:
    """One failure of the edge's primary and its return; the figures of that failure."""
    lost_before = len(stream.lost)
    at = time.perf_counter()
    exited = float("nan")
    if action == "kill":
        deployment.processes["edge"].kill()  # SIGKILL
        deployment.processes["edge"].wait()  # until the kernel has torn the process down
        exited = time.perf_counter()
    else:
        deployment.hang("edge")
    detected = stream.wait_for(primary, "0", at)
    recovered = stream.wait_for(standby, "1", at)
    window = [done - sent for sent, done, _ in stream.answers if done > at and sent <= recovered]
    if action == "kill":
        deployment.restart("edge")  # back on its port, serving
    else:
        deployment.resume("edge")
    stream.wait_for(primary, "1", time.perf_counter())
    return {
        "failure": action,
        "round": k,
        "exit_ms": 1000 * (exited - at),  # kill: until the process is gone (its sockets close)
        "detect_ms": 1000 * (detected - at),
        "recover_ms": 1000 * (recovered - at),
        "failover_latency_ms": 1000 * max(window),
        "lost": len(stream.lost) - lost_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5, help="failures of each kind")
    parser.add_argument("--deadline-ms", type=float, default=200.0, help="per-hop deadline")
    args = parser.parse_args()
    from resilinet_cli.quiet_import import quiet_tensorflow_import

    quiet_tensorflow_import()
    with tempfile.TemporaryDirectory() as folder:
        rows = measure(args.kills, args.deadline_ms, Path(folder))
    for action in ("kill", "hang"):
        mine = [r for r in rows if r["failure"] == action]
        medians = {
            key: statistics.median(r[key] for r in mine)
            for key in ("exit_ms", "detect_ms", "recover_ms", "failover_latency_ms")
        }
        print(
            f"{action:>4} x{len(mine)} (deadline {args.deadline_ms:g} ms): median exit "
            f"{medians['exit_ms']:.1f} ms, detect "
            f"{medians['detect_ms']:.1f} ms, recover {medians['recover_ms']:.1f} ms, failover "
            f"latency {medians['failover_latency_ms']:.1f} ms, lost {sum(r['lost'] for r in mine)}"
            f" (FailLite MTTR {FAILLITE_MTTR_MS} ms)"
        )
    print_results(rows)


if __name__ == "__main__":
    main()
