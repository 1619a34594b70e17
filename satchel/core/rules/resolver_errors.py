"""The error of a filter, sort or rule that cannot be resolved (its own module: the resolver's
helpers raise it too)."""

from __future__ import annotations

from satchel.core.errors import BadRequestError


class FilterError(BadRequestError):
    """A filter, sort or rule that cannot be resolved against the schema.

    Clients get PocketBase's generic 400 message; `detail` says what was wrong (for logs/tests).
    """

    def __init__(self, detail: str = "") -> None:
        super().__init__("Something went wrong while processing your request.", {})
        self.detail = detail

    def __str__(self) -> str:
        return self.detail or self.message
