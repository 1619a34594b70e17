"""An async hook chain: handlers wrap the real work and each decides whether to call `next()`.

Before/after behaviour and short-circuits all come from this one mechanism: code before
`await e.next()` runs before the action, code after it runs after, and not calling it stops
the chain (the action does not happen).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar


class Event:
    """Base of hook events. `next()` continues the chain (set by `Hook.trigger`)."""

    _next: Callable[[], Awaitable[None]] | None = None

    async def next(self) -> None:
        fn = self._next
        if fn is not None:
            await fn()

    def tags(self) -> tuple[str, ...]:
        return ()


E = TypeVar("E", bound=Event)
Handler = Callable[[E], Awaitable[None]]
_ids = itertools.count(1)


@dataclass(slots=True)
class _Bound(Generic[E]):
    id: str
    priority: int
    order: int
    fn: Callable[[E], Awaitable[None]]


class Hook(Generic[E]):
    def __init__(self) -> None:
        self._handlers: list[_Bound[E]] = []

    def bind(self, handler: Callable[[E], Awaitable[None]], *, id: str | None = None, priority: int = 0) -> str:
        hid = id or f"h{next(_ids)}"
        self.unbind(hid)
        self._handlers.append(_Bound(hid, priority, next(_ids), handler))
        self._handlers.sort(key=lambda b: (b.priority, b.order))
        return hid

    bind_func = bind

    def unbind(self, *ids: str) -> None:
        self._handlers = [b for b in self._handlers if b.id not in ids]

    def unbind_all(self) -> None:
        self._handlers = []

    def length(self) -> int:
        return len(self._handlers)

    async def trigger(self, event: E, final: Callable[[E], Awaitable[None]]) -> None:
        if not self._handlers:  # the common case: no hooks bound, no chain to build
            await final(event)
            return
        handlers = [b.fn for b in self._handlers]
        previous = event._next

        async def step(i: int) -> None:
            if i < len(handlers):
                event._next = lambda: step(i + 1)
                await handlers[i](event)
            else:
                event._next = previous
                await final(event)

        try:
            await step(0)
        finally:
            event._next = previous


class TaggedHook(Generic[E]):
    """A view of a hook whose handlers only run for events tagged with one of `tags`."""

    def __init__(self, hook: Hook[E], *tags: str) -> None:
        self.hook = hook
        self.tags = frozenset(tags)

    def bind(self, handler: Callable[[E], Awaitable[None]], *, id: str | None = None, priority: int = 0) -> str:
        tags = self.tags

        async def filtered(e: E) -> None:
            if not tags or tags.intersection(e.tags()):
                await handler(e)
            else:
                await e.next()

        return self.hook.bind(filtered, id=id, priority=priority)

    def unbind(self, *ids: str) -> None:
        self.hook.unbind(*ids)


__all__ = ["Any", "Event", "Handler", "Hook", "TaggedHook"]
