"""A serial run with the imports' objects frozen (``unit.freeze_imports``) against one without.

    python -m bench.gc_freeze                                  # quickstart, 2 epochs, 3 rounds
    python -m bench.gc_freeze --set train.epochs=30 --rounds 1 # the quickstart as shipped

Each case is a real ``resilinet run`` of the same config in a fresh interpreter, the two cases
taking turns for ``--rounds`` rounds; the baseline marks the process as frozen already, so that
``freeze_imports`` does nothing. Python's ``gc.callbacks`` time every garbage collection. The
script prints each case's median wall time, collections and time in them, the ratio of the wall
times, and checks that both cases wrote byte-identical tables.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import CONFIGS
from bench.pool import same_tables

# Runs in the fresh interpreter: the run, timed, and every collection, timed by gc.callbacks.
CASE = """
import gc, json, sys, time
from resilinet_cli.cli import main
from resilinet_cli.experiments import unit
if sys.argv[1] == "off":
    unit._frozen = True  # the baseline: freeze_imports() does nothing
spent, started = [0.0, 0], [0.0]
def timer(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        spent[0] += time.perf_counter() - started[0]
        spent[1] += 1
gc.callbacks.append(timer)
start = time.perf_counter()
main.main(sys.argv[2:], standalone_mode=False)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "gc_seconds": spent[0], "collections": spent[1]}))
"""


def run_case(freeze: str, out: Path, command: list[str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CASE, freeze, *command, "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIGS / "quickstart.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=["train.epochs=2"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    command = ["run", str(args.config)]
    for override in args.overrides:
        command += ["--set", override]
    cases: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory(prefix="bench-gc-") as tmp:
        for round_ in range(args.rounds):
            for freeze in cases:
                cases[freeze].append(run_case(freeze, Path(tmp) / f"{freeze}{round_}", command))
        same = same_tables(Path(tmp) / "on0", Path(tmp) / "off0")
    print(" ".join(command), f"({args.rounds} rounds, medians)")
    median = {
        freeze: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for freeze, runs in cases.items()
    }
    for freeze, label in (("off", "imports not frozen"), ("on", "imports frozen")):
        m = median[freeze]
        print(f"{label}: {m['wall']:.1f} s, {m['collections']:.0f} collections taking "
              f"{m['gc_seconds']:.2f} s")  # fmt: skip
    ratio = median["on"]["wall"] / median["off"]["wall"]
    print(f"RESULT frozen / not frozen wall time: {ratio:.3f}")
    print(f"tables byte-identical: {same}")


if __name__ == "__main__":
    main()
