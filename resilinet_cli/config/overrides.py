"""Overrides as edits of a raw config mapping: set ``key=v``, add ``+key=v``, remove ``~key``.

Both ways of writing an override end here: Hydra's grammar on the command line
(``config/grammar.py``) and the plain ``key=value`` of profiles, ablation levels and the API
(``plain_edit``, the value read as YAML). Applying an edit knows neither syntax; pydantic then
validates the result, so an edit can never bring in a key the schema does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import yaml

from resilinet_cli.errors import ConfigError

Action = Literal["set", "add", "force_add", "delete"]
NO_VALUE: Any = object()  # ``~key`` alone removes the key whatever its value


@dataclass(frozen=True)
class Edit:
    """One override with one value: ``action`` on the dotted ``key``.

    ``text`` is the override as one value (``train.epochs=5``), what a unit's record lists and
    a multirun value's folder is named by; ``label`` is how a problem names it
    (``--set train.epochs=5``).
    """

    key: str
    action: Action
    value: Any = NO_VALUE
    text: str = ""
    label: str = ""


def plain_edit(override: str) -> Edit:
    """``key.path=value`` with the value read as YAML: profiles' ``set:`` lists and the API."""
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {override!r}: expected key=value, for example train.epochs=5")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {override!r}: the value is not valid YAML") from None
    return Edit(key.strip(), "set", value, override, f"--set {override}")


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Apply one plain ``key.path=value`` override in place (value parsed as YAML)."""
    apply_edit(raw, plain_edit(override))


def apply_edit(raw: dict[str, Any], edit: Edit) -> None:
    """Apply ``edit`` to ``raw`` in place; missing sections are created, as a file may omit them.

    As in Hydra, ``+key`` refuses a key the config already has and ``~key`` one it does not
    have; ``key=value`` and ``++key=value`` set a key either way.
    """
    parts = edit.key.split(".")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {}) if edit.action != "delete" else node.get(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(
                f"{edit.label}: {where} is not a section, so {edit.key} cannot be set"
            )
        node = child
    last = parts[-1]
    if edit.action == "add" and last in node:
        raise ConfigError(
            f"{edit.label}: {edit.key} is already in the config; "
            f"change it with {edit.key}=VALUE (or ++{edit.key}=VALUE)"
        )
    if edit.action != "delete":
        node[last] = edit.value
    elif last not in node:
        raise ConfigError(f"{edit.label}: {edit.key} is not in the config, so it cannot be removed")
    elif edit.value is not NO_VALUE and node[last] != edit.value:
        raise ConfigError(
            f"{edit.label}: {edit.key} is {node[last]!r}, not {edit.value!r}; nothing removed"
        )
    else:
        del node[last]
