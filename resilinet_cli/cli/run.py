"""``resilinet run`` and ``resilinet train``: train units, sweep their failure combinations,
print the table; ``run -m`` runs one config per value of a multirun."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from pathlib import Path
from typing import Any, NamedTuple

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.context import invocation, keras_verbosity
from resilinet_cli.cli.dry_run import dry_run_listing, dry_run_plan
from resilinet_cli.cli.multirun import (
    CFG_OPTION,
    command_line_runs,
    print_configs,
    run_folder,
    write_multirun,
)
from resilinet_cli.cli.options import (
    NO_SWEEP_OPTION,
    REUSE_STALE_OPTION,
    config_options,
    executor_options,
    load,
    parse_iterations,
    parse_variants,
)
from resilinet_cli.cli.output import echo_json
from resilinet_cli.cli.progress import progress
from resilinet_cli.errors import ConfigError


@main.command()
@config_options
@click.argument("positional", nargs=-1, metavar="[KEY=VALUE]...")
@click.option(
    "-m",
    "--multirun",
    is_flag=True,
    help="Multirun: one config per value of each multi-value override (key=a,b, "
    "range(...), choice(...)), each in its own folder under the multirun's folder.",
)
@CFG_OPTION
@click.option("--variants", metavar="V1,V2", help="Variants to train [default: the config's].")
@click.option("--iterations", metavar="N|A..B", help="Iterations to run [default: the config's].")
@click.option("--dry-run", is_flag=True, help="List the units and which are already done.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="With --dry-run: print the plan as JSON instead (see below).",
)
@click.option("--fail-fast", is_flag=True, help="Stop at the first unit that fails.")
@click.option(
    "--reuse-from",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Copy units whose training equals a finished unit under this folder.",
)
@NO_SWEEP_OPTION
@click.option(
    "--no-train",
    is_flag=True,
    help="Sweep the model as built, with its loaded weights (train.epochs=0): for a network "
    "trained elsewhere (model.path or model.weights).",
)
@REUSE_STALE_OPTION
@executor_options
def run(
    config: Path,
    overrides: tuple[str, ...],
    positional: tuple[str, ...],
    multirun: bool,
    print_cfg: bool,
    smoke: bool,
    out: Path | None,
    data_dir: Path | None,
    variants: str | None,
    iterations: str | None,
    dry_run: bool,
    as_json: bool,
    fail_fast: bool,
    reuse_from: Path | None,
    no_sweep: bool,
    no_train: bool,
    reuse_stale: bool,
    executor: Any,
) -> None:
    """Train every variant for every iteration, sweep all failure combinations, write tables.

    Finished units in an existing run folder are kept, so re-running resumes an interrupted run.

    Overrides in Hydra's grammar follow the config or come with --set (both may be mixed; the
    --set ones apply first): key=value changes a key, +key=value adds one the file does not
    have, ~key removes one (its default applies), and topology=, dataset= or model= with a
    preset name replaces that whole section. With -m (a multirun), a multi-value override
    (key=a,b, key=range(1,4), key=choice(a,b)) runs once per value, each into a folder named by
    its values, side by side under the multirun's folder (results/<name>-multirun, or --out),
    and tables/multirun.csv there lists every value's weighted accuracy; without -m several
    values are refused. Every config of a multirun is validated before any unit trains.
    --cfg prints the resolved config (after the base, presets and overrides) and trains nothing.

    \b
    Example:
      resilinet run configs/quickstart.yaml
      resilinet run configs/quickstart.yaml train.epochs=5 iterations=1
      resilinet run configs/quickstart.yaml topology=cnn dataset=fashion_mnist model=mobilenet
      resilinet run configs/quickstart.yaml +train.early_stopping=3 ~train.failout.granularity
      resilinet run configs/quickstart.yaml train.epochs=5 --cfg
      resilinet run configs/quickstart.yaml -m train.failout.survival=0.9,0.7 --dry-run
      resilinet run configs/quickstart.yaml -m 'train.epochs=range(10,31,10)' --dry-run
      resilinet run configs/health.yaml --iterations 3..3 --variants resilinet
      resilinet run configs/ablations/digits_merge.yaml --reuse-from results
      resilinet run configs/quickstart.yaml --workers 2
      resilinet run configs/health.yaml --executor ray --address auto
      resilinet run configs/quickstart.yaml --dry-run --json
      resilinet run configs/byom_mobilenetv2_fashion.yaml --set model.path=mine.keras --no-train

    \b
    --dry-run --json prints one object (a list of them for a -m multirun, one per value):
      config     the config's name
      folder     the run folder
      overrides  the overrides of this run, one value each
      units      one object per planned unit: name, state (todo: to train; done:
                 finished here; copy: an identical unit is finished under --reuse-from),
                 variant, iteration, seed, and an ablation level's factor, value,
                 trained_for and overrides (null or empty in a plain run)
      counts     units per state (todo, done, copy) and their total
    """
    from resilinet_cli.experiments.kinds import plan_units
    from resilinet_cli.experiments.runner import Experiment

    if as_json and not dry_run:
        raise click.UsageError(
            "--json: only with --dry-run; a run's results are in its tables/ folder "
            "(weighted_accuracy.csv)"
        )
    runs = command_line_runs(overrides, positional, multirun)
    extra = ["train.epochs=0"] if no_train else []
    if print_cfg:
        print_configs(config, runs, extra, smoke, data_dir)
        return
    planned = []  # every config of a multirun is checked before any unit trains
    for one in runs:
        cfg = load(config, [*one.edits, *extra], smoke, data_dir)
        check_sweep_size(config, cfg, no_sweep)
        root, reference = run_folder(cfg, smoke, out, multirun=bool(one.folder))
        folder = root / one.folder if one.folder else root
        compare_with = (reference / one.folder if one.folder else reference) if reference else None
        chosen = parse_iterations(iterations)
        planned.append(Planned(one, cfg, parse_variants(variants, cfg), chosen, folder,
                               compare_with))  # fmt: skip
    experiments = [
        Experiment(
            p.cfg, p.out, plan_units(p.cfg, p.variants, p.iterations), invocation(p.run.texts)
        )
        for p in planned
    ]
    root = run_folder(planned[0].cfg, smoke, out, multirun=True)[0] if runs[0].varied else None
    queue = run_queue(reuse_from or root, not no_sweep, reuse_stale, executor)
    if dry_run:
        dry_run_output(experiments, queue, planned, as_json, multirun=bool(runs[0].varied))
        return
    for each in planned:
        if each.reference is not None and each is planned[0]:
            click.echo(
                f"{each.reference} is a committed reference, which resilinet never writes into: "
                f"this run goes to {each.out} and is compared with it at the end"
            )
    results = execute_experiments(experiments, queue, fail_fast)
    failed = []
    for each, result in zip(planned, results, strict=True):
        if each.run.folder:
            click.echo(f"== {each.run.folder}")
        echo_result(each.out, result, not no_sweep)
        failed += result.failed
    if root is not None:
        table = write_multirun(root, planned)
        if table is not None:
            click.echo(
                f"Multirun: {table} (and .md), {root / 'REPORT.md'}: the weighted accuracy of "
                f"every value; HParams: tensorboard --logdir {root}"
            )
    for each in planned:
        if each.reference is not None:
            from resilinet_cli.cli.reproduce import compare_with_reference

            compare_with_reference(each.out, each.reference)
    if failed:
        click.echo(f"{len(failed)} unit(s) failed:", err=True)
        for unit, why in failed:
            click.echo(f"  {unit.name}: {why}", err=True)
        raise click.exceptions.Exit(1)


def run_queue(reuse_from: Path | None, swept: bool, reuse_stale: bool, executor: Any) -> Any:
    from resilinet_cli.experiments.runner import make_queue

    return make_queue(
        progress=progress(), reuse_from=reuse_from, swept=swept, reuse_stale=reuse_stale,
        workers=executor.workers, ray=executor.ray,
    )  # fmt: skip


def dry_run_output(
    experiments: list[Any], queue: Any, planned: list[Planned], as_json: bool, multirun: bool
) -> None:
    """What the run would do, from the very plan the run carries out (``Queue.preview``)."""
    from resilinet_cli.experiments.runner import preview_experiments

    every = preview_experiments(experiments, queue)
    for experiment, steps in zip(experiments, every, strict=True):
        if any(step.state == "todo" for step in steps):
            check_local_data(experiment.config)
    if as_json:
        plans = [dry_run_plan(e.config, e.out, steps, p.run.texts)
                 for e, steps, p in zip(experiments, every, planned, strict=True)]  # fmt: skip
        echo_json(plans if multirun else plans[0])
        return
    for experiment, steps, each in zip(experiments, every, planned, strict=True):
        if each.run.folder:
            click.echo(f"== {each.run.folder}")
        dry_run_listing(experiment.out, steps)


def execute_experiments(experiments: list[Any], queue: Any, fail_fast: bool) -> list[Any]:
    """Train and sweep what is left of every experiment; on Ctrl-C or SIGTERM say what is
    finished and how to resume, and exit with the signal's status."""
    from resilinet_cli.experiments.runner import run_experiments

    try:
        return run_experiments(experiments, queue, verbose=keras_verbosity(), fail_fast=fail_fast)
    except KeyboardInterrupt:
        status = 0
        for experiment in experiments:
            status = report_interruption(experiment.config, experiment.out, experiment.units,
                                         queue.swept, queue.reuse_stale)  # fmt: skip
        raise click.exceptions.Exit(status) from None


def echo_result(out: Path, result: Any, swept: bool) -> None:
    """The weighted-accuracy table of a finished run, and where its files are."""
    from resilinet_cli.results import layout
    from resilinet_cli.results.tables import weighted_markdown

    click.echo("")
    if not result.weighted.empty:
        click.echo(weighted_markdown(result.weighted))
    if not swept:
        click.echo(
            f"Models in {out}/{layout.RUNS}, not swept. Weighted accuracy: resilinet evaluate {out}"
        )
    else:
        click.echo(
            f"Results: {out}/{layout.REPORT}, tables in {out}/{layout.TABLES} "
            f"({layout.WEIGHTED_CSV}, .md, .tex, {layout.COMBINATIONS}), "
            f"figures in {out}/{layout.FIGURES}, models in {out}/{layout.RUNS}"
        )
    for line in result.tracked:
        click.echo(line)


class Planned(NamedTuple):
    """One run of a command line, checked: its config, variants, iterations and folder, and
    the committed reference it reproduces (compared with at the end), if any."""

    run: Any  # config.multirun.Run
    cfg: Any
    variants: list[str]
    iterations: list[int] | None  # None: each variant's count from the config
    out: Path
    reference: Path | None = None


@main.command()
@config_options
@click.argument("positional", nargs=-1, metavar="[KEY=VALUE]...")
@click.option(
    "--variant",
    required=True,
    metavar="V",
    help="vanilla, deepfogguard, resilinet or resilinet_plus.",
)
@click.option(
    "--iteration",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Which iteration folder (iter-K) to write.",
)
@click.option("--seed", type=int, help="Seed [default: the config's seed for that iteration].")
@NO_SWEEP_OPTION
@REUSE_STALE_OPTION
@CFG_OPTION
def train(
    config: Path,
    overrides: tuple[str, ...],
    positional: tuple[str, ...],
    print_cfg: bool,
    smoke: bool,
    out: Path | None,
    data_dir: Path | None,
    variant: str,
    iteration: int,
    seed: int | None,
    no_sweep: bool,
    reuse_stale: bool,
) -> None:
    """Train one model, save it and sweep its failure combinations.

    Overrides follow the config or come with --set, in Hydra's grammar, as for `run` (several
    values need `run -m`); --cfg prints the resolved config and trains nothing.

    \b
    Example:
      resilinet train configs/quickstart.yaml --variant resilinet --seed 7
      resilinet train configs/quickstart.yaml train.epochs=5 --variant vanilla
    """
    [one] = command_line_runs(overrides, positional, multirun=False)
    if print_cfg:
        print_configs(config, [one], [], smoke, data_dir)
        return
    cfg = load(config, one.edits, smoke, data_dir)
    check_sweep_size(config, cfg, no_sweep)
    names = parse_variants(variant, cfg, option="--variant")
    if len(names) != 1:
        raise ConfigError("--variant: name exactly one variant")
    from resilinet_cli.experiments.kinds import plan_units
    from resilinet_cli.experiments.runner import Experiment, make_queue

    target, _ = run_folder(cfg, smoke, out)
    units = [
        dataclasses.replace(unit, seed=seed) if seed is not None else unit
        for unit in plan_units(cfg, names, [iteration])
    ]
    queue = make_queue(force=True, progress=progress(), swept=not no_sweep,
                       reuse_stale=reuse_stale)  # fmt: skip
    [result] = execute_experiments([Experiment(cfg, target, units, invocation(one.texts))],
                                   queue, fail_fast=False)  # fmt: skip
    echo_result(target, result, not no_sweep)
    if result.failed:
        for unit, why in result.failed:
            click.echo(f"{unit.name}: failed: {why}", err=True)
        raise click.exceptions.Exit(1)


def check_sweep_size(path: Path, cfg: Any, no_sweep: bool) -> None:
    """Refuse, before any work, a sweep of more combinations than ``run`` can enumerate."""
    from resilinet_cli.sweeps.sweep import MAX_SWEEP_NODES

    nodes = len(cfg.topology.columns)
    what = "failable nodes and links" if cfg.topology.failable_links else "failable nodes"
    if nodes > MAX_SWEEP_NODES and not no_sweep:
        raise ConfigError(
            f"{path}: topology: {nodes} {what} make {2**nodes:,} failure combinations, "
            f"more than the sweep enumerates (2^{MAX_SWEEP_NODES}); add --no-sweep to train "
            "only, then `resilinet evaluate RUN_DIR` bounds or samples them"
        )


def check_local_data(cfg: Any) -> None:
    """The run's data error, if its data is not on this machine; nothing is downloaded."""
    from resilinet_cli.data import load_splits
    from resilinet_cli.errors import DataError

    try:
        load_splits(cfg.dataset.model_copy(update={"download": False}))
    except DataError as error:
        if not cfg.dataset.download:
            raise
        name = cfg.dataset.name
        raise DataError(
            f"{error}; the run would try to download it first (now: resilinet data fetch {name})"
        ) from None


def report_interruption(
    cfg: Any, out: Path, units: list[Any], swept: bool, reuse_stale: bool
) -> int:
    """After Ctrl-C or SIGTERM: which units are finished, and the command that resumes the run.

    Returns the exit status the stop calls for (130 for Ctrl-C, 143 for SIGTERM).
    """
    from resilinet_cli.interrupt import stop_status
    from resilinet_cli.results.runs import is_done

    how, status = stop_status()
    done = [
        unit.name for unit in units if is_done(out, unit, cfg, swept=swept, reuse_stale=reuse_stale)
    ]
    click.echo(f"\n{how}: {len(done)} of {len(units)} units finished in {out}", err=True)
    for name in done:
        click.echo(f"  done {name}", err=True)
    command = shlex.join(["resilinet", *sys.argv[1:]])
    click.echo(f"resume with the same command; finished units are kept: {command}", err=True)
    return status
