"""Atomic writes: complete or absent, and durable across a power cut (fsync, rename, fsync)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resilinet_cli import atomic


def test_the_data_is_flushed_before_the_rename_and_the_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spy on the real fsync: what each call flushed, and whether the file was in place yet."""
    target = tmp_path / "table.csv"
    flushed: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def spying_fsync(descriptor: int) -> None:
        name = os.readlink(f"/proc/self/fd/{descriptor}")
        flushed.append((name, target.exists()))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", spying_fsync)
    atomic.write_text(target, "a,b\n1,2\n")
    temporary, folder = flushed
    assert Path(temporary[0]).name.startswith(".table.") and temporary[1] is False
    assert folder == (str(tmp_path), True)
    assert target.read_text() == "a,b\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    atomic.write_text(target, "old")
    with pytest.raises(RuntimeError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
