"""The keras family's keys are checked with the rest of the config, before TensorFlow loads."""

from __future__ import annotations

import pytest
from paths import TOPOLOGIES

from resilinet_cli.config import read_yaml, validate_config
from resilinet_cli.errors import ConfigError

CUT = {"iot": "a", "edge": "b", "fog": "c"}


def config(**model: object) -> object:
    raw = {"name": "t", "topology": read_yaml(TOPOLOGIES / "cnn.yaml"),
           "dataset": {"name": "fashion_mnist"}, "model": {"name": "keras", **model}}  # fmt: skip
    return validate_config(raw, "t.yaml")


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({"cut": CUT}, "t.yaml: model.source: give exactly one of model.source"),
        ({"source": "keras.applications.X", "path": "m.keras", "cut": CUT}, "exactly one"),
        ({"source": "os.system", "cut": CUT}, "neither keras.applications.<Name> nor module:f"),
        ({"path": "model.h5", "cut": CUT}, "model.path: model.h5: expected a .keras file"),
        ({"source": "keras.applications.X", "weights": "w.txt", "cut": CUT},
         "model.weights: w.txt: expected a .keras or .weights.h5 file"),
        ({"source": "keras.applications.X"}, "model.cut: name the last layer of each node but "
                                             "the output node: iot, edge, fog"),
        ({"source": "keras.applications.X", "cut": {"iot": "a", "edge": "b"}},
         "model.cut: missing nodes: fog (the output node takes the rest)"),
        ({"source": "keras.applications.X", "cut": {**CUT, "clod": "d"}},
         "model.cut.clod: unknown node 'clod'"),
        ({"source": "keras.applications.X", "cut": [CUT], "partition": 2},
         "model.partition: partition 2 picks none of model.cut's 1 mappings"),
        ({"source": "keras.applications.X", "cut": CUT, "alpha": 0.5},
         "model.alpha: does not apply to model 'keras'"),
    ],
)  # fmt: skip
def test_bad_keras_keys(model: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config(**model)
    assert expected in str(error.value)


def test_cut_settings_are_partitions_and_key_order_does_not_matter() -> None:
    other = {"fog": "z", "iot": "x", "edge": "y"}
    loaded = config(source="keras.applications.MobileNetV2", cut=[CUT, other], partition=2)
    assert loaded.model.cut[1] == other
    assert set(loaded.to_dict()["model"]) == {
        "name", "partition", "source", "path", "args", "cut", "weights", "layer_config"
    }  # fmt: skip
