"""The events plugin's options (boot configuration; fixed for the process lifetime)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EventsConfig:
    sink_urls: tuple[str, ...] = ()
    """Broker sinks (`--event-sink`), built by `satchel.adapters.event_sinks.sink_from_url`."""
    retention: float = 3600.0
    """Seconds an event stays in the outbox after every sink took it (`SATCHEL_OUTBOX_RETENTION`)."""
    poll_interval: float = 1.0
    """Seconds between outbox reads when no wake-up arrives (changes committed on another node)."""
    batch_size: int = 100
    lease_ttl: float = 15.0
    """Seconds before another process takes over from a dispatcher that stopped renewing."""
    webhook_timeout: float = 10.0
    max_attempts: int = 10
    """Delivery attempts of one event to one webhook before it is dead-lettered."""
    backoff_base: float = 1.0
    """Seconds before the first retry; doubled after each failure (with jitter) up to `backoff_cap`."""
    backoff_cap: float = 600.0
    attempt_retention: float = 7 * 86400.0
    """Seconds webhook delivery attempts stay listed."""
