"""The one place where errors become HTTP responses, in PocketBase's `{status, message, data}` shape."""

from __future__ import annotations

import logging
import math

from starlette.requests import Request
from starlette.responses import Response

from satchel.apis.middleware.front import API_CSP, SECURITY_HEADERS
from satchel.apis.responses import JSONResponse
from satchel.core.auth.mfa import MFARequiredError
from satchel.core.errors import SatchelError, TooManyRequestsError

log = logging.getLogger("satchel.apis")

STATUS_BY_KIND = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "request_timeout": 408,
    "too_large": 413,
    "too_many_requests": 429,
}

INTERNAL_MESSAGE = "Something went wrong while processing your request."


def error_response(status: int, message: str, data: dict[str, object] | None = None) -> JSONResponse:
    return JSONResponse({"data": data or {}, "message": message, "status": status}, status_code=status)


def render_error(exc: SatchelError) -> JSONResponse:
    if isinstance(exc, MFARequiredError):  # PocketBase answers the first factor with a bare body
        return JSONResponse({"mfaId": exc.mfa_id}, status_code=401)
    status = STATUS_BY_KIND.get(exc.kind, 400)
    response = error_response(status, exc.message, exc.data)
    if isinstance(exc, TooManyRequestsError) and exc.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return response


async def satchel_error_handler(request: Request, exc: Exception) -> Response:
    request.scope.setdefault("state", {})["error"] = exc  # for the request log
    if isinstance(exc, SatchelError):
        return render_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    response = error_response(500, INTERNAL_MESSAGE)
    # sent by Starlette's outermost layer, past the front middleware that adds these to every other response
    response.raw_headers.extend((*SECURITY_HEADERS, API_CSP))
    return response
