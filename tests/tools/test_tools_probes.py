"""Probes: listener lifecycle, the hook-chain and filter-parser call sites (tools layer)."""

from __future__ import annotations

import uuid

import pytest

from satchel.tools import probes
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse
from satchel.tools.hooks import Event, Hook
from tests.probe_recording import recording


def test_probes_are_inactive_without_listeners_and_a_broken_listener_is_contained() -> None:
    assert probes.active is False

    def broken(*_: object) -> None:
        raise RuntimeError("listener bug")

    with recording() as rec:
        probes.listen(broken)
        try:
            assert probes.active is True
            probes.instant("ratelimit.reject", {"ratelimit.label": "x"})
        finally:
            probes.unlisten(broken)
    assert probes.active is False
    [fired] = rec.fired
    assert (fired.name, fired.attrs, fired.start_ns == fired.end_ns) == (
        "ratelimit.reject",
        {"ratelimit.label": "x"},
        True,
    )


@pytest.mark.parametrize(
    ("sql", "operation"),
    [
        ("SELECT 1", "SELECT"),
        ("  insert into t values (?)", "INSERT"),
        ("SAVEPOINT sp1", "SAVEPOINT"),
        ("ROLLBACK TO grp", "ROLLBACK"),
        ("EXPLAIN QUERY PLAN SELECT 1", "OTHER"),
        ("", "OTHER"),
    ],
)
def test_sql_operation_is_a_bounded_label(sql: str, operation: str) -> None:
    assert probes.sql_operation(sql) == operation


async def test_a_hook_with_nothing_bound_is_not_probed_and_a_bound_one_reports_its_name() -> None:
    hook: Hook[Event] = Hook("on_thing")

    async def action(e: Event) -> None:
        return None

    async def handler(e: Event) -> None:
        await e.next()

    with recording() as rec:
        await hook.trigger(Event(), action)
        assert rec.fired == []
        hook.bind(handler)
        await hook.trigger(Event(), action)
    [fired] = rec.named("hook.trigger")
    assert fired.attrs == {"hook.name": "on_thing", "hook.handlers": 1}
    assert fired.error is None and fired.end_ns >= fired.start_ns


@pytest.mark.parametrize("where", ["handler", "action"])
async def test_a_hook_error_says_whether_a_handler_or_the_action_raised(where: str) -> None:
    hook: Hook[Event] = Hook("on_thing")

    async def action(e: Event) -> None:
        if where == "action":
            raise ValueError("action failed")

    async def handler(e: Event) -> None:
        if where == "handler":
            raise ValueError("handler failed")
        await e.next()

    hook.bind(handler)
    with recording() as rec, pytest.raises(ValueError, match=f"{where} failed"):
        await hook.trigger(Event(), action)
    [fired] = rec.named("hook.trigger")
    assert fired.attrs["hook.failed_in"] == where
    assert isinstance(fired.error, ValueError)


def test_every_app_hook_is_named_after_its_attribute() -> None:
    from satchel.core.hooks import Hooks

    hooks = Hooks()
    assert all(getattr(hooks, name).name == name for name in hooks.names())


def test_rule_compile_fires_on_a_parse_cache_miss_only() -> None:
    text = f"title = '{uuid.uuid4().hex}'"
    with recording() as rec:
        parse(text)
        parse(text)
        with pytest.raises(FilterSyntaxError):
            parse(f"title = = '{uuid.uuid4().hex}'")
    compiled = rec.named("rule.compile")
    assert [(f.attrs["filter.length"], f.error is None) for f in compiled[:1]] == [(len(text), True)]
    assert len(compiled) == 2
    assert isinstance(compiled[1].error, FilterSyntaxError)
