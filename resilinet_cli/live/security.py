"""Who may talk to a node: the shared token on every call, and optional TLS or mutual TLS.

Nodes bind 127.0.0.1 unless told otherwise (``--host``; ``--hosts netns``: each its own
address, which its certificate names). Every call carries the deployment's token as
metadata; a call without it (a process outside the deployment) is refused with
UNAUTHENTICATED before any handler runs. With TLS the server presents its certificate; with
mutual TLS it also demands a client certificate signed by the same authority.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from resilinet_cli.live.spec import TOKEN_KEY, DeploymentSpec

# Reconnect quickly to a node that comes back: gRPC's default backoff starts at 1 s and grows
# to 2 min, far longer than a restart. Servers refuse to share a port (SO_REUSEPORT is on by
# default in gRPC), so a port in use is an error, not a silent second listener.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 250),
    ("grpc.enable_retries", 0),
]
SERVER_OPTIONS = [("grpc.so_reuseport", 0)]
MAX_MESSAGE = 256 * 1024 * 1024  # gRPC's own ceiling; each tensor is checked against its spec


def metadata(spec: DeploymentSpec) -> tuple[tuple[str, str], ...]:
    return ((TOKEN_KEY, spec.token),)


def server_credentials(spec: DeploymentSpec) -> grpc.ServerCredentials | None:
    if spec.tls is None:
        return None
    pair = (Path(spec.tls.key).read_bytes(), Path(spec.tls.cert).read_bytes())
    return grpc.ssl_server_credentials(
        [pair],
        root_certificates=Path(spec.tls.ca).read_bytes() if spec.tls.mutual else None,
        require_client_auth=spec.tls.mutual,
    )


def channel_options(spec: DeploymentSpec) -> list[tuple[str, Any]]:
    options = [*CHANNEL_OPTIONS, ("grpc.max_receive_message_length", MAX_MESSAGE)]
    if spec.tls is not None and spec.tls.server_name:
        options.append(("grpc.ssl_target_name_override", spec.tls.server_name))
    return options


def channel_credentials(spec: DeploymentSpec) -> grpc.ChannelCredentials | None:
    if spec.tls is None:
        return None
    key = cert = None
    if spec.tls.mutual:  # a node presents its own certificate to the nodes it calls
        key, cert = Path(spec.tls.key).read_bytes(), Path(spec.tls.cert).read_bytes()
    return grpc.ssl_channel_credentials(Path(spec.tls.ca).read_bytes(), key, cert)


def aio_channel(spec: DeploymentSpec, node: str) -> grpc.aio.Channel:
    credentials = channel_credentials(spec)
    options = channel_options(spec)
    if credentials is None:
        return grpc.aio.insecure_channel(spec.address(node), options=options)
    return grpc.aio.secure_channel(spec.address(node), credentials, options=options)


def channel(spec: DeploymentSpec, node: str) -> grpc.Channel:
    """A blocking channel, for the parent and the live-eval client."""
    credentials = channel_credentials(spec)
    options = channel_options(spec)
    if credentials is None:
        return grpc.insecure_channel(spec.address(node), options=options)
    return grpc.secure_channel(spec.address(node), credentials, options=options)


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuse, with UNAUTHENTICATED, every call that does not carry the deployment's token."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

        async def refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong token")

        self._refuse = grpc.unary_unary_rpc_method_handler(refuse)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        given = dict(details.invocation_metadata or ()).get(TOKEN_KEY, "")
        given = given.encode() if isinstance(given, str) else given
        if hmac.compare_digest(given, self._token):
            return await continuation(details)
        return self._refuse
