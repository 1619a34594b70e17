"""Webhook secrets under another key: the start-up check, `satchel keys rotate` and `settings rotate-key`.

Kept apart from the store because these run from the command line on an app without the events
plugin started (`open_app`), the way the settings secrets are re-sealed by core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from satchel.core.sealed_columns import SealedColumn
from satchel.core.secrets_at_rest import SecretsKeyError
from satchel.plugins.events.webhooks.sealing import looks_sealed, open_stored, seal
from satchel.plugins.events.webhooks.store import WEBHOOKS
from satchel.ports.database import Database
from satchel.tools.keyring import KeyRing, stored_key_id
from satchel.tools.sql import ir

SECRET = SealedColumn(WEBHOOKS, "secret", "webhooks", "the webhook")
"""The column as the core sees sealed columns (a backup's copy is checked against it): its labels
are `sealing.label`'s."""


async def _rows(db: Database) -> list[dict[str, Any]]:
    if not await db.table_columns(WEBHOOKS):  # the events plugin never started on this database
        return []
    return await db.executor().fetch_all(
        ir.Select((ir.col("id"), ir.col("secret")), ir.Table(WEBHOOKS), order_by=(ir.OrderBy(ir.col("id")),))
    )


async def count(db: Database) -> int:
    """The rows `reseal` looks at (its share of a progress bar)."""
    return len(await _rows(db))


async def check_keys(db: Database, keys: KeyRing) -> int:
    """At start, and before re-keying: every sealed secret must open (SecretsKeyError otherwise,
    nothing changed), as the settings secrets must. Returns how many are stored in clear."""
    in_clear = 0
    for row in await _rows(db):
        _, error = open_stored(keys, str(row["id"]), row["secret"])
        if error:
            raise SecretsKeyError(f"{error} Nothing was changed.")
        in_clear += bool(row["secret"]) and not looks_sealed(row["secret"])
    return in_clear


def clear_warning(keys: KeyRing, in_clear: int) -> str:
    """A note for the operator at start while webhook secrets are stored in clear ("" when none are)."""
    if not in_clear:
        return ""
    if keys.current is None:
        return (
            f"Warning: {in_clear} webhook secret(s) are stored in clear in the database: set SATCHEL_ENCRYPTION_KEY "
            "or --encryption-key-file to encrypt them (generate a key with `satchel keys new`)."
        )
    return (
        f"Note: {in_clear} webhook secret(s) written before a key was configured are still in clear: they are "
        "encrypted on their next save, or all at once by `satchel keys rotate`."
    )


@dataclass(slots=True)
class Resealed:
    rows: int = 0
    rewritten: int = 0
    raced: int = 0
    """Rows a server saved between the read and the write (it wrote under its own current key)."""
    failures: list[str] = field(default_factory=list)
    """Why some secrets could not be opened (left as they are)."""


def _stale(stored: Any, target: KeyRing) -> bool:
    if target.current is None:
        return looks_sealed(stored)
    return bool(stored) and stored_key_id(stored) != target.key_id


async def reseal(
    db: Database, source: KeyRing, target: KeyRing, *, progress: Callable[[int], None] = lambda _: None
) -> Resealed:
    """Every secret stored as `target` stores them: sealed with its current key, or in clear without one.

    Each row is a compare-and-set on the value read, in its own short transaction, so servers may
    keep running: a webhook saved meanwhile is left as its server wrote it. Rows already as wanted
    are skipped, so running it again is harmless.
    """
    done = Resealed()
    for row in await _rows(db):
        hook_id, stored = str(row["id"]), row["secret"]
        done.rows += 1
        if _stale(stored, target):
            secret, error = open_stored(source, hook_id, stored)
            if error:
                done.failures.append(error)
            else:
                same = ir.Binary(
                    "AND", ir.eq(ir.col("id"), ir.Param(hook_id)), ir.eq(ir.col("secret"), ir.Param(stored))
                )
                values: dict[str, ir.Expr] = {"secret": ir.Param(seal(target, hook_id, secret))}
                async with db.transaction() as tx:
                    changed = await tx.execute(ir.Update(WEBHOOKS, values, same))
                done.rewritten += changed == 1
                done.raced += changed != 1
        progress(1)
    return done
