"""A unit's config (the run's config with its level's overrides) keeps the files' digest unless
an override names other files: an ablation unit on a Ray node, or after its files are gone,
needs no copy of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import CONFIGS

from resilinet_cli.config import load_config
from resilinet_cli.errors import ConfigError, DataError


@pytest.fixture
def own(tmp_path: Path) -> Path:
    """configs/own_data_csv.yaml with a copy of its CSV next to it."""
    (tmp_path / "data").mkdir()
    csv = (CONFIGS / "data" / "activities.csv").read_bytes()
    (tmp_path / "data" / "activities.csv").write_bytes(csv)
    (tmp_path / "own.yaml").write_bytes((CONFIGS / "own_data_csv.yaml").read_bytes())
    return tmp_path


def test_overrides_that_leave_the_files_alone_keep_the_digest_without_the_files(
    own: Path,
) -> None:
    config = load_config(own / "own.yaml")
    (own / "data" / "activities.csv").unlink()
    level = config.with_overrides(["train.failout.survival=0.5", "dataset.standardize=false"])
    assert level.dataset is not None and config.dataset is not None
    assert level.dataset.digest == config.dataset.digest
    assert level.train.failout.survival == 0.5


def test_an_override_that_names_other_files_hashes_them(own: Path) -> None:
    config = load_config(own / "own.yaml")
    other = own / "data" / "other.csv"
    other.write_text(
        (own / "data" / "activities.csv").read_text() + "0,0,0,0,0,0,0,0,0,0,0,0,run\n"
    )
    moved = config.with_overrides([f"dataset.path={other}"])
    assert moved.dataset is not None and config.dataset is not None
    assert moved.dataset.digest not in (None, config.dataset.digest)
    with pytest.raises((DataError, ConfigError)):
        config.with_overrides([f"dataset.path={own / 'missing.csv'}"])
