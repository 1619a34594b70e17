"""Secrets kept in a TEXT column of an internal table, sealed with the key ring and bound to their row.

Such a secret must be usable in clear (an authenticator secret computes codes, a webhook secret
signs), so it cannot be hashed; sealing it keeps a database dump or a backup from handing it out.
The stored value is the settings secrets' envelope (`{"$encrypted": "v1.<key id>...."}` as JSON
text) bound to `<scope>.<row id>.<column>`, so a value copied onto another row does not open.
Without a key the secret is stored in clear, as the settings secrets are. Any ring key opens, so
`SATCHEL_ENCRYPTION_KEYS_OLD` covers a rotation; rows written in clear before a key was configured
keep working and are sealed by `satchel keys rotate` or `satchel settings rotate-key`.

Written once for every such column (webhook signing secrets, authenticator secrets), so a backup's
copy can be checked against all of them before a restore (`App.sealed_columns`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from satchel.core.secrets_at_rest import KEY_HINT, SecretsKeyError
from satchel.ports.database import Database, InvalidCopyError, Row
from satchel.tools.keyring import KeyRing, parse_sealed, stored_key_id
from satchel.tools.secretbox import SealedValueError, sealed_key_id
from satchel.tools.sql import ir


@dataclass(frozen=True, slots=True)
class SealedColumn:
    table: str
    column: str
    scope: str
    """The first part of each value's label (the GCM associated data)."""
    noun: str
    """What one row is, for messages ("the webhook", "the authenticator app")."""

    def label(self, row_id: str) -> str:
        return f"{self.scope}.{row_id}.{self.column}"

    def seal(self, keys: KeyRing, row_id: str, secret: str) -> str:
        """The column value for `secret`: sealed with the current key, or in clear without one."""
        if keys.current is None or not secret:
            return secret
        return keys.seal_text(secret, self.label(row_id))

    def open_stored(self, keys: KeyRing, row_id: str, stored: Any) -> tuple[str, str]:
        """(the secret, "") from a column value, or ("", why it cannot be used): never raises, so one
        unreadable row does not stop the others. The reason names key ids, never a secret."""
        sealed = parse_sealed(stored)
        if sealed is None:
            return ("" if stored is None else str(stored)), ""
        key_id = sealed_key_id(sealed)
        where = f"The secret of {self.noun} {row_id!r} ({self.table}) is encrypted with the key {key_id or '(unknown)'}"
        if keys.current is None:
            return "", f"{where} and no encryption key is configured: {KEY_HINT} to that key."
        if key_id and keys.box(key_id) is None:
            return "", (
                f"{where}, which is not configured (configured: {', '.join(keys.key_ids)}): {KEY_HINT} to that key, "
                "or list it in SATCHEL_ENCRYPTION_KEYS_OLD while a rotation runs."
            )
        try:
            return keys.open(sealed, self.label(row_id)), ""
        except SealedValueError:
            return "", f"{where}, which does not decrypt it (damaged, or copied from another row)."


def looks_sealed(value: Any) -> bool:
    """Whether a value would be read back as a sealed secret (so it cannot be stored in clear)."""
    return parse_sealed(value) is not None


def _select(column: SealedColumn) -> ir.Select:
    return ir.Select(
        (ir.col("id"), ir.col(column.column)), ir.Table(column.table), order_by=(ir.OrderBy(ir.col("id")),)
    )


async def _rows(db: Database, column: SealedColumn) -> list[Row]:
    if not await db.table_columns(column.table):  # a database from before the table existed
        return []
    return await db.executor().fetch_all(_select(column))


async def count(db: Database, column: SealedColumn) -> int:
    """The rows `reseal` looks at (its share of a progress bar)."""
    return len(await _rows(db, column))


async def check_keys(db: Database, keys: KeyRing, column: SealedColumn) -> int:
    """At start, and before re-keying: every sealed value must open (SecretsKeyError otherwise,
    nothing changed), as the settings secrets must. Returns how many are stored in clear."""
    in_clear = 0
    for row in await _rows(db, column):
        stored = row[column.column]
        _, error = column.open_stored(keys, str(row["id"]), stored)
        if error:
            raise SecretsKeyError(f"{error} Nothing was changed.")
        in_clear += bool(stored) and not looks_sealed(stored)
    return in_clear


async def check_copy(db: Database, db_file: Path, keys: KeyRing, column: SealedColumn) -> None:
    """Before a restore: every sealed value in the copy `db_file` must open with `keys`
    (SecretsKeyError otherwise). A copy without the table (made before it existed) has none."""
    try:
        rows = await db.read_copy(db_file, _select(column))
    except InvalidCopyError:  # the copy passed `check_copy` already: what fails here is the missing table
        return
    for row in rows:
        _, error = column.open_stored(keys, str(row["id"]), row[column.column])
        if error:
            raise SecretsKeyError(f"{error} Nothing was changed.")


@dataclass(slots=True)
class Resealed:
    rows: int = 0
    rewritten: int = 0
    raced: int = 0
    """Rows a server changed between the read and the write (it wrote under its own current key)."""
    failures: list[str] = field(default_factory=list)
    """Why some secrets could not be opened (left as they are)."""


def _stale(stored: Any, target: KeyRing) -> bool:
    if target.current is None:
        return looks_sealed(stored)
    return bool(stored) and stored_key_id(stored) != target.key_id


async def reseal(
    db: Database,
    column: SealedColumn,
    source: KeyRing,
    target: KeyRing,
    *,
    progress: Callable[[int], None] = lambda _: None,
) -> Resealed:
    """Every value stored as `target` stores them: sealed with its current key, or in clear without one.

    Each row is a compare-and-set on the value read, in its own short transaction, so servers may
    keep running: a row changed meanwhile is left as its server wrote it. Rows already as wanted
    are skipped, so running it again is harmless.
    """
    done = Resealed()
    for row in await _rows(db, column):
        row_id, stored = str(row["id"]), row[column.column]
        done.rows += 1
        if _stale(stored, target):
            secret, error = column.open_stored(source, row_id, stored)
            if error:
                done.failures.append(error)
            else:
                same = ir.Binary(
                    "AND", ir.eq(ir.col("id"), ir.Param(row_id)), ir.eq(ir.col(column.column), ir.Param(stored))
                )
                values: dict[str, ir.Expr] = {column.column: ir.Param(column.seal(target, row_id, secret))}
                async with db.transaction() as tx:
                    changed = await tx.execute(ir.Update(column.table, values, same))
                done.rewritten += changed == 1
                done.raced += changed != 1
        progress(1)
    return done
