"""The password of auth records: only its hash is stored; the plaintext is checked on input."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import FieldError, required
from satchel.core.fields.base import Field, ValueContext
from satchel.core.fields.common import ferr, to_text
from satchel.core.fields.options import Option
from satchel.tools.sql import ir

MAX_PASSWORD = 256


@dataclass(slots=True, kw_only=True)
class PasswordField(Field):
    type: ClassVar[str] = "password"
    options: ClassVar[tuple[Option, ...]] = (
        ("cost", "cost", "int"),
        ("max", "max", "int"),
        ("min", "min", "int"),
        ("pattern", "pattern", "str"),
    )
    min: int = 0
    max: int = 0
    pattern: str = ""
    cost: int = 0

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "TEXT", default="")

    def zero(self) -> Any:
        return ""

    def from_db(self, raw: Any) -> Any:
        return to_text(raw)

    def coerce(self, raw: Any) -> Any:
        return to_text(raw)

    def validate_plain(self, plain: str) -> FieldError | None:
        if self.min and len(plain) < self.min:
            return ferr("validation_min_text_constraint", "Must be at least {min} character(s).", min=self.min)
        limit = self.max or MAX_PASSWORD
        if len(plain) > limit:
            return ferr("validation_max_text_constraint", "Must be no more than {max} character(s).", max=limit)
        if self.pattern and not re.search(self.pattern, plain):
            return FieldError("validation_invalid_format", "Invalid value format.")
        return None

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        if self.required and not value:
            return required()
        return None
