"""Installs the plugin: the server follows the worker's lifecycle through the serve hooks."""

from __future__ import annotations

from satchel.core.app import App
from satchel.core.hooks import ServeEvent
from satchel.plugins.grpc.config import GrpcConfig
from satchel.plugins.grpc.server import GrpcServer

HOOK_ID = "satchel:grpc"


def install(app: App, config: GrpcConfig) -> GrpcServer:
    server = GrpcServer(app, config)

    async def serve(e: ServeEvent) -> None:
        await server.start()
        await e.next()

    async def terminate(e: ServeEvent) -> None:
        await server.stop()  # first: no call may reach the app once it closes
        await e.next()

    app.hooks.on_serve.bind(serve, id=HOOK_ID)
    app.hooks.on_terminate.bind(terminate, id=HOOK_ID)
    return server
