"""`POST /api/batch`: several record writes in one transaction, PocketBase's wire format.

Sub-requests go straight to the records service inside one outer transaction (the service's
own transactions nest as savepoints), so either every write commits or none does, and
realtime events and after-success hooks fire only after the outer commit.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.errors import STATUS_BY_KIND
from satchel.apis.request import closes_form, read_body, request_info
from satchel.apis.responses import JSONResponse
from satchel.core.app import App
from satchel.core.errors import BadRequestError, ForbiddenError, SatchelError
from satchel.core.files.uploads import Upload
from satchel.core.rules.request_info import RequestInfo

CONTEXT_BATCH = "batch"
_RECORDS = re.compile(r"^/api/collections/(?P<collection>[^/?]+)/records(?:/(?P<id>[^/?]+))?$")

Handler = Callable[[], Awaitable[tuple[int, Any]]]


class _SubRequestFailed(Exception):
    def __init__(self, index: int, error: SatchelError) -> None:
        super().__init__(error.message)
        self.index = index
        self.error = error


def _error_json(err: SatchelError) -> dict[str, Any]:
    status = STATUS_BY_KIND.get(err.kind, 400)
    return {"data": err.data, "message": err.message, "status": status}


def _invalid(message: str) -> BadRequestError:
    return BadRequestError(message)


def _validate(body: dict[str, Any], max_requests: int) -> list[dict[str, Any]]:
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise BadRequestError(
            "Invalid batch request data.",
            {"requests": {"code": "validation_required", "message": "Cannot be blank."}},
        )
    if len(requests) > max_requests:
        raise BadRequestError(
            "Invalid batch request data.",
            {
                "requests": {
                    "code": "validation_length_too_long",
                    "message": f"The length must be no more than {max_requests}.",
                }
            },
        )
    for item in requests:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("method"), str)
            or not isinstance(item.get("url"), str)
        ):
            raise _invalid("Invalid batch request data.")
    return requests


def _handler(app: App, item: dict[str, Any], base: RequestInfo) -> Handler:
    method = str(item["method"]).upper()
    parts = urlsplit(str(item["url"]))
    m = _RECORDS.match(parts.path)
    query = dict(parse_qsl(parts.query))
    body = item.get("body") or {}
    if m is None or not isinstance(body, dict):
        raise BadRequestError("Invalid batch request data.")
    collection = unquote(m.group("collection"))
    record_id = unquote(m.group("id") or "")
    # the caller's address and an API key's scopes carry over to every sub-request
    info = replace(base, method=method, context=CONTEXT_BATCH, query=query, body=body)
    expand, fields = query.get("expand", ""), query.get("fields", "")

    async def create() -> tuple[int, Any]:
        return 200, await app.records.create(collection, body, info, expand, fields)

    async def update() -> tuple[int, Any]:
        return 200, await app.records.update(collection, record_id, body, info, expand, fields)

    async def delete() -> tuple[int, Any]:
        await app.records.delete(collection, record_id, info)
        return 204, None

    async def upsert() -> tuple[int, Any]:
        given = body.get("id")
        c = app.records.collection(collection)
        if isinstance(given, str) and given and await app.records.get_by_id(c, given) is not None:
            info.method = "PATCH"
            return 200, await app.records.update(collection, given, body, info, expand, fields)
        info.method = "POST"
        return await create()

    table: dict[tuple[str, bool], Handler] = {
        ("POST", False): create,
        ("PUT", False): upsert,
        ("PATCH", True): update,
        ("DELETE", True): delete,
    }
    handler = table.get((method, bool(record_id)))
    if handler is None:
        raise BadRequestError("Invalid batch request data.")
    return handler


async def _attach_files(body: dict[str, Any], requests: list[dict[str, Any]]) -> None:
    """Multipart files under `requests.N.field` or `requests[N].field` go to request N's body as
    `field`, replacing any value sent there, as PocketBase does; each is re-offered under its
    stored name (PocketBase re-sends it that way, so its name gets a second random part)."""
    uploads = {k: [v for v in vs if isinstance(v, Upload)] for k, vs in body.items() if isinstance(vs, list)}
    for i, item in enumerate(requests):
        found: dict[str, list[Upload]] = {}
        for prefix in (f"requests.{i}.", f"requests[{i}]."):
            for key, files in uploads.items():
                if key.startswith(prefix) and files:
                    found.setdefault(key[len(prefix) :], []).extend([await f.renamed() for f in files])
        if not found:
            continue
        sub = item.get("body")
        if sub is None:
            sub = item["body"] = {}
        if isinstance(sub, dict):
            sub.update(found)


@closes_form
async def batch(request: Request) -> Response:
    app: App = request.app.state.satchel
    settings = app.settings.current["batch"]
    if not settings.get("enabled"):
        raise ForbiddenError("Batch requests are not allowed.")
    body = await read_body(request, uploads=True)
    requests = _validate(body, int(settings.get("maxRequests") or 50))
    await _attach_files(body, requests)
    base = request_info(request, body)
    handlers = [_handler(app, item, base) for item in requests]
    timeout = float(settings.get("timeout") or 3)
    results: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(timeout), app.db.transaction():
            for i, handler in enumerate(handlers):
                try:
                    status, out = await handler()
                except SatchelError as exc:
                    raise _SubRequestFailed(i, exc) from exc
                results.append({"status": status, "body": out})
    except _SubRequestFailed as failed:
        raise BadRequestError(
            "Batch transaction failed.",
            {
                "requests": {
                    str(failed.index): {
                        "code": "batch_request_failed",
                        "message": "Batch request failed.",
                        "response": _error_json(failed.error),
                    }
                }
            },
        ) from failed
    except TimeoutError as exc:
        raise BadRequestError("Batch transaction failed.") from exc
    return JSONResponse(results)


routes = [Route("/api/batch", batch, methods=["POST"])]
