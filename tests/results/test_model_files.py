"""Model files come from anywhere: nothing in one may run, and a bad one gives one clear line."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from run_helpers import bare_run

from resilinet_cli.cli import main
from resilinet_cli.errors import RunError
from resilinet_cli.results.model_files import load_model


def save_lambda_model(path: Path) -> Path:
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Lambda(lambda x: x * 2, name="double")]
    )
    model.save(path)
    return path


def test_a_model_with_a_lambda_layer_is_refused_before_keras_reads_it(tmp_path: Path) -> None:
    path = save_lambda_model(tmp_path / "model.keras")
    with pytest.raises(RunError) as error:
        load_model(path)
    assert str(error.value) == (
        f"{path}: refusing to load a model with a Lambda layer (double): it would run code "
        "stored in the file; resilinet models never contain one"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a Keras model file"),
        (b"\x80\x04\x95 a pickle, not a zip", "not a Keras model file"),
    ],
)
def test_a_file_that_is_not_a_keras_zip_is_refused(tmp_path: Path, content, message) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(RunError, match=message):
        load_model(path)


def test_a_damaged_model_file_gives_one_line(tmp_path: Path) -> None:
    good = tmp_path / "good.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(good)
    damaged = tmp_path / "model.keras"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(damaged, "w") as target:
        target.writestr("config.json", source.read("config.json"))  # weights left out
    with pytest.raises(RunError) as error:
        load_model(damaged)
    assert str(error.value).startswith(f"{damaged}: cannot load the model (")
    assert "\n" not in str(error.value)


def test_a_good_model_loads_with_its_weights(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(path)
    loaded = load_model(path)
    for saved, restored in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, restored)


def test_evaluate_refuses_a_lambda_model_with_exit_code_2(tmp_path: Path) -> None:
    run = bare_run(tmp_path, 4)
    save_lambda_model(run / "runs" / "resilinet" / "iter-1" / "model.keras")
    result = CliRunner().invoke(main, ["evaluate", str(run)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "refusing to load a model with a Lambda layer (double)" in result.stderr
    assert "Traceback" not in result.stderr


def readme_block(containing: str) -> str:
    """The README's Python code block that contains ``containing``, exactly as written."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    [block] = [b for b in blocks if containing in b]
    return block


def test_the_readme_load_model_example_runs_as_written(trained, tmp_path: Path) -> None:
    """A resilinet model (custom layers and all) loads in a fresh process after the import."""
    model, _ = trained["resilinet"]
    path = tmp_path / "results/quickstart/runs/resilinet/iter-1/model.keras"
    path.parent.mkdir(parents=True)
    model.save(path)
    code = readme_block("keras.models.load_model")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [model.name, str(model.count_params())]


def test_without_the_import_keras_cannot_load_the_layers(trained, tmp_path: Path) -> None:
    """The control: the registration above really comes from ``import resilinet_cli``."""
    model, _ = trained["resilinet"]
    model.save(tmp_path / "model.keras")
    code = "import keras; keras.models.load_model('model.keras', safe_mode=True)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "Could not locate class" in done.stderr
