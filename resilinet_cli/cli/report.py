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
@click.option(
    "--correction",
    type=click.Choice(["holm", "bh", "none"]),
    help="How verdicts are corrected for multiple comparisons: holm (family-wise error), bh "
    "(Benjamini-Hochberg, false discovery rate) or none [default: the config's "
    "stats.correction, holm].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Copy DIR here first and rebuild the copy (for a committed reference, which resilinet "
    "never writes into).",
)
def report(run_dir: Path, zoom: bool, correction: str | None, out: Path | None) -> None:
    """Rebuild a run's tables, figures and REPORT.md from its saved results, without retraining.

    DIR may also be a profile's folder (from `resilinet reproduce`): every experiment in it is
    rebuilt, then the profile's REPORT.md. An experiment inside a profile's folder shares the
    profile's statistics family. Each figure is written as PNG (linked by the page) and PDF
    (vector, for a paper). A file whose content would not change is not rewritten, and a figure
    is redrawn only when what it shows changed. Every unit is checked against its record's
    checksums first: a damaged file is an error that names it, never a number.

    \b
    Example:
      resilinet report results/quickstart
      resilinet report results/quickstart --correction bh
      resilinet report results/claims --out reproduced/claims-pages
    """
    from resilinet_cli.config import load_config
    from resilinet_cli.errors import RunError
    from resilinet_cli.experiments import reproduce as profiles
    from resilinet_cli.experiments.pages import write_run_tables
    from resilinet_cli.results import layout, references
    from resilinet_cli.results.tables import weighted_markdown

    if out is not None:
        run_dir = copy_folder(run_dir, out)
    references.refuse_writes(
        run_dir, f"rebuild a copy instead: resilinet report {run_dir} --out NEW_FOLDER"
    )
    if profiles.is_profile_folder(run_dir):
        page, experiments = profiles.rebuild_profile(run_dir, zoom=zoom, correction=correction)
        for config, _ in experiments:
            click.echo(f"{config.name}: {run_dir / config.name / layout.REPORT}")
        click.echo(f"Report: {page} ({len(experiments)} experiments)")
        return
    if not layout.is_run_folder(run_dir):
        raise RunError(
            f"{run_dir}: no config.yaml, so not a run folder, and no experiment folders in it"
        )
    cfg = load_config(run_dir / layout.CONFIG)
    family = profile_family_of(run_dir, correction)
    built = write_run_tables(run_dir, cfg, zoom=zoom, family=family, correction=correction)
    click.echo(weighted_markdown(built.weighted))
    if built.unfinished:
        click.echo(
            f"partial run: {len(built.unfinished)} planned unit(s) not finished "
            f"({', '.join(built.unfinished[:6])}); the tables hold the finished units only",
            err=True,
        )
    click.echo(f"Report: {run_dir}/{layout.REPORT}")


def profile_family_of(run_dir: Path, correction: str | None) -> object | None:
    """The statistics' family of the profile ``run_dir`` belongs to, if it is one's experiment
    (its parent holds profile.json naming it); None for a run of its own."""
    import json

    from resilinet_cli.config import load_config
    from resilinet_cli.experiments.reproduce import profile_family
    from resilinet_cli.results import layout

    parent = run_dir.resolve().parent
    try:
        record = json.loads((parent / layout.PROFILE_RECORD).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    names = record.get("experiments", []) if isinstance(record, dict) else []
    if run_dir.resolve().name not in names:
        return None
    folders = [parent / name for name in names if (parent / name / layout.CONFIG).is_file()]
    return profile_family([(f, load_config(f / layout.CONFIG)) for f in folders], correction)


def copy_folder(source: Path, target: Path) -> Path:
    """``source`` copied to the new folder ``target``, without a reference's marker."""
    import shutil

    from resilinet_cli.errors import RunError
    from resilinet_cli.results import layout, references

    if target.exists():
        raise RunError(f"--out {target}: exists already; name a new folder")
    references.refuse_writes(target, "name a folder outside it")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(layout.REFERENCE))
    return target
