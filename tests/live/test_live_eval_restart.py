"""``resilinet live-eval`` that starts its own deployment and, inside the run, kills a node and
restarts it: the restarted node contributes again, no prediction differs from the simulated
one, and live-eval stops every process it started."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from live_helpers import DEADLINE_MS, invoke, node_processes


def test_live_eval_kills_and_restarts_a_node_inside_its_own_deployment(
    live_run: Path, tmp_path: Path
) -> None:
    unit_dir = live_run / "runs" / "resilinet" / "iter-1"
    out = tmp_path / "eval"
    code, stdout, stderr = invoke(
        "live-eval", str(unit_dir), "--chaos", "kill edge@0.5s, restart edge@1.5s",
        "--deadline-ms", str(DEADLINE_MS), "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert not node_processes(out / "deployment" / "spec.json")  # gone with live-eval
    assert "predictions differing from the simulated ones: 0" in stdout
    rows = pd.read_csv(out / "live.csv", dtype={"contributed": str})
    # fog1, fog2, edge: all up, edge dead, then edge back after its restart
    killed = rows.index[rows["contributed"] == "110"]
    assert len(killed) > 0
    assert (rows.loc[killed.max() :, "contributed"] == "111").any()
    assert rows.loc[: killed.min(), "contributed"].iloc[0] == "111"
    events = pd.read_csv(out / "live_events.csv")
    assert list(events["event"]) == ["kill", "restart"]
    assert events["seen_after_ms"].notna().all()  # the kill and the return were both seen
    summary = pd.read_csv(out / "live_summary.csv", dtype={"combination": str})
    assert summary["differing"].sum() == 0
    assert {"111", "110"} <= set(summary["combination"])
