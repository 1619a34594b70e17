"""File references (names only here; storage and uploads belong to the files service)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.common import ferr, to_string_list
from satchel.core.fields.multi import MultiValue
from satchel.core.fields.options import Option


@dataclass(slots=True, kw_only=True)
class FileField(MultiValue, Field):
    type: ClassVar[str] = "file"
    options: ClassVar[tuple[Option, ...]] = (
        ("maxSelect", "max_select", "int"),
        ("maxSize", "max_size", "int"),
        ("mimeTypes", "mime_types", "strlist"),
        ("protected", "protected", "bool"),
        ("thumbs", "thumbs", "strlist"),
    )
    max_select: int = 1
    max_size: int = 0
    mime_types: list[str] = field(default_factory=list)
    thumbs: list[str] = field(default_factory=list)
    protected: bool = False

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        if self.max_select < 1:
            self.max_select = 1
        for i, thumb in enumerate(self.thumbs):
            size = thumb.rstrip("tbf")
            w, sep, h = size.partition("x")
            if not sep or not w.isdigit() or not h.isdigit() or (w == "0" and h == "0"):
                return {"thumbs": {str(i): FieldError("validation_invalid_thumb_format", "Invalid thumb format.")}}
        return {}

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        names = to_string_list(value)
        if not names:
            return required() if self.required else None
        if len(names) > max(self.max_select, 1):
            return ferr(
                "validation_too_many_files", "The maximum allowed files is {maxSelect}.", maxSelect=self.max_select
            )
        return None
