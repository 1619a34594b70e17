"""The lexical side of filter identifiers: which names may be resolved at all, how a trailing
`:modifier` is split off, what the datetime macros and `@request.*` values are.

Kept apart from the resolver because these rules are PocketBase's exact surface syntax (which
prefixes are allowed, which modifiers exist, how request values are normalised before binding)
and have nothing to do with tables or joins.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from satchel.tools.datetime import macro_value

MODIFIERS = frozenset({"isset", "changed", "length", "each", "lower"})

# Names the record resolver accepts at all (PocketBase's allow-list; `\w` is ASCII there).
_ALLOWED = tuple(
    re.compile(p, re.ASCII)
    for p in (
        r"^\w+[\w.:]*$",
        r"^@request\.context$",
        r"^@request\.method$",
        r"^@request\.auth\.[\w.:]*\w+$",
        r"^@request\.body\.[\w.:]*\w+$",
        r"^@request\.query\.[\w.:]*\w+$",
        r"^@request\.headers\.[\w.:]*\w+$",
        r"^@collection\.\w+(:\w+)?\.[\w.:]*\w+$",
    )
)

VIA = re.compile(r"^(\w+)_via_(\w+)$", re.ASCII)

# `@request.auth.*` keys read from the auth record itself instead of joining its table.
PLAIN_AUTH_FIELDS = frozenset(
    "@request.auth." + k for k in ("id", "collectionId", "collectionName", "email", "emailVisibility", "verified")
)

# Names that mean a literal when no field of that name resolves (case-insensitive, as PocketBase).
LITERALS: dict[str, int | None] = {"null": None, "true": 1, "false": 0}

MACROS = frozenset(
    {
        "@now",
        "@yesterday",
        "@tomorrow",
        "@second",
        "@minute",
        "@hour",
        "@day",
        "@month",
        "@weekday",
        "@year",
        "@todayStart",
        "@todayEnd",
        "@monthStart",
        "@monthEnd",
        "@yearStart",
        "@yearEnd",
    }
)


class IdentifierError(ValueError):
    """A name that cannot be resolved (the resolver turns it into a FilterError)."""


def is_allowed(name: str) -> bool:
    return any(p.match(name) for p in _ALLOWED)


def split_modifier(prop: str) -> tuple[str, str | None]:
    """`name:mod` -> (name, mod). More than one colon is not a modifier (the name stays as is and
    later fails to resolve); exactly one colon with an unknown modifier is an error."""
    parts = prop.split(":")
    if len(parts) != 2:
        return prop, None
    if parts[1] not in MODIFIERS:
        raise IdentifierError(f"unknown modifier in {prop!r}")
    return parts[0], parts[1]


def macro(name: str, now: datetime) -> str | int | None:
    """The value of a datetime macro (UTC) or None when `name` is not one."""
    if name not in MACROS:
        return None
    return macro_value(name, now)


def json_key(prop: str) -> str | int:
    """One JSON path step: digits index an array, anything else is an object key.

    PocketBase strips characters that are invalid in a column name (here only `:` can occur).
    """
    if prop.isdigit():
        return int(prop)
    return prop.replace(":", "")


def nested_value(data: Any, keys: list[str]) -> tuple[bool, Any]:
    """Walk maps by key and lists by index; (found, value)."""
    cur = data
    for k in keys:
        if isinstance(cur, dict):
            if k not in cur:
                return False, None
            cur = cur[k]
        elif isinstance(cur, list | tuple):
            try:
                idx = int(k)
            except ValueError:
                return False, None
            if idx < 0 or idx >= len(cur):
                return False, None
            cur = cur[idx]
        else:
            return False, None
    return True, cur


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def bind_value(value: Any, *, numeric: bool) -> Any:
    """A request value as PocketBase binds it.

    JSON numbers are float64 in Go (so ints are bound as REAL), numeric strings are parsed when the
    same-named field is a number field, and lists/objects are compared as their compact JSON text.
    """
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, str):
        if numeric and _NUMBER.match(value):
            return float(value)
        return value
    return go_json(value)


def go_string(value: Any) -> str:
    """Go's `cast.ToString`: scalars as text, anything else as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return value
    return ""


def go_float(value: float) -> str:
    """A float64 as Go's `strconv.FormatFloat(f, 'f', -1, 64)` prints it (no exponent)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(value, "f").rstrip("0").rstrip(".")
    return text


def go_json(value: Any) -> str:
    """Compact JSON as Go's encoding/json writes it (sorted keys, HTML-safe escapes)."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def to_items(value: Any) -> list[Any]:
    """A body value as a list of items: None -> [], scalar -> [scalar]."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def unique_strings(value: Any) -> list[str]:
    """Relation ids from a body value (a list, one id, or a JSON array text), non-empty and unique."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = [value]
        else:
            value = [value]
    out: list[str] = []
    for item in to_items(value):
        s = go_string(item) if not isinstance(item, str) else item
        if s and s not in out:
            out.append(s)
    return out
