"""A readable report page of a run: Markdown with tables and figures (docs/architecture.md §4).

``table_formats`` renders a weighted-accuracy table (``tables.WEIGHTED_COLUMNS``, plus an
experiment's factor column and its details, such as a skip subset's ``skip_bits``; see
``table_columns.label_columns``) as Markdown and as LaTeX (booktabs);
``write_report`` assembles sections of text, tables and figures into one Markdown page. The
output depends only on the arguments, so a re-run with the same results gives the same bytes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.results.table_columns import REPORT_NOTE, label_columns

log = logging.getLogger(__name__)

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "→": r"$\rightarrow$",  # skip-subset labels (iot→fog2); pdflatex has no glyph for it
}


@dataclass(frozen=True)
class Section:
    """One part of a report page: a heading, explanatory text, tables and figures.

    Args:
        heading: the section's title (a level-2 Markdown heading).
        text: Markdown paragraphs shown under the heading.
        tables: (caption, weighted-accuracy table) pairs, rendered by ``table_formats``.
        figures: image files, linked relative to the report's folder.
    """

    heading: str
    text: str = ""
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)


def table_formats(table: pd.DataFrame, caption: str | None = None) -> dict[str, str]:
    """{'markdown': ..., 'latex': ...}: rows variant [, factor], columns n and each setting.

    Cells read 'mean ± std' in percent with two decimals ('mean' alone when std is NaN).
    """
    labels, cells = _wide(table)
    align = ("left",) * labels.shape[1] + ("right",) * cells.shape[1]
    markdown = pd.concat([labels, cells], axis=1).to_markdown(
        index=False, disable_numparse=True, colalign=align
    )
    return {"markdown": markdown, "latex": _latex(labels, cells, caption)}


def write_report(path: Path, title: str, sections: list[Section]) -> Path:
    """Write the Markdown page ``path`` (atomically); figures are linked relative to it."""
    path = Path(path)
    parts = [f"# {title}"]
    for section in sections:
        parts.append(f"## {section.heading}")
        if section.text.strip():
            parts.append(section.text.strip())
        for caption, table in section.tables:
            if caption:
                parts.append(f"**{caption}**")
            parts.append(table_formats(table)["markdown"])
            parts.append(f"_{REPORT_NOTE}_")
        for figure in section.figures:
            parts.append(f"![{_figure_caption(figure)}]({_relative(figure, path.parent)})")
    atomic.write_text(path, "\n\n".join(parts) + "\n")
    return path


def cell(mean: float, std: float) -> str:
    """'97.50 ± 0.39' (fractions in, percent out); '97.50' when std is NaN."""
    text = f"{100 * float(mean):.2f}"
    return text if pd.isna(std) else f"{text} ± {100 * float(std):.2f}"


def _wide(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(row labels, cells): one row per variant [and factor level], in order of appearance."""
    keys = label_columns(table)
    table = table.assign(
        **{k: table[k].astype(str) for k in [*keys, "setting"]},
        mean=pd.to_numeric(table["mean"]),
        std=pd.to_numeric(table["std"], errors="coerce"),
        iterations=pd.to_numeric(table["iterations"]),
    )
    table = table.assign(
        cell=[cell(m, s) for m, s in zip(table["mean"], table["std"], strict=True)]
    )
    settings = list(dict.fromkeys(table["setting"]))
    rows = list(dict.fromkeys(table[keys].itertuples(index=False, name=None)))
    index = pd.MultiIndex.from_tuples(rows, names=keys)
    wide = table.pivot_table(index=keys, columns="setting", values="cell", aggfunc="first")
    wide = wide.reindex(index=index, columns=settings).fillna("")
    runs = table.groupby(keys, sort=False)["iterations"].max().reindex(index)
    wide.insert(0, "n", [str(int(n)) for n in runs])
    wide.columns.name = None
    frame = wide.reset_index()
    return frame[keys], frame.drop(columns=keys)


def _latex(labels: pd.DataFrame, cells: pd.DataFrame, caption: str | None) -> str:
    escaped = labels.map(_escape).rename(columns=_escape)
    numbers = cells.map(lambda text: text.replace("±", r"$\pm$")).rename(columns=_escape)
    frame = pd.concat([escaped, numbers], axis=1)
    styler = frame.style.hide(axis="index")
    return styler.to_latex(
        column_format="l" * labels.shape[1] + "r" * cells.shape[1],
        hrules=True,
        caption=_escape(caption) if caption else None,
        position_float="centering" if caption else None,
    )


def _escape(text: object) -> str:
    return "".join(_LATEX_SPECIALS.get(char, char) for char in str(text))


def _figure_caption(figure: Path) -> str:
    return Path(figure).stem.replace("_", " ")


def _relative(figure: Path, folder: Path) -> str:
    figure = Path(figure)
    if not figure.exists():
        log.warning("report figure %s does not exist", figure)
    return Path(os.path.relpath(figure.resolve(), folder.resolve())).as_posix()
