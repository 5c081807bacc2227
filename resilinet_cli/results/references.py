"""Committed reference results: folders the tool reads and compares against, never writes.

A reference (``results/quick``, ``results/claims``, ...) carries the marker file
``layout.REFERENCE`` at its root. Every command that would write into a marked folder refuses
in one line that names the folder to use instead; a run whose default folder is a reference
runs into ``reproduced/<name>`` and compares with the reference at the end.
A reference is updated by regenerating it into a fresh folder, ``resilinet compare``, and
replacing it in a commit (docs/architecture.md §7).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from resilinet_cli.errors import RunError
from resilinet_cli.results import integrity, layout

FRESH = Path("reproduced")  # where a reference's run goes instead (git-ignored)


def reference_root(path: Path) -> Path | None:
    """The marked folder that ``path`` is in (or is), if any."""
    path = Path(path)
    absolute = path.resolve()
    for level, folder in enumerate((absolute, *absolute.parents)):
        if (folder / layout.REFERENCE).is_file():
            return _as_given(path, level)
    return None


def _as_given(path: Path, level: int) -> Path:
    """``path``'s ancestor ``level`` steps up, spelled as the user spelled ``path`` if it can."""
    relative = path
    for _ in range(level):
        if relative.parent == relative:
            return path.resolve().parents[level - 1]
        relative = relative.parent
    return relative


def is_reference(path: Path) -> bool:
    return reference_root(path) is not None


def fresh_folder(path: Path) -> Path:
    """Where a run aimed at the reference ``path`` goes instead: ``reproduced/<its path under
    the reference's parent>`` (``results/quick/quickstart`` -> ``reproduced/quick/quickstart``)."""
    root = reference_root(path)
    if root is None:
        return path
    inside = Path(path).resolve().relative_to(root.resolve())
    return FRESH / root.resolve().name / inside


def refuse_writes(path: Path, instead: str) -> None:
    """RunError if ``path`` is inside a committed reference; ``instead`` says what to do."""
    root = reference_root(path)
    if root is not None:
        raise RunError(
            f"{path}: part of the committed reference {root} ({root / layout.REFERENCE}), which "
            f"resilinet never writes into; {instead}"
        )


MARKER_TEXT = """# Committed reference: {name}

resilinet reads this folder and compares new runs with it, but never writes into it: a run
aimed here goes to a fresh folder instead, and `resilinet report` rebuilds a copy
(`--out`). Models and TensorBoard logs are not committed; each unit's `run.json` lists them
under `not_committed` and holds the SHA-256 and size of every file that is.

Regenerate: `{command}`

To update it: regenerate into a fresh folder, `resilinet compare NEW {name}`, then replace
this folder with `python scripts/promote_reference.py NEW {name}` in a commit.
"""
COMMAND = re.compile(r"^Regenerate: `(?P<command>[^`]+)`$", re.MULTILINE)


def regenerate_command(root: Path) -> str | None:
    """The command a reference's marker says regenerates it."""
    try:
        match = COMMAND.search((root / layout.REFERENCE).read_text(encoding="utf-8"))
    except OSError:
        return None
    return match["command"] if match else None


def promote(source: Path, reference: Path, command: str) -> None:
    """Make ``source`` (a regenerated run or profile folder, or a copy of the reference
    itself) the committed reference at ``reference``: its files without models, logs or
    checkpoints, every unit record marking those not committed and holding the checksums of
    the rest, and the marker. Built beside the reference, then swapped in."""
    staging = reference.parent / f".{reference.name}.promoting"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        shutil.copytree(source, staging, ignore=shutil.ignore_patterns(*LEFT_OUT))
        for record_path in staging.glob(f"**/{layout.RUNS}/**/iter-*/{layout.RECORD}"):
            _mark_not_committed(record_path)
        (staging / layout.REFERENCE).write_text(
            MARKER_TEXT.format(name=reference.as_posix(), command=command), encoding="utf-8"
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = reference.parent / f".{reference.name}.replaced"
    shutil.rmtree(old, ignore_errors=True)
    if reference.exists():
        reference.rename(old)
    staging.rename(reference)
    shutil.rmtree(old, ignore_errors=True)


# What a reference leaves out: models, logs, checkpoints, and what commands write beside units;
# of a search, Ray Tune's own state (tune/) and the trials' locks.
LEFT_OUT = (
    layout.MODEL, layout.TENSORBOARD, layout.RESUME, layout.EVALUATION,
    layout.EVALUATION_WEIGHTED, layout.COMPARISON, layout.REFERENCE, ".*.tmp*",
    "tune", ".search.lock",
)  # fmt: skip


def _mark_not_committed(path: Path) -> None:
    """A unit record of a reference: checksums of the files it keeps (computed now for an
    older record that has none), and the model and logs listed as not committed."""
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("status") != "done":
        return
    folder = path.parent
    kept = integrity.file_entries(folder)
    files = record.get(integrity.FILES) or {}
    for name, entry in kept.items():
        if name in files and files[name] != entry:
            raise RunError(f"{folder / name}: differs from its record; not promoted")
    record[integrity.FILES] = {**kept, **files}
    record[integrity.NOT_COMMITTED] = list(integrity.LEFT_OUT_OF_REFERENCES)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
