"""Reading a request into plain values for core: the body as a dict and `RequestInfo`."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from satchel.apis.client_ip import client_ip
from satchel.core.auth.api_keys import ApiKey
from satchel.core.errors import BadRequestError
from satchel.core.files.uploads import Upload
from satchel.core.records.model import Record
from satchel.core.rules.request_info import CONTEXT_DEFAULT, RequestInfo

LOAD_ERROR = "An error occurred while loading the submitted data."
JSON_PAYLOAD = "@jsonPayload"
MAX_JSON_DEPTH = 64
UPLOAD_CHUNK = 64 << 10
MAX_VALUE_PART = 1 << 20
"""Starlette's own limit for a plain form value (`max_part_size`)."""


def _depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Iterative depth check so hostile nesting cannot exhaust the stack later."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def parse_json_object(raw: bytes | str) -> dict[str, Any]:
    if not raw or not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(LOAD_ERROR) from exc
    if not isinstance(data, dict) or not _depth_ok(data):
        raise BadRequestError(LOAD_ERROR)
    return data


async def read_body(request: Request, *, uploads: bool = False) -> dict[str, Any]:
    """JSON, multipart or urlencoded bodies as one dict (multipart `@jsonPayload` merged in).

    Multipart files become `Upload` values only for endpoints that take them (`uploads`, record
    writes and batches); elsewhere they are left out, as PocketBase's request body never has them.
    """
    if request.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        cached = getattr(request.state, "body_dict", None)
        return cached if isinstance(cached, dict) else {}
    cached = getattr(request.state, "body_dict", None)
    if isinstance(cached, dict):
        return cached
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        body = await _read_form(request, uploads)
    else:
        body = parse_json_object(await request.body())
    request.state.body_dict = body
    return body


async def _read_form(request: Request, uploads: bool) -> dict[str, Any]:
    """PocketBase's multipart rules: repeated keys become lists, `@jsonPayload` objects are merged
    over the plain values, and files come last, after any names sent under the same key (so
    `field` = kept names + new files). A part without a file name is a plain value, as in Go."""
    try:
        form = await request.form(max_files=1000, max_fields=10000)
    except Exception as exc:  # malformed multipart: a client error, never a 500
        raise BadRequestError(LOAD_ERROR) from exc
    body: dict[str, Any] = {}
    payloads: list[str] = []
    files: dict[str, list[Upload]] = {}
    for key, item in form.multi_items():
        value: str
        if isinstance(item, UploadFile):
            if item.filename and uploads:
                files.setdefault(key, []).append(await to_upload(item))  # closed by `closes_form`
                continue
            try:
                if item.filename:
                    continue  # a file this endpoint does not take: never read
                value = await _as_value(item)
            finally:
                await item.close()  # Starlette leaves spooled parts open
        else:
            value = item
        if key == JSON_PAYLOAD:
            payloads.append(value)
        elif key in body:
            prev = body[key]
            body[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            body[key] = value
    for payload in payloads:
        body.update(parse_json_object(payload))
    return add_files(body, files)


def add_files(body: dict[str, Any], files: dict[str, list[Upload]]) -> dict[str, Any]:
    """Each file field holds the names the data keeps, then the new files, as PocketBase reads a
    form (the gRPC API builds its bodies the same way)."""
    for key, parts in files.items():
        if key in body:
            prev = body[key]
            body[key] = [*(prev if isinstance(prev, list) else [prev]), *parts]
        else:
            body[key] = parts
    return body


async def _as_value(part: UploadFile) -> str:
    """A file part without a file name, read as the text value Go's form reader makes of it."""
    if part.size is not None and part.size > MAX_VALUE_PART:
        raise BadRequestError(LOAD_ERROR)
    await part.seek(0)
    return (await part.read(MAX_VALUE_PART + 1)).decode("utf-8", "replace")


async def to_upload(part: UploadFile) -> Upload:
    """A spooled multipart file as a core `Upload`, read from its spool in chunks when needed."""

    async def chunks() -> AsyncIterator[bytes]:
        await part.seek(0)
        while chunk := await part.read(UPLOAD_CHUNK):
            yield chunk

    content_type = part.headers.get("content-type", "")
    return await Upload.open(part.filename or "", chunks, size=part.size, content_type=content_type)


def closes_form(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Close a request's spooled upload files once its endpoint is done (Starlette leaves them open)."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        finally:
            await request.close()

    return wrapper


def request_info(request: Request, body: dict[str, Any] | None = None, context: str = CONTEXT_DEFAULT) -> RequestInfo:
    auth: Record | None = getattr(request.state, "auth", None)
    key: ApiKey | None = getattr(request.state, "api_key", None)
    # ASGI header names are already lower-case bytes: no Headers object needed
    headers = {k.decode("latin-1").replace("-", "_"): v.decode("latin-1") for k, v in request.scope["headers"]}
    return RequestInfo(
        auth=auth,
        method=request.method,
        context=context,
        query=dict(request.query_params),
        headers=headers,
        body=body or {},
        scopes=key.scopes if key is not None else None,
        ip=client_ip(request.scope, request.app.state.satchel.settings.current["trustedProxy"]),
    )
