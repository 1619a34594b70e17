"""Numbers (stored as SQLite NUMERIC; integral values shown without a fraction).

Also home of the Go-compatible number helpers other field types reuse: PocketBase casts with
`strconv.ParseFloat` semantics, renders floats in messages with Go's `%v` and reports option
bounds with ozzo-validation's threshold errors, and clients see those strings verbatim.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.options import Option
from satchel.tools.sql import ir

MAX_SAFE_INT = (1 << 53) - 1
_GO_FLOAT = re.compile(r"[+-]?(?:(?:\d(?:_?\d)*)?\.?\d(?:_?\d)*(?:[eE][+-]?\d(?:_?\d)*)?|\d(?:_?\d)*\.)$")
_GO_HEX_FLOAT = re.compile(r"[+-]?0[xX][0-9a-fA-F_.]+[pP][+-]?\d+$")
_GO_SPECIAL = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "infinity": math.inf}


def _parse_go_float(text: str) -> float:
    lowered = text.lower()
    if lowered in _GO_SPECIAL or lowered in ("+infinity", "-infinity"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered in ("nan", "+nan", "-nan"):
        return math.nan
    if _GO_HEX_FLOAT.match(text):
        try:
            return float.fromhex(text.replace("_", ""))
        except (ValueError, OverflowError):
            return 0.0
    if not _GO_FLOAT.match(text):
        return 0.0
    value = float(text)
    return value if math.isfinite(value) else 0.0  # out of range: Go reports an error, cast yields 0


def cast_float(raw: Any) -> float | int:
    """PocketBase's `cast.ToFloat64`: numbers and bools as-is, strings parsed strictly, else 0."""
    if isinstance(raw, bool):
        return 1 if raw else 0
    if isinstance(raw, int):
        return raw if abs(raw) <= MAX_SAFE_INT else float(raw)
    if isinstance(raw, float):
        return raw
    if isinstance(raw, str) and raw:
        return _parse_go_float(raw)
    return 0


def clean_number(value: float | int) -> float | int:
    """Integral floats become ints so JSON shows `170`, as PocketBase's float64 encoding does."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INT:
        return int(value)
    return value


def go_number(value: float | int) -> str:
    """A number as Go's `%v` prints a float64 (what PocketBase's message templates show)."""
    x = float(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    sign, digit_tuple, exp = Decimal(repr(x)).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exp += len("".join(map(str, digit_tuple))) - len(digits)
    e10 = len(digits) + exp - 1
    prefix = "-" if sign else ""
    if e10 < -4 or e10 >= 6:  # Go switches to %e from 1e+06 on
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if e10 < 0 else '+'}{abs(e10):02d}"
    if e10 < 0:
        return f"{prefix}0.{'0' * (-e10 - 1)}{digits}"
    if len(digits) <= e10 + 1:
        return prefix + digits + "0" * (e10 + 1 - len(digits))
    return f"{prefix}{digits[: e10 + 1]}.{digits[e10 + 1 :]}"


def below_min(threshold: float | int) -> FieldError:
    """ozzo-validation's `Min` failure."""
    t = clean_number(threshold)
    return FieldError(
        "validation_min_greater_equal_than_required", f"Must be no less than {go_number(t)}.", {"threshold": t}
    )


def above_max(threshold: float | int) -> FieldError:
    """ozzo-validation's `Max` failure."""
    t = clean_number(threshold)
    return FieldError(
        "validation_max_less_equal_than_required", f"Must be no greater than {go_number(t)}.", {"threshold": t}
    )


def check_range(value: int, lo: int, hi: int) -> FieldError | None:
    """ozzo's `Min(lo), Max(hi)` on an int option; like ozzo, a zero option is not checked."""
    if value == 0:
        return None
    if value < lo:
        return below_min(lo)
    if value > hi:
        return above_max(hi)
    return None


def _only_int_error() -> FieldError:
    return FieldError("validation_only_int_constraint", "Decimal numbers are not allowed.")


def _min_error(min_: float) -> FieldError:
    m = clean_number(min_)
    return FieldError("validation_min_number_constraint", f"Must be greater or equal than {go_number(m)}.", {"min": m})


def _max_error(max_: float) -> FieldError:
    m = clean_number(max_)
    return FieldError("validation_max_number_constraint", f"Must be less or equal than {go_number(m)}.", {"max": m})


def _is_int(value: float | int) -> bool:
    return isinstance(value, int) or (math.isfinite(value) and value.is_integer() and abs(value) < 2**63)


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
        value = cast_float(raw)
        return clean_number(value) if math.isfinite(value) else 0

    def coerce(self, raw: Any) -> Any:
        return clean_number(cast_float(raw))

    def modify(self, current: Any, modifier: str, operand: Any) -> Any:
        base, delta = cast_float(current), cast_float(operand)
        if modifier == "append":
            return clean_number(base + delta)
        if modifier == "remove":
            return clean_number(base - delta)
        return current

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        if self.only_int and self.min is not None and not _is_int(self.min):
            errors["min"] = _only_int_error()
        if self.only_int and self.max is not None and not _is_int(self.max):
            errors["max"] = _only_int_error()
        elif self.min is not None and self.max is not None and self.max < self.min:
            errors["max"] = _min_error(self.min)
        return errors

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        number = cast_float(value)
        if math.isnan(number) or math.isinf(number):
            return FieldError("validation_not_a_number", "The submitted number is not properly formatted.")
        if number == 0:
            return required() if self.required else None
        if self.only_int and not _is_int(number):
            return _only_int_error()
        if self.min is not None and number < self.min:
            return _min_error(self.min)
        if self.max is not None and number > self.max:
            return _max_error(self.max)
        return None
