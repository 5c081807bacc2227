"""One physical node as an OS process: its sub-model served over gRPC (asyncio).

    python -m resilinet_cli.live.node --spec deployment/spec.json --node fog1

Data flows along the links, requests flow against them: the cloud's ``Predict`` asks each of
its senders for its ``Output`` of the request, each sender asks its own senders, and so on up
to the IoT node, which holds the example its ``Infer`` received. Each node computes once per
request (concurrent asks share the result) and answers with its output tensor and what it
learnt about the failable nodes upstream: which contributed, which were found dead.

A failed pull (UNAVAILABLE: the process is gone; DEADLINE_EXCEEDED: it hangs) or a failed health
check marks the sender dead: its input is zeros, through its link's sub-model, exactly as the
sweep does; dead senders are not called until their health checks pass again (health.py).

A node served by standby replicas (``edge``, ``edge_r2``: one process each) is pulled in replica
order: the primary, and when it is (or turns out) dead the next replica, so the first alive
replica serves, as the model's ``ReplicaSwitch`` picks; each replica has its own health checks.

A shaped link (shaping.py) is played by its receiver when a reply arrives: held for its
bandwidth, latency and jitter, or lost. A lost (or late) message costs its request only: the
input is missing for that request, the sender is not marked dead, no other replica is asked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import sys
import time
import uuid
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from resilinet_cli.live import live_pb2, live_pb2_grpc
from resilinet_cli.live.batching import Batcher
from resilinet_cli.live.compute import NodeCompute
from resilinet_cli.live.exits import chosen_exit, confident
from resilinet_cli.live.health import SenderHealth
from resilinet_cli.live.security import (
    MAX_MESSAGE,
    SERVER_OPTIONS,
    TokenInterceptor,
    aio_channel,
    metadata,
    server_credentials,
)
from resilinet_cli.live.shaping import LinkShape, ShapedLink
from resilinet_cli.live.spec import DeploymentSpec
from resilinet_cli.live.wire import WireError, from_message, to_message
from resilinet_cli.topology import link_name
from resilinet_cli.variants import GUESS

MEMORY = 512  # requests whose outputs a node keeps, for late asks of the same request
EXIT_PORT = 3  # the exit code of a node that cannot bind its port


@dataclass
class Pulled:
    """A node's output for one request, with what it learnt on the way."""

    output: np.ndarray | None  # None once an exit answered: nothing above computes
    alive: dict[str, bool]  # failable node upstream -> contributed (True) or found dead
    missed: set[str]  # nodes some receiver went on without (dead, or late)
    compute_ms: dict[str, float]  # node -> compute time (its stack, link projections, head)
    reached: bool = True  # information from the input reaches this node
    answer: np.ndarray | None = None  # an exit head's probabilities: its own, or passed on
    answered_by: str = ""  # the exit that answered (threshold rule), passed on upward
    lost: set[str] = field(default_factory=set)  # shaped links that lost (or were late with)
    # their message of this request, here or upstream
    queue_ms: dict[str, float] = field(default_factory=dict)  # node -> inputs in to compute
    transfer_ms: dict[str, float] = field(default_factory=dict)  # link -> network and gRPC

    def merge(self, other: Pulled) -> None:
        """Take in what a sender's reply learnt upstream: who contributed, and the timings."""
        for node, contributed in other.alive.items():
            self.alive[node] = self.alive.get(node, False) or contributed
        self.missed |= other.missed
        self.lost |= other.lost
        self.compute_ms.update(other.compute_ms)
        self.queue_ms.update(other.queue_ms)
        self.transfer_ms.update(other.transfer_ms)


@dataclass(frozen=True)
class Lost:
    """A sender's reply that its shaped link lost, or delivered after the deadline."""

    link: str


class UnknownRequest(LookupError):
    """The IoT node holds no example for a request (it was never sent, or is long done)."""


class NodeServer(live_pb2_grpc.NodeServicer):
    def __init__(self, spec: DeploymentSpec, name: str, compute: NodeCompute) -> None:
        self.spec = spec
        self.name = name
        self.compute = compute
        self.topology = spec.topology
        self.columns = self.topology.alive_columns  # failable nodes, then standby replicas
        self.failable = set(self.columns)
        self.levels = spec.levels()
        self.metadata = metadata(spec)
        self.is_entry = name == self.topology.input_node  # takes Infer: the input node or hub
        self.is_input = name in self.topology.sources  # computes on the features
        self.is_output = name == self.topology.output_node
        senders = [p for s in compute.senders for p in spec.replicas_of(s)]
        peers = set(senders) | ({self.topology.output_node} if self.is_entry else set())
        if self.is_output:  # without a path to it, the cloud asks the exits for their answers
            peers |= set(spec.exits)
        self.channels = {peer: aio_channel(spec, peer) for peer in peers}
        self.stubs = {peer: live_pb2_grpc.NodeStub(c) for peer, c in self.channels.items()}
        self.health = {s: SenderHealth(s, spec.rise) for s in senders if s in self.failable}
        role = spec.role_of(name)
        self.links = {}  # sender (a role) -> its link into this node, where it is shaped
        for sender in compute.senders:
            link = link_name(sender, role)
            if link in spec.link_shapes:
                shape = LinkShape.from_dict(spec.link_shapes[link])
                kernel = link in spec.kernel_bandwidth
                self.links[sender] = ShapedLink(
                    link, shape, spec.shaping_seed, spec.epoch, kernel=kernel
                )
        self.batcher = Batcher(
            self.run_input if self.is_input else compute.run,
            spec.batch_window_s,
            spec.max_batch,
        )
        self.features: OrderedDict[str, np.ndarray] = OrderedDict()
        self.outputs: OrderedDict[str, asyncio.Future[Pulled]] = OrderedDict()
        self.flows: dict[tuple[int, ...], bool] = {}

    def watch_senders(self) -> list[asyncio.Task[None]]:
        return [
            asyncio.ensure_future(
                state.watch(
                    self.channels[sender],
                    self.metadata,
                    interval=self.spec.health_interval_s,
                    timeout=self.spec.deadline_s,
                )
            )
            for sender, state in self.health.items()
        ]

    # ---- the service -------------------------------------------------------------------

    async def Infer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if not self.is_entry:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{self.name} is no entry")
        try:
            features = from_message(request.features, self.compute.features_spec)
        except WireError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"features: {error}")
        request_id = request.request_id or uuid.uuid4().hex
        remember(self.features, request_id, features)
        cloud = self.topology.output_node
        timeout = self.spec.deadline_s * (self.levels[cloud] + 1) + 1.0
        try:
            return await self.stubs[cloud].Predict(
                live_pb2.PullRequest(request_id=request_id, rows=len(features)),
                timeout=timeout,
                metadata=self.metadata,
            )
        except grpc.aio.AioRpcError as error:
            await context.abort(error.code(), f"{cloud}: {error.details()}")
        finally:
            self.features.pop(request_id, None)
            self.outputs.pop(request_id, None)

    async def Output(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if self.is_output:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{self.name} sends nothing")
        asked = time.perf_counter()
        result = await self.produced(request, context)
        return live_pb2.NodeOutput(
            tensor=None if result.output is None else to_message(result.output),
            alive=result.alive,
            compute_ms=result.compute_ms,
            missed=sorted(result.missed),
            reached=result.reached,
            answer=None if result.answer is None else to_message(result.answer),
            answered_by=result.answered_by,
            lost=sorted(result.lost),
            queue_ms=result.queue_ms,
            transfer_ms=result.transfer_ms,
            service_ms=1000 * (time.perf_counter() - asked),
        )

    async def Predict(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        if not self.is_output:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{self.name} predicts not")
        result = await self.produced(request, context)
        answered_by, probabilities = result.answered_by, result.answer
        if not answered_by:
            answered_by, probabilities = self.name, result.output
            if not self.flow(result.alive):
                answered_by, probabilities = GUESS, result.output
                if self.spec.exits:  # the deepest exit information reaches answers
                    asked = await self.ask_exits(request.request_id, int(request.rows), result)
                    answered_by, answer = chosen_exit(self.spec, asked)
                    probabilities = result.output if answer is None else answer
        assert probabilities is not None  # the output node always computes, or an exit answered
        alive = result.alive
        bits = tuple(int(alive.get(node, False)) for node in self.columns)
        guess = answered_by == GUESS
        if guess:  # what the sweep scores without a path: a draw from the training classes
            predictions = self.guesses(request.request_id, len(probabilities))
        else:
            predictions = np.argmax(probabilities, axis=-1)
        return live_pb2.Prediction(
            probabilities=to_message(probabilities),
            predictions=predictions.tolist(),
            guess=guess,
            alive="".join(map(str, bits)),
            compute_ms=result.compute_ms,
            # during a failure or a recovery one receiver may still use a node another has
            # given up on: no single combination of dead nodes describes such a request; nor
            # does one where a node that cannot fail missed its deadline (a starved machine)
            mixed=any(alive.get(n, False) or n not in self.failable for n in result.missed)
            or (answered_by == self.name and not result.reached),
            answered_by=answered_by,
            lost=sorted(result.lost),
            queue_ms=result.queue_ms,
            transfer_ms=result.transfer_ms,
        )

    def flow(self, alive: dict[str, bool]) -> bool:
        """Whether information reaches this (the output) node with the contributing nodes."""
        bits = tuple(int(alive.get(node, False)) for node in self.columns)
        if bits not in self.flows:  # failable links are all up live: only processes fail
            links_up = (1,) * len(self.topology.failable_links)
            self.flows[bits] = self.topology.has_information_flow(bits + links_up)
        return self.flows[bits]

    async def ask_exits(
        self, request_id: str, rows: int, result: Pulled
    ) -> dict[str, Pulled | None]:
        """Each exit's reply for a request the output node has no path for (None: dead, or
        already known dead on the way); what they learnt is merged into ``result``."""
        asked = [n for n in self.spec.exits if result.alive.get(n, True)]
        replies = await asyncio.gather(
            *(self.pull(n, request_id, rows, head_only=True) for n in asked)
        )
        for node, reply in zip(asked, replies, strict=True):
            if not isinstance(reply, Pulled):
                continue
            if node in self.failable:
                result.alive[node] = True
            result.merge(reply)
        return {
            node: reply if isinstance(reply, Pulled) else None
            for node, reply in zip(asked, replies, strict=True)
        }

    # ---- computing a request once ------------------------------------------------------

    async def produced(self, request: Any, context: grpc.aio.ServicerContext) -> Pulled:
        rows = int(request.rows)
        if not 1 <= rows <= self.spec.max_rows:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"rows {rows} out of range")
        future = self.outputs.get(request.request_id)
        if future is None:
            if self.is_input and request.HasField("features"):  # a device, sent by the hub
                features = from_message(request.features, self.compute.features_spec)
                remember(self.features, request.request_id, features)
            future = asyncio.ensure_future(self.produce(request.request_id, rows))
            remember(self.outputs, request.request_id, future)
        try:
            return await asyncio.shield(future)
        except UnknownRequest:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no request {request.request_id!r}")
        raise AssertionError("unreachable")

    async def produce(self, request_id: str, rows: int) -> Pulled:
        if self.is_input:
            features = self.features.get(request_id)
            if features is None:
                raise UnknownRequest(request_id)
            result = Pulled(None, {}, set(), {})
            result.output = await self.computed([features], len(features), result)
            return self.with_head(result)
        served = await asyncio.gather(
            *(self.pull_role(s, request_id, rows) for s in self.compute.senders)
        )
        pulled = [result for _, result in served]
        merged = Pulled(None, {}, set(), {})
        received: list[np.ndarray | None] = []
        for tried, result in served:
            if isinstance(result, Lost):  # the sender answered; its link lost the message
                merged.lost.add(result.link)
                received.append(None)
                continue
            for process in tried:  # the failed replicas, then the one that answered
                answered = result is not None and process == tried[-1]
                if process in self.failable:
                    merged.alive[process] = merged.alive.get(process, False) or answered
                if not answered:  # a node that cannot fail counts too: a starved machine
                    merged.missed.add(process)
            received.append(None if result is None else result.output)
            if result is not None:
                merged.merge(result)
        arrived = [r for r in pulled if isinstance(r, Pulled)]
        merged.reached = any(r.reached for r in arrived)
        exited = [r for r in arrived if r.answered_by]
        if exited:  # an exit answered below: pass the first (in chain order) on, compute nothing
            first = min(exited, key=lambda r: self.spec.exits.index(r.answered_by))
            merged.answer, merged.answered_by = first.answer, first.answered_by
            return merged
        merged.output = await self.computed(received, rows, merged)
        return self.with_head(merged)

    async def computed(
        self, inputs: list[np.ndarray | None], rows: int, result: Pulled
    ) -> np.ndarray:
        """This node's sub-model on ``inputs`` (batched with others' when a window is set);
        its compute and queueing times go into ``result``."""
        ready = time.perf_counter()
        output, compute_ms = await self.batcher.submit(inputs, rows)
        waited_ms = 1000 * (time.perf_counter() - ready)
        result.compute_ms[self.name] = compute_ms
        result.queue_ms[self.name] = max(0.0, waited_ms - compute_ms)
        return output

    def run_input(self, inputs: list[np.ndarray | None], rows: int) -> np.ndarray:
        """The input node's batch: its features, through its stack."""
        assert inputs[0] is not None
        return self.compute.run_input(inputs[0])

    def with_head(self, result: Pulled) -> Pulled:
        """``result`` with this node's exit head run on its output, if it has one; under the
        threshold rule a reached node whose head is sure (entropy below T) answers."""
        if self.compute.head is None or result.output is None:
            return result
        started = time.perf_counter()
        result.answer = self.compute.head(result.output)
        result.compute_ms[self.name] += 1000 * (time.perf_counter() - started)
        rule = self.spec.exit_rule == "threshold"
        if rule and result.reached and confident(result.answer, self.spec.threshold):
            result.answered_by = self.name
        return result

    async def pull_role(
        self, sender: str, request_id: str, rows: int
    ) -> tuple[list[str], Pulled | Lost | None]:
        """The output of ``sender``'s role: its replicas asked in turn until one answers.
        Returns the processes asked (the answering one last) and its output (None: all dead;
        Lost: the link lost the answer, and the next replica is not asked)."""
        tried: list[str] = []
        for process in self.spec.replicas_of(sender):
            tried.append(process)
            result = await self.pull(process, request_id, rows)
            if result is not None:
                return tried, result
        return tried, None

    async def pull(
        self, sender: str, request_id: str, rows: int, *, head_only: bool = False
    ) -> Pulled | Lost | None:
        """The sender's output, or None when it is (or just turned out to be) dead, or Lost
        when its shaped link lost the reply; ``head_only``: an exit's answer, asked by the
        output node (its tensor is not read, its link not played)."""
        state = self.health.get(sender)
        if state is not None and not state.alive:
            return None  # known dead: no call, no deadline
        timeout = self.spec.deadline_s * self.levels[sender]
        deadline_at = time.monotonic() + timeout
        asked = time.perf_counter()
        features = self.features.get(request_id) if sender in self.topology.devices else None
        call = self.stubs[sender].Output(
            live_pb2.PullRequest(
                request_id=request_id,
                rows=rows,
                features=None if features is None else to_message(features),
            ),
            timeout=timeout,
            metadata=self.metadata,
        )
        try:
            if state is None:
                reply = await call
            else:
                reply = await first_unless_dead(call, state)
                if reply is None:
                    return None
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                if state is not None:
                    state.mark_dead()
            else:
                log(f"{sender} answered {error.code().name}: {error.details()}")
            return None
        link = None if head_only else self.links.get(self.spec.role_of(sender))
        if link is not None:
            payload = len(reply.tensor.data) + len(reply.answer.data)
            if not await carried(link, request_id, payload, deadline_at):
                return Lost(link.name)
        transfer_ms = dict(reply.transfer_ms)
        if not head_only:  # the wait less the sender's own time: the hop's network and gRPC
            hop = link_name(self.spec.role_of(sender), self.spec.role_of(self.name))
            waited_ms = 1000 * (time.perf_counter() - asked)
            transfer_ms[hop] = max(0.0, waited_ms - reply.service_ms)
        if reply.answered_by and reply.answered_by not in self.spec.exits:
            log(f"{sender} passed on an answer of {reply.answered_by!r}, which has no exit")
            return None
        try:
            output = None
            if not (head_only or reply.answered_by):
                spec = self.compute.sender_specs[self.spec.role_of(sender)]
                output = from_message(reply.tensor, spec, rows)
            answer = None
            if reply.HasField("answer"):
                answer = from_message(reply.answer, self.compute.answer_spec, rows)
        except WireError as error:
            log(f"{sender} sent a bad tensor: {error}")
            return None
        if reply.answered_by and answer is None:
            log(f"{sender} passed on an answer of {reply.answered_by} without probabilities")
            return None
        return Pulled(
            output,
            dict(reply.alive),
            set(reply.missed),
            dict(reply.compute_ms),
            reply.reached,
            answer,
            reply.answered_by,
            set(reply.lost),
            dict(reply.queue_ms),
            transfer_ms,
        )

    def guesses(self, request_id: str, rows: int) -> np.ndarray:
        rng = np.random.default_rng([self.spec.seed, zlib.crc32(request_id.encode())])
        prior = np.asarray(self.spec.prior, dtype=float)
        return rng.choice(len(prior), size=rows, p=prior / prior.sum())


async def carried(link: ShapedLink, request_id: str, payload: int, deadline_at: float) -> bool:
    """Play ``link`` for a reply that just arrived: wait until its message would arrive and
    say True, or, when the link loses it or it would come after the deadline, wait the
    deadline out and say False."""
    now = time.monotonic()
    delay = link.delay_s(request_id, payload, now)
    if link.lost(request_id) or now + delay > deadline_at:
        await asyncio.sleep(max(0.0, deadline_at - now))
        return False
    await asyncio.sleep(delay)
    return True


async def first_unless_dead(call: Any, state: SenderHealth) -> Any:
    """The call's reply, or None as soon as the sender is found dead (the call is cancelled)."""
    reply = asyncio.ensure_future(call)
    died = asyncio.ensure_future(state.died.wait())
    done, _ = await asyncio.wait({reply, died}, return_when=asyncio.FIRST_COMPLETED)
    if reply in done:
        died.cancel()
        return reply.result()
    call.cancel()
    reply.cancel()
    return None


def remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
    store[key] = value
    while len(store) > MEMORY:
        store.popitem(last=False)


def log(message: str) -> None:
    """One line in the node's log (its stderr, a file in the deployment folder)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def load_compute(spec: DeploymentSpec, name: str) -> NodeCompute:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)  # five nodes share the cores
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from resilinet_cli.results.model_files import load_model

    model = load_model(Path(spec.model))
    return NodeCompute(model, spec.topology, name, max_rows=spec.max_rows)


async def serve(spec: DeploymentSpec, name: str) -> int:
    server = grpc.aio.server(
        interceptors=[TokenInterceptor(spec.token)],
        options=[*SERVER_OPTIONS, ("grpc.max_receive_message_length", MAX_MESSAGE)],
    )
    checks = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    credentials = server_credentials(spec)
    address = spec.address(name)
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError:
        port = 0
    if port == 0:
        log(f"port {spec.ports[name]} is already in use ({name} at {address})")
        return EXIT_PORT
    servicer = NodeServer(spec, name, load_compute(spec, name))  # port held meanwhile
    gc.freeze()  # TensorFlow's millions of objects out of the collector's way: no 100 ms pauses
    live_pb2_grpc.add_NodeServicer_to_server(servicer, server)
    await server.start()
    watchers = servicer.watch_senders()
    await checks.set("", health_pb2.HealthCheckResponse.SERVING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for watcher in watchers:
        watcher.cancel()
    await server.stop(0.2)
    for channel in servicer.channels.values():
        with contextlib.suppress(Exception):
            await channel.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve one node of a live deployment.")
    parser.add_argument("--spec", required=True, type=Path)
    parser.add_argument("--node", required=True)
    args = parser.parse_args(argv)
    from resilinet_cli.quiet_import import quiet_tensorflow_import

    quiet_tensorflow_import()
    spec = DeploymentSpec.read(args.spec)
    return asyncio.run(serve(spec, args.node))


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # the server is stopped; skip TensorFlow's second-long interpreter teardown
