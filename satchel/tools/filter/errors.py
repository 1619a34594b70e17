"""The one error type the filter lexer and parser raise, whatever the input."""

from __future__ import annotations


class FilterSyntaxError(ValueError):
    """A filter that PocketBase would refuse to parse, or one beyond the configured limits.

    It subclasses ValueError so callers that only care about "bad user input" can catch broadly;
    `pos` (a character offset, when known) lets an API error point at the offending spot.
    """

    def __init__(self, message: str, pos: int | None = None) -> None:
        super().__init__(message if pos is None else f"{message} (at position {pos})")
        self.pos = pos
