"""Ctrl-C, and SIGTERM, that are never lost during a run.

SIGTERM is what Slurm, Kubernetes and spot preemption send before they kill a job; it is
handled exactly like Ctrl-C (SIGINT): the run stops within seconds, finished units are kept,
and the command line exits with 128 + the signal's number (130, 143).

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

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_requested = threading.Event()
_received: list[int] = []  # the signal that asked to stop, for the exit status


def _handler(signum: int, frame: Any) -> None:
    _received[:] = [signum]
    _requested.set()
    raise KeyboardInterrupt


@contextmanager
def catching_ctrl_c() -> Iterator[None]:
    """Remember Ctrl-C and SIGTERM inside the block (a signal that is ignored, as SIGINT in a
    background job, stays ignored)."""
    main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    caught = [sig for sig in STOP_SIGNALS if main_thread and previous[sig] is not signal.SIG_IGN]
    _requested.clear()
    _received.clear()
    previous_hook = sys.unraisablehook

    def quiet_hook(unraisable: Any) -> None:
        if unraisable.exc_type is not KeyboardInterrupt:
            previous_hook(unraisable)

    for sig in caught:
        signal.signal(sig, _handler)
    if caught:
        sys.unraisablehook = quiet_hook
    try:
        yield
    finally:
        for sig in caught:
            signal.signal(sig, previous[sig])
        if caught:
            sys.unraisablehook = previous_hook
        _requested.clear()


def stop_status() -> tuple[str, int]:
    """How the last stop is named and the exit status it calls for: Ctrl-C (130) or SIGTERM
    (143). A KeyboardInterrupt from elsewhere counts as Ctrl-C."""
    signum = _received[0] if _received else signal.SIGINT
    name = "stopped by SIGTERM" if signum == signal.SIGTERM else "interrupted"
    return name, 128 + signum


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
