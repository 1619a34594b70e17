"""PocketBase's filter language: tokens, syntax tree and parser (no semantics)."""

from __future__ import annotations

from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.lexer import MAX_DEPTH, Token, tokenize
from satchel.tools.filter.parser import MAX_EXPRESSIONS, MAX_LENGTH, parse

__all__ = ["MAX_DEPTH", "MAX_EXPRESSIONS", "MAX_LENGTH", "FilterSyntaxError", "Token", "parse", "tokenize"]
