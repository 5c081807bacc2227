"""Reading a config: YAML, ``base:`` inheritance, presets (config groups) and generators, overrides.

Everything is checked before any data is loaded or TensorFlow is imported, and every problem is
reported as one line ``file: key.path: message`` (docs/architecture.md §7).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from resilinet_cli.config import presets
from resilinet_cli.config.generate import GENERATORS
from resilinet_cli.config.messages import loc_text
from resilinet_cli.config.overrides import Edit, apply_edit, plain_edit
from resilinet_cli.config.schema import (
    ExperimentConfig,
    GeneratedTopologyConfig,
    validate_config,
    with_data_digest,
)
from resilinet_cli.config.yaml_file import read_yaml
from resilinet_cli.errors import ConfigError, DataError, unknown_choice

SMOKE_OVERRIDES = (
    "smoke=true",
    "train.epochs=1",
    "iterations=1",
    "variant_iterations={}",
    "dataset.subset.train=512",
    "dataset.subset.val=128",
    "dataset.subset.test=256",
)


def load_config(
    path: Path,
    overrides: Sequence[str | Edit] = (),
    *,
    smoke: bool = False,
    need_dataset: bool = True,
) -> ExperimentConfig:
    """Read, override and validate a config file; raise ConfigError listing every problem.

    A text override is the plain ``key=value`` (value read as YAML) of profiles and the API;
    the command line passes ``Edit`` objects parsed with Hydra's grammar (``config/grammar.py``).
    Without ``need_dataset`` a config may lack its ``dataset:`` section (``rn.run(config,
    data=...)`` brings the data). A files data set gets its SHA-256 (``with_data_digest``).
    """
    edits = [o if isinstance(o, Edit) else plain_edit(o) for o in overrides]
    if smoke:  # the file as written must be valid: --smoke shrinks a config, never repairs one
        load_config(path, edits, need_dataset=need_dataset)
    raw = presets.resolve_all(read_mapping(path), path)
    # As Hydra composes its config groups before it applies values: a group named by a preset
    # (dataset=cifar10) replaces its section first, so dataset.subset.train=100 changes that
    # preset wherever it stands; and --smoke shrinks next, so what the user sets explicitly wins.
    groups = [edit for edit in edits if edit.key in presets.FOLDERS]
    smoke_edits = [plain_edit(override) for override in SMOKE_OVERRIDES] if smoke else []
    others = [edit for edit in edits if edit.key not in presets.FOLDERS]
    for edit in (*groups, *smoke_edits, *others):
        apply_edit(raw, edit)
        if edit.key in presets.FOLDERS:
            raw = presets.resolve(raw, edit.key, path, edit.label)
    config = validate_config(_expand_generated(raw, path.name), path.name, edits)
    if need_dataset and (config.dataset is None or config.dataset.name is None):
        raise ConfigError(
            f"{path.name}: dataset.name: missing; name a data set (dataset: {{name: files, "
            "path: ...} for your own), or pass arrays in Python: rn.run(config, data=(x, y))"
        )
    try:
        return with_data_digest(config)
    except DataError as error:
        raise ConfigError(f"{path.name}: dataset.path: {error}") from None


def read_mapping(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as a mapping; ``base: other.yaml`` inherits that file's keys.

    The file's own keys win, section by section, so an ablation config states only what it
    changes (``base: ../health.yaml`` plus an ``experiment:`` section).
    """
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping of keys at the top level")
    _anchor_data_path(raw, path)
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ConfigError(f"{path.name}: base: expected the path of another config file")
    parent = (path.parent / base).resolve()
    if parent in seen or parent == path.resolve():
        raise ConfigError(f"{path.name}: base: {base} includes itself")
    inherited = presets.resolve_all(read_mapping(parent, (*seen, path.resolve())), parent)
    return _deep_merge(inherited, raw)


def _anchor_data_path(raw: dict[str, Any], path: Path) -> None:
    """A ``dataset.path`` written in a config file is relative to that file's folder (as
    ``base:`` is), so a config runs from any working directory; a ``--set`` value stays
    relative to the working directory."""
    dataset = raw.get("dataset")
    if isinstance(dataset, dict) and isinstance(dataset.get("path"), str):
        data_path = Path(dataset["path"]).expanduser()
        if not data_path.is_absolute():
            dataset["path"] = str((path.parent / data_path).resolve())


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "topology":
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


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
