"""Topic grammar and client bookkeeping, checked against what PocketBase 0.40.6 was observed to do."""

from __future__ import annotations

import asyncio
import json
import urllib.parse

import pytest

from satchel.core.collections.model import Collection
from satchel.core.realtime.subscriptions import (
    CLIENT_QUEUE,
    Client,
    SubscriptionOptions,
    parse_options,
    record_targets,
    snakecase,
    topic_target,
)


def topic(raw_options: str, target: str = "posts/*") -> str:
    return f"{target}?options={urllib.parse.quote(raw_options, safe='')}"


def fields_of(raw_options: str) -> str | None:
    return parse_options(topic(raw_options)).query.get("fields")


def test_sdk_style_options_are_read() -> None:
    raw = json.dumps({"query": {"filter": "a = 1", "expand": "author"}, "headers": {"X-Token": "abc"}})
    assert parse_options(topic(raw)) == SubscriptionOptions(
        query={"filter": "a = 1", "expand": "author"}, headers={"x_token": "abc"}
    )


def test_topic_without_options() -> None:
    assert parse_options("posts/*") == SubscriptionOptions()
    assert parse_options("posts/*?x=1") == SubscriptionOptions()
    assert topic_target("posts/abc?options=%7B%7D") == "posts/abc"


# Each case was sent to PocketBase 0.40.6 (Go encoding/json/v2): decoding stops at the first error
# and keeps what it decoded before it; names are case-sensitive.
@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        ('{"Query":{"fields":"title"}}', None),
        ('{"qUERY":{"fields":"title"}}', None),
        ('{"query":{"FIELDS":"title"}}', None),
        ('{"query":{"fields":"views"},"query":{"fields":"title"}}', "views"),
        ('{"query":{"fields":"views"},"query":null}', "views"),
        ('{"query":null,"query":{"fields":"views"}}', None),
        ('{"query":"str","headers":{"x":"1"}}', None),
        ('{"headers":5,"query":{"fields":"title"}}', None),
        ('{"query":{"fields":"title"},"query":5}', "title"),
        ('{"query":{"fields":"views","fields":"title"}}', "views"),
        ('{"query":{"fields":"title"}} trailing', "title"),
        ('{"query":{"fields":"title"},}', "title"),
        ('{"query":{"fields":"title","n":NaN}}', "title"),
        ('{"query":{"fields":"title","n":1e400}}', "title"),
        ('{"query":{"fields":"ti\\u0074le"}}', "title"),
        ("not json", None),
        ("[1]", None),
    ],
)
def test_options_decoding_matches_pocketbase(raw: str, fields: str | None) -> None:
    assert fields_of(raw) == fields


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.5, "1.5"), (1, "1"), (1e21, "1000000000000000000000"), (-0.0, "-0"), (True, "true"), (None, ""),
     ({"a": 1}, ""), ([1], ""), ("s", "s")],
)  # fmt: skip
def test_option_values_are_cast_to_strings_like_go(value: object, text: str) -> None:
    assert parse_options(topic(json.dumps({"query": {"k": value}}))).query == {"k": text}


def test_url_level_parsing_like_go() -> None:
    good = urllib.parse.quote('{"query":{"fields":"id"}}', safe="")
    assert parse_options(f"posts/*?a=1&options={good}&options=2").query == {"fields": "id"}
    assert parse_options(f"posts/*?options={good}#frag").query == {"fields": "id"}
    # `+` is a space in a query; a bad escape drops the pair; `;` makes Go skip the pair
    plus = urllib.parse.quote('{"query":{"fields":"a b"}}', safe="").replace("%20", "+")
    assert parse_options(f"posts/*?options={plus}").query == {"fields": "a b"}
    assert parse_options(f"posts/*?options={good}%zz") == SubscriptionOptions()
    assert parse_options(f"posts/*?options={good};") == SubscriptionOptions()
    # URLs Go refuses to parse at all
    assert parse_options(f"posts/%zz?options={good}") == SubscriptionOptions()
    assert parse_options(f":posts?options={good}") == SubscriptionOptions()
    assert parse_options(f"1a:b/x?options={good}") == SubscriptionOptions()
    assert parse_options(f"posts/*\x01?options={good}") == SubscriptionOptions()
    # a scheme-like custom topic is fine
    assert parse_options(f"chat:room?options={good}").query == {"fields": "id"}


@pytest.mark.parametrize(
    ("name", "snake"),
    [("X-Token", "x_token"), ("xToken", "x_token"), ("x_token", "x_token"), ("XMLHttp", "xmlhttp"),
     ("--a--B", "a_b"), ("Ünï-Code", "n_code")],
)  # fmt: skip
def test_header_names_are_snakecased_like_pocketbase(name: str, snake: str) -> None:
    assert snakecase(name) == snake


def test_record_targets_cover_name_id_wildcard_and_deprecated_forms() -> None:
    c = Collection(id="pbc_1", name="posts", type="base")
    assert record_targets(c, "abc") == {
        "posts/abc": False,
        "pbc_1/abc": False,
        "posts/*": True,
        "pbc_1/*": True,
        "posts": True,
        "pbc_1": True,
    }


def test_client_subscriptions_skip_empty_and_group_by_target() -> None:
    client = Client(id="c1")
    client.subscribe(["posts/*", "", "posts/*?options=%7B%7D", "chat"])
    assert list(client.subscriptions) == ["posts/*", "posts/*?options=%7B%7D", "chat"]
    assert client.targets() == {"posts/*", "chat"}
    assert [t for t, _ in client.topics_for("posts/*")] == ["posts/*", "posts/*?options=%7B%7D"]
    client.unsubscribe()
    assert client.subscriptions == {}


async def test_client_queue_is_bounded_and_discard_ends_the_stream() -> None:
    client = Client(id="c1")
    for i in range(CLIENT_QUEUE):
        assert client.send("t", str(i).encode())
    assert not client.send("t", b"overflow")
    client.discard()
    assert client.discarded
    assert await client.queue.get() is None  # pending messages dropped, end marker next
    assert client.send("t", b"after")  # ignored, never raises
    assert client.queue.empty()


async def test_outbox_wakes_its_reader_and_hands_over_everything_pending() -> None:
    client = Client(id="c1")
    waiter = asyncio.ensure_future(client.queue.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    assert client.send("a", b"1") and client.send("b", b"2")
    await asyncio.wait_for(waiter, 1)
    assert [(m.topic, m.data) for m in client.queue.take_all() if m is not None] == [("a", b"1"), ("b", b"2")]
    assert client.queue.empty()
    for i in range(CLIENT_QUEUE):
        client.send("t", str(i).encode())
    client.discard()  # the end marker fits whatever the backlog was
    assert client.queue.take_all() == [None]
