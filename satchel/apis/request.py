"""Reading a request into plain values for core: the body as a dict and `RequestInfo`."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request

from satchel.apis.client_ip import client_ip
from satchel.core.auth.api_keys import ApiKey
from satchel.core.errors import BadRequestError
from satchel.core.records.model import Record
from satchel.core.rules.request_info import CONTEXT_DEFAULT, RequestInfo

LOAD_ERROR = "An error occurred while loading the submitted data."
JSON_PAYLOAD = "@jsonPayload"
MAX_JSON_DEPTH = 64


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


async def read_body(request: Request) -> dict[str, Any]:
    """JSON, multipart or urlencoded bodies as one dict (multipart `@jsonPayload` merged in)."""
    if request.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        cached = getattr(request.state, "body_dict", None)
        return cached if isinstance(cached, dict) else {}
    cached = getattr(request.state, "body_dict", None)
    if isinstance(cached, dict):
        return cached
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        body = await _read_form(request)
    else:
        body = parse_json_object(await request.body())
    request.state.body_dict = body
    return body


async def _read_form(request: Request) -> dict[str, Any]:
    try:
        form = await request.form(max_files=1000, max_fields=10000)
    except Exception as exc:  # malformed multipart: a client error, never a 500
        raise BadRequestError(LOAD_ERROR) from exc
    body: dict[str, Any] = {}
    files: dict[str, list[UploadFile]] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            files.setdefault(key, []).append(value)
            continue
        if key == JSON_PAYLOAD:
            body.update(parse_json_object(value))
            continue
        if key in body:
            prev = body[key]
            body[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            body[key] = value
    request.state.files = files
    return body


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
