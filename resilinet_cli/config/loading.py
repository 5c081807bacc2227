"""Reading a config: YAML, ``base:`` inheritance, topology presets and generators, overrides.

Everything is checked before any data is loaded or TensorFlow is imported, and every problem is
reported as one line ``file: key.path: message`` (docs/architecture.md §7).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from resilinet_cli.config.generate import GENERATORS
from resilinet_cli.config.messages import loc_text
from resilinet_cli.config.overrides import apply_override
from resilinet_cli.config.schema import ExperimentConfig, GeneratedTopologyConfig, validate_config
from resilinet_cli.errors import ConfigError, unknown_choice

SMOKE_OVERRIDES = (
    "smoke=true",
    "train.epochs=1",
    "iterations=1",
    "dataset.subset.train=512",
    "dataset.subset.val=128",
    "dataset.subset.test=256",
)


def load_config(
    path: Path, overrides: Sequence[str] = (), *, smoke: bool = False
) -> ExperimentConfig:
    """Read, override and validate a config file; raise ConfigError listing every problem."""
    raw = read_mapping(path)
    raw = _resolve_topology(raw, path)
    # --smoke shrinks first, so that what the user sets explicitly wins.
    for override in (*(SMOKE_OVERRIDES if smoke else ()), *overrides):
        apply_override(raw, override)
    raw = _resolve_topology(raw, path)  # --set topology=cnn names a preset too
    return validate_config(_expand_generated(raw, path.name), path.name, overrides)


def read_mapping(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as a mapping; ``base: other.yaml`` inherits that file's keys.

    The file's own keys win, section by section, so an ablation config states only what it
    changes (``base: ../health.yaml`` plus an ``experiment:`` section).
    """
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping of keys at the top level")
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ConfigError(f"{path.name}: base: expected the path of another config file")
    parent = (path.parent / base).resolve()
    if parent in seen or parent == path.resolve():
        raise ConfigError(f"{path.name}: base: {base} includes itself")
    inherited = _resolve_topology(read_mapping(parent, (*seen, path.resolve())), parent)
    return _deep_merge(inherited, raw)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "topology":
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml(path: Path) -> Any:
    """Parse YAML safely (no object construction); syntax errors carry line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    if not text.strip():
        raise ConfigError(f"{path.name}: the file is empty")
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(f"{path.name}: {where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path.name}: invalid YAML: {error}") from None


PRESETS = Path(__file__).resolve().parent / "topologies"


def _resolve_topology(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """Replace ``topology: NAME`` with a preset's mapping.

    A preset is looked for next to the config first (``topologies/NAME.yaml``, or ``NAME`` as a
    path), so a project can keep its own, and then among the presets shipped in the package, so
    that ``topology: health`` works from any folder.
    """
    name = raw.get("topology")
    if not isinstance(name, str):
        return raw
    here = path.parent
    candidates = [here / "topologies" / f"{name}.yaml", here / name]
    candidates.append(PRESETS / f"{name}.yaml")
    preset = next((c for c in candidates if c.is_file()), None)
    if preset is None:
        known = sorted({p.stem for d in (here / "topologies", PRESETS) for p in d.glob("*.yaml")})
        raise ConfigError(
            f"{path.name}: topology: {unknown_choice('topology preset', name, known)}"
        )
    topology = read_yaml(preset)
    if not isinstance(topology, dict):
        raise ConfigError(f"{preset.name}: expected a mapping of keys at the top level")
    return {**raw, "topology": topology}


def _expand_generated(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """Replace ``topology: {generate: KIND, size: N}`` with the generated topology mapping.

    Expanded after the overrides, so ``--set topology.size=20`` resizes a generated topology.
    """
    spec = raw.get("topology")
    if not isinstance(spec, dict) or "generate" not in spec:
        return raw
    try:
        generated = GeneratedTopologyConfig.model_validate(spec)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            loc = ("topology", *problem["loc"])
            if problem["type"] == "extra_forbidden":
                known = list(GeneratedTopologyConfig.model_fields)
                message = unknown_choice("key", loc[-1], known)
            else:
                message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {loc_text(loc)}: {message}")
        raise ConfigError("\n".join(lines)) from None
    return {**raw, "topology": GENERATORS[generated.generate](generated.size)}
