"""Before a restore: the backup's sealed secrets (and encrypted record fields) must open with this instance's keys.

A backup carries the secrets as they were stored, sealed with the key of the instance (and the
time) it was made with. Restoring one this instance cannot open would leave it unable to load its
settings, to start (webhook and authenticator secrets are checked at start), to sign webhooks or
to check authenticator codes, so such a backup is refused before anything is replaced, naming the
key it needs. Every sealed value of the columns in `App.sealed_columns` is opened (a few per
record at most); record fields are judged by one value each (there may be millions).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from satchel.core.collections.store import COLLECTIONS_TABLE
from satchel.core.errors import BadRequestError
from satchel.core.params import PARAMS_TABLE
from satchel.core.records.sealed_fields import shadow
from satchel.core.sealed_columns import check_copy
from satchel.core.secrets_at_rest import SecretsKeyError
from satchel.core.settings import SETTINGS_KEY
from satchel.tools.jsonutil import JSONDecodeError, loads
from satchel.tools.keyring import stored_key_id
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
        await _check_record_fields(app, db_file)
        for column in app.sealed_columns:
            await check_copy(app.db, db_file, app.keys, column)
    except SecretsKeyError as exc:
        message = str(exc).replace("Nothing was changed.", "The backup was not restored.")
        raise BadRequestError(f"The backup cannot be restored with this key. {message}") from exc


async def _check_record_fields(app: App, db_file: Path) -> None:
    """One stored value of each encrypted record field in the copy must name a key of the ring."""
    rows = await app.db.read_copy(
        db_file, ir.Select((ir.col("name"), ir.col("type"), ir.col("fields")), ir.Table(COLLECTIONS_TABLE))
    )
    for row in rows:
        fields = _json(row["fields"])
        if row["type"] == "view" or not isinstance(fields, list):
            continue
        for f in fields:
            if not (isinstance(f, dict) and f.get("encrypted") is True and isinstance(f.get("name"), str)):
                continue
            if app.keys.current is None:
                raise SecretsKeyError(
                    f"The collection {row['name']!r} has encrypted fields and no encryption key is configured. "
                    "Nothing was changed."
                )
            name = f["name"]
            where = ir.Binary("!=", ir.col(shadow(name)), ir.Param(""))
            sample = await app.db.read_copy(
                db_file, ir.Select((ir.col(name),), ir.Table(str(row["name"])), where=where, limit=1)
            )
            key_id = stored_key_id(sample[0][name]) if sample else ""
            if key_id and app.keys.box(key_id) is None:
                raise SecretsKeyError(
                    f"The field {row['name']}.{name} holds values encrypted with the key {key_id}, which is not "
                    "configured (add it to SATCHEL_ENCRYPTION_KEYS_OLD, then run `satchel keys rotate`). "
                    "Nothing was changed."
                )
