"""Splitting filter identifiers: `author.tags:each`, `@collection.users:u.name`, `@request.body.x:isset`."""

from __future__ import annotations

from dataclasses import dataclass

MODIFIERS = frozenset({"isset", "changed", "length", "each", "lower"})


@dataclass(frozen=True, slots=True)
class Path:
    parts: tuple[str, ...]
    modifier: str | None


def split_identifier(name: str) -> Path | None:
    """Parts and trailing modifier; None when malformed (empty segments, unknown modifier)."""
    modifier: str | None = None
    base = name
    if ":" in name.rsplit(".", 1)[-1]:
        head, _, mod = name.rpartition(":")
        if mod in MODIFIERS:
            base, modifier = head, mod
    parts = tuple(base.split("."))
    if any(p == "" for p in parts):
        return None
    return Path(parts, modifier)
