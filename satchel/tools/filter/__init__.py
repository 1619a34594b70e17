"""PocketBase's filter language: tokens, syntax tree and parser (no semantics)."""

from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse

__all__ = ["FilterSyntaxError", "parse"]
