"""Requests into a deployment from one or more clients: closed loop, or open loop at a rate.

Closed loop (no rate): each client sends its next request as soon as its last answer is back,
which measures what the deployment serves at that concurrency. Open loop (``rate``): request i
is due ``i / rate`` seconds after the start and is sent by client ``i mod N`` without waiting for
the answers before it; its latency counts from when it was due, so a slow answer cannot hold
back (and so hide) the requests behind it: no coordinated omission.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import numpy as np

from resilinet_cli.live.client import Answer, LiveClient
from resilinet_cli.live.spec import DeploymentSpec

POLL_S = 0.02  # how often the stop condition is asked
RECORD_WAIT_S = 5.0  # at most this long, after the last call ended, for its answer's record
WARM_UP_S = 5.0  # at most this long before the stream for every node to answer in time


@dataclass(frozen=True)
class Outcome:
    """One request: when it was due after the start, and its answer (None: it got none)."""

    index: int
    example: int
    due_ms: float
    answer: Answer | None
    client: int


class Load:
    """``clients`` clients of one deployment, each with a channel of its own, sending the
    examples of ``x`` in turn (cycling)."""

    def __init__(
        self, spec: DeploymentSpec, x: np.ndarray, clients: int = 1, rate: float | None = None
    ) -> None:
        self.x = x
        self.rate = rate
        self.clients = [LiveClient(spec) for _ in range(clients)]
        self.outcomes: list[Outcome] = []
        self.started = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next = itertools.count()
        self.interrupted = False  # the stream was stopped early by Ctrl-C or SIGTERM
        self._sent = 0  # requests sent, each recorded once its call ends

    @property
    def finished(self) -> int:
        """The requests answered or failed so far."""
        with self._lock:
            return len(self.outcomes)

    def recent(self, count: int) -> list[Outcome]:
        """The last ``count`` requests to finish."""
        with self._lock:
            return self.outcomes[-count:]

    def run(self, done: Callable[[float, Load], bool], started: float) -> list[Outcome]:
        """Send until ``done(elapsed_s, self)`` says so, or Ctrl-C (``interrupted``); then wait
        for the answers still due and return every outcome in request order."""
        self.started = started
        send = self._open_loop if self.rate else self._closed_loop
        threads = [
            threading.Thread(target=send, args=(c,), name=f"client-{c}", daemon=True)
            for c in range(len(self.clients))
        ]
        for thread in threads:
            thread.start()
        try:
            while not done(time.perf_counter() - started, self):
                time.sleep(POLL_S)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (interrupt.py): keep what was answered
            self.interrupted = True
        finally:
            self._stop.set()
            for thread in threads:
                thread.join()
        give_up = time.perf_counter() + RECORD_WAIT_S  # an answer's callback may still run
        while self.finished < self._sent and time.perf_counter() < give_up:
            time.sleep(POLL_S)
        with self._lock:
            return sorted(self.outcomes, key=lambda o: o.index)

    def _record(self, index: int, due: float, answer: Answer | None, client: int) -> None:
        outcome = Outcome(index, index % len(self.x), 1000 * (due - self.started), answer, client)
        with self._lock:
            self.outcomes.append(outcome)

    def _closed_loop(self, c: int) -> None:
        client = self.clients[c]
        while not self._stop.is_set():
            index = next(self._next)
            example = index % len(self.x)
            due = time.perf_counter()
            self._count_sent()
            try:
                answer = client.infer(self.x[example : example + 1], f"example-{index}")
            except grpc.RpcError:
                answer = None
            self._record(index, due, answer, c)

    def _open_loop(self, c: int) -> None:
        assert self.rate
        client, pending = self.clients[c], []
        for index in itertools.count(c, len(self.clients)):
            due = self.started + index / self.rate
            if self._stop.wait(max(0.0, due - time.perf_counter())):
                break
            example = index % len(self.x)
            self._count_sent()
            call = client.infer_future(self.x[example : example + 1], f"example-{index}")
            call.add_done_callback(self._answered(index, due, c))
            pending.append(call)
            pending = [p for p in pending if not p.done()]
        for call in pending:  # each ends by its timeout at the latest
            call.exception()

    def _count_sent(self) -> None:
        with self._lock:
            self._sent += 1

    def _answered(self, index: int, due: float, c: int) -> Callable[[grpc.Future], None]:
        def record(call: grpc.Future) -> None:
            latency_ms = 1000 * (time.perf_counter() - due)
            answer = None
            if call.exception() is None:
                answer = self.clients[c].answer(call.result(), latency_ms)
            self._record(index, due, answer, c)

        return record

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def __enter__(self) -> Load:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def warm_up(client: LiveClient, x: np.ndarray) -> None:
    """Ask until every node contributes, for at most ``WARM_UP_S``: a node's first inference
    builds its model's graph and, on a loaded machine, can miss its deadline, which would show
    as a failure at the start of the stream (a node that is really down stays down)."""
    give_up = time.perf_counter() + WARM_UP_S
    while "0" in client.infer(x, "warm-up").contributed and time.perf_counter() < give_up:
        time.sleep(0.05)
