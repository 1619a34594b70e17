"""The Python source of new migration files: an empty one, a full snapshot, one collection change.

Collections are written as Python literals of their API JSON (ids included, so relations and
renames survive), without `created`/`updated` (set when applied) and without OAuth2 client secrets
(the API never shows them; migration files end up in version control).
"""

from __future__ import annotations

from typing import Any

HEADER = '''"""{doc}"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from satchel.core.app import App
'''

TIMESTAMPS = ("created", "updated")


def literal(value: Any, depth: int = 0) -> str:
    """`value` (JSON-shaped) as Python source that evaluates back to it, one item a line (diffs stay
    small when one field changes), short lists and dicts of scalars on one line."""
    if isinstance(value, dict | list) and value:
        inline = repr(value)
        if len(inline) <= 80 and not any(isinstance(v, dict | list) for v in _values(value)):
            return inline
        pad = "    " * (depth + 1)
        if isinstance(value, dict):
            items = [f"{pad}{k!r}: {literal(v, depth + 1)}," for k, v in value.items()]
            return "{\n" + "\n".join(items) + "\n" + "    " * depth + "}"
        items = [f"{pad}{literal(v, depth + 1)}," for v in value]
        return "[\n" + "\n".join(items) + "\n" + "    " * depth + "]"
    return repr(value)


def _values(value: dict[str, Any] | list[Any]) -> list[Any]:
    return list(value.values()) if isinstance(value, dict) else value


def snapshot_of(collection_json: dict[str, Any]) -> dict[str, Any]:
    """A collection's JSON as a migration stores it."""
    return {k: v for k, v in collection_json.items() if k not in TIMESTAMPS}


def blank(doc: str = "A migration: edit up() and, to make it revertible, down().") -> str:
    return (
        HEADER.format(doc=doc)
        + '''

async def up(app: App) -> None:
    """Applied once, in filename order, at `satchel serve` start or by `satchel migrate up`."""


async def down(app: App) -> None:
    """Reverts up() (`satchel migrate down`)."""
'''
    )


def full_snapshot(collections: list[dict[str, Any]]) -> str:
    """Every given collection as it is now; applying it creates or updates them (`migrate collections`)."""
    items = [snapshot_of(c) for c in collections]
    return (
        HEADER.format(doc="Snapshot of the collections (satchel migrate collections).")
        + f"""
COLLECTIONS = {literal(items)}


async def up(app: App) -> None:
    await app.collections_service.import_(COLLECTIONS, delete_missing=False)


async def down(app: App) -> None:
    pass  # a snapshot has nothing to go back to
"""
    )


def created(collection: dict[str, Any]) -> str:
    snap = snapshot_of(collection)
    return (
        HEADER.format(doc=f"Created collection {snap['name']!r} (satchel automigrate).")
        + f"""
COLLECTION = {literal(snap)}


async def up(app: App) -> None:
    await app.collections_service.create(COLLECTION)


async def down(app: App) -> None:
    await app.collections_service.delete({snap["id"]!r})
"""
    )


def deleted(collection: dict[str, Any]) -> str:
    snap = snapshot_of(collection)
    return (
        HEADER.format(doc=f"Deleted collection {snap['name']!r} (satchel automigrate).")
        + f"""
COLLECTION = {literal(snap)}


async def up(app: App) -> None:
    await app.collections_service.delete({snap["id"]!r})


async def down(app: App) -> None:
    await app.collections_service.create(COLLECTION)
"""
    )


def updated(collection_id: str, name: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    """`before`/`after`: the keys that changed, with their old and new values."""
    return (
        HEADER.format(doc=f"Updated collection {name!r} (satchel automigrate).")
        + f"""
BEFORE = {literal(before)}
AFTER = {literal(after)}


async def up(app: App) -> None:
    await app.collections_service.update({collection_id!r}, AFTER)


async def down(app: App) -> None:
    await app.collections_service.update({collection_id!r}, BEFORE)
"""
    )
