"""The ``resilinet`` command line: thin commands that parse arguments and call the library.

User errors (a bad config, missing data, a run folder of another config) print one line on
stderr and exit with code 2; ``--debug`` shows the traceback instead. TensorFlow is imported only
once a command has validated its input.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from resilinet_cli import __version__
from resilinet_cli.errors import ConfigError, ResilinetError, unknown_choice
from resilinet_cli.quiet_import import quiet_tensorflow_import

quiet_tensorflow_import()  # hide TensorFlow's C++ start-up chatter


class _NoRetracingNotice(logging.Filter):
    """Each swept model is traced once by design; TensorFlow's retracing notice is noise here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_NoRetracingNotice())


# Errors of a full disk or a folder we may not write, with what to do about each. Finished
# units are on disk already (every file is written atomically), so a rerun resumes.
WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full; free space (or choose another --out) and rerun to resume",
    errno.EDQUOT: "the disk quota is used up; free space and rerun to resume",
    errno.EROFS: "the file system is read-only; choose another --out",
    errno.EACCES: "no permission; choose another --out or fix the folder's permissions",
    errno.EPERM: "no permission; choose another --out or fix the folder's permissions",
    errno.ENOTDIR: "part of the path is a file, not a folder; choose another --out",
    errno.EEXIST: "a file is in the way of a folder; choose another --out",
}


class App(click.Group):
    """Click group with one error path: domain errors become one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as error:  # a bad command-line value: one line, like the rest
            if ctx.params.get("debug"):
                raise
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            click.echo(f"error: {error.format_message()}{hint}", err=True)
            ctx.exit(2)
        except ResilinetError as error:
            if ctx.params.get("debug"):
                raise
            for line in str(error).splitlines():
                click.echo(f"error: {line}", err=True)
            ctx.exit(error.exit_code)
        except OSError as error:
            if ctx.params.get("debug") or error.errno not in WRITE_ERRORS:
                raise
            where = error.filename or "a result file"
            click.echo(
                f"error: cannot write {where}: {error.strerror}; {WRITE_ERRORS[error.errno]}",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=App, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="resilinet")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
def main(debug: bool) -> None:
    """Train, sweep and report failure-resilient distributed neural networks (ResiliNet).

    \b
    Quick start:
      resilinet run configs/quickstart.yaml
      resilinet evaluate results/quickstart --failures edge --reliability hazardous
    """


DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Look for the dataset here first.",
)


NO_SWEEP_OPTION = click.option(
    "--no-sweep",
    is_flag=True,
    help="Train and save only; estimate later with `resilinet evaluate` (for many nodes).",
)


REUSE_STALE_OPTION = click.option(
    "--reuse-stale",
    is_flag=True,
    help="Keep finished units made by another training version as they are (default: refuse).",
)


def config_options(function: Any) -> Any:
    """Options shared by the commands that read a config."""
    options = [
        click.argument("config", type=click.Path(path_type=Path, dir_okay=False)),
        click.option(
            "--set",
            "overrides",
            multiple=True,
            metavar="KEY=VALUE",
            help="Override a config value (repeatable), e.g. --set train.epochs=5.",
        ),
        click.option(
            "--smoke",
            is_flag=True,
            help="Shrink the run to seconds (small data subset, 1 epoch, 1 iteration).",
        ),
        click.option(
            "--out",
            type=click.Path(path_type=Path, file_okay=False),
            help="Run folder [default: results/<name>, or results/<name>-smoke].",
        ),
        DATA_DIR_OPTION,
    ]
    for option in reversed(options):
        function = option(function)
    return function


def load(config: Path, overrides: Sequence[str], smoke: bool, data_dir: Path | None) -> Any:
    from resilinet_cli.config import load_config

    extra = [f"dataset.data_dir={data_dir.resolve()}"] if data_dir else []
    return load_config(config, [*overrides, *extra], smoke=smoke)


def default_out(config: Any, smoke: bool, out: Path | None) -> Path:
    return out or Path("results") / (config.name + ("-smoke" if smoke else ""))


def parse_iterations(text: str | None, total: int) -> list[int]:
    """'N' runs iterations 1..N; 'A..B' runs exactly A..B (to re-run single cells)."""
    if text is None:
        return list(range(1, total + 1))
    first, sep, last = text.partition("..")
    try:
        bounds = (int(first), int(last)) if sep else (1, int(first))
    except ValueError:
        raise ConfigError(
            f"--iterations {text!r}: expected N or FIRST..LAST, e.g. 10 or 3..3"
        ) from None
    if bounds[0] < 1 or bounds[1] < bounds[0]:
        raise ConfigError(f"--iterations {text!r}: needs 1 <= FIRST <= LAST")
    return list(range(bounds[0], bounds[1] + 1))


def parse_variants(text: str | None, config: Any, option: str = "--variants") -> list[str]:
    from resilinet_cli.config import ALL_VARIANTS

    if text is None:
        return list(config.variants)
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in ALL_VARIANTS:
            raise ConfigError(f"{option}: {unknown_choice('variant', name, ALL_VARIANTS)}")
    return names


def keras_verbosity() -> int:
    """Keras' live bar on a terminal, one line per epoch in logs."""
    return 1 if sys.stdout.isatty() else 2


@main.command()
@config_options
@click.option("--variants", metavar="V1,V2", help="Variants to train [default: the config's].")
@click.option("--iterations", metavar="N|A..B", help="Iterations to run [default: the config's].")
@click.option("--dry-run", is_flag=True, help="List the units and which are already done.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first unit that fails.")
@click.option(
    "--reuse-from",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Copy units whose training equals a finished unit under this folder.",
)
@NO_SWEEP_OPTION
@REUSE_STALE_OPTION
def run(
    config: Path,
    overrides: tuple[str, ...],
    smoke: bool,
    out: Path | None,
    data_dir: Path | None,
    variants: str | None,
    iterations: str | None,
    dry_run: bool,
    fail_fast: bool,
    reuse_from: Path | None,
    no_sweep: bool,
    reuse_stale: bool,
) -> None:
    """Train every variant for every iteration, sweep all failure combinations, write tables.

    Finished units in an existing run folder are kept, so re-running resumes an interrupted run.

    A --set with several comma-separated values (key=a,b) runs once per value, Hydra-style,
    each into a folder named by its values under the run folder.

    \b
    Example:
      resilinet run configs/quickstart.yaml
      resilinet run configs/health.yaml --iterations 3..3 --variants resilinet
      resilinet run configs/quickstart.yaml --set train.failout.survival=0.9,0.7 --dry-run
      resilinet run configs/ablations/digits_merge.yaml --reuse-from results
    """
    from resilinet_cli.config import multirun

    for folder, chosen_overrides in multirun(overrides):
        cfg = load(config, chosen_overrides, smoke, data_dir)
        check_sweep_size(config, cfg, no_sweep)
        names = parse_variants(variants, cfg)
        chosen = parse_iterations(iterations, cfg.iterations)
        target = default_out(cfg, smoke, out) / folder if folder else default_out(cfg, smoke, out)
        if folder:
            click.echo(f"== {folder}")
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
        )


@main.command()
@config_options
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

    \b
    Example:
      resilinet train configs/quickstart.yaml --variant resilinet --seed 7
    """
    cfg = load(config, overrides, smoke, data_dir)
    check_sweep_size(config, cfg, no_sweep)
    names = parse_variants(variant, cfg, option="--variant")
    if len(names) != 1:
        raise ConfigError("--variant: name exactly one variant")
    target = default_out(cfg, smoke, out)
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
    from resilinet_cli.failures import MAX_SWEEP_NODES

    nodes = len(cfg.topology.failable)
    if nodes > MAX_SWEEP_NODES and not no_sweep:
        raise ConfigError(
            f"{path}: topology: {nodes} failable nodes make {2**nodes:,} failure combinations, "
            f"more than the sweep enumerates (2^{MAX_SWEEP_NODES}); add --no-sweep to train "
            "only, then `resilinet evaluate RUN_DIR` bounds or samples them"
        )


class EchoProgress:
    """Prints a line per unit and a bar over each failure sweep."""

    def skipped(self, unit: Any) -> None:
        click.echo(f"skip {unit.name}: already finished")

    def started(self, unit: Any, number: int, total: int) -> None:
        click.echo(f"[{number}/{total}] {unit.name}: training (seed {unit.seed})")

    def sweep_bar(self, unit: Any, number: int, total: int) -> Any:
        label = f"[{number}/{total}] {unit.name}: failure sweep"
        return lambda examples: click.progressbar(length=examples, label=label, file=sys.stderr)

    def failed(self, unit: Any, error: str) -> None:
        click.echo(f"{unit.name}: FAILED: {error}", err=True)

    def reused(self, unit: Any, donor: Path) -> None:
        click.echo(f"{unit.name}: same training as {donor}, copied")

    def resumed(self, unit: Any, epochs_done: int) -> None:
        click.echo(f"{unit.name}: resuming after epoch {epochs_done}, where the last run stopped")

    def finished(self, unit: Any, number: int, total: int, combos: Any) -> None:
        if combos is None:
            click.echo(f"[{number}/{total}] {unit.name}: trained and saved (not swept)")
            return
        accuracy = 100 * float(combos["accuracy"].iloc[-1])
        click.echo(f"[{number}/{total}] {unit.name}: accuracy with no failures {accuracy:.2f}%")


def dry_run_listing(
    cfg: Any,
    out: Path,
    units: list[Any],
    reuse_from: Path | None,
    swept: bool,
    reuse_stale: bool = False,
) -> None:
    """One line per unit: done, copy (an identical unit is finished elsewhere) or todo.

    It stops, as the real run would, at a folder that holds another config, and at data that
    is not on this machine (without downloading it).
    """
    from resilinet_cli import reuse
    from resilinet_cli.runs import check_run_folder, check_versions, is_done

    check_run_folder(out, cfg)
    check_versions(out, cfg, reuse_stale=reuse_stale)
    donors = reuse.finished_units(reuse_from, swept=swept) if reuse_from else {}
    todo = 0
    for unit in units:
        if is_done(out, unit, cfg, swept=swept, reuse_stale=reuse_stale):
            state = "done"
        elif reuse.training_key(cfg, unit) in donors:
            state = "copy"
        else:
            state, todo = "todo", todo + 1
        click.echo(f"{state}  {unit.name}")
    if todo:
        check_local_data(cfg)
    click.echo(f"{todo} of {len(units)} units to train in {out}")


def check_local_data(cfg: Any) -> None:
    """The run's data error, if its data is not on this machine; nothing is downloaded."""
    from resilinet_cli.errors import DataError
    from resilinet_cli.experiment import load_splits

    try:
        load_splits(
            cfg.model_copy(update={"dataset": cfg.dataset.model_copy(update={"download": False})})
        )
    except DataError as error:
        if not cfg.dataset.download:
            raise
        name = cfg.dataset.name
        raise DataError(
            f"{error}; the run would try to download it first (now: resilinet data fetch {name})"
        ) from None


def report_interruption(
    cfg: Any, out: Path, units: list[Any], swept: bool, reuse_stale: bool
) -> None:
    """After Ctrl-C: which units are finished, and the command that resumes the run."""
    from resilinet_cli.runs import is_done

    done = [
        unit.name for unit in units if is_done(out, unit, cfg, swept=swept, reuse_stale=reuse_stale)
    ]
    click.echo(f"\ninterrupted: {len(done)} of {len(units)} units finished in {out}", err=True)
    for name in done:
        click.echo(f"  done {name}", err=True)
    command = shlex.join(["resilinet", *sys.argv[1:]])
    click.echo(f"resume with the same command; finished units are kept: {command}", err=True)


def execute(
    cfg: Any,
    out: Path,
    variants: list[str],
    iterations: list[int],
    *,
    seed: int | None,
    force: bool = False,
    dry_run: bool = False,
    fail_fast: bool = False,
    reuse_from: Path | None = None,
    swept: bool = True,
    reuse_stale: bool = False,
) -> None:
    """Run the planned units that are not finished yet, then print the weighted accuracy."""
    from resilinet_cli import experiment
    from resilinet_cli.ablations import plan_units
    from resilinet_cli.report import weighted_markdown

    units = plan_units(cfg, variants, iterations)
    if seed is not None:
        units = [dataclasses.replace(u, seed=seed) for u in units]
    if dry_run:
        dry_run_listing(cfg, out, units, reuse_from, swept, reuse_stale)
        return
    try:
        result = experiment.run_experiment(
            cfg,
            out,
            units,
            force=force,
            fail_fast=fail_fast,
            progress=EchoProgress(),
            verbose=keras_verbosity(),
            reuse_from=reuse_from,
            swept=swept,
            reuse_stale=reuse_stale,
        )
    except KeyboardInterrupt:
        report_interruption(cfg, out, units, swept, reuse_stale)
        raise click.exceptions.Exit(130) from None
    click.echo("")
    if not result.weighted.empty:
        click.echo(weighted_markdown(result.weighted))
    if not swept:
        click.echo(f"Models in {out}/runs, not swept. Weighted accuracy: resilinet evaluate {out}")
    else:
        click.echo(
            f"Results: {out}/REPORT.md, tables in {out}/tables (weighted_accuracy.csv, .md, "
            f".tex, combinations.csv), figures in {out}/figures, models in {out}/runs"
        )
    if result.failed:
        click.echo(f"{len(result.failed)} unit(s) failed:", err=True)
        for unit, why in result.failed:
            click.echo(f"  {unit.name}: {why}", err=True)
        raise click.exceptions.Exit(1)


@main.command()
@click.argument("target", metavar="RUN_OR_MODEL", type=click.Path(path_type=Path, exists=True))
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
@DATA_DIR_OPTION
def evaluate(
    target: Path,
    failures: str,
    reliability: str | None,
    method: str,
    tolerance: str,
    half_width: str,
    budget: str,
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
    which method gave each weighted accuracy, and its interval.

    \b
    Example:
      resilinet evaluate results/quickstart --failures all
      resilinet evaluate results/quickstart/runs/resilinet/iter-1/model.keras \\
          --failures edge,fog2 --reliability 0.9,0.9,0.9
      resilinet evaluate results/scale_chain --method montecarlo --half-width 0.01
    """
    from resilinet_cli import evaluation

    run_dir, models = evaluation.locate_models(target)
    cfg = evaluation.run_config(run_dir, data_dir)
    topology = evaluation.topology_of(cfg)
    dead = evaluation.parse_failures(failures, topology)
    settings = evaluation.parse_reliability(reliability, topology)
    options = evaluation.parse_options(method, tolerance, half_width, budget, seed=cfg.seed)
    evaluation.check_method(options, topology)
    from resilinet_cli.experiment import load_splits
    from resilinet_cli.inputs import build_inputs

    inputs = build_inputs(load_splits(cfg), cfg, len(topology.failable), seed=cfg.seed)
    results = []
    for heading, members in evaluation.grouped(cfg, models):
        if heading:
            click.echo(f"\n== {heading}")
        for model in members:  # each under its own config: an ablation level's overrides
            result = evaluation.evaluate_model(
                model.config(cfg), model.variant, model.path, inputs, dead, settings, options
            )
            results.append((model, result))
            click.echo(f"\n{model.variant} ({model.path})")
            click.echo(result.describe())
    if len(results) > 1:
        summary = evaluation.summary_markdown(evaluation.summary_table(cfg, results), [*settings])
        click.echo(f"\nWeighted accuracy in % of each model:\n\n{summary}")


@main.command()
@click.argument(
    "run_dir", metavar="DIR", type=click.Path(path_type=Path, exists=True, file_okay=False)
)
def report(run_dir: Path) -> None:
    """Rebuild a run's tables, figures and REPORT.md from its saved results, without retraining.

    DIR may also be a profile's folder (from `resilinet reproduce`): every experiment in it is
    rebuilt, then the profile's REPORT.md.

    \b
    Example:
      resilinet report results/quickstart
      resilinet report results/quick
    """
    from resilinet_cli import reproduce as profiles
    from resilinet_cli.config import load_config
    from resilinet_cli.errors import RunError
    from resilinet_cli.experiment import write_run_tables
    from resilinet_cli.report import weighted_markdown

    if profiles.is_profile_folder(run_dir):
        page, experiments = profiles.rebuild_profile(run_dir)
        for config, _ in experiments:
            click.echo(f"{config.name}: {run_dir / config.name / 'REPORT.md'}")
        click.echo(f"Report: {page} ({len(experiments)} experiments)")
        return
    if not (run_dir / "config.yaml").is_file():
        raise RunError(
            f"{run_dir}: no config.yaml, so not a run folder, and no experiment folders in it"
        )
    cfg = load_config(run_dir / "config.yaml")
    weighted = write_run_tables(run_dir, cfg)
    click.echo(weighted_markdown(weighted))
    click.echo(f"Report: {run_dir}/REPORT.md")


@main.command()
@click.option(
    "--profile",
    "profile",
    default="full",
    show_default=True,
    metavar="quick|full|PATH",
    help="A profile of configs/profiles, or a profile file.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder [default: reproduced/<profile>].",
)
@click.option(
    "--imagenet-dir",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="IMAGENET_DIR",
    help="ImageNet folder (train/, val/); or $IMAGENET_DIR.",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Compare with this folder at the end [default: the committed results/<profile>].",
)
@REUSE_STALE_OPTION
def reproduce(
    profile: str,
    out: Path | None,
    imagenet_dir: Path | None,
    reference: Path | None,
    reuse_stale: bool,
) -> None:
    """Run every experiment of a profile, write one REPORT.md, compare with the reference.

    The run goes to a fresh folder, reproduced/<profile>, never into the committed results,
    which are the reference it is compared with at the end (see `resilinet compare`). Missing
    data for one experiment stops nothing else; it is listed at the end. Re-running resumes:
    finished units are kept.

    \b
    Example:
      make reproduce-paper PROFILE=quick
      resilinet reproduce --profile full --imagenet-dir /data/imagenet
    """
    from resilinet_cli import reproduce as runner

    path = runner.profile_path(profile)
    out = out or runner.default_out(path)
    reference = reference or runner.default_reference(path)
    try:
        outcome = runner.reproduce(
            path,
            out,
            imagenet_dir=imagenet_dir,
            progress=EchoProgress(),
            verbose=keras_verbosity(),
            reuse_stale=reuse_stale,
        )
    except KeyboardInterrupt:
        command = shlex.join(["resilinet", *sys.argv[1:]])
        click.echo(
            f"\ninterrupted; finished units in {out} are kept. Resume with: {command}", err=True
        )
        raise click.exceptions.Exit(130) from None
    click.echo(f"\nReport: {out}/REPORT.md ({len(outcome.finished)} experiments finished)")
    for name, why in outcome.missing:
        click.echo(f"missing data: {name}: {why}", err=True)
    for name, why in outcome.skipped:
        click.echo(f"skipped: {name}: {why}", err=True)
    for name, why in outcome.failed:
        click.echo(f"failed: {name}: {why}", err=True)
    if reference is not None and outcome.finished:
        compare_with_reference(out, reference)
    if outcome.failed:
        raise click.exceptions.Exit(1)


def compare_with_reference(out: Path, reference: Path) -> None:
    """The end of ``reproduce``: every cell against the reference; a mismatch stops nothing."""
    from resilinet_cli import compare as comparing
    from resilinet_cli.errors import RunError

    if out.resolve() == reference.resolve():
        click.echo(f"no comparison: {out} is the reference itself", err=True)
        return
    try:
        comparison = comparing.compare(out, reference)
    except RunError as error:
        click.echo(f"no comparison with {reference}: {error}", err=True)
        return
    click.echo(f"\n{comparison.text()}")
    click.echo(f"Comparison: {comparing.write_csv(comparison)}")


@main.command()
@click.argument("new", type=click.Path(path_type=Path))
@click.argument("reference", type=click.Path(path_type=Path))
def compare(new: Path, reference: Path) -> None:
    """Every weighted-accuracy cell of NEW against REFERENCE; flags differences beyond noise.

    NEW and REFERENCE are two run folders or two profile folders. Each cell prints as mean ± std
    (n) on both sides with the difference. A cell is flagged when Welch's t-test gives
    p < 0.05 (both sides with n >= 2) or when it exists on one side only; with n < 2 there is no
    noise estimate and the cell is marked so, not flagged. Writes NEW/comparison.csv. Exits 0
    whatever differs: it reports, it does not judge.

    \b
    Example:
      resilinet compare reproduced/quick results/quick
      resilinet compare results/quickstart results/quickstart-old
    """
    from resilinet_cli import compare as comparing

    comparison = comparing.compare(new, reference)
    click.echo(comparison.text())
    click.echo(f"Comparison: {comparing.write_csv(comparison)}")


@main.group()
def data() -> None:
    """Describe, check and download the datasets.

    \b
    Example:
      resilinet data info
      resilinet data verify fashion_mnist
      resilinet data fetch cifar10
    """


DATASET_ARGUMENT = click.argument("name", metavar="NAME")


@data.command("info")
def data_info() -> None:
    """Each dataset: what it is, where it comes from, where a download is cached.

    \b
    Example:
      resilinet data info
    """
    from resilinet_cli.data.catalog import catalog

    for name, entry in catalog().items():
        click.echo(f"{name}\n  {entry.what}\n  source: {entry.source}")
        if entry.cache:
            click.echo(f"  cache:  {entry.cache}")


@data.command("verify")
@DATASET_ARGUMENT
@DATA_DIR_OPTION
def data_verify(name: str, data_dir: Path | None) -> None:
    """Load a dataset from local files only, check it fully, and print its shape.

    Checks file structure and counts (and checksums where a download is kept). Exit code 2,
    with one line naming the bad file, when something is missing or corrupt.

    \b
    Example:
      resilinet data verify fashion_mnist
      resilinet data verify imagenet --data-dir /data/imagenet
    """
    from resilinet_cli.data import load_dataset
    from resilinet_cli.data.catalog import summary

    click.echo(summary(load_dataset(name, data_dir=data_dir, download=False)) + ": ok")


@data.command("fetch")
@DATASET_ARGUMENT
@DATA_DIR_OPTION
def data_fetch(name: str, data_dir: Path | None) -> None:
    """Download a dataset into the cache (verified, atomic), unless it is already there.

    ImageNet cannot be downloaded; this prints how to build its folders by hand.

    \b
    Example:
      resilinet data fetch cifar10
    """
    from resilinet_cli.data import load_dataset
    from resilinet_cli.data.catalog import summary

    click.echo(summary(load_dataset(name, data_dir=data_dir, download=True)) + ": ready")
