"""The async hook chain: ordering, before/after, short-circuits, errors, ids, tags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from satchel.tools.hooks import Event, Hook, TaggedHook


@dataclass(eq=False)
class Ev(Event):
    tag_values: tuple[str, ...] = ()
    log: list[str] = field(default_factory=list)

    def tags(self) -> tuple[str, ...]:
        return self.tag_values


def passing(name: str) -> Callable[[Ev], Awaitable[None]]:
    async def handler(e: Ev) -> None:
        e.log.append(f"{name}:before")
        await e.next()
        e.log.append(f"{name}:after")

    return handler


def stopping(name: str) -> Callable[[Ev], Awaitable[None]]:
    async def handler(e: Ev) -> None:
        e.log.append(name)

    return handler


async def final(e: Ev) -> None:
    e.log.append("final")


async def test_no_handlers_runs_final() -> None:
    e = Ev()
    await Hook[Ev]().trigger(e, final)
    assert e.log == ["final"]


async def test_trigger_without_final() -> None:
    hook: Hook[Ev] = Hook()
    hook.bind_func(passing("a"))
    e = Ev()
    await hook.trigger(e)
    assert e.log == ["a:before", "a:after"]


async def test_before_and_after_nest_in_bind_order() -> None:
    hook: Hook[Ev] = Hook()
    hook.bind_func(passing("a"))
    hook.bind_func(passing("b"))
    e = Ev()
    await hook.trigger(e, final)
    assert e.log == ["a:before", "b:before", "final", "b:after", "a:after"]


async def test_priority_lower_first_then_bind_order() -> None:
    hook: Hook[Ev] = Hook()
    hook.bind(stopping_then_next("p5"), priority=5)
    hook.bind(stopping_then_next("p0-first"))
    hook.bind(stopping_then_next("p-1"), priority=-1)
    hook.bind(stopping_then_next("p0-second"), priority=0)
    e = Ev()
    await hook.trigger(e, final)
    assert e.log == ["p-1", "p0-first", "p0-second", "p5", "final"]


def stopping_then_next(name: str) -> Callable[[Ev], Awaitable[None]]:
    async def handler(e: Ev) -> None:
        e.log.append(name)
        await e.next()

    return handler


async def test_short_circuit_skips_rest_and_final() -> None:
    hook: Hook[Ev] = Hook()
    hook.bind(passing("outer"))
    hook.bind(stopping("stop"))
    hook.bind(passing("never"))
    e = Ev()
    await hook.trigger(e, final)
    assert e.log == ["outer:before", "stop", "outer:after"]


async def test_handler_may_replace_the_result_after_next() -> None:
    @dataclass(eq=False)
    class Result(Event):
        value: int = 0

    hook: Hook[Result] = Hook()

    async def double(e: Result) -> None:
        await e.next()
        e.value *= 2

    async def work(e: Result) -> None:
        e.value = 21

    hook.bind(double)
    e = Result()
    await hook.trigger(e, work)
    assert e.value == 42


async def test_exceptions_propagate_and_stop_the_chain() -> None:
    hook: Hook[Ev] = Hook()
    hook.bind(passing("outer"))

    async def boom(e: Ev) -> None:
        raise RuntimeError("boom")

    hook.bind(boom)
    e = Ev()
    with pytest.raises(RuntimeError, match="boom"):
        await hook.trigger(e, final)
    assert e.log == ["outer:before"]

    async def failing_final(e: Ev) -> None:
        raise ValueError("final failed")

    hook.unbind_all()

    async def catcher(e: Ev) -> None:
        try:
            await e.next()
        except ValueError:
            e.log.append("caught")

    hook.bind(catcher)
    e = Ev()
    await hook.trigger(e, failing_final)
    assert e.log == ["caught"]


async def test_ids_unbind_and_replace() -> None:
    hook: Hook[Ev] = Hook()
    generated = hook.bind_func(stopping_then_next("gen"))
    assert len(generated) == 20
    assert hook.bind(stopping_then_next("a"), id="a") == "a"
    hook.bind(stopping_then_next("b"), id="b")
    assert hook.length() == 3
    # rebinding an id replaces the handler in place
    hook.bind(stopping_then_next("a2"), id="a")
    assert hook.length() == 3
    e = Ev()
    await hook.trigger(e, final)
    assert e.log == ["gen", "a2", "b", "final"]
    hook.unbind("a", "missing", generated)
    assert hook.length() == 1
    e = Ev()
    await hook.trigger(e, final)
    assert e.log == ["b", "final"]
    hook.unbind_all()
    assert hook.length() == 0
    ids = {hook.bind_func(stopping_then_next("x")) for _ in range(50)}
    assert len(ids) == 50


async def test_handlers_bound_during_trigger_wait_for_next_trigger() -> None:
    hook: Hook[Ev] = Hook()

    async def binder(e: Ev) -> None:
        hook.bind(stopping_then_next("late"))
        await e.next()

    hook.bind(binder, id="binder")
    e = Ev()
    await hook.trigger(e, final)
    assert e.log == ["final"]
    hook.unbind("binder")
    e = Ev()
    await hook.trigger(e, final)
    assert e.log == ["late", "final"]


async def test_event_reusable_and_nested_trigger_with_same_event() -> None:
    outer: Hook[Ev] = Hook()
    inner: Hook[Ev] = Hook()
    inner.bind(passing("inner"))

    async def nests(e: Ev) -> None:
        await inner.trigger(e, stopping("inner-final"))
        await e.next()  # still continues the outer chain

    outer.bind(nests)
    e = Ev()
    await outer.trigger(e, final)
    assert e.log == ["inner:before", "inner-final", "inner:after", "final"]
    e.log.clear()
    await outer.trigger(e, final)
    assert e.log == ["inner:before", "inner-final", "inner:after", "final"]
    await e.next()  # outside a trigger: a no-op
    assert e.log[-1] == "final" and len(e.log) == 4


async def test_tagged_hook_filters_by_event_tags() -> None:
    hook: Hook[Ev] = Hook()
    TaggedHook(hook, "posts", "pbc_1").bind(stopping_then_next("posts"))
    TaggedHook(hook).bind_func(stopping_then_next("all"))
    TaggedHook(hook, "users").bind(stopping("users-stop"), priority=-1)
    by_name, by_id, other, untagged = Ev(("pbc_1", "posts")), Ev(("pbc_9", "pbc_1")), Ev(("x", "y")), Ev()
    for e in (by_name, by_id, other, untagged):
        await hook.trigger(e, final)
    assert by_name.log == ["posts", "all", "final"]
    assert by_id.log == ["posts", "all", "final"]
    assert other.log == ["all", "final"]
    assert untagged.log == ["all", "final"]
    users = Ev(("pbc_2", "users"))
    await hook.trigger(users, final)
    assert users.log == ["users-stop"]


async def test_tagged_hook_shares_the_main_hook() -> None:
    hook: Hook[Ev] = Hook()
    tagged = TaggedHook(hook, "posts")
    hid = tagged.bind(stopping_then_next("posts"), id="mine")
    assert hid == "mine" and hook.length() == tagged.length() == 1
    e = Ev(("posts",))
    await tagged.trigger(e, final)
    assert e.log == ["posts", "final"]
    assert tagged.can_trigger_on(["a", "posts"]) and not tagged.can_trigger_on(["a"])
    assert TaggedHook(hook).can_trigger_on([])
    tagged.unbind("mine")
    assert hook.length() == 0
    tagged.bind(stopping("x"))
    tagged.unbind_all()
    assert hook.length() == 0
