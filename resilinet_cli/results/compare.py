"""``resilinet compare NEW REFERENCE``: every table cell of a new run against a reference.

Both sides are run folders or profile folders (a folder of run folders, as ``reproduce``
writes). Every ``tables/weighted_accuracy.csv`` found is matched by its folder's path under the
side's root, and its cells by their key columns: variant, the factor of an ablation, setting.

Before any number is compared, the command checks each run's units against their records'
checksums and recomputes its table from them (experiments/verify.py). When the two runs'
configs differ, the comparison says in which keys.

A cell is flagged when the two sides differ by more than the noise of their iterations
(Welch's t-test where both sides have n >= 2; see resilinet_cli/stats.py), its p adjusted over
every cell of the comparison (Holm's correction by default), or when it exists on one side
only. With n < 2 on a side there is no noise estimate: such a cell is marked "no noise
estimate", never flagged, unless the means are equal. The comparison reports; it does not
judge, so it exits 0 whatever it finds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import yaml
from tabulate import tabulate

from resilinet_cli import atomic, stats
from resilinet_cli.errors import RunError
from resilinet_cli.results import layout

TABLE = Path(layout.TABLES) / layout.WEIGHTED_CSV
NUMBERS = ("mean", "std", "iterations")
REQUIRED = ("variant", "setting", *NUMBERS)
CSV_NAME = layout.COMPARISON

DIFFERS = "DIFFERS"
NEW_ONLY = "NEW ONLY"
REFERENCE_ONLY = "REFERENCE ONLY"
WITHIN = "within noise"
EQUAL = "equal"
NO_ESTIMATE = "no noise estimate"
FLAGGED = (DIFFERS, NEW_ONLY, REFERENCE_ONLY)

RULE = (
    "Flagged: a difference beyond the noise (Welch's t-test, adjusted p < 0.05, both sides "
    "n >= 2) or a cell on one side only. With n < 2 on a side there is no noise estimate; such "
    "cells are not flagged."
)

Key = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Row:
    """One table cell on both sides; ``new`` or ``reference`` is None where it is missing.
    ``adjusted``: its p adjusted over the comparison's cells (``Comparison.adjusted``)."""

    experiment: str
    key: Key
    new: stats.Cell | None
    reference: stats.Cell | None
    adjusted: float | None = None

    @property
    def p(self) -> float | None:
        if self.new is None or self.reference is None:
            return None
        return stats.welch_p(self.new, self.reference)

    @property
    def difference(self) -> float | None:
        if self.new is None or self.reference is None:
            return None
        return self.new.mean - self.reference.mean

    @property
    def verdict(self) -> str:
        if self.new is None:
            return REFERENCE_ONLY
        if self.reference is None:
            return NEW_ONLY
        if math.isclose(self.new.mean, self.reference.mean, rel_tol=0, abs_tol=1e-12):
            return EQUAL
        if self.p is None:
            return NO_ESTIMATE
        p = self.p if self.adjusted is None else self.adjusted
        return DIFFERS if p < stats.ALPHA else WITHIN

    @property
    def flagged(self) -> bool:
        return self.verdict in FLAGGED


@dataclass(frozen=True)
class Comparison:
    new: Path
    reference: Path
    rows: list[Row]
    one_sided: dict[str, str]  # experiment -> "new" or "reference", the side that has it
    correction: str = "holm"
    differences: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    @property
    def tested(self) -> int:
        return sum(row.p is not None for row in self.rows)

    def count(self, *verdicts: str) -> int:
        return sum(row.verdict in verdicts for row in self.rows)

    def summary(self) -> str:
        """'412 cells, 5 flagged (3 differ beyond the noise, 2 on one side only); ...'."""
        flagged = self.count(*FLAGGED)
        one_sided = self.count(NEW_ONLY, REFERENCE_ONLY)
        return (
            f"{len(self.rows)} cells, {flagged} flagged ({self.count(DIFFERS)} differ beyond the "
            f"noise, {one_sided} on one side only); {self.count(WITHIN)} within noise, "
            f"{self.count(EQUAL)} equal, {self.count(NO_ESTIMATE)} without a noise estimate "
            "(n < 2)"
        )

    def frame(self) -> pd.DataFrame:
        """One row per cell; means, stds and the difference as fractions, like the tables."""
        records = []
        for row in self.rows:
            keys = dict(row.key)
            records.append(
                {
                    "experiment": row.experiment,
                    "variant": keys.pop("variant", ""),
                    "setting": keys.pop("setting", ""),
                    "factors": ", ".join(f"{k}={v}" for k, v in keys.items()),
                    **_numbers("new", row.new),
                    **_numbers("reference", row.reference),
                    "difference": row.difference,
                    "p_value": row.p,
                    "p_adjusted": row.adjusted,
                    "verdict": row.verdict,
                    "flagged": row.flagged,
                }
            )
        frame = pd.DataFrame(records, columns=COLUMNS)
        return frame.astype({"new_n": "Int64", "reference_n": "Int64"})

    def text(self) -> str:
        """Every cell, one table per experiment, then the rule and the summary."""
        blocks = [f"{self.new} against the reference {self.reference}"]
        for experiment in dict.fromkeys(row.experiment for row in self.rows):
            rows = [row for row in self.rows if row.experiment == experiment]
            if experiment in self.one_sided:  # a whole experiment: one line, cells in the CSV
                side = self.one_sided[experiment]
                blocks.append(f"== {experiment}: only in the {side} ({len(rows)} cells)")
                continue
            columns = list(dict.fromkeys(name for row in rows for name, _ in row.key))
            table = [
                [
                    *(dict(row.key).get(name, "") for name in columns),
                    _cell(row.new),
                    _cell(row.reference),
                    "" if row.difference is None else f"{100 * row.difference:+.2f}",
                    "" if row.p is None else stats.p_text(row.p),
                    "" if row.adjusted is None else stats.p_text(row.adjusted),
                    row.verdict,
                ]
                for row in rows
            ]
            headers = [*columns, "new", "reference", "difference", "p", "adjusted p", ""]
            heading = f"== {experiment}"
            if self.differences.get(experiment):
                keys = "; ".join(
                    f"{key}: {new} new, {old} reference"
                    for key, old, new in self.differences[experiment]
                )
                heading += f"\nthe two runs' configs differ: {keys}"
            blocks.append(f"{heading}\n" + tabulate(table, headers, disable_numparse=True))
        blocks.append(
            "Weighted accuracy in %, mean ± sample std (n iterations); difference = new - "
            f"reference in percentage points.\n{RULE} p: Welch's, adjusted over the "
            f"{self.tested} cells with a test ({stats.CORRECTION_NAMES[self.correction]})."
        )
        blocks.append(f"Summary: {self.summary()}")
        return "\n\n".join(blocks)


COLUMNS = [
    "experiment",
    "variant",
    "factors",
    "setting",
    "new_mean",
    "new_std",
    "new_n",
    "reference_mean",
    "reference_std",
    "reference_n",
    "difference",
    "p_value",
    "p_adjusted",
    "verdict",
    "flagged",
]


def compare(new: Path, reference: Path, correction: str = "holm") -> Comparison:
    """Match the experiments and cells of two folders (RunError for a folder without tables,
    a damaged unit, or a table its units do not give)."""
    new_runs, reference_runs = experiments(new), experiments(reference)
    if not set(new_runs) & set(reference_runs):
        raise RunError(
            f"{new} and {reference} share no experiment ({_names(new_runs)} against "
            f"{_names(reference_runs)}); compare two run folders or two profile folders"
        )
    rows: list[Row] = []
    differences = {}
    for name in [*new_runs, *(n for n in reference_runs if n not in new_runs)]:
        new_cells = read_cells(new_runs[name]) if name in new_runs else {}
        reference_cells = read_cells(reference_runs[name]) if name in reference_runs else {}
        if name in new_runs and name in reference_runs:
            differences[name] = config_differences(reference_runs[name], new_runs[name])
        for key in [*new_cells, *(k for k in reference_cells if k not in new_cells)]:
            rows.append(Row(name, key, new_cells.get(key), reference_cells.get(key)))
    one_sided = {name: "new" for name in new_runs if name not in reference_runs}
    one_sided |= {name: "reference" for name in reference_runs if name not in new_runs}
    return Comparison(new, reference, adjusted(rows, correction), one_sided, correction,
                      differences)  # fmt: skip


def adjusted(rows: list[Row], correction: str) -> list[Row]:
    """``rows`` with each tested cell's p adjusted over every tested cell of the comparison."""
    tested = [i for i, row in enumerate(rows) if row.p is not None]
    values = stats.adjust([rows[i].p for i in tested], correction)  # type: ignore[misc]
    rows = list(rows)
    for i, value in zip(tested, values, strict=True):
        rows[i] = replace(rows[i], adjusted=value)
    return rows


def config_differences(reference: Path, new: Path) -> list[tuple[str, str, str]]:
    """(key, reference value, new value) where the two runs' resolved configs differ."""
    from resilinet_cli.config.differences import config_differences as differ

    if not all((side / layout.CONFIG).is_file() for side in (reference, new)):
        return []  # bare tables: no configs to tell apart
    sides = [yaml.safe_load((side / layout.CONFIG).read_text(encoding="utf-8"))
             for side in (reference, new)]  # fmt: skip
    if not all(isinstance(side, dict) for side in sides):
        return []
    return differ(sides[0], sides[1])


def write_csv(comparison: Comparison) -> Path | None:
    """``NEW/comparison.csv``, written atomically; None when NEW is a committed reference,
    which resilinet never writes into."""
    from resilinet_cli.results.references import is_reference

    path = comparison.new / CSV_NAME
    if is_reference(path):
        return None
    atomic.write_csv(path, comparison.frame())
    return path


def experiments_in(root: Path) -> bool:
    """Whether ``root`` holds any weighted table to compare with."""
    try:
        return bool(experiments(root))
    except RunError:
        return False


def experiments(root: Path) -> dict[str, Path]:
    """Run folders with a weighted table at or under ``root``, by path under it ('.' = root)."""
    if not root.is_dir():
        raise RunError(f"{root}: no such folder")
    found = {}
    for table in sorted(root.glob(f"**/{TABLE.as_posix()}")):
        folder = table.parent.parent
        parts = folder.relative_to(root).parts
        if any(part.startswith(".") for part in parts) or layout.RUNS in parts:
            continue
        found["/".join(parts) or "."] = folder
    if not found:
        raise RunError(
            f"{root}: no {TABLE.as_posix()} in it or below; give a run folder or a profile "
            "folder such as results/quick"
        )
    return found


def read_cells(folder: Path) -> dict[Key, stats.Cell]:
    """The cells of a run's weighted table, keyed by (column, value) of its key columns."""
    path = folder / TABLE
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise RunError(f"{path}: cannot read it ({error})") from None
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise RunError(f"{path}: not a weighted-accuracy table (no column {', '.join(missing)})")
    keys = [column for column in table.columns if column not in NUMBERS]
    cells = {}
    for record in table.to_dict("records"):
        try:
            cell = stats.Cell(
                float(record["mean"]),
                float(record["std"]) if record["std"] else math.nan,
                int(float(record["iterations"])),
            )
        except ValueError:
            raise RunError(f"{path}: a row that is not numbers: {record}") from None
        cells[tuple((column, record[column]) for column in keys)] = cell
    return cells


def _numbers(side: str, cell: stats.Cell | None) -> dict[str, float | int | None]:
    if cell is None:
        return {f"{side}_mean": None, f"{side}_std": None, f"{side}_n": None}
    std = None if math.isnan(cell.std) else cell.std
    return {f"{side}_mean": cell.mean, f"{side}_std": std, f"{side}_n": cell.n}


def _cell(cell: stats.Cell | None) -> str:
    if cell is None:
        return "—"
    spread = "" if math.isnan(cell.std) else f" ± {100 * cell.std:.2f}"
    return f"{100 * cell.mean:.2f}{spread} (n={cell.n})"


def _names(runs: dict[str, Path]) -> str:
    names = list(runs)
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
