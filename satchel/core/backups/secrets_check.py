"""Before a restore: the backup's sealed secrets must open with this instance's key.

A backup carries the secrets as they were stored, sealed with the key of the instance (and the
time) it was made with. Restoring one this instance cannot open would leave it unable to load its
settings, so such a backup is refused before anything is replaced, naming the key it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from satchel.core.collections.store import COLLECTIONS_TABLE
from satchel.core.errors import BadRequestError
from satchel.core.params import PARAMS_TABLE
from satchel.core.secrets_at_rest import SecretsKeyError
from satchel.core.settings import SETTINGS_KEY
from satchel.tools.jsonutil import JSONDecodeError, loads
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App


def _json(text: Any) -> Any:
    try:
        return loads(text) if isinstance(text, str) and text else None
    except JSONDecodeError:
        return None


async def check_backup_secrets(app: App, db_file: Path) -> None:
    """Raise BadRequestError unless every sealed secret in the copy opens with the configured key."""
    settings = await app.db.read_copy(
        db_file,
        ir.Select((ir.col("value"),), ir.Table(PARAMS_TABLE), where=ir.eq(ir.col("id"), ir.Param(SETTINGS_KEY))),
    )
    collections = await app.db.read_copy(
        db_file,
        ir.Select(
            (ir.col("name"), ir.col("options")),
            ir.Table(COLLECTIONS_TABLE),
            where=ir.eq(ir.col("type"), ir.Param("auth")),
        ),
    )
    try:
        for row in settings:
            if isinstance(doc := _json(row["value"]), dict):
                app.secrets.open_settings(doc)
        for row in collections:
            if isinstance(options := _json(row["options"]), dict):
                app.secrets.open_auth(options, str(row["name"]))
    except SecretsKeyError as exc:
        message = str(exc).replace("Nothing was changed.", "The backup was not restored.")
        raise BadRequestError(f"The backup cannot be restored with this key. {message}") from exc
