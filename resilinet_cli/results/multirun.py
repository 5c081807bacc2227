"""A ``-m`` multirun's combined table: every value's weighted accuracy side by side.

Each value runs into its own folder, beside the others under the multirun's folder, with its
own tables; ``<multirun>/tables/multirun.csv`` (and ``.md``) puts one column per varied key in
front of the rows of each value's ``weighted_accuracy.csv``, so the values can be compared
without opening every folder, and ``<multirun>/REPORT.md`` shows it with a figure of weighted
accuracy against the values, and ``<multirun>/tensorboard/`` holds them for TensorBoard's
HParams dashboard (``hparams.py``). Multiruns written before the name "multirun" have
``tables/sweep.csv``: ``read_multirun_table`` reads either.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.results import layout, plots
from resilinet_cli.results.figure_inputs import draw_once
from resilinet_cli.results.hparams import write_hparams
from resilinet_cli.results.report_page import Section, table_formats, write_report
from resilinet_cli.results.tables import NOTE


def write_multirun_table(root: Path, runs: Sequence[tuple[dict[str, str], Path]]) -> Path | None:
    """Write ``root/tables/multirun.csv`` and ``.md`` from each (varied values, run folder),
    and the HParams logs.

    A value whose run has no table yet (not run, failed, or --no-sweep) is left out; with none,
    nothing is written and None returned.
    """
    frames, sessions = [], []
    for values, folder in runs:
        path = folder / layout.TABLES / layout.WEIGHTED_CSV
        if path.is_file():
            table = pd.read_csv(path)
            frames.append(pd.concat([pd.DataFrame([values] * len(table)), table], axis=1))
            if not table.empty:
                sessions.append((values, folder.name, table))
    if not frames:
        return None
    combined = pd.concat(frames, ignore_index=True)
    tables = root / layout.TABLES
    atomic.write_csv(tables / layout.MULTIRUN_CSV, combined)
    if not combined.empty:
        markdown = table_formats(combined)["markdown"]
        atomic.write_text(tables / layout.MULTIRUN_MD, f"{markdown}\n\n{NOTE}\n")
        varied = list(runs[0][0])
        write_multirun_page(root, combined, varied, [folder for _, folder in runs])
    if sessions:
        write_hparams(root, sessions)
    return tables / layout.MULTIRUN_CSV


def read_multirun_table(root: Path) -> pd.DataFrame:
    """The multirun table of ``root``: ``tables/multirun.csv``, else the older ``sweep.csv``."""
    for name in (layout.MULTIRUN_CSV, layout.LEGACY_MULTIRUN_CSV):
        path = root / layout.TABLES / name
        if path.is_file():
            return pd.read_csv(path)
    raise FileNotFoundError(f"{root / layout.TABLES / layout.MULTIRUN_CSV}: no multirun table")


def write_multirun_page(
    root: Path, combined: pd.DataFrame, varied: list[str], folders: Sequence[Path]
) -> Path:
    """``root/REPORT.md``: what was varied, the figure, the table, and a link to each value's
    own page (whose verdicts are that page's own)."""
    figures = root / layout.FIGURES
    png = figures / layout.MULTIRUN_PNG
    drawn = draw_once(figures, "multirun", [combined, varied],
                      lambda: [plots.sweep_lines(combined, varied, png)])  # fmt: skip
    pages = [
        f"- [{folder.name}]({(folder / layout.REPORT).relative_to(root).as_posix()})"
        for folder in folders
        if (folder / layout.REPORT).is_file()
    ]
    keys = ", ".join(f"`{key}`" for key in varied)
    text = (
        f"A `-m` multirun over {keys}: one run per value, each in its own folder with its own "
        "tables and page. Units whose training does not depend on the value were trained once "
        "and copied.\n\n" + "\n".join(pages)
    )
    section = Section("Weighted accuracy against the multirun's values", text,
                      [("Weighted accuracy", combined)], drawn)  # fmt: skip
    title = f"resilinet: multirun over {', '.join(varied)}"
    return write_report(root / layout.REPORT, title, [section])
