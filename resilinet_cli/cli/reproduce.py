"""``resilinet reproduce``: every experiment of a profile, one page, and the comparison."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.context import invocation, keras_verbosity
from resilinet_cli.cli.options import REUSE_STALE_OPTION, executor_options
from resilinet_cli.cli.progress import progress


@main.command()
@click.option(
    "--profile",
    "profile",
    default="full",
    show_default=True,
    metavar="quick|claims|full|PATH",
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
@executor_options
def reproduce(
    profile: str,
    out: Path | None,
    imagenet_dir: Path | None,
    reference: Path | None,
    reuse_stale: bool,
    executor: Any,
) -> None:
    """Run every experiment of a profile, write one REPORT.md, compare with the reference.

    The run goes to a fresh folder, reproduced/<profile>, never into the committed results,
    which are the reference it is compared with at the end (see `resilinet compare`). Missing
    data for one experiment stops nothing else; it is listed at the end. Re-running resumes:
    finished units are kept. With --workers N or --executor ray the units of every
    experiment share one queue.

    \b
    Example:
      make reproduce-paper PROFILE=quick
      resilinet reproduce --profile full --imagenet-dir /data/imagenet
      resilinet reproduce --profile full --executor ray --address auto --num-gpus 0.25
    """
    from resilinet_cli.experiments import reproduce as runner
    from resilinet_cli.experiments.runner import ray_session
    from resilinet_cli.experiments.unit import invoked
    from resilinet_cli.results import layout

    path = runner.profile_path(profile)
    out = out or runner.default_out(path)
    reference = reference or runner.default_reference(path)
    try:
        # a Ray cluster that cannot be used stops the profile before any folder is made
        with invoked(invocation()), ray_session(executor.ray):
            outcome = runner.reproduce(
                path,
                out,
                imagenet_dir=imagenet_dir,
                progress=progress(),
                verbose=keras_verbosity(),
                reuse_stale=reuse_stale,
                workers=executor.workers,
                ray=executor.ray,
            )
    except KeyboardInterrupt:
        from resilinet_cli.interrupt import stop_status

        how, status = stop_status()
        command = shlex.join(["resilinet", *sys.argv[1:]])
        click.echo(f"\n{how}; finished units in {out} are kept. Resume with: {command}", err=True)
        raise click.exceptions.Exit(status) from None
    click.echo(f"\nReport: {out}/{layout.REPORT} ({len(outcome.finished)} experiments finished)")
    for line in outcome.tracked:
        click.echo(line)
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
    from resilinet_cli.cli.compare import echo_comparison
    from resilinet_cli.results import compare as comparing

    if out.resolve() == reference.resolve():
        click.echo(f"no comparison: {out} is the reference itself", err=True)
        return
    if not comparing.experiments_in(reference):
        click.echo(f"no comparison: {reference} holds no tables", err=True)
        return
    click.echo("")
    echo_comparison(out, reference)  # a damaged reference is one error line, exit 2
