"""``--set key.path=value`` overrides and Hydra-style multiruns (``key=a,b``), on raw mappings."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import yaml

from resilinet_cli.errors import ConfigError


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Apply one Hydra-style ``key.path=value`` override in place (value parsed as YAML)."""
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {override!r}: expected key=value, for example train.epochs=5")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {override!r}: the value is not valid YAML") from None
    parts = key.strip().split(".")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(f"--set {override}: {where} is not a section, so {key} cannot be set")
        node = child
    node[parts[-1]] = value


def multirun(overrides: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Hydra-style sweeps: ``key=a,b`` gives one run per value.

    Returns (folder name, overrides) per run; the folder is ``""`` when nothing sweeps. Commas
    inside brackets, braces or quotes do not split (``variants=[a,b]`` is one value).
    """
    single, sweeps = [], []
    for override in overrides:
        key, sep, text = override.partition("=")
        values = _split_top_level(text) if sep else [text]
        if len(values) > 1:
            sweeps.append([f"{key}={value}" for value in values])
        else:
            single.append(override)
    if not sweeps:
        return [("", list(single))]
    return [(",".join(chosen), [*single, *chosen]) for chosen in itertools.product(*sweeps)]


def _split_top_level(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    return [*parts, current]
