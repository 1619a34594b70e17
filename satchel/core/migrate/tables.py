"""What a copy moves: the internal tables, then one table per collection, read from the source.

The internal tables are the ones that are not collections (`_collections` itself, `_params` with the
app secret and the settings, API keys, authenticator apps). Their definitions are the ones bootstrap
uses, so the target gets them in its own dialect; a source made before one of them existed (or by
PocketBase, which has no API keys) simply contributes no rows to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from satchel.core.auth import api_key_store, totp_store
from satchel.core.collections import store
from satchel.core.collections.encrypted_fields import table_columns
from satchel.core.collections.model import Collection
from satchel.core.fields.base import FieldOptionsError
from satchel.core.migrate.errors import MigrationError
from satchel.core.migrations import store as migrations_store
from satchel.core.params import PARAMS_TABLE, get_param
from satchel.core.secrets_at_rest import SETTINGS_SECRET_PATHS
from satchel.core.settings import SETTINGS_KEY
from satchel.ports.database import Database
from satchel.tools.jsonutil import JSONDecodeError, loads
from satchel.tools.keyring import stored_key_id
from satchel.tools.secretbox import sealed_key_id
from satchel.tools.sql import ir

ROWID = "__satchel_rowid"
"""Alias of the row position while streaming: rows are copied in their order of insertion, which
is the order listings without a sort return (and what `@rowid` sorts on)."""

INTERNAL_TABLES: dict[str, tuple[ir.CreateTable, tuple[ir.CreateIndex, ...]]] = {
    PARAMS_TABLE: (store.PARAMS_DDL, ()),
    store.COLLECTIONS_TABLE: (store.COLLECTIONS_DDL, (store.COLLECTIONS_NAME_INDEX,)),
    api_key_store.TABLE: (api_key_store.DDL, api_key_store.INDEXES),
    totp_store.TABLE: (totp_store.DDL, (totp_store.INDEX,)),
    # the applied schema migrations travel with the schema they built (else `serve` would apply them
    # again on the target); PocketBase's rows (its .go/.js files) come along and are left alone
    migrations_store.MIGRATIONS_TABLE: (migrations_store.DDL, ()),
}
"""Every table bootstrap creates that is not a collection's (a test keeps this list complete)."""

KNOWN_EXTRA: dict[str, str] = {}
"""Tables a source may hold that are deliberately left behind, with the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class PluginTable:
    """A table a plugin keeps (webhooks, the outbox), copied like the internal ones.

    Core cannot know plugins' tables, so the command driving the copy names them; a source
    without one contributes no rows and the target gets it empty, as with the internal tables.
    """

    create: ir.CreateTable
    indexes: tuple[ir.CreateIndex, ...] = ()
    user_data: bool = True
    """Rows in it on the target mean the target is not empty (False: state a fresh start writes)."""
    sealed: str = ""
    """A column of secrets sealed with the key ring, and what they are called in the notes."""
    sealed_what: str = ""


@dataclass(frozen=True, slots=True)
class TablePlan:
    """One table to copy: its target columns, and which of them the source has."""

    name: str
    create: ir.CreateTable
    indexes: tuple[ir.CreateIndex, ...] = ()
    collection: Collection | None = None
    source_columns: tuple[str, ...] = ()
    """Empty when the source lacks the table: it is created on the target and left empty."""

    @property
    def copied_columns(self) -> tuple[str, ...]:
        present = set(self.source_columns)
        return tuple(c.name for c in self.create.columns if c.name in present)


@dataclass(slots=True)
class Plan:
    tables: list[TablePlan]
    views: list[Collection]
    notes: list[str] = field(default_factory=list)
    """What the copy leaves behind or fills with defaults, to show before it starts."""
    plugin_tables: dict[str, PluginTable] = field(default_factory=dict)

    @property
    def collections(self) -> list[Collection]:
        out = [t.collection for t in self.tables if t.collection is not None]
        return out + self.views


async def read_plan(source: Database, plugin_tables: Mapping[str, PluginTable] | None = None) -> Plan:
    """The tables and views to create and fill, in order; raises when the source is not an instance."""
    for required in (store.COLLECTIONS_TABLE, PARAMS_TABLE):
        if not await source.table_columns(required):
            raise MigrationError(f"the source is not a Satchel or PocketBase database (it has no {required} table)")
    collections = [_parse(row) for row in await _collection_rows(source)]
    plan = Plan(tables=[], views=[c for c in collections if c.is_view], plugin_tables=dict(plugin_tables or {}))
    for name, (create, indexes) in INTERNAL_TABLES.items():
        plan.tables.append(await _table(source, plan, name, create, indexes, None))
    for name, extra in plan.plugin_tables.items():
        await _plugin_table(source, plan, name, extra)
    for c in collections:
        if not c.is_view:
            create = ir.CreateTable(c.name, table_columns(c))  # blind indexes of encrypted fields too
            plan.tables.append(await _table(source, plan, c.name, create, (), c))
    for name, why in KNOWN_EXTRA.items():
        if await source.table_columns(name):
            plan.notes.append(f"{name} is not copied: {why}")
    if key_ids := await _sealed_key_ids(source, collections):
        plan.notes.append(
            f"secrets of the settings are encrypted with the key {', '.join(sorted(key_ids))}: they are copied as "
            "they are, so start the target with the same key (SATCHEL_ENCRYPTION_KEY or --encryption-key-file), "
            "or re-encrypt them there with `satchel settings rotate-key`"
        )
    if encrypted := [c.name for c in collections if not c.is_view and c.encrypted_fields]:
        plan.notes.append(
            f"encrypted fields of {', '.join(encrypted)} are copied as they are (with their blind indexes): start "
            "the target with the same keys, or re-encrypt them there with `satchel keys rotate`"
        )
    if await _files_in_s3(source):
        plan.notes.append(
            "uploaded files are kept in S3 (settings.s3): they stay there, the copied settings point to them"
        )
    return plan


async def _files_in_s3(source: Database) -> bool:
    raw = await get_param(source.executor(), SETTINGS_KEY)
    try:
        settings = loads(raw) if raw else {}
    except JSONDecodeError:
        return False
    s3 = settings.get("s3") if isinstance(settings, dict) else None
    return isinstance(s3, dict) and s3.get("enabled") is True


async def _sealed_key_ids(source: Database, collections: list[Collection]) -> set[str]:
    """The ids of the keys that sealed the source's secrets (settings and OAuth2 providers)."""
    raw = await get_param(source.executor(), SETTINGS_KEY)
    try:
        settings = loads(raw) if raw else {}
    except JSONDecodeError:
        settings = {}
    values = [node.get(path[-1]) for path in SETTINGS_SECRET_PATHS if (node := _node(settings, path)) is not None]
    for c in collections:
        oauth2 = c.auth.get("oauth2") if c.is_auth else None
        providers = oauth2.get("providers") if isinstance(oauth2, dict) else None
        values.extend(p.get("clientSecret") for p in providers or () if isinstance(p, dict))
    return {key_id for value in values if (key_id := sealed_key_id(value))}


async def _plugin_table(source: Database, plan: Plan, name: str, extra: PluginTable) -> None:
    plan.tables.append(await _table(source, plan, name, extra.create, extra.indexes, None))
    if extra.sealed and (key_ids := await _column_key_ids(source, name, extra.sealed)):
        plan.notes.append(
            f"{extra.sealed_what} are encrypted with the key {', '.join(sorted(key_ids))}: they are copied as "
            "they are, so start the target with the same key, or re-encrypt them there with `satchel keys rotate`"
        )


async def _column_key_ids(source: Database, table: str, column: str) -> set[str]:
    if column not in await source.table_columns(table):
        return set()
    rows = await source.executor().fetch_all(ir.Select((ir.col(column),), ir.Table(table)))
    return {key_id for row in rows if (key_id := stored_key_id(row[column]))}


def _node(doc: Any, path: tuple[str, ...]) -> dict[str, Any] | None:
    for key in path[:-1]:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc if isinstance(doc, dict) else None


async def _collection_rows(source: Database) -> list[dict[str, Any]]:
    table = store.COLLECTIONS_TABLE
    return await source.executor().fetch_all(
        ir.Select((ir.Star(table),), ir.Table(table), order_by=(ir.OrderBy(ir.Raw("rowid")),))
    )


def _parse(row: dict[str, Any]) -> Collection:
    try:
        return store.from_row(row)
    except FieldOptionsError as exc:
        problems = ", ".join(sorted(exc.errors))
        name = row.get("name")
        raise MigrationError(f"collection {name!r} has field options Satchel cannot read ({problems})") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise MigrationError(f"collection {row.get('name')!r} has a definition Satchel cannot read") from exc


async def _table(
    source: Database,
    plan: Plan,
    name: str,
    create: ir.CreateTable,
    indexes: tuple[ir.CreateIndex, ...],
    collection: Collection | None,
) -> TablePlan:
    present = await source.table_columns(name)
    wanted = [c.name for c in create.columns]
    if present:
        missing = [c for c in wanted if c not in present]
        extra = [c for c in present if c not in wanted]
        if missing:
            plan.notes.append(f"{name}: the source has no column {', '.join(missing)}; the target's default is used")
        if extra:
            plan.notes.append(f"{name}: column {', '.join(extra)} is no field of the collection and is not copied")
    return TablePlan(name, create, indexes, collection, tuple(present))
