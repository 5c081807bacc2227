"""``make reproduce-paper``: run a profile of experiments and write one report page for them all.

A profile (``configs/profiles/<name>.yaml``) lists config files, each with optional ``--set``
overrides. Every experiment runs into its own folder under the profile's output folder and
resumes like any run. Missing data for one experiment stops nothing else: it is listed at the
end of the report, with how to get the data. ``profile.json`` records what the page shows, so
``resilinet report`` rebuilds the page (and every experiment's) from the saved files alone.

The committed ``results/<profile>/`` is a reference, not a cache: a profile runs into
``reproduced/<profile>/`` by default, and the command line then compares the two
(resilinet_cli/results/compare.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig, load_config, read_yaml
from resilinet_cli.errors import ConfigError, DataError, ResilinetError, RunError, unknown_choice
from resilinet_cli.results import layout, runs
from resilinet_cli.variants import topology_of

if TYPE_CHECKING:
    import pandas as pd

    from resilinet_cli.experiments.cluster import RayOptions
    from resilinet_cli.results.claims import Family

SOURCE = Path(__file__).resolve().parents[2]  # the repository (or the installed tree)
PROFILES = SOURCE / "configs" / "profiles"
REFERENCES = SOURCE / "results"  # the committed reference results, one folder per profile
OUTPUTS = Path("reproduced")  # where a profile runs by default (git-ignored)


class ProfileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    config: str
    set: list[str] = []
    imagenet: bool = Field(default=False, description="runs only when an ImageNet folder is given")


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    experiments: list[ProfileEntry] = Field(min_length=1)


@dataclass
class Outcome:
    """What a profile run did: finished experiments, missing data, failures."""

    finished: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    tracked: list[str] = field(default_factory=list)  # what --tracker mlflow logged, and where


def profile_path(name_or_path: str) -> Path:
    """A profile by name (``quick``, ``full``) or by path."""
    path = Path(name_or_path)
    if path.suffix == ".yaml":
        return path
    known = sorted(p.stem for p in PROFILES.glob("*.yaml"))
    if name_or_path not in known:
        raise ConfigError(f"--profile: {unknown_choice('profile', name_or_path, known)}")
    return PROFILES / f"{name_or_path}.yaml"


def default_out(path: Path) -> Path:
    """``reproduced/<profile>``: a fresh folder, never the committed reference."""
    return OUTPUTS / path.stem


def default_reference(path: Path) -> Path | None:
    """The committed results of the profile (``results/<profile>`` of the source tree), if any."""
    folder = REFERENCES / path.stem
    return folder if folder.is_dir() else None


def load_profile(path: Path) -> Profile:
    raw = read_yaml(path)
    try:
        return Profile.model_validate(raw)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ConfigError(f"{path.name}: {where}: {problem['msg']}") from None


def reproduce(
    path: Path,
    out: Path,
    *,
    imagenet_dir: Path | None = None,
    progress: object | None = None,
    verbose: int | str = "auto",
    reuse_stale: bool = False,
    workers: int = 1,
    ray: RayOptions | None = None,
) -> Outcome:
    """Run every experiment of the profile at ``path`` into ``out``; write ``out/REPORT.md``.

    The units of all experiments form one queue (``workers`` processes or ``ray`` tasks at a
    time, or one after another); a training two experiments share runs once. Before anything
    runs, finished units that another training version made anywhere under ``out`` are
    refused (RunError), unless ``reuse_stale`` keeps them.
    """
    from resilinet_cli.experiments.executors import Executor
    from resilinet_cli.experiments.kinds import plan_units
    from resilinet_cli.experiments.progress import Progress
    from resilinet_cli.experiments.reuse import finished_units
    from resilinet_cli.experiments.runner import Queue

    profile = load_profile(path)
    outcome = Outcome()
    experiments: list[tuple[ExperimentConfig, pd.DataFrame]] = []
    configs = []
    for entry in profile.experiments:
        overrides = list(entry.set)
        if entry.imagenet:
            if imagenet_dir is None:
                outcome.skipped.append((entry.config, "set IMAGENET_DIR to run it"))
                continue
            overrides.append(f"dataset.data_dir={imagenet_dir.resolve()}")
        configs.append(load_config(path.parent.parent / entry.config, overrides))
    if not reuse_stale:
        check_versions(out, configs)
    queue = Queue(progress or Progress(), Executor(workers, ray), reuse_stale=reuse_stale)
    queue.donors = finished_units(out) if out.is_dir() else {}
    planned = []
    for config in configs:
        units = plan_units(config)
        try:
            planned.append(queue.plan(config, out / config.name, units, label=True))
        except DataError as error:
            outcome.missing.append((config.name, str(error)))
        except ResilinetError as error:
            outcome.failed.append((config.name, str(error)))
    queue.train(verbose=verbose, fail_fast=False)
    family = profile_family([(plan.out, plan.config) for plan in planned])
    for plan in planned:
        result = queue.finish(plan, family)
        outcome.tracked += result.tracked
        for unit, why in result.failed:
            outcome.failed.append((f"{plan.config.name}/{unit.name}", why))
        if not result.weighted.empty:
            outcome.finished.append(plan.config.name)
            experiments.append((plan.config, result.weighted))
    write_profile_page(out, path.stem, profile.description, experiments, outcome)
    return outcome


def write_profile_page(
    out: Path,
    profile: str,
    description: str,
    experiments: list[tuple[ExperimentConfig, pd.DataFrame]],
    outcome: Outcome,
) -> Path:
    """``out/REPORT.md``: a section per finished experiment, then what did not run.

    Also writes ``out/profile.json``, so that ``rebuild_profile`` can write the same page again
    from the folder alone.
    """
    from resilinet_cli.experiments.pages import (
        read_paired,
        report_section,
        unit_methods,
        unit_notes,
    )
    from resilinet_cli.results.report_page import Section, write_report

    atomic.write_json(
        out / layout.PROFILE_RECORD,
        {
            "profile": profile,
            "description": description,
            "experiments": [config.name for config, _ in experiments],
            "missing": outcome.missing,
            "failed": outcome.failed,
            "skipped": outcome.skipped,
        },
    )
    sections = [Section("About this page", description)]
    configs = [config for config, _ in experiments]
    summary, curves = claim_summary(out, configs), claim_curves(out, configs)
    if summary:
        sections.append(Section("The paper's claim across experiments", summary, [], curves))
    for config, weighted in experiments:
        folder = out / config.name
        figures = sorted((folder / layout.FIGURES).glob("*.png"))
        methods = unit_methods(folder, config)
        notes, examples = unit_notes(folder, config)
        paired = read_paired(folder)
        sections.append(report_section(config, weighted, figures, paired, methods, notes, examples))
    sections.append(Section("What did not run", _not_run(outcome)))
    return write_report(out / layout.REPORT, f"resilinet: {profile} profile", sections)


def claim_summary(out: Path, configs: list[ExperimentConfig]) -> str:
    """The claim's verdicts of every experiment that tested it past one iteration; "" if none."""
    from resilinet_cli.experiments.pages import read_paired
    from resilinet_cli.results import claims

    tested = []
    for config in configs:
        paired = read_paired(out / config.name)
        if paired is not None and claims.shows_noise(paired):
            settings = claims.failure_settings(topology_of(config))
            tested.append((config.name, paired, settings))
    table = claims.summary_markdown(tested)
    if not table:
        return ""
    return "\n\n".join([
        "Each experiment's section below has every comparison and its sentence. Here: the "
        f"claim ({' > '.join(claims.CHAIN)}) per failure setting, and each link's "
        "difference in points, its 95 % CI and p under the harshest setting. The figure, where "
        "experiments swept their validation set after every epoch (train.epoch_sweep), shows "
        "each experiment's weighted accuracy under that setting against the epochs trained.",
        table,
        f"_{claims.summary_note(tested)}_",
    ])  # fmt: skip


def claim_curves(out: Path, configs: list[ExperimentConfig]) -> list[Path]:
    """One panel per experiment trained with ``train.epoch_sweep``: weighted accuracy under its
    harshest setting after each epoch, so whether a variant only needs more training shows at
    a glance. Written to the profile's figures/; none (and none left over) without curves."""
    import textwrap

    import pandas as pd

    from resilinet_cli.results import claims, plots
    from resilinet_cli.results.figure_inputs import draw_once

    panels = []
    for config in configs:
        path = out / config.name / layout.TABLES / layout.EPOCHS_CSV
        settings = claims.failure_settings(topology_of(config))
        if path.is_file() and settings:
            table = pd.read_csv(path)
            title = textwrap.fill(config.name.replace("_", " "), 18)  # five panels in 7 in
            panels.append(table[table["setting"] == settings[-1]].assign(setting=title))
    figure = out / layout.FIGURES / layout.CLAIM_EPOCHS_PNG
    if not panels:
        for stale in (figure, figure.with_suffix(".pdf")):
            stale.unlink(missing_ok=True)
        return []
    table = pd.concat(panels, ignore_index=True)
    return draw_once(figure.parent, "claim", [table], lambda: [plots.epoch_lines(table, figure)])


def is_profile_folder(folder: Path) -> bool:
    """A profile's output folder: experiment folders inside, no config of its own."""
    return not layout.is_run_folder(folder) and any(folder.glob(f"*/{layout.CONFIG}"))


def profile_family(
    experiments: list[tuple[Path, ExperimentConfig]], correction: str | None = None
) -> Family:
    """The statistics' family of a profile: every comparison its pages state, each once, with
    the correction its configs agree on (or ``correction``, ``report --correction``'s)."""
    from resilinet_cli.experiments.pages import finished_units, raw_paired
    from resilinet_cli.results.claims import Family

    chosen = {config.stats.correction for _, config in experiments}
    if correction is None:
        if len(chosen) > 1:
            raise ConfigError(
                "stats.correction: the experiments of a profile form one family and need one "
                f"correction, not {', '.join(sorted(chosen))}"
            )
        correction = chosen.pop() if chosen else "holm"
    tables = []
    for out, config in experiments:
        if (out / layout.CONFIG).is_file():
            table = raw_paired(finished_units(out, config), config)
            if table is not None:
                tables.append(table)
    return Family.of(tables, correction)


def rebuild_profile(
    out: Path, *, zoom: bool = False, correction: str | None = None
) -> tuple[Path, list[tuple[ExperimentConfig, pd.DataFrame]]]:
    """Rebuild every experiment's tables, figures and REPORT.md under ``out``, then its page.

    Nothing is trained: each experiment's tables come from its finished units' saved files.
    Returns the page and the experiments on it, in the profile's order. ``zoom`` fits the
    figures' accuracy axes to the data.
    """
    from resilinet_cli.experiments.pages import write_run_tables

    profile, description, order, outcome = _profile_state(out)
    folders = {p.parent.name for p in out.glob("*/config.yaml")}
    names = [n for n in order if n in folders] + sorted(folders - set(order))
    configs = [(out / name, load_config(out / name / layout.CONFIG)) for name in names]
    family = profile_family(configs, correction)
    experiments = []
    for folder, config in configs:
        weighted = write_run_tables(folder, config, zoom=zoom, family=family).weighted
        if not weighted.empty:
            experiments.append((config, weighted))
    outcome.finished = [config.name for config, _ in experiments]
    return write_profile_page(out, profile, description, experiments, outcome), experiments


def _profile_state(out: Path) -> tuple[str, str, list[str], Outcome]:
    """(profile name, description, experiment order, what did not run) of a profile's folder.

    From ``profile.json``; a folder written before that record existed is matched to the
    profile of its name (``results/quick`` -> ``configs/profiles/quick.yaml``).
    """
    import json

    try:
        record = json.loads((out / layout.PROFILE_RECORD).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        record = None
    if isinstance(record, dict):
        outcome = Outcome(
            missing=[tuple(item) for item in record.get("missing", [])],
            failed=[tuple(item) for item in record.get("failed", [])],
            skipped=[tuple(item) for item in record.get("skipped", [])],
        )
        name = str(record.get("profile", out.name))
        return (
            name,
            str(record.get("description", "")),
            list(record.get("experiments", [])),
            outcome,
        )
    path = PROFILES / f"{out.name}.yaml"
    try:
        configs = profile_configs(path) if path.is_file() else []
        description = load_profile(path).description if path.is_file() else ""
    except ResilinetError:
        configs, description = [], ""
    order = [config.name for config in configs]
    outcome = Outcome()
    for name in order:
        if not (out / name / layout.CONFIG).is_file():
            outcome.skipped.append((name, f"no results folder in {out}"))
    return out.name, description, order, outcome


def check_versions(out: Path, configs: list[ExperimentConfig]) -> None:
    """One refusal for the whole profile: how many finished units under ``out`` are stale."""
    stale = [
        record
        for config in configs
        if (out / config.name / layout.CONFIG).exists()
        for _, record in runs.stale_units(out / config.name, config)
    ]
    if stale:
        raise RunError(runs.stale_message(out, stale))


def _not_run(outcome: Outcome) -> str:
    lines = [f"- **{name}**: data missing. {why}" for name, why in outcome.missing]
    lines += [f"- **{name}**: failed. {why}" for name, why in outcome.failed]
    lines += [f"- **{name}**: skipped; {why}." for name, why in outcome.skipped]
    return "\n".join(lines) if lines else "Every experiment of the profile ran."


def profile_configs(path: Path) -> list[ExperimentConfig]:
    """The configs a profile would run (for listing and tests)."""
    profile = load_profile(path)
    return [load_config(path.parent.parent / e.config, e.set) for e in profile.experiments]
