"""The webhook signature: HMAC-SHA256 over `"<timestamp>." + body` with the webhook's secret.

The timestamp is signed with the body so that a captured request cannot be replayed later with a
fresh timestamp: receivers reject timestamps too far from their clock and compare signatures in
constant time (see docs/events.md for a receiver's code).
"""

from __future__ import annotations

import hashlib
import hmac

VERSION = "v1"
EVENT_ID_HEADER = "X-Satchel-Event-Id"
WEBHOOK_ID_HEADER = "X-Satchel-Webhook-Id"
TIMESTAMP_HEADER = "X-Satchel-Timestamp"
SIGNATURE_HEADER = "X-Satchel-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (kept here so the documented recipe is tested against the sender)."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)
