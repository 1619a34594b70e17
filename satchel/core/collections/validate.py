"""Collection validation with PocketBase's error codes (name, fields, rules, indexes, views)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from satchel.core.collections.indexes import IndexError_, parse_index
from satchel.core.collections.model import AUTH_RULE_KEYS, RULE_KEYS, Collection
from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import OptionsContext
from satchel.ports.database import DatabaseError

NAME_RE = re.compile(r"^\w+$")
FIELD_NAME_RE = re.compile(r"^\w+$")
RESERVED_FIELD_NAMES = frozenset({"expand", "collectionId", "collectionName"})
RESERVED_AUTH_FIELD_NAMES = frozenset({"passwordConfirm", "oldPassword"})

RuleChecker = Callable[[Collection, str], str | None]
Finder = Callable[[str], Collection | None]


def _name_errors(c: Collection, old: Collection | None, find: Finder) -> FieldError | None:
    if not c.name:
        return required()
    if len(c.name) > 255 or not NAME_RE.match(c.name):
        return FieldError("validation_match_invalid", "Must be in a valid format.")
    other = find(c.name)
    if other is not None and (old is None or other.id != c.id):
        return FieldError("validation_collection_name_exists", "Collection name must be unique (case insensitive).")
    if old is not None and old.system and old.name != c.name:
        return FieldError("validation_collection_system_name_change", "System collection name cannot be changed.")
    if old is None and c.name.lower().startswith("_pb_"):
        return FieldError("validation_collection_name_invalid", "The name must not start with _pb_.")
    return None


def _field_errors(c: Collection, old: Collection | None, find: Finder) -> ErrorTree:
    errors: ErrorTree = {}
    seen: set[str] = set()
    reserved = RESERVED_FIELD_NAMES | (RESERVED_AUTH_FIELD_NAMES if c.is_auth else frozenset())
    ctx = OptionsContext(collection=c, old=old, find_collection=find)
    for i, f in enumerate(c.fields):
        fe: ErrorTree = {}
        if not f.name:
            fe["name"] = required()
        elif not FIELD_NAME_RE.match(f.name) or len(f.name) > 255:
            fe["name"] = FieldError("validation_match_invalid", "Must be in a valid format.")
        elif f.name in reserved:
            fe["name"] = FieldError("validation_not_in_invalid", "Must not be in list.")
        elif f.name.lower() in seen:
            fe["name"] = FieldError("validation_duplicated_field_name", "Duplicated or invalid field name.")
        seen.add(f.name.lower())
        fe.update(f.validate_options(ctx))
        if fe:
            errors[str(i)] = fe
    if old is not None:
        kept = {f.id for f in c.fields}
        for f in old.fields:
            if f.system and f.id not in kept:
                return {
                    "fields": FieldError(
                        "validation_field_system_remove", f"System field {f.name!r} cannot be removed."
                    )
                }
    return {"fields": errors} if errors else {}


def _index_errors(c: Collection) -> ErrorTree:
    errors: ErrorTree = {}
    names = {f.name for f in c.fields}
    for i, sql in enumerate(c.indexes):
        try:
            idx = parse_index(sql)
        except IndexError_:
            errors[str(i)] = FieldError("validation_invalid_index_expression", "Invalid CREATE INDEX expression.")
            continue
        if any(col.name not in names for col in idx.columns):
            errors[str(i)] = FieldError("validation_invalid_index_column", "Index references a missing field.")
    if c.is_view and c.indexes:
        return {"indexes": FieldError("validation_indexes_not_allowed", "View collections don't support indexes.")}
    return {"indexes": errors} if errors else {}


async def validate_collection(
    c: Collection,
    old: Collection | None,
    find: Finder,
    check_rule: RuleChecker,
    view_columns: Callable[[str], Awaitable[list[str]]],
) -> ErrorTree:
    errors: ErrorTree = {}
    if old is None and c.id and find(c.id) is not None and find(c.name) is None:
        errors["id"] = FieldError("validation_collection_id_exists", "Collection id must be unique.")
    name_error = _name_errors(c, old, find)
    if name_error is not None:
        errors["name"] = name_error
    if c.is_view:
        errors.update(await _view_errors(c, view_columns))
    else:
        errors.update(_field_errors(c, old, find))
    errors.update(_index_errors(c))
    if "fields" not in errors:
        keys = RULE_KEYS + (AUTH_RULE_KEYS if c.is_auth else ())
        for key in keys:
            rule = c.rule(key)
            if rule:
                message = check_rule(c, rule)
                if message is not None:
                    errors[key] = FieldError("validation_invalid_rule", f"Invalid rule. Raw error: {message}.")
    return errors


async def _view_errors(c: Collection, view_columns: Callable[[str], Awaitable[list[str]]]) -> ErrorTree:
    if not c.view_query.strip():
        return {"viewQuery": required()}
    try:
        columns = await view_columns(c.view_query)
    except DatabaseError as exc:
        return {"viewQuery": FieldError("validation_invalid_view_query", f"Invalid query - {exc}.")}
    if "id" not in columns:
        return {
            "fields": FieldError("validation_missing_primary_key", 'Missing or invalid "id" PK field.'),
            "viewQuery": FieldError(
                "validation_invalid_view_query",
                "Invalid query - missing required id column (you can use `(ROW_NUMBER() OVER()) as id` "
                "if you don't have one).",
            ),
        }
    return {}
