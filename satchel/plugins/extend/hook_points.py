"""One decorator per hook point: `@app.on_record_create("posts")` binds a handler on `App.hooks`.

A `HookPoint` is a descriptor on the registrar class, so each hook point is one typed line there
and the decorator it yields knows the event type its handlers receive (editors and mypy see it).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from satchel.tools.hooks import Event

if TYPE_CHECKING:
    from satchel.plugins.extend.registrar import Registrar

E = TypeVar("E", bound=Event)
F = TypeVar("F", bound=Callable[..., Awaitable[None]])


@dataclass(frozen=True, slots=True)
class Binding:
    """A handler waiting to be bound on an App (or already bound: registrars record them all)."""

    hook: str
    handler: Callable[[Any], Awaitable[None]]
    tags: tuple[str, ...]
    priority: int
    id: str | None


class HookDecorator(Generic[E]):
    """`@point`, `@point()` or `@point("posts", "comments", priority=-1)`; returns the handler unchanged."""

    def __init__(self, registrar: Registrar, point: HookPoint[E]) -> None:
        self._registrar = registrar
        self._point = point

    @overload
    def __call__(self, handler: F, /) -> F: ...

    @overload
    def __call__(self, *tags: str, priority: int = 0, id: str | None = None) -> Callable[[F], F]: ...

    def __call__(self, *tags: Any, priority: int = 0, id: str | None = None) -> Any:
        if len(tags) == 1 and callable(tags[0]):
            return self._add(tags[0], (), priority, id)
        for tag in tags:
            if not isinstance(tag, str) or not tag:
                raise TypeError(f"{self._point.name}: collection names must be non-empty strings, got {tag!r}")
        if tags and not self._point.tagged:
            raise TypeError(f"{self._point.name} is not about a collection: it takes no collection names")

        def decorate(handler: F) -> F:
            return self._add(handler, tuple(tags), priority, id)

        return decorate

    def _add(self, handler: F, tags: tuple[str, ...], priority: int, id: str | None) -> F:
        if not _is_async(handler):
            raise TypeError(
                f"{self._point.name}: handler {getattr(handler, '__name__', handler)!r} must be an `async def` "
                "function taking the event (and awaiting `e.next()` to go on)"
            )
        self._registrar.add_binding(Binding(self._point.name, handler, tags, priority, id))
        return handler


class HookPoint(Generic[E]):
    """Declares the decorator for `App.hooks.<name>`; `tagged`: its events name a collection."""

    def __init__(self, *, tagged: bool = True) -> None:
        self.tagged = tagged
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> HookPoint[E]: ...

    @overload
    def __get__(self, obj: Registrar, owner: type) -> HookDecorator[E]: ...

    def __get__(self, obj: Registrar | None, owner: type) -> HookPoint[E] | HookDecorator[E]:
        if obj is None:
            return self
        return HookDecorator(obj, self)


def _is_async(fn: object) -> bool:
    return inspect.iscoroutinefunction(fn)
