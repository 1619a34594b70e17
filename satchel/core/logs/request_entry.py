"""What a request leaves in `_logs`: PocketBase's request log entry, minus anything secret.

The message is `METHOD /path` (unescaped, as PocketBase shows it in the dashboard); `data` has
PocketBase's keys (type, execTime, method, url, status, auth, authId, userIP, remoteIP, referer,
userAgent, error and details when the request failed), with `authId` only when `logAuthId` is on and
the addresses only when `logIP` is on. The URL keeps its query string like PocketBase's, except the
values of parameters that carry credentials (a file token, an OAuth2 code), which are masked. A
WebSocket session's entry (`GET`, status 101 once accepted) adds `closeCode`, the first close code
either side sent.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import unquote

from satchel.core.logs.model import ERROR, INFO

MAX_URL = 3000
MAX_HEADER = 2000
MAX_METHOD = 50
SECRET_PARAMS = ("token", "code", "password", "secret", "key", "state", "otp")
"""Query parameter names (or parts of them) whose values are masked in logged URLs."""
MASK = "***"


class RequestSummary(NamedTuple):
    """One finished request as the HTTP layer saw it (filled by the request-log middleware).

    A tuple, built positionally: it is all the request path pays for its `_logs` entry; the entry
    itself (`request_entry`) is built when the batch is written.
    """

    method: str
    path: str
    query: str
    status: int
    exec_ms: float
    request_id: str = ""
    route: str = ""
    auth_collection: str = ""
    auth_id: str = ""
    user_ip: str = ""
    remote_ip: str = ""
    referer: str = ""
    user_agent: str = ""
    error: str = ""
    details: dict[str, Any] | None = None
    created: float = 0.0
    """`time.time()` when the request finished (the entry's `created`)."""


class SocketSummary(RequestSummary):
    """A finished WebSocket session: a request summary and the session's close code.

    A subclass rather than one more `RequestSummary` field: a field is one more argument every HTTP
    request's summary pays for (20-50 ns measured), for a value only sessions have.
    """

    close_code: int | None = None
    """The first close code either side sent; None when the session ended without one."""


def masked_query(query: str) -> str:
    """`query` with the values of credential-like parameters replaced by `***`."""
    if not query:
        return ""
    parts = []
    for pair in query.split("&"):
        name, sep, _ = pair.partition("=")
        lowered = unquote(name).lower()
        if sep and any(word in lowered for word in SECRET_PARAMS):
            parts.append(f"{name}={MASK}")
        else:
            parts.append(pair)
    return "&".join(parts)


def request_entry(summary: RequestSummary, settings: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    """(level, message, data) of the `_logs` entry for `summary` under `settings.logs`."""
    method = summary.method.upper()[:MAX_METHOD]
    query = masked_query(summary.query)
    url = (summary.path + ("?" + query if query else ""))[:MAX_URL]
    failed = summary.status >= 400
    data: dict[str, Any] = {"type": "request", "execTime": summary.exec_ms}
    if failed:
        data["error"] = summary.error or "Request failed."
        data["details"] = summary.details or {}
    data.update(
        url=url,
        method=method,
        status=summary.status,
        referer=summary.referer[:MAX_HEADER],
        userAgent=summary.user_agent[:MAX_HEADER],
        auth=summary.auth_collection,
    )
    if summary.auth_id and settings.get("logAuthId"):
        data["authId"] = summary.auth_id
    if settings.get("logIP"):
        data["userIP"] = summary.user_ip
        data["remoteIP"] = summary.remote_ip
    if summary.request_id:
        data["requestId"] = summary.request_id
    if isinstance(summary, SocketSummary) and summary.close_code is not None:
        data["closeCode"] = summary.close_code
    return (ERROR if failed else INFO), f"{method} {unquote(url)}", data
