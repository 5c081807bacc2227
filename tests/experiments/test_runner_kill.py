"""SIGKILL a real ``resilinet run`` at random points; the reruns end where a clean run ends.

One run is killed five times: twice while training (between and within epochs, so a unit
resumes from its epoch checkpoint), once during a failure sweep, once at a random moment of the
second unit, and once while the tables and figures are being written. After every kill no file
of the results schema may be half-written; the final tables must equal those of an
uninterrupted run with the same seeds, byte for byte.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from paths import CONFIGS

from resilinet_cli.cli import main

SETS = [
    "train.epochs=3",
    "dataset.subset.train=400",
    "dataset.subset.val=100",
    "dataset.subset.test=300",
    "iterations=1",
]
SEED = int(os.environ.get("KILL_TEST_SEED", "7"))  # the random delays; printed on failure


def command(out: Path) -> list[str]:
    args = ["run", str(CONFIGS / "quickstart.yaml"), "--out", str(out)]
    args += ["--variants", "vanilla,resilinet"]
    for override in SETS:
        args += ["--set", override]
    return args


def unit(out: Path, variant: str) -> Path:
    return out / "runs" / variant / "iter-1"


def kill_when(out: Path, ready: Callable[[], bool], delay: float) -> bool:
    """Start the run, wait until ``ready()``, wait ``delay`` seconds more, then SIGKILL it.

    Returns whether the kill hit a running process (and not one that had already finished).
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "resilinet_cli", *command(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # A checkpoint after every epoch, so that kills can land around them.
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RESILINET_CHECKPOINT_SECONDS": "0"},
    )
    deadline = time.monotonic() + 300
    while not ready():
        assert process.poll() is None, f"the run ended before the kill point ({ready})"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.005)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    return process.wait() == -signal.SIGKILL


def exists(*paths: Path) -> Callable[[], bool]:
    """Ready once every one of ``paths`` exists."""

    def ready() -> bool:
        return all(path.exists() for path in paths)

    ready.__qualname__ = f"exists({', '.join(path.name for path in paths)})"
    return ready


def check_schema_files(out: Path) -> list[str]:
    """Every results file that exists is whole; returns the names checked."""
    checked = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if path.name.startswith("."):  # temporaries and checkpoints, not results
            continue
        if path.suffix == ".csv":
            pd.read_csv(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                assert archive.testzip() is None, path
        elif path.suffix == ".png":
            assert path.read_bytes().endswith(b"IEND\xaeB`\x82"), path
        elif path.suffix in (".md", ".tex", ".yaml"):
            assert path.read_text().strip(), path
        checked.append(path.name)
    return checked


def test_sigkill_at_five_points_then_rerun_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    vanilla, resilinet = unit(killed, "vanilla"), unit(killed, "resilinet")
    points = [
        # An epoch of 400 examples takes about 0.1 s: a later kill could miss epoch 2 entirely.
        (
            "training, within epoch 2",
            exists(vanilla / ".resume" / "epoch-00001"),
            rng.uniform(0, 0.1),
        ),
        ("training, as epoch 2 is saved", exists(vanilla / ".resume" / "epoch-00002"), 0.0),
        # The unit saves model.keras, then history.csv, then sweeps; a rerun sweeps the saved
        # model only if both are there, so a kill between the two would retrain it.
        (
            "failure sweep",
            exists(vanilla / "model.keras", vanilla / "history.csv"),
            rng.uniform(0, 0.05),
        ),
        ("second unit, at random", exists(resilinet / "run.json"), rng.uniform(0, 3)),
        ("writing tables", exists(killed / "tables"), rng.uniform(0, 0.2)),
    ]
    seen = {}
    for name, ready, delay in points:
        hit = kill_when(killed, ready, delay)
        seen[name] = (hit, check_schema_files(killed), sorted(p.name for p in vanilla.iterdir()))
        if name == "failure sweep":
            saved_model = (vanilla / "model.keras").stat().st_mtime_ns
    assert all(hit for hit, _, _ in seen.values()), seen
    # The sweep kill hit between the saved model and its combinations; the rerun swept the
    # saved model rather than training it again.
    swept = seen["failure sweep"][2]
    assert {"model.keras", "history.csv"} <= set(swept) and "combinations.csv" not in swept, seen
    assert (vanilla / "model.keras").stat().st_mtime_ns == saved_model

    resumed = CliRunner().invoke(main, command(killed), catch_exceptions=False)
    assert resumed.exit_code == 0, resumed.output
    assert CliRunner().invoke(main, command(clean), catch_exceptions=False).exit_code == 0
    for table in ("weighted_accuracy.csv", "combinations.csv"):
        got = (killed / "tables" / table).read_bytes()
        assert got == (clean / "tables" / table).read_bytes(), f"{table} (seed {SEED})"
    for variant in ("vanilla", "resilinet"):
        for name in ("history.csv", "combinations.csv"):
            got = (unit(killed, variant) / name).read_bytes()
            assert got == (unit(clean, variant) / name).read_bytes(), f"{variant}/{name}"
    check_schema_files(killed)
    assert [p for p in killed.rglob("*") if ".tmp" in p.name or p.name == ".resume"] == []
