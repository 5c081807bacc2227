"""What making every result file durable (fsync) costs a real run, as a share of its wall time.

    python -m bench.atomic_writes                              # the quickstart, as configured
    python -m bench.atomic_writes --set train.epochs=5         # shorter: a larger share

The run is ``configs/quickstart.yaml`` into a fresh temporary folder, through the same code as
``resilinet run``. Every ``os.fsync`` that the atomic writes make is timed as it happens, so the
ratio fsync time / wall time comes from one run, side by side. Target: below 1 %.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import CONFIGS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    from resilinet_cli.config import load_config
    from resilinet_cli.experiments.kinds import plan_units
    from resilinet_cli.experiments.runner import run_experiment

    spent = {"seconds": 0.0, "calls": 0}
    real_fsync = os.fsync

    def timed_fsync(descriptor: int) -> None:
        start = time.perf_counter()
        real_fsync(descriptor)
        spent["seconds"] += time.perf_counter() - start
        spent["calls"] += 1

    os.fsync = timed_fsync
    config = load_config(CONFIGS / "quickstart.yaml", args.overrides)
    units = plan_units(config, config.variants, range(1, config.iterations + 1))
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        run_experiment(config, Path(folder) / config.name, units, verbose=0)
        wall = time.perf_counter() - start
    share = spent["seconds"] / wall
    print(
        f"RESULT atomic_writes quickstart: wall {wall:.1f} s, {spent['calls']} fsyncs "
        f"{spent['seconds']:.3f} s, share {100 * share:.3f} % (target < 1 %)"
    )


if __name__ == "__main__":
    main()
