"""Behaviour shared by list-capable fields (select, relation, file): single or multiple values."""

from __future__ import annotations

from typing import Any

from satchel.core.fields.common import json_text, parse_json_text, to_string_list, to_text
from satchel.tools.sql import ir


class MultiValue:
    """Mixin: `max_select > 1` means a JSON array column, otherwise a single text column."""

    name: str
    max_select: int

    @property
    def is_multiple(self) -> bool:
        return self.max_select > 1

    def column(self) -> ir.ColumnDef:
        if self.is_multiple:
            return ir.ColumnDef(self.name, "JSON", default="[]")
        return ir.ColumnDef(self.name, "TEXT", default="")

    def zero(self) -> Any:
        return [] if self.is_multiple else ""

    def coerce(self, raw: Any) -> Any:
        values = to_string_list(raw)
        if self.is_multiple:
            return values
        return values[-1] if values else ""

    def from_db(self, raw: Any) -> Any:
        if self.is_multiple:
            return to_string_list(parse_json_text(raw) if isinstance(raw, str) and raw.startswith("[") else raw)
        if isinstance(raw, str) and raw.startswith("["):
            values = to_string_list(raw)
            return values[-1] if values else ""
        return to_text(raw)

    def to_db(self, value: Any) -> Any:
        if self.is_multiple:
            return json_text(to_string_list(value))
        return to_text(value)

    def modify(self, current: Any, modifier: str, operand: Any) -> Any:
        existing = to_string_list(current)
        items = to_string_list(operand)
        if modifier == "append":
            result = list(dict.fromkeys(existing + items))
        elif modifier == "prepend":
            result = list(dict.fromkeys(items + existing))
        elif modifier == "remove":
            result = [v for v in existing if v not in items]
        else:
            return current
        return self.coerce(result)
