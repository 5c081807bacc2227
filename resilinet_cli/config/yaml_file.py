"""Reading one YAML file safely, with every problem as one line that names the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from resilinet_cli.errors import ConfigError


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
