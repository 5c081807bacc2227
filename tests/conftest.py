"""Shared fixtures: the Health topology preset and a tiny trained-model factory."""

from __future__ import annotations

import pytest
from paths import CONFIGS, TOPOLOGIES

from resilinet_cli.config import TopologyConfig, read_yaml
from resilinet_cli.topology import Topology


@pytest.fixture(scope="session")
def health_topology_config() -> TopologyConfig:
    return TopologyConfig(**read_yaml(TOPOLOGIES / "health.yaml"))


@pytest.fixture(scope="session")
def health() -> Topology:
    return Topology.from_config(TopologyConfig(**read_yaml(TOPOLOGIES / "health.yaml")))


@pytest.fixture(scope="session")
def quick_config():
    """The quickstart config shrunk to a test-sized run."""
    from resilinet_cli.config import load_config

    return load_config(
        CONFIGS / "quickstart.yaml",
        ["train.epochs=2", "dataset.subset.train=600", "dataset.subset.test=200"],
    )


@pytest.fixture(scope="session")
def digits(quick_config):
    from resilinet_cli.data import load_splits

    return load_splits(quick_config.dataset)


@pytest.fixture(scope="session")
def trained(quick_config, digits, tmp_path_factory):
    """One briefly trained model per variant (2 epochs on 600 digits)."""
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.training.fit import set_seeds, train_model
    from resilinet_cli.training.inputs import build_inputs

    inputs = build_inputs(digits, quick_config, failable=3, seed=0)
    models = {}
    for variant in quick_config.variants:
        set_seeds(0)
        model, family = build_from_config(
            quick_config,
            variant,
            input_shape=inputs.input_shape,
            num_classes=inputs.num_classes,
            seed=0,
        )
        train_model(
            model,
            inputs.train_epoch,
            inputs.val,
            epochs=2,
            seed=0,
            work_dir=tmp_path_factory.mktemp(variant),
            verbose=0,
        )
        models[variant] = (model, family)
    return models


@pytest.fixture(scope="session")
def smoke_serial(tmp_path_factory):
    """The four-unit smoke run, serial and in-process: what the pool and Ray must equal."""
    from click.testing import CliRunner
    from run_helpers import smoke_command

    from resilinet_cli.cli import main

    out = tmp_path_factory.mktemp("smoke-serial") / "run"
    result = CliRunner().invoke(main, smoke_command(out), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def failure_model_run(tmp_path_factory):
    """configs/ablations/digits_failure_model.yaml, tiny and one iteration: five units trained
    with failout independent or drawn from node_rates (the control), shared_rack, shared_uplink
    and flaky_links (which drops two failable links), each swept over every combination of nodes
    and links."""
    from click.testing import CliRunner
    from run_helpers import TINY

    from resilinet_cli.cli import main

    out = tmp_path_factory.mktemp("failure-model") / "fm"
    args = ["-q", "run", str(CONFIGS / "ablations" / "digits_failure_model.yaml"),
            "--out", str(out), *TINY, "--iterations", "1"]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return out
