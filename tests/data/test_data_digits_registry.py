"""scikit-learn digits (no files, no network) and the dataset registry."""

from __future__ import annotations

import numpy as np
import pytest

from resilinet_cli.data import DATASETS, LOADERS, Splits, load_dataset, resolve_name
from resilinet_cli.errors import DataError


def test_digits_shapes_values_and_classes() -> None:
    s = load_dataset("digits")
    assert isinstance(s, Splits) and s.name == "digits" and s.num_classes == 10
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (1437, 180, 180)
    x = np.concatenate([s.x_train, s.x_val, s.x_test])
    y = np.concatenate([s.y_train, s.y_val, s.y_test])
    assert x.shape == (1797, 64) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.unique(x * 16), np.arange(17))  # pixels 0..16, / 16
    assert sorted(np.unique(y).tolist()) == list(range(10))
    assert len(y) == 1797 and np.bincount(y).sum() == 1797


def test_digits_split_seed_changes_the_split() -> None:
    a = load_dataset("digits", split_seed=1)
    b = load_dataset("digits", split_seed=2)
    assert not np.array_equal(a.x_train, b.x_train)


def test_registry_names() -> None:
    assert DATASETS == ("cifar10", "digits", "fashion_mnist", "imagenet", "mhealth")
    assert set(LOADERS) == set(DATASETS)
    assert resolve_name("Fashion-MNIST") == "fashion_mnist"
    assert resolve_name("fashionmnist") == "fashion_mnist"
    assert resolve_name(" MHEALTH ") == "mhealth"
    assert resolve_name("CIFAR-10") == resolve_name("cifar_10") == "cifar10"
    assert resolve_name("ImageNet") == "imagenet"


def test_unknown_name_lists_known_and_suggests() -> None:
    with pytest.raises(DataError) as info:
        load_dataset("fashon_mnist")
    msg = str(info.value)
    assert "\n" not in msg
    assert "unknown dataset 'fashon_mnist'" in msg
    assert "known: cifar10, digits, fashion_mnist, imagenet, mhealth)" in msg
    assert "did you mean 'fashion_mnist'" in msg


def test_unknown_name_without_close_match() -> None:
    with pytest.raises(DataError, match="known: ") as info:
        load_dataset("places-365-xyz")
    assert "did you mean" not in str(info.value)
