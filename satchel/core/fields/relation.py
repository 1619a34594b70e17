"""References to records of another (or the same) collection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.common import ferr, to_string_list
from satchel.core.fields.multi import MultiValue
from satchel.core.fields.options import Option


@dataclass(slots=True, kw_only=True)
class RelationField(MultiValue, Field):
    type: ClassVar[str] = "relation"
    options: ClassVar[tuple[Option, ...]] = (
        ("cascadeDelete", "cascade_delete", "bool"),
        ("collectionId", "collection_id", "str"),
        ("maxSelect", "max_select", "int"),
        ("minSelect", "min_select", "int"),
    )
    collection_id: str = ""
    cascade_delete: bool = False
    min_select: int = 0
    max_select: int = 1

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        target = ctx.find_collection(self.collection_id) if self.collection_id else None
        if self.collection_id == ctx.collection.id:
            target = ctx.collection
        if target is None:
            errors["collectionId"] = FieldError(
                "validation_field_relation_missing_collection", "The relation collection doesn't exist."
            )
        elif target.is_view and not ctx.collection.is_view:
            errors["collectionId"] = FieldError(
                "validation_invalid_view_relation", "Non view collections are not allowed to have a view relation."
            )
        elif target.id != self.collection_id:
            self.collection_id = target.id  # a name was given: store the id, as PocketBase does
        if self.max_select < 1:
            self.max_select = 1
        if self.min_select < 0:
            errors["minSelect"] = ferr(
                "validation_min_greater_equal_than_required", "Must be no less than {threshold}.", threshold=0
            )
        elif self.min_select > self.max_select:
            errors["maxSelect"] = ferr(
                "validation_min_greater_equal_than_required",
                "Must be no less than {threshold}.",
                threshold=self.min_select,
            )
        return errors

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        ids = to_string_list(value)
        if not ids:
            return required() if self.required else None
        if self.min_select and len(ids) < self.min_select:
            return ferr("validation_not_enough_values", "Select at least {minSelect}.", minSelect=self.min_select)
        if len(ids) > max(self.max_select, 1):
            return ferr("validation_too_many_values", "Select no more than {maxSelect}.", maxSelect=self.max_select)
        found = await ctx.existing_ids(self.collection_id, ids)
        if len(found) != len(ids):
            return FieldError(
                "validation_missing_rel_records", "Failed to find all relation records with the provided ids."
            )
        return None
