"""A fan-in unit live (docs/sensors.md): one process per device and one for the hub, which
takes the client's example, sends each device the example with the pull (the device computes
on its own view), and aggregates what arrives. Live answers equal the sweep's for every
combination seen while a device is killed and another hung, with the hub's mean over live
devices."""

from __future__ import annotations

import pandas as pd
import pytest
from live_helpers import DEADLINE_MS, invoke, node_processes

from resilinet_cli.config import load_config

CHAOS = "kill wrist@1s, hang chest@2.5s, resume chest@4s"


@pytest.fixture(scope="module")
def sensors(tmp_path_factory):
    """health3 on digits with a mean hub; untrained weights do: live must equal simulated."""
    import keras

    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.results import runs

    folder = tmp_path_factory.mktemp("live-sensors")
    path = folder / "h3.yaml"
    path.write_text(
        "name: h3\ndataset: {name: digits}\ntopology: health3\n"
        "model: {name: mlp, hidden_units: 16}\n"
    )
    config = load_config(path, ["topology.aggregate=mean"])
    keras.utils.set_random_seed(4)
    model, _ = build_from_config(config, "resilinet", input_shape=(64,), num_classes=10, seed=4)
    run = folder / "run"
    runs.prepare_run_folder(run, config)
    unit_dir = run / "runs" / "resilinet" / "iter-1"
    unit_dir.mkdir(parents=True)
    model.save(unit_dir / "model.keras")
    return unit_dir


def test_live_equals_simulated_while_devices_fail(sensors):
    code, stdout, stderr = invoke("live-eval", str(sensors), "--chaos", CHAOS,
                                  "--deadline-ms", str(DEADLINE_MS))  # fmt: skip
    assert code == 0, stderr
    assert "all 8 nodes ready" in stdout  # three devices, the hub and the four chain nodes
    summary = pd.read_csv(sensors / "live-eval" / "live_summary.csv", dtype={"combination": str})
    assert summary["differing"].sum() == 0
    # fog1, fog2, edge, chest, wrist, ankle: the wrist dead, then the chest hung too
    assert {"111101", "111001"} <= set(summary["combination"])
    assert summary.loc[summary["combination"] == "111101", "examples"].item() > 0
    spec = sensors / "live-eval" / "deployment" / "spec.json"
    assert spec.is_file() and not node_processes(spec)  # every process of the deployment ended
