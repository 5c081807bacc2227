"""Figures (plots.py) and the report page (report_page.py) on small synthetic result tables."""

from __future__ import annotations

import colorsys
import itertools
import math
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.colors import to_hex, to_rgb
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from run_helpers import write_run

from resilinet_cli.cli import main
from resilinet_cli.errors import RunError
from resilinet_cli.experiments.kinds import figures
from resilinet_cli.results import figure_style, line_figures, plots
from resilinet_cli.results.report_page import Section, table_formats, write_report

SETTINGS = ["no_failure", "normal", "poor", "hazardous"]
VARIANTS = ["vanilla", "resilinet_plus"]
ALL_VARIANTS = ["vanilla", "deepfogguard", "resilinet", "resilinet_plus"]
PAPER_NAMES = ["Vanilla", "deepFogGuard", "ResiliNet", "ResiliNet+"]
NODES = ["fog1", "fog2", "edge"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WIDTHS = (figure_style.ONE_COLUMN, figure_style.TWO_COLUMNS)


def _weighted(
    levels: dict[str, list[str]] | None = None,
    seed: int = 0,
    variants: list[str] = VARIANTS,
    iterations: int = 3,
) -> pd.DataFrame:
    """Weighted table; ``levels`` = {factor column: its levels} adds a factor."""
    rng = np.random.default_rng(seed)
    factor, values = next(iter(levels.items())) if levels else (None, [None])
    rows = []
    for variant, level, setting in itertools.product(variants, values, SETTINGS):
        row = {"variant": variant}
        if factor:
            row[factor] = level
        row |= {
            "setting": setting,
            "mean": float(rng.uniform(0.5, 0.99)),
            "std": float(rng.uniform(0.0, 0.03)) if iterations > 1 else math.nan,
            "iterations": iterations,
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


def _combinations(variants: list[str] = VARIANTS) -> pd.DataFrame:
    combos = ["".join(bits) for bits in itertools.product("01", repeat=len(NODES))]
    rows = [
        {"variant": v, "combination": c, "mean": 0.1 + 0.8 * c.count("1") / 3, "std": 0.01}
        for v in variants
        for c in combos
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def combinations() -> pd.DataFrame:
    return _combinations()


def _epochs(variants: list[str] = VARIANTS, iterations: int = 2) -> pd.DataFrame:
    rows = [
        {
            "variant": variant,
            "setting": setting,
            "epoch": epoch,
            "mean": 0.5 + 0.1 * epoch,
            "ci95": 0.02,
            "iterations": iterations,
        }
        for variant, setting, epoch in itertools.product(variants, SETTINGS, [1, 2, 3])
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Figure]:
    """Every figure the code under test writes, by file name (they are still written)."""
    found: dict[str, Figure] = {}
    save = plots.save_figure

    def record(fig: Figure, path: Path) -> Path:
        found[Path(path).name] = fig
        return save(fig, path)

    monkeypatch.setattr(plots, "save_figure", record)
    return found


def _csv_roundtrip(table: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """As the CLI reads a table back: every column a string."""
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    return pd.read_csv(path, dtype=str)


def _assert_written(path: Path) -> None:
    """A PNG and a PDF of one stem, whole, atomically written, nothing left in pyplot."""
    assert path.suffix == ".png"
    png = path.read_bytes()
    assert png[:8] == PNG_MAGIC and png.endswith(b"IEND\xaeB`\x82")
    assert len(png) > 5_000
    pdf = path.with_suffix(".pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    assert not list(path.parent.glob(".*.tmp*")), "atomic temp file left behind"
    assert plt.get_fignums() == []


def _png_width_inches(path: Path) -> float:
    """The saved PNG's width (its IHDR pixels over the DPI): the size a reader gets."""
    return int.from_bytes(path.read_bytes()[16:20], "big") / figure_style.DPI


def _bars(fig: Figure, panel: int = 0) -> list:
    containers = fig.axes[panel].containers
    return [bar for c in containers if isinstance(c, BarContainer) for bar in c]


def _legend(fig: Figure) -> tuple[list[str], str]:
    """(entry texts, title) of the figure's one legend."""
    (legend,) = fig.legends
    return [t.get_text() for t in legend.get_texts()], legend.get_title().get_text()


def _hex(colour) -> str:
    return to_hex(colour).upper()


# --------------------------------------------------------------------------------------------
# plots.py: what each figure shows
# --------------------------------------------------------------------------------------------


def test_weighted_bars_one_bar_per_setting_and_variant(weighted, tmp_path):
    fig = plots._weighted_bars_figure(weighted)
    bars = _bars(fig)
    assert len(bars) == len(SETTINGS) * len(VARIANTS)
    heights = sorted(round(bar.get_height(), 6) for bar in bars)
    assert heights == sorted(round(100 * m, 6) for m in weighted["mean"])
    ax = fig.axes[0]
    assert _legend(fig)[0] == ["Vanilla", "ResiliNet+"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [s.replace("_", " ") for s in SETTINGS]
    assert ax.get_ylabel() == "weighted accuracy (%)"
    assert ax.get_yticklabels()[-1].get_text().endswith("%")
    assert ax.get_title() == "" and fig.get_suptitle() == ""  # no run name, no title
    assert ax.get_ylim() == (0.0, 100.0)  # bars start at 0
    _assert_written(plots.weighted_bars(weighted, tmp_path / "w.png"))


def test_weighted_bars_with_a_factor_hatch_the_levels_in_the_variant_colour(tmp_path):
    table = _csv_roundtrip(_weighted({"merge": ["mux", "add"]}), tmp_path)
    fig = plots._weighted_bars_figure(table, "merge operation")
    bars = _bars(fig)
    assert len(bars) == len(SETTINGS) * len(VARIANTS) * 2
    entries, title = _legend(fig)
    assert entries == ["Vanilla, mux", "Vanilla, add", "ResiliNet+, mux", "ResiliNet+, add"]
    assert title.startswith("variant, merge operation\n")
    series = [bars[i : i + len(SETTINGS)] for i in range(0, len(bars), len(SETTINGS))]
    colours = [{_hex(bar.get_facecolor()) for bar in group} for group in series]
    vanilla, plus = (
        figure_style.VARIANT_COLOURS["vanilla"],
        figure_style.VARIANT_COLOURS["resilinet_plus"],
    )
    assert colours == [{vanilla}, {vanilla}, {plus}, {plus}]
    hatches = [{bar.get_hatch() for bar in group} for group in series]
    assert hatches == [{None}, {"////"}, {None}, {"////"}]


def test_combination_heatmap_cells_and_dead_node_labels(combinations, tmp_path):
    table = _csv_roundtrip(combinations, tmp_path)
    fig = plots._combination_heatmap_figure(table, NODES)
    ax = fig.axes[0]
    grid = ax.get_images()[0].get_array()
    assert grid.shape == (len(VARIANTS), 2 ** len(NODES))
    np.testing.assert_allclose(grid[0], 100 * combinations["mean"][:8].to_numpy())
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert columns[0] == "fog1, fog2, edge dead"
    assert columns[6] == "edge dead"  # 110
    assert columns[-1] == "none dead"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Vanilla", "ResiliNet+"]
    assert len(ax.texts) == grid.size and ax.texts[-1].get_text() == "90.0"
    assert ax.get_images()[0].get_cmap().name == "viridis"  # readable with colour blindness
    assert not fig.legends and "guess" not in {t.get_text() for t in ax.texts}  # no flow known
    _assert_written(plots.combination_heatmap(table, tmp_path / "h.png", NODES))


def test_heatmap_marks_the_cells_that_are_a_guess(combinations, tmp_path):
    # As kinds.figures passes it: False where no path of alive nodes joins input and output.
    flow = combinations["combination"] == "111"
    table = _csv_roundtrip(combinations.assign(information_flow=flow), tmp_path)
    fig = plots._combination_heatmap_figure(table, NODES)
    ax = fig.axes[0]
    hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    cells = sorted((round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in hatched)
    assert cells == [(row, column) for row in range(2) for column in range(7)]
    texts = {
        (round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts
    }
    assert all(texts[cell].endswith("\nguess") for cell in cells)
    assert texts[(0, 7)] == texts[(1, 7)] == "90.0"  # every node alive: a real accuracy
    entries, _ = _legend(fig)
    assert entries[0].startswith("guess: no information flow")


def test_dead_label():
    assert plots.dead_label("111", NODES) == "none dead"
    assert plots.dead_label("011", NODES) == "fog1 dead"
    assert plots.dead_label("010", NODES) == "fog1, edge dead"
    with pytest.raises(RunError, match="one bit each"):
        plots.dead_label("01", NODES)


def test_failout_lines_fixed_levels_and_variable_markers(failout, tmp_path):
    fig = line_figures.failout_lines_figure(_csv_roundtrip(failout, tmp_path))
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(lines) == len(SETTINGS)
    for line in lines:
        np.testing.assert_allclose(line.get_xdata(), [0.05, 0.1, 0.3, 0.5])
    markers = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert len(markers) == len(SETTINGS)
    assert all(line.get_xdata()[0] > 0.5 for line in markers)
    assert [_hex(line.get_color()) for line in lines] == figure_style.setting_colours(len(SETTINGS))
    entries, title = _legend(fig)
    assert entries[:4] == [s.replace("_", " ") for s in SETTINGS]
    assert entries[4].startswith("variable")
    assert title.startswith("reliability setting\n")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[:4] == ["5", "10", "30", "50"] and ticks[-1].startswith("variable")
    assert ax.get_title() == "ResiliNet+"
    _assert_written(plots.failout_lines(failout, tmp_path / "f.png"))


def test_failout_lines_rejects_unknown_levels(failout):
    with pytest.raises(RunError, match="failout_survival"):
        line_figures.failout_lines_figure(failout.assign(failout_survival="often"))


def test_factor_bars_levels_settings_and_labels(tmp_path):
    table = _weighted({"skip_config": ["00", "01", "10", "11"]})
    table = _csv_roundtrip(table[table["variant"] == "resilinet_plus"], tmp_path)
    labels = {"00": "no skips", "01": "fog2→cloud", "10": "edge→fog1", "11": "both"}
    fig = plots._factor_bars_figure(table, "skip_config", labels)
    assert len(_bars(fig)) == 4 * len(SETTINGS)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(labels.values())
    assert _legend(fig)[0] == [s.replace("_", " ") for s in SETTINGS]
    plain = plots._factor_bars_figure(table, "skip_config")
    assert [t.get_text() for t in plain.axes[0].get_xticklabels()] == ["00", "01", "10", "11"]

    schemes = _weighted({"weight_scheme": [1, 2, 3, 4]})
    panels = plots._factor_bars_figure(schemes, "weight_scheme")
    assert [ax.get_title() for ax in panels.axes] == ["Vanilla", "ResiliNet+"]  # per variant
    assert len(_bars(panels, 0)) == len(_bars(panels, 1)) == 4 * len(SETTINGS)
    assert [t.get_text() for t in panels.axes[1].get_xticklabels()] == ["1", "2", "3", "4"]
    _assert_written(plots.factor_bars(schemes, "weight_scheme", tmp_path / "ws.png"))


def test_epoch_lines_name_the_variants_and_state_their_bands(tmp_path):
    fig = line_figures.epoch_lines_figure(_epochs(ALL_VARIANTS))
    assert [ax.get_title() for ax in fig.axes] == [s.replace("_", " ") for s in SETTINGS]
    entries, title = _legend(fig)
    assert entries == PAPER_NAMES
    assert title == ("lines: mean over n = 2 iterations; bands: 95 % t-interval of the mean")
    colours = [_hex(line.get_color()) for line in fig.axes[0].get_lines()]
    assert colours == [figure_style.VARIANT_COLOURS[v] for v in ALL_VARIANTS]
    _assert_written(plots.epoch_lines(_epochs(), tmp_path / "e.png"))


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
    fig = plots._factor_bars_figure(table, "skip_config")
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
        NODES,
    )
    labels = [t.get_text() for t in heatmap.axes[0].get_yticklabels()]
    assert labels == ["ResiliNet, none", "ResiliNet, fog2→cloud"]


# --------------------------------------------------------------------------------------------
# plots.py: ready for a paper
# --------------------------------------------------------------------------------------------


def _builders() -> dict[str, tuple[Callable[[], Figure], float]]:
    """Every kind of figure, on tables of the paper's size, with the width it should take."""
    schemes = _weighted({"weight_scheme": ["1", "2", "3", "4"]}, variants=["resilinet"])
    skips = _weighted({"skip_config": [f"{i:03b}" for i in range(8)]}, variants=["resilinet"])
    partition = _weighted({"partition": ["1", "2"]}, variants=ALL_VARIANTS)
    failout = _weighted({"failout_survival": ["0.9", "0.5", "variable"]}, variants=["resilinet"])
    return {
        "weighted, four variants": (
            lambda: plots._weighted_bars_figure(_weighted(variants=ALL_VARIANTS)),
            figure_style.ONE_COLUMN,
        ),
        "weighted, four variants by partition": (
            lambda: plots._weighted_bars_figure(partition),
            figure_style.TWO_COLUMNS,
        ),
        "heatmap": (
            lambda: plots._combination_heatmap_figure(_combinations(ALL_VARIANTS), NODES),
            figure_style.TWO_COLUMNS,
        ),
        "heatmap, two nodes": (
            lambda: plots._combination_heatmap_figure(_two_nodes(), ["fog", "edge"]),
            figure_style.ONE_COLUMN,
        ),
        "heatmap, 64 combinations": (
            lambda: plots._combination_heatmap_figure(_many_combinations(), SIX_NODES),
            figure_style.TWO_COLUMNS,
        ),
        "failout, one variant": (
            lambda: line_figures.failout_lines_figure(failout),
            figure_style.ONE_COLUMN,
        ),
        "weight schemes, one variant": (
            lambda: plots._factor_bars_figure(schemes, "weight_scheme"),
            figure_style.ONE_COLUMN,
        ),
        "skip subsets, one variant": (
            lambda: plots._factor_bars_figure(skips, "skip_config"),
            figure_style.TWO_COLUMNS,
        ),
        "epochs, four settings": (
            lambda: line_figures.epoch_lines_figure(_epochs(ALL_VARIANTS)),
            figure_style.TWO_COLUMNS,
        ),
    }


def _two_nodes() -> pd.DataFrame:
    """Four combinations of two nodes, the first a guess for every variant."""
    table = pd.DataFrame(
        [
            {"variant": v, "combination": c, "mean": 0.1 + c.count("1") / 3, "std": 0.0}
            for v in ALL_VARIANTS
            for c in ["00", "01", "10", "11"]
        ]
    )
    return table.assign(information_flow=table["combination"] != "00")


SIX_NODES = [f"fog{k}" for k in range(1, 7)]


def _many_combinations() -> pd.DataFrame:
    """Every combination of six nodes for two variants: too many for node names per column."""
    combos = ["".join(bits) for bits in itertools.product("01", repeat=len(SIX_NODES))]
    return pd.DataFrame(
        [
            {"variant": v, "combination": c, "mean": 0.1 + c.count("1") / 8, "std": 0.0}
            for v in VARIANTS
            for c in combos
        ]
    )


def test_a_heatmap_of_many_combinations_names_them_by_their_bits():
    fig = plots._combination_heatmap_figure(_many_combinations(), SIX_NODES)
    ax = fig.axes[0]
    assert fig.get_figwidth() == figure_style.TWO_COLUMNS
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "000000" and ticks[-1] == "111111" and len(ticks) == 64
    assert ax.get_xlabel() == "failure combination (1 = alive: fog1 fog2 fog3 fog4 fog5 fog6)"
    assert not ax.texts  # a cell 0.07 in wide holds no number


@pytest.mark.parametrize("name", list(_builders()))
def test_figures_are_one_or_two_columns_wide_with_legible_text(name):
    build, width = _builders()[name]
    fig = build()
    assert fig.get_figwidth() == width
    assert 1.5 <= fig.get_figheight() <= 9
    fig.canvas.draw()
    sizes = {
        text.get_fontsize()
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    }
    assert sizes and min(sizes) >= 7 and max(sizes) <= 8, sizes
    drawn = fig.get_tightbbox()  # inches: everything drawn, legends and labels included
    assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01  # nothing is cut off at the page's edge
    assert drawn.x1 <= fig.get_figwidth() + 0.01 and drawn.y1 <= fig.get_figheight() + 0.01
    assert fig.get_suptitle() == ""  # no run name anywhere: titles only name panels
    titles = {ax.get_title() for ax in fig.axes} - {""}
    assert titles <= {*PAPER_NAMES, *(s.replace("_", " ") for s in SETTINGS)}


def test_each_figure_is_a_png_and_a_pdf_of_its_width_and_rebuilds_byte_for_byte(tmp_path):
    table = _weighted(variants=ALL_VARIANTS)
    first = plots.weighted_bars(table, tmp_path / "a" / "weighted_accuracy.png")
    again = plots.weighted_bars(table, tmp_path / "b" / "weighted_accuracy.png")
    for path in (first, again):
        _assert_written(path)
    assert _png_width_inches(first) == figure_style.ONE_COLUMN  # saved at its size, not cropped
    pdf = first.with_suffix(".pdf").read_bytes()
    assert pdf == again.with_suffix(".pdf").read_bytes()
    assert b"CreationDate" not in pdf  # else a rebuild a second later would differ
    assert first.read_bytes() == again.read_bytes()
    heatmap = plots.combination_heatmap(_combinations(), tmp_path / "h.png", NODES)
    assert _png_width_inches(heatmap) == figure_style.TWO_COLUMNS


def _hue(colour: str) -> str | None:
    """'red', 'green' or None, by hue; greys and black are neither."""
    hue, saturation, value = colorsys.rgb_to_hsv(*to_rgb(colour))
    if saturation < 0.3 or value < 0.2:
        return None
    degrees = 360 * hue
    if degrees < 30 or degrees > 340:
        return "red"
    return "green" if 75 <= degrees <= 165 else None


def _simulated(colour: str, matrix: np.ndarray) -> np.ndarray:
    """How a dichromat sees ``colour`` (Machado et al. 2009, full severity, linear RGB)."""
    rgb = np.array(to_rgb(colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    seen = np.clip(matrix @ linear, 0, 1)
    return np.where(seen <= 0.0031308, 12.92 * seen, 1.055 * seen ** (1 / 2.4) - 0.055)


DEUTERANOPIA = np.array(
    [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]]
)
PROTANOPIA = np.array(
    [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ]
)


def _closest_when_simulated(colours: list[str], matrix: np.ndarray) -> float:
    pairs = itertools.combinations(colours, 2)
    return min(np.linalg.norm(_simulated(a, matrix) - _simulated(b, matrix)) for a, b in pairs)


def test_the_variant_colours_are_colour_blind_safe():
    colours = [figure_style.VARIANT_COLOURS[v] for v in ALL_VARIANTS]
    assert len(set(colours)) == 4 and set(colours) <= set(figure_style.OKABE_ITO)
    # The checks can fail: Okabe-Ito's vermillion is red and its bluish green is green.
    assert (_hue("#D55E00"), _hue("#009E73"), _hue("#E69F00")) == ("red", "green", None)
    hues = {_hue(c) for c in colours}
    assert not {"red", "green"} <= hues
    # Told apart by a deuteranope and a protanope; matplotlib's tab10 is not (about 0.1).
    tab10 = ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728"]
    for matrix in (DEUTERANOPIA, PROTANOPIA):
        assert _closest_when_simulated(tab10, matrix) < 0.12
        assert _closest_when_simulated(colours, matrix) > 0.18


def test_every_figure_names_and_colours_the_variants_as_the_paper_does(tmp_path):
    colours = [figure_style.VARIANT_COLOURS[v] for v in ALL_VARIANTS]
    bars = plots._weighted_bars_figure(_weighted(variants=ALL_VARIANTS))
    assert _legend(bars)[0] == PAPER_NAMES
    groups = [{_hex(bar.get_facecolor()) for bar in group} for group in _chunks(_bars(bars))]
    assert groups == [{colour} for colour in colours]

    heatmap = plots._combination_heatmap_figure(_combinations(ALL_VARIANTS), NODES)
    assert [t.get_text() for t in heatmap.axes[0].get_yticklabels()] == PAPER_NAMES

    schemes = plots._factor_bars_figure(
        _weighted({"weight_scheme": ["1", "2"]}, variants=ALL_VARIANTS), "weight_scheme"
    )
    assert [ax.get_title() for ax in schemes.axes] == PAPER_NAMES
    # Settings are ordered, not variants: greys from light to black, the same in every panel.
    greys = figure_style.setting_colours(len(SETTINGS))
    assert [_hex(group[0].get_facecolor()) for group in _chunks(_bars(schemes), 2)] == greys
    levels = [to_rgb(grey) for grey in greys]
    assert all(r == g == b for r, g, b in levels)
    assert [r for r, _, _ in levels] == sorted((r for r, _, _ in levels), reverse=True)

    failout = _weighted({"failout_survival": ["0.9", "0.5"]}, variants=ALL_VARIANTS)
    lines = line_figures.failout_lines_figure(failout)
    assert [ax.get_title() for ax in lines.axes] == PAPER_NAMES


def _chunks(bars: list, size: int = len(SETTINGS)) -> list[list]:
    """Bars as drawn: one series after another, ``size`` bars each."""
    return [bars[i : i + size] for i in range(0, len(bars), size)]


def test_legends_say_what_the_error_bars_show_and_over_how_many_iterations():
    note = "error bars: ±1 sample std over n = 3 iterations"
    assert _legend(plots._weighted_bars_figure(_weighted()))[1] == note
    failout = _weighted({"failout_survival": ["0.9", "0.5"]})
    assert _legend(line_figures.failout_lines_figure(failout))[1] == f"reliability setting\n{note}"
    schemes = _weighted({"weight_scheme": ["1", "2"]})
    assert _legend(plots._factor_bars_figure(schemes, "weight_scheme"))[1].endswith(note)

    mixed = _weighted().assign(iterations=[2] * 4 + [3] * 4)
    assert _legend(plots._weighted_bars_figure(mixed))[1].endswith("over n = 2-3 iterations")
    single = plots._weighted_bars_figure(_weighted(iterations=1))
    assert _legend(single)[1] == "n = 1 iteration: no error bars"
    assert not single.axes[0].collections  # and indeed none is drawn


def test_zoom_fits_the_accuracy_axis_so_close_values_can_be_told_apart():
    table = _weighted(variants=ALL_VARIANTS)
    table = table.assign(mean=np.tile([0.967, 0.974], 8), std=0.002)
    default = plots._weighted_bars_figure(table).axes[0]
    assert default.get_ylim() == (0.0, 100.0)
    zoomed_fig = plots._weighted_bars_figure(table, zoom=True)
    zoomed = zoomed_fig.axes[0]
    low, high = zoomed.get_ylim()
    assert 96.0 <= low < 96.5 and 97.6 < high <= 98.2  # the data, 96.5 to 97.6, and a margin
    assert "does not start at 0" in zoomed.get_ylabel()
    assert "does not start at 0" not in default.get_ylabel()
    assert not zoomed.texts and len(default.texts) == 16  # bar centres may be off the axis
    assert high - low < 3 and all(b.get_height() > low for b in _bars(zoomed_fig))

    schemes = table.assign(weight_scheme="1")[["variant", "weight_scheme", *table.columns[1:]]]
    bars = plots._factor_bars_figure(schemes, "weight_scheme", zoom=True).axes[0]
    assert bars.get_ylim() == (low, high)
    failout = schemes.rename(columns={"weight_scheme": "failout_survival"})
    assert line_figures.failout_lines_figure(failout).axes[0].get_ylim() == (90.0, 100.0)
    assert line_figures.failout_lines_figure(failout, zoom=True).axes[0].get_ylim() == (low, high)


# --------------------------------------------------------------------------------------------
# kinds.figures and `resilinet report`: what reaches the figures
# --------------------------------------------------------------------------------------------


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
def test_figures_of_each_kind(kind, levels, names, combinations, health, tmp_path):
    out = tmp_path / "figures"
    paths = figures(kind or "average_accuracy", _weighted(levels), combinations, out, health)
    assert paths == [out / name for name in names]
    for path in paths:
        _assert_written(path)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        name.replace(".png", suffix) for name in names for suffix in (".pdf", ".png")
    )


def test_figures_work_out_which_cells_are_guesses_from_the_topology(
    combinations, health, drawn, tmp_path
):
    figures("average_accuracy", _weighted(), combinations, tmp_path, health)
    ax = drawn["combinations_heatmap.png"].axes[0]
    guesses = {
        (round(t.get_position()[1]), round(t.get_position()[0]))
        for t in ax.texts
        if t.get_text().endswith("guess")
    }
    # Vanilla (row 0) runs only with every node alive; ResiliNet+'s skips (row 1) carry it
    # past a dead fog2 or a dead fog1 and edge, but not past fog2 with edge or fog1.
    vanilla = {(0, c) for c in range(7)}
    assert guesses == vanilla | {(1, int("000", 2)), (1, int("001", 2)), (1, int("100", 2))}


def test_zoom_is_passed_from_kinds_figures_to_every_accuracy_axis(health, drawn, tmp_path):
    levels = {"failout_survival": ["0.9", "0.5"]}
    figures("failout_rate", _weighted(levels), None, tmp_path, health, zoom=True)
    figures("hyperconnection_weight", _weighted({"weight_scheme": [1]}), None, tmp_path, health)
    figures("merge", _weighted({"merge": ["add"]}), None, tmp_path, health, zoom=True)
    assert drawn["failout_rate.png"].axes[0].get_ylim()[0] > 45  # data from 50 %
    assert drawn["weight_scheme.png"].axes[0].get_ylim()[0] == 0
    assert drawn["weighted_accuracy.png"].axes[0].get_ylim()[0] > 45


def test_figures_reject_an_unknown_kind(weighted, health, tmp_path):
    with pytest.raises(ValueError, match="did you mean 'failout_rate'"):
        figures("failout", weighted, None, tmp_path, health)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("profile", [False, True], ids=["run", "profile"])
def test_report_zoom_rebuilds_the_figures_zoomed(profile, drawn, tmp_path):
    run = tmp_path / "profile" / "quickstart" if profile else tmp_path / "quickstart"
    write_run(run, {"vanilla": [0.91, 0.92], "resilinet": [0.95, 0.96]})
    target = run.parent if profile else run
    for zoom in (False, True):
        drawn.clear()
        result = CliRunner().invoke(main, ["report", str(target), *(["--zoom"] * zoom)])
        assert result.exit_code == 0, result.output
        bars = drawn["weighted_accuracy.png"].axes[0]
        assert bool(bars.get_ylim()[0] > 85) is zoom  # iterations at 91 and 92 %, 95 and 96 %
        heatmap = drawn["combinations_heatmap.png"].axes[0]
        marked = [t for t in heatmap.texts if t.get_text().endswith("guess")]
        assert len(marked) == 7 + 3  # Vanilla's and ResiliNet's cells without flow
    page = (run / "REPORT.md").read_text()
    assert "](figures/weighted_accuracy.png)" in page and ".pdf" not in page
    assert (run / "figures" / "weighted_accuracy.pdf").read_bytes().startswith(b"%PDF")


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


def test_write_report_page(weighted, combinations, health, tmp_path):
    out = tmp_path / "run"
    drawn = figures("average_accuracy", weighted, combinations, out / "figures", health)
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
