"""A collection's full-text search option: `"search": {"fields": [...]}` in the collection JSON.

Off unless set, and absent from the JSON of a collection without it, so PocketBase clients see
collections exactly as before. The index is derived state: it is dropped with the other indexes
before a schema change and rebuilt after it, in the same transaction (`schema_sync`), so it always
covers the fields the option names under their current names. Renaming an indexed field renames
it in the option; removing one removes it (and removing the last one turns search off).
"""

from __future__ import annotations

from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.errors import ErrorTree, FieldError
from satchel.ports.database import Executor
from satchel.tools.sql import ir
from satchel.tools.textsearch import index_name

SEARCHABLE_TYPES = frozenset({"text", "editor", "email", "url"})
MAX_FIELDS = 32


def search_fields(c: Collection) -> tuple[str, ...]:
    """The indexed field names, or () when the collection has no (valid) search option."""
    if c.is_view or not isinstance(c.search, dict):
        return ()
    names = c.search.get("fields")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return ()
    return tuple(names)


def normalize(c: Collection, old: Collection | None) -> None:
    """Drop an empty option; follow renamed and removed fields of `old` (matched by field id)."""
    if isinstance(c.search, dict) and isinstance(c.search.get("fields"), list) and old is not None:
        kept: list[Any] = []
        for name in c.search["fields"]:
            if not isinstance(name, str) or c.field(name) is not None:
                kept.append(name)
                continue
            before = old.field(name)
            if before is None:
                kept.append(name)  # never existed: reported by `validate`
                continue
            now = c.field_by_id(before.id)
            if now is not None:
                kept.append(now.name)
        c.search = {**c.search, "fields": kept}
    if c.search in ({}, {"fields": []}) or (isinstance(c.search, dict) and c.search.get("fields") == []):
        c.search = None


def validate(c: Collection) -> FieldError | ErrorTree | None:
    """PocketBase-style errors for the option (`search.fields.N` for a bad field name)."""
    if c.search is None:
        return None
    if c.is_view:
        return FieldError("validation_search_not_supported", "View collections don't support full-text search.")
    if not isinstance(c.search, dict) or set(c.search) - {"fields"}:
        return FieldError("validation_invalid_search", 'Must be an object with a "fields" list.')
    names = c.search.get("fields")
    if not isinstance(names, list):
        return {"fields": FieldError("validation_invalid_search_fields", "Must be a list of field names.")}
    if len(names) > MAX_FIELDS:
        return {"fields": FieldError("validation_length_too_long", f"Must have at most {MAX_FIELDS} fields.")}
    errors: ErrorTree = {}
    seen: set[str] = set()
    for i, name in enumerate(names):
        problem = _field_problem(c, name, seen)
        if problem is not None:
            errors[str(i)] = problem
    return {"fields": errors} if errors else None


def _field_problem(c: Collection, name: Any, seen: set[str]) -> FieldError | None:
    if not isinstance(name, str) or not name:
        return FieldError("validation_invalid_search_field", "Must be a field name.")
    f = c.field(name)
    if f is None:
        return FieldError("validation_unknown_search_field", f'Missing or invalid field "{name}".')
    if f.type not in SEARCHABLE_TYPES:
        return FieldError(
            "validation_invalid_search_field_type",
            f'Field "{name}" must be of type text, editor, email or url to be searched.',
        )
    if name in seen:
        return FieldError("validation_duplicated_search_field", f'Field "{name}" is listed more than once.')
    seen.add(name)
    return None


async def create_index(ex: Executor, c: Collection) -> None:
    fields = search_fields(c)
    if fields:
        await ex.ddl(ir.CreateSearchIndex(index_name(c.id), c.name, fields))


async def drop_index(ex: Executor, c: Collection) -> None:
    if search_fields(c):
        await ex.ddl(ir.DropSearchIndex(index_name(c.id)))
