"""References to records of another (or the same) collection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.number import below_min
from satchel.core.fields.options import Option
from satchel.core.fields.select import ListValue, too_many, unique_strings


@dataclass(slots=True, kw_only=True)
class RelationField(ListValue, Field):
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
        problem = self._collection_problem(ctx)
        if problem is not None:
            errors["collectionId"] = problem
        if self.min_select < 0:
            errors["minSelect"] = below_min(0)
        if self.min_select > 0 and self.max_select == 0:
            errors["maxSelect"] = required()
        elif self.max_select != 0 and self.max_select < self.min_select:
            errors["maxSelect"] = below_min(self.min_select)
        return errors

    def _collection_problem(self, ctx: OptionsContext) -> FieldError | None:
        if not self.collection_id:
            return required()
        target = ctx.collection if self.collection_id == ctx.collection.id else ctx.find_collection(self.collection_id)
        if target is not None:
            # PocketBase accepts only ids here; a name is tolerated and replaced by the id (a
            # deliberate leniency Satchel's fixtures rely on).
            self.collection_id = target.id
        if ctx.old is not None and self.id:
            old_field = ctx.old.field_by_id(self.id)
            if isinstance(old_field, RelationField) and old_field.collection_id != self.collection_id:
                return FieldError("validation_field_relation_change", "The relation collection cannot be changed.")
        if target is None:
            return FieldError("validation_field_relation_missing_collection", "The relation collection doesn't exist.")
        if target.is_view and not ctx.collection.is_view:
            return FieldError(
                "validation_relation_field_non_view_base_collection",
                "Only view collections are allowed to have relations to other views.",
            )
        return None

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        ids = unique_strings(value)
        if not ids:
            return required() if self.required else None
        if self.min_select > 0 and len(ids) < self.min_select:
            return FieldError(
                "validation_not_enough_values", f"Select at least {self.min_select}.", {"minSelect": self.min_select}
            )
        limit = max(self.max_select, 1)
        if len(ids) > limit:
            return too_many(limit)
        found = await ctx.existing_ids(self.collection_id, ids)
        if len(set(ids) & set(found)) != len(ids):
            return FieldError(
                "validation_missing_rel_records", "Failed to find all relation records with the provided ids."
            )
        return None
