"""MHEALTH from subject logs in the real format, and its download from a file:// zip."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from resilinet_cli.data import load_dataset
from resilinet_cli.data import mhealth as mh
from resilinet_cli.errors import DataError

Expected = tuple[np.ndarray, np.ndarray]


def _sorted_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    rows = np.column_stack([x, y.astype(np.float32)])
    return rows[np.argsort(rows[:, 0])]


def test_read_logs_drops_label_0_keeps_floats_and_order(
    tmp_path: Path, make_mhealth: Callable[..., Path], mhealth_expected: Expected
) -> None:
    x, y = mh.read_logs(make_mhealth(tmp_path / "logs"))
    ex, ey = mhealth_expected
    assert x.shape == (360, 23) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x, ex)  # subject 1 first, subject 10 last, no truncation
    np.testing.assert_array_equal(y, ey)
    assert 0 not in y and sorted(np.unique(y).tolist()) == list(range(1, 13))
    assert x[0, 0] == np.float32(1001.25)  # first row of subject 1 had label 0: dropped
    assert (x != np.trunc(x)).any()  # values are not truncated to integers


def test_load_dataset_splits(
    tmp_path: Path, make_mhealth: Callable[..., Path], mhealth_expected: Expected
) -> None:
    s = load_dataset("mhealth", data_dir=make_mhealth(tmp_path / "logs"), download=False)
    assert s.name == "mhealth" and s.num_classes == 13
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (288, 36, 36)
    assert s.x_train.shape[1] == 23
    x = np.concatenate([s.x_train, s.x_val, s.x_test])
    y = np.concatenate([s.y_train, s.y_val, s.y_test])
    np.testing.assert_array_equal(_sorted_rows(x, y), _sorted_rows(*mhealth_expected))


def test_official_zip_layout_and_subfolders(
    tmp_path: Path, make_mhealth: Callable[..., Path]
) -> None:
    make_mhealth(tmp_path / "root" / "mhealth" / "MHEALTHDATASET")
    s = load_dataset("mhealth", data_dir=tmp_path / "root", download=False)
    assert len(s.y_train) == 288


def test_env_var_lookup(
    tmp_path: Path, make_mhealth: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_mhealth(tmp_path / "env" / "mhealth")
    monkeypatch.setenv("RESILINET_DATA", str(tmp_path / "env"))
    assert len(load_dataset("mhealth", download=False).y_test) == 36


def _corrupt(folder: Path, subject: int, line: int, fields: list[str]) -> Path:
    path = folder / f"mHealth_subject{subject}.log"
    lines = path.read_text().splitlines()
    lines[line - 1] = "\t".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (["1.5"] * 22 + ["3"], "expected 24 numeric columns, got 23"),
        (["1.5"] * 24 + ["3"], "expected 24 numeric columns, got 25"),
        (["1.5"] * 10 + ["abc"] + ["1.5"] * 12 + ["3"], "non-numeric field 'abc'"),
        (["1.5"] * 23 + ["13"], "activity label '13' is not an integer in 0..12"),
        (["1.5"] * 23 + ["2.5"], "activity label '2.5' is not an integer in 0..12"),
        (["nan"] + ["1.5"] * 22 + ["3"], "non-finite value 'nan'"),
    ],
)
def test_bad_line_is_named(
    tmp_path: Path, make_mhealth: Callable[..., Path], fields: list[str], expected: str
) -> None:
    folder = make_mhealth(tmp_path / "logs")
    path = _corrupt(folder, subject=3, line=5, fields=fields)
    with pytest.raises(DataError) as info:
        load_dataset("mhealth", data_dir=folder)
    msg = str(info.value)
    assert msg.startswith(f"{path}:5: {expected}")
    assert "mHealth_subject3.log:5:" in msg and "\n" not in msg
    assert mh.URLS[0] in msg  # says where to get a good copy


def test_bad_first_line_is_named(tmp_path: Path, make_mhealth: Callable[..., Path]) -> None:
    folder = make_mhealth(tmp_path / "logs")
    path = _corrupt(folder, subject=10, line=1, fields=["1"] * 23)
    with pytest.raises(
        DataError, match=f"^{re.escape(str(path))}:1: expected 24 numeric columns, got 23"
    ):
        mh.read_logs(folder)


def test_blank_lines_are_skipped_and_line_numbers_stay_exact(
    tmp_path: Path, make_mhealth: Callable[..., Path]
) -> None:
    folder = make_mhealth(tmp_path / "logs")
    path = folder / "mHealth_subject2.log"
    lines = path.read_text().splitlines()
    lines[2] = "abc " + lines[2]
    path.write_text("\n".join(["", *lines, "", ""]))  # line 1 is blank now
    with pytest.raises(
        DataError, match=f"^{re.escape(str(path))}:4: expected 24 numeric columns, got 25"
    ):
        mh.read_logs(folder)


def test_empty_file(tmp_path: Path, make_mhealth: Callable[..., Path]) -> None:
    folder = make_mhealth(tmp_path / "logs")
    (folder / "mHealth_subject4.log").write_text("")
    with pytest.raises(DataError, match=r"mHealth_subject4\.log: file is empty"):
        mh.read_logs(folder)


def test_missing_subject_files_are_named(tmp_path: Path, make_mhealth: Callable[..., Path]) -> None:
    folder = make_mhealth(tmp_path / "logs")
    (folder / "mHealth_subject7.log").unlink()
    (folder / "mHealth_subject10.log").unlink()
    with pytest.raises(DataError) as info:
        load_dataset("mhealth", data_dir=folder)
    msg = str(info.value)
    assert "incomplete: missing mHealth_subject7.log, mHealth_subject10.log" in msg
    assert str(folder) in msg and "\n" not in msg


def test_missing_offline_is_one_line(keras_home: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("mhealth", download=False)
    msg = str(info.value)
    cache = keras_home / "datasets" / "mhealth"
    assert msg.startswith("MHEALTH not found (looked in: ") and "\n" not in msg
    assert f"download {mh.URLS[0]} and unzip it into {cache}, or pass --data-dir" in msg


def test_data_dir_must_exist(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a directory"):
        load_dataset("mhealth", data_dir=tmp_path / "typo")


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name != "MHEALTHDATASET")


def test_download_end_to_end_from_file_zip(
    tmp_path: Path,
    keras_home: Path,
    make_mhealth_zip: Callable[..., Path],
    mhealth_expected: Expected,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive = make_mhealth_zip(tmp_path / "srv" / "mhealth+dataset.zip")
    monkeypatch.setattr(mh, "URLS", (archive.as_uri(),))
    s = load_dataset("mhealth")
    assert (len(s.x_train), len(s.x_val), len(s.x_test)) == (288, 36, 36)
    cache = keras_home / "datasets" / "mhealth"
    assert _leftovers(cache) == []  # no zip, no extraction folder
    logs = sorted(p.name for p in (cache / "MHEALTHDATASET").iterdir())
    assert logs == sorted(f"mHealth_subject{i}.log" for i in range(1, 11))
    # the second time it comes from the cache, offline
    again = load_dataset("mhealth", download=False)
    np.testing.assert_array_equal(again.x_train, s.x_train)


def test_download_falls_back_to_second_url(
    tmp_path: Path,
    keras_home: Path,
    make_mhealth_zip: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive = make_mhealth_zip(tmp_path / "srv" / "MHEALTHDATASET.zip")
    monkeypatch.setattr(mh, "URLS", ((tmp_path / "gone.zip").as_uri(), archive.as_uri()))
    assert len(load_dataset("mhealth").y_val) == 36


def test_download_of_nested_zip(
    tmp_path: Path,
    keras_home: Path,
    make_mhealth_zip: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inner = make_mhealth_zip(tmp_path / "inner" / "MHEALTHDATASET.zip")
    outer = tmp_path / "srv" / "mhealth+dataset.zip"
    outer.parent.mkdir()
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "MHEALTHDATASET.zip")
    monkeypatch.setattr(mh, "URLS", (outer.as_uri(),))
    assert len(load_dataset("mhealth").y_test) == 36


def test_download_failure_leaves_nothing(
    tmp_path: Path, keras_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = ((tmp_path / "a.zip").as_uri(), (tmp_path / "b.zip").as_uri())
    monkeypatch.setattr(mh, "URLS", urls)
    with pytest.raises(DataError) as info:
        load_dataset("mhealth")
    msg = str(info.value)
    cache = keras_home / "datasets" / "mhealth"
    assert msg.startswith(f"download of {urls[0]} failed") and "\n" not in msg
    assert f"unzip it into {cache}" in msg
    assert list(cache.iterdir()) == []


def test_download_of_archive_with_bad_log(
    tmp_path: Path,
    keras_home: Path,
    make_mhealth: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logs = make_mhealth(tmp_path / "src")
    _corrupt(logs, subject=6, line=5, fields=["1"] * 23)
    archive = tmp_path / "srv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for log in logs.iterdir():
            zf.write(log, f"MHEALTHDATASET/{log.name}")
    monkeypatch.setattr(mh, "URLS", (archive.as_uri(),))
    with pytest.raises(DataError, match=r"has a bad log .*mHealth_subject6\.log:5: expected 24"):
        load_dataset("mhealth")
    assert list((keras_home / "datasets" / "mhealth").iterdir()) == []


def test_download_of_archive_without_logs(
    tmp_path: Path, keras_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "srv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("README.txt", "nothing here")
    monkeypatch.setattr(mh, "URLS", (archive.as_uri(),))
    with pytest.raises(DataError, match=r"holds no mHealth_subject1\.log"):
        load_dataset("mhealth")
    assert list((keras_home / "datasets" / "mhealth").iterdir()) == []


def test_partial_cache_is_completed_by_download(
    tmp_path: Path,
    keras_home: Path,
    make_mhealth: Callable[..., Path],
    make_mhealth_zip: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cached = make_mhealth(keras_home / "datasets" / "mhealth" / "MHEALTHDATASET")
    (cached / "mHealth_subject9.log").unlink()
    with pytest.raises(DataError, match=r"missing mHealth_subject9\.log"):
        load_dataset("mhealth", download=False)
    monkeypatch.setattr(mh, "URLS", (make_mhealth_zip(tmp_path / "srv" / "m.zip").as_uri(),))
    assert len(load_dataset("mhealth").y_train) == 288
    assert (cached / "mHealth_subject9.log").is_file()


def test_space_separated_and_trailing_whitespace(
    tmp_path: Path, make_mhealth: Callable[..., Path], mhealth_expected: Expected
) -> None:
    folder = make_mhealth(tmp_path / "logs")
    for path in folder.iterdir():
        lines = path.read_text().splitlines()
        path.write_text("".join(" ".join(line.split("\t")) + " \t\n" for line in lines))
    x, y = mh.read_logs(folder)
    np.testing.assert_array_equal(x, mhealth_expected[0])
    np.testing.assert_array_equal(y, mhealth_expected[1])
