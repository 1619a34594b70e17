"""Starlette's router with the candidate routes for a path looked up, not scanned.

Starlette tries every route's regex in order; with two dozen routes the ones near the end
(`/api/health`, the collections API) paid ~17 us per request for the scan alone (measured
in-process). Routes here are indexed by segment count and literal last segment, so a request
only tries the few routes that could match, in their original order. Anything the index cannot
answer (no candidate, a root path) goes to Starlette's own scan, which keeps 404, 405 and
slash-redirect behaviour exactly as before. WebSocket routes are left out of the index: a
websocket scope is always dispatched by the scan (an HTTP scope never matches them anyway).
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
        self._indexed = all(_indexable(r) for r in self.routes if not isinstance(r, WebSocketRoute))
        if self._indexed:
            self._build()

    def _build(self) -> None:
        shapes = [(r, _shape(r.path)) for r in self.routes if isinstance(r, Route)]
        literal_keys = {(n, last) for _, (n, last) in shapes if last is not None}
        for key in literal_keys:
            # original order across literal and parameter routes, so precedence is unchanged
            self._literal[key] = tuple(r for r, (n, last) in shapes if n == key[0] and last in (key[1], None))
        for n in {n for _, (n, _) in shapes}:
            self._wild[n] = tuple(r for r, (m, last) in shapes if m == n and last is None)

    def _candidates(self, path: str) -> tuple[BaseRoute, ...]:
        n = path.count("/")
        hit = self._literal.get((n, path[path.rfind("/") + 1 :]))
        return hit if hit is not None else self._wild.get(n, ())

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._indexed and scope["type"] == "http" and not scope.get("root_path"):
            partial: tuple[BaseRoute, Scope] | None = None
            for route in self._candidates(scope["path"]):
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
        await super().app(scope, receive, send)
