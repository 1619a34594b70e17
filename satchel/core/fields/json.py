"""Arbitrary JSON values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from satchel.core.errors import FieldError, required
from satchel.core.fields.base import Field, ValueContext
from satchel.core.fields.common import ferr
from satchel.core.fields.options import Option
from satchel.tools.sql import ir

DEFAULT_MAX_SIZE = 1 << 20


def _parse(raw: Any) -> Any:
    if isinstance(raw, bytes):
        raw = raw.decode(errors="replace")
    if isinstance(raw, str):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
    return raw


@dataclass(slots=True, kw_only=True)
class JSONField(Field):
    type: ClassVar[str] = "json"
    options: ClassVar[tuple[Option, ...]] = (("maxSize", "max_size", "int"),)
    max_size: int = 0

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "JSON", not_null=False)

    def zero(self) -> Any:
        return None

    def from_db(self, raw: Any) -> Any:
        return None if raw is None else _parse(raw)

    def to_db(self, value: Any) -> Any:
        if value is None:
            return None
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()

    def coerce(self, raw: Any) -> Any:
        return _parse(raw)

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        if value is None or value == "" or value == [] or value == {}:
            return required() if self.required else None
        try:
            size = len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
        except (TypeError, orjson.JSONEncodeError):
            return FieldError("validation_invalid_json", "Must be a valid json value.")
        limit = self.max_size or DEFAULT_MAX_SIZE
        if size > limit:
            return ferr(
                "validation_json_size_limit", "The maximum allowed JSON size is {maxSize} bytes.", maxSize=limit
            )
        return None
