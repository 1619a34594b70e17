"""Rich text (HTML) content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import FieldError, required
from satchel.core.fields.base import Field, ValueContext
from satchel.core.fields.common import ferr, to_text
from satchel.core.fields.options import Option
from satchel.tools.sql import ir

DEFAULT_MAX_SIZE = 5 << 20


@dataclass(slots=True, kw_only=True)
class EditorField(Field):
    type: ClassVar[str] = "editor"
    options: ClassVar[tuple[Option, ...]] = (("maxSize", "max_size", "int"), ("convertURLs", "convert_urls", "bool"))
    max_size: int = 0
    convert_urls: bool = False

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "TEXT", default="")

    def zero(self) -> Any:
        return ""

    def from_db(self, raw: Any) -> Any:
        return to_text(raw)

    def coerce(self, raw: Any) -> Any:
        return to_text(raw)

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        text = value if isinstance(value, str) else ""
        if text == "":
            return required() if self.required else None
        limit = self.max_size or DEFAULT_MAX_SIZE
        if len(text.encode()) > limit:
            return ferr(
                "validation_content_size_limit", "The maximum allowed content size is {maxSize} bytes.", maxSize=limit
            )
        return None
