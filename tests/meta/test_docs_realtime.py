"""docs/realtime.md states what the code does: the WebSocket messages, errors, limits and close codes."""

from __future__ import annotations

import re
from pathlib import Path

from satchel.apis.rest import realtime, realtime_ws
from satchel.core.realtime import broker, subscriptions

DOC = (Path(__file__).resolve().parents[2] / "docs" / "realtime.md").read_text()
FLAT = " ".join(DOC.split())


def test_every_websocket_error_message_is_documented() -> None:
    for message in (
        realtime_ws.BINARY,
        realtime_ws.NOT_JSON,
        realtime_ws.NOT_OBJECT,
        realtime_ws.BAD_ID,
        realtime_ws.UNKNOWN_TYPE,
        realtime_ws.BAD_TOPICS,
        realtime_ws.BAD_TOKEN,
        realtime_ws.INVALID_TOKEN,
    ):
        assert f"`{message}`" in FLAT, message


def test_close_codes_are_the_documented_ones() -> None:
    for code, reason in (realtime_ws.CLOSE_IDLE, realtime_ws.CLOSE_LIFETIME, realtime_ws.CLOSE_DROPPED):
        assert re.search(rf"^\| {code} `{reason}` \|", DOC, re.MULTILINE), (code, reason)


def test_limits_and_lifetimes_are_the_documented_ones() -> None:
    assert (broker.IDLE_TIMEOUT, broker.MAX_LIFETIME) == (5 * 60, 30 * 60)
    assert "for 5 minutes" in FLAT and "30 minutes after connecting" in FLAT and "after **30 minutes**" in FLAT
    assert realtime_ws.PING_INTERVAL == 30 and "for 30 seconds" in FLAT
    assert subscriptions.CLIENT_QUEUE == 1000 and "1000 messages were pending" in FLAT
    assert (realtime.MAX_TOPICS, realtime.MAX_TOPIC_LENGTH) == (1000, 2500)
    assert "over 1000 topics" in FLAT and "over 2500 characters" in FLAT
    assert f"a message over {realtime_ws.MAX_MESSAGE_LENGTH:,} characters" in FLAT


def test_every_client_message_type_is_documented() -> None:
    for kind in ("auth", "subscribe", "unsubscribe", "ping", "pong"):
        assert f'| `{{"type": "{kind}"' in DOC, kind
    for kind in ("connect", "event", "ping", "error", "auth", "subscriptions", "pong"):
        assert f'{{"type": "{kind}"' in DOC, kind


def test_the_multi_process_figures_are_the_documented_ones() -> None:
    from satchel.adapters.broker import mesh
    from satchel.core.realtime import relay

    assert broker.NODE_ID_LENGTH == 10 and "10 of its 40 characters" in FLAT
    assert broker.CLIENT_ID_LENGTH == 40
    assert relay.REQUEST_TIMEOUT == 5 and "after up to 5 seconds" in FLAT
    assert mesh.MAX_BUFFERED == 16 << 20 and "once 16 MB are queued" in FLAT
    assert mesh.socket_dir(Path("/d")) == Path("/d/.realtime") and "`<dir>/.realtime/`" in FLAT
