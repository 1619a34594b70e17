"""In-memory view of every saved collection.

Requests read collections on every call, so they live in a dict replaced wholesale on change
(copy-on-write): readers never see a half-updated collection and need no lock.
"""

from __future__ import annotations

from satchel.core.collections.model import Collection
from satchel.tools.keyring import KeyRing


class CollectionRegistry:
    def __init__(self) -> None:
        self._by_id: dict[str, Collection] = {}
        self._by_name: dict[str, Collection] = {}
        self.version = 0
        """Bumped on every change so caches keyed on the schema (compiled rules) can expire."""
        self.keys: KeyRing | None = None
        """Given to every collection stored here: records of encrypted fields are (de)sealed with it."""

    def get(self, id_or_name: str) -> Collection | None:
        return self._by_id.get(id_or_name) or self._by_name.get(id_or_name.lower())

    def all(self) -> list[Collection]:
        return list(self._by_id.values())

    def set_all(self, collections: list[Collection]) -> None:
        for c in collections:
            c.keys = self.keys
        self._by_id = {c.id: c for c in collections}
        self._by_name = {c.name.lower(): c for c in collections}
        self.version += 1

    def put(self, collection: Collection) -> None:
        collection.keys = self.keys
        by_id = dict(self._by_id)
        old = by_id.get(collection.id)
        by_id[collection.id] = collection
        by_name = dict(self._by_name)
        if old is not None:
            by_name.pop(old.name.lower(), None)
        by_name[collection.name.lower()] = collection
        self._by_id, self._by_name = by_id, by_name
        self.version += 1

    def remove(self, collection_id: str) -> None:
        by_id = dict(self._by_id)
        old = by_id.pop(collection_id, None)
        if old is None:
            return
        by_name = dict(self._by_name)
        by_name.pop(old.name.lower(), None)
        self._by_id, self._by_name = by_id, by_name
        self.version += 1
