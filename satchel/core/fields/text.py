"""Plain text, including the `id` primary key field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.common import ferr, to_text
from satchel.core.fields.options import Option
from satchel.tools.ids import random_string_by_regex
from satchel.tools.sql import ir


@dataclass(slots=True, kw_only=True)
class TextField(Field):
    type: ClassVar[str] = "text"
    options: ClassVar[tuple[Option, ...]] = (
        ("min", "min", "int"),
        ("max", "max", "int"),
        ("pattern", "pattern", "str"),
        ("autogeneratePattern", "autogenerate_pattern", "str"),
        ("primaryKey", "primary_key", "bool"),
    )
    min: int = 0
    max: int = 0
    pattern: str = ""
    autogenerate_pattern: str = ""
    primary_key: bool = False

    def column(self) -> ir.ColumnDef:
        if self.primary_key:
            return ir.ColumnDef(self.name, "TEXT", primary_key=True)
        return ir.ColumnDef(self.name, "TEXT", default="")

    def zero(self) -> Any:
        return ""

    def from_db(self, raw: Any) -> Any:
        return to_text(raw)

    def coerce(self, raw: Any) -> Any:
        return to_text(raw)

    def before_save(self, value: Any, ctx: ValueContext) -> Any:
        if value == "" and self.autogenerate_pattern and (ctx.is_new or not self.primary_key):
            return random_string_by_regex(self.autogenerate_pattern)
        return value

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        if self.min < 0:
            errors["min"] = ferr(
                "validation_min_greater_equal_than_required", "Must be no less than {threshold}.", threshold=0
            )
        if self.max and self.max < self.min:
            errors["max"] = ferr(
                "validation_min_greater_equal_than_required", "Must be no less than {threshold}.", threshold=self.min
            )
        for key, pattern in (("pattern", self.pattern), ("autogeneratePattern", self.autogenerate_pattern)):
            if pattern:
                try:
                    re.compile(pattern)
                    if key == "autogeneratePattern":
                        random_string_by_regex(pattern)
                except (re.error, ValueError):
                    errors[key] = FieldError("validation_invalid_regex", "Invalid regular expression.")
        return errors

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        text = value if isinstance(value, str) else ""
        if self.primary_key:
            return self._validate_pk(text, ctx)
        if text == "":
            return required() if self.required else None
        return self.check_text(text)

    def check_text(self, text: str) -> FieldError | None:
        length = len(text)
        if self.min and length < self.min:
            return ferr("validation_min_text_constraint", "Must be at least {min} character(s).", min=self.min)
        limit = self.max or 5000
        if length > limit:
            return ferr("validation_max_text_constraint", "Must be no more than {max} character(s).", max=limit)
        if self.pattern and not re.search(self.pattern, text):
            return FieldError("validation_invalid_format", "Invalid value format.")
        return None

    def _validate_pk(self, text: str, ctx: ValueContext) -> FieldError | None:
        if not ctx.is_new and ctx.original is not None and text != ctx.original.get(self.name):
            return FieldError("validation_pk_change", "The record primary key cannot be changed.")
        if text == "":
            return required()
        for ch in "/\\.":
            if ch in text:
                return ferr("validation_forbidden_pk_character", "'{ch}' is not a valid primary key character.", ch=ch)
        if text.lower() in ("_new", "new"):
            return ferr(
                "validation_reserved_pk", "The primary key '{reserved}' is reserved and cannot be used.", reserved=text
            )
        return self.check_text(text)
