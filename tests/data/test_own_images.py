"""An image folder of the user's own (``dataset: {name: files, path: FOLDER}``, issue 29): real
PNG files that each test writes, read as file lists and streamed by training/inputs.py.

The ``test_run_`` tests start ``resilinet run`` (tests/tiers.py lists them as slow); the others
only read the folder, without TensorFlow.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from resilinet_cli.config import load_config
from resilinet_cli.data import load_splits
from resilinet_cli.data.splits import ImageFiles
from resilinet_cli.errors import DataError

CLASSES = ("cat", "dog", "owl")


def write_images(
    folder: Path,
    *,
    classes: Sequence[str] = CLASSES,
    count: int = 40,
    sizes: Sequence[int] = (8,),
    grey: bool = False,
    seed: int = 0,
) -> Path:
    """``count`` PNG files in a subfolder per class; class k is bright in channel k (plus noise),
    so a model can learn it. Image i is ``sizes[i % len(sizes)]`` pixels square."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            size = sizes[i % len(sizes)]
            pixels = np.zeros((size, size, 3))
            pixels[..., k % 3] = 200
            pixels = np.clip(pixels + rng.normal(0, 30, pixels.shape), 0, 255).astype(np.uint8)
            image = Image.fromarray(pixels)
            (image.convert("L") if grey else image).save(folder / name / f"{name}_{i:03d}.png")
    return folder


def write_split_folders(root: Path, **kwargs: object) -> Path:
    """``train/``, ``val/`` and ``test/`` folders of class folders (30, 6 and 6 per class)."""
    for split, count, seed in (("train", 30, 1), ("val", 6, 2), ("test", 6, 3)):
        write_images(root / split, count=count, seed=seed, **kwargs)  # type: ignore[arg-type]
    return root


def write_config(folder: Path, data: Path, *, model: str = "mlp", **dataset: object) -> Path:
    """A small Health-topology config on the image folder ``data``."""
    models = {
        "mlp": {"name": "mlp", "hidden_units": 16},
        "mobilenet": {"name": "mobilenet", "strides": "standard"},
    }
    raw = {
        "name": "own_images",
        "topology": "cnn" if model == "mobilenet" else "health",
        "dataset": {"name": "files", "path": str(data), **dataset},
        "model": models[model],
        "train": {"epochs": 1, "batch_size": 16},
        "iterations": 1,
        "seed": 0,
    }
    path = folder / f"{model}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run(config: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    from resilinet_cli.cli import main

    args = ["run", str(config), "--smoke", "--out", str(out), "--variants", "resilinet", *extra]
    result = CliRunner().invoke(main, args, prog_name="resilinet")
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- reading the folder (fast)


def test_image_files_hold_file_names_not_pixels(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", count=20)
    config = load_config(write_config(tmp_path, data))
    splits = load_splits(config.dataset)
    assert isinstance(splits, ImageFiles)
    lists = (splits.train_files, splits.val_files, splits.test_files)
    assert all(isinstance(name, str) for files in lists for name in files)
    arrays = [value for value in vars(splits).values() if isinstance(value, np.ndarray)]
    assert len(arrays) == 3 and all(a.ndim == 1 and a.dtype == np.int64 for a in arrays)  # labels
    assert sum(map(len, lists)) == 60  # the seeded 80/10/10 split of every image
    assert (len(splits.train_files), len(splits.val_files), len(splits.test_files)) == (48, 6, 6)
    assert splits.class_names == CLASSES
    assert splits.shape == (8, 8, 3) and not splits.resize
    for files, labels in ((splits.train_files, splits.y_train), (splits.test_files, splits.y_test)):
        assert [Path(f).parent.name for f in files] == [CLASSES[k] for k in labels]


def test_grey_images_give_one_channel_and_image_size_resizes(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", count=10, sizes=(8, 12), grey=True)
    config = load_config(write_config(tmp_path, data, image_size=10))
    splits = load_splits(config.dataset)
    assert isinstance(splits, ImageFiles)
    assert splits.shape == (10, 10, 1) and splits.resize
    config = load_config(write_config(tmp_path, data, image_size=10, channels=3))
    assert load_splits(config.dataset).shape == (10, 10, 3)  # type: ignore[union-attr]


def data_error(tmp_path: Path, data: Path, **dataset: object) -> str:
    config = load_config(write_config(tmp_path, data, **dataset))
    with pytest.raises(DataError) as info:
        load_splits(config.dataset)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_an_image_that_cannot_be_decoded_is_named(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", count=10)
    (data / "dog" / "x.png").write_bytes(b"not a png at all")
    message = data_error(tmp_path, data)
    assert message.startswith(f"{data / 'dog' / 'x.png'}: cannot be decoded as an image")


def test_images_of_different_sizes_need_image_size(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", count=10, sizes=(8, 12))
    message = data_error(tmp_path, data)
    assert "images differ in size (8x8" in message and "12x12" in message
    assert "dataset.image_size" in message


def test_fewer_than_two_class_folders(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", classes=("cat",), count=10)
    assert data_error(tmp_path, data) == f"{data}: 1 class folder(s); a classifier needs 2"


def test_classes_must_be_the_class_folders(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", count=10)
    message = data_error(tmp_path, data, classes=["cat", "dog", "cow"])
    assert "classes [cat, dog, cow] are not the class folders" in message
    assert "[cat, dog, owl]" in message


# ---------------------------------------------------------------- resilinet run (slow)


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One smoke run (ResiliNet only) on a class-folder layout, split 80/10/10 by the seed."""
    folder = tmp_path_factory.mktemp("own_images")
    data = write_images(folder / "pets")
    out = folder / "out"
    code, _, stderr = run(write_config(folder, data), out)
    assert code == 0, stderr
    return out


def assert_finished(out: Path) -> None:
    for table in ("weighted_accuracy.csv", "combinations.csv"):
        assert (out / "tables" / table).is_file()
    weighted = pd.read_csv(out / "tables" / "weighted_accuracy.csv")
    assert set(weighted["variant"]) == {"resilinet"}
    assert weighted["mean"].between(0, 1).all()


def test_run_on_class_folders(colour_run: Path) -> None:
    assert_finished(colour_run)
    config = load_config(colour_run / "config.yaml")
    splits = load_splits(config.dataset)  # the run's config names the same data
    assert isinstance(splits, ImageFiles) and splits.class_names == CLASSES
    assert len(splits.test_files) == 12
    record = json.loads((colour_run / "runs" / "resilinet" / "iter-1" / "run.json").read_text())
    assert record["data"]["format"] == "images" and record["data"]["classes"] == list(CLASSES)
    assert record["data"]["files"] == {"images": 120}
    report = (colour_run / "REPORT.md").read_text()
    assert f"your own image folder {splits.train_files[0].rsplit('/', 2)[0]}" in report
    assert f"{len(CLASSES)} classes (train/val/test): {CLASSES[0]} " in report


def test_run_on_train_val_test_folders_resized_grey(tmp_path: Path) -> None:
    data = write_split_folders(tmp_path / "pets", sizes=(8, 12), grey=True)
    out = tmp_path / "out"
    code, _, stderr = run(write_config(tmp_path, data, image_size=8), out)
    assert code == 0, stderr
    assert_finished(out)
    splits = load_splits(load_config(out / "config.yaml").dataset)
    assert isinstance(splits, ImageFiles) and splits.shape == (8, 8, 1) and splits.resize
    assert (len(splits.train_files), len(splits.val_files), len(splits.test_files)) == (90, 18, 18)
    unit = pd.read_csv(out / "runs" / "resilinet" / "iter-1" / "combinations.csv")
    assert len(unit) == 8  # the Health topology's 3 failable nodes


def test_run_sweep_equals_model_predict(colour_run: Path) -> None:
    """The sweep's all-alive accuracy is the model's plain accuracy on the same test split."""
    from resilinet_cli.results.model_files import load_model
    from resilinet_cli.sweeps.scoring import materialise
    from resilinet_cli.training.inputs import build_inputs

    config = load_config(colour_run / "config.yaml")
    unit = colour_run / "runs" / "resilinet" / "iter-1"
    model = load_model(unit / "model.keras")
    failable = len(config.topology.columns)
    inputs = build_inputs(load_splits(config.dataset), config, failable, config.seed)
    assert inputs.input_shape == (8, 8, 3) and inputs.num_classes == 3
    x, y = materialise(inputs.test)
    assert x.shape == (12, 8, 8, 3) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0  # scaled by 1/255
    alive = np.ones((len(x), failable), dtype=np.float32)
    predicted = model.predict([x, alive], verbose=0).argmax(axis=-1)
    combos = pd.read_csv(unit / "combinations.csv")
    all_alive = combos[(combos[["fog1", "fog2", "edge"]] == 1).all(axis=1)]["accuracy"].item()
    assert all_alive == pytest.approx(float(np.mean(predicted == y)), abs=1e-12)


def one_line_refusal(config: Path, out: Path) -> str:
    code, stdout, stderr = run(config, out)
    assert code == 2, stderr
    assert "training" not in stdout
    assert not out.exists()  # refused before any unit: no folder left
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_run_refuses_an_image_that_cannot_be_decoded(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", count=10)
    (data / "owl" / "x.png").write_bytes(b"\x00garbage")
    line = one_line_refusal(write_config(tmp_path, data), tmp_path / "out")
    assert f"{data / 'owl' / 'x.png'}: cannot be decoded as an image" in line


def test_run_refuses_images_of_different_sizes(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", count=10, sizes=(8, 12))
    line = one_line_refusal(write_config(tmp_path, data), tmp_path / "out")
    assert "images differ in size" in line


def test_run_refuses_one_class_folder(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", classes=("cat",), count=10)
    line = one_line_refusal(write_config(tmp_path, data), tmp_path / "out")
    assert "1 class folder(s); a classifier needs 2" in line


def test_run_refuses_classes_that_are_not_the_folders(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", count=10)
    config = write_config(tmp_path, data, classes=["cat", "dog"])
    line = one_line_refusal(config, tmp_path / "out")
    assert "classes [cat, dog] are not the class folders" in line


def test_run_refuses_a_model_that_cannot_take_the_image_size(tmp_path: Path) -> None:
    data = write_images(tmp_path / "pets", count=10, sizes=(12,))
    line = one_line_refusal(write_config(tmp_path, data, model="mobilenet"), tmp_path / "out")
    assert line.startswith(
        "error: dataset: examples of shape 12x12x3 do not fit model 'mobilenet': "
        "Computed output size would be zero or negative."
    ), line
    assert line.endswith("(set dataset.image_size, or choose another model)")
