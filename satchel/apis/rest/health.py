"""`GET /api/health`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.responses import JSONResponse


async def health(request: Request) -> Response:
    return JSONResponse({"message": "API is healthy.", "code": 200, "data": {}})


routes = [Route("/api/health", health, methods=["GET", "HEAD"])]
