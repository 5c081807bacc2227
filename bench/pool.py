"""Units in a local pool (``--workers N``) and on Ray (``--executor ray``) against the serial run.

    python -m bench.pool                                   # the quickstart: serial, 2 workers, Ray
    python -m bench.pool --workers 2 --set train.epochs=5  # shorter units: more overhead

The runs are real ``resilinet run`` commands into fresh temporary folders, one after the
other, on the same machine (Ray: a local instance with this machine's CPUs, one per unit). The
script prints each wall time, the ratios to the serial run, the units' own training time (from
their records), what a unit process costs before it trains (spawn and imports), and checks that
every run wrote byte-identical tables.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import CONFIGS


def timed_run(out: Path, config: Path, overrides: list[str], executor: list[str]) -> float:
    command = [sys.executable, "-m", "resilinet_cli", "run", str(config), "--out", str(out)]
    for override in overrides:
        command += ["--set", override]
    command += executor
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def start_up_seconds() -> float:
    """A fresh spawned interpreter that imports what a unit process imports, and exits."""
    code = (
        "from resilinet_cli.quiet_import import quiet_tensorflow_import\n"
        "quiet_tensorflow_import()\n"
        "import tensorflow, keras\n"
        "from resilinet_cli.experiments import runner\n"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIGS / "quickstart.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    executors = {
        "serial": ["--workers", "1"],
        f"--workers {args.workers}": ["--workers", str(args.workers)],
        "--executor ray": ["--executor", "ray"],
    }
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        walls, same = {}, True
        for i, (name, flags) in enumerate(executors.items()):
            walls[name] = timed_run(Path(tmp) / str(i), args.config, args.overrides, flags)
            same &= all(
                (Path(tmp) / str(i) / "tables" / table).read_bytes()
                == (Path(tmp) / "0" / "tables" / table).read_bytes()
                for table in ("weighted_accuracy.csv", "combinations.csv")
            )
        records = list((Path(tmp) / "0" / "runs").glob("**/iter-*/run.json"))
        training = sum(unit_seconds(record) for record in records)
    start_up = start_up_seconds()
    serial = walls["serial"]
    print(f"config {args.config.name} {' '.join(args.overrides)}: {len(records)} units")
    print(f"units' own time in the serial run (start to record): {training:.1f} s")
    for name, wall in walls.items():
        print(f"{name}: {wall:.1f} s, RESULT {name} / serial wall time: {wall / serial:.3f}")
    print(f"a unit process's start-up (spawn + imports): {start_up:.1f} s")
    print(f"tables byte-identical across executors: {same}")


def unit_seconds(record: Path) -> float:
    """Seconds from a unit's start to its finished record."""
    import datetime as dt
    import json

    data = json.loads(record.read_text())
    started, finished = (dt.datetime.fromisoformat(data[key]) for key in ("started", "finished"))
    return (finished - started).total_seconds()


if __name__ == "__main__":
    main()
