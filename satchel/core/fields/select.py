"""One or more values from a fixed list.

Also home of the list behaviour select, relation and file share: PocketBase normalises all three
with the same `list.ToUniqueStringSlice`, so they coerce, store and modify identically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.number import above_max, below_min
from satchel.core.fields.options import Option
from satchel.core.fields.text import cast_string
from satchel.tools.sql import ir


def _string_items(items: list[Any] | tuple[Any, ...]) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, list | tuple | dict):
            return []  # cast.ToStringSlice fails as a whole on an uncastable element
        out.append(cast_string(item))
    return out


def unique_strings(raw: Any) -> list[str]:
    """PocketBase's `list.ToUniqueStringSlice`: non-empty, de-duplicated, order kept.

    A string holding a JSON array of strings is read as that array; any other string (including
    a JSON array of numbers) is one value.
    """
    values: list[str]
    if raw is None or raw == "":
        values = []
    elif isinstance(raw, str):
        values = [raw]
        if "[" in raw:
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list) and all(v is None or isinstance(v, str) for v in parsed):
                values = [v or "" for v in parsed]
    elif isinstance(raw, list | tuple):
        values = _string_items(raw)
    elif isinstance(raw, dict):
        values = []
    else:
        values = [cast_string(raw)]
    return list(dict.fromkeys(v for v in values if v))


def too_many(max_select: int) -> FieldError:
    return FieldError("validation_too_many_values", f"Select no more than {max_select}.", {"maxSelect": max_select})


class ListValue:
    """Mixin: `max_select > 1` means a JSON array column, otherwise a single text column."""

    name: str
    max_select: int

    @property
    def is_multiple(self) -> bool:
        return self.max_select > 1

    def column(self) -> ir.ColumnDef:
        if self.is_multiple:
            return ir.ColumnDef(self.name, "JSON", default="[]")
        return ir.ColumnDef(self.name, "TEXT", default="")

    def zero(self) -> Any:
        return [] if self.is_multiple else ""

    def coerce(self, raw: Any) -> Any:
        values = unique_strings(raw)
        if self.is_multiple:
            return values
        return values[-1] if values else ""  # the last one wins, as in PocketBase

    def from_db(self, raw: Any) -> Any:
        if isinstance(raw, bytes):
            raw = raw.decode(errors="replace")
        return self.coerce(raw)

    def to_db(self, value: Any) -> Any:
        values = unique_strings(value)
        if self.is_multiple:
            return orjson.dumps(values).decode()
        return values[-1] if values else ""

    def modify(self, current: Any, modifier: str, operand: Any) -> Any:
        existing, items = unique_strings(current), unique_strings(operand)
        if modifier == "append":
            return self.coerce(existing + items)
        if modifier == "prepend":
            return self.coerce(items + existing)
        if modifier == "remove":
            return self.coerce([v for v in existing if v not in items])
        return current


@dataclass(slots=True, kw_only=True)
class SelectField(ListValue, Field):
    type: ClassVar[str] = "select"
    options: ClassVar[tuple[Option, ...]] = (("maxSelect", "max_select", "int"), ("values", "values", "strlist"))
    values: list[str] = field(default_factory=list)
    max_select: int = 1

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        if not self.values:
            errors["values"] = required()
        limit = len(self.values) or 1
        if self.max_select < 0:
            errors["maxSelect"] = below_min(0)
        elif self.max_select > limit:
            errors["maxSelect"] = above_max(limit)
        return errors

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        values = unique_strings(value)
        if not values:
            return required() if self.required else None
        limit = max(self.max_select, 1)
        if len(values) > limit:
            return too_many(limit)
        for v in values:
            if v not in self.values:
                return FieldError("validation_invalid_value", f"Invalid value {v}.", {"value": v})
        return None
