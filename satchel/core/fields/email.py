"""Email addresses, optionally limited to (or excluding) domains."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from satchel.core.errors import ErrorTree, FieldError, required
from satchel.core.fields.base import Field, OptionsContext, ValueContext
from satchel.core.fields.common import to_text
from satchel.core.fields.options import Option
from satchel.tools.sql import ir

# Deliberately simple: the HTML5 living-standard email pattern, which is what browsers accept.
EMAIL_RE = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)


def domains_conflict(only: list[str], exclude: list[str]) -> ErrorTree:
    if only and exclude:
        conflict = FieldError(
            "validation_domains_conflict", "onlyDomains and exceptDomains can't be used at the same time."
        )
        return {"onlyDomains": conflict, "exceptDomains": conflict}
    return {}


@dataclass(slots=True, kw_only=True)
class EmailField(Field):
    type: ClassVar[str] = "email"
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
        if len(text) > 255 or not EMAIL_RE.match(text):
            return FieldError("validation_is_email", "Must be a valid email address.")
        domain = text.rsplit("@", 1)[1].lower()
        if (self.only_domains and domain not in [d.lower() for d in self.only_domains]) or (
            domain in [d.lower() for d in self.except_domains]
        ):
            return FieldError("validation_email_domain_not_allowed", "Email domain is not allowed.")
        return None
