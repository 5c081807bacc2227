"""A ``-m`` sweep's combined table: every value's weighted accuracy side by side.

Each value runs into its own folder with its own tables; ``<sweep>/tables/sweep.csv`` (and
``.md``) puts one column per swept key in front of the rows of each value's
``weighted_accuracy.csv``, so the values can be compared without opening every folder, and
``<sweep>/REPORT.md`` shows it with a figure of weighted accuracy against the swept values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.results import layout, plots
from resilinet_cli.results.figure_inputs import draw_once
from resilinet_cli.results.report_page import Section, table_formats, write_report
from resilinet_cli.results.tables import NOTE

SWEEP_CSV = "sweep.csv"
SWEEP_MD = "sweep.md"
SWEEP_PNG = "sweep.png"


def write_sweep_table(root: Path, runs: Sequence[tuple[dict[str, str], Path]]) -> Path | None:
    """Write ``root/tables/sweep.csv`` and ``.md`` from each (swept values, run folder).

    A value whose run has no table yet (not run, failed, or --no-sweep) is left out; with none,
    nothing is written and None returned.
    """
    frames = []
    for values, folder in runs:
        path = folder / layout.TABLES / layout.WEIGHTED_CSV
        if path.is_file():
            table = pd.read_csv(path)
            frames.append(pd.concat([pd.DataFrame([values] * len(table)), table], axis=1))
    if not frames:
        return None
    combined = pd.concat(frames, ignore_index=True)
    tables = root / layout.TABLES
    atomic.write_csv(tables / SWEEP_CSV, combined)
    if not combined.empty:
        markdown = table_formats(combined)["markdown"]
        atomic.write_text(tables / SWEEP_MD, f"{markdown}\n\n{NOTE}\n")
        swept = list(runs[0][0])
        write_sweep_page(root, combined, swept, [folder for _, folder in runs])
    return tables / SWEEP_CSV


def write_sweep_page(
    root: Path, combined: pd.DataFrame, swept: list[str], folders: Sequence[Path]
) -> Path:
    """``root/REPORT.md``: what was swept, the figure, the table, and a link to each value's
    own page (whose verdicts are that page's own)."""
    figures = root / layout.FIGURES
    png = figures / SWEEP_PNG
    drawn = draw_once(figures, "sweep", [combined, swept],
                      lambda: [plots.sweep_lines(combined, swept, png)])  # fmt: skip
    pages = [
        f"- [{folder.name}]({(folder / layout.REPORT).relative_to(root).as_posix()})"
        for folder in folders
        if (folder / layout.REPORT).is_file()
    ]
    text = (
        f"A `-m` sweep of {', '.join(f'`{key}`' for key in swept)}: one run per value, each in "
        "its own folder with its own tables and page. Units whose training does not depend on "
        "the swept value were trained once and copied.\n\n" + "\n".join(pages)
    )
    section = Section("Weighted accuracy against the swept values", text,
                      [("Weighted accuracy", combined)], drawn)  # fmt: skip
    return write_report(root / layout.REPORT, f"resilinet: sweep of {', '.join(swept)}", [section])
