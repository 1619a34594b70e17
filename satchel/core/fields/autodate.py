"""Timestamps set by the server on create and/or update; clients cannot write them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.options import Option
from satchel.tools.datetime import normalize_dt
from satchel.tools.sql import ir


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
        if not self.on_create and not self.on_update:
            return {"onCreate": FieldError("validation_required", "Cannot be blank.")}
        return {}

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        return None
