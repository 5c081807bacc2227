"""``resilinet measure`` (search/measure.py): each node timed here, scaled per device class,
written as a costs: section whose every figure says where it came from."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import pytest
from click.testing import CliRunner

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.errors import ConfigError
from resilinet_cli.search.cost_model import CostModel
from resilinet_cli.search.measure import DEFAULT_SCALES, device_class, parse_scales

SOURCE = re.compile(
    r"measured by resilinet measure on .+, \d+ cores, \d{4}-\d\d-\d\d: "
    r"(?P<here>[0-9.e+]+) FLOP/s(?P<all> \(all nodes together: \w+ computes nothing\))? "
    r"x (?P<scale>[0-9.]+) \((?P<kind>\w+) scale\)"
)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small network over the Health topology; the IoT node sends its raw input."""
    folder = tmp_path_factory.mktemp("measure")
    inputs = keras.Input((12,), name="x")
    x = inputs
    for k in range(4):
        x = keras.layers.Dense(64, activation="relu", name=f"d{k}")(x)
    outputs = keras.layers.Dense(5, activation="softmax", name="out")(x)
    keras.Model(inputs, outputs).save(folder / "mlp.keras")
    path = folder / "mlp.yaml"
    path.write_text(
        "name: mlp\ntopology: health\ndataset: {name: digits}\n"
        f"model: {{name: keras, path: {folder / 'mlp.keras'}, "
        "cut: {iot: x, edge: d0, fog2: d1, fog1: d2}}\n"
        "costs: {links: {iot->edge: {bandwidth: 1.0e6, latency_ms: 3, source: our Wi-Fi}}}\n"
    )
    return path


def test_device_classes() -> None:
    assert [device_class(d) for d in ("iot", "edge_r2", "fog1", "fog12", "cloud")] == [
        "iot", "edge", "fog", "fog", "cloud"
    ]  # fmt: skip


def test_scales_default_and_overridden() -> None:
    assert parse_scales([], ["iot", "edge", "fog", "cloud"]) == DEFAULT_SCALES
    assert parse_scales(["iot=0.5"], ["iot", "cloud"]) == {"iot": 0.5, "cloud": 1.0}


@pytest.mark.parametrize(
    ("texts", "classes", "expected"),
    [
        (["clod=1"], ["iot", "cloud"], "--scale clod=1: unknown device class 'clod' (did you "
         "mean 'cloud'?"),
        (["iot"], ["iot"], "--scale iot: unknown device class 'iot'"),
        (["iot=0"], ["iot"], "--scale iot=0: FACTOR must be a number above 0"),
        (["iot=x"], ["iot"], "--scale iot=x: FACTOR must be a number above 0"),
        (["iot=inf"], ["iot"], "--scale iot=inf: FACTOR must be a number above 0"),
        ([], ["iot", "rack"], "--scale: no default factor for device class rack; give one"),
    ],
)  # fmt: skip
def test_bad_scales_are_one_line(texts: list[str], classes: list[str], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_scales(texts, classes)
    assert str(error.value).startswith(expected) and "\n" not in str(error.value)


def test_measure_writes_a_costs_section_with_every_source(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "costs.yaml"
    code, stdout, _ = invoke("measure", str(config), "--out", str(out), "--repeats", "3",
                             "--scale", "fog=0.25")  # fmt: skip
    assert code == 0
    assert "iot 0.02, edge 0.1, fog 0.25, cloud 1" in stdout and f"Wrote {out}" in stdout
    loaded = load_config(config)
    model = CostModel.from_file(out, loaded)
    assert set(model.devices) == {"iot", "edge", "fog2", "fog1", "cloud"}
    for device, figure in model.devices.items():
        found = SOURCE.fullmatch(figure.source)
        assert found, figure.source
        assert found["kind"] == device_class(device)
        assert float(found["scale"]) == {"fog": 0.25}.get(
            found["kind"], DEFAULT_SCALES[found["kind"]]
        )
        assert figure.flops_per_second == pytest.approx(
            float(found["here"]) * float(found["scale"]), rel=1e-3
        )
        assert (found["all"] is not None) == (device == "iot")  # it only sends its input
    assert model.links["iot->edge"].source == "our Wi-Fi"  # the config's figure, copied
    assert model.links["iot->edge"].bandwidth == 1.0e6
    assert model.links["fog2->cloud"].source.startswith("assumed by resilinet measure: ")
    assert set(model.links) == {
        "iot->edge", "edge->fog2", "fog2->fog1", "fog1->cloud",
        "iot->fog2", "edge->fog1", "fog2->cloud",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--scale", "rack=2"], "error: --scale rack=2: unknown device class 'rack'"),
        (["--scale", "iot=-1"], "error: --scale iot=-1: FACTOR must be a number above 0"),
        (["--variant", "resilient"], "error: --variant: unknown variant of this config "
         "'resilient' (did you mean 'resilinet'?"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(config: Path, args: list[str], expected: str) -> None:
    code, _, stderr = invoke("measure", str(config), *args)
    assert code == 2
    assert stderr.startswith(expected) and stderr.count("\n") == 1


def test_a_costs_file_with_other_keys_or_unknown_links_is_refused(
    config: Path, tmp_path: Path
) -> None:
    loaded = load_config(config)
    path = tmp_path / "c.yaml"
    path.write_text("costs: {}\nsearch: {}\n")
    with pytest.raises(ConfigError, match=r"^c\.yaml: expected one top-level key costs:"):
        CostModel.from_file(path, loaded)
    path.write_text("costs: {links: {iot->clod: {bandwidth: 1, latency_ms: 1}}}\n")
    with pytest.raises(ConfigError, match=r"^c\.yaml: costs\.links\.iot->clod: unknown link"):
        CostModel.from_file(path, loaded)
