"""Result tables of a run folder (docs/architecture.md §4): CSV and a readable Markdown table.

Each unit's per-combination accuracies are computed once and reused for every reliability
setting; weighted accuracies are averaged over iterations (mean, sample std with ddof=1).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd

from resilinet_cli import atomic, stats
from resilinet_cli.ablations import NO_SKIPS, level_columns, link_name
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.failures import ACCURACY, weighted_accuracy
from resilinet_cli.plots import plots_for
from resilinet_cli.report_page import Section, table_formats, write_report
from resilinet_cli.runs import Unit
from resilinet_cli.topology import Topology

WEIGHTED_COLUMNS = ["variant", "setting", "mean", "std", "iterations"]
COMBINATION_COLUMNS = ["variant", "combination", "mean", "std"]


def unit_weighted(combinations: pd.DataFrame, topology: Topology) -> dict[str, float]:
    """Weighted accuracy of one trained model under every named reliability setting."""
    return {
        setting: weighted_accuracy(combinations, topology, reliability)
        for setting, reliability in topology.reliability.items()
    }


def summarise(
    results: dict[Unit, pd.DataFrame], topology: Topology
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weighted_accuracy table, combinations table) from each unit's combinations.

    Ablations add their factor as a column after ``variant`` (a skip subset: its links by name,
    then its bits). A model trained for one reliability setting (weight schemes 2 and 3,
    variable failout) is scored on that one only. ``topology`` is the run's, with every skip.
    """
    skips = [(link.src, link.dst) for link in topology.skips]
    levels = {unit: level_columns(unit, skips) for unit in results}
    factors = list(dict.fromkeys(column for level in levels.values() for column in level))
    weighted, combos = [], []
    for unit, frame in results.items():
        keys = {"variant": unit.variant, **levels[unit]}
        for setting, value in unit_weighted(frame, topology).items():
            if unit.trained_for in (None, setting):
                weighted.append({**keys, "setting": setting, "value": value})
        if unit.trained_for is not None:
            continue  # its combinations belong to a per-setting model; not comparable
        for row in frame.itertuples(index=False):
            bits = "".join(str(int(getattr(row, node))) for node in topology.failable)
            combos.append({**keys, "combination": bits, "value": getattr(row, ACCURACY)})
    keys = ["variant", *factors]
    return (
        _mean_std(pd.DataFrame(weighted), [*keys, "setting"], [*keys, *WEIGHTED_COLUMNS[1:]]),
        _mean_std(pd.DataFrame(combos), [*keys, "combination"], [*keys, *COMBINATION_COLUMNS[1:]]),
    )


def _mean_std(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(keys, sort=False)["value"]
    table = grouped.agg(mean="mean", std=lambda v: v.std(ddof=1), iterations="count")
    return table.reset_index()[columns]


def weighted_markdown(table: pd.DataFrame) -> str:
    """The weighted table as Markdown, with the line that says how to read it."""
    return table_formats(table)["markdown"] + "\n\n" + NOTE + "\n"


SMOKE = "**Smoke run**: shrunk by --smoke, numbers mean nothing."
NOTE = "Weighted accuracy in %, mean ± sample std (ddof=1) over n iterations."
STAND_INS = {"digits": "scikit-learn digits", "fashion_mnist": "Fashion-MNIST"}
KIND_TEXT = {
    "average_accuracy": "Every variant under every reliability setting (docs/method.md §6).",
    "failout_rate": (
        "ResiliNet trained with fixed failout survival rates, and with 'variable' failout "
        "(each node's survival equals its reliability in the setting it is scored on; one "
        "model per setting)."
    ),
    "hyperconnection_weight": (
        "Hyperconnection weight schemes (docs/method.md §5): 1 all ones, 2 normalised sender "
        "reliability, 3 sender reliability, 4 random. Schemes 2 and 3 train one model per "
        "reliability setting, scored on that setting."
    ),
    "skip_sensitivity": (
        "Every subset of the skip hyperconnections: skip_config names the skips a model keeps "
        f"('{NO_SKIPS}' for the bare chain). Information flow follows the reduced graph."
    ),
    "partition": "Partition settings: how the layers are split over the physical nodes.",
    "merge": "ResiliNet's input multiplexer (mux) against ResiliNet+'s sum (add).",
}


def write_tables(
    out: Path, config: ExperimentConfig, weighted: pd.DataFrame, combinations: pd.DataFrame
) -> Path:
    """CSV, Markdown and LaTeX tables, the figures, and REPORT.md: everything a reader opens."""
    tables = out / "tables"
    atomic.write_csv(tables / "weighted_accuracy.csv", weighted)
    atomic.write_csv(tables / "combinations.csv", combinations)
    if weighted.empty:
        return tables
    formats = table_formats(weighted)
    atomic.write_text(tables / "weighted_accuracy.md", formats["markdown"] + "\n\n" + NOTE + "\n")
    atomic.write_text(tables / "weighted_accuracy.tex", formats["latex"] + "\n")
    kind = config.experiment.type
    figures = plots_for(
        kind,
        weighted,
        combinations,
        out / "figures",
        config.topology.failable,
        config.name,
    )
    write_report(out / "REPORT.md", config.name, [report_section(config, weighted, figures)])
    return tables


def report_section(
    config: ExperimentConfig, weighted: pd.DataFrame, figures: list[Path]
) -> Section:
    """One experiment on the report page: what it is, on which data, its table and figures."""
    data = config.dataset.name
    lines = [SMOKE] if config.smoke else []
    lines.append(KIND_TEXT[config.experiment.type])
    if config.experiment.type == "skip_sensitivity":
        order = ", ".join(link_name(*link) for link in config.topology.skips)
        lines[-1] += f" skip_bits has one bit per skip, in this order: {order}."
    if data in STAND_INS:
        lines.append(
            f"**Not the paper's data:** this run uses {STAND_INS[data]} as an offline stand-in."
        )
    lines.append(
        f"Model `{config.model.name}` (partition {config.model.partition}), dataset `{data}`, "
        f"{config.train.epochs} epochs, batch {config.train.batch_size}; config hash "
        f"`{config.digest()[:12]}`."
    )
    if config.experiment.type == "average_accuracy":
        lines.append(ordering(weighted))
    title = config.description or config.name
    return Section(title, "\n\n".join(lines), [("Weighted accuracy", weighted)], figures)


def ordering(weighted: pd.DataFrame, setting: str = "hazardous") -> str:
    """Whether ResiliNet >= deepFogGuard >= Vanilla holds under ``setting`` (the paper's claim).

    A pair is ordered only when Welch's t-test over the iterations puts it clear of the noise
    (resilinet_cli/stats.py); otherwise the sentence says "within noise", or, with fewer than
    two iterations, that there is no noise estimate. It never claims more than the numbers do.
    """
    rows = weighted[weighted["setting"] == setting].set_index("variant")
    chain = [v for v in ("resilinet", "deepfogguard", "vanilla") if v in rows.index]
    if len(chain) < 2:
        return f"Under {setting}: not enough variants to compare."
    parts, found = [], []
    for a, b in itertools.pairwise(chain):
        diff = stats.compare(_cell(rows.loc[a]), _cell(rows.loc[b]))
        left, right = f"{a} {100 * diff.a.mean:.2f}", f"{b} {100 * diff.b.mean:.2f}"
        if diff.p is None:
            parts.append(f"{left} vs {right}: no noise estimate ({diff.counts()})")
            found.append("unknown")
        elif not diff.clear:
            parts.append(
                f"{left} vs {right}: within noise ({diff.counts()}, {stats.format_p(diff.p)})"
            )
            found.append("noise")
        else:
            sign = ">" if diff.delta > 0 else "<"
            parts.append(f"{left} {sign} {right} ({diff.counts()}, {stats.format_p(diff.p)})")
            found.append("holds" if diff.delta > 0 else "reversed")
    if "reversed" in found:
        verdict = f"the paper's ordering does NOT hold on this run ({stats.TEST})"
    elif all(state == "holds" for state in found):
        verdict = f"the paper's ordering holds ({stats.TEST})"
    elif all(state == "unknown" for state in found):
        verdict = "one iteration gives no noise estimate, so no ordering is claimed"
    else:
        verdict = f"this run does not settle the paper's ordering ({stats.TEST})"
    return f"Under {setting}: {'; '.join(parts)} — {verdict}."


def _cell(row: pd.Series) -> stats.Cell:
    """A weighted-table row as a cell; a table without counts is one iteration per cell."""
    n = int(row["iterations"]) if "iterations" in row.index else 1
    std = float(row["std"]) if "std" in row.index else float("nan")
    return stats.Cell(float(row["mean"]), std, n)
