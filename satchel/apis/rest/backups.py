"""`/api/backups`: list, create, upload, download, delete and restore backups (superusers only).

Downloads are authorised like PocketBase's, by a superuser *file* token in `?token=` (a browser
link cannot carry the Authorization header), and refused outside `superuserIPs` when it is set;
they answer ranges and revalidation like file downloads (an interrupted download can resume).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.blob_response import blob_response
from satchel.apis.client_ip import client_ip
from satchel.apis.guards import require_superuser
from satchel.apis.multipart_stream import first_file
from satchel.apis.request import LOAD_ERROR, read_body
from satchel.apis.responses import JSONResponse, no_content
from satchel.apis.rest.files import CACHE_CONTROL, CONTENT_SECURITY_POLICY
from satchel.core.app import App
from satchel.core.auth.email_flows import find_by_token
from satchel.core.auth.superusers import superuser_ip_allowed
from satchel.core.auth.tokens import TYPE_FILE
from satchel.core.errors import BadRequestError, ForbiddenError
from satchel.tools.datetime import format_dt

NO_ACCESS = "Insufficient permissions to access the resource."


def _app(request: Request) -> App:
    app: App = request.app.state.satchel
    return app


async def list_backups(request: Request) -> Response:
    require_superuser(request)
    backups = await _app(request).backups.list()
    return JSONResponse(
        [
            {"key": b.key, "size": b.size, "modified": format_dt(datetime.fromtimestamp(b.modified, UTC))}
            for b in backups
        ]
    )


async def create_backup(request: Request) -> Response:
    require_superuser(request)
    app = _app(request)
    body: dict[str, Any] = await read_body(request)
    name = body.get("name") or ""
    if not isinstance(name, str):
        raise BadRequestError(LOAD_ERROR)
    await app.backups.create(name)
    return no_content()


async def upload_backup(request: Request) -> Response:
    require_superuser(request)
    part = await first_file(request, "file")
    await _app(request).backups.upload(None if part is None else part.filename, None if part is None else part.chunks)
    return no_content()


async def download_backup(request: Request) -> Response:
    app = _app(request)
    record = await find_by_token(app, request.query_params.get("token", ""), TYPE_FILE)
    if record is None or not record.is_superuser:
        raise ForbiddenError(NO_ACCESS)
    if not superuser_ip_allowed(app.settings.current, client_ip(request.scope, app.settings.current["trustedProxy"])):
        raise ForbiddenError(NO_ACCESS)
    key = request.path_params["key"]
    info = await app.backups.stat(key)
    headers = {
        "Content-Disposition": f'attachment; filename="{key}"',
        "Content-Type": "application/zip",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cache-Control": CACHE_CONTROL,
    }
    return blob_response(request, app.backups.store, key, info, headers)


async def delete_backup(request: Request) -> Response:
    require_superuser(request)
    await _app(request).backups.delete(request.path_params["key"])
    return no_content()


async def restore_backup(request: Request) -> Response:
    require_superuser(request)
    await _app(request).backups.restore(request.path_params["key"])
    return no_content()


routes = [
    Route("/api/backups", list_backups, methods=["GET"]),
    Route("/api/backups", create_backup, methods=["POST"]),
    Route("/api/backups/upload", upload_backup, methods=["POST"]),
    Route("/api/backups/{key}", download_backup, methods=["GET"]),
    Route("/api/backups/{key}", delete_backup, methods=["DELETE"]),
    Route("/api/backups/{key}/restore", restore_backup, methods=["POST"]),
]
