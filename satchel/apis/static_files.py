"""Files the server ships (the dashboard, the API docs page), served from memory with an ETag.

Only files loaded by name from package data are ever answered, never a path built from the
request; each is read once, on first use, and revalidated by browsers with `If-None-Match`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from satchel.apis.errors import error_response

NOT_FOUND = "The requested resource wasn't found."
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str

    @staticmethod
    def of(name: str, body: bytes) -> Asset:
        """`body` served as the file `name` (its suffix, one of CONTENT_TYPES, picks the type)."""
        suffix = name[name.rfind(".") :]
        return Asset(body, CONTENT_TYPES[suffix], '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def servable(name: str) -> bool:
    return "." in name and name[name.rfind(".") :] in CONTENT_TYPES


def send_asset(request: Request, asset: Asset | None, headers: Mapping[str, str]) -> Response:
    """`asset` (PocketBase's 404 when None) with `headers`, 304 when the browser has it already."""
    if asset is None:
        return error_response(404, NOT_FOUND)
    all_headers = {**headers, "ETag": asset.etag}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=all_headers)
    body = b"" if request.method == "HEAD" else asset.body
    response = Response(body, media_type=asset.content_type, headers=all_headers)
    if request.method == "HEAD":
        response.headers["content-length"] = str(len(asset.body))
    return response
