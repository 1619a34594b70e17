"""Numbers (stored as SQLite NUMERIC; integral values shown without a fraction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.common import clean_number, ferr, to_number
from satchel.core.fields.options import Option
from satchel.tools.sql import ir


@dataclass(slots=True, kw_only=True)
class NumberField(Field):
    type: ClassVar[str] = "number"
    options: ClassVar[tuple[Option, ...]] = (
        ("min", "min", "number?"),
        ("max", "max", "number?"),
        ("onlyInt", "only_int", "bool"),
    )
    min: float | None = None
    max: float | None = None
    only_int: bool = False

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "NUMERIC", default=0)

    def zero(self) -> Any:
        return 0

    def from_db(self, raw: Any) -> Any:
        return clean_number(to_number(raw))

    def coerce(self, raw: Any) -> Any:
        return clean_number(to_number(raw))

    def modify(self, current: Any, modifier: str, operand: Any) -> Any:
        base, delta = to_number(current), to_number(operand)
        if modifier == "append":
            return clean_number(base + delta)
        if modifier == "remove":
            return clean_number(base - delta)
        return current

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        if self.min is not None and self.max is not None and self.max < self.min:
            return {
                "max": ferr(
                    "validation_min_greater_equal_than_required",
                    "Must be no less than {threshold}.",
                    threshold=clean_number(self.min),
                )
            }
        return {}

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        number = to_number(value)
        if number == 0 and self.required:
            return required()
        if self.only_int and not float(number).is_integer():
            return FieldError("validation_only_int_constraint", "Decimal numbers are not allowed.")
        if self.min is not None and number < self.min:
            return ferr(
                "validation_min_number_constraint", "Must be greater or equal than {min}.", min=clean_number(self.min)
            )
        if self.max is not None and number > self.max:
            return ferr(
                "validation_max_number_constraint", "Must be less or equal than {max}.", max=clean_number(self.max)
            )
        return None
