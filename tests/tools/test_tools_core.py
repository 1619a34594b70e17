"""Generic tools: ids, datetimes and macros, password hashing, tokens, the hook chain."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import bcrypt
import pytest

from satchel.tools import passwords, tokens
from satchel.tools.datetime import format_dt, macro_value, normalize_dt, parse_dt
from satchel.tools.hooks import Event, Hook, TaggedHook
from satchel.tools.ids import collection_id, field_id, random_id, random_string_by_regex


def test_ids_match_pocketbase() -> None:
    assert collection_id("base", "posts") == "pbc_1125843985"
    assert collection_id("auth", "_superusers") == "pbc_3142635823"
    assert field_id("text", "title") == "text724990059"
    assert re.fullmatch(r"[a-z0-9]{15}", random_id())
    assert random_id() != random_id()


@pytest.mark.parametrize("pattern", ["[a-z0-9]{15}", "[a-zA-Z0-9]{50}", "[A-Z]{3}-\\d{4}", "x[ab]{2,4}"])
def test_random_by_regex(pattern: str) -> None:
    for _ in range(20):
        assert re.fullmatch(pattern, random_string_by_regex(pattern))


@pytest.mark.parametrize("pattern", ["^a", "[^a]", "[z-a]", "a{5,1}"])
def test_random_by_regex_rejects_unsupported(pattern: str) -> None:
    with pytest.raises(ValueError):
        random_string_by_regex(pattern)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-02 03:04:05.678Z", "2024-01-02 03:04:05.678Z"),
        ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05.000Z"),
        ("2024-01-02T03:04:05+02:00", "2024-01-02 01:04:05.000Z"),
        ("2024-01-02", "2024-01-02 00:00:00.000Z"),
        (0, "1970-01-01 00:00:00.000Z"),
        ("", ""), ("nope", ""), (None, ""), (True, ""),
    ],
)
def test_datetime_parsing(raw: object, expected: str) -> None:
    assert normalize_dt(raw) == expected


def test_macros() -> None:
    now = datetime(2024, 2, 29, 13, 14, 15, 500000, tzinfo=UTC)
    assert macro_value("@now", now) == "2024-02-29 13:14:15.500Z"
    assert macro_value("@todayStart", now) == "2024-02-29 00:00:00.000Z"
    assert macro_value("@monthEnd", now) == "2024-02-29 23:59:59.999Z"
    assert macro_value("@yesterday", now) == "2024-02-28 13:14:15.500Z"
    assert macro_value("@year", now) == 2024 and macro_value("@weekday", now) == 4
    assert macro_value("@nope", now) is None
    assert format_dt(parse_dt("2024-02-29 13:14:15.500Z") or now) == "2024-02-29 13:14:15.500Z"


def test_passwords_argon2_and_bcrypt() -> None:
    h = passwords.hash_password("secret-1")
    assert h.startswith("$argon2id$")
    assert passwords.verify_password(h, "secret-1") and not passwords.verify_password(h, "secret-2")
    legacy = bcrypt.hashpw(b"secret-1", bcrypt.gensalt(rounds=4)).decode()
    assert passwords.verify_password(legacy, "secret-1") and not passwords.verify_password(legacy, "nope")
    assert passwords.needs_rehash(legacy)
    assert passwords.verify_password(legacy, "x" * 200) is False
    for broken in ("", "$2b$garbage", "$argon2id$nope", "plain"):
        assert passwords.verify_password(broken, "secret-1") is False


K1, K2 = "k1" * 20, "k2" * 20


def test_tokens() -> None:
    t = tokens.sign({"id": "a", "type": "auth"}, K1, 60)
    assert tokens.verify(t, K1)["id"] == "a"  # type: ignore[index]
    assert tokens.verify(t, K2) is None
    assert tokens.verify(tokens.sign({"id": "a"}, K1, -10), K1) is None
    assert tokens.parse_unverified(t)["type"] == "auth"  # type: ignore[index]
    assert tokens.parse_unverified("not.a.jwt") is None
    assert tokens.strip_bearer("Bearer abc ") == "abc" and tokens.strip_bearer("abc") == "abc"


class Ev(Event):
    def __init__(self, tag: str = "") -> None:
        self.log: list[str] = []
        self.tag = tag

    def tags(self) -> tuple[str, ...]:
        return (self.tag,)


async def test_hook_chain_order_short_circuit_and_unbind() -> None:
    hook: Hook[Ev] = Hook()

    async def outer(e: Ev) -> None:
        e.log.append("outer:before")
        await e.next()
        e.log.append("outer:after")

    async def inner(e: Ev) -> None:
        e.log.append("inner")
        await e.next()

    async def final(e: Ev) -> None:
        e.log.append("final")

    hook.bind(inner, id="inner", priority=5)
    hook.bind(outer, id="outer")
    e = Ev()
    await hook.trigger(e, final)
    assert e.log == ["outer:before", "inner", "final", "outer:after"]

    async def stop(e: Ev) -> None:
        e.log.append("stop")

    hook.bind(stop, id="stop", priority=1)
    e = Ev()
    await hook.trigger(e, final)
    assert e.log == ["outer:before", "stop", "outer:after"]
    hook.unbind("stop", "outer")
    assert hook.length() == 1

    async def boom(e: Ev) -> None:
        raise RuntimeError("boom")

    hook.bind(boom)
    with pytest.raises(RuntimeError):
        await hook.trigger(Ev(), final)


async def test_tagged_hook_only_fires_for_its_tags() -> None:
    hook: Hook[Ev] = Hook()

    async def mark(e: Ev) -> None:
        e.log.append("posts-only")
        await e.next()

    async def final(e: Ev) -> None:
        e.log.append("final")

    TaggedHook(hook, "posts").bind(mark)
    a, b = Ev("posts"), Ev("users")
    await hook.trigger(a, final)
    await hook.trigger(b, final)
    assert a.log == ["posts-only", "final"] and b.log == ["final"]
