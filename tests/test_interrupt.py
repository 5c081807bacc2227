"""Ctrl-C and SIGTERM are remembered even when Python drops the KeyboardInterrupt raised."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from resilinet_cli import interrupt


@pytest.fixture(autouse=True)
def ctrl_c_reaches_python():
    """As in a terminal; a background job (some CI shells) starts with SIGINT ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_swallowed_ctrl_c_is_raised_again_at_the_next_check() -> None:
    before = signal.getsignal(signal.SIGINT)
    with interrupt.catching_ctrl_c():
        interrupt.check()  # nothing pressed yet
        try:
            os.kill(os.getpid(), signal.SIGINT)
            signal.sigtimedwait([], 0)  # let the handler run
        except KeyboardInterrupt:
            pass  # as when it lands in a weakref callback during garbage collection
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
        callback = interrupt.keras_callback()
        with pytest.raises(KeyboardInterrupt):
            callback.on_train_batch_end(0)
    assert signal.getsignal(signal.SIGINT) is before
    interrupt.check()  # forgotten once the run is over


def test_an_ignored_sigint_stays_ignored() -> None:
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupt.catching_ctrl_c():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_dropped_ctrl_c_is_not_reported_but_other_dropped_errors_are(monkeypatch) -> None:
    class Dropped:
        def __init__(self, error: BaseException) -> None:
            self.exc_type, self.exc_value, self.exc_traceback = type(error), error, None
            self.err_msg, self.object = "Exception ignored in", None

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda dropped: reported.append(dropped.exc_type))
    with interrupt.catching_ctrl_c():
        sys.unraisablehook(Dropped(KeyboardInterrupt()))
        sys.unraisablehook(Dropped(ValueError("kept")))
    assert reported == [ValueError]


def test_sigterm_is_handled_as_ctrl_c_and_named_in_the_status() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with interrupt.catching_ctrl_c():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0)  # let the handler run
        assert interrupt.stop_status() == ("stopped by SIGTERM", 143)
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    assert signal.getsignal(signal.SIGTERM) is before
    with interrupt.catching_ctrl_c():
        assert interrupt.stop_status() == ("interrupted", 130)  # a plain KeyboardInterrupt
