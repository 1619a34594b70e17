"""Datetimes in PocketBase's wire format, with optional bounds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from satchel.core.errors import FieldError, required
from satchel.core.fields.base import Field, ValueContext
from satchel.core.fields.options import Option
from satchel.tools.datetime import normalize_dt, parse_dt
from satchel.tools.sql import ir


def _go_time(dt: datetime) -> str:
    """Go's `time.Time.String()` of a UTC time, which PocketBase's bound messages print."""
    text = dt.strftime("%Y-%m-%d %H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond:06d}".rstrip("0")
    return text + " +0000 UTC"


def _rfc3339(dt: datetime) -> str:
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(slots=True, kw_only=True)
class DateField(Field):
    type: ClassVar[str] = "date"
    options: ClassVar[tuple[Option, ...]] = (("min", "min", "str"), ("max", "max", "str"))
    min: str = ""
    max: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Field:
        """Bounds are stored normalised; an unparsable bound becomes "" (no bound), as in PocketBase."""
        field = super(DateField, cls).from_json(data)
        assert isinstance(field, DateField)
        field.min, field.max = normalize_dt(field.min), normalize_dt(field.max)
        return field

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

    # PocketBase's settings check of min/max builds its range rule without keeping the bounds, so
    # any pair is accepted; no validate_options override.

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        dt = parse_dt(value) if value and not isinstance(value, bool | int | float) else None
        if dt is None:
            return required() if self.required else None
        lo = parse_dt(self.min) if self.min else None
        if lo is not None and dt < lo:
            return FieldError(
                "validation_min_greater_equal_than_required",
                f"Must be no less than {_go_time(lo)}.",
                {"threshold": _rfc3339(lo)},
            )
        hi = parse_dt(self.max) if self.max else None
        if hi is not None and dt > hi:
            return FieldError(
                "validation_max_less_equal_than_required",
                f"Must be no greater than {_go_time(hi)}.",
                {"threshold": _rfc3339(hi)},
            )
        return None
