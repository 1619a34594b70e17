"""The `_logs` table: its DDL, the filterable view of it, and PocketBase's log levels.

PocketBase logs with Go's `slog` levels (DEBUG -4, INFO 0, WARN 4, ERROR 8) and `settings.logs.minLevel`
is one of those numbers, so Python `logging` levels are mapped onto them before anything is compared
or stored.
"""

from __future__ import annotations

import logging

from satchel.core.collections.model import Collection
from satchel.core.fields.registry import field_from_json
from satchel.tools.sql import ir

LOGS_TABLE = "_logs"
CREATED_INDEX = "idx__logs_created"
LEVEL_INDEX = "idx__logs_level"
"""Not PocketBase's `idx_logs_*`: on PostgreSQL they share the schema (and its index names) with
the collections, where a `logs` collection's own `idx_logs_created` is a likely name."""

DEBUG, INFO, WARN, ERROR = -4, 0, 4, 8

LOGS_DDL = ir.CreateTable(
    LOGS_TABLE,
    (
        ir.ColumnDef("id", "TEXT", primary_key=True),
        ir.ColumnDef("created", "TEXT", default=""),
        ir.ColumnDef("level", "INTEGER", default=0),
        ir.ColumnDef("message", "TEXT", default=""),
        ir.ColumnDef("data", "JSON", default="{}"),
    ),
)
LOGS_INDEXES = (
    ir.CreateIndex(CREATED_INDEX, LOGS_TABLE, (ir.IndexColumn("created"),)),
    ir.CreateIndex(LEVEL_INDEX, LOGS_TABLE, (ir.IndexColumn("level"),)),
)


def slog_level(python_level: int) -> int:
    """A Python `logging` level as the slog level PocketBase stores (between the named ones: floor)."""
    if python_level >= logging.ERROR:
        return ERROR
    if python_level >= logging.WARNING:
        return WARN
    if python_level >= logging.INFO:
        return INFO
    return DEBUG


def logs_collection() -> Collection:
    """`_logs` described as a collection, so the records filter and sort resolver serve it unchanged.

    The fields are PocketBase's `logFilterFields`: id, created, level, message and any `data.*` path.
    """
    fields = [
        field_from_json({"id": "logs_id", "name": "id", "type": "text", "primaryKey": True}),
        field_from_json({"id": "logs_created", "name": "created", "type": "text"}),
        field_from_json({"id": "logs_level", "name": "level", "type": "number"}),
        field_from_json({"id": "logs_message", "name": "message", "type": "text"}),
        field_from_json({"id": "logs_data", "name": "data", "type": "json"}),
    ]
    return Collection(id=LOGS_TABLE, name=LOGS_TABLE, system=True, fields=fields)
