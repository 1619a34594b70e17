"""One or more values from a fixed list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.common import ferr, to_string_list
from satchel.core.fields.multi import MultiValue
from satchel.core.fields.options import Option


@dataclass(slots=True, kw_only=True)
class SelectField(MultiValue, Field):
    type: ClassVar[str] = "select"
    options: ClassVar[tuple[Option, ...]] = (("maxSelect", "max_select", "int"), ("values", "values", "strlist"))
    values: list[str] = field(default_factory=list)
    max_select: int = 1

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        if not self.values:
            errors["values"] = required()
        if self.max_select < 1:
            self.max_select = 1
        if self.values and self.max_select > len(self.values):
            errors["maxSelect"] = ferr(
                "validation_max_less_equal_than_required",
                "Must be no greater than {threshold}.",
                threshold=len(self.values),
            )
        return errors

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        values = to_string_list(value)
        if not values:
            return required() if self.required else None
        if len(values) > max(self.max_select, 1):
            return ferr("validation_too_many_values", "Select no more than {maxSelect}.", maxSelect=self.max_select)
        for v in values:
            if v not in self.values:
                return ferr("validation_invalid_value", "Invalid value {value}.", value=v)
        return None
