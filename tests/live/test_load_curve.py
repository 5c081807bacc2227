"""``resilinet live-load``: a deployment's throughput and latency against offered load, healthy
and with a node killed, as a table and a figure; the clients' CPU share beside them."""

from __future__ import annotations

import pandas as pd
from live_helpers import DEADLINE_MS, invoke, node_processes

from resilinet_cli.live.load_curve import LOAD_COLUMNS

RATES = (20, 40)


def test_a_load_curve_healthy_and_with_edge_dead(live_run, tmp_path):
    out = tmp_path / "load"
    unit_dir = live_run / "runs" / "resilinet" / "iter-1"
    code, stdout, stderr = invoke(
        "live-load", str(unit_dir), "--rates", ",".join(map(str, RATES)), "--seconds", "2",
        "--clients", "4", "--dead", "edge", "--deadline-ms", str(DEADLINE_MS), "--out", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert not node_processes(out / "deployment" / "spec.json")
    table = pd.read_csv(out / "live_load.csv")
    assert list(table.columns) == LOAD_COLUMNS
    assert list(table["condition"]) == ["healthy"] * 2 + ["edge dead"] * 2
    assert list(table["offered_rps"]) == [*RATES, *RATES]
    assert (table["clients"] == 4).all()
    # below saturation every request is answered, at the offered rate (±15 % over 2 s)
    assert (table["unanswered"] == 0).all()
    gap = (table["answered_rps"] - table["offered_rps"]).abs()
    assert (gap <= 0.15 * table["offered_rps"]).all()
    assert (table["latency_p50_ms"] <= table["latency_p99_ms"]).all()
    assert table["client_cpu_share"].between(0, 1, inclusive="neither").all()
    assert (out / "live_load.png").stat().st_size > 10_000
    assert "edge dead" in stdout and "clients' CPU" in stdout
