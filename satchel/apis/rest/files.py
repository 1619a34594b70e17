"""File serving and file tokens: `GET|HEAD /api/files/{collection}/{recordId}/{filename}` and
`POST /api/files/token` (PocketBase's apis/file.go). Core decides what to serve; this module
adds what HTTP needs (headers, ranges, revalidation)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.blob_response import blob_response
from satchel.apis.request import request_info
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.files.tokens import issue_file_token

CONTENT_SECURITY_POLICY = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
"""Even a file served inline cannot run scripts or load anything (PocketBase's policy)."""
CACHE_CONTROL = "max-age=2592000, stale-while-revalidate=86400"
"""Fresh for 30 days, reusable for one more while revalidating: a file name never changes content."""
TRUE_VALUES = frozenset({"1", "t", "T", "true", "TRUE", "True"})
"""What Go's strconv.ParseBool reads as true (`?download=`)."""


def _app(request: Request) -> App:
    app: App = request.app.state.satchel
    return app


async def download(request: Request) -> Response:
    app = _app(request)
    params, q = request.path_params, request.query_params
    served = await app.files.open(
        params["collection"],
        params["recordId"],
        params["filename"],
        request_info(request),
        token=q.get("token", ""),
        thumb=q.get("thumb", ""),
    )
    disposition = "inline" if served.inline and q.get("download", "") not in TRUE_VALUES else "attachment"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{served.name}"',
        "Content-Type": served.content_type,
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,  # nosniff: FrontMiddleware, on every response
        "Cache-Control": CACHE_CONTROL,
    }
    return blob_response(request, served.store, served.key, served.info, headers)


async def file_token(request: Request) -> Response:
    token = await issue_file_token(_app(request), getattr(request.state, "auth", None))
    return JSONResponse({"token": token})


routes = [
    Route("/api/files/token", file_token, methods=["POST"]),
    Route("/api/files/{collection}/{recordId}/{filename}", download, methods=["GET"]),
]
