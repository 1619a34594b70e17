"""Collections with encrypted fields: which settings cannot work with them, and their shadow columns.

An encrypted value is a fresh random ciphertext each time it is written, so anything that needs
the database to see the value cannot work: a unique index (every ciphertext differs), full-text
search, a primary key, a view over it. Those are refused when the collection is saved, with the
reason. Each encrypted field has a blind index column `<name>__bidx` (see `records.sealed_fields`),
kept in step here: added, renamed and dropped with its field.

Turning `encrypted` on or off for a field that holds data rewrites every row in the schema
change's own transaction (all rows or none): on, each value is sealed and indexed; off, opened and
stored in clear. A value that cannot be opened stops the change with a 400, nothing written.
"""

from __future__ import annotations

from typing import Any

from satchel.core.collections import search
from satchel.core.collections.indexes import parse
from satchel.core.collections.model import Collection
from satchel.core.errors import BadRequestError, ErrorTree, FieldError
from satchel.core.fields.base import Field
from satchel.core.records.sealed_fields import SealedFieldError, open_value, seal_value, shadow
from satchel.core.secrets_at_rest import KEY_HINT, SecretsKeyError
from satchel.ports.database import Executor
from satchel.tools.keyring import KeyRing, stored_key_id
from satchel.tools.sql import ir

ENCRYPTABLE_TYPES = frozenset({"text", "editor", "json"})
NO_KEY = (
    "No encryption key is configured: start the server with SATCHEL_ENCRYPTION_KEY (or --encryption-key-file) "
    "to encrypt fields."
)


def _unique_columns(c: Collection) -> set[str]:
    out: set[str] = set()
    for sql in c.indexes:
        idx = parse(sql)
        if idx.unique:
            out.update(col.name.lower() for col in idx.columns)
    return out


def _problem(c: Collection, f: Field, keys: KeyRing | None, unique: set[str]) -> str:
    if keys is None or keys.current is None:
        return NO_KEY
    if c.is_view:
        return "View collection fields cannot be encrypted."
    if f.system:
        return "System fields cannot be encrypted."
    if f.name.lower() in unique:
        return "A field in a unique index cannot be encrypted (each stored value is a different ciphertext)."
    if f.name in search.search_fields(c):
        return "A field in the full-text search cannot be encrypted."
    return ""


def encrypted_field_errors(c: Collection, keys: KeyRing | None) -> ErrorTree | None:
    """`fields.N.encrypted` errors of the encrypted fields whose settings cannot work."""
    errors: ErrorTree = {}
    unique = _unique_columns(c)
    for i, f in enumerate(c.fields):
        if not getattr(f, "encrypted", False) or f.type not in ENCRYPTABLE_TYPES:
            continue
        message = _problem(c, f, keys, unique)
        if message:
            errors[str(i)] = {"encrypted": FieldError("validation_encrypted_unsupported", message)}
    return errors or None


def _is_sealed(f: Field | None) -> bool:
    return f is not None and bool(getattr(f, "encrypted", False))


def shadow_column(f: Field) -> ir.ColumnDef:
    """The blind index column of an encrypted field ("" for empty values and new rows)."""
    return ir.ColumnDef(shadow(f.name), "TEXT", default="")


def table_columns(c: Collection) -> tuple[ir.ColumnDef, ...]:
    """Every column of a collection's table: its fields', then the blind indexes of encrypted ones."""
    return (*(f.column() for f in c.fields), *(shadow_column(f) for f in c.fields if _is_sealed(f)))


async def sync_encrypted(ex: Executor, old: Collection | None, new: Collection) -> None:
    """After the table matches `new`'s fields: shadow columns added, renamed or dropped, and the
    values of fields whose `encrypted` setting changed rewritten."""
    if new.is_view:
        return
    table = new.name
    old_by_id = {f.id: f for f in old.fields} if old is not None else {}
    new_ids = {f.id for f in new.fields}
    for before in old_by_id.values():
        if _is_sealed(before) and before.id not in new_ids:
            await ex.ddl(ir.DropColumn(table, shadow(before.name)))
    pending: list[tuple[str, str]] = []
    for f in new.fields:
        was = old_by_id.get(f.id)
        if _is_sealed(f) and was is not None and _is_sealed(was) and was.name != f.name:
            tmp = shadow(f.name) + "_tmp"
            await ex.ddl(ir.RenameColumn(table, shadow(was.name), tmp))
            pending.append((tmp, shadow(f.name)))
    for tmp, final in pending:
        await ex.ddl(ir.RenameColumn(table, tmp, final))
    for f in new.fields:
        prior = old_by_id.get(f.id)
        if _is_sealed(f) and not _is_sealed(prior):
            await ex.ddl(ir.AddColumn(table, shadow_column(f)))
            if prior is not None:
                await _rewrite(ex, new, f, seal=True)
        elif prior is not None and _is_sealed(prior) and not _is_sealed(f):
            await _rewrite(ex, new, f, seal=False)
            await ex.ddl(ir.DropColumn(table, shadow(prior.name)))  # its name before any rename


async def _rewrite(ex: Executor, c: Collection, f: Field, *, seal: bool) -> None:
    """Every stored value of `f` sealed (with its index) or opened, row by row, in the caller's transaction."""
    rows = await ex.fetch_all(ir.Select((ir.col("id"), ir.col(f.name)), ir.Table(c.name)))
    for row in rows:
        record_id = str(row["id"])
        values: dict[str, ir.Expr]
        try:
            if seal:
                stored, index = seal_value(c, f, record_id, f.from_db(row[f.name]))
                values = {f.name: ir.Param(stored), shadow(f.name): ir.Param(index)}
            else:
                values = {f.name: ir.Param(f.to_db(_open(c, f, record_id, row[f.name])))}
        except SealedFieldError as exc:
            raise BadRequestError(f"Failed to change the encryption of the field {f.name!r}: {exc}") from exc
        await ex.execute(ir.Update(c.name, values, ir.eq(ir.col("id"), ir.Param(record_id))))


def _open(c: Collection, f: Field, record_id: str, raw: Any) -> Any:
    return open_value(c, f, record_id, raw)


async def check_keys(ex: Executor, collections: list[Collection], keys: KeyRing) -> None:
    """At start: refuse to serve encrypted fields without their key (SecretsKeyError, nothing changed).

    With no key at all that is certain; with keys, one stored value per field is looked at, so a
    server started with an unrelated key stops at once instead of failing on the first read.
    """
    for c in collections:
        sealed = [f for f in c.fields if _is_sealed(f)] if not c.is_view else []
        if sealed and keys.current is None:
            names = ", ".join(f.name for f in sealed)
            raise SecretsKeyError(
                f"The collection {c.name!r} has encrypted fields ({names}) and no encryption key is configured: "
                f"{KEY_HINT} to the key they were encrypted with. Nothing was changed."
            )
        for f in sealed:
            where = ir.Binary("!=", ir.col(shadow(f.name)), ir.Param(""))
            raw = await ex.fetch_value(ir.Select((ir.col(f.name),), ir.Table(c.name), where=where, limit=1))
            key_id = stored_key_id(raw)
            if key_id and keys.box(key_id) is None:
                raise SecretsKeyError(
                    f"The field {c.name}.{f.name} holds values encrypted with the key {key_id}, which is not "
                    f"configured (configured: {', '.join(keys.key_ids)}): {KEY_HINT} to that key, or list it in "
                    "SATCHEL_ENCRYPTION_KEYS_OLD while a rotation runs. Nothing was changed."
                )
