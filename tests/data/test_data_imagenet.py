"""ImageNet from a user's train/ and val/ class-folder trees: checks, counts and streaming."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from resilinet_cli.data import FolderSplits, load_dataset
from resilinet_cli.data import imagenet as im
from resilinet_cli.errors import DataError

CLASSES = ("n01440764", "n01443537", "n01484850")
SUFFIXES = (".JPEG", ".jpg", ".png", ".Jpeg", ".PNG")


def _write_tree(root: Path, train: tuple, test: tuple, write: Callable[[Path, int], None]) -> Path:
    """train/ and val/ trees of CLASSES with that many images per class, written by
    `write(path, class_index)`; extensions and cases are mixed, image 1 of each class sits in a
    nested folder, and each class folder holds a README.txt that must be ignored."""
    for split, counts in (("train", train), ("val", test)):
        for c, (wnid, n) in enumerate(zip(CLASSES, counts, strict=True)):
            folder = root / split / wnid
            (folder / "nested").mkdir(parents=True, exist_ok=True)
            (folder / "README.txt").write_text("not an image")
            for i in range(n):
                sub = folder / "nested" if i == 1 else folder
                write(sub / f"{wnid}_{i}{SUFFIXES[i % len(SUFFIXES)]}", c)
    return root


@pytest.fixture
def make_tree() -> Callable[..., Path]:
    """make_tree(root, train=(3, 2, 4), test=(2, 1, 2)): empty image files (never decoded)."""

    def make(root: Path, train: tuple = (3, 2, 4), test: tuple = (2, 1, 2)) -> Path:
        return _write_tree(root, train, test, lambda path, c: path.write_bytes(b""))

    return make


def test_scan_names_counts_and_dirs(tmp_path: Path, make_tree: Callable[..., Path]) -> None:
    root = make_tree(tmp_path / "imagenet")
    (root / "train" / ".hidden").mkdir()  # not a class (Keras skips it too)
    s = load_dataset("ImageNet", data_dir=root)
    assert isinstance(s, FolderSplits) and s.name == "imagenet"
    assert s.class_names == CLASSES and s.num_classes == 3
    assert s.train_dir == root / "train" and s.test_dir == root / "val" and s.val_dir is None
    assert s.train_counts == (3, 2, 4) and s.test_counts == (2, 1, 2)
    assert s.image_size == 160


def test_dataset_subfolder_env_and_cache(
    tmp_path: Path,
    keras_home: Path,
    make_tree: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_tree(tmp_path / "arg" / "imagenet")
    assert load_dataset("imagenet", data_dir=tmp_path / "arg").train_dir == (
        tmp_path / "arg" / "imagenet" / "train"
    )
    make_tree(keras_home / "datasets" / "imagenet", train=(1, 1, 1), test=(1, 1, 1))
    assert load_dataset("imagenet").train_counts == (1, 1, 1)
    make_tree(tmp_path / "env" / "imagenet", train=(2, 2, 2))
    monkeypatch.setenv("RESILINET_DATA", str(tmp_path / "env"))
    assert load_dataset("imagenet").train_counts == (2, 2, 2)  # before the cache


def _msg(root: Path, **kwargs: object) -> str:
    with pytest.raises(DataError) as info:
        load_dataset("imagenet", data_dir=root, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_missing_everywhere_gives_manual_instructions(tmp_path: Path, keras_home: Path) -> None:
    (tmp_path / "empty").mkdir()
    for download in (True, False):  # it can never be downloaded
        msg = _msg(tmp_path / "empty", download=download)
        assert msg.startswith("ImageNet not found (looked in: ")
        assert "cannot be downloaded automatically" in msg and "https://image-net.org" in msg
        assert "ILSVRC2012_img_train.tar" in msg and "ILSVRC2012_img_val.tar" in msg
        assert "<root>/train/<wnid>/ and <root>/val/<wnid>/" in msg
        assert "--data-dir, $RESILINET_DATA/imagenet or " in msg
        assert str(keras_home / "datasets" / "imagenet") in msg
    assert "ILSVRC2012_validation_ground_truth.txt" in (im.__doc__ or "")


@pytest.mark.parametrize("gone", ["train", "val"])
def test_missing_split_folder(tmp_path: Path, make_tree: Callable[..., Path], gone: str) -> None:
    root = make_tree(tmp_path / "in")
    shutil.rmtree(root / gone)
    msg = _msg(root)
    assert msg.startswith(f"ImageNet in {root} is incomplete: no {gone}/ folder; ")


def test_train_without_class_folders(tmp_path: Path) -> None:
    root = tmp_path / "in"
    (root / "train").mkdir(parents=True)
    (root / "train" / "a.JPEG").write_bytes(b"")
    (root / "val").mkdir()
    assert _msg(root).startswith(f"{root / 'train'}: no class subfolders")


def test_flat_val_folder_is_explained(tmp_path: Path, make_tree: Callable[..., Path]) -> None:
    root = make_tree(tmp_path / "in")
    shutil.rmtree(root / "val")
    (root / "val").mkdir()
    (root / "val" / "ILSVRC2012_val_00000001.JPEG").write_bytes(b"")
    msg = _msg(root)
    assert msg.startswith(f"{root / 'val'}: no class subfolders; the ILSVRC2012 val images")
    assert "3 class folders of train/" in msg


@pytest.mark.parametrize("split", ["train", "val"])
def test_class_without_images(tmp_path: Path, make_tree: Callable[..., Path], split: str) -> None:
    counts = (2, 0, 1)
    root = make_tree(tmp_path / "in", **{"train" if split == "train" else "test": counts})
    msg = _msg(root)
    assert msg.startswith(f"{root / split / CLASSES[1]}: class folder holds no .jpeg/.jpg/.png")


def test_val_classes_must_be_train_classes(tmp_path: Path, make_tree: Callable[..., Path]) -> None:
    root = make_tree(tmp_path / "in")
    (root / "val" / CLASSES[2]).rename(root / "val" / "n99999999")
    msg = _msg(root)
    assert msg.startswith(f"{root / 'val'}: its class folders are not those of {root / 'train'} ")
    assert f"missing {CLASSES[2]}; not in train/: n99999999" in msg


def test_many_empty_classes_are_summarised(tmp_path: Path) -> None:
    root = tmp_path / "in"
    for split in ("train", "val"):
        for i in range(9):
            (root / split / f"n{i:08d}").mkdir(parents=True)
    msg = _msg(root)
    assert re.search(
        r"n00000000: class folder holds no .* \(nor do n00000001, .* and 3 more\)", msg
    )


# --- streaming the tree the way the training code does (real JPEG and PNG files) ---

COLOURS = np.array([[220, 30, 30], [30, 220, 30], [30, 30, 220]], dtype=np.uint8)


def test_stream_with_keras_matches_counts_and_labels(tmp_path: Path) -> None:
    """Each class is one solid colour; the label Keras gives must be that colour's class."""
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")

    def write(path: Path, c: int) -> None:
        h, w = (20, 28) if path.stem.endswith("0") else (37, 23)  # sizes differ: resized
        pixels = tf.constant(np.broadcast_to(COLOURS[c], (h, w, 3)).copy())
        encode = tf.io.encode_png if path.suffix.lower() == ".png" else tf.io.encode_jpeg
        path.write_bytes(encode(pixels).numpy())

    root = _write_tree(tmp_path / "imagenet", (3, 2, 3), (2, 1, 2), write)
    s = load_dataset("imagenet", data_dir=root)
    assert s.train_counts == (3, 2, 3)

    def stream(folder: Path, batch_size: int) -> tuple[list, np.ndarray, np.ndarray]:
        data = keras.utils.image_dataset_from_directory(
            folder,
            labels="inferred",
            label_mode="int",
            class_names=list(s.class_names),
            image_size=(s.image_size, s.image_size),
            batch_size=batch_size,
            shuffle=False,
            verbose=False,
        )
        shapes, means, labels = [], [], []
        for x, y in data:
            shapes.append(tuple(x.shape))
            means.append(np.asarray(x).mean(axis=(1, 2)))
            labels.append(np.asarray(y))
        return shapes, np.concatenate(means), np.concatenate(labels)

    shapes, means, labels = stream(s.train_dir, 4)
    assert shapes == [(4, 160, 160, 3), (4, 160, 160, 3)]  # 8 images, every one was counted
    np.testing.assert_array_equal(np.bincount(labels, minlength=3), s.train_counts)
    np.testing.assert_array_equal(means.argmax(axis=1), labels)  # colour of class i ↔ label i
    np.testing.assert_allclose(means, COLOURS[labels], atol=4)  # decoded, resized, not rescaled
    _, _, test_labels = stream(s.test_dir, 4)
    np.testing.assert_array_equal(np.bincount(test_labels, minlength=3), s.test_counts)
