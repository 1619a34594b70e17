"""Custom routes: a handler taking a `RouteEvent` wrapped as a Starlette route for `App.routes`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from satchel.apis.request import closes_form
from satchel.apis.responses import JSONResponse, no_content
from satchel.plugins.extend.route_event import RouteEvent

RouteHandler = Callable[[RouteEvent], Awaitable[Any]]


def to_response(result: Any) -> Response:
    """A handler may return a Response, None (204) or anything JSON-encodable (200)."""
    if isinstance(result, Response):
        return result
    if result is None:
        return no_content()
    return JSONResponse(result)


def custom_route(path: str, handler: Callable[..., Any], methods: Sequence[str], name: str | None) -> Route:
    if not path.startswith("/"):
        raise ValueError(f"route {path!r}: the path must start with '/'")
    if not inspect.iscoroutinefunction(handler):
        raise TypeError(
            f"route {path}: handler {getattr(handler, '__name__', handler)!r} must be an `async def` function "
            "taking the event"
        )

    @closes_form
    async def endpoint(request: Request) -> Response:
        return to_response(await handler(RouteEvent(request)))

    return Route(path, endpoint, methods=[m.upper() for m in methods], name=name or getattr(handler, "__name__", None))
