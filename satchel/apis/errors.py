"""The one place where errors become HTTP responses, in PocketBase's `{status, message, data}` shape.

An exception that is not a `SatchelError` is a bug (Satchel's or a hook's): the client gets
PocketBase's generic 500 and nothing of the exception (its text may carry values, paths or
credentials a driver echoed), `--dev` included, as PocketBase does; the traceback goes to the logs
with the request id, so the `_logs` request entry, the stdout line and the traceback join up.
"""

from __future__ import annotations

import logging
import math

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

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
    """Starlette's handler for the errors routes raise on purpose (`SatchelError`)."""
    return exception_response(request.scope, exc)


def exception_response(scope: Scope, exc: Exception) -> Response:
    """The answer to `exc`, which is left in the scope for the request log (that logs its type
    only, never its text). An unexpected exception is PocketBase's generic 500, and its traceback
    is logged with the request id (`extra`): the app log entry joins the response's `X-Request-Id`
    and the request entry."""
    state = scope.setdefault("state", {})
    state["error"] = exc
    if isinstance(exc, SatchelError):
        return render_error(exc)
    log.error(
        "unhandled error on %s %s",
        scope.get("method", ""),
        scope.get("path", ""),
        exc_info=exc,
        extra={"requestId": state.get("request_id", "")},
    )
    return error_response(500, INTERNAL_MESSAGE)
