"""A node's batcher (live/batching.py), driven in-process with a sub-model that records its
calls: requests arriving within the window run as one call, each gets its own rows back, a
request whose inputs are missing elsewhere is batched apart, and max_batch closes a batch."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from resilinet_cli.live.batching import Batcher


class Recorded:
    """A sub-model of two inputs (a missing one counts as zeros): the row sums, times 10."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, tuple[bool, ...]]] = []

    def __call__(self, inputs: list[np.ndarray | None], rows: int) -> np.ndarray:
        self.calls.append((rows, tuple(value is None for value in inputs)))
        total = np.zeros((rows, 1))
        for value in inputs:
            if value is not None:
                assert len(value) == rows
                total += value.sum(axis=1, keepdims=True)
        return 10 * total


def rows(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1, 1)


async def submit_all(batcher: Batcher, requests: list[list[np.ndarray | None]]) -> list:
    return await asyncio.gather(*(batcher.submit(r, len(r[0] if r[0] is not None else r[1]))
                                  for r in requests))  # fmt: skip


def test_requests_within_the_window_run_as_one_call_and_get_their_own_rows():
    run = Recorded()
    batcher = Batcher(run, window_s=0.05, max_batch=16)
    requests = [[rows(1), rows(2)], [rows(3, 4), rows(5, 6)], [rows(7), rows(8)]]
    results = asyncio.run(submit_all(batcher, requests))
    assert run.calls == [(4, (False, False))]
    outputs = [output for output, _ in results]
    assert [o.ravel().tolist() for o in outputs] == [[30.0], [80.0, 100.0], [150.0]]
    assert len({ms for _, ms in results}) == 1  # one compute time: the batch's


def test_a_request_missing_an_input_is_batched_apart():
    run = Recorded()
    batcher = Batcher(run, window_s=0.05, max_batch=16)
    requests = [[rows(1), rows(2)], [rows(3), None], [rows(4), rows(5)], [rows(6), None]]
    results = asyncio.run(submit_all(batcher, requests))
    assert sorted(run.calls) == [(2, (False, False)), (2, (False, True))]
    assert [o.item() for o, _ in results] == [30.0, 30.0, 90.0, 60.0]


def test_max_batch_closes_a_batch_before_its_window():
    run = Recorded()
    batcher = Batcher(run, window_s=10.0, max_batch=2)  # the window never ends in this test
    requests = [[rows(i), rows(i)] for i in range(4)]
    results = asyncio.run(asyncio.wait_for(submit_all(batcher, requests), timeout=5))
    assert run.calls == [(2, (False, False)), (2, (False, False))]
    assert [o.item() for o, _ in results] == [0.0, 20.0, 40.0, 60.0]


def test_without_a_window_each_request_runs_alone():
    run = Recorded()
    batcher = Batcher(run, window_s=0.0, max_batch=16)
    asyncio.run(submit_all(batcher, [[rows(1), rows(2)], [rows(3), rows(4)]]))
    assert run.calls == [(1, (False, False)), (1, (False, False))]


def test_an_error_reaches_every_request_of_the_batch():
    def broken(inputs, rows):
        raise RuntimeError("out of memory")

    batcher = Batcher(broken, window_s=0.01, max_batch=16)
    with pytest.raises(RuntimeError, match="out of memory"):
        asyncio.run(submit_all(batcher, [[rows(1), rows(1)], [rows(2), rows(2)]]))
