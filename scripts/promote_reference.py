"""Make a regenerated folder the committed reference (maintainers; commit the result).

    python scripts/promote_reference.py NEW results/NAME [--command "make reproduce-paper ..."]
    python scripts/promote_reference.py results/NAME results/NAME   # refresh pages, add checksums

NEW is a fresh run or profile folder that regenerated the reference, or a `resilinet search`
folder (promoted as it is, without Tune's state, models and logs). Its tables are first
recomputed from its units (`resilinet report`, on a copy) and compared with the reference's
(`resilinet compare`); the comparison is printed. Refreshing a reference from itself requires
every cell to recompute equal. Then the reference is replaced: NEW's files without models,
TensorBoard logs or checkpoints, each unit record holding the checksums of the files kept and
listing the others as not committed, and the REFERENCE.md marker with the command that
regenerates it (from --command, or the existing marker).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from resilinet_cli.results import references


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path)
    parser.add_argument("reference", type=Path)
    parser.add_argument("--command", help="what regenerates it [default: the marker's]")
    args = parser.parse_args()
    command = args.command or references.regenerate_command(args.reference)
    if not command:
        parser.error("--command: the reference has no marker that says how to regenerate it")
    if (args.new / "search.json").is_file():  # a search: its outputs and trials as they are
        with tempfile.TemporaryDirectory(prefix="promote-") as tmp:
            copy = Path(tmp) / args.reference.name
            shutil.copytree(args.new, copy, ignore=trial_pages)
            references.promote(copy, args.reference, command)
        print(f"{args.reference}: promoted; review `git status` and commit it")
        return 0
    resilinet = str(Path(sys.executable).parent / "resilinet")
    with tempfile.TemporaryDirectory(prefix="promote-") as tmp:
        rebuilt = Path(tmp) / args.reference.name
        subprocess.run([resilinet, "report", str(args.new), "--out", str(rebuilt)], check=True)
        if args.reference.exists():
            compared = subprocess.run(
                [resilinet, "compare", str(rebuilt), str(args.reference)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            print(compared.stdout)
            same = args.new.resolve() == args.reference.resolve()
            verdicts = set(pd.read_csv(rebuilt / "comparison.csv")["verdict"])
            if same and verdicts != {"equal"}:
                print("refused: the reference's tables do not recompute equal from its units")
                return 1
        references.promote(rebuilt, args.reference, command)
        shutil.rmtree(rebuilt, ignore_errors=True)
    print(f"{args.reference}: promoted; review `git status` and commit it")
    return 0


def trial_pages(folder: str, names: list[str]) -> set[str]:
    """A search's trial folders keep their units' CSV and JSON files, not the pages, tables and
    figures `resilinet report` rebuilds from them, nor the weights a stopped trial left; Tune's
    own state stays behind too."""
    weights = {name for name in names if name.endswith(".h5")}
    record = Path(folder) / "run.json"
    unit = Path(folder).name.startswith("iter-") and record.is_file()
    if unit and json.loads(record.read_text(encoding="utf-8")).get("status") != "done":
        return set(names)  # a trial ASHA stopped: trials.csv keeps its state and scores
    if Path(folder).parent.name == "trials":
        return weights | {name for name in names if name in ("REPORT.md", "figures", "tables")}
    return weights | ({"tune"} & set(names))


if __name__ == "__main__":
    sys.exit(main())
