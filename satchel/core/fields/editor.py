"""Rich text (HTML) content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import OptionsContext, ValueContext
from satchel.core.fields.number import MAX_SAFE_INT, check_range
from satchel.core.fields.options import ENCRYPTED, Option
from satchel.core.fields.text import StoredText, cast_string

DEFAULT_MAX_SIZE = 5 << 20


@dataclass(slots=True, kw_only=True)
class EditorField(StoredText):
    type: ClassVar[str] = "editor"
    options: ClassVar[tuple[Option, ...]] = (
        ("maxSize", "max_size", "int"),
        ("convertURLs", "convert_urls", "bool"),
        ENCRYPTED,
    )
    max_size: int = 0
    convert_urls: bool = False
    encrypted: bool = False

    def max_body_size(self) -> int:
        return self.max_size if self.max_size > 0 else DEFAULT_MAX_SIZE

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        problem = check_range(self.max_size, 0, MAX_SAFE_INT)
        return {"maxSize": problem} if problem is not None else {}

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        text = value if isinstance(value, str) else cast_string(value)
        if text == "" and self.required:
            return required()
        limit = self.max_size if self.max_size > 0 else DEFAULT_MAX_SIZE
        if len(text.encode()) > limit:
            return FieldError(
                "validation_content_size_limit",
                f"The maximum allowed content size is {limit} bytes.",
                {"maxSize": limit},
            )
        return None
