"""Units in a local pool (``--workers N``) and on Ray (``--executor ray``) against the serial run.

    python -m bench.pool                                   # the quickstart: serial, 2 workers, Ray
    python -m bench.pool --workers 2 --set train.epochs=5  # shorter units: more overhead
    python -m bench.pool --digits-profile                  # the quick profile's digits part

The runs are real ``resilinet run`` (or ``reproduce``) commands into fresh temporary folders,
one after the other, on the same machine (Ray: a local instance with this machine's CPUs). The
script prints each wall time, the ratios to the serial run, the units' own training time (from
their records), what a unit process costs before it trains (spawn and imports), and checks that
every run wrote byte-identical tables. Ray's per-unit overhead is measured by one more Ray run
whose units each ask for every CPU, so that they run one at a time as in the serial run: its
extra wall time per trained unit is the worker's start-up plus Ray's scheduling and the return
of the unit's files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import CONFIGS


def timed_run(out: Path, command: list[str], executor: list[str]) -> float:
    command = [sys.executable, "-m", "resilinet_cli", *command, "--out", str(out), *executor]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def start_up_seconds() -> float:
    """A fresh spawned interpreter that imports what a unit process imports, and exits."""
    code = (
        "from resilinet_cli.quiet_import import quiet_tensorflow_import\n"
        "quiet_tensorflow_import()\n"
        "import tensorflow, keras\n"
        "from resilinet_cli.experiments import unit\n"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def ray_start_seconds() -> float:
    """How long a run takes to start (and stop) its own local Ray instance."""
    code = (
        "import logging, time, ray\n"
        "start = time.perf_counter()\n"
        "ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)\n"
        "ray.shutdown()\n"
        "print(time.perf_counter() - start)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIGS / "quickstart.yaml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument(
        "--digits-profile",
        action="store_true",
        help="reproduce the quick profile's digits experiments instead of running --config",
    )
    args = parser.parse_args()
    cpus = str(os.cpu_count() or 1)
    executors = {
        "serial": ["--workers", "1"],
        f"--workers {args.workers}": ["--workers", str(args.workers)],
        "--executor ray": ["--executor", "ray"],
        "--executor ray, one unit at a time": ["--executor", "ray", "--num-cpus", cpus],
    }
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as tmp:
        if args.digits_profile:
            command = ["reproduce", "--profile", str(digits_profile(Path(tmp)))]
        else:
            command = ["run", str(args.config)]
            for override in args.overrides:
                command += ["--set", override]
        walls, same = {}, True
        for i, (name, flags) in enumerate(executors.items()):
            walls[name] = timed_run(Path(tmp) / str(i), command, flags)
            same &= same_tables(Path(tmp) / str(i), Path(tmp) / "0")
        records = [json.loads(p.read_text()) for p in (Path(tmp) / "0").glob("**/iter-*/run.json")]
        trained = [record for record in records if "reused_from" not in record]
        training = sum(unit_seconds(record) for record in trained)
    start_up = start_up_seconds()
    ray_start = ray_start_seconds()
    serial = walls["serial"]
    print(f"{' '.join(command[:2])}: {len(records)} units, {len(trained)} trained")
    print(f"units' own time in the serial run (start to record): {training:.1f} s")
    for name, wall in walls.items():
        print(f"{name}: {wall:.1f} s, RESULT {name} / serial wall time: {wall / serial:.3f}")
    print(f"a unit process's start-up (spawn + imports): {start_up:.1f} s")
    print(f"a local Ray instance's start and stop: {ray_start:.1f} s")
    overhead = (walls["--executor ray, one unit at a time"] - serial - ray_start) / len(trained)
    rest = overhead - start_up
    split = (
        f"{rest:.2f} s scheduling and the files' return"
        if rest > 0
        else "scheduling and the files' return are within this measurement's noise"
    )
    print(
        f"Ray, per trained unit: {training / len(trained):.2f} s of its own, "
        f"{overhead:.2f} s more wall time on Ray (besides its start); a fresh worker's "
        f"start-up alone is {start_up:.1f} s, {split}"
    )
    print(f"tables byte-identical across executors: {same}")


def digits_profile(folder: Path) -> Path:
    """The quick profile's experiments on digits, as a profile file of their own."""
    quick = yaml.safe_load((CONFIGS / "profiles" / "quick.yaml").read_text())
    entries = [e for e in quick["experiments"] if "fashion" not in e["config"]]
    (folder / "configs" / "profiles").mkdir(parents=True)
    shutil.copytree(CONFIGS, folder / "configs", dirs_exist_ok=True)
    path = folder / "configs" / "profiles" / "digits.yaml"
    path.write_text(yaml.safe_dump({"description": "quick, digits part", "experiments": entries}))
    return path


def same_tables(out: Path, reference: Path) -> bool:
    """Every table under ``out`` equals its counterpart under ``reference``, byte for byte."""
    tables = sorted(reference.glob("**/tables/*.csv"))
    return bool(tables) and all(
        (out / t.relative_to(reference)).read_bytes() == t.read_bytes() for t in tables
    )


def unit_seconds(record: dict) -> float:
    """Seconds from a unit's start to its finished record."""
    import datetime as dt

    started, finished = (dt.datetime.fromisoformat(record[key]) for key in ("started", "finished"))
    return (finished - started).total_seconds()


if __name__ == "__main__":
    main()
