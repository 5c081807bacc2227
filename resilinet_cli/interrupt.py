"""Ctrl-C that is never lost during a run.

Python raises KeyboardInterrupt wherever the main thread happens to be. Between units that is
often a garbage collection, and an exception raised in a weakref callback there is printed and
dropped ("Exception ignored in ..."), so the run went on. Here the handler also remembers the
request, the run checks it after every training batch and between units, and such a dropped
KeyboardInterrupt is not printed (it is not lost any more).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_requested = threading.Event()


def _handler(signum: int, frame: Any) -> None:
    _requested.set()
    raise KeyboardInterrupt


@contextmanager
def catching_ctrl_c() -> Iterator[None]:
    """Remember Ctrl-C inside the block (unless SIGINT is ignored, as in a background job)."""
    previous = signal.getsignal(signal.SIGINT)
    usable = (
        previous is not signal.SIG_IGN and threading.current_thread() is threading.main_thread()
    )
    _requested.clear()
    previous_hook = sys.unraisablehook

    def quiet_hook(unraisable: Any) -> None:
        if unraisable.exc_type is not KeyboardInterrupt:
            previous_hook(unraisable)

    if usable:
        signal.signal(signal.SIGINT, _handler)
        sys.unraisablehook = quiet_hook
    try:
        yield
    finally:
        if usable:
            signal.signal(signal.SIGINT, previous)
            sys.unraisablehook = previous_hook
        _requested.clear()


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed, even if its first raise was swallowed."""
    if _requested.is_set():
        raise KeyboardInterrupt


def keras_callback() -> Any:
    """A Keras callback that checks for Ctrl-C after every training batch."""
    import keras

    class CheckCtrlC(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            check()

    return CheckCtrlC()
