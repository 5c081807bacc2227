"""Config groups: a ``topology``, ``dataset`` or ``model`` section named by a preset.

``topology: health`` in a file, or ``dataset=fashion_mnist`` on the command line, stands for
the whole section in ``<group folder>/<name>.yaml``. A preset is looked for next to the config
first (``topologies/NAME.yaml``, or ``NAME`` as a path), so a project can keep its own, and
then among the presets shipped in the package, so that a name works from any folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from resilinet_cli.config.yaml_file import read_yaml
from resilinet_cli.errors import ConfigError, unknown_choice

PACKAGE = Path(__file__).resolve().parent
FOLDERS = {"topology": "topologies", "dataset": "datasets", "model": "models"}


def resolve_all(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """``raw`` with every group that names a preset replaced by the preset's mapping."""
    for group in FOLDERS:
        raw = resolve(raw, group, path, f"{path.name}: {group}")
    return raw


def resolve(raw: dict[str, Any], group: str, path: Path, blame: str) -> dict[str, Any]:
    """``raw`` with ``group`` replaced by its preset if it is a name; ``blame`` starts an error."""
    name = raw.get(group)
    if not isinstance(name, str):
        return raw
    folders = [path.parent / FOLDERS[group], PACKAGE / FOLDERS[group]]
    candidates = [folders[0] / f"{name}.yaml", path.parent / name, folders[1] / f"{name}.yaml"]
    preset = next((candidate for candidate in candidates if candidate.is_file()), None)
    if preset is None:
        known = sorted({p.stem for folder in folders for p in folder.glob("*.yaml")})
        raise ConfigError(f"{blame}: {unknown_choice(f'{group} preset', name, known)}")
    section = read_yaml(preset)
    if not isinstance(section, dict):
        raise ConfigError(f"{preset.name}: expected a mapping of keys at the top level")
    return {**raw, group: section}
