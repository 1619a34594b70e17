"""Declarative option (de)serialisation shared by every field type.

Each type lists its options as (wire key, attribute, kind); JSON in and out is then generic,
with PocketBase's key names and lenient-but-typed parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from satchel.core.errors import ErrorTree, FieldError

Kind = Literal["int", "number?", "bool", "str", "strlist"]
Option = tuple[str, str, Kind]

COMMON: tuple[Option, ...] = (
    ("id", "id", "str"),
    ("name", "name", "str"),
    ("system", "system", "bool"),
    ("hidden", "hidden", "bool"),
    ("presentable", "presentable", "bool"),
)
REQUIRED_HELP: tuple[Option, ...] = (("required", "required", "bool"), ("help", "help", "str"))
ENCRYPTED: Option = ("encrypted", "encrypted", "bool")
"""Satchel's own option (text, editor, json; docs/encryption.md): in a field's JSON only when true, so
the JSON of every other field stays PocketBase's, key for key."""


def _bad(kind: str) -> FieldError:
    return FieldError("validation_invalid_value", f"Invalid value, expected {kind}.")


def read_option(value: Any, kind: Kind) -> Any:  # noqa: C901 - one switch over the few option kinds
    """Convert one JSON option value; raises ValueError when its JSON type is wrong."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value is None:
            return False
        raise ValueError("bool")
    if kind == "int":
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
            raise ValueError("integer")
        return int(value)
    if kind == "number?":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("number")
        return value
    if kind == "str":
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValueError("string")
        return value
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("list of strings")
    return list(value)


def load_options(target: Any, data: Mapping[str, Any], options: tuple[Option, ...]) -> ErrorTree:
    errors: ErrorTree = {}
    for key, attr, kind in options:
        if key not in data:
            continue
        try:
            setattr(target, attr, read_option(data[key], kind))
        except ValueError as exc:
            errors[key] = _bad(str(exc))
    return errors


def dump_options(source: Any, options: tuple[Option, ...]) -> dict[str, Any]:
    out = {key: getattr(source, attr) for key, attr, _ in options}
    if out.get(ENCRYPTED[0]) is False:
        del out[ENCRYPTED[0]]
    return out
