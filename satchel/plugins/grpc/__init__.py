"""gRPC API: `satchel.v1.Records` (record CRUD and change events), health and reflection.

Off unless asked for (`satchel serve --grpc HOST:PORT`, or `SATCHEL_GRPC`): with it off nothing
here is imported. Every call drives the same core services as REST, under the same rules, tokens
and rate limits. The .proto is proto/satchel/v1/records.proto; see docs/grpc.md.

This package imports grpcio only inside `register`: the library must never be loaded in the
process that forks the workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.plugins.grpc.config import GrpcConfig, GrpcConfigError

if TYPE_CHECKING:
    from satchel.core.app import App
    from satchel.plugins.grpc.server import GrpcServer


def register(app: App, config: GrpcConfig) -> GrpcServer:
    """The worker's gRPC server, started when the worker serves and stopped when it terminates."""
    from satchel.plugins.grpc.plugin import install

    return install(app, config)


__all__ = ["GrpcConfig", "GrpcConfigError", "register"]
