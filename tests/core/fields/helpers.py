"""Shared by the field tests: a value context with no stored records."""

from __future__ import annotations

from satchel.core.collections.model import Collection
from satchel.core.fields.base import ValueContext


def ctx() -> ValueContext:
    async def existing_ids(collection_id: str, ids: list[str]) -> set[str]:
        return set()

    return ValueContext(collection=Collection(id="c1", name="c"), data={}, original=None, existing_ids=existing_ids)
