"""Booleans (a required bool must be true, as in PocketBase)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import FieldError, required
from satchel.core.fields.base import Field, ValueContext
from satchel.tools.sql import ir

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def cast_bool(raw: Any) -> bool:
    """PocketBase's `cast.ToBool`: Go's `strconv.ParseBool` for strings ("on", "yes" are false)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return raw != 0
    if isinstance(raw, str):
        return raw in _TRUE
    return False


@dataclass(slots=True, kw_only=True)
class BoolField(Field):
    type: ClassVar[str] = "bool"

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "BOOLEAN", default=False)

    def zero(self) -> Any:
        return False

    def from_db(self, raw: Any) -> Any:
        return cast_bool(raw)

    def to_db(self, value: Any) -> Any:
        return 1 if cast_bool(value) else 0

    def coerce(self, raw: Any) -> Any:
        return cast_bool(raw)

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        if self.required and not cast_bool(value):
            return required()
        return None
