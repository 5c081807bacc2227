"""The deployment's client: examples into the IoT node, the cloud's prediction back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np

from resilinet_cli.live import live_pb2, live_pb2_grpc
from resilinet_cli.live.security import channel, metadata
from resilinet_cli.live.spec import DeploymentSpec
from resilinet_cli.live.wire import TensorSpec, from_message, to_message


@dataclass(frozen=True)
class Answer:
    probabilities: np.ndarray
    predictions: np.ndarray
    guess: bool  # no path was left: the predictions are draws from the class prior
    contributed: str  # over topology.alive_columns (nodes, then replicas), 1 = contributed
    mixed: bool  # a node contributed on one path and was treated as dead on another
    compute_ms: dict[str, float]  # node -> its sub-model's compute time
    latency_ms: float  # measured here, around the whole call
    answered_by: str  # the node whose head answered (the output node's: the model's), or guess
    lost: tuple[str, ...] = ()  # shaped links that lost (or were late with) a message of it
    queue_ms: dict[str, float] = field(default_factory=dict)  # node -> inputs in to compute
    transfer_ms: dict[str, float] = field(default_factory=dict)  # link -> network and gRPC


class LiveClient:
    """A blocking client of one deployment's IoT node."""

    def __init__(self, spec: DeploymentSpec) -> None:
        self.spec = spec
        topology = spec.topology
        self.channel = channel(spec, topology.input_node)
        self.stub = live_pb2_grpc.NodeStub(self.channel)
        self.metadata = metadata(spec)
        levels = spec.levels()
        self.timeout = spec.deadline_s * (levels[topology.output_node] + 2) + 5.0

    def infer(self, features: np.ndarray, request_id: str = "") -> Answer:
        started = time.perf_counter()
        reply = self.stub.Infer(self.request(features, request_id), **self.call_options())
        return self.answer(reply, 1000 * (time.perf_counter() - started))

    def infer_future(self, features: np.ndarray, request_id: str = "") -> grpc.Future:
        """The call, sent at once; its reply is read with ``answer`` (load.py's open loop)."""
        return self.stub.Infer.future(self.request(features, request_id), **self.call_options())

    def request(self, features: np.ndarray, request_id: str) -> Any:
        return live_pb2.InferRequest(request_id=request_id, features=to_message(features))

    def call_options(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "metadata": self.metadata}

    def answer(self, reply: Any, latency_ms: float) -> Answer:
        """The cloud's reply, read; ``latency_ms`` as the caller measured it."""
        shape = tuple(reply.probabilities.shape[1:])
        spec = TensorSpec(shape, reply.probabilities.dtype or "float32", self.spec.max_rows)
        return Answer(
            probabilities=from_message(reply.probabilities, spec),
            predictions=np.asarray(reply.predictions, dtype=np.int64),
            guess=reply.guess,
            contributed=reply.alive,  # the proto's field name; it holds the contributed bits
            mixed=reply.mixed,
            compute_ms=dict(reply.compute_ms),
            latency_ms=latency_ms,
            answered_by=reply.answered_by,
            lost=tuple(reply.lost),
            queue_ms=dict(reply.queue_ms),
            transfer_ms=dict(reply.transfer_ms),
        )

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> LiveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
