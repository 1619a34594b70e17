"""Timestamps set by the server on create and/or update; clients cannot write them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.options import Option
from satchel.tools.datetime import normalize_dt
from satchel.tools.sql import ir


def _neither() -> FieldError:
    return FieldError("validation_required", "Either onCreate or onUpdate must be enabled.")


def _changed() -> FieldError:
    return FieldError("validation_values_mismatch", "Values don't match.")


@dataclass(slots=True, kw_only=True)
class AutodateField(Field):
    type: ClassVar[str] = "autodate"
    has_required: ClassVar[bool] = False
    options: ClassVar[tuple[Option, ...]] = (("onCreate", "on_create", "bool"), ("onUpdate", "on_update", "bool"))
    on_create: bool = True
    on_update: bool = False

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "TEXT", default="")

    def zero(self) -> Any:
        return ""

    def from_db(self, raw: Any) -> Any:
        return normalize_dt(raw)

    def coerce(self, raw: Any) -> Any:
        return normalize_dt(raw)

    def before_save(self, value: Any, ctx: ValueContext) -> Any:
        if (ctx.is_new and self.on_create) or (not ctx.is_new and self.on_update):
            return ctx.now
        if not ctx.is_new and ctx.original is not None:
            return ctx.original.get(self.name, value)
        return value

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        old = ctx.old.field_by_id(self.id) if ctx.old is not None and self.id else None
        if self.system and isinstance(old, AutodateField):
            if self.on_create != old.on_create:
                errors["onCreate"] = _changed()
            if self.on_update != old.on_update:
                errors["onUpdate"] = _changed()
        if not self.on_create and not self.on_update:
            errors.setdefault("onCreate", _neither())
            errors.setdefault("onUpdate", _neither())
        return errors

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        return None
