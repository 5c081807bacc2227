"""``make reproduce-paper``: run a profile of experiments and write one report page for them all.

A profile (``configs/profiles/<name>.yaml``) lists config files, each with optional ``--set``
overrides. Every experiment runs into its own folder under the profile's output folder and
resumes like any run. Missing data for one experiment stops nothing else: it is listed at the
end of the report, with how to get the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from resilinet_cli.config import ExperimentConfig, load_config, read_yaml
from resilinet_cli.errors import ConfigError, DataError, ResilinetError, unknown_choice

PROFILES = Path(__file__).resolve().parent.parent / "configs" / "profiles"


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


def profile_path(name_or_path: str) -> Path:
    """A profile by name (``quick``, ``full``) or by path."""
    path = Path(name_or_path)
    if path.suffix == ".yaml":
        return path
    known = sorted(p.stem for p in PROFILES.glob("*.yaml"))
    if name_or_path not in known:
        raise ConfigError(f"--profile: {unknown_choice('profile', name_or_path, known)}")
    return PROFILES / f"{name_or_path}.yaml"


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
) -> Outcome:
    """Run every experiment of the profile at ``path`` into ``out``; write ``out/REPORT.md``."""
    from resilinet_cli.ablations import plan_units
    from resilinet_cli.experiment import run_experiment
    from resilinet_cli.report import report_section
    from resilinet_cli.report_page import Section, write_report

    profile = load_profile(path)
    outcome = Outcome()
    sections: list[Section] = []
    for entry in profile.experiments:
        overrides = list(entry.set)
        if entry.imagenet:
            if imagenet_dir is None:
                outcome.skipped.append((entry.config, "set IMAGENET_DIR to run it"))
                continue
            overrides.append(f"dataset.data_dir={imagenet_dir.resolve()}")
        config = load_config(path.parent.parent / entry.config, overrides)
        units = plan_units(config, config.variants, range(1, config.iterations + 1))
        try:
            result = run_experiment(
                config,
                out / config.name,
                units,
                progress=progress,
                verbose=verbose,
                reuse_from=out,
            )
        except DataError as error:
            outcome.missing.append((config.name, str(error)))
            continue
        except ResilinetError as error:
            outcome.failed.append((config.name, str(error)))
            continue
        for unit, why in result.failed:
            outcome.failed.append((f"{config.name}/{unit.name}", why))
        if result.weighted.empty:
            continue
        outcome.finished.append(config.name)
        figures = sorted((out / config.name / "figures").glob("*.png"))
        sections.append(report_section(config, result.weighted, figures))
    sections.append(Section("What did not run", _not_run(outcome)))
    write_report(
        out / "REPORT.md",
        f"resilinet: {path.stem} profile",
        [Section("About this page", profile.description), *sections],
    )
    return outcome


def _not_run(outcome: Outcome) -> str:
    lines = [f"- **{name}**: data missing. {why}" for name, why in outcome.missing]
    lines += [f"- **{name}**: failed. {why}" for name, why in outcome.failed]
    lines += [f"- **{name}**: skipped; {why}." for name, why in outcome.skipped]
    return "\n".join(lines) if lines else "Every experiment of the profile ran."


def profile_configs(path: Path) -> list[ExperimentConfig]:
    """The configs a profile would run (for listing and tests)."""
    profile = load_profile(path)
    return [load_config(path.parent.parent / e.config, e.set) for e in profile.experiments]
