"""Re-sealing every stored secret under another key (or none): key rotation, and first sealing.

The app was loaded with the current key, so every secret is in clear in memory; rewriting the
settings row and the auth collections' options under the new key is one transaction (with a
schema version bump, so other processes reload), all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from satchel.core.collections import store
from satchel.core.params import get_param, put_param
from satchel.core.secrets_at_rest import Secrets, has_provider_secrets
from satchel.core.settings import SETTINGS_KEY
from satchel.tools.jsonutil import dumps

if TYPE_CHECKING:
    from satchel.core.app import App


@dataclass(slots=True)
class Resealed:
    settings: bool = False
    """Whether a stored settings document was rewritten (none is stored before the first change)."""
    collections: list[str] = field(default_factory=list)


async def reseal(app: App, new: Secrets) -> Resealed:
    """Store every secret sealed with `new`'s key (in clear when it has none); `app` then uses it."""
    done = Resealed()

    async def work() -> None:
        done.settings, done.collections = False, []
        async with app.db.transaction() as tx:
            await app.schema.claim(tx)
            if await get_param(tx, SETTINGS_KEY) is not None:
                await put_param(tx, SETTINGS_KEY, dumps(new.seal_settings(app.settings.current)).decode())
                done.settings = True
            for c in app.collections.all():
                if c.is_auth and has_provider_secrets(c.auth):
                    await store.save(tx, c, new)
                    done.collections.append(c.name)

    await app.schema.run(work)
    app.secrets.box = new.box  # shared with the settings store
    app.secrets.clear_seen = False
    return done


async def seal_if_in_clear(app: App) -> bool:
    """With a key configured, seal the secrets a load found in clear (a key set on existing data)."""
    if app.secrets.box is None or not app.secrets.clear_seen:
        return False
    await reseal(app, app.secrets)
    return True
