"""``run -m`` (a multirun) and ``--cfg``: which runs a command line asks for, the folder
each goes to, its combined table, and the resolved configs printed instead of run.

"Multirun" is Hydra's ``-m``: one run per value of each multi-value override; "sweep" is kept
for the failure sweep (every combination of dead nodes) of each unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from resilinet_cli.cli.options import default_out, load
from resilinet_cli.errors import ConfigError

CFG_OPTION = click.option(
    "--cfg",
    "print_cfg",
    is_flag=True,
    help="Print the resolved config (after the base, presets and overrides) as YAML and exit; "
    "nothing trains (as Hydra's --cfg job).",
)


def run_folder(
    cfg: Any, smoke: bool, out: Path | None, multirun: bool = False
) -> tuple[Path, Path | None]:
    """(the folder to run into, the committed reference to compare with at the end, if any).

    A committed reference is never written into: named with --out it is refused; as the
    default folder (``results/<name>``) the run goes to ``reproduced/<name>`` instead. A
    multirun's folder (``results/<name>-multirun`` by default) holds one folder per value side
    by side; one that holds a run itself is refused, so no value lands inside a run.
    """
    from resilinet_cli.results import references

    if out is not None:
        fresh, root = references.fresh_folder(out), references.reference_root(out)
        instead = f"run into a fresh folder: --out {fresh}, then resilinet compare {fresh} {root}"
        references.refuse_writes(out, instead)
        if multirun:
            check_multirun_folder(out, "--out ")
        return out, None
    folder = default_out(cfg, smoke, None)
    if multirun:
        folder = folder.with_name(f"{folder.name}{MULTIRUN_SUFFIX}")
        check_multirun_folder(folder, "")
    if references.is_reference(folder):
        return references.fresh_folder(folder), folder
    return folder, None


MULTIRUN_SUFFIX = "-multirun"  # the default multirun folder: results/<name>-multirun


def check_multirun_folder(folder: Path, option: str) -> None:
    """Refuse a multirun into a run's folder: its values' folders would sit inside that run."""
    from resilinet_cli.results.layout import is_run_folder

    if is_run_folder(folder):
        raise ConfigError(
            f"{option}{folder}: holds a run (config.yaml); -m puts each value's run in a folder "
            "of its own, side by side under a multirun folder: name a fresh one with --out"
        )


def print_configs(
    path: Path, runs: Sequence[Any], extra: Sequence[str], smoke: bool, data_dir: Path | None
) -> None:
    """--cfg: each run's resolved config as YAML (a multirun's as one document per value,
    headed by its folder's name), as its run folder's config.yaml would hold it."""
    from resilinet_cli.results.runs import config_text

    texts = [config_text(load(path, [*one.edits, *extra], smoke, data_dir)) for one in runs]
    if len(runs) == 1 and not runs[0].folder:
        click.echo(texts[0], nl=False)
        return
    for one, text in zip(runs, texts, strict=True):
        click.echo(f"--- # {one.folder}\n{text}", nl=False)


def command_line_runs(
    overrides: Sequence[str], positional: Sequence[str], multirun: bool
) -> list[Any]:
    """The runs that --set and positional overrides ask for, read with Hydra's grammar."""
    from resilinet_cli.config.grammar import parse_overrides
    from resilinet_cli.config.multirun import plan_runs

    parsed = [*parse_overrides(overrides, "--set"), *parse_overrides(positional)]
    return plan_runs(parsed, multirun)


def write_multirun(root: Path, planned: Sequence[Any]) -> Path | None:
    """The multirun's combined table, page and HParams logs, from the values whose run has
    written its table."""
    from resilinet_cli.results.multirun import write_multirun_table

    return write_multirun_table(root, [(each.run.values, each.out) for each in planned])
