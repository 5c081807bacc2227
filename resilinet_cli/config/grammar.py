"""Command-line overrides read by Hydra's own override parser (hydra-core).

Hydra parses; this module only turns its override types into ``Edit`` actions and its parsed
values into plain Python, so quoting, lists, dicts, ``+key``, ``~key``, ``a,b``, ``range()``
and ``choice()`` mean exactly what they mean in Hydra. Several values (Hydra's "sweep"
overrides) are expanded here into one edit per value; whether they may run (a ``-m`` multirun)
is ``multirun.plan_runs``' call. In resilinet "sweep" names the failure sweep only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    Override,
    OverrideType,
    QuotedString,
    Transformer,
    ValueType,
)
from hydra.errors import HydraException

from resilinet_cli.config.overrides import NO_VALUE, Action, Edit
from resilinet_cli.errors import ConfigError

ACTIONS: dict[OverrideType, Action] = {
    OverrideType.CHANGE: "set",
    OverrideType.ADD: "add",
    OverrideType.FORCE_ADD: "force_add",
    OverrideType.DEL: "delete",
}
PREFIXES: dict[Action, str] = {"set": "", "add": "+", "force_add": "++", "delete": "~"}
ENUMERABLE = (ValueType.CHOICE_SWEEP, ValueType.SIMPLE_CHOICE_SWEEP, ValueType.RANGE_SWEEP)
EXAMPLE = "expected key=value, for example train.epochs=5"


@dataclass(frozen=True)
class Parsed:
    """One override as written: its edit per value, and whether it has several (``a,b``,
    ``range``, ``choice``: a multirun's)."""

    label: str
    edits: tuple[Edit, ...]
    several: bool


def parse_overrides(texts: Sequence[str], option: str = "") -> list[Parsed]:
    """Each override in ``texts``; ``option`` (``--set``) is how a problem names where it came."""
    return [_parse(text, option) for text in texts]


@functools.cache
def _parser() -> OverridesParser:
    return OverridesParser.create()


def _parse(text: str, option: str) -> Parsed:
    label = f"{option} {text}".strip()
    try:
        [override] = _parser().parse_overrides([text])
    except HydraException as error:
        raise ConfigError(f"{label}: {_reason(error, text)}") from None
    if not override.key_or_group:
        raise ConfigError(f"{label}: {EXAMPLE}")
    if override.package is not None:
        raise ConfigError(f"{label}: Hydra's @package has no meaning here; name the key alone")
    action = ACTIONS[override.type]
    if not override.is_sweep_override():
        value = NO_VALUE if override.value_type is None else override.value()
        return Parsed(label, (Edit(override.key_or_group, action, value, text, label),), False)
    return Parsed(label, _value_edits(override, action, option, label), True)


def _value_edits(override: Override, action: Action, option: str, label: str) -> tuple[Edit, ...]:
    """One edit per value of ``a,b``, ``choice`` or ``range``, named as ``key=value``."""
    if override.value_type not in ENUMERABLE:
        raise ConfigError(
            f"{label}: only a,b, choice(...) and range(...) give a multirun its values here "
            "(interval() and glob() need a Hydra sweeper)"
        )
    key, edits = override.key_or_group, []
    for value in override.sweep_iterator():  # once: shuffle() draws a new order per call
        text = f"{PREFIXES[action]}{key}={Transformer.str(value)}"
        edits.append(Edit(key, action, _plain(value), text, f"{option} {text}".strip()))
    return tuple(edits)


def _plain(value: Any) -> Any:
    """Hydra's parsed value as plain Python: quoted strings become ``str``, recursively."""
    if isinstance(value, QuotedString):
        return value.text
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def _reason(error: HydraException, text: str) -> str:
    """Hydra's multi-line parse error as one clause (its link and caret lines dropped)."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("See https://", "Error parsing"))]
    if not lines or "missing EQUAL" in lines[0]:
        return EXAMPLE
    if lines[0].startswith("LexerNoViableAltException") and len(lines) > 1:
        column = len(lines[1]) - len(lines[1].lstrip()) - len("LexerNoViableAltException: ")
        if 0 <= column < len(text):
            return (
                f"Hydra's override grammar does not allow {text[column]!r} at column "
                f"{column + 1}; quote the value (key='...')"
            )
    return f"Hydra's override grammar: {lines[0]}"
