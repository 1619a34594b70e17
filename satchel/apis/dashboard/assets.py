"""Serving the dashboard's files: only names found in the package's `static/` folder, never a path
built from the request, so nothing outside it can be reached.

Routes have one parameter segment each (`/_/{name}`, `/_/js/{name}`), which keeps them in the
indexed router (a `{path:path}` route would be tried for every API request). Files are loaded on
the first dashboard request, so API-only servers never read them.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from satchel.apis.static_files import Asset, send_asset, servable

FOLDERS = ("", "js")
"""Subfolders of `static/` that are served; a new one needs its route below too."""
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
                if not item.is_file() or not servable(item.name):
                    continue
                found[f"{folder}/{item.name}" if folder else item.name] = Asset.of(item.name, item.read_bytes())
        _assets = found
    return _assets


def _send(request: Request, name: str) -> Response:
    return send_asset(request, load().get(name), SECURITY_HEADERS)


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
