"""Variants a config defines under ``techniques:``: the registry entry, the hashes, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.errors import ConfigError
from resilinet_cli.experiments.reuse import training_key
from resilinet_cli.results.runs import Unit

BASE = "name: t\ntopology: health\ndataset: {name: digits}\n"
EXITS = (
    BASE + "variants: [vanilla, vanilla+exits, resilinet+exits]\n"
    "techniques:\n  vanilla+exits: {exits: [edge, fog1]}\n"
    "  resilinet+exits: {exits: [edge, fog1], threshold: 0.3}\n"
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_a_defined_variant_extends_its_base_with_heads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXITS))
    vanilla, resilinet = config.variant("vanilla+exits"), config.variant("resilinet+exits")
    assert (vanilla.skips, vanilla.failout, vanilla.exits) == (False, False, ("edge", "fog1"))
    assert (resilinet.merge, resilinet.failout, resilinet.base) == ("mux", True, "resilinet")
    assert resilinet.exit_threshold == 0.3 and resilinet.loss_weights() == [1.0, 1.0, 1.0]
    assert config.variant("vanilla").exits == ()


def test_a_definition_changes_no_other_configs_hash(tmp_path: Path) -> None:
    plain = load_config(write(tmp_path, BASE))
    assert "techniques" not in plain.to_dict()
    defined = load_config(write(tmp_path, EXITS))
    unit = Unit("vanilla", 1, 0)
    assert training_key(defined, unit) == training_key(
        load_config(write(tmp_path, BASE + "variants: [vanilla]\n")), unit
    )


def test_the_threshold_only_scores_but_the_exits_train(tmp_path: Path) -> None:
    unit = Unit("resilinet+exits", 1, 0)
    key = training_key(load_config(write(tmp_path, EXITS)), unit)
    other_t = EXITS.replace("threshold: 0.3", "threshold: 0.7")
    assert training_key(load_config(write(tmp_path, other_t)), unit) == key
    one_exit = EXITS.replace("{exits: [edge, fog1], threshold", "{exits: [edge], threshold")
    assert training_key(load_config(write(tmp_path, one_exit)), unit) != key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            BASE + "variants: [vanilla+exit]\ntechniques:\n  vanilla+exits: {exits: [edge]}\n",
            "variants[0]: unknown variant 'vanilla+exit' (did you mean 'vanilla+exits'?",
            id="undefined-variant",
        ),
        pytest.param(
            BASE + "variants: [vanilla+exits]\ntechniques:\n  vanilla+exits: {exits: [cloud]}\n",
            "techniques.vanilla+exits.exits[0]: 'cloud' is the final node",
            id="exit-at-the-final-node",
        ),
        pytest.param(
            BASE + "variants: [vanilla+exits]\ntechniques:\n  vanilla+exits: {exits: [fgo1]}\n",
            "techniques.vanilla+exits.exits[0]: unknown node 'fgo1' (did you mean 'fog1'?",
            id="unknown-node",
        ),
        pytest.param(
            BASE + "variants: [v+e]\ntechniques:\n  v+e: {exits: [edge], threshold: 1.5}\n",
            "techniques.v+e.threshold",
            id="threshold-above-1",
        ),
        pytest.param(
            BASE + "variants: [x+e]\ntechniques:\n  x+e: {exits: [edge]}\n",
            "techniques.x+e.base: unknown base variant 'x'",
            id="no-base",
        ),
        pytest.param(
            BASE + "variants: [v+e]\ntechniques:\n  v+e: {base: vanilla, exits: [fog1, edge]}\n",
            "techniques.v+e.exits: list the exits in the order of topology.nodes",
            id="out-of-order",
        ),
        pytest.param(
            BASE + "variants: [v+e]\ntechniques:\n  v+e: {base: vanilla, exits: [edge],"
            " exit_weights: [1]}\n",
            "techniques.v+e.exit_weights: needs 2 weights",
            id="weights-per-output",
        ),
        pytest.param(
            BASE + "variants: [vanilla]\ntechniques:\n  vanilla: {exits: [edge]}\n",
            "techniques.vanilla: is a built-in variant already",
            id="built-in-name",
        ),
    ],
)
def test_bad_definitions_are_one_line_naming_the_key(tmp_path: Path, text, message) -> None:
    error = error_of(tmp_path, text)
    assert message in error
    assert "exp.yaml" in error and len(error.splitlines()) == 1


def test_the_cli_refuses_before_any_training(tmp_path: Path) -> None:
    bad = EXITS.replace("{exits: [edge, fog1]}", "{exits: [edge, cloud]}")
    result = CliRunner().invoke(main, ["run", str(write(tmp_path, bad)), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "techniques.vanilla+exits.exits[1]: 'cloud' is the final node" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "runs").exists()


def test_variants_option_names_defined_variants(tmp_path: Path) -> None:
    path = write(tmp_path, EXITS)
    result = CliRunner().invoke(main, ["run", str(path), "--variants", "vanilla+exit", "--dry-run"])
    assert result.exit_code == 2
    assert "unknown variant 'vanilla+exit' (did you mean 'vanilla+exits'?" in result.output
