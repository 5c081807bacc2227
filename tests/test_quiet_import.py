"""The CLI's TensorFlow import leaves stderr to resilinet's own messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from paths import CONFIGS

from resilinet_cli.config import load_config

IMPORT = (
    "from resilinet_cli.quiet_import import quiet_tensorflow_import\n"
    "quiet_tensorflow_import()\n"
    "import keras, tensorflow, sys\n"
    "print('after', tensorflow.__name__, file=sys.stderr)\n"
)


def test_importing_tensorflow_through_the_cli_hook_prints_nothing() -> None:
    result = subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stderr == "after tensorflow\n"


def test_without_the_hook_tensorflow_does_print_its_start_up_lines() -> None:
    """The control: if TensorFlow ever goes quiet by itself, the hook can go."""
    plain = "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'; import tensorflow"
    result = subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True)
    assert "oneDNN custom operations are on" in result.stderr


def test_an_error_after_loading_tensorflow_is_one_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "unit").mkdir(parents=True)
    config = load_config(CONFIGS / "quickstart.yaml")
    (run / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    (run / "unit" / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    command = [sys.executable, "-m", "resilinet_cli", "evaluate", str(run / "unit" / "model.keras")]
    result = subprocess.run([*command, "--failures", "all"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {run / 'unit' / 'model.keras'}: not a Keras model")
