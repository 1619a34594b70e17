"""The gRPC server of one worker process: `satchel.v1.Records`, the standard health service and
server reflection, on the worker's own event loop (started and stopped with the ASGI app).

With several workers each binds the same port: grpc sets SO_REUSEPORT on Linux, so the kernel
spreads connections over the workers as it does for HTTP.
"""

from __future__ import annotations

import logging
import os

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from satchel.core.app import App
from satchel.plugins.grpc.config import GrpcConfig, GrpcConfigError, parse_address
from satchel.plugins.grpc.gen import records_pb2
from satchel.plugins.grpc.handlers import add_records
from satchel.plugins.grpc.records import Records

log = logging.getLogger("satchel.grpc")

SERVICE = records_pb2.DESCRIPTOR.services_by_name["Records"].full_name
STOP_GRACE = 5.0
"""Seconds calls in flight may take to finish once the worker stops (Watch streams end at once)."""
KEEPALIVE_MS = 60_000
"""Pings on a quiet connection: a Watch whose client vanished without closing is noticed and freed."""
KEEPALIVE_TIMEOUT_MS = 20_000


def server_options(max_body_size: int) -> list[tuple[str, int]]:
    """grpc's options: a request may be as large as a REST body (grpc's own default is 4 MiB)."""
    return [
        ("grpc.so_reuseport", 1),
        ("grpc.max_receive_message_length", max_body_size),
        ("grpc.keepalive_time_ms", KEEPALIVE_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ]


class GrpcServer:
    def __init__(self, app: App, config: GrpcConfig) -> None:
        self.app = app
        self.config = config
        self.port = 0
        """The bound port once started (the configured one, or the one picked for port 0)."""
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None

    async def start(self) -> None:
        interceptors = [make() for make in self.app.grpc_interceptors]  # tracing's server spans
        server = grpc.aio.server(options=server_options(self.app.config.max_body_size), interceptors=interceptors)
        add_records(Records(self.app), server)  # requests decoded in our handlers: bad bytes answer 400
        checks = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(checks, server)
        names = (SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
        host, port = parse_address(self.config.address)
        address = f"{host}:{port}"
        try:
            if self.config.tls:
                credentials = grpc.ssl_server_credentials([self.config.key_pair()])
                self.port = server.add_secure_port(address, credentials)
            else:
                self.port = server.add_insecure_port(address)
        except RuntimeError as exc:
            raise GrpcConfigError(f"--grpc: cannot listen on {address} ({exc})") from exc
        await server.start()
        for name in ("", SERVICE):
            await checks.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._server, self._health = server, checks
        log.info("gRPC listening", extra={"pid": os.getpid(), "address": address, "tls": self.config.tls})

    async def stop(self) -> None:
        server, checks = self._server, self._health
        self._server = self._health = None
        if checks is not None:
            await checks.enter_graceful_shutdown()
        if server is not None:
            await server.stop(STOP_GRACE)
