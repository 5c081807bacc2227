"""``resilinet data info|verify|fetch`` on files in the real formats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from resilinet_cli.cli import main
from resilinet_cli.data import cifar10, fashion_mnist
from resilinet_cli.data import mhealth as mh


def invoke(*args: str):
    return CliRunner().invoke(main, ["data", *args])


def test_info_lists_every_dataset_with_its_source_and_cache(keras_home: Path) -> None:
    result = invoke("info")
    assert result.exit_code == 0
    names = [line for line in result.stdout.splitlines() if line and not line.startswith(" ")]
    assert names == ["cifar10", "digits", "fashion_mnist", "imagenet", "mhealth"]
    assert f"source: {cifar10.URL} (md5 {cifar10.ARCHIVE_MD5})" in result.stdout
    assert f"cache:  {keras_home / 'datasets' / 'mhealth'}" in result.stdout


def local_lines(stdout: str) -> dict[str, str]:
    """Each dataset's 'local:' line of ``data info``, by name."""
    found, name = {}, ""
    for line in stdout.splitlines():
        if not line.startswith(" "):
            name = line
        elif line.startswith("  local:  "):
            found[name] = line.removeprefix("  local:  ")
    return found


def test_info_says_where_each_dataset_is_found_without_reading_it(
    tmp_path: Path, keras_home: Path, make_mhealth: Callable[..., Path]
) -> None:
    fashion = keras_home / "datasets" / "fashion-mnist"
    fashion.mkdir(parents=True)
    for file in fashion_mnist.FILES:
        (fashion / file.name).write_bytes(b"never read")  # info looks, `data verify` reads
    logs = make_mhealth(tmp_path / "data" / "mhealth")
    (logs / mh.log_name(10)).unlink()
    result = invoke("info", "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    local = local_lines(result.stdout)
    assert set(local) == {"cifar10", "digits", "fashion_mnist", "imagenet", "mhealth"}
    assert local["fashion_mnist"] == f"yes, {fashion}"
    assert local["digits"].startswith("yes, ") and local["digits"].endswith("digits.csv.gz")
    assert local["cifar10"].startswith("no: CIFAR-10 not found (looked in: ")
    assert local["cifar10"].endswith("; to get it: resilinet data fetch cifar10")
    assert local["mhealth"] == (
        f"no: MHEALTH in {logs} is incomplete: missing {mh.log_name(10)}; "
        "to get it: resilinet data fetch mhealth"
    )
    assert not (keras_home / "datasets" / "cifar-10").exists()  # nothing was downloaded


def test_info_as_json_says_the_same_for_scripts(tmp_path: Path, keras_home: Path) -> None:
    import json

    result = invoke("info", "--json")
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert list(listing) == ["cifar10", "digits", "fashion_mnist", "imagenet", "mhealth"]
    assert listing["cifar10"]["source"] == f"{cifar10.URL} (md5 {cifar10.ARCHIVE_MD5})"
    assert listing["cifar10"]["cache"] == str(keras_home / "datasets" / "cifar-10")
    assert listing["cifar10"]["present"] is False and listing["cifar10"]["path"] is None
    assert listing["cifar10"]["problem"].startswith("CIFAR-10 not found (looked in: ")
    digits = listing["digits"]
    assert digits["present"] is True and digits["problem"] is None and digits["cache"] is None
    assert digits["path"].endswith("digits.csv.gz")
    text = local_lines(invoke("info").stdout)
    for name, entry in listing.items():
        assert text[name].startswith("yes, " if entry["present"] else "no: ")


def test_info_refuses_a_data_dir_that_is_not_a_folder_in_one_line(tmp_path: Path) -> None:
    result = invoke("info", "--data-dir", str(tmp_path / "absent"))
    assert result.exit_code == 2
    assert (
        result.stderr == f"error: --data-dir {tmp_path / 'absent'} is not a directory; "
        "create it or fix the path\n"
    )


def test_verify_prints_the_split_sizes_and_shape() -> None:
    result = invoke("verify", "digits")
    assert result.exit_code == 0
    assert result.stdout == (
        "digits: train 1,437, validation 180, test 180 examples of shape 64; 10 classes: ok\n"
    )


def test_verify_reads_local_files_only_and_names_a_corrupt_log(
    tmp_path: Path, make_mhealth: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mh, "URLS", ((tmp_path / "never-fetched.zip").as_uri(),))
    folder = make_mhealth(tmp_path / "logs")
    assert invoke("verify", "mhealth", "--data-dir", str(folder)).stdout == (
        "mhealth: train 288, validation 36, test 36 examples of shape 23; 13 classes: ok\n"
    )
    log = folder / "mHealth_subject3.log"
    lines = log.read_text().splitlines()
    lines[6] = lines[6].replace("\t", "\tx", 1)
    log.write_text("\n".join(lines) + "\n")
    result = invoke("verify", "mhealth", "--data-dir", str(folder))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {log}:7: non-numeric field")


def test_fetch_downloads_verifies_and_caches(
    tmp_path: Path,
    keras_home: Path,
    make_mhealth_zip: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive = make_mhealth_zip(tmp_path / "server" / "mhealth.zip")
    monkeypatch.setattr(mh, "URLS", (archive.as_uri(),))
    result = invoke("fetch", "mhealth")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("13 classes: ready\n")
    cache = keras_home / "datasets" / "mhealth"
    assert sorted(p.name for p in cache.rglob("*.log")) == sorted(
        mh.log_name(s) for s in mh.SUBJECTS
    )
    assert invoke("verify", "mhealth").exit_code == 0


def test_fetch_imagenet_says_how_to_build_it_by_hand() -> None:
    result = invoke("fetch", "imagenet")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "cannot be downloaded automatically" in result.stderr
    assert "ILSVRC2012_img_train.tar" in result.stderr


def test_an_unknown_dataset_is_named_with_a_suggestion() -> None:
    result = invoke("verify", "cifar")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: unknown dataset 'cifar' (did you mean 'cifar10'? known: cifar10, digits, "
        "fashion_mnist, imagenet, mhealth)\n"
    )
