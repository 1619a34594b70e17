"""`sink_from_url`: one URL per sink, options in the query string, mistakes refused at start-up."""

from __future__ import annotations

import pytest

from satchel.adapters.event_sinks import sink_from_url
from satchel.adapters.event_sinks.nats import NatsJetStreamSink, covers
from satchel.adapters.event_sinks.rabbitmq import RabbitMqSink
from satchel.adapters.event_sinks.redis_streams import RedisStreamSink


async def test_each_scheme_builds_its_sink_named_after_where_it_writes() -> None:
    """The default name (the dispatcher's cursor key) is the broker's address and target, without
    credentials: two sinks never share a cursor by accident, a password change keeps it."""
    cases = [
        ("nats://127.0.0.1:4222", NatsJetStreamSink, "nats://127.0.0.1:4222/SATCHEL_RECORDS"),
        ("nats://u:p@bus?stream=EVENTS", NatsJetStreamSink, "nats://bus/EVENTS"),
        ("amqp://guest:guest@127.0.0.1:5672/", RabbitMqSink, "amqp://127.0.0.1:5672/satchel.records"),
        (
            "amqps://guest:guest@rabbit.example:5671/prod",
            RabbitMqSink,
            "amqp://rabbit.example:5671/prod/satchel.records",
        ),
        ("redis://127.0.0.1:6379", RedisStreamSink, "redis://127.0.0.1:6379/0/satchel:records"),
        ("rediss://:secret@redis.example:6380/2", RedisStreamSink, "redis://redis.example:6380/2/satchel:records"),
    ]
    for url, kind, name in cases:
        sink = sink_from_url(url)
        assert isinstance(sink, kind)
        assert sink.name == name
        await sink.close()


async def test_options_name_the_stream_exchange_and_cursor() -> None:
    nats = sink_from_url("nats://127.0.0.1:4222?stream=EVENTS&prefix=acme.rec&name=primary")
    amqp = sink_from_url("amqp://guest:guest@127.0.0.1/?exchange=acme&queue=acme-all")
    redis = sink_from_url("redis://127.0.0.1/3?stream=acme:events&maxlen=1000&timeout=1.5")
    assert [nats.name, amqp.name, redis.name] == ["primary", "amqp://127.0.0.1/acme", "redis://127.0.0.1/3/acme:events"]
    for sink in (nats, amqp, redis):
        await sink.close()


async def test_the_name_and_messages_never_carry_credentials() -> None:
    sink = sink_from_url("amqp://admin:hunter2@127.0.0.1:5672/?exchange=x")
    assert "hunter2" not in sink.name and "hunter2" not in repr(sink) and "admin" not in sink.name
    await sink.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("kafka://127.0.0.1:9092", "unsupported event sink URL scheme kafka://"),
        ("127.0.0.1:4222", "unsupported event sink URL scheme"),
        ("nats://127.0.0.1:4222?strem=X", "unknown nats:// event sink URL option(s): strem"),
        ("amqp://127.0.0.1/?exchange=a&exchange=b", "'exchange' is given twice"),
        ("amqp://127.0.0.1/?exchange=", "'exchange' is empty"),
        ("redis://127.0.0.1/0?name=", "'name' is empty"),
        ("redis://127.0.0.1/0?maxlen=-5", "'maxlen' must be a positive integer"),
        ("redis://127.0.0.1/0?maxlen=many", "'maxlen' must be a positive integer"),
        ("redis://127.0.0.1/0?timeout=0", "'timeout' must be a positive number"),
        ("nats://127.0.0.1?timeout=soon", "'timeout' must be a number"),
        ("nats://127.0.0.1?duplicate_window=inf", "'duplicate_window' must be a positive number"),
        ("nats://127.0.0.1?stream=A.B", "'stream' must not contain"),
        ("nats://127.0.0.1?prefix=a..b", "'prefix' has an empty subject token"),
        ("nats://127.0.0.1?prefix=a.*", "'prefix' must not contain"),
        ("nats://127.0.0.1?prefix=a.>", "'prefix' must not contain"),
    ],
)
def test_a_bad_url_is_refused_with_a_clear_message(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        sink_from_url(url)


@pytest.mark.parametrize(
    ("pattern", "captured"),
    [
        ("satchel.records.>", True),
        (">", True),
        ("satchel.>", True),
        ("satchel.records.*.*", True),
        ("*.records.*.>", True),
        ("satchel.records.*", False),  # one token short: `posts.create` has two
        ("satchel.records.posts.>", False),  # only one collection
        ("satchel.records.*.create", False),  # only one action
        ("satchel.records.*.*.*", False),
        ("other.records.>", False),
        ("satchel.records", False),
    ],
)
def test_an_existing_stream_must_capture_every_subject_of_the_prefix(pattern: str, captured: bool) -> None:
    assert covers(pattern, "satchel.records") is captured
