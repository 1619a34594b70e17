"""Counts and times every HTTP request by method, route template and status.

The route is the template Starlette matched (`/api/collections/{collection}/records/{id}`), read
from the scope after the router ran: never the raw path, so a scan of random URLs cannot grow the
number of series. Unmatched requests share one `route="unmatched"`; methods outside the standard
set are counted as `OTHER`. Long-lived responses (SSE streams) are timed until they end.

A WebSocket session is counted the same way, when it ends: `GET`, its route template, the status
its request-log entry has (101 once accepted, the refusal's status otherwise, left in the scope by
the request log: this layer then wraps none of the session's messages), timed from the handshake to
the close, as an SSE stream is.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from satchel.apis.middleware.request_log import SOCKET_STATUS
from satchel.plugins.metrics.batch import Cells, CounterCell, HistogramCell
from satchel.plugins.metrics.instruments import Instruments

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    def __init__(self, asgi: ASGIApp, instruments: Instruments, cells: Cells) -> None:
        self.asgi = asgi
        self.m = instruments
        self.cells = cells
        self._children: dict[tuple[str, str, int], tuple[CounterCell, HistogramCell]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self._session(scope, receive, send)
            else:
                await self.asgi(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception before any response is what the server error handler answers

        async def sender(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.asgi(scope, receive, sender)
        finally:
            self._observe(scope, status, time.perf_counter() - start)

    async def _session(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        try:
            await self.asgi(scope, receive, send)
        finally:
            status = (scope.get("state") or {}).get(SOCKET_STATUS, 500)
            path = getattr(scope.get("route"), "path", None)
            key = ("GET", path if isinstance(path, str) else UNMATCHED, status)
            counter, histogram = self._cells(key)
            counter.inc()
            histogram.observe(time.perf_counter() - start)

    def _cells(self, key: tuple[str, str, int]) -> tuple[CounterCell, HistogramCell]:
        children = self._children.get(key)
        if children is None:
            labels = (key[0], key[1], str(key[2]))
            children = self._children[key] = (
                self.cells.counter(self.m.http_requests, *labels),
                self.cells.histogram(self.m.http_duration, *labels),
            )
        return children

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None)
        method = scope["method"]
        key = (method if method in _METHODS else "OTHER", path if isinstance(path, str) else UNMATCHED, status)
        children = self._children.get(key)
        if children is None:
            labels = (key[0], key[1], str(status))
            children = self._children[key] = (
                self.cells.counter(self.m.http_requests, *labels),
                self.cells.histogram(self.m.http_duration, *labels),
            )
        children[0].inc()
        children[1].observe(seconds)
