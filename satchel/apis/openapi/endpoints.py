"""`GET /api/openapi.json` (the document for the caller) and `/api/docs` (the interactive page).

The page is Satchel's own HTML and script; Swagger UI's files come from the installed
`swagger-ui-bundle-v2` package (its package data, read from site-packages), never from the network
and never committed here. Every file has a strict Content-Security-Policy: scripts and styles
from this origin only, no inline script. Without the package, the page's own script lists the
operations itself.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.openapi.document import DocumentCache
from satchel.apis.static_files import Asset, send_asset

OWN_FILES = {"index.html": "docs.html", "docs.js": "docs.js", "docs.css": "docs.css"}
"""URL name under /api/docs/ -> file in this package's `static/`."""
BUNDLE_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
"""Swagger UI's files served from its package (nothing else of it is reachable)."""
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    # nosniff, X-Frame-Options, Referrer-Policy and COOP: FrontMiddleware adds them to every response
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
}


_assets: dict[str, Asset] | None = None


def bundle_dir() -> Path | None:
    """Swagger UI's folder inside the installed package, or None without it."""
    try:
        import swagger_ui_bundle  # type: ignore[import-untyped]  # optional: package data, looked for on first use
    except ImportError:
        return None
    path = Path(str(swagger_ui_bundle.swagger_ui_path))
    return path if path.is_dir() else None


def load_assets() -> dict[str, Asset]:
    """Every servable file by its name under /api/docs/, read once on the first docs request."""
    global _assets
    if _assets is None:
        static = resources.files(__package__).joinpath("static")
        found = {url: Asset.of(file, static.joinpath(file).read_bytes()) for url, file in OWN_FILES.items()}
        folder = bundle_dir()
        if folder is not None:
            for name in BUNDLE_FILES:
                if (folder / name).is_file():
                    found[name] = Asset.of(name, (folder / name).read_bytes())
        _assets = found
    return _assets


def _send(request: Request, name: str) -> Response:
    return send_asset(request, load_assets().get(name), PAGE_HEADERS)


def _cache(request: Request) -> DocumentCache:
    state: Any = request.app.state
    cache: DocumentCache | None = getattr(state, "openapi_cache", None)
    if cache is None:
        cache = state.openapi_cache = DocumentCache()
    return cache


async def openapi_json(request: Request) -> Response:
    auth = getattr(request.state, "auth", None)
    superuser = auth is not None and auth.is_superuser
    rendered = _cache(request).get(request.app.state.satchel, request.app.router.routes, superuser=superuser)
    # private: the answer depends on who asks
    headers = {"ETag": rendered.etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
    if rendered.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type="application/json", headers=headers)


async def docs_page(request: Request) -> Response:
    return _send(request, "index.html")


async def docs_file(request: Request) -> Response:
    return _send(request, request.path_params["name"])


routes = [
    Route("/api/openapi.json", openapi_json, methods=["GET"]),
    Route("/api/docs", docs_page, methods=["GET"]),
    Route("/api/docs/{name}", docs_file, methods=["GET"]),
]
