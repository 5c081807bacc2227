"""The files a keras-family run reads its network from, kept by content (docs/byom.md).

A config names a saved network by its path (``model.path``, ``model.weights``). If the file is
replaced, the finished units in a run folder belong to the old network, and resuming would mix
the two. The run folder therefore keeps each file's SHA-256 (``network_files.json``), and a run
that finds other contents there stops with one line instead.
"""

from __future__ import annotations

import json
from pathlib import Path

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import RunError
from resilinet_cli.results import layout
from resilinet_cli.results.integrity import sha256

KEYS = ("path", "weights")


def check_network_files(out: Path, config: ExperimentConfig) -> None:
    """Record the network files' hashes in ``out``, or refuse if they changed since."""
    model = config.model
    if model.name != "keras":
        return
    files = {key: Path(getattr(model, key)) for key in KEYS if getattr(model, key)}
    current = {key: sha256(file) for key, file in files.items() if file.is_file()}  # a missing
    # file is the network loader's one-line error, before any unit trains
    if not current:
        return
    saved = out / layout.NETWORK_FILES
    if not saved.exists():
        atomic.write_json(saved, current)
        return
    previous = json.loads(saved.read_text(encoding="utf-8"))
    changed = [f"model.{key} ({getattr(model, key)})" for key in current
               if previous.get(key) != current[key]]  # fmt: skip
    if changed:
        raise RunError(
            f"{out}: {', '.join(changed)} changed since this folder's units were trained "
            "(its SHA-256 differs); choose another --out or delete the folder"
        )
