"""``resilinet evaluate``: saved models under chosen failures and reliability settings."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.context import Verbosity, verbosity
from resilinet_cli.cli.options import DATA_DIR_OPTION
from resilinet_cli.cli.output import echo_json
from resilinet_cli.cli.targets import RunOrModel
from resilinet_cli.errors import ConfigError, unknown_choice

if TYPE_CHECKING:
    from resilinet_cli.estimate.methods import EstimateOptions
    from resilinet_cli.topology import Combination, Topology


@main.command()
@click.argument("target", metavar="RUN_OR_MODEL", type=RunOrModel())
@click.option(
    "--failures",
    default="all",
    show_default=True,
    metavar="all|NODE,NODE",
    help="'all' prints every combination; otherwise the nodes that are dead.",
)
@click.option(
    "--reliability",
    metavar="NAME|r1,r2,...",
    help="A named setting or one survival rate per failable node [default: all named].",
)
@click.option(
    "--method",
    default="auto",
    show_default=True,
    metavar="auto|exhaustive|bounded|montecarlo",
    help="How to compute each weighted accuracy; auto picks by the nodes and the budget.",
)
@click.option(
    "--tolerance",
    default="0.01",
    show_default=True,
    metavar="MASS",
    help="bounded: evaluate combinations until the mass left out is below this.",
)
@click.option(
    "--half-width",
    default="0.005",
    show_default=True,
    metavar="H",
    help="montecarlo: sample until the 95% interval is within +-H.",
)
@click.option(
    "--budget",
    default="120",
    show_default=True,
    metavar="SECONDS",
    help="Time for each weighted accuracy: what auto plans for; caps bounded and montecarlo.",
)
@click.option(
    "--failure-model",
    metavar="NAME|FILE",
    help="Rescore RUN's finished units under a failure model (one of its config's "
    "failure_models, or a YAML file holding one) from their combinations.csv: no models, "
    "no data needed.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the results as JSON (fields below) instead of tables; nothing else on stdout.",
)
@DATA_DIR_OPTION
def evaluate(
    target: Path,
    failures: str,
    reliability: str | None,
    method: str,
    tolerance: str,
    half_width: str,
    budget: str,
    failure_model: str | None,
    as_json: bool,
    data_dir: Path | None,
) -> None:
    """Accuracy of trained models under node failures, and their weighted accuracy.

    RUN_OR_MODEL is a run folder (every finished model in it), a unit folder or a model.keras.
    An ablation's models are evaluated each under its own level's config and printed grouped
    by level. Writes evaluation.csv and evaluation_weighted.csv next to each model.

    Under auto, up to 6 failable nodes every combination is swept, as run does. With more,
    auto times a first batch of combinations and picks the first method that fits the budget:
    exhaustive (every combination), bounded (the most likely ones, an exact interval within
    --tolerance) or montecarlo (sampled, a 95% interval within --half-width). The output says
    which method gave each weighted accuracy, and its interval. Over several models it ends
    with each model's weighted accuracy and, per variant and setting, their mean ± sample
    std over the iterations (the run's weighted_accuracy table, from these models).

    \b
    Example:
      resilinet evaluate results/quickstart --failures all
      resilinet evaluate results/quickstart/runs/resilinet/iter-1/model.keras \\
          --failures edge,fog2 --reliability 0.9,0.9,0.9
      resilinet evaluate results/scale_chain --method montecarlo --half-width 0.01
      resilinet evaluate results/quickstart --json > evaluation.json
      resilinet evaluate results/quickstart --failure-model configs/failure_models/shared_rack.yaml

    \b
    --json prints one object; accuracies are fractions in [0, 1], as in the CSV files:
      run        the run folder
      failures   "all", or the list of dead nodes of --failures
      settings   each reliability setting: one survival rate per failable node
      models     one object per model: variant, an ablation's level columns (as in
                 the tables) and trained_for if any, iteration, path, and
                 combinations  the rows of its evaluation.csv: one 0/1 field per
                               failable node (1 = alive), information_flow, accuracy
                 weighted      the rows of its evaluation_weighted.csv: setting,
                               reliability (a list), accuracy, method, lower, upper,
                               combinations, samples
      weighted   per variant, level and setting: mean, std (sample std, ddof=1;
                 null for one iteration) and iterations, the columns of the run's
                 tables/weighted_accuracy.csv
    """
    from resilinet_cli.experiments.evaluation import evaluate_model
    from resilinet_cli.experiments.evaluation_report import grouped, report
    from resilinet_cli.results.locate import locate_models, run_config
    from resilinet_cli.variants import topology_of

    if failure_model is not None:
        given = reliability is not None or failures != "all" or method != "auto"
        if given:
            raise click.UsageError(
                "--failure-model rescores the combinations each unit has; it takes no "
                "--reliability, --failures or --method"
            )
        rescore_run(target, failure_model, as_json, data_dir)
        return
    run_dir, models = locate_models(target)
    cfg = run_config(run_dir, data_dir)
    topology = topology_of(cfg)
    named = topology.with_replicas(cfg.replica_counts())  # --failures: any variant's replica
    dead = parse_failures(failures, named)
    failed = (
        None if dead is None else [c for c, a in zip(named.columns, dead, strict=True) if not a]
    )
    settings = parse_reliability(reliability, topology)
    options = parse_options(method, tolerance, half_width, budget, seed=cfg.seed)
    check_method(options, topology)
    from resilinet_cli.data import load_splits
    from resilinet_cli.training.inputs import build_inputs

    inputs = build_inputs(load_splits(cfg.dataset), cfg, len(topology.columns), seed=cfg.seed)
    # --quiet over several models: only the summaries at the end
    each = not as_json and (len(models) == 1 or verbosity() is not Verbosity.QUIET)
    results = []
    for heading, members in grouped(cfg, models):
        if heading and each:
            click.echo(f"\n== {heading}")
        for model in members:  # each under its own config: an ablation level's overrides
            own = model.config(cfg)
            selected = None  # over the model's own columns: its replicas, if any
            if failed is not None:
                selected = topology_of(own, model.variant).combination_of_dead(failed)
            result = evaluate_model(
                own, model.variant, model.path, inputs, selected, settings, options
            )
            results.append((model, result))
            if each:
                click.echo(f"\n{model.variant} ({model.path})")
                click.echo(result.describe())
    if as_json:
        echo_json(report(run_dir, cfg, results, failed, settings))
    else:
        echo_summaries(cfg, results, settings)


def echo_summaries(cfg: Any, results: list[Any], settings: dict[str, Any]) -> None:
    """Each model's weighted accuracy, then their mean ± std over iterations, if several."""
    from resilinet_cli.experiments.evaluation_report import (
        mean_std_table,
        summary_markdown,
        summary_table,
    )
    from resilinet_cli.results.report_page import table_formats
    from resilinet_cli.results.table_columns import NOTE

    if len(results) < 2:
        return
    summary = summary_markdown(summary_table(cfg, results), [*settings])
    click.echo(f"\nWeighted accuracy in % of each model:\n\n{summary}")
    table = mean_std_table(cfg, results)
    if (table["iterations"] > 1).any():
        click.echo(f"\n{NOTE.removesuffix('.')}:\n\n{table_formats(table)['markdown']}")


def rescore_run(target: Path, name: str, as_json: bool, data_dir: Path | None) -> None:
    """``--failure-model``: every finished unit of the run ``target``, rescored; the table is
    written to ``tables/weighted_accuracy_<model>.csv``."""
    from resilinet_cli import atomic
    from resilinet_cli.experiments import rescore
    from resilinet_cli.results import layout, references
    from resilinet_cli.results.locate import run_config
    from resilinet_cli.results.report_page import table_formats
    from resilinet_cli.results.table_columns import NOTE

    if not (target / layout.CONFIG).is_file():
        raise click.UsageError("--failure-model: give a run folder (its units are rescored)")
    cfg = run_config(target, data_dir)
    model = rescore.load_failure_model(name, cfg)
    per_unit, table = rescore.rescore(target, cfg, model)
    path = target / layout.TABLES / layout.failure_model_csv(model.name)
    if references.is_reference(target):
        click.echo(f"{path} not written: {target} is a committed reference", err=True)
    else:
        atomic.write_csv(path, table)
    if as_json:
        records = {"units": per_unit.to_dict("records"), "weighted": table.to_dict("records")}
        columns = list(model.columns)
        echo_json({"run": target, "failure_model": model.name, "columns": columns, **records})
        return
    shown = per_unit.assign(accuracy=(100 * per_unit["accuracy"]).round(2))
    click.echo(f"Weighted accuracy in % under failure model {model.name}, each unit:\n")
    click.echo(shown.to_markdown(index=False))
    click.echo(f"\n{NOTE.removesuffix('.')}:\n\n{table_formats(table)['markdown']}")


MAX_EXHAUSTIVE = 24  # failable nodes: beyond, --method exhaustive is refused


def parse_failures(text: str, topology: Topology) -> Combination | None:
    """None for 'all'; otherwise the combination with exactly the named nodes (replicas,
    links) dead."""
    if text.strip().lower() == "all":
        return None
    names = [n.strip() for n in text.split(",") if n.strip() and n.strip().lower() != "none"]
    kind = "failable node or link" if topology.failable_links else "failable node"
    for name in names:
        if name not in topology.columns:
            raise ConfigError(f"--failures: {unknown_choice(kind, name, topology.columns)}")
    return topology.combination_of_dead(names)


def parse_reliability(text: str | None, topology: Topology) -> dict[str, tuple[float, ...]]:
    """Named settings, or one custom vector 'r1,r2,...' in failable-node (then link) order."""
    if text is None:
        return dict(topology.reliability)
    if text in topology.reliability:
        return {text: topology.reliability[text]}
    try:
        vector = tuple(float(v) for v in text.split(","))
    except ValueError:
        known = list(topology.reliability)
        raise ConfigError(f"--reliability: {unknown_choice('setting', text, known)}") from None
    order = ",".join(topology.failable)
    if len(vector) not in (len(topology.failable), len(topology.columns)):
        also = f" or {len(topology.columns)} with {','.join(topology.failable_links)}"
        more = also if topology.failable_links else ""
        raise ConfigError(f"--reliability: needs {len(topology.failable)} values ({order}){more}")
    if not all(0.0 <= r <= 1.0 for r in vector):
        raise ConfigError(f"--reliability: each value must be in [0, 1] ({order})")
    return {text: vector}


def parse_options(
    method: str, tolerance: str, half_width: str, budget: str, *, seed: int
) -> EstimateOptions:
    """The estimation flags of ``evaluate``, checked: one line per problem, as ConfigError."""
    from resilinet_cli.estimate.methods import METHODS, EstimateOptions

    if method not in METHODS:
        raise ConfigError(f"--method: {unknown_choice('method', method, METHODS)}")

    def number(option: str, text: str, valid: Callable[[float], bool], expected: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and valid(value)):
            raise ConfigError(f"{option} {text!r}: expected {expected}")
        return value

    return EstimateOptions(
        method=method,
        tolerance=number(
            "--tolerance",
            tolerance,
            lambda v: 0 <= v < 1,
            "a probability mass in [0, 1), e.g. 0.01",
        ),
        half_width=number(
            "--half-width", half_width, lambda v: 0 < v <= 0.5, "a number in (0, 0.5], e.g. 0.005"
        ),
        budget=number(
            "--budget", budget, lambda v: v > 0, "a positive number of seconds, e.g. 120"
        ),
        seed=seed,
    )


def check_method(options: EstimateOptions, topology: Topology) -> None:
    """Refuse an exhaustive evaluation that could not finish."""
    failable = len(topology.columns)
    if options.method == "exhaustive" and failable > MAX_EXHAUSTIVE:
        raise ConfigError(
            f"--method exhaustive: {failable} failable nodes have 2^{failable} combinations; "
            "use bounded or montecarlo"
        )
