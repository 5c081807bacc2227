"""A live Health deployment (ResiliNet) whose every link is shaped: 40 ms each, and one link
losing a fifth of its messages, seeded. ``live-eval --links`` starts it, streams for a few
seconds and stops it: each request is late by the four hops of its longest path, exactly the
seeded requests lose their message (counted apart), and live still equals simulated. Its five
node processes start together, each shown as it becomes ready, with its time to ready."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from live_helpers import DEADLINE_MS, invoke, node_processes

from resilinet_cli.live.shaping import draw

LATENCY_MS = 40.0
HOPS = 4  # iot -> edge -> fog2 -> fog1 -> cloud: the longest path a reply travels
LOSSY = "edge->fog2"
LOSS, SEED = 0.2, 1
SLACK_MS = 80.0  # scheduling noise allowed above the links' latency, on a shared machine


@pytest.fixture(scope="module")
def shaped(live_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("shaped")
    links = {
        f"{src}->{dst}": {"latency": LATENCY_MS}
        for src, dst in [("iot", "edge"), ("edge", "fog2"), ("fog2", "fog1"), ("fog1", "cloud"),
                         ("iot", "fog2"), ("edge", "fog1"), ("fog2", "cloud")]
    }  # fmt: skip
    links[LOSSY]["loss"] = LOSS
    path = folder / "links.yaml"
    path.write_text(yaml.safe_dump({"seed": SEED, "links": links}))
    unit_dir = live_run / "runs" / "resilinet" / "iter-1"
    code, stdout, stderr = invoke(
        "live-eval", str(unit_dir), "--links", str(path), "--duration", "8",
        "--deadline-ms", str(DEADLINE_MS), "--out", str(folder / "eval"),
    )  # fmt: skip
    assert code == 0, stderr
    spec = folder / "eval" / "deployment" / "spec.json"
    assert spec.is_file() and not node_processes(spec)  # live-eval stopped what it started
    return folder / "eval", stdout


def test_exactly_the_seeded_messages_are_lost_and_counted_apart(shaped):
    out, stdout = shaped
    live = pd.read_csv(out / "live.csv", dtype={"contributed": str, "lost": str})
    live["lost"] = live["lost"].fillna("")
    ids = [f"example-{i}" for i in range(len(live))]
    expected = [LOSSY if draw(SEED, LOSSY, rid, "loss") < LOSS else "" for rid in ids]
    assert list(live["lost"]) == expected
    lost = live["lost"] != ""
    assert 0 < lost.sum() < len(live)
    summary = pd.read_csv(out / "live_summary.csv", dtype={"combination": str})
    assert summary["lost_message"].sum() == lost.sum()
    assert summary["differing"].sum() == 0 and summary["mixed_view"].sum() == 0
    assert summary["examples"].sum() == len(live)
    assert "predictions differing from the simulated ones: 0" in stdout
    # the sender is never taken for dead: every request after a loss has all nodes contributing
    assert set(live["contributed"]) == {"111"}
    # a lost message costs its request a wait for the deadline (edge's pull: level 2)
    assert (live.loc[lost, "latency_ms"] >= 2 * DEADLINE_MS).all()


def test_each_hop_adds_the_links_latency(shaped):
    out, _ = shaped
    live = pd.read_csv(out / "live.csv", dtype={"lost": str})
    delivered = live[live["lost"].isna()]["latency_ms"].to_numpy()
    assert len(delivered) >= 10
    assert delivered.min() >= HOPS * LATENCY_MS
    assert np.median(delivered) <= HOPS * LATENCY_MS + SLACK_MS


def test_links_csv_says_which_path_each_setting_took(shaped):
    out, _ = shaped
    links = pd.read_csv(out / "links.csv")
    assert len(links) == 7 and set(links["latency_ms"]) == {LATENCY_MS}
    assert links.set_index("link").loc[LOSSY, "loss"] == LOSS
    for setting in ("bandwidth", "latency", "jitter", "loss"):
        assert set(links[f"{setting}_path"]) == {"transport"}


def test_each_nodes_start_is_shown_with_its_time_to_ready(shaped):
    out, stdout = shaped
    nodes = ["iot", "edge", "fog2", "fog1", "cloud"]
    assert f"starting 5 node processes in parallel ({', '.join(nodes)})" in stdout
    ready = pd.read_csv(out / "live_startup.csv")
    assert sorted(ready["node"]) == sorted(nodes) and (ready["ready_s"] > 0).all()
    for node, seconds in ready.itertuples(index=False):
        assert f"{node:>8}  ready after {seconds:.1f} s" in stdout
    assert f"all 5 nodes ready after {ready['ready_s'].max():.1f} s" in stdout
    # started together: the last is ready long before the five start-ups added up
    assert ready["ready_s"].max() < ready["ready_s"].sum() / 2
