"""A run's report: its tables, the figures of its experiment type, and REPORT.md.

Rebuilt from the finished units' files alone, so ``resilinet report`` can redo it at any time
without retraining (docs/architecture.md §4).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config.families import describe_model
from resilinet_cli.errors import RunError
from resilinet_cli.experiments.kinds import figures, kind_of, level_columns, plan_units
from resilinet_cli.failure_model import FailureModel, configured
from resilinet_cli.models.hyperconnections import LEARNED
from resilinet_cli.results import (
    claims,
    device_table,
    epoch_curves,
    integrity,
    layout,
    methods,
    plots,
    runs,
    tables,
)
from resilinet_cli.results.figure_inputs import draw_once, forget
from resilinet_cli.results.report_page import Section, write_report
from resilinet_cli.topology import Topology, label_of_prefix
from resilinet_cli.variants import topology_of

SMOKE = "**Smoke run**: shrunk by --smoke, numbers mean nothing."
ONE_ITERATION = (
    "One iteration per variant gives no noise estimate, so this page states no verdict on how "
    "the variants compare; run more iterations (`iterations: N`) for paired tests."
)
STAND_INS = {"digits": "scikit-learn digits", "fashion_mnist": "Fashion-MNIST"}


@dataclass(frozen=True)
class Finished:
    """A finished unit as its readers see it: its record and its combinations table."""

    record: dict[str, Any]
    combinations: pd.DataFrame


@dataclass(frozen=True)
class RunTables:
    """What ``write_run_tables`` built: the weighted table, and the planned units that are not
    finished (the tables hold the finished ones only, and the page says so)."""

    weighted: pd.DataFrame
    unfinished: list[str]


def finished_units(
    out: Path, config: ExperimentConfig, *, current_only: bool = False
) -> dict[runs.Unit, Finished]:
    """Every finished unit in the run folder with its record and combinations, in plan order.

    A damaged unit is a RunError that names the file (``runs.finished_records``). With
    ``current_only`` only units made by this training code count (what a run tabulates unless
    --reuse-stale); without it, ``resilinet report`` rebuilds the pages of any folder, such as
    a committed reference made by older code.
    """
    found = {}
    for unit, record in runs.finished_records(out, config):
        if record.get("swept", True) and (runs.is_current(record) or not current_only):
            path = unit.folder(out) / layout.COMBINATIONS
            frame = pd.read_csv(path)  # whole, by its checksum or the check of an older one
            columns = topology_of(config, unit.variant).columns
            damage = integrity.combinations_problem(frame, columns, path)
            if damage is not None:  # the tables' own invariant, before anything is written
                raise RunError(damage.message(runs.repair_hint(out)))
            found[unit] = Finished(record, frame)
    iterations = sorted({unit.iteration for unit in found})
    order = {u: i for i, u in enumerate(plan_units(config, None, iterations or None))}
    return {u: found[u] for u in sorted(found, key=lambda u: (order.get(u, len(order)), u.name))}


def finished_results(
    out: Path, config: ExperimentConfig, *, current_only: bool = False
) -> dict[runs.Unit, pd.DataFrame]:
    """Per-combination accuracies of every finished unit in the run folder, in plan order."""
    found = finished_units(out, config, current_only=current_only)
    return {unit: finished.combinations for unit, finished in found.items()}


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


def raw_paired(found: dict[runs.Unit, Finished], config: ExperimentConfig) -> pd.DataFrame | None:
    """The claim's paired comparisons of an average_accuracy run, before any correction."""
    if not kind_of(config.experiment.type).tests_claim:
        return None
    topology = topology_of(config)
    combinations = {unit: finished.combinations for unit, finished in found.items()}
    keys = {u: str(f.record.get("training_key", "")) for u, f in found.items()}
    keys = {unit: key for unit, key in keys.items() if key}
    values = claims.per_unit(combinations, topology, keys)
    return claims.paired_table(values, topology.reliability)


def write_run_tables(
    out: Path,
    config: ExperimentConfig,
    *,
    current_only: bool = False,
    zoom: bool = False,
    family: claims.Family | None = None,
    correction: str | None = None,
) -> RunTables:
    """Rebuild the run's tables, figures and REPORT.md from its finished units.

    Each file is rewritten only when its content changes (figures: when what they draw
    changes), so a rebuild with nothing new changes no file. ``family``: the statistics'
    family when the run is part of a profile (else its own page's comparisons, corrected by
    ``correction`` or the config's ``stats.correction``). ``zoom`` fits the figures' accuracy
    axes to the data (``resilinet report --zoom``).
    """
    topology = topology_of(config)
    found = finished_units(out, config, current_only=current_only)
    results = {unit: finished.combinations for unit, finished in found.items()}
    weighted, combinations = summarise(results, topology, configured(config))
    tables.write_tables(out, weighted, combinations)
    paired = raw_paired(found, config)
    if paired is not None and not paired.empty:
        family = family or claims.Family.of([paired], correction or config.stats.correction)
        paired = claims.judged(paired, family)
        atomic.write_csv(out / layout.TABLES / layout.PAIRED_CSV, claims.csv_table(paired))
    else:  # no two neighbours of the claim ran: no table, and none left from an older report
        paired = None
        (out / layout.TABLES / layout.PAIRED_CSV).unlink(missing_ok=True)
    unfinished = unfinished_units(config, found)
    if not weighted.empty:
        folder = out / layout.FIGURES
        inputs = [
            config.experiment.type,
            weighted,
            combinations,
            config.topology.model_dump(),
            zoom,
        ]
        drawn = draw_once(folder, "tables", inputs, lambda: figures(
            config.experiment.type, weighted, combinations, folder, topology, zoom=zoom
        ))  # fmt: skip
        drawn += epoch_figure(out, config, list(found))
        records = [finished.record for finished in found.values()]
        section = report_section(config, weighted, drawn, paired,
                                 methods.methods_text(config, records),
                                 notes(config, records, unfinished),
                                 test_examples(config, records))  # fmt: skip
        comparison = kind_of(config.experiment.type).comparison
        if comparison is not None:
            own = comparison(out, config, results, correction, zoom)
            section = dataclasses.replace(section, text=f"{section.text}\n\n{own}")
        if topology.fan_in:  # what each dead sensor costs (docs/sensors.md)
            reference, correction = config.experiment.reference, config.stats.correction
            text = devices_text(out, results, topology, reference, correction)
            section = dataclasses.replace(section, text=f"{section.text}\n\n{text}")
        learned = learned_weights_text(config, found)
        if learned:
            section = dataclasses.replace(section, text=f"{section.text}\n\n{learned}")
        write_report(out / layout.REPORT, config.name, [section])
    return RunTables(weighted, unfinished)


def devices_text(
    out: Path,
    results: dict[runs.Unit, pd.DataFrame],
    topology: Topology,
    reference: str,
    correction: str,
) -> str:
    """Write tables/devices.csv (and devices_paired.csv) and return their section of the page."""
    table = device_table.device_rows(results, topology)
    atomic.write_csv(out / layout.TABLES / layout.DEVICES_CSV, table)
    text = "**One dead sensor**\n\n" + device_table.device_markdown(table)
    paired = device_table.paired_costs(results, topology, reference, correction)
    if not paired.empty:
        atomic.write_csv(out / layout.TABLES / layout.DEVICES_PAIRED_CSV, paired)
        text += "\n\n" + device_table.paired_markdown(paired, correction)
    return text


def unfinished_units(config: ExperimentConfig, found: Iterable[runs.Unit]) -> list[str]:
    """The names of the config's planned units that are not finished in ``found``."""
    names = {unit.name for unit in found}
    return [unit.name for unit in plan_units(config) if unit.name not in names]


def notes(
    config: ExperimentConfig, records: Sequence[dict[str, Any]], unfinished: Sequence[str]
) -> list[str]:
    """Lines a page adds about what its numbers cover: a partial run, the test set's size."""
    lines = []
    if unfinished:
        shown = ", ".join(unfinished[:6]) + (", ..." if len(unfinished) > 6 else "")
        total = len(plan_units(config))
        lines.append(
            f"**Partial run**: {len(unfinished)} of {total} planned units are not finished "
            f"({shown}); the tables hold the finished units only."
        )
    return lines


def test_examples(config: ExperimentConfig, records: Iterable[dict[str, Any]]) -> int | None:
    """The size of the test set every unit was swept on: recorded by the units, else the
    config's subset, else unknown (an older record of a whole split)."""
    recorded = {r.get("test_examples") for r in records} - {None}
    if len(recorded) == 1:
        return int(recorded.pop())
    return config.dataset.subset.test if config.dataset.subset else None


def learned_weights_text(config: ExperimentConfig, found: dict[runs.Unit, Finished]) -> str:
    """The weights that scheme 5 learned, per variant and link: mean ± std over iterations,
    from the units' records (``hyperconnection_weights``); empty if no unit learned any."""
    rows = []
    for unit, finished in found.items():
        if unit.config(config).train.hyperconnection_weights.scheme != LEARNED:
            continue
        for link, value in finished.record.get("hyperconnection_weights", {}).items():
            rows.append({"variant": unit.variant, "link": label_of_prefix(link), "w": value})
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
    if table.empty or not kind_of(config.experiment.type).tests_claim:
        for stale in (csv, png, png.with_suffix(".pdf")):
            stale.unlink(missing_ok=True)
        forget(out / layout.FIGURES, "epochs")
        return []
    atomic.write_csv(csv, table)
    return draw_once(png.parent, "epochs", [table], lambda: [plots.epoch_lines(table, png)])


def unit_methods(out: Path, config: ExperimentConfig) -> str:
    """The methods block of the run in ``out``, from its config and finished units' records."""
    return methods.methods_text(
        config, [record for _, record in runs.finished_records(out, config)]
    )


def unit_notes(out: Path, config: ExperimentConfig) -> tuple[list[str], int | None]:
    """(the page's notes, the test set's size) of the run in ``out``, from its folder: what a
    page built from folders (a profile's) needs to say what the run's page says."""
    found = finished_units(out, config)
    records = [finished.record for finished in found.values()]
    return notes(config, records, unfinished_units(config, found)), test_examples(config, records)


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
    page_notes: Sequence[str] = (),
    examples: int | None = None,
) -> Section:
    """One experiment on the report page: what it is, on which data, its table and figures.

    An average_accuracy run with ``paired`` comparisons (``claims.judged``) gets the claim's
    verdicts, once some comparison has the two pairs a test needs; with one iteration it says
    that there is no noise estimate. ``examples``: the size of the shared test set.
    """
    data = config.dataset.name
    lines = [SMOKE] if config.smoke else []
    lines += page_notes
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
    if kind_of(config.experiment.type).tests_claim:
        if paired is not None and claims.shows_noise(paired):
            failures = claims.failure_settings(topology_of(config))
            lines.append(claims.section_text(paired, failures, examples))
        elif len(set(weighted["variant"])) > 1:
            lines.append(ONE_ITERATION)
    title = config.description or config.name
    return Section(title, "\n\n".join(lines), [("Weighted accuracy", weighted)], figures)
