"""Events out (issue 8): a transactional outbox of record changes, delivered at least once to
webhooks (`/api/webhooks`) and to the broker sinks named at boot (`--event-sink URL`).

`register(app, config)` adds the routes and returns the `Events` handle whose `start()` (after
the app's bootstrap) and `close()` the composition root calls. See docs/events.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.plugins.events import outbox_store
from satchel.plugins.events.config import EventsConfig
from satchel.plugins.events.plugin import Events
from satchel.plugins.events.webhooks import store as webhook_store
from satchel.plugins.events.webhooks.api import routes
from satchel.ports.event_sink import EventSink

if TYPE_CHECKING:
    from satchel.core.app import App

__all__ = ["Events", "EventsConfig", "check_secrets_on_restore", "keep_ids_on_restore", "register"]


def register(app: App, config: EventsConfig, sinks: list[EventSink] | None = None) -> Events:
    keep_ids_on_restore(app)
    check_secrets_on_restore(app)
    events = Events(app, config, list(sinks or ()))
    app.routes.extend(routes(events.webhooks))
    return events


def keep_ids_on_restore(app: App) -> None:
    """Restoring a backup must not hand out event ids again, whether or not this app dispatches
    events (`satchel backup restore` runs without the plugin): the outbox's sequence is kept."""
    if outbox_store.SEQUENCE_KEPT not in app.kept_on_restore:
        app.kept_on_restore.append(outbox_store.SEQUENCE_KEPT)


def check_secrets_on_restore(app: App) -> None:
    """A backup whose webhook secrets no configured key opens is refused before it is restored,
    whether or not this app dispatches events (`satchel backup restore` runs without the plugin)."""
    if webhook_store.SECRET not in app.sealed_columns:
        app.sealed_columns.append(webhook_store.SECRET)
