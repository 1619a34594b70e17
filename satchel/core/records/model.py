"""A record: one row of a collection, as field values keyed by field name.

Values are the client-facing ones (what the JSON shows), already coerced by their fields;
`original` keeps the stored values so that updates, `:changed` and hooks can compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from satchel.core.collections.model import Collection

if TYPE_CHECKING:
    from satchel.core.files.uploads import Upload


@dataclass(slots=True)
class Record:
    collection: Collection
    data: dict[str, Any]
    original: dict[str, Any] | None = None
    expand: dict[str, Any] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)
    """Files waiting to be stored, by their stored name. File field values hold names only (what
    hooks, rules and responses see); a name found here is written when the record is saved."""

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def is_new(self) -> bool:
        return self.original is None

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def set(self, name: str, value: Any) -> None:
        self.data[name] = value

    @property
    def collection_id(self) -> str:
        return self.collection.id

    @property
    def collection_name(self) -> str:
        return self.collection.name

    @property
    def is_superuser(self) -> bool:
        return self.collection.is_superusers
