"""Which keys two resolved configs differ in: a refusal or a comparison names them, not hashes.

Only keys that change results count: where the data lives, what a unit asks of a cluster, the
failure models and the statistics only locate, place, score or report (``schema.digest``).
"""

from __future__ import annotations

from typing import Any

IGNORED = ("dataset.data_dir", "dataset.download", "resources", "failure_models", "stats")
MISSING = "(not set)"


def config_differences(there: dict[str, Any], here: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(key, value there, value here) for every key whose values differ, in ``here``'s order."""
    left, right = _flat(there), _flat(here)
    keys = [*right, *(key for key in left if key not in right)]
    return [
        (key, _text(left.get(key, MISSING)), _text(right.get(key, MISSING)))
        for key in keys
        if left.get(key, MISSING) != right.get(key, MISSING) and not _ignored(key)
    ]


def _flat(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flat(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def _ignored(key: str) -> bool:
    return any(key == name or key.startswith(f"{name}.") for name in IGNORED)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value if value == MISSING else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    return str(value)
