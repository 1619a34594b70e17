"""What `satchel migrate-data` carries of the events plugin: webhooks and the outbox with its cursors.

Webhooks (with their attempts and dead letters) are configuration a superuser made. The outbox
and its cursors come along too: they hold the changes committed but not yet taken by every sink,
and the counter that numbers events. Left behind, those changes would never be sent, and the
target would number its events from 1 again, so a receiver deduplicating by event id would drop
new events as ones it already has. Copied, every sink resumes on the target where it stopped on
the source. The dispatcher's lease is not copied: it names a process of the source.
"""

from __future__ import annotations

from satchel.core.migrate.tables import PluginTable
from satchel.plugins.events import outbox_store
from satchel.plugins.events.webhooks import store


def tables() -> dict[str, PluginTable]:
    out: dict[str, PluginTable] = {}
    for name, (create, indexes) in store.definitions().items():
        sealed = "secret" if name == store.WEBHOOKS else ""
        out[name] = PluginTable(
            create,
            indexes,
            user_data=name != store.ATTEMPTS,  # delivery history: nothing to lose on a target being replaced
            sealed=sealed,
            sealed_what="webhook secrets" if sealed else "",
        )
    # derived from the records (which count already); a fresh start writes the event counter
    out[outbox_store.OUTBOX] = PluginTable(outbox_store.OUTBOX_DDL, user_data=False)
    out[outbox_store.CURSORS] = PluginTable(outbox_store.CURSORS_DDL, user_data=False)
    return out
