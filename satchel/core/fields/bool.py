"""Booleans (a required bool must be true, as in PocketBase)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import FieldError, required
from satchel.core.fields.base import Field, ValueContext
from satchel.core.fields.common import to_bool
from satchel.tools.sql import ir


@dataclass(slots=True, kw_only=True)
class BoolField(Field):
    type: ClassVar[str] = "bool"

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "BOOLEAN", default=False)

    def zero(self) -> Any:
        return False

    def from_db(self, raw: Any) -> Any:
        return to_bool(raw)

    def to_db(self, value: Any) -> Any:
        return 1 if to_bool(value) else 0

    def coerce(self, raw: Any) -> Any:
        return to_bool(raw)

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        if self.required and not to_bool(value):
            return required()
        return None
