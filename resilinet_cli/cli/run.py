"""``resilinet run`` and ``resilinet train``: train units, sweep them, print the table."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.options import (
    NO_SWEEP_OPTION,
    REUSE_STALE_OPTION,
    config_options,
    default_out,
    echo_json,
    executor_options,
    invocation,
    keras_verbosity,
    load,
    parse_iterations,
    parse_variants,
)
from resilinet_cli.cli.progress import progress
from resilinet_cli.errors import ConfigError

STATES = ("todo", "done", "copy")  # a unit's state in a dry run


@main.command()
@config_options
@click.argument("positional", nargs=-1, metavar="[KEY=VALUE]...")
@click.option(
    "-m",
    "--multirun",
    is_flag=True,
    help="Run one config per value of each sweep (key=a,b, range(...), choice(...)).",
)
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
    preset name replaces that whole section. With -m, a sweep (key=a,b, key=range(1,4),
    key=choice(a,b)) runs once per value, each into a folder named by its values under the run
    folder, and tables/sweep.csv there lists every value's weighted accuracy; without -m a
    sweep is refused. Every config of a sweep is validated before any unit trains.

    \b
    Example:
      resilinet run configs/quickstart.yaml
      resilinet run configs/quickstart.yaml train.epochs=5 iterations=1
      resilinet run configs/quickstart.yaml topology=cnn dataset=fashion_mnist model=mobilenet
      resilinet run configs/quickstart.yaml +train.early_stopping=3 ~train.failout.granularity
      resilinet run configs/quickstart.yaml -m train.failout.survival=0.9,0.7 --dry-run
      resilinet run configs/quickstart.yaml -m 'train.epochs=range(10,31,10)' --dry-run
      resilinet run configs/health.yaml --iterations 3..3 --variants resilinet
      resilinet run configs/ablations/digits_merge.yaml --reuse-from results
      resilinet run configs/quickstart.yaml --workers 2
      resilinet run configs/health.yaml --executor ray --address auto
      resilinet run configs/quickstart.yaml --dry-run --json
      resilinet run configs/byom_mobilenetv2_fashion.yaml --set model.path=mine.keras --no-train

    \b
    --dry-run --json prints one object (a list of them for a -m sweep, one per value):
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

    if as_json and not dry_run:
        raise click.UsageError(
            "--json: only with --dry-run; a run's results are in its tables/ folder "
            "(weighted_accuracy.csv)"
        )
    runs = command_line_runs(overrides, positional, multirun)
    planned = []  # every config of a sweep is checked before any unit trains
    for one in runs:
        cfg = load(config, [*one.edits, *(["train.epochs=0"] if no_train else [])], smoke, data_dir)
        check_sweep_size(config, cfg, no_sweep)
        root = default_out(cfg, smoke, out)
        planned.append(
            Planned(
                one,
                cfg,
                parse_variants(variants, cfg),
                parse_iterations(iterations),
                root / one.folder if one.folder else root,
            )
        )
    plans, table = [], None
    for one, cfg, names, chosen, target in planned:
        if as_json:
            units = plan_units(cfg, names, chosen)
            swept = not no_sweep
            states = dry_run_states(cfg, target, units, reuse_from, swept, reuse_stale)
            plans.append(dry_run_plan(cfg, target, states, one.texts))
            continue
        if one.folder:
            click.echo(f"== {one.folder}")
        with unit_invocation(one.texts):
            execute(
                cfg,
                target,
                names,
                chosen,
                seed=None,
                dry_run=dry_run,
                fail_fast=fail_fast,
                reuse_from=reuse_from,
                swept=not no_sweep,
                reuse_stale=reuse_stale,
                workers=executor.workers,
                ray=executor.ray,
            )
        if one.swept and not dry_run:  # after each value, so a failed value keeps the others
            table = write_sweep(default_out(planned[0].cfg, smoke, out), planned)
    if as_json:
        echo_json(plans if runs[0].swept else plans[0])
    elif table is not None:
        click.echo(f"Sweep: {table} (and .md): the weighted accuracy of every value")


def command_line_runs(
    overrides: Sequence[str], positional: Sequence[str], multirun: bool
) -> list[Any]:
    """The runs that --set and positional overrides ask for, read with Hydra's grammar."""
    from resilinet_cli.config.grammar import parse_overrides
    from resilinet_cli.config.multirun import plan_runs

    parsed = [*parse_overrides(overrides, "--set"), *parse_overrides(positional)]
    return plan_runs(parsed, multirun)


class Planned(NamedTuple):
    """One run of a command line, checked: its config, variants, iterations and folder."""

    run: Any  # config.multirun.Run
    cfg: Any
    variants: list[str]
    iterations: list[int] | None  # None: each variant's count from the config
    out: Path


def write_sweep(root: Path, planned: list[Planned]) -> Path | None:
    """The sweep's combined table, from the values whose run has written its table so far."""
    from resilinet_cli.results.multirun import write_sweep_table

    return write_sweep_table(root, [(each.run.values, each.out) for each in planned])


def unit_invocation(overrides: Sequence[str]) -> Any:
    """A block whose units record this command line and these overrides."""
    from resilinet_cli.experiments.unit import invoked

    return invoked(invocation(overrides))


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
def train(
    config: Path,
    overrides: tuple[str, ...],
    positional: tuple[str, ...],
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

    Overrides follow the config or come with --set, in Hydra's grammar, as for `run` (a sweep
    needs `run -m`).

    \b
    Example:
      resilinet train configs/quickstart.yaml --variant resilinet --seed 7
      resilinet train configs/quickstart.yaml train.epochs=5 --variant vanilla
    """
    [one] = command_line_runs(overrides, positional, multirun=False)
    cfg = load(config, one.edits, smoke, data_dir)
    check_sweep_size(config, cfg, no_sweep)
    names = parse_variants(variant, cfg, option="--variant")
    if len(names) != 1:
        raise ConfigError("--variant: name exactly one variant")
    target = default_out(cfg, smoke, out)
    with unit_invocation(one.texts):
        execute(
            cfg,
            target,
            names,
            [iteration],
            seed=seed,
            force=True,
            swept=not no_sweep,
            reuse_stale=reuse_stale,
        )


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


def dry_run_listing(out: Path, states: list[tuple[str, Any]]) -> None:
    """One line per unit: done, copy (an identical unit is finished elsewhere) or todo."""
    for state, unit in states:
        click.echo(f"{state}  {unit.name}")
    todo = sum(state == "todo" for state, _ in states)
    click.echo(f"{todo} of {len(states)} units to train in {out}")


def dry_run_plan(
    cfg: Any, out: Path, states: list[tuple[str, Any]], overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """The dry run's listing as data, for --json: each unit with its state, and the counts."""
    counts = {name: sum(state == name for state, _ in states) for name in STATES}
    return {
        "config": cfg.name,
        "folder": str(out),
        "overrides": list(overrides),
        "units": [{"name": u.name, "state": state, **u.to_record()} for state, u in states],
        "counts": {**counts, "total": len(states)},
    }


def dry_run_states(
    cfg: Any,
    out: Path,
    units: list[Any],
    reuse_from: Path | None,
    swept: bool,
    reuse_stale: bool = False,
) -> list[tuple[str, Any]]:
    """(state, unit) for each unit: done, copy (an identical unit is finished elsewhere) or todo.

    It stops, as the real run would, at a folder that holds another config, and at data that
    is not on this machine (without downloading it).
    """
    from resilinet_cli.experiments import reuse
    from resilinet_cli.results.runs import check_run_folder, check_versions, is_done

    check_run_folder(out, cfg)
    check_versions(out, cfg, reuse_stale=reuse_stale)
    donors = reuse.finished_units(reuse_from, swept=swept) if reuse_from else {}
    states = []
    for unit in units:
        if is_done(out, unit, cfg, swept=swept, reuse_stale=reuse_stale):
            states.append(("done", unit))
        elif reuse.training_key(cfg, unit) in donors:
            states.append(("copy", unit))
        else:
            states.append(("todo", unit))
    if any(state == "todo" for state, _ in states):
        check_local_data(cfg)
    return states


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


def execute(
    cfg: Any,
    out: Path,
    variants: list[str],
    iterations: list[int] | None,
    *,
    seed: int | None,
    force: bool = False,
    dry_run: bool = False,
    fail_fast: bool = False,
    reuse_from: Path | None = None,
    swept: bool = True,
    reuse_stale: bool = False,
    workers: int = 1,
    ray: Any = None,
) -> None:
    """Run the planned units that are not finished yet, then print the weighted accuracy."""
    from resilinet_cli import api
    from resilinet_cli.experiments.kinds import plan_units
    from resilinet_cli.results import layout
    from resilinet_cli.results.tables import weighted_markdown

    units = plan_units(cfg, variants, iterations)
    if seed is not None:
        units = [dataclasses.replace(u, seed=seed) for u in units]
    if dry_run:
        dry_run_listing(out, dry_run_states(cfg, out, units, reuse_from, swept, reuse_stale))
        return
    try:
        result = api.run(
            cfg,
            out,
            variants=variants,
            iterations=iterations,
            seed=seed,
            force=force,
            fail_fast=fail_fast,
            progress=progress(),
            verbose=keras_verbosity(),
            reuse_from=reuse_from,
            swept=swept,
            reuse_stale=reuse_stale,
            workers=workers,
            ray=ray,
        )
    except KeyboardInterrupt:
        status = report_interruption(cfg, out, units, swept, reuse_stale)
        raise click.exceptions.Exit(status) from None
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
    if result.failed:
        click.echo(f"{len(result.failed)} unit(s) failed:", err=True)
        for unit, why in result.failed:
            click.echo(f"  {unit.name}: {why}", err=True)
        raise click.exceptions.Exit(1)
