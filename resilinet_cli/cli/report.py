"""``resilinet report``: rebuild a run's (or a profile's) pages from its saved results."""

from __future__ import annotations

from pathlib import Path

import click

from resilinet_cli.cli.app import main


@main.command()
@click.argument(
    "run_dir", metavar="DIR", type=click.Path(path_type=Path, exists=True, file_okay=False)
)
@click.option(
    "--zoom",
    is_flag=True,
    help="Fit the figures' accuracy axes to the data, so that close values can be told apart "
    "(bars then do not start at 0). Without it, the default scale.",
)
def report(run_dir: Path, zoom: bool) -> None:
    """Rebuild a run's tables, figures and REPORT.md from its saved results, without retraining.

    DIR may also be a profile's folder (from `resilinet reproduce`): every experiment in it is
    rebuilt, then the profile's REPORT.md. Each figure is written as PNG (linked by the page)
    and PDF (vector, for a paper).

    \b
    Example:
      resilinet report results/quickstart
      resilinet report results/quick
      resilinet report results/quickstart --zoom
    """
    from resilinet_cli.config import load_config
    from resilinet_cli.errors import RunError
    from resilinet_cli.experiments import reproduce as profiles
    from resilinet_cli.experiments.pages import write_run_tables
    from resilinet_cli.results import layout
    from resilinet_cli.results.tables import weighted_markdown

    if profiles.is_profile_folder(run_dir):
        page, experiments = profiles.rebuild_profile(run_dir, zoom=zoom)
        for config, _ in experiments:
            click.echo(f"{config.name}: {run_dir / config.name / layout.REPORT}")
        click.echo(f"Report: {page} ({len(experiments)} experiments)")
        return
    if not layout.is_run_folder(run_dir):
        raise RunError(
            f"{run_dir}: no config.yaml, so not a run folder, and no experiment folders in it"
        )
    cfg = load_config(run_dir / layout.CONFIG)
    weighted = write_run_tables(run_dir, cfg, zoom=zoom)
    click.echo(weighted_markdown(weighted))
    click.echo(f"Report: {run_dir}/{layout.REPORT}")
