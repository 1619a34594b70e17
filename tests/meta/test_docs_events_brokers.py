"""docs/events-brokers.md states what the code does: schemes, option names, defaults, the wire shape."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from satchel.adapters.event_sinks import nats as nats_sink
from satchel.adapters.event_sinks import rabbitmq as amqp_sink
from satchel.adapters.event_sinks import redis_streams as redis_sink
from satchel.adapters.event_sinks import sink_from_url
from satchel.adapters.event_sinks.envelope import encode
from satchel.ports.event_sink import OutboxEvent

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "events-brokers.md").read_text()


def option_rows(heading: str) -> dict[str, str]:
    """The `| option | default | meaning |` table under a heading: option -> default cell."""
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, flags=re.M))


def test_the_defaults_it_gives_are_the_code_s() -> None:
    assert option_rows("NATS JetStream") == {
        "stream": f"`{nats_sink.DEFAULT_STREAM}`",
        "prefix": f"`{nats_sink.DEFAULT_PREFIX}`",
        "duplicate_window": f"`{nats_sink.DEFAULT_DUPLICATE_WINDOW:g}`",
    }
    assert option_rows("RabbitMQ") == {"exchange": f"`{amqp_sink.DEFAULT_EXCHANGE}`", "queue": "(none)"}
    assert option_rows("Redis Streams") == {"stream": f"`{redis_sink.DEFAULT_STREAM}`", "maxlen": "(none)"}
    common = option_rows("Options every sink takes")
    assert common["timeout"] == f"`{nats_sink.DEFAULT_TIMEOUT:g}`"
    assert nats_sink.DEFAULT_TIMEOUT == amqp_sink.DEFAULT_TIMEOUT == redis_sink.DEFAULT_TIMEOUT


@pytest.mark.parametrize("heading", ["NATS JetStream", "RabbitMQ", "Redis Streams"])
async def test_every_documented_option_and_example_url_is_accepted(heading: str) -> None:
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    urls = re.findall(r"^((?:nats|amqps?|rediss?)://\S+)$", section, flags=re.M)
    assert urls
    for url in urls:
        sink = sink_from_url(url)
        await sink.close()
    for option in [*option_rows(heading), *option_rows("Options every sink takes")]:
        value = {"maxlen": "10", "duplicate_window": "60", "timeout": "3"}.get(option, "x")
        sink = sink_from_url(f"{urls[0].split('?')[0]}?{option}={value}")
        await sink.close()


async def test_the_default_names_it_shows_are_the_code_s() -> None:
    for url, name in [
        ("nats://bus:4222", "nats://bus:4222/SATCHEL_RECORDS"),
        ("amqps://user:pass@rabbit:5672/prod", "amqp://rabbit:5672/prod/satchel.records"),
        ("redis://:pass@cache:6379/0", "redis://cache:6379/0/satchel:records"),
    ]:
        sink = sink_from_url(url)
        assert sink.name == name and f"`{name}`" in DOC
        await sink.close()


def test_the_message_example_has_the_envelope_s_keys() -> None:
    example = orjson.loads(DOC.split("```json\n", 1)[1].split("```", 1)[0])
    event = OutboxEvent(1, "create", "c", "posts", "r", b"{}", "2026-12-05 07:12:09.123Z")
    assert list(example) == list(orjson.loads(encode(event)))


def test_the_files_it_points_to_exist() -> None:
    for path in re.findall(r"`((?:tests|docs)/[^`]+)`", DOC):
        assert (REPO / path).exists(), path
    for name in re.findall(r"`(test_event_sink_\w+\.py)`", DOC):
        assert (REPO / "tests" / "adapters" / "event_sinks" / name).exists(), name
