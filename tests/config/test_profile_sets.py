"""A profile's ``set:`` entries stay plain ``key=value`` overrides, the value read as YAML.

They are not read with Hydra's grammar: claims.yaml's descriptions hold commas, semicolons and
parentheses, which Hydra would read as a sweep or refuse. Each entry must give exactly the
config that writing its value into the file would give.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from paths import CONFIGS

from resilinet_cli.config import load_config, read_mapping, validate_config
from resilinet_cli.config.presets import resolve_all
from resilinet_cli.experiments.reproduce import load_profile

PROFILES = sorted((CONFIGS / "profiles").glob("*.yaml"))
ENTRIES = [
    pytest.param(profile, index, id=f"{profile.stem}-{index}")
    for profile in PROFILES
    for index in range(len(load_profile(profile).experiments))
]


def written_into_the_file(path: Path, sets: list[str]) -> dict[str, Any]:
    """The raw config with each ``key=value`` written in by hand: split at the first ``=``."""
    raw = resolve_all(read_mapping(path), path)
    for entry in sets:
        key, _, text = entry.partition("=")
        *sections, last = key.split(".")
        node = raw
        for section in sections:
            node = node.setdefault(section, {})
        node[last] = yaml.safe_load(text)
    return raw


@pytest.mark.parametrize(("profile", "index"), ENTRIES)
def test_each_profile_entry_loads_as_its_values_written_into_the_file(
    profile: Path, index: int
) -> None:
    entry = load_profile(profile).experiments[index]
    path = profile.parent.parent / entry.config
    loaded = load_config(path, list(entry.set))
    expected = validate_config(written_into_the_file(path, list(entry.set)), path.name)
    assert loaded == expected
    assert loaded.digest() == expected.digest()


def test_claims_descriptions_keep_their_commas_and_parentheses() -> None:
    entries = load_profile(CONFIGS / "profiles" / "claims.yaml").experiments
    config = load_config(CONFIGS / entries[2].config, list(entries[2].set))
    assert config.description == (
        "MobileNet-v1 on Fashion-MNIST (offline stand-in for CIFAR-10); Vanilla, deepFogGuard, "
        "ResiliNet"
    )
    assert config.variants == ["vanilla", "deepfogguard", "resilinet"]
