"""Datetimes in PocketBase's wire format, with optional bounds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.common import ferr
from satchel.core.fields.options import Option
from satchel.tools.datetime import normalize_dt, parse_dt
from satchel.tools.sql import ir


def _threshold(value: str) -> tuple[str, str]:
    dt = parse_dt(value)
    if dt is None:
        return value, value
    return dt.strftime("%Y-%m-%d %H:%M:%S +0000 UTC"), dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True, kw_only=True)
class DateField(Field):
    type: ClassVar[str] = "date"
    options: ClassVar[tuple[Option, ...]] = (("min", "min", "str"), ("max", "max", "str"))
    min: str = ""
    max: str = ""

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "TEXT", default="")

    def zero(self) -> Any:
        return ""

    def from_db(self, raw: Any) -> Any:
        return normalize_dt(raw)

    def coerce(self, raw: Any) -> Any:
        if isinstance(raw, bool | int | float):
            return ""  # PocketBase's date field does not read JSON numbers as unix times
        return normalize_dt(raw)

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        for key in ("min", "max"):
            raw = getattr(self, key)
            if raw and parse_dt(raw) is None:
                errors[key] = FieldError("validation_invalid_date", "Must be a valid date.")
        if not errors and self.min and self.max and (parse_dt(self.max) or 0) < (parse_dt(self.min) or 0):  # type: ignore[operator]
            errors["max"] = FieldError("validation_min_greater_equal_than_required", "Must be no less than min.")
        return errors

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        dt = parse_dt(value) if value else None
        if dt is None:
            return required() if self.required else None
        lo = parse_dt(self.min) if self.min else None
        if lo is not None and dt < lo:
            human, iso = _threshold(self.min)
            return FieldError(
                "validation_min_greater_equal_than_required", f"Must be no less than {human}.", {"threshold": iso}
            )
        hi = parse_dt(self.max) if self.max else None
        if hi is not None and dt > hi:
            human, iso = _threshold(self.max)
            return FieldError(
                "validation_max_less_equal_than_required", f"Must be no greater than {human}.", {"threshold": iso}
            )
        return None


__all__ = ["DateField", "ferr"]
