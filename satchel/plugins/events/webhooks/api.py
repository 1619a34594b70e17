"""`/api/webhooks`: superuser-only management of webhooks, their attempts and dead letters."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.guards import require_superuser
from satchel.apis.request import read_body
from satchel.apis.responses import JSONResponse, no_content
from satchel.plugins.events.webhooks.service import WebhooksService


def routes(service: WebhooksService) -> list[Route]:
    async def list_hooks(request: Request) -> Response:
        require_superuser(request)
        return JSONResponse(await service.list())

    async def create_hook(request: Request) -> Response:
        require_superuser(request)
        return JSONResponse(await service.create(await read_body(request)))

    async def view_hook(request: Request) -> Response:
        require_superuser(request)
        return JSONResponse(await service.view(request.path_params["id"]))

    async def update_hook(request: Request) -> Response:
        require_superuser(request)
        return JSONResponse(await service.update(request.path_params["id"], await read_body(request)))

    async def delete_hook(request: Request) -> Response:
        require_superuser(request)
        await service.delete(request.path_params["id"])
        return no_content()

    async def attempts(request: Request) -> Response:
        require_superuser(request)
        return JSONResponse(await service.attempts(request.path_params["id"], dict(request.query_params)))

    async def dead_letters(request: Request) -> Response:
        require_superuser(request)
        return JSONResponse(await service.dead_letters(request.path_params["id"]))

    async def replay(request: Request) -> Response:
        require_superuser(request)
        return JSONResponse(await service.replay(request.path_params["id"], request.path_params["letter"]))

    async def replay_all(request: Request) -> Response:
        require_superuser(request)
        return JSONResponse(await service.replay_all(request.path_params["id"]))

    return [
        Route("/api/webhooks", list_hooks, methods=["GET"]),
        Route("/api/webhooks", create_hook, methods=["POST"]),
        Route("/api/webhooks/{id}", view_hook, methods=["GET"]),
        Route("/api/webhooks/{id}", update_hook, methods=["PATCH"]),
        Route("/api/webhooks/{id}", delete_hook, methods=["DELETE"]),
        Route("/api/webhooks/{id}/attempts", attempts, methods=["GET"]),
        Route("/api/webhooks/{id}/dead-letters", dead_letters, methods=["GET"]),
        Route("/api/webhooks/{id}/dead-letters/replay", replay_all, methods=["POST"]),
        Route("/api/webhooks/{id}/dead-letters/{letter}/replay", replay, methods=["POST"]),
    ]
