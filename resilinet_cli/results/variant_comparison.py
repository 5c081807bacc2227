"""A methods run's comparison (docs/comparing-methods.md): each variant and inference rule under
every reliability setting and failure model, what it costs per node and link, and its paired
tests against the reference variant.

"Method" names the estimator and REPORT's methods block elsewhere, so here a compared thing is
a *row*: a variant without exits is one row; a variant with exits is two, its fallback rule
(combinations.csv ``accuracy``) and its threshold rule (``threshold_accuracy``, at the unit's
T: ``exits.json`` where ``calibrate-exits`` wrote one, else the config's; the experiments
stage reads it, experiments/exit_threshold.py, and hands its reader in). The tests reuse the
claim's (results/claims.py): paired by seed, one family, the config's correction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.failure_model import configured
from resilinet_cli.models.costs import NodeCosts, devices, node_costs
from resilinet_cli.results import claims, layout
from resilinet_cli.results.model_files import load_model
from resilinet_cli.results.runs import Unit
from resilinet_cli.results.tables import unit_weighted
from resilinet_cli.sweeps.execution import ACCURACY
from resilinet_cli.sweeps.exits import THRESHOLD_ACCURACY, THRESHOLD_EXIT_PREFIX
from resilinet_cli.topology import link_label
from resilinet_cli.variants import topology_of

FALLBACK, THRESHOLD, FINAL = "fallback", "threshold", "final"
EXITED = "exited"  # the table's share of examples answered at an exit (threshold rule)


@dataclass(frozen=True)
class Row:
    """One compared row: a variant under one inference rule."""

    variant: str
    rule: str  # FINAL (no exits), FALLBACK or THRESHOLD

    def column(self) -> str:
        return THRESHOLD_ACCURACY if self.rule == THRESHOLD else ACCURACY


def rows_of(config: ExperimentConfig, variant: str) -> list[Row]:
    """The rows of one variant: one without exits, fallback and threshold with them."""
    if not config.variant(variant).exits:
        return [Row(variant, FINAL)]
    return [Row(variant, FALLBACK), Row(variant, THRESHOLD)]


def label(row: Row, thresholds: list[float]) -> str:
    """'vanilla', 'vanilla+exits (fallback)', 'vanilla+exits (threshold T=0.42)' (a range
    'T=0.40-0.45' where calibration chose a T per unit)."""
    if row.rule == FINAL:
        return row.variant
    if row.rule == FALLBACK:
        return f"{row.variant} (fallback)"
    low, high = min(thresholds), max(thresholds)
    t = f"{low:.3g}" if low == high else f"{low:.3g}-{high:.3g}"
    return f"{row.variant} (threshold T={t})"


ThresholdOf = Callable[[Path, ExperimentConfig, str], float]  # (unit folder, config, variant)


def per_unit(
    config: ExperimentConfig,
    out: Path,
    results: Mapping[Unit, pd.DataFrame],
    threshold_of: ThresholdOf,
) -> pd.DataFrame:
    """label, variant, rule, iteration, seed, setting, value, exited: each unit's weighted
    accuracy per row, setting and failure model; ``exited`` (threshold rule) the weighted
    share of examples an exit answered."""
    topology, models = topology_of(config), configured(config)
    thresholds: dict[Row, list[float]] = {}
    values = []
    for unit, frame in results.items():
        exits = config.variant(unit.variant).exits
        for row in rows_of(config, unit.variant):
            scored = frame.assign(**{ACCURACY: frame[row.column()]})
            exited = {}
            if row.rule == THRESHOLD:
                thresholds.setdefault(row, []).append(
                    threshold_of(unit.folder(out), config, unit.variant)
                )
                share = frame[[f"{THRESHOLD_EXIT_PREFIX}{node}" for node in exits]].sum(axis=1)
                exited = unit_weighted(frame.assign(**{ACCURACY: share}), topology, models)
            for setting, value in unit_weighted(scored, topology, models).items():
                values.append({"row": row, "variant": unit.variant, "rule": row.rule,
                               "iteration": unit.iteration, "seed": unit.seed,
                               "setting": setting, "value": value,
                               EXITED: exited.get(setting)})  # fmt: skip
    frame = pd.DataFrame(values)
    if frame.empty:
        return frame
    frame.insert(0, "label", [label(row, thresholds.get(row, [])) for row in frame["row"]])
    return frame.drop(columns="row")


def settings_of(config: ExperimentConfig) -> list[str]:
    """Every reliability setting of the topology, then every failure model."""
    return [*config.topology.reliability, *config.failure_models]


def hardest_setting(config: ExperimentConfig) -> str:
    """``experiment.setting``, else the reliability setting of lowest mean survival."""
    if config.experiment.setting is not None:
        return config.experiment.setting
    reliability = config.topology.reliability
    return min(reliability, key=lambda name: sum(reliability[name]) / len(reliability[name]))


def variant_costs(config: ExperimentConfig, out: Path, units: list[Unit]) -> dict[str, NodeCosts]:
    """Each variant's costs, from the saved model of its first unit that keeps one (every
    iteration of a variant has the same architecture); a variant none of whose units keeps its
    model (units copied from a committed reference, which leaves models out) is built afresh
    from the config: parameters and FLOPs do not depend on the weights."""
    costs: dict[str, NodeCosts] = {}
    by_variant: dict[str, list[Unit]] = {}
    for unit in units:
        by_variant.setdefault(unit.variant, []).append(unit)
    for variant, members in by_variant.items():
        saved = [
            u.folder(out) / layout.MODEL for u in members if (u.folder(out) / layout.MODEL).exists()
        ]
        model = load_model(saved[0]) if saved else built_afresh(members[0].config(config), variant)
        costs[variant] = node_costs(model, topology_of(config, variant))
    return costs


def built_afresh(config: ExperimentConfig, variant: str) -> Any:
    """``variant``'s model as ``config`` builds it, untrained (its data gives the shapes)."""
    from resilinet_cli.data import load_splits
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.training.inputs import build_inputs

    inputs = build_inputs(load_splits(config.dataset), config, 1, config.seed)
    model, _ = build_from_config(
        config, variant, input_shape=inputs.input_shape, num_classes=inputs.num_classes, seed=0
    )
    return model


def cost_columns(config: ExperimentConfig, costs: NodeCosts | None) -> dict[str, float]:
    """params_<device>, flops_<device> (every node of the run's topology, each followed by the
    standby replicas any variant gives it; 0 where this variant has no such replica),
    bytes_<src→dst> (every link; 0 where the variant has no such link) and extra_nodes (the
    devices the variant adds: its standby replicas)."""
    topology = topology_of(config)
    columns: dict[str, float] = {}
    for name in ("params", "flops"):
        for device in devices(topology.nodes, config.replica_columns()):
            columns[f"{name}_{device}"] = (
                getattr(costs, name).get(device, 0) if costs else float("nan")
            )
    for link in topology.links:
        carried = costs.link_bytes.get((link.src, link.dst), 0) if costs else float("nan")
        columns[f"bytes_{link_label(link.src, link.dst)}"] = carried
    columns["extra_nodes"] = len(costs.standbys) if costs else float("nan")
    return columns


def total(row: Mapping[str, float], cost: str) -> float:
    """A row's total cost of one kind: over nodes (params, flops) or links (bytes)."""
    return sum(value for key, value in row.items() if key.startswith(f"{cost}_"))


def table(
    config: ExperimentConfig, values: pd.DataFrame, costs: Mapping[str, NodeCosts]
) -> pd.DataFrame:
    """One row per variant and rule: mean and std (ddof=1) of weighted accuracy per setting,
    the exited share (threshold rows), the cost columns and the extra cost over the reference."""
    rows = []
    for label_, group in values.groupby("label", sort=False):
        first = group.iloc[0]
        row: dict[str, object] = {
            "row": label_,
            "variant": first["variant"],
            "rule": first["rule"],
            "iterations": group["seed"].nunique(),
        }
        for setting in settings_of(config):
            here = group[group["setting"] == setting]
            if here.empty:
                continue
            row[f"{setting}_mean"] = here["value"].mean()
            row[f"{setting}_std"] = here["value"].std(ddof=1)
            row[f"{setting}_{EXITED}"] = here[EXITED].mean() if first["rule"] == THRESHOLD else None
        row.update(cost_columns(config, costs.get(str(first["variant"]))))
        rows.append(row)
    frame = pd.DataFrame(rows)
    reference = frame[frame["variant"] == config.experiment.reference]
    for cost in ("params", "flops", "bytes"):
        totals = [total(r, cost) for r in frame.to_dict("records")]
        base = total(reference.iloc[0].to_dict(), cost) if not reference.empty else float("nan")
        frame[f"extra_{cost}"] = [t - base for t in totals]
    return frame


def paired(config: ExperimentConfig, values: pd.DataFrame, correction: str) -> pd.DataFrame:
    """Each row against the reference variant's first row, per setting and failure model, as
    one family corrected by ``correction`` (claims.judged)."""
    reference = values[values["variant"] == config.experiment.reference]["label"]
    rows: list[dict[str, object]] = []
    if reference.empty:  # a partial run without the reference's units: nothing to test against
        return pd.DataFrame(rows, columns=[*claims.COLUMNS, "sd", "identity"])
    ref_label = reference.iloc[0]
    for setting in settings_of(config):
        here = values[values["setting"] == setting]
        b = here[here["label"] == ref_label]
        for label_ in dict.fromkeys(here["label"]):
            if label_ == ref_label:
                continue
            a = here[here["label"] == label_]
            pairs = pd.merge(a, b, on=["iteration", "seed"], suffixes=("_a", "_b"))
            pairs = pairs.sort_values("iteration")
            if pairs.empty:
                continue
            identity = ["methods", setting, label_, ref_label, pairs["seed"].tolist()]
            rows.append(claims.comparison_row(setting, label_, ref_label, pairs, identity))
    raw = pd.DataFrame(rows, columns=[*claims.COLUMNS, "sd", "identity"])
    if raw.empty:
        return raw
    return claims.judged(raw, claims.Family.of([raw], correction))


def markdown(config: ExperimentConfig, frame: pd.DataFrame) -> str:
    """The table in points: accuracy mean ± std per setting, exited share, total costs (and
    the devices a row adds, where one does)."""
    shown = pd.DataFrame({"row": frame["row"], "n": frame["iterations"].astype(str)})
    for setting in settings_of(config):
        if f"{setting}_mean" not in frame:
            continue
        shown[setting] = [
            f"{100 * m:.2f} ± {100 * s:.2f}" if s == s else f"{100 * m:.2f}"
            for m, s in zip(frame[f"{setting}_mean"], frame[f"{setting}_std"], strict=True)
        ]
        exited = [
            "" if e is None or e != e else f"{100 * e:.1f} %" for e in frame[f"{setting}_{EXITED}"]
        ]
        if any(exited):  # a table without exit rows has nothing to say here
            shown[f"exited, {setting}"] = exited
    for cost in ("params", "flops", "bytes"):
        shown[cost] = [f"{int(total(r, cost)):,}" for r in frame.to_dict("records")]
    if (frame["extra_nodes"] > 0).any():  # only a table with standby replicas needs the column
        shown["extra devices"] = [str(int(n)) if n == n else "" for n in frame["extra_nodes"]]
    return shown.to_markdown(index=False, disable_numparse=True)


def write(
    out: Path,
    config: ExperimentConfig,
    results: Mapping[Unit, pd.DataFrame],
    threshold_of: ThresholdOf,
    correction: str | None = None,
    zoom: bool = False,
) -> str:
    """Write tables/methods.csv and .md, methods_paired.csv and figures/methods_cost.png; return
    the report's section text ('' without finished units)."""
    values = per_unit(config, out, results, threshold_of)
    if values.empty:
        return ""
    costs = variant_costs(config, out, list(results))
    frame = table(config, values, costs)
    tests = paired(config, values, correction or config.stats.correction)
    text = markdown(config, frame)
    atomic.write_csv(out / layout.TABLES / layout.METHODS_CSV, frame)
    atomic.write_text(out / layout.TABLES / layout.METHODS_MD, text + "\n")
    parts = ["**Variants and inference rules**", text, f"_{NOTE}_"]
    if not tests.empty:
        atomic.write_csv(out / layout.TABLES / layout.METHODS_PAIRED_CSV, claims.csv_table(tests))
        reference = config.experiment.reference
        parts += [f"**Each row against {reference}**", claims.markdown(tests),
                  f"_{claims.note(tests)}_"]  # fmt: skip
    from resilinet_cli.results.method_figure import cost_figure

    setting = hardest_setting(config)
    cost_figure(
        frame,
        setting,
        config.experiment.cost,
        out / layout.FIGURES / layout.METHODS_COST_PNG,
        zoom=zoom,
    )
    parts.append(f"![methods cost]({layout.FIGURES}/{layout.METHODS_COST_PNG})")
    return "\n\n".join(parts)


NOTE = (
    "Weighted accuracy in points, mean ± std over iterations (paired by seed). exited: the "
    "threshold rule's weighted share of examples answered at an exit. params and flops: totals "
    "over the physical devices (per device in methods.csv; an exit head counts at its node, "
    "each standby replica is a device of its own); bytes: per example over every link (float32 "
    "node outputs); extra devices: the standby replicas a variant adds."
)
