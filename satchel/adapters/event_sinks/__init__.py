"""Event sinks for the transactional outbox: message brokers behind the EventSink port.

`sink_from_url` turns one entry of the configuration (`SATCHEL_EVENT_SINKS`) into a sink. Options
ride in the query string and are checked here, at start-up; drivers are imported only for the
schemes in use, so a deployment without RabbitMQ never loads aio-pika.

    nats://host:4222?stream=SATCHEL_RECORDS&prefix=satchel.records&duplicate_window=120
    amqp://user:pass@host:5672/vhost?exchange=satchel.records&queue=satchel-events   (amqps:// too)
    redis://host:6379/0?stream=satchel:records&maxlen=100000                          (rediss:// too)

Every scheme also takes `name` (the dispatcher's cursor key; default: the broker's host and port,
vhost or database, and stream or exchange, e.g. `nats://bus:4222/SATCHEL_RECORDS`) and `timeout`
(seconds to wait for the broker, default 5).
"""

from __future__ import annotations

from satchel.adapters.event_sinks.url_options import SinkOptions
from satchel.ports.event_sink import EventSink

SCHEMES = ("nats", "amqp", "amqps", "redis", "rediss")


def sink_from_url(url: str) -> EventSink:
    options = SinkOptions(url)
    sink: EventSink
    if options.scheme == "nats":
        from satchel.adapters.event_sinks.nats import (
            DEFAULT_DUPLICATE_WINDOW,
            DEFAULT_PREFIX,
            DEFAULT_STREAM,
            DEFAULT_TIMEOUT,
            NatsJetStreamSink,
        )

        stream = _token(options.text("stream", DEFAULT_STREAM), "stream")
        sink = NatsJetStreamSink(
            options.driver_url,
            name=options.name("nats", stream),
            stream=stream,
            prefix=_subject(options.text("prefix", DEFAULT_PREFIX)),
            timeout=options.number("timeout", DEFAULT_TIMEOUT),
            duplicate_window=options.number("duplicate_window", DEFAULT_DUPLICATE_WINDOW),
        )
    elif options.scheme in ("amqp", "amqps"):
        from satchel.adapters.event_sinks.rabbitmq import DEFAULT_EXCHANGE, RabbitMqSink
        from satchel.adapters.event_sinks.rabbitmq import DEFAULT_TIMEOUT as AMQP_TIMEOUT

        exchange = options.text("exchange", DEFAULT_EXCHANGE)
        sink = RabbitMqSink(
            options.driver_url,
            name=options.name("amqp", options.path, exchange),
            exchange=exchange,
            queue=options.optional_text("queue"),
            timeout=options.number("timeout", AMQP_TIMEOUT),
        )
    elif options.scheme in ("redis", "rediss"):
        from satchel.adapters.event_sinks.redis_streams import DEFAULT_STREAM as REDIS_STREAM
        from satchel.adapters.event_sinks.redis_streams import DEFAULT_TIMEOUT as REDIS_TIMEOUT
        from satchel.adapters.event_sinks.redis_streams import RedisStreamSink

        redis_stream = options.text("stream", REDIS_STREAM)
        sink = RedisStreamSink(
            options.driver_url,
            name=options.name("redis", options.path or "0", redis_stream),
            stream=redis_stream,
            maxlen=options.integer("maxlen"),
            timeout=options.number("timeout", REDIS_TIMEOUT),
        )
    else:
        raise ValueError(f"unsupported event sink URL scheme {options.scheme or '(none)'}:// (use one of {SCHEMES})")
    options.done()
    return sink


def _token(value: str, option: str) -> str:
    """JetStream names and subject tokens cannot hold separators or wildcards."""
    if any(c in value for c in " \t\r\n.*>/\\"):
        raise ValueError(f"event sink URL option {option!r} must not contain spaces, '.', '*', '>', '/' or '\\'")
    return value


def _subject(prefix: str) -> str:
    for token in prefix.split("."):
        if not token:
            raise ValueError("event sink URL option 'prefix' has an empty subject token")
        _token(token, "prefix")
    return prefix
