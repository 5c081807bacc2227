"""A node's requests that arrive within a short window of each other, computed as one batch.

Under load a node's sub-model runs once per request, and each run pays TensorFlow's fixed
cost of a call. With a window (``--batch-window-ms``) the first request of a batch waits up to
that long for others (or until ``max_batch`` rows are in), and the sub-model runs once on all
their rows; each request gets its own rows back. Requests are batched only with others whose
inputs are missing in the same places (a dead sender, a lost message), since those go through
the sub-model differently (zeros through the link, a mux's choice, a stand-in); rows never
mix, so each example's output is what it would be alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np

Inputs = list[np.ndarray | None]  # per sender (in sender order); None: missing


@dataclass
class Batch:
    inputs: list[Inputs] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    futures: list[asyncio.Future[tuple[np.ndarray, float]]] = field(default_factory=list)
    flush: asyncio.TimerHandle | None = None


class Batcher:
    """``run(inputs, rows)`` of several requests at once; ``submit`` returns one request's
    output rows and the compute time of the batch they were in (milliseconds)."""

    def __init__(
        self, run: Callable[[Inputs, int], np.ndarray], window_s: float, max_batch: int
    ) -> None:
        self.run = run
        self.window_s = window_s
        self.max_batch = max_batch
        self.open: dict[Hashable, Batch] = {}

    async def submit(self, inputs: Inputs, rows: int) -> tuple[np.ndarray, float]:
        if self.window_s <= 0:
            started = time.perf_counter()
            output = self.run(inputs, rows)
            return output, 1000 * (time.perf_counter() - started)
        key = tuple(value is None for value in inputs)
        batch = self.open.get(key)
        loop = asyncio.get_running_loop()
        if batch is None:
            batch = self.open[key] = Batch()
            batch.flush = loop.call_later(self.window_s, self._flush, key)
        future: asyncio.Future[tuple[np.ndarray, float]] = loop.create_future()
        batch.inputs.append(inputs)
        batch.rows.append(rows)
        batch.futures.append(future)
        if sum(batch.rows) >= self.max_batch:
            self._flush(key)
        return await future

    def _flush(self, key: Hashable) -> None:
        batch = self.open.pop(key, None)
        if batch is None:
            return
        if batch.flush is not None:
            batch.flush.cancel()
        merged = [
            None if values[0] is None else np.concatenate(values, axis=0)
            for values in zip(*batch.inputs, strict=True)
        ]
        started = time.perf_counter()
        try:
            output = self.run(merged, sum(batch.rows))
        except Exception as error:  # noqa: BLE001 (each request of the batch gets it)
            for future in batch.futures:
                if not future.done():
                    future.set_exception(error)
            return
        compute_ms = 1000 * (time.perf_counter() - started)
        ends = np.cumsum(batch.rows)
        for future, end, rows in zip(batch.futures, ends, batch.rows, strict=True):
            if not future.done():
                future.set_result((output[end - rows : end], compute_ms))
