"""The one error type the filter parser raises, for any input."""

from __future__ import annotations


class FilterSyntaxError(ValueError):
    pass
