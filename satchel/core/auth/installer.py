"""The first-run setup link: a short-lived superuser token printed by `satchel serve` while no
superuser exists, which the dashboard uses to create the first real one.

Like PocketBase's installer, a placeholder superuser with an unguessable password holds the token;
the dashboard deletes it (through the public API) once the first real superuser exists, and every
start removes a leftover one. No hook is bound on the record path, so record writes stay free of
this feature's cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.core.auth.superusers import delete_superuser, find_superuser, upsert_superuser
from satchel.core.auth.tokens import issue_auth_token
from satchel.core.collections.model import SUPERUSERS
from satchel.tools.ids import random_string
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

INSTALLER_EMAIL = "__pbinstaller@example.com"
"""PocketBase's placeholder address, so a data directory moved between the two behaves the same."""
TOKEN_SECONDS = 30 * 60
SETUP_ROUTE = "#/pbinstal/"
"""The dashboard route that takes the token (PocketBase's spelling, so its links work here too)."""


async def has_real_superuser(app: App) -> bool:
    cond = ir.Not(ir.eq(ir.Func("LOWER", (ir.col(SUPERUSERS, "email"),)), ir.Param(INSTALLER_EMAIL)))
    row = await app.db.executor().fetch_one(
        ir.Select((ir.col(SUPERUSERS, "id"),), ir.Table(SUPERUSERS), where=cond, limit=1)
    )
    return row is not None


async def setup_token(app: App) -> str | None:
    """A 30-minute, non-refreshable superuser token when setup is needed; otherwise None.

    With a real superuser present, a leftover placeholder (an interrupted setup) is deleted.
    """
    if await has_real_superuser(app):
        await delete_superuser(app, INSTALLER_EMAIL)
        return None
    record = await find_superuser(app, INSTALLER_EMAIL)
    if record is None:
        record = await upsert_superuser(app, INSTALLER_EMAIL, random_string(30))
    return issue_auth_token(app.secret, record, duration=TOKEN_SECONDS, refreshable=False)


def setup_url(dashboard_url: str, token: str) -> str:
    return f"{dashboard_url.rstrip('/')}/{SETUP_ROUTE}{token}"
