"""Image experiments end to end: a streamed ImageNet-style folder tree, and mixed precision."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from click.testing import CliRunner
from paths import CONFIGS

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.experiments.unit import precision
from resilinet_cli.models.builder import build_from_config

COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))


def write_tree(root: Path, per_class: int) -> None:
    """train/ and val/ with three classes of solid-colour JPEGs."""
    for split in ("train", "val"):
        for c, colour in enumerate(COLOURS):
            folder = root / split / f"n0{c}"
            folder.mkdir(parents=True)
            for i in range(per_class):
                image = np.full((24, 24, 3), colour, np.uint8)
                data = tf.io.encode_jpeg(tf.constant(image)).numpy()
                (folder / f"img_{i}.JPEG").write_bytes(data)


def test_imagenet_config_streams_a_folder_tree_end_to_end(tmp_path: Path) -> None:
    write_tree(tmp_path / "imagenet", per_class=4)
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(CONFIGS / "imagenet_mobilenet.yaml"),
            "--out",
            str(out),
            "--data-dir",
            str(tmp_path / "imagenet"),
            "--variants",
            "resilinet",
            "--set",
            "train.epochs=1",
            "--set",
            "train.batch_size=6",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    unit = out / "runs" / "resilinet" / "iter-1"
    model = keras.models.load_model(unit / "model.keras", safe_mode=True)
    assert model.input_shape[0] == (None, 160, 160, 3) and model.output_shape == (None, 3)
    combos = pd.read_csv(unit / "combinations.csv")
    assert combos["information_flow"].tolist() == [False, True, True, True]
    # No flow: the guess expectation over three balanced classes.
    assert combos["accuracy"].iloc[0] == pytest.approx(1 / 3, abs=1e-12)
    history = pd.read_csv(unit / "history.csv")
    assert "val_accuracy" not in history  # no validation set: the last weights are kept


def test_mixed_precision_computes_in_float16_and_outputs_float32() -> None:
    config = load_config(CONFIGS / "quickstart.yaml", ["train.mixed_precision=true"])
    with precision(config.train.mixed_precision):
        model, _ = build_from_config(config, "resilinet", input_shape=(64,), num_classes=10, seed=0)
    assert keras.config.dtype_policy().name == "float32"  # restored afterwards
    assert model.get_layer("edge_output_layer").compute_dtype == "float16"
    out = model([np.ones((2, 64), "float32"), np.ones((2, 3), "float32")])
    assert out.dtype == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out).sum(axis=1), 1.0, atol=1e-3)


def test_augmentation_runs_on_the_fly_for_training_only() -> None:
    from cnn_helpers import cnn_config

    from resilinet_cli.data import Splits
    from resilinet_cli.training.inputs import build_inputs

    rng = np.random.default_rng(0)
    images = rng.random((8, 28, 28, 1)).astype("float32")
    labels = np.arange(8) % 3
    splits = Splits("toy", images, labels, images, labels, images, labels, num_classes=3)
    config = cnn_config(
        {"name": "mobilenet"}, {"image_size": 32, "channels": 3}, augment=True, batch_size=8
    )
    inputs = build_inputs(splits, config, failable=2, seed=0)
    assert inputs.input_shape == (32, 32, 3)
    padded = tf.image.resize_with_crop_or_pad(images, 32, 32).numpy().repeat(3, axis=-1)
    epochs = [next(iter(inputs.train_epoch(e)))[0][0].numpy() for e in range(2)]
    for batch in epochs:
        assert batch.shape == (8, 32, 32, 3) and batch.min() >= 0.0 and batch.max() <= 1.0
        for image in batch:  # no training image comes out untouched
            assert min(np.abs(image - raw).mean() for raw in padded) > 1e-3
    assert np.abs(epochs[0] - epochs[1]).mean() > 1e-3  # fresh draws every epoch
    again = next(iter(inputs.train_epoch(1)))[0][0].numpy()
    np.testing.assert_array_equal(again, epochs[1])  # the same draws for the same epoch
    test = np.stack([x.numpy() for x, _ in inputs.test])
    np.testing.assert_array_equal(test, padded)  # evaluation sees the images as they are
