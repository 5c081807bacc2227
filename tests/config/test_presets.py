"""Config groups: ``topology``, ``dataset`` and ``model`` sections named by a shipped preset."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from paths import CONFIGS, ROOT

from resilinet_cli.config import load_config
from resilinet_cli.config.grammar import parse_overrides
from resilinet_cli.config.presets import FOLDERS, PACKAGE
from resilinet_cli.data import DATASETS
from resilinet_cli.errors import ConfigError

QUICKSTART = CONFIGS / "quickstart.yaml"


def edits(*texts: str) -> list:
    return [parsed.edits[0] for parsed in parse_overrides(texts)]


def test_every_dataset_and_model_family_has_a_preset() -> None:
    from resilinet_cli.config.families import FAMILIES

    assert sorted(p.stem for p in (PACKAGE / "datasets").glob("*.yaml")) == sorted(DATASETS)
    assert sorted(p.stem for p in (PACKAGE / "models").glob("*.yaml")) == sorted(FAMILIES)


def test_the_presets_ship_with_the_package() -> None:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    shipped = setup["options.package_data"]["resilinet_cli.config"]
    assert {f"{folder}/*.yaml" for folder in FOLDERS.values()} <= {
        pattern.strip() for pattern in shipped.split(",")
    }
    assert "hydra-core>=1.3" in setup["options"]["install_requires"]


@pytest.mark.parametrize(
    ("config", "overrides"),
    [
        ("cifar_mobilenet.yaml", ["dataset=cifar10", "model=mobilenet"]),
        ("cifar_resnet.yaml", ["dataset=cifar10", "model=resnet18"]),
        ("health.yaml", ["dataset=mhealth", "model=mlp", "topology=health"]),
        ("quickstart.yaml", ["dataset=digits", "model=mlp"]),
        ("imagenet_mobilenet.yaml",
         ["dataset=imagenet", "model=mobilenet", "model.strides=standard"]),
        ("fashion_resnet.yaml",
         ["dataset=fashion_mnist", "model=resnet18", "dataset.subset.train=20000",
          "dataset.subset.val=2000", "dataset.subset.test=3000"]),
    ],
)  # fmt: skip
def test_a_preset_holds_the_defaults_of_the_shipped_configs(
    config: str, overrides: list[str]
) -> None:
    """Naming the presets a config already spells out changes nothing (not even its digest)."""
    path = CONFIGS / config
    assert load_config(path, edits(*overrides)).digest() == load_config(path).digest()


def test_groups_on_the_command_line_replace_whole_sections() -> None:
    config = load_config(
        QUICKSTART, edits("topology=cnn", "dataset=fashion_mnist", "model=mobilenet")
    )
    assert config.topology.nodes == ["iot", "edge", "fog", "cloud"]
    assert (config.dataset.name, config.dataset.image_size, config.dataset.channels) == (
        "fashion_mnist", 32, 3,
    )  # fmt: skip
    assert (config.model.name, config.model.alpha, config.model.strides) == (
        "mobilenet",
        0.75,
        "cifar",
    )
    assert "hidden_units" not in config.to_dict()["model"]  # the MLP's section is gone
    assert config.train.epochs == 30  # other sections are the file's


@pytest.mark.parametrize(
    "order",
    [
        ["dataset=fashion_mnist", "dataset.subset.train=100"],
        ["dataset.subset.train=100", "dataset=fashion_mnist"],
    ],
)
def test_a_key_of_a_group_changes_the_preset_wherever_it_stands(order: list[str]) -> None:
    """As in Hydra, groups are composed first and values applied to them after."""
    dataset = load_config(QUICKSTART, edits(*order)).dataset
    assert (dataset.name, dataset.image_size, dataset.subset.train) == ("fashion_mnist", 32, 100)


def test_a_removed_key_of_a_preset_takes_the_schema_default() -> None:
    dataset = load_config(
        QUICKSTART, edits("dataset=fashion_mnist", "~dataset.image_size", "~dataset.channels")
    ).dataset
    assert (dataset.name, dataset.image_size, dataset.channels) == ("fashion_mnist", None, None)


def test_smoke_shrinks_a_preset_chosen_on_the_command_line() -> None:
    config = load_config(QUICKSTART, edits("dataset=fashion_mnist"), smoke=True)
    assert (config.dataset.name, config.dataset.subset.train) == ("fashion_mnist", 512)


def test_a_preset_replaced_on_the_command_line_is_checked_against_the_rest() -> None:
    """MobileNet's partition setting has 3 nodes; the Health topology has 4 non-input nodes."""
    with pytest.raises(ConfigError) as caught:
        load_config(QUICKSTART, edits("model=mobilenet"))
    assert str(caught.value) == (
        "model=mobilenet: model.partition: partition 1 places layers on 3 nodes, but the "
        "topology has 4 non-input nodes; use a topology it fits (topology=cnn) or set "
        "model.layers_per_node instead"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dataset=fashion", "unknown dataset preset 'fashion' (did you mean 'fashion_mnist'? "
                            "known: cifar10, digits, fashion_mnist, imagenet, mhealth)"),
        ("model=resnet", "unknown model preset 'resnet' (did you mean 'resnet18'? "
                         "known: keras, mlp, mobilenet, resnet18)"),
        ("topology=cn", "unknown topology preset 'cn' (did you mean 'cnn'? "
                        "known: cnn, grid4, health, health3)"),
    ],
)  # fmt: skip
def test_an_unknown_preset_gives_one_line_listing_the_known_ones(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(QUICKSTART, edits(text))
    assert str(caught.value) == f"{text}: {message}"


def test_a_config_file_names_dataset_and_model_presets_as_it_does_topologies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\ntopology: cnn\ndataset: cifar10\nmodel: resnet18\n")
    config = load_config(path)
    assert (config.dataset.name, config.model.name, config.model.weight_decay) == (
        "cifar10", "resnet18", 1e-4,
    )  # fmt: skip
    path.write_text("name: mine\ntopology: cnn\ndataset: cifar\nmodel: resnet18\n")
    with pytest.raises(ConfigError, match=r"^mine.yaml: dataset: unknown dataset preset 'cifar' "):
        load_config(path)


def test_a_preset_next_to_the_config_wins_over_the_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mlp.yaml").write_text("name: mlp\nhidden_units: 32\n")
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\ntopology: health\ndataset: digits\nmodel: mlp\n")
    assert load_config(path).model.hidden_units == 32
