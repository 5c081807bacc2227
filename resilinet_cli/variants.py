"""The four model variants: each combines skips, merge and failout (docs/architecture.md §1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Variant:
    name: str
    skips: bool
    merge: Literal["add", "mux"]
    failout: bool


VARIANTS: dict[str, Variant] = {
    "vanilla": Variant("vanilla", skips=False, merge="add", failout=False),
    "deepfogguard": Variant("deepfogguard", skips=True, merge="add", failout=False),
    "resilinet": Variant("resilinet", skips=True, merge="mux", failout=True),
    "resilinet_plus": Variant("resilinet_plus", skips=True, merge="add", failout=True),
}
