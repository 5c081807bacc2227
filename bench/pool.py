"""A local pool of unit processes (``--workers N``) against the serial run, side by side.

    python -m bench.pool                                   # the quickstart, serial vs 2 workers
    python -m bench.pool --workers 2 --set train.epochs=5  # shorter units: more overhead

Both runs are real ``resilinet run`` commands into fresh temporary folders, one after the
other, on the same machine; the script prints each wall time, their ratio, what one unit
process costs before it trains (spawn, imports, data), and checks that both runs wrote
byte-identical tables.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import CONFIGS


def timed_run(out: Path, config: Path, overrides: list[str], workers: int) -> float:
    command = [sys.executable, "-m", "resilinet_cli", "run", str(config), "--out", str(out)]
    for override in overrides:
        command += ["--set", override]
    command += ["--workers", str(workers)]
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
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        serial = timed_run(Path(tmp) / "serial", args.config, args.overrides, 1)
        pooled = timed_run(Path(tmp) / "pool", args.config, args.overrides, args.workers)
        same = all(
            (Path(tmp) / "serial" / "tables" / name).read_bytes()
            == (Path(tmp) / "pool" / "tables" / name).read_bytes()
            for name in ("weighted_accuracy.csv", "combinations.csv")
        )
        units = len(list((Path(tmp) / "pool" / "runs").glob("**/iter-*/run.json")))
    start_up = start_up_seconds()
    print(f"config {args.config.name} {' '.join(args.overrides)}: {units} units")
    print(f"serial: {serial:.1f} s")
    print(f"--workers {args.workers}: {pooled:.1f} s")
    print(f"RESULT pool/serial wall time: {pooled / serial:.3f}")
    print(f"unit process start-up (spawn + imports): {start_up:.1f} s per unit")
    print(f"tables byte-identical: {same}")


if __name__ == "__main__":
    main()
