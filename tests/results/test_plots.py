"""Figures (plots.py) and the report page (report_page.py) on small synthetic result tables."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer

from resilinet_cli.errors import RunError
from resilinet_cli.experiments.kinds import figures
from resilinet_cli.results import plots
from resilinet_cli.results.report_page import Section, table_formats, write_report

SETTINGS = ["no_failure", "normal", "poor", "hazardous"]
VARIANTS = ["vanilla", "resilinet_plus"]
NODES = ["fog1", "fog2", "edge"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _weighted(levels: dict[str, list[str]] | None = None, seed: int = 0) -> pd.DataFrame:
    """Weighted table; ``levels`` = {factor column: its levels} adds a factor."""
    rng = np.random.default_rng(seed)
    factor, values = next(iter(levels.items())) if levels else (None, [None])
    rows = []
    for variant, level, setting in itertools.product(VARIANTS, values, SETTINGS):
        row = {"variant": variant}
        if factor:
            row[factor] = level
        row |= {
            "setting": setting,
            "mean": float(rng.uniform(0.5, 0.99)),
            "std": float(rng.uniform(0.0, 0.03)),
            "iterations": 3,
        }
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture
def weighted() -> pd.DataFrame:
    table = _weighted()
    table.loc[0, ["mean", "std"]] = [0.975, 0.0039]  # vanilla, no_failure
    table.loc[1, "std"] = math.nan  # vanilla, normal: a single iteration
    return table


@pytest.fixture
def failout() -> pd.DataFrame:
    table = _weighted({"failout_survival": ["0.95", "0.9", "0.7", "0.5", "variable"]})
    return table[table["variant"] == "resilinet_plus"].reset_index(drop=True)


@pytest.fixture
def combinations() -> pd.DataFrame:
    combos = ["".join(bits) for bits in itertools.product("01", repeat=len(NODES))]
    rows = [
        {"variant": v, "combination": c, "mean": 0.1 + 0.8 * c.count("1") / 3, "std": 0.01}
        for v in VARIANTS
        for c in combos
    ]
    return pd.DataFrame(rows)


def _csv_roundtrip(table: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """As the CLI reads a table back: every column a string."""
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    return pd.read_csv(path, dtype=str)


def _assert_png(path: Path) -> None:
    assert path.is_file()
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert path.stat().st_size > 5_000
    assert not list(path.parent.glob(".*.tmp*")), "atomic temp file left behind"
    assert plt.get_fignums() == []


def _bars(fig, panel: int = 0) -> list:
    containers = fig.axes[panel].containers
    return [bar for c in containers if isinstance(c, BarContainer) for bar in c]


# --------------------------------------------------------------------------------------------
# plots.py
# --------------------------------------------------------------------------------------------


def test_weighted_bars_one_bar_per_setting_and_variant(weighted, tmp_path):
    fig = plots._weighted_bars_figure(weighted, "t")
    bars = _bars(fig)
    assert len(bars) == len(SETTINGS) * len(VARIANTS)
    heights = sorted(round(bar.get_height(), 6) for bar in bars)
    assert heights == sorted(round(100 * m, 6) for m in weighted["mean"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == VARIANTS
    assert [t.get_text() for t in ax.get_xticklabels()] == [s.replace("_", " ") for s in SETTINGS]
    assert ax.get_ylabel() == "weighted accuracy (%)"
    assert ax.get_yticklabels()[-1].get_text().endswith("%")

    _assert_png(plots.weighted_bars(weighted, tmp_path / "w.png", "Weighted accuracy"))


def test_weighted_bars_with_a_factor_has_a_bar_per_variant_and_level(tmp_path):
    table = _csv_roundtrip(_weighted({"merge": ["mux", "add"]}), tmp_path)
    fig = plots._weighted_bars_figure(table, "t")
    assert len(_bars(fig)) == len(SETTINGS) * len(VARIANTS) * 2
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["vanilla, mux", "vanilla, add", "resilinet_plus, mux", "resilinet_plus, add"]


def test_combination_heatmap_cells_and_dead_node_labels(combinations, tmp_path):
    table = _csv_roundtrip(combinations, tmp_path)
    fig = plots._combination_heatmap_figure(table, "t", NODES)
    ax = fig.axes[0]
    grid = ax.get_images()[0].get_array()
    assert grid.shape == (len(VARIANTS), 2 ** len(NODES))
    np.testing.assert_allclose(grid[0], 100 * combinations["mean"][:8].to_numpy())
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert columns[0] == "fog1, fog2, edge dead"
    assert columns[6] == "edge dead"  # 110
    assert columns[-1] == "none dead"
    assert [t.get_text() for t in ax.get_yticklabels()] == VARIANTS
    assert len(ax.texts) == grid.size and ax.texts[-1].get_text() == "90.0"

    _assert_png(plots.combination_heatmap(table, tmp_path / "h.png", "Per combination", NODES))


def test_dead_label():
    assert plots.dead_label("111", NODES) == "none dead"
    assert plots.dead_label("011", NODES) == "fog1 dead"
    assert plots.dead_label("010", NODES) == "fog1, edge dead"
    with pytest.raises(RunError, match="one bit per node"):
        plots.dead_label("01", NODES)


def test_failout_lines_fixed_levels_and_variable_markers(failout, tmp_path):
    fig = plots._failout_lines_figure(_csv_roundtrip(failout, tmp_path), "t")
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(lines) == len(SETTINGS)
    for line in lines:
        np.testing.assert_allclose(line.get_xdata(), [0.05, 0.1, 0.3, 0.5])
    markers = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert len(markers) == len(SETTINGS)
    assert all(line.get_xdata()[0] > 0.5 for line in markers)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:4] == [s.replace("_", " ") for s in SETTINGS]
    assert "variable failout" in legend[4]
    assert ax.get_xticklabels()[-1].get_text().startswith("variable")

    _assert_png(plots.failout_lines(failout, tmp_path / "f.png", "Failout"))


def test_failout_lines_rejects_unknown_levels(failout):
    with pytest.raises(RunError, match="failout_survival"):
        plots._failout_lines_figure(failout.assign(failout_survival="often"), "t")


def test_factor_bars_levels_settings_and_labels(tmp_path):
    table = _weighted({"skip_config": ["00", "01", "10", "11"]})
    table = _csv_roundtrip(table[table["variant"] == "resilinet_plus"], tmp_path)
    labels = {"00": "no skips", "01": "fog2→cloud", "10": "edge→fog1", "11": "both"}
    fig = plots._factor_bars_figure(table, "skip_config", "t", labels)
    assert len(_bars(fig)) == 4 * len(SETTINGS)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(labels.values())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        s.replace("_", " ") for s in SETTINGS
    ]
    plain = plots._factor_bars_figure(table, "skip_config", "t")
    assert [t.get_text() for t in plain.axes[0].get_xticklabels()] == ["00", "01", "10", "11"]

    schemes = _weighted({"weight_scheme": [1, 2, 3, 4]})
    panels = plots._factor_bars_figure(schemes, "weight_scheme", "t")
    assert [ax.get_title() for ax in panels.axes] == VARIANTS  # one panel per variant
    assert len(_bars(panels, 0)) == len(_bars(panels, 1)) == 4 * len(SETTINGS)
    assert [t.get_text() for t in panels.axes[1].get_xticklabels()] == ["1", "2", "3", "4"]
    path = plots.factor_bars(schemes, "weight_scheme", tmp_path / "ws.png", "Weight schemes")
    _assert_png(path)


def test_skip_subsets_are_shown_by_their_links_with_the_bits_beside(tmp_path):
    names = {"none": "000", "fog2→cloud": "001", "iot→fog2 + edge→fog1 + fog2→cloud": "111"}
    table = _weighted({"skip_config": list(names)})
    table.insert(2, "skip_bits", table["skip_config"].map(names))
    table = _csv_roundtrip(table, tmp_path)  # the bits stay strings: leading zeros kept
    rows = _markdown_rows(table_formats(table)["markdown"])
    assert rows[0][:4] == ["variant", "skip_config", "skip_bits", "n"]
    assert [r[1:3] for r in rows[2:5]] == [[label, bits] for label, bits in names.items()]
    latex = table_formats(table)["latex"]
    assert r"skip\_config & skip\_bits & n" in latex
    assert r"iot$\rightarrow$fog2 + edge$\rightarrow$fog1 + fog2$\rightarrow$cloud & 111 &" in latex
    fig = plots._factor_bars_figure(table, "skip_config", "t")
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["none", "fog2→cloud", "iot→fog2\n+ edge→fog1\n+ fog2→cloud"]
    assert len(_bars(fig)) == 3 * len(SETTINGS)  # the bits are a label, not a level
    heatmap = plots._combination_heatmap_figure(
        pd.DataFrame(
            {
                "variant": "resilinet",
                "skip_config": ["none", "fog2→cloud"],
                "skip_bits": ["000", "001"],
                "combination": "111",
                "mean": [0.9, 0.8],
                "std": 0.0,
            }
        ),
        "t",
        NODES,
    )
    labels = [t.get_text() for t in heatmap.axes[0].get_yticklabels()]
    assert labels == ["resilinet, none", "resilinet, fog2→cloud"]


@pytest.mark.parametrize(
    ("kind", "levels", "names"),
    [
        (None, None, ["weighted_accuracy.png", "combinations_heatmap.png"]),
        (
            "failout_rate",
            {"failout_survival": ["0.9", "0.5", "variable"]},
            ["failout_rate.png", "combinations_heatmap.png"],
        ),
        ("hyperconnection_weight", {"weight_scheme": [1, 2]}, ["weight_scheme.png"]),
        (
            "skip_sensitivity",
            {"skip_config": ["0", "1"]},
            ["skip_config.png", "combinations_heatmap.png"],
        ),
        ("partition", {"partition": [1, 2]}, ["weighted_accuracy.png", "combinations_heatmap.png"]),
    ],
)
def test_figures_of_each_kind(kind, levels, names, combinations, tmp_path):
    out = tmp_path / "figures"
    paths = figures(
        kind or "average_accuracy", _weighted(levels), combinations, out, NODES, "Health"
    )
    assert paths == [out / name for name in names]
    for path in paths:
        _assert_png(path)


def test_figures_reject_an_unknown_kind(weighted, tmp_path):
    with pytest.raises(ValueError, match="did you mean 'failout_rate'"):
        figures("failout", weighted, None, tmp_path, NODES, "")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------------
# report_page.py
# --------------------------------------------------------------------------------------------


def _markdown_rows(markdown: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in markdown.splitlines()]


def test_table_formats_markdown_cells(weighted):
    rows = _markdown_rows(table_formats(weighted)["markdown"])
    assert rows[0] == ["variant", "n", *SETTINGS]
    vanilla = rows[2]
    assert vanilla[:4] == ["vanilla", "3", "97.50 ± 0.39", f"{100 * weighted['mean'][1]:.2f}"]
    assert [r[0] for r in rows[2:]] == VARIANTS


def test_table_formats_with_a_factor_keeps_levels_as_strings(tmp_path):
    table = _csv_roundtrip(_weighted({"skip_config": ["00", "01"]}), tmp_path)
    rows = _markdown_rows(table_formats(table)["markdown"])
    assert rows[0][:3] == ["variant", "skip_config", "n"]
    assert [r[:2] for r in rows[2:]] == [[v, s] for v in VARIANTS for s in ["00", "01"]]


def test_table_formats_latex(weighted):
    latex = table_formats(weighted, caption="Health weighted_accuracy")["latex"]
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert latex.count(rule) == 1
    assert r"no\_failure" in latex and r"resilinet\_plus" in latex
    assert r"\caption{Health weighted\_accuracy}" in latex
    assert r"97.50 $\pm$ 0.39" in latex
    assert not re.search(r"(?<!\\)_", latex)
    assert r"\caption" not in table_formats(weighted)["latex"]


def test_write_report_page(weighted, combinations, tmp_path):
    out = tmp_path / "run"
    drawn = figures("average_accuracy", weighted, combinations, out / "figures", NODES, "Health")
    sections = [
        Section("Average accuracy", "Four variants on Health.", [("Weighted", weighted)], drawn),
        Section("Notes", "Nothing else."),
    ]
    page = write_report(out / "report.md", "Health run", sections)
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Health run\n")
    assert "## Average accuracy" in text and "## Notes" in text
    assert "| vanilla" in text and "97.50 ± 0.39" in text
    links = re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", text)
    assert [target for _, target in links] == [
        "figures/weighted_accuracy.png",
        "figures/combinations_heatmap.png",
    ]
    assert all((out / target).is_file() for _, target in links)
    assert write_report(out / "again.md", "Health run", sections).read_text() == text
