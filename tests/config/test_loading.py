"""Config loading: every shipped config validates, and each mistake gives its exact message lines.

docs/architecture.md §7: one line per problem, ``file.yaml: key.path: message``, all listed.
Reliability values are docs/method.md §6.1.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from resilinet_cli.config import (
    ExperimentConfig,
    apply_override,
    load_config,
    read_yaml,
    validate_config,
)
from resilinet_cli.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
TOPOLOGIES = ROOT / "resilinet_cli" / "config" / "topologies"
SHIPPED = sorted([*CONFIGS.glob("*.yaml"), *CONFIGS.glob("ablations/*.yaml")])

HEALTH_NODES = ["iot", "edge", "fog2", "fog1", "cloud"]
HEALTH_LINKS = [["iot", "edge"], ["edge", "fog2"], ["fog2", "fog1"], ["fog1", "cloud"]]
HEALTH_SKIPS = [["iot", "fog2"], ["edge", "fog1"], ["fog2", "cloud"]]
HEALTH_RELIABILITY = {  # docs/method.md §6.1, order [fog1, fog2, edge]
    "no_failure": [1.0, 1.0, 1.0],
    "normal": [0.99, 0.96, 0.92],
    "poor": [0.95, 0.91, 0.87],
    "hazardous": [0.85, 0.80, 0.78],
}
INLINE_TOPOLOGY = {
    "nodes": HEALTH_NODES,
    "links": HEALTH_LINKS,
    "skips": HEALTH_SKIPS,
    "failable": ["fog1", "fog2", "edge"],
    "reliability": HEALTH_RELIABILITY,
}
MINIMAL = "name: t\ntopology: health\ndataset:\n  name: digits\n"
KNOWN_VARIANTS = "known: vanilla, deepfogguard, resilinet, resilinet_plus"
KNOWN_NODES = "known: iot, edge, fog2, fog1, cloud"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A folder that holds the topology presets, as configs/ does."""
    shutil.copytree(TOPOLOGIES, tmp_path / "topologies")
    return tmp_path


def write(folder: Path, text: str, name: str = "exp.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_lines(path: Path, overrides: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, overrides)
    return str(caught.value).splitlines()


def with_topology(**changes: Any) -> str:
    """A config whose topology is the Health preset written inline, with ``changes``."""
    topology = {**copy.deepcopy(INLINE_TOPOLOGY), **changes}
    return yaml.safe_dump({"name": "t", "dataset": {"name": "digits"}, "topology": topology})


# -- shipped configs ---------------------------------------------------------------------------


def test_the_repository_ships_configs() -> None:
    assert CONFIGS / "quickstart.yaml" in SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_config_validates(path: Path) -> None:
    config = load_config(path)
    assert isinstance(config, ExperimentConfig)
    assert config.topology.nodes[0] != config.topology.nodes[-1]
    assert set(config.topology.failable) <= set(config.topology.nodes)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_config_starts_with_its_run_command(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(f"# resilinet run {path.relative_to(CONFIGS.parent)}")


def test_an_ablation_config_inherits_its_base_and_states_its_change() -> None:
    config = load_config(CONFIGS / "ablations" / "cifar_resnet_skip_sensitivity.yaml")
    base = load_config(CONFIGS / "cifar_resnet.yaml")
    assert config.experiment.type == "skip_sensitivity" and config.variants == ["resilinet"]
    assert config.train.failout.survival == 0.95 and base.train.failout.survival == 0.9
    assert config.train.epochs == base.train.epochs == 75 and config.model == base.model
    assert config.topology == base.topology


def test_a_config_that_inherits_itself_is_refused(config_dir: Path) -> None:
    path = config_dir / "loop.yaml"
    path.write_text("base: loop.yaml\nname: loop\n")
    with pytest.raises(ConfigError, match="includes itself"):
        load_config(path)


def test_health_preset_resolves_to_the_spec_topology(config_dir: Path) -> None:
    config = load_config(write(config_dir, MINIMAL))
    topology = config.topology
    assert topology.nodes == HEALTH_NODES
    assert [list(link) for link in topology.links] == HEALTH_LINKS
    assert [list(skip) for skip in topology.skips] == HEALTH_SKIPS
    assert topology.failable == ["fog1", "fog2", "edge"]
    assert topology.reliability == HEALTH_RELIABILITY


def test_an_inline_topology_is_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, with_topology()))
    assert config.topology.nodes == HEALTH_NODES
    assert config.train.epochs == 50  # schema default


def test_validation_needs_no_tensorflow() -> None:
    code = (
        "import sys; from pathlib import Path; from resilinet_cli.config import load_config; "
        f"load_config(Path({str(CONFIGS / 'quickstart.yaml')!r})); "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unknown_topology_preset_is_named(config_dir: Path) -> None:
    path = write(config_dir, MINIMAL.replace("topology: health", "topology: helth"))
    assert error_lines(path) == [
        "exp.yaml: topology: unknown topology preset 'helth' "
        "(did you mean 'health'? known: cnn, grid4, health, health3)"
    ]


# -- one line per problem ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(
            "train:\n  epoch: 5\n",
            [
                "exp.yaml: train.epoch: unknown key 'epoch' (did you mean 'epochs'? "
                "known: epochs, batch_size, gradient_accumulation_steps, augment, "
                "mixed_precision, threads, distribute, optimizer, early_stopping, epoch_sweep, "
                "failout, hyperconnection_weights)"
            ],
            id="unknown-key",
        ),
        pytest.param(
            "train:\n  distribute: mirrored\n  gradient_accumulation_steps: 4\n",
            [
                "exp.yaml: train.gradient_accumulation_steps: does not work with "
                "train.distribute: mirrored (Keras 3 cannot accumulate gradients under "
                "tf.distribute); with N devices, multiply train.batch_size by N instead"
            ],
            id="accumulation-under-a-strategy",
        ),
        pytest.param(
            "train:\n  epochs: ten\n",
            [
                "exp.yaml: train.epochs: Input should be a valid integer, "
                "unable to parse string as an integer"
            ],
            id="wrong-type",
        ),
        pytest.param(
            "train:\n  epochs: -1\n  batch_size: -1\n",
            [
                "exp.yaml: train.epochs: Input should be greater than or equal to 0",
                "exp.yaml: train.batch_size: Input should be greater than 0",
            ],
            id="two-range-errors",
        ),
        pytest.param(
            "train:\n  failout:\n    survival: 0\n",
            ["exp.yaml: train.failout.survival: Input should be greater than 0"],
            id="survival-0",
        ),
        pytest.param(
            "train:\n  failout:\n    survival: 1.2\n",
            ["exp.yaml: train.failout.survival: Input should be less than or equal to 1"],
            id="survival-1.2",
        ),
        pytest.param(
            "train:\n  failout:\n    survival: often\n",
            [
                "exp.yaml: train.failout.survival: "
                "Input should be a valid number or a valid dictionary"
            ],
            id="survival-neither-number-nor-mapping",
        ),
        pytest.param(
            "train:\n  failout:\n    survival: {fog1: 0.8, cloud: 0.5}\n",
            [
                "exp.yaml: train.failout.survival.cloud: unknown failable node 'cloud' "
                "(known: fog1, fog2, edge)"
            ],
            id="survival-non-failable-node",
        ),
        pytest.param(
            "train:\n  failout:\n    survival: {fog1: 0}\n",
            ["exp.yaml: train.failout.survival.fog1: Input should be greater than 0"],
            id="survival-mapping-value-0",
        ),
        pytest.param(
            "train:\n  failout:\n    granularity: batches\n",
            [
                "exp.yaml: train.failout.granularity: unknown granularity 'batches' "
                "(did you mean 'batch'? known: batch, example)"
            ],
            id="unknown-granularity",
        ),
        pytest.param(
            "train:\n  hyperconnection_weights:\n    setting: terrible\n",
            [
                "exp.yaml: train.hyperconnection_weights.setting: unknown reliability setting "
                "'terrible' (known: no_failure, normal, poor, hazardous)"
            ],
            id="unknown-reliability-setting",
        ),
        pytest.param(
            "train:\n  hyperconnection_weights:\n    scheme: 6\n",
            ["exp.yaml: train.hyperconnection_weights.scheme: Input should be 1, 2, 3, 4 or 5"],
            id="unknown-scheme",
        ),
        pytest.param(
            "variants: [resilinet, resnet]\n",
            [
                "exp.yaml: variants[1]: unknown variant 'resnet' (did you mean 'resilinet'? "
                f"{KNOWN_VARIANTS})"
            ],
            id="unknown-variant",
        ),
        pytest.param(
            "model:\n  name: cnn\n",
            ["exp.yaml: model.name: unknown model 'cnn' (known: mlp, mobilenet, resnet18, keras)"],
            id="unknown-model",
        ),
        pytest.param(
            "model:\n  partition: 3\n",
            ["exp.yaml: model.partition: mlp has no partition setting 3 (known: 1, 2)"],
            id="unknown-partition",
        ),
        pytest.param(
            "name: a b\n",
            ["exp.yaml: name: String should match pattern '^[A-Za-z0-9_.-]+$'"],
            id="bad-name",
        ),
    ],
)
def test_each_mistake_gives_its_message(config_dir: Path, extra: str, expected: list[str]) -> None:
    text = MINIMAL.replace("name: t\n", "") if extra.startswith("name:") else MINIMAL
    assert error_lines(write(config_dir, text + extra)) == expected


def test_unknown_dataset_suggests_the_closest_name(config_dir: Path) -> None:
    path = write(config_dir, MINIMAL.replace("name: digits", "name: mhelth"))
    assert error_lines(path) == [
        "exp.yaml: dataset.name: unknown dataset 'mhelth' (did you mean 'mhealth'? "
        "known: cifar10, digits, fashion_mnist, imagenet, mhealth, files)"
    ]


def test_all_problems_are_listed_together(config_dir: Path) -> None:
    text = MINIMAL + "iterations: 0\ntrain:\n  epoch: 5\n  batch_size: big\nmodel:\n  name: cnn\n"
    assert error_lines(write(config_dir, text)) == [
        "exp.yaml: iterations: Input should be greater than 0",
        "exp.yaml: model.name: unknown model 'cnn' (known: mlp, mobilenet, resnet18, keras)",
        "exp.yaml: train.batch_size: Input should be a valid integer, "
        "unable to parse string as an integer",
        "exp.yaml: train.epoch: unknown key 'epoch' (did you mean 'epochs'? "
        "known: epochs, batch_size, gradient_accumulation_steps, augment, "
        "mixed_precision, threads, distribute, optimizer, early_stopping, epoch_sweep, failout, "
        "hyperconnection_weights)",
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"reliability": {"no_failure": [1.0, 1.0, 1.0], "bad": [1.5, 0.9, 0.9]}},
            ["exp.yaml: topology.reliability.bad[0]: Input should be less than or equal to 1"],
            id="reliability-1.5",
        ),
        pytest.param(
            {"reliability": {"no_failure": [1.0, 1.0, 1.0], "short": [0.9, 0.9]}},
            [
                "exp.yaml: topology.reliability.short: has 2 values, expected 3 "
                "(one per failable node)"
            ],
            id="reliability-wrong-length",
        ),
        pytest.param(
            {"skips": [["iot", "fog9"]]},
            [
                "exp.yaml: topology.skips[0]: unknown node 'fog9' (did you mean 'fog2'? "
                f"{KNOWN_NODES})"
            ],
            id="skip-unknown-node",
        ),
        pytest.param(
            {"skips": [["fog1", "edge"]]},
            [
                "exp.yaml: topology.skips[0]: fog1 -> edge points backwards "
                "(links run from input to output: no cycles)"
            ],
            id="skip-backwards",
        ),
        pytest.param(
            {"skips": [["edge", "fog2"]]},
            ["exp.yaml: topology.skips[0]: edge -> fog2 skips no node; list it under links"],
            id="skip-skips-nothing",
        ),
        pytest.param(
            {"nodes": ["iot", "edge", "fog2", "fog2", "fog1", "cloud"]},
            [
                "exp.yaml: topology.nodes: duplicate node name 'fog2'",
                # A sixth node really does not match partition 1's four receivers.
                "exp.yaml: model.partition: partition 1 places layers on 4 nodes, but the "
                "topology has 5 non-input nodes; use a topology it fits (topology=health) or "
                "set model.layers_per_node instead",
            ],
            id="duplicate-node",
        ),
        pytest.param(
            {
                "links": [["iot", "edge"], ["fog2", "fog1"], ["fog1", "cloud"]],
                "skips": [["edge", "fog1"]],  # only fog2 has no way in
            },
            ["exp.yaml: topology.nodes: node 'fog2' is unreachable from 'iot'"],
            id="unreachable-node",
        ),
        pytest.param(
            {"failable": ["fog1", "cloud"], "reliability": {"no_failure": [1.0, 1.0]}},
            [
                "exp.yaml: topology.failable[1]: 'cloud' is the input or output node, "
                "which never fails"
            ],
            id="output-node-failable",
        ),
    ],
)
def test_each_topology_mistake_gives_its_message(
    tmp_path: Path, changes: dict[str, Any], expected: list[str]
) -> None:
    assert error_lines(write(tmp_path, with_topology(**changes))) == expected


def test_a_missing_topology_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\ndataset:\n  name: digits\n")
    assert error_lines(path) == ["exp.yaml: topology: Field required"]


# -- files that are not a config at all --------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    assert error_lines(write(tmp_path, "  \n\n")) == ["exp.yaml: the file is empty"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert error_lines(path) == [f"{path}: no such file"]


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\ndataset:\n  name: digits\n bad: : x\n")
    assert error_lines(path) == [
        "exp.yaml: line 4, column 2: expected <block end>, but found '<block mapping start>'"
    ]


def test_unclosed_bracket_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\nvariants: [vanilla\n")
    assert error_lines(path) == [
        "exp.yaml: line 3, column 1: expected ',' or ']', but got '<stream end>'"
    ]


def test_python_tags_are_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = write(tmp_path, f'name: !!python/object/apply:os.system ["touch {marker}"]\n')
    lines = error_lines(path)
    assert lines == [
        "exp.yaml: line 1, column 7: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'"
    ]
    assert not marker.exists()


def test_read_yaml_refuses_python_tags_too(tmp_path: Path) -> None:
    path = write(tmp_path, '!!python/object/apply:os.system ["echo hi"]\n')
    with pytest.raises(ConfigError, match="could not determine a constructor"):
        read_yaml(path)


def test_top_level_list(tmp_path: Path) -> None:
    path = write(tmp_path, "- name: t\n- dataset: digits\n")
    assert error_lines(path) == ["exp.yaml: expected a mapping of keys at the top level"]


# -- --set overrides ---------------------------------------------------------------------------


def test_override_sets_an_int(config_dir: Path) -> None:
    config = load_config(write(config_dir, MINIMAL), ["train.epochs=5"])
    assert config.train.epochs == 5
    assert type(config.train.epochs) is int


def test_override_sets_a_float(config_dir: Path) -> None:
    config = load_config(write(config_dir, MINIMAL), ["train.failout.survival=0.7"])
    assert config.train.failout.survival == 0.7
    assert config.survival_per_node() == {"fog1": 0.7, "fog2": 0.7, "edge": 0.7}


def test_override_sets_a_list(config_dir: Path) -> None:
    config = load_config(write(config_dir, MINIMAL), ["variants=[resilinet,vanilla]"])
    assert config.variants == ["resilinet", "vanilla"]


def test_override_replaces_a_file_value_and_later_overrides_win(config_dir: Path) -> None:
    path = write(config_dir, MINIMAL + "train:\n  epochs: 30\n  batch_size: 64\n")
    config = load_config(path, ["train.epochs=5", "train.epochs=7"])
    assert config.train.epochs == 7
    assert config.train.batch_size == 64  # the sibling key is kept


def test_a_bad_override_is_blamed_on_the_set_not_the_file(config_dir: Path) -> None:
    path = write(config_dir, MINIMAL)
    assert error_lines(path, ("train.epochs=-1",)) == [
        "--set train.epochs=-1: Input should be greater than or equal to 0"
    ]


def test_an_unknown_key_in_a_set_suggests_the_known_one(config_dir: Path) -> None:
    [line] = error_lines(write(config_dir, MINIMAL), ("train.epoch=3",))
    expected = "--set train.epoch=3: unknown key 'epoch' (did you mean 'epochs'? known: epochs, "
    assert line.startswith(expected)


def test_a_set_below_an_unknown_section_names_the_section(config_dir: Path) -> None:
    [line] = error_lines(write(config_dir, MINIMAL), ("modle.alpha=1",))
    expected = "--set modle.alpha=1: modle: unknown key 'modle' (did you mean 'model'? known: "
    assert line.startswith(expected)


def test_a_semantic_problem_of_a_set_is_blamed_on_the_set(config_dir: Path) -> None:
    assert error_lines(write(config_dir, MINIMAL), ("model.partition=9",)) == [
        "--set model.partition=9: mlp has no partition setting 9 (known: 1, 2)"
    ]


def test_a_problem_of_the_file_is_still_blamed_on_the_file(config_dir: Path) -> None:
    path = write(config_dir, MINIMAL + "train:\n  epoch: 3\n")
    lines = error_lines(path, ("train.epochs=3",))
    assert len(lines) == 1 and lines[0].startswith("exp.yaml: train.epoch: unknown key 'epoch'")


def test_an_override_without_equals_sign(config_dir: Path) -> None:
    assert error_lines(write(config_dir, MINIMAL), ("no_equals_sign",)) == [
        "--set 'no_equals_sign': expected key=value, for example train.epochs=5"
    ]


def test_an_override_with_invalid_yaml_value(config_dir: Path) -> None:
    assert error_lines(write(config_dir, MINIMAL), ("variants=[vanilla",)) == [
        "--set 'variants=[vanilla': the value is not valid YAML"
    ]


def test_an_override_below_a_scalar(config_dir: Path) -> None:
    assert error_lines(write(config_dir, MINIMAL), ("name.x=1",)) == [
        "--set name.x=1: name is not a section, so name.x cannot be set"
    ]


def test_apply_override_creates_missing_sections() -> None:
    raw: dict[str, Any] = {"name": "t"}
    apply_override(raw, "dataset.subset.train=100")
    assert raw == {"name": "t", "dataset": {"subset": {"train": 100}}}


def test_smoke_caps_epochs_iterations_and_subsets(config_dir: Path) -> None:
    path = write(config_dir, MINIMAL + "iterations: 5\ntrain:\n  epochs: 30\n")
    config = load_config(path, smoke=True)
    assert config.train.epochs == 1
    assert config.iterations == 1
    assert config.smoke
    subset = config.dataset.subset
    assert (subset.train, subset.val, subset.test) == (512, 128, 256)


def test_smoke_leaves_what_the_user_sets_explicitly(config_dir: Path) -> None:
    path = write(config_dir, MINIMAL + "iterations: 5\ntrain:\n  epochs: 30\n")
    config = load_config(path, ["train.epochs=2", "dataset.subset.train=64"], smoke=True)
    assert config.train.epochs == 2
    assert config.dataset.subset.train == 64
    assert (config.iterations, config.dataset.subset.test) == (1, 256)  # still shrunk


def test_smoke_is_left_out_of_an_ordinary_configs_hash(config_dir: Path) -> None:
    config = load_config(write(config_dir, MINIMAL))
    assert "smoke" not in config.to_dict()
    assert load_config(write(config_dir, MINIMAL), smoke=True).to_dict()["smoke"] is True


# -- topology presets ----------------------------------------------------------------------------


def test_a_preset_is_found_in_the_package_from_any_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))  # no topologies/ folder next to it
    assert config.topology.failable == ["fog1", "fog2", "edge"]


def test_a_preset_next_to_the_config_wins_over_the_package(config_dir: Path) -> None:
    own = yaml.safe_load((config_dir / "topologies" / "health.yaml").read_text())
    own["reliability"] = {"only": [0.5, 0.5, 0.5]}
    (config_dir / "topologies" / "health.yaml").write_text(yaml.safe_dump(own))
    path = write(config_dir, MINIMAL + "train:\n  hyperconnection_weights:\n    setting: only\n")
    assert list(load_config(path).topology.reliability) == ["only"]


def test_a_set_names_a_preset_as_the_file_does(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), ["topology=cnn", "model.name=mobilenet"])
    assert config.topology.nodes == ["iot", "edge", "fog", "cloud"]


def test_a_set_naming_an_unknown_preset_lists_the_shipped_ones(tmp_path: Path) -> None:
    assert error_lines(write(tmp_path, MINIMAL), ("topology=cn",)) == [
        "--set topology=cn: unknown topology preset 'cn' (did you mean 'cnn'? "
        "known: cnn, grid4, health, health3)"
    ]


def test_without_smoke_there_are_no_subset_caps(config_dir: Path) -> None:
    subset = load_config(write(config_dir, MINIMAL)).dataset.subset
    assert (subset.train, subset.val, subset.test) == (None, None, None)


# -- digest and survival -----------------------------------------------------------------------


def resolved(config_dir: Path, *overrides: str) -> ExperimentConfig:
    return load_config(write(config_dir, MINIMAL), overrides)


def test_digest_is_stable(config_dir: Path) -> None:
    first = resolved(config_dir).digest()
    assert first == resolved(config_dir).digest()
    assert len(first) == 64 and int(first, 16) >= 0


def test_digest_changes_with_epochs(config_dir: Path) -> None:
    assert resolved(config_dir).digest() != resolved(config_dir, "train.epochs=7").digest()


def test_digest_ignores_where_the_data_lives(config_dir: Path) -> None:
    base = resolved(config_dir)
    moved = resolved(config_dir, "dataset.data_dir=/somewhere/else", "dataset.download=false")
    assert moved.dataset.data_dir == Path("/somewhere/else")
    assert moved.digest() == base.digest()


def test_digest_ignores_what_a_unit_asks_of_a_cluster_but_not_its_threads(
    config_dir: Path,
) -> None:
    """Resources say where a unit may run; threads change how its float sums are added."""
    from resilinet_cli.experiments.reuse import training_key
    from resilinet_cli.results.runs import Unit

    base = resolved(config_dir)
    packed = resolved(config_dir, "resources.num_gpus=0.25", "resources.num_cpus=2")
    assert (packed.resources.num_gpus, packed.resources.num_cpus) == (0.25, 2.0)
    assert packed.to_dict()["resources"] == {"num_cpus": 2.0, "num_gpus": 0.25}
    assert "resources" not in base.to_dict() and "threads" not in base.to_dict()["train"]
    unit = Unit("resilinet", 1, 7)
    assert packed.digest() == base.digest()
    assert training_key(packed, unit) == training_key(base, unit)
    threaded = resolved(config_dir, "train.threads=1")
    assert threaded.digest() != base.digest()
    assert training_key(threaded, unit) != training_key(base, unit)


def test_digest_of_a_revalidated_dict_is_the_same(config_dir: Path) -> None:
    config = resolved(config_dir)
    assert validate_config(config.to_dict(), "again.yaml").digest() == config.digest()


def test_survival_scalar_applies_to_every_failable_node(config_dir: Path) -> None:
    config = resolved(config_dir, "train.failout.survival=0.5")
    assert config.survival_per_node() == {"fog1": 0.5, "fog2": 0.5, "edge": 0.5}


def test_survival_mapping_defaults_unlisted_nodes_to_0_9(config_dir: Path) -> None:
    config = resolved(config_dir, "train.failout.survival={fog2: 0.6, edge: 1.0}")
    assert config.survival_per_node() == {"fog1": 0.9, "fog2": 0.6, "edge": 1.0}


def test_survival_default_is_0_9(config_dir: Path) -> None:
    assert resolved(config_dir).survival_per_node() == {"fog1": 0.9, "fog2": 0.9, "edge": 0.9}


def test_a_duplicated_known_name_is_listed_once() -> None:
    from resilinet_cli.errors import unknown_choice

    message = unknown_choice("node", "fog1", ["iot", "fog2", "fog2", "cloud"])
    assert message == "unknown node 'fog1' (did you mean 'fog2'? known: iot, fog2, cloud)"
