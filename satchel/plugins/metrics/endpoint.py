"""`GET /metrics`: the Prometheus text exposition, behind `Access`.

Refusals use PocketBase's error shape (401 for a missing or wrong token, 403 for an address not on
the allow-list). The exposition is rendered off the event loop: in multiprocess mode it reads and
merges every worker's files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.errors import error_response
from satchel.plugins.metrics.access import Access

PATH = "/metrics"
UNAUTHORIZED = "The request requires a valid metrics token."
FORBIDDEN = "You are not allowed to perform this request."


def metrics_route(access: Access, registry: Callable[[], CollectorRegistry]) -> Route:
    async def metrics(request: Request) -> Response:
        peer = request.client.host if request.client else ""
        if not access.ip_allowed(peer):
            return error_response(403, FORBIDDEN)
        if not access.token_valid(request.headers.get("authorization", "")):
            response = error_response(401, UNAUTHORIZED)
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        source = registry()  # on the loop: it flushes this process's pending observations
        body = await asyncio.to_thread(generate_latest, source)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route(PATH, metrics, methods=["GET"], name="metrics")
