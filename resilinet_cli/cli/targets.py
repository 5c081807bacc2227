"""What ``evaluate`` takes: a run folder, a unit folder or a model.keras, never a config file.

``resilinet evaluate configs/quickstart.yaml`` would otherwise fail deep in the search for
models with "no config.yaml in any parent folder"; the user gave a config where a run belongs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

CONFIG_SUFFIXES = (".yaml", ".yml")


class RunOrModel(click.Path):
    """An existing path that is not a config file; a config gets one line naming the fix."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, exists=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        if Path(path).is_file() and Path(path).suffix in CONFIG_SUFFIXES:
            out = Path("results") / config_name(Path(path))
            self.fail(
                f"{value} is a config file; evaluate wants a run folder: run it first "
                f"(resilinet run {value}), then resilinet evaluate {out}",
                param,
                ctx,
            )
        return path


def config_name(path: Path) -> str:
    """The config's ``name`` (its run folder's name), or the file's stem if it has none."""
    from resilinet_cli.config.yaml_file import read_yaml
    from resilinet_cli.errors import ConfigError

    try:
        raw = read_yaml(path)
    except ConfigError:
        return path.stem
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else path.stem
