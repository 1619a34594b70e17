"""A webhook as an EventSink: each event is one signed HTTP POST, answered 2xx or retried."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2
import orjson

from satchel.plugins.events.webhooks import signature
from satchel.plugins.events.webhooks.store import Attempt, Webhook
from satchel.ports.event_sink import OutboxEvent, SinkError
from satchel.tools import probes
from satchel.tools.datetime import now_str
from satchel.tools.ids import random_id

USER_AGENT = "Satchel-Webhooks/1"


class DeliveryError(SinkError):
    """The receiver did not take the event: `status` is its HTTP status, 0 when it never answered."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def event_body(event: OutboxEvent) -> bytes:
    """The POST body: the event with its record as a JSON object (not re-parsed: it is JSON already)."""
    payload: dict[str, Any] = {
        "id": event.id,
        "action": event.action,
        "collectionId": event.collection_id,
        "collectionName": event.collection_name,
        "recordId": event.record_id,
        "record": orjson.Fragment(event.record),
        "created": event.created,
    }
    return orjson.dumps(payload)


class WebhookSink:
    def __init__(self, hook: Webhook, client: httpx2.AsyncClient) -> None:
        self.hook = hook
        self.name = hook.sink_name
        self.client = client

    def wants(self, event: OutboxEvent) -> bool:
        hook = self.hook
        if hook.actions and event.action not in hook.actions:
            return False
        return (
            not hook.collections or event.collection_name in hook.collections or event.collection_id in hook.collections
        )

    async def publish(self, events: Sequence[OutboxEvent]) -> None:
        for event in events:
            if self.wants(event):
                await self.post(event.id, event_body(event))

    async def attempt(self, event_id: int, body: bytes, number: int) -> Attempt:
        """Send one body and say how it went (the dispatcher and a replay record the same row)."""
        started = time.perf_counter()
        status, error = 0, ""
        try:
            status = await self.post(event_id, body)
        except DeliveryError as exc:
            status, error = exc.status, str(exc)
        return Attempt(
            id=random_id(),
            webhook_id=self.hook.id,
            event_id=event_id,
            attempt=number,
            status=status,
            error=error,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            created=now_str(),
        )

    async def post(self, event_id: int, body: bytes) -> int:
        """Send one body; returns the 2xx status or raises DeliveryError."""
        if self.hook.secret_error:  # retried, then dead-lettered: replayable once the key is configured
            raise DeliveryError(self.hook.secret_error)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            signature.EVENT_ID_HEADER: str(event_id),
            signature.WEBHOOK_ID_HEADER: self.hook.id,
            signature.TIMESTAMP_HEADER: str(timestamp),
            signature.SIGNATURE_HEADER: signature.sign(self.hook.secret, timestamp, body),
        }
        if not probes.active:
            return await self._send(body, headers)
        attrs: dict[str, Any] = {"webhook.id": self.hook.id, "server.address": urlsplit(self.hook.url).hostname or ""}
        start = time.perf_counter_ns()
        try:
            status = await self._send(body, headers)
        except DeliveryError as exc:
            attrs["http.response.status_code"] = exc.status
            probes.emit("webhook.request", start, time.perf_counter_ns(), attrs, exc)
            raise
        attrs["http.response.status_code"] = status
        probes.emit("webhook.request", start, time.perf_counter_ns(), attrs)
        return status

    async def _send(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            response = await self.client.post(self.hook.url, content=body, headers=headers)
        except httpx2.TimeoutException as exc:
            raise DeliveryError("timed out") from exc
        except httpx2.HTTPError as exc:
            raise DeliveryError(f"no answer: {type(exc).__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"answered HTTP {response.status_code}", response.status_code)
        return response.status_code

    async def close(self) -> None:
        """The HTTP client is shared by every webhook and closed by the dispatcher."""
