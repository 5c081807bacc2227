"""Adding (``+key``) and removing (``~key``) keys, and who a problem is blamed on.

The schema still decides what a config may hold: ``+key`` only brings in a key the file does not
set, and an unknown key is refused whether it is added or set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from resilinet_cli.config import ExperimentConfig, load_config
from resilinet_cli.config.grammar import parse_overrides
from resilinet_cli.errors import ConfigError

MINIMAL = (
    "name: t\ntopology: health\ndataset:\n  name: digits\n"
    "train:\n  epochs: 30\n  failout:\n    granularity: example\n"
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    config = tmp_path / "exp.yaml"
    config.write_text(MINIMAL)
    return config


def loaded(path: Path, *texts: str) -> ExperimentConfig:
    """The config with command-line overrides, as positional arguments give them."""
    return load_config(path, [p.edits[0] for p in parse_overrides(texts)])


def problem(path: Path, *texts: str) -> str:
    with pytest.raises(ConfigError) as caught:
        loaded(path, *texts)
    return str(caught.value)


def test_plus_adds_a_key_the_file_does_not_have(path: Path) -> None:
    config = loaded(path, "+train.early_stopping=3", "+model.hidden_units=64")
    assert config.train.early_stopping == 3 and config.model.hidden_units == 64


def test_plus_refuses_a_key_the_file_already_has(path: Path) -> None:
    assert problem(path, "+train.epochs=5") == (
        "+train.epochs=5: train.epochs is already in the config; "
        "change it with train.epochs=VALUE (or ++train.epochs=VALUE)"
    )


def test_plus_plus_sets_a_key_either_way(path: Path) -> None:
    assert loaded(path, "++train.epochs=5", "++train.batch_size=8").train.epochs == 5


def test_an_added_key_the_schema_does_not_know_is_still_an_error(path: Path) -> None:
    assert problem(path, "+train.epoch=5").startswith(
        "+train.epoch=5: unknown key 'epoch' (did you mean 'epochs'? known: epochs, "
    )


def test_setting_a_key_the_schema_does_not_know_fails_as_before(path: Path) -> None:
    assert problem(path, "train.epoch=5").startswith(
        "train.epoch=5: unknown key 'epoch' (did you mean 'epochs'? known: epochs, "
    )


def test_setting_a_schema_key_the_file_omits_needs_no_plus(path: Path) -> None:
    assert loaded(path, "train.batch_size=8").train.batch_size == 8


def test_tilde_removes_a_key_and_the_schema_default_applies(path: Path) -> None:
    assert loaded(path).train.failout.granularity == "example"
    config = loaded(path, "~train.failout.granularity", "~train.epochs")
    assert config.train.failout.granularity == "batch" and config.train.epochs == 50


def test_tilde_with_a_value_removes_only_that_value(path: Path) -> None:
    assert loaded(path, "~train.epochs=30").train.epochs == 50
    assert (
        problem(path, "~train.epochs=20")
        == "~train.epochs=20: train.epochs is 30, not 20; nothing removed"
    )


def test_tilde_on_a_key_the_config_does_not_have_is_an_error(path: Path) -> None:
    assert problem(path, "~train.batch_size") == (
        "~train.batch_size: train.batch_size is not in the config, so it cannot be removed"
    )
    assert problem(path, "~evaluation.batch_size") == (
        "~evaluation.batch_size: evaluation.batch_size is not in the config, "
        "so it cannot be removed"
    )


def test_removing_a_required_section_is_blamed_on_the_tilde(path: Path) -> None:
    assert problem(path, "~topology") == "~topology: Field required"


def test_a_value_problem_names_the_override_as_typed(path: Path) -> None:
    expected = "Input should be greater than or equal to 0"  # 0: --no-train
    assert problem(path, "train.epochs=-1") == f"train.epochs=-1: {expected}"
    edits = [p.edits[0] for p in parse_overrides(["train.epochs=-1"], "--set")]
    with pytest.raises(ConfigError, match=rf"^--set train.epochs=-1: {expected}$"):
        load_config(path, edits)


def test_a_key_of_another_model_family_names_the_family(path: Path) -> None:
    assert problem(path, "model.alpha=0.5") == (
        "model.alpha=0.5: does not apply to model 'mlp' (its keys: partition, hidden_units, "
        "layers_per_node)"
    )


def test_smoke_still_shrinks_and_an_explicit_value_still_wins(path: Path) -> None:
    edits = [p.edits[0] for p in parse_overrides(["train.epochs=2", "+train.early_stopping=1"])]
    config = load_config(path, edits, smoke=True)
    assert (config.train.epochs, config.iterations, config.dataset.subset.train) == (2, 1, 512)
    assert config.train.early_stopping == 1
