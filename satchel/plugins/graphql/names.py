"""GraphQL-safe names for collections and fields.

PocketBase names are `\\w+` (letters, digits, underscore); GraphQL names are `[_A-Za-z][_0-9A-Za-z]*`
and may not start with `__` (introspection's). A name is made safe by replacing every other
character with `_`, prefixing `_` to a leading digit and `x` to a leading `__`; when two names
still collide, the later one (in collection/field order) gets `_2`, `_3`... See docs/graphql.md.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^_0-9A-Za-z]")
RESERVED_ENUM_VALUES = frozenset({"true", "false", "null"})
VALID = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


def safe(name: str) -> str:
    out = _UNSAFE.sub("_", name) or "_"
    if out[0].isdigit():
        out = "_" + out
    if out.startswith("__"):
        out = "x" + out
    return out


def capitalized(name: str) -> str:
    """`posts` -> `Posts`, `_superusers` -> `_Superusers` (the first letter, after underscores)."""
    out = safe(name)
    for i, c in enumerate(out):
        if c != "_":
            return out[:i] + c.upper() + out[i + 1 :]
    return out


def is_enum_value(value: str) -> bool:
    """Whether a select option can be a GraphQL enum value as it is (else the field is a String)."""
    return bool(VALID.match(value)) and not value.startswith("__") and value not in RESERVED_ENUM_VALUES


class Names:
    """Hands out unique names within one namespace (the schema's types, or one type's fields)."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self._taken: set[str] = set(taken or ())

    def take(self, wanted: str) -> str:
        name = wanted
        n = 2
        while name in self._taken:
            name = f"{wanted}_{n}"
            n += 1
        self._taken.add(name)
        return name
