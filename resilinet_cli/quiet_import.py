"""Import TensorFlow without the C++ start-up lines it writes to stderr.

TensorFlow 2.21 logs through Abseil before Abseil's logging is initialised, and such messages
ignore ``TF_CPP_MIN_LOG_LEVEL`` (abseil/abseil-cpp#1957): every command that loads TensorFlow
would print four lines about oneDNN before its own output, and a one-line error would become
five. The CLI therefore catches the native stderr while ``tensorflow`` is first imported, drops
those lines and passes everything else on.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
from types import ModuleType

NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called",
    "] oneDNN custom operations are on.",
)


class QuietLoader(importlib.abc.Loader):
    """Runs another loader with file descriptor 2 caught, then replays all but the noise."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as caught:
            os.dup2(caught.fileno(), 2)
            try:
                self.loader.exec_module(module)
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                caught.seek(0)
                text = caught.read().decode("utf-8", errors="replace")
                sys.stderr.write(
                    "".join(
                        line
                        for line in text.splitlines(keepends=True)
                        if not any(noise in line for noise in NOISE)
                    )
                )


class QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as usual, once, and gives it a `QuietLoader`."""

    def find_spec(
        self, name: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_import() -> None:
    """From now on, the first ``import tensorflow`` (direct or through Keras) is quiet."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the lines that do obey it
    if "tensorflow" not in sys.modules:
        sys.meta_path.insert(0, QuietTensorFlowFinder())
