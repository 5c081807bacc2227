"""The methods block that opens a run's REPORT.md: setup, software and cost, from its files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resilinet_cli.config import load_config
from resilinet_cli.results.methods import duration, methods_text


def block(report: Path) -> list[str]:
    page = report.read_text()
    start = page.index("**Methods**")
    return page[start : page.index("\n\n", page.index("- Topology", start))].splitlines()


def test_a_runs_report_opens_with_its_methods(smoke_serial: Path) -> None:
    import keras
    import tensorflow as tf

    lines = block(smoke_serial / "REPORT.md")
    assert lines[2:7] == [
        "- Topology: iot → edge → fog2 → fog1 → cloud; skip hyperconnections iot → fog2, "
        "edge → fog1, fog2 → cloud; failable nodes fog1, fog2, edge.",
        "- Reliability (survival of fog1, fog2, edge): no_failure (1, 1, 1); normal (0.99, 0.96, "
        "0.92); poor (0.95, 0.91, 0.87); hazardous (0.85, 0.8, 0.78).",
        "- Data: digits, split seed 42, examples used: train 300, val 100, test 100.",
        "- Model and training: mlp, partition 1; 1 epoch, batch 64; Adam (learning rate 0.001, "
        "constant); the weights of the best validation epoch; failout survival 0.9 per batch; "
        "hyperconnection weight scheme 1.",
        "- Iterations: 2 per variant (vanilla, resilinet), seeds 0 to 1 (iteration k uses "
        "seed + k - 1 for every variant, so iterations pair across variants).",
    ]
    software = lines[7]
    assert f"TensorFlow {tf.__version__}" in software and f"Keras {keras.__version__}" in software
    records = [json.loads(p.read_text()) for p in smoke_serial.glob("runs/*/iter-*/run.json")]
    assert f"git commit {records[0]['git']['commit'][:12]}" in software
    total = sum(r["wall_seconds"] for r in records)
    assert lines[8].startswith(f"- Wall time: {duration(total)} over 4 units, between ")
    # The page comes first, then what the experiment is.
    page = (smoke_serial / "REPORT.md").read_text()
    assert page.index("**Methods**") < page.index("Every variant under every reliability")


def test_the_config_alone_gives_the_planned_iterations_and_no_software_line(
    tmp_path: Path,
) -> None:
    from paths import CONFIGS

    config = load_config(CONFIGS / "fashion_mobilenet.yaml", ["train.optimizer.name=sgd"])
    text = methods_text(config, [])
    assert "- Data: fashion_mnist, split seed 42, examples used: train 15,000, val 2,000, " in text
    assert "images padded to 32x32x3" in text
    assert "SGD (learning rate 0.001, constant)" in text
    assert (
        "- Iterations: 1 per variant (vanilla, deepfogguard, resilinet, resilinet_plus), seed 0"
        in text
    )
    assert "Software" not in text and "Wall time" not in text


def test_an_ablation_counts_iterations_not_units() -> None:
    from paths import CONFIGS

    config = load_config(CONFIGS / "ablations" / "digits_hyperconnection_weight.yaml")
    records = [
        {"unit": {"variant": "resilinet", "iteration": k, "seed": k - 1, "value": str(level)}}
        for level in (1, 4, 5)
        for k in (1, 2)
    ]
    assert "- Iterations: 2 per variant (resilinet), seeds 0 to 1 " in methods_text(config, records)


@pytest.mark.parametrize(
    ("seconds", "text"), [(45.25, "45.2 s"), (750, "12 min 30 s"), (7500, "2 h 5 min")]
)
def test_durations_read_as_people_write_them(seconds: float, text: str) -> None:
    assert duration(seconds) == text
