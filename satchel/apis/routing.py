"""Starlette's router with the candidate routes for a path looked up, not scanned.

Starlette tries every route's regex in order; with two dozen routes the ones near the end
(`/api/health`, the collections API) paid ~17 us per request for the scan alone (measured
in-process). Routes here are indexed by segment count and literal last segment, so a request
only tries the few routes that could match, in their original order. Routes the index cannot place (a `{path:path}`
parameter, a mount: plugins and Python hooks may add them) are candidates for every path, still
in their original order, so one such route does not send every request back to the scan.

When no candidate matches, no route can: the request is answered 404 at once (a 404 used to
cost ~100 us of scanning), unless the path with or without a trailing slash would match, which
goes to Starlette's own handling so the slash redirect behaves exactly as before. WebSocket
routes are left out of the index: a websocket scope is always dispatched by the scan (an HTTP
scope never matches them anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.convertors import StringConvertor
from starlette.routing import BaseRoute, Match, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

_Key = tuple[int, str]


def _shape(path: str) -> tuple[int, str | None]:
    """(slash count, literal last segment or None when the last segment is a parameter)."""
    last = path[path.rfind("/") + 1 :]
    return path.count("/"), (None if "{" in last else last)


def _indexable(route: BaseRoute) -> bool:
    """Plain routes whose parameters are whole `{name}` segments of the default str convertor."""
    if not isinstance(route, Route):
        return False
    if not all(isinstance(c, StringConvertor) for c in route.param_convertors.values()):
        return False
    return all(
        "{" not in seg or (seg.startswith("{") and seg.endswith("}") and seg.count("{") == 1)
        for seg in route.path.split("/")
    )


class IndexedRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self._literal: dict[_Key, tuple[BaseRoute, ...]] = {}
        self._wild: dict[int, tuple[BaseRoute, ...]] = {}
        self._always: tuple[BaseRoute, ...] = ()
        self._build()

    def _build(self) -> None:
        http = [r for r in self.routes if not isinstance(r, WebSocketRoute)]
        shapes = {id(r): _shape(r.path) for r in http if _indexable(r)}  # type: ignore[attr-defined]
        self._always = tuple(r for r in http if id(r) not in shapes)

        def among(keep: Any) -> tuple[BaseRoute, ...]:
            # original order across indexed and unplaceable routes, so precedence is unchanged
            return tuple(r for r in http if id(r) not in shapes or keep(*shapes[id(r)]))

        literal_keys = {(n, last) for n, last in shapes.values() if last is not None}
        for n, literal in literal_keys:
            self._literal[(n, literal)] = among(lambda m, last, n=n, lit=literal: m == n and last in (lit, None))
        for n in {n for n, _ in shapes.values()}:
            self._wild[n] = among(lambda m, last, n=n: m == n and last is None)

    def _candidates(self, path: str) -> tuple[BaseRoute, ...]:
        n = path.count("/")
        hit = self._literal.get((n, path[path.rfind("/") + 1 :]))
        return hit if hit is not None else self._wild.get(n, self._always)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await super().app(scope, receive, send)
            return
        path: str = scope["path"]
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self._candidates(path):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.setdefault("router", self)
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            scope.setdefault("router", self)
            scope["route"] = partial[0]
            scope.update(partial[1])
            await partial[0].handle(scope, receive, send)
            return
        if self.redirect_slashes and path != "/" and self._slash_variant_matches(scope):
            await super().app(scope, receive, send)  # Starlette's redirect, exactly as it does it
            return
        scope.setdefault("router", self)
        await self.default(scope, receive, send)

    def _slash_variant_matches(self, scope: Scope) -> bool:
        path: str = scope["path"]
        other = {**scope, "path": path.rstrip("/") if path.endswith("/") else path + "/"}
        return any(route.matches(other)[0] is not Match.NONE for route in self._candidates(other["path"]))
