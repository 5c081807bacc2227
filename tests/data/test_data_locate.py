"""Lookup order (docs/architecture.md §5): --data-dir, $RESILINET_DATA, Keras cache, system dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from resilinet_cli.data.locate import cache_dir, cache_root, candidate_dirs, find_first
from resilinet_cli.errors import DataError


def test_cache_respects_keras_home(keras_home: Path) -> None:
    assert cache_root() == keras_home / "datasets"
    assert cache_dir("mhealth") == keras_home / "datasets" / "mhealth"


def test_cache_defaults_to_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    assert cache_root() == tmp_path / "me" / ".keras" / "datasets"


def test_order(tmp_path: Path, keras_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arg = tmp_path / "arg"
    arg.mkdir()
    monkeypatch.setenv("RESILINET_DATA", str(tmp_path / "env"))
    got = candidate_dirs("fashion-mnist", arg, [Path("/sys/x")])
    assert got == [
        arg,
        arg / "fashion-mnist",
        tmp_path / "env" / "fashion-mnist",
        keras_home / "datasets" / "fashion-mnist",
        Path("/sys/x"),
    ]
    assert candidate_dirs("m", None) == [tmp_path / "env" / "m", keras_home / "datasets" / "m"]


def test_find_first_skips_missing_and_incomplete(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "ok").touch()
    folders = [tmp_path / "a", tmp_path / "b", tmp_path / "c"]
    assert find_first(folders, lambda d: (d / "ok").exists()) == tmp_path / "c"
    assert find_first(folders[:2], lambda d: True) == tmp_path / "b"
    assert find_first(folders[:1], lambda d: True) is None


def test_data_dir_that_is_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"--data-dir .*typo is not a directory"):
        candidate_dirs("m", tmp_path / "typo")
