"""Bad fan-in topologies (docs/sensors.md): one line naming the file (or override) and key,
exit code 2, before anything trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_helpers import invoke, one_line_error


def config_file(tmp_path: Path, dataset: str, topology: object, model: str = "mlp") -> str:
    extra = {"alpha": 0.25} if model == "mobilenet" else {}
    raw = {"name": "s", "dataset": {"name": dataset}, "topology": topology,
           "model": {"name": model, **extra}}  # fmt: skip
    path = tmp_path / "sensors.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


HEALTH3 = "health3"


@pytest.mark.parametrize(
    ("dataset", "setting", "expected"),
    [
        ("digits", "topology.inputs={a: [0, 99], b: [1]}",
         "topology.inputs.a[1]: column 99 is out of range "
         "(the data has 64 feature columns: 0..63)"),
        ("mhealth", "topology.inputs={chest: [chest_acc_q], wrist: [wrist_*]}",
         "topology.inputs.chest[0]: unknown column 'chest_acc_q' (did you mean 'chest_acc_z'?"),
        ("digits", "topology.inputs={a: [0, 1], b: [1]}",
         "topology.inputs.b[0]: column 1 belongs to device 'a' already (set topology.overlap: "
         "true to let devices share columns)"),
        ("digits", "topology.aggregate=mux",
         "'mux' is a merge of the variants, where skips arrive; the hub aggregates its devices "
         "by concat, max, mean"),
        ("digits", "topology.aggregate=sum", "unknown aggregate 'sum' (known: concat, max, mean)"),
    ],
)  # fmt: skip
def test_bad_columns_and_aggregates(tmp_path, dataset, setting, expected):
    path = config_file(tmp_path, dataset, HEALTH3)
    message = one_line_error(*invoke("run", path, "--dry-run", "--set", setting))
    assert message.startswith(f"--set {setting}: "), message
    assert expected in message


def test_overlapping_columns_are_allowed_when_asked(tmp_path):
    path = config_file(tmp_path, "digits", HEALTH3)
    setting = "topology.inputs={a: [0, 1], b: [1, 2]}"
    code, _, stderr = invoke("run", path, "--dry-run", "--set", setting, "topology.overlap=true")
    assert code == 0, stderr


def test_a_grid_that_does_not_divide_the_image(tmp_path):
    path = config_file(tmp_path, "fashion_mnist", "grid4", "mobilenet")
    setting = "topology.views={grid: [3, 3]}"
    message = one_line_error(*invoke("run", path, "--dry-run", "--set", setting))
    assert message == (
        f"--set {setting}: topology.views.grid: 3 does not divide the image height 28 (images "
        "are 28x28); choose a grid that does, or give boxes"
    )


def test_a_device_with_no_path_to_the_cloud_names_the_file(tmp_path):
    topology = yaml.safe_load(
        (Path(__file__).parents[2] / "resilinet_cli/config/topologies/health3.yaml").read_text()
    )
    topology["links"] = [["hub", "edge"], ["edge", "fog2"], ["fog2", "fog1"], ["fog1", "cloud"]]
    topology["skips"] = []
    topology["links"][-1] = ["hub", "fog1"]  # nothing reaches the cloud
    path = config_file(tmp_path, "digits", topology)
    code, _, stderr = invoke("run", path, "--dry-run")
    assert code == 2 and "Traceback" not in stderr
    assert (
        "sensors.yaml: topology.inputs: devices 'chest', 'wrist', 'ankle' have no path to the "
        "output node 'cloud'"
    ) in stderr


def test_a_network_of_ones_own_refuses_devices(tmp_path):
    raw = {"name": "s", "dataset": {"name": "digits"}, "topology": HEALTH3,
           "model": {"name": "keras", "source": "keras.applications.MobileNet",
                     "cut": {"iot": "a", "edge": "b", "fog2": "c", "fog1": "d"}}}  # fmt: skip
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    message = one_line_error(*invoke("run", str(path), "--dry-run"))
    assert message == (
        "own.yaml: topology.inputs: model 'keras' (a network of your own) takes one input: "
        "fan-in topologies need model mlp or mobilenet"
    )


def test_resnet_refuses_devices(tmp_path):
    path = config_file(tmp_path, "fashion_mnist", "grid4", "resnet18")
    message = one_line_error(*invoke("run", path, "--dry-run"))
    assert message.startswith("sensors.yaml: topology.views: model 'resnet18' cannot build input ")


def test_a_device_takes_no_standby_replica(tmp_path):
    path = config_file(tmp_path, "digits", HEALTH3)
    technique = "+techniques={x: {base: resilinet, replicas: {chest: 2}}}"
    message = one_line_error(*invoke("run", path, "--dry-run", "--set", technique,
                                     "--set", "variants=[x]"))  # fmt: skip
    assert message.endswith(
        "techniques.x.replicas.chest: 'chest' is an input device, which has no standby replicas"
    )
