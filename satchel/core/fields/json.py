"""Arbitrary JSON values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.number import MAX_SAFE_INT, check_range, clean_number
from satchel.core.fields.options import ENCRYPTED, Option
from satchel.tools.sql import ir

DEFAULT_MAX_SIZE = 1 << 20
_JSON_START = frozenset('0123456789-"[{')
_EMPTY: tuple[Any, ...] = (None, "", [], {})


def _go_value(value: Any) -> Any:
    """A decoded value as Go's float64/map round trip leaves it: sorted keys, integral floats as ints."""
    if isinstance(value, dict):
        return {str(k): _go_value(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_go_value(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INT else float(value)
    if isinstance(value, float):
        return clean_number(value) if math.isfinite(value) else None
    return None


def _from_text(text: str) -> Any:
    """A string is stored as JSON when it is a JSON literal/number/array/object/string, else as a string."""
    if text in ("null", "true", "false") or (text and text[0] in _JSON_START):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return text


def _dump(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


@dataclass(slots=True, kw_only=True)
class JSONField(Field):
    type: ClassVar[str] = "json"
    options: ClassVar[tuple[Option, ...]] = (("maxSize", "max_size", "int"), ENCRYPTED)
    max_size: int = 0
    encrypted: bool = False

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "JSON", not_null=False)

    def zero(self) -> Any:
        return None

    def from_db(self, raw: Any) -> Any:
        if isinstance(raw, bytes):
            raw = raw.decode(errors="replace")
        if isinstance(raw, str):
            try:
                return orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                return raw  # legacy non-JSON text: shown as the string it is
        return _go_value(raw)

    def to_db(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return _dump(value).decode()
        except (TypeError, orjson.JSONEncodeError):
            return None

    def coerce(self, raw: Any) -> Any:
        if isinstance(raw, bytes):
            raw = raw.decode(errors="replace")
        if isinstance(raw, str):
            return _from_text(raw)
        return _go_value(raw)

    def max_body_size(self) -> int:
        return self.max_size if self.max_size > 0 else DEFAULT_MAX_SIZE

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        problem = check_range(self.max_size, 0, MAX_SAFE_INT)
        return {"maxSize": problem} if problem is not None else {}

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        try:
            size = len(_dump(value))
        except (TypeError, orjson.JSONEncodeError):
            return FieldError("validation_invalid_json", "Must be a valid json value.")
        limit = self.max_size if self.max_size > 0 else DEFAULT_MAX_SIZE
        if size > limit:
            return FieldError(
                "validation_json_size_limit", f"The maximum allowed JSON size is {limit} bytes.", {"maxSize": limit}
            )
        if self.required and any(value == empty and type(value) is type(empty) for empty in _EMPTY):
            return required()
        return None
