"""A run's report: its tables, the figures of its experiment type, and REPORT.md.

Rebuilt from the finished units' files alone, so ``resilinet report`` can redo it at any time
without retraining (docs/architecture.md §4).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config.families import describe_model
from resilinet_cli.experiments.kinds import figures, kind_of, level_columns, plan_units
from resilinet_cli.failure_model import FailureModel, configured
from resilinet_cli.models.hyperconnections import LEARNED
from resilinet_cli.results import claims, epoch_curves, layout, methods, plots, runs, tables
from resilinet_cli.results.report_page import Section, write_report
from resilinet_cli.topology import Topology

SMOKE = "**Smoke run**: shrunk by --smoke, numbers mean nothing."
STAND_INS = {"digits": "scikit-learn digits", "fashion_mnist": "Fashion-MNIST"}


def finished_results(
    out: Path, config: ExperimentConfig, *, current_only: bool = False
) -> dict[runs.Unit, pd.DataFrame]:
    """Per-combination accuracies of every finished unit in the run folder, in plan order.

    With ``current_only`` only units made by this training code count (what a run tabulates
    unless --reuse-stale); without it, ``resilinet report`` rebuilds the pages of any folder,
    such as a committed reference made by older code.
    """
    found = {}
    for unit, record in runs.finished_records(out, config):
        if record.get("swept", True) and (runs.is_current(record) or not current_only):
            found[unit] = pd.read_csv(unit.folder(out) / layout.COMBINATIONS)
    iterations = sorted({unit.iteration for unit in found})
    order = {u: i for i, u in enumerate(plan_units(config, config.variants, iterations))}
    return {u: found[u] for u in sorted(found, key=lambda u: (order.get(u, len(order)), u.name))}


def summarise(
    results: dict[runs.Unit, pd.DataFrame],
    topology: Topology,
    models: Sequence[FailureModel] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weighted, combinations) tables of units, each level named as its kind names it.

    ``topology`` is the run's, with every skip (a skip subset is named by its links);
    ``models`` are failure models scored as settings after the topology's own.
    """
    skips = [(link.src, link.dst) for link in topology.skips]
    levels = {unit: level_columns(unit, skips) for unit in results}
    return tables.summarise(results, topology, levels, models)


def write_run_tables(
    out: Path, config: ExperimentConfig, *, current_only: bool = False, zoom: bool = False
) -> pd.DataFrame:
    """Rebuild the run's tables, figures and REPORT.md; return the weighted-accuracy table.

    ``zoom`` fits the figures' accuracy axes to the data (``resilinet report --zoom``).
    """
    topology = Topology.from_config(config.topology)
    found = finished_results(out, config, current_only=current_only)
    weighted, combinations = summarise(found, topology, configured(config))
    tables.write_tables(out, weighted, combinations)
    paired = None
    if config.experiment.type == "average_accuracy":
        paired = claims.paired_table(claims.per_unit(found, topology), topology.reliability)
    if paired is not None and not paired.empty:
        atomic.write_csv(out / layout.TABLES / layout.PAIRED_CSV, paired)
    else:  # no two neighbours of the claim ran: no table, and none left from an older report
        (out / layout.TABLES / layout.PAIRED_CSV).unlink(missing_ok=True)
    if not weighted.empty:
        drawn = figures(
            config.experiment.type,
            weighted,
            combinations,
            out / layout.FIGURES,
            topology,
            zoom=zoom,
        )
        drawn += epoch_figure(out, config, list(found))
        section = report_section(config, weighted, drawn, paired, unit_methods(out, config))
        learned = learned_weights_text(out, config)
        if learned:
            section = dataclasses.replace(section, text=f"{section.text}\n\n{learned}")
        write_report(out / layout.REPORT, config.name, [section])
    return weighted


def learned_weights_text(out: Path, config: ExperimentConfig) -> str:
    """The weights that scheme 5 learned, per variant and link: mean ± std over iterations,
    from the units' records (``hyperconnection_weights``); empty if no unit learned any."""
    rows = []
    for unit, record in runs.finished_records(out, config):
        if unit.config(config).train.hyperconnection_weights.scheme != LEARNED:
            continue
        for link, value in record.get("hyperconnection_weights", {}).items():
            rows.append({"variant": unit.variant, "link": link.replace("_", " → "), "w": value})
    if not rows:
        return ""
    table = (
        pd.DataFrame(rows)
        .groupby(["variant", "link"], sort=False)["w"]
        .agg(["mean", "std", "count"])
    )
    table = table.reset_index().rename(columns={"count": "n"})
    table["mean"] = table["mean"].round(3)
    table["std"] = table["std"].round(3).astype(object).where(table["std"].notna(), "")
    return (
        "**Learned hyperconnection weights** (scheme 5: one trainable weight >= 0 per link, "
        "from 1; mean and sample std over iterations):\n\n" + table.to_markdown(index=False)
    )


def epoch_figure(out: Path, config: ExperimentConfig, units: list[runs.Unit]) -> list[Path]:
    """An average_accuracy run trained with ``train.epoch_sweep``: its curves' table and figure."""
    table = epoch_curves.epoch_table(out, units)
    csv, png = out / layout.TABLES / layout.EPOCHS_CSV, out / layout.FIGURES / layout.EPOCHS_PNG
    if table.empty or config.experiment.type != "average_accuracy":
        for stale in (csv, png, png.with_suffix(".pdf")):
            stale.unlink(missing_ok=True)
        return []
    atomic.write_csv(csv, table)
    return [plots.epoch_lines(table, png)]


def unit_methods(out: Path, config: ExperimentConfig) -> str:
    """The methods block of the run in ``out``, from its config and finished units' records."""
    return methods.methods_text(
        config, (record for _, record in runs.finished_records(out, config))
    )


def read_paired(folder: Path) -> pd.DataFrame | None:
    """A run folder's paired comparisons as ``write_run_tables`` wrote them; None if it did not.

    For a page built from folders (a profile's), so that it says what the run's page says.
    """
    path = folder / layout.TABLES / layout.PAIRED_CSV
    if not path.is_file():
        return None
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def report_section(
    config: ExperimentConfig,
    weighted: pd.DataFrame,
    figures: list[Path],
    paired: pd.DataFrame | None = None,
    methods_block: str = "",
) -> Section:
    """One experiment on the report page: what it is, on which data, its table and figures.

    An average_accuracy run with ``paired`` comparisons (``claims.paired_table``) gets the
    claim's verdicts, once some comparison has the two pairs a test needs; with one iteration
    the ordering sentence already says there is no noise estimate.
    """
    data = config.dataset.name
    lines = [SMOKE] if config.smoke else []
    if methods_block:
        lines.append(methods_block)
    lines.append(kind_of(config.experiment.type).describe(config))
    if data in STAND_INS:
        lines.append(
            f"**Not the paper's data:** this run uses {STAND_INS[data]} as an offline stand-in."
        )
    model = config.model
    named = (
        describe_model(model)
        if model.name == "keras"
        else f"`{model.name}` (partition {model.partition})"
    )
    lines.append(
        f"Model {named}, dataset `{data}`, "
        f"{config.train.epochs} epochs, batch {config.train.batch_size}; config hash "
        f"`{config.digest()[:12]}`."
    )
    if config.experiment.type == "average_accuracy":
        lines.append(tables.ordering(weighted))
        if paired is not None and claims.shows_noise(paired):
            failures = claims.failure_settings(Topology.from_config(config.topology))
            lines.append(claims.section_text(paired, failures))
    title = config.description or config.name
    return Section(title, "\n\n".join(lines), [("Weighted accuracy", weighted)], figures)
