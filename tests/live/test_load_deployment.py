"""Eight clients at once, open loop, into a Health deployment whose nodes batch, under chaos.

``live-eval --clients 8 --rate R --batch-window-ms W`` starts the deployment, sends R requests
a second from eight clients (each request due at its own time, sent without waiting for the
answers before it), while fog2 hangs and resumes and edge is killed. Over a thousand answers
are compared with the sweep example by example: none differs, however the nodes batched them;
requests caught mid-transition (mixed views) are few and counted apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from live_helpers import DEADLINE_MS, invoke, node_processes

CLIENTS, RATE, SECONDS = 8, 80, 14
WINDOW_MS = 5.0


@pytest.fixture(scope="module")
def loaded(live_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("loaded") / "eval"
    unit_dir = live_run / "runs" / "resilinet" / "iter-1"
    code, stdout, stderr = invoke(
        "live-eval", str(unit_dir), "--clients", str(CLIENTS), "--rate", str(RATE),
        "--duration", str(SECONDS), "--batch-window-ms", str(WINDOW_MS), "--max-batch", "8",
        "--chaos", "hang fog2@2s, resume fog2@3.5s, kill edge@5s",
        "--deadline-ms", str(DEADLINE_MS), "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert not node_processes(out / "deployment" / "spec.json")  # all stopped
    return out, stdout


def test_eight_batched_clients_answer_as_the_sweep(loaded):
    out, stdout = loaded
    live = pd.read_csv(out / "live.csv", dtype={"contributed": str, "lost": str})
    summary = pd.read_csv(out / "live_summary.csv", dtype={"combination": str})
    compared = len(live) - int(live["mixed"].sum())
    assert compared >= 1000
    assert summary["differing"].sum() == 0
    assert live["mixed"].sum() <= 0.05 * len(live)
    assert sorted(set(live["client"])) == list(range(CLIENTS))
    assert {"111", "101", "110"} <= set(live["contributed"])  # all up, fog2 hung, edge dead
    # open loop: request i was due at i / RATE s, whatever the answers before it did
    due = np.sort(live["sent_at_ms"].to_numpy())
    assert np.allclose(np.diff(due)[: RATE // 2], 1000 / RATE, atol=1e-3)
    assert f"answers/s from {CLIENTS} client(s)" in stdout
    assert "% of the CPU that they and the nodes used" in stdout


def test_requests_waited_for_their_batch(loaded):
    """With a window, a request's queueing at a node includes its batch's wait: its p99 at the
    IoT node (where every request arrives alone) reaches into the window."""
    out, _ = loaded
    hops = pd.read_csv(out / "live_hops.csv").set_index(["hop", "kind"])
    assert hops.loc[("iot", "queue"), "p99_ms"] >= 0.5 * WINDOW_MS
    assert hops.loc[("iot", "queue"), "p99_ms"] < DEADLINE_MS
