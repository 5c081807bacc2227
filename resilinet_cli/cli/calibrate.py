"""``resilinet calibrate-exits``: the threshold rule's T of a run's exit units, chosen on
validation data."""

from __future__ import annotations

from pathlib import Path

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.options import DATA_DIR_OPTION, parse_variants
from resilinet_cli.errors import ConfigError, RunError
from resilinet_cli.sweeps.calibration import MAX_ACCURACY_DROP, TARGET_EXIT_RATE


@main.command("calibrate-exits")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path))
@click.option(
    "--target-exit-rate",
    type=float,
    metavar="R",
    help="The smallest T at which at least this fraction (0 < R < 1) of the validation "
    "examples exits at some exit.",
)
@click.option(
    "--max-accuracy-drop",
    type=float,
    metavar="D",
    help="The largest T whose accuracy on validation is at most D percentage points (>= 0) "
    "below the final output's.",
)
@click.option("--variants", metavar="V1,V2", help="Variants to calibrate [default: every one "
              "with exits].")  # fmt: skip
@DATA_DIR_OPTION
def calibrate_exits(
    run_dir: Path,
    target_exit_rate: float | None,
    max_accuracy_drop: float | None,
    variants: str | None,
    data_dir: Path | None,
) -> None:
    """Choose the threshold rule's T of every exit unit of RUN on its validation split.

    With every node alive, an example exits at the first exit whose normalised entropy is
    below T. The candidate T values are the midpoints between the distinct entropies on the
    validation split, so the choice is exact. T is written into each unit's exits.json (in its
    checksums), its combinations.csv is scored again with it, and the run's tables and
    REPORT.md are rebuilt; later evaluations of the unit use it.

    \b
    Example:
      resilinet calibrate-exits results/exits --target-exit-rate 0.5
      resilinet calibrate-exits results/exits --max-accuracy-drop 1.0 --variants vanilla+exits
    """
    from resilinet_cli.cli.report import profile_family_of
    from resilinet_cli.experiments.calibrate import calibrate_run
    from resilinet_cli.results import layout, references
    from resilinet_cli.results.locate import run_config

    rule, target = parse_rule(target_exit_rate, max_accuracy_drop)
    if not run_dir.is_dir():
        raise RunError(f"calibrate-exits: {run_dir}: no such folder")
    references.refuse_writes(
        run_dir, f"copy it first (resilinet report {run_dir} --out NEW) and calibrate the copy"
    )
    if not layout.is_run_folder(run_dir):
        raise RunError(f"calibrate-exits: {run_dir}: no {layout.CONFIG}, so not a run folder")
    cfg = run_config(run_dir, data_dir)
    names = parse_variants(variants, cfg) if variants is not None else None
    family = profile_family_of(run_dir, None)
    done, _ = calibrate_run(run_dir, cfg, rule, target, names, family)
    for unit in done:
        c = unit.choice
        click.echo(
            f"{unit.unit.name}: T = {c.threshold:.6g} (validation: {100 * c.exit_rate:.1f}% "
            f"exit, accuracy {100 * c.accuracy:.2f}%, final output {100 * c.final_accuracy:.2f}%)"
        )
    click.echo(f"Report: {run_dir / layout.REPORT}")


def parse_rule(rate: float | None, drop: float | None) -> tuple[str, float]:
    """(rule, target) from the two options: exactly one, in its range."""
    if (rate is None) == (drop is None):
        raise ConfigError(
            "calibrate-exits: give one of --target-exit-rate R or --max-accuracy-drop D"
        )
    if rate is not None:
        if not 0 < rate < 1:
            raise ConfigError(
                f"--target-exit-rate {rate:g}: expected a fraction in (0, 1), e.g. 0.5"
            )
        return TARGET_EXIT_RATE, rate
    assert drop is not None
    if not drop >= 0:
        raise ConfigError(
            f"--max-accuracy-drop {drop:g}: expected percentage points >= 0, e.g. 1.0"
        )
    return MAX_ACCURACY_DROP, drop
