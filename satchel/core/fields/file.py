"""File references (names only here; storage and uploads belong to the files service)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.number import MAX_SAFE_INT, check_range
from satchel.core.fields.options import Option
from satchel.core.fields.select import ListValue, unique_strings

DEFAULT_MAX_FILE_SIZE = 5 << 20
THUMB_SIZE = re.compile(r"^(\d+)x(\d+)(t|b|f)?$", re.ASCII)
ZERO_THUMBS = frozenset({"0x0", "0x0t", "0x0b", "0x0f"})


def thumb_error(thumb: str) -> FieldError | None:
    if thumb in ZERO_THUMBS:
        return FieldError("validation_not_in_invalid", "Must not be in list.")
    if not THUMB_SIZE.match(thumb) or thumb.endswith("\n"):
        return FieldError("validation_match_invalid", "Must be in a valid format.")
    return None


@dataclass(slots=True, kw_only=True)
class FileField(ListValue, Field):
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

    @property
    def effective_max_size(self) -> int:
        """Bytes allowed per file (PocketBase's 5MB default when unset)."""
        return self.max_size if self.max_size > 0 else DEFAULT_MAX_FILE_SIZE

    @property
    def effective_max_select(self) -> int:
        return max(self.max_select, 1)

    def max_body_size(self) -> int:
        return self.effective_max_size * self.effective_max_select

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        errors: ErrorTree = {}
        for key, value in (("maxSelect", self.max_select), ("maxSize", self.max_size)):
            problem = check_range(value, 0, MAX_SAFE_INT)
            if problem is not None:
                errors[key] = problem
        thumbs: ErrorTree = {}
        for i, thumb in enumerate(self.thumbs):
            problem = thumb_error(thumb)
            if problem is not None:
                thumbs[str(i)] = problem
        if thumbs:
            errors["thumbs"] = thumbs
        return errors

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        names = unique_strings(value)
        if not names:
            return required() if self.required else None
        limit = self.effective_max_select
        if len(names) > limit:
            return FieldError(
                "validation_too_many_files", f"The maximum allowed files is {limit}.", {"maxSelect": limit}
            )
        return None
