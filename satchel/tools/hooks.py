"""An async hook chain: handlers wrap the real work and each decides whether to call `next()`.

Before/after behaviour and short-circuits all come from this one mechanism: code before
`await e.next()` runs before the action, code after it runs after, and not calling it stops
the chain (the action does not happen). Semantics follow PocketBase's `tools/hook`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from satchel.tools import probes
from satchel.tools.ids import random_string

_Next = Callable[[], Awaitable[None]]


class Event:
    """Base of hook events. `next()` continues the chain (wired by `Hook.trigger`).

    Not a dataclass itself, so dataclass events can subclass it without the chain state
    becoming a field.
    """

    _next: _Next | None = None

    async def next(self) -> None:
        fn = self._next
        if fn is not None:
            await fn()

    def tags(self) -> tuple[str, ...]:
        """What `TaggedHook` filters on (e.g. a collection's id and name); untagged by default."""
        return ()


E = TypeVar("E", bound=Event)
Handler = Callable[[E], Awaitable[None]]


@dataclass(slots=True)
class _Bound(Generic[E]):
    id: str
    priority: int
    fn: Callable[[E], Awaitable[None]]


class Hook(Generic[E]):
    """Handlers run by ascending priority, ties in bind order, then the one-off (final) handlers."""

    def __init__(self, name: str = "") -> None:
        self._handlers: list[_Bound[E]] = []
        self.name = name
        """What probes report it as (`Hooks` names its hooks after their attributes)."""

    def bind(self, handler: Callable[[E], Awaitable[None]], *, id: str | None = None, priority: int = 0) -> str:
        """Add `handler`; binding an existing id replaces that handler (keeping its bind order)."""
        bound = _Bound(id or self._new_id(), priority, handler)
        for i, existing in enumerate(self._handlers):
            if existing.id == bound.id:
                self._handlers[i] = bound
                break
        else:
            self._handlers.append(bound)
        self._handlers.sort(key=lambda b: b.priority)  # stable: equal priorities keep bind order
        return bound.id

    def bind_func(self, handler: Callable[[E], Awaitable[None]]) -> str:
        return self.bind(handler)

    def _new_id(self) -> str:
        taken = {b.id for b in self._handlers}
        while True:
            candidate = random_string(20)
            if candidate not in taken:
                return candidate

    def unbind(self, *ids: str) -> None:
        self._handlers = [b for b in self._handlers if b.id not in ids]

    def unbind_all(self) -> None:
        self._handlers = []

    def length(self) -> int:
        return len(self._handlers)

    async def trigger(self, event: E, *one_off: Callable[[E], Awaitable[None]]) -> None:
        """Run the chain on `event`; `one_off` handlers (usually the real work) run innermost.

        Exceptions propagate. The event's previous `next` is restored afterwards, so a handler may
        trigger another hook with the same event and still continue its own chain.
        """
        if not self._handlers and len(one_off) == 1:  # the common case: nothing bound, no chain to build
            await one_off[0](event)
            return
        if probes.active:
            await self._trigger_probed(event, one_off)
            return
        await self._run(event, [b.fn for b in self._handlers] + list(one_off))

    async def _trigger_probed(self, event: E, one_off: tuple[Callable[[E], Awaitable[None]], ...]) -> None:
        """`trigger` reporting a `hook.trigger` probe that tells handler errors from the action's."""
        attrs: dict[str, object] = {"hook.name": self.name, "hook.handlers": len(self._handlers)}
        failed: list[bool] = []

        def watched(fn: Callable[[E], Awaitable[None]]) -> Callable[[E], Awaitable[None]]:
            async def run(e: E) -> None:
                try:
                    await fn(e)
                except BaseException:
                    failed.append(True)
                    raise

            return run

        start = time.perf_counter_ns()
        try:
            await self._run(event, [b.fn for b in self._handlers] + [watched(fn) for fn in one_off])
        except BaseException as exc:
            attrs["hook.failed_in"] = "action" if failed else "handler"
            probes.emit("hook.trigger", start, time.perf_counter_ns(), attrs, exc)
            raise
        probes.emit("hook.trigger", start, time.perf_counter_ns(), attrs)

    async def _run(self, event: E, handlers: list[Callable[[E], Awaitable[None]]]) -> None:
        def link(i: int) -> _Next | None:
            if i >= len(handlers):
                return None

            async def run() -> None:
                event._next = link(i + 1)
                await handlers[i](event)

            return run

        previous = event._next
        event._next = link(0)
        try:
            await event.next()
        finally:
            event._next = previous


class TaggedHook(Generic[E]):
    """A view of `hook` whose handlers only run for events tagged with one of `tags` (all if none)."""

    def __init__(self, hook: Hook[E], *tags: str) -> None:
        self.hook = hook
        self.tags = tags

    def can_trigger_on(self, tags: tuple[str, ...] | list[str]) -> bool:
        return not self.tags or any(t in self.tags for t in tags)

    def _filtered(self, handler: Callable[[E], Awaitable[None]]) -> Callable[[E], Awaitable[None]]:
        async def filtered(e: E) -> None:
            if self.can_trigger_on(e.tags()):
                await handler(e)
            else:
                await e.next()

        return filtered

    def bind(self, handler: Callable[[E], Awaitable[None]], *, id: str | None = None, priority: int = 0) -> str:
        return self.hook.bind(self._filtered(handler), id=id, priority=priority)

    def bind_func(self, handler: Callable[[E], Awaitable[None]]) -> str:
        return self.hook.bind_func(self._filtered(handler))

    def unbind(self, *ids: str) -> None:
        self.hook.unbind(*ids)

    def unbind_all(self) -> None:
        """Like PocketBase, this clears the whole underlying hook, not only this view's handlers."""
        self.hook.unbind_all()

    def length(self) -> int:
        return self.hook.length()

    async def trigger(self, event: E, *one_off: Callable[[E], Awaitable[None]]) -> None:
        await self.hook.trigger(event, *one_off)


__all__ = ["Event", "Handler", "Hook", "TaggedHook"]
