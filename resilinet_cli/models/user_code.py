"""Whether this run may import a user's Python code (``--allow-code``; docs/byom.md).

A ``module:function`` model source runs code when imported, so a config file alone never
imports it: the command line (or the API's ``allow_code``) must say so. Kept free of
TensorFlow so that the command line can set it before anything heavy is imported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_ALLOW_CODE: ContextVar[bool] = ContextVar("resilinet_allow_code", default=False)


@contextlib.contextmanager
def allowing_code(allowed: bool = True) -> Iterator[None]:
    """Within this block a ``module:function`` source may be imported."""
    token = _ALLOW_CODE.set(allowed)
    try:
        yield
    finally:
        _ALLOW_CODE.reset(token)


def code_allowed() -> bool:
    return _ALLOW_CODE.get()
