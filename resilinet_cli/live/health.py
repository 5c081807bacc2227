"""What a receiver believes about each failable sender: alive or dead, with hysteresis.

One failed health check or failed pull marks a sender dead at once, and wakes every pull still
waiting on it, so a hung sender costs at most one deadline, once. While dead, requests do not
call it at all (its input is zeros). It is used again after ``rise`` health checks in a row
pass: a node that comes back is used again within ``rise`` check intervals of answering.
Checks use the standard ``grpc.health.v1`` service with the deployment's token.
"""

from __future__ import annotations

import asyncio
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING


class SenderHealth:
    """The belief about one sender, kept up to date by ``watch``."""

    def __init__(self, name: str, rise: int) -> None:
        self.name = name
        self.rise = rise
        self.alive = True  # optimistic at start: the deployment waits until all serve
        self.passed = 0
        self.died = asyncio.Event()  # set while dead: pulls waiting on the sender give up
        self.changed_at = time.monotonic()

    def mark_dead(self) -> None:
        self.passed = 0
        if self.alive:
            self.alive = False
            self.changed_at = time.monotonic()
            self.died.set()

    def mark_passed(self) -> None:
        self.passed += 1
        if not self.alive and self.passed >= self.rise:
            self.alive = True
            self.changed_at = time.monotonic()
            self.died = asyncio.Event()

    async def watch(
        self,
        channel: grpc.aio.Channel,
        metadata: tuple[tuple[str, str], ...],
        *,
        interval: float,
        timeout: float,
    ) -> None:
        """Check the sender every ``interval`` seconds, each check bounded by ``timeout``."""
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service="")
        while True:
            started = time.monotonic()
            try:
                reply = await stub.Check(request, timeout=timeout, metadata=metadata)
                ok = reply.status == SERVING
            except grpc.aio.AioRpcError:
                ok = False
            if not ok and time.monotonic() - started > 2 * timeout + interval:
                continue  # this process was itself stopped (SIGSTOP): no news of the sender
            if ok:
                self.mark_passed()
            else:
                self.mark_dead()
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
