"""URLs (http/https and other schemes with a host), optionally limited by domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.common import to_text
from satchel.core.fields.email import domains_conflict
from satchel.core.fields.options import Option
from satchel.tools.sql import ir


def _is_url(text: str) -> bool:
    if any(c.isspace() for c in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return (
        bool(parts.scheme) and bool(parts.hostname) and "." in (parts.hostname or "")
    ) or parts.hostname == "localhost"


@dataclass(slots=True, kw_only=True)
class URLField(Field):
    type: ClassVar[str] = "url"
    options: ClassVar[tuple[Option, ...]] = (
        ("exceptDomains", "except_domains", "strlist"),
        ("onlyDomains", "only_domains", "strlist"),
    )
    except_domains: list[str] = field(default_factory=list)
    only_domains: list[str] = field(default_factory=list)

    def column(self) -> ir.ColumnDef:
        return ir.ColumnDef(self.name, "TEXT", default="")

    def zero(self) -> Any:
        return ""

    def from_db(self, raw: Any) -> Any:
        return to_text(raw)

    def coerce(self, raw: Any) -> Any:
        return to_text(raw).strip()

    def validate_options(self, ctx: OptionsContext) -> ErrorTree:
        return domains_conflict(self.only_domains, self.except_domains)

    async def validate(self, value: Any, ctx: ValueContext) -> FieldError | None:
        text = value if isinstance(value, str) else ""
        if text == "":
            return required() if self.required else None
        if not _is_url(text):
            return FieldError("validation_invalid_url", "Must be a valid url.")
        host = (urlsplit(text).hostname or "").lower()
        if (self.only_domains and host not in [d.lower() for d in self.only_domains]) or (
            host in [d.lower() for d in self.except_domains]
        ):
            return FieldError("validation_url_domain_not_allowed", "Url domain is not allowed.")
        return None
