"""Serving the dashboard's files: only names found in the package's `static/` folder, never a path
built from the request, so nothing outside it can be reached.

Routes have one parameter segment each (`/_/{name}`, `/_/js/{name}`), which keeps them in the
indexed router (a `{path:path}` route would be tried for every API request). Files are loaded on
the first dashboard request, so API-only servers never read them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from satchel.apis.errors import error_response

NOT_FOUND = "The requested resource wasn't found."
FOLDERS = ("", "js")
"""Subfolders of `static/` that are served; a new one needs its route below too."""
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",  # upload previews are blob: URLs; thumbnails come from /api/files
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    # nosniff, X-Frame-Options, Referrer-Policy and COOP: FrontMiddleware adds them to every response
    "Content-Security-Policy": CSP,
    # files keep their names between releases: the browser revalidates (a 304 when unchanged)
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


_assets: dict[str, Asset] | None = None


def load() -> dict[str, Asset]:
    """Every servable file by its URL path under `/_/` (`index.html`, `js/api.js`, ...)."""
    global _assets
    if _assets is None:
        root = resources.files(__package__).joinpath("static")
        found: dict[str, Asset] = {}
        for folder in FOLDERS:
            base = root.joinpath(folder) if folder else root
            for item in base.iterdir():
                suffix = item.name[item.name.rfind(".") :] if "." in item.name else ""
                if not item.is_file() or suffix not in CONTENT_TYPES:
                    continue
                body = item.read_bytes()
                etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
                found[f"{folder}/{item.name}" if folder else item.name] = Asset(body, CONTENT_TYPES[suffix], etag)
        _assets = found
    return _assets


def _send(request: Request, name: str) -> Response:
    asset = load().get(name)
    if asset is None:
        return error_response(404, NOT_FOUND)
    headers = {**SECURITY_HEADERS, "ETag": asset.etag}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else asset.body
    response = Response(body, media_type=asset.content_type, headers=headers)
    if request.method == "HEAD":
        response.headers["content-length"] = str(len(asset.body))
    return response


async def index(request: Request) -> Response:
    return _send(request, "index.html")


async def top_file(request: Request) -> Response:
    return _send(request, request.path_params["name"])


async def js_file(request: Request) -> Response:
    return _send(request, "js/" + request.path_params["name"])


async def to_index(_: Request) -> Response:
    return RedirectResponse("/_/", status_code=301)


_METHODS = ["GET", "HEAD"]
routes = [
    Route("/_", to_index, methods=_METHODS),
    Route("/_/", index, methods=_METHODS),
    Route("/_/{name}", top_file, methods=_METHODS),
    Route("/_/js/{name}", js_file, methods=_METHODS),
]
