"""Value helpers shared by field types (PocketBase's lenient casting rules)."""

from __future__ import annotations

import math
from typing import Any

import orjson

from satchel.core.errors import FieldError


def ferr(code: str, message: str, **params: Any) -> FieldError:
    """A field error whose message has its `{name}` placeholders filled, as PocketBase renders them."""
    return FieldError(code, message.format(**params), params)


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return ""


def to_number(value: Any) -> float | int:
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else 0
    if isinstance(value, str):
        try:
            f = float(value.strip())
        except ValueError:
            return 0
        return f if math.isfinite(f) else 0
    return 0


def clean_number(value: float | int) -> float | int:
    """Integral floats become ints so JSON shows `170`, as PocketBase does."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "on", "yes")
    return False


def to_string_list(value: Any) -> list[str]:
    """A unique list of non-empty strings (order kept) from a list, a JSON array text or a scalar."""
    if value is None:
        return []
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                parsed = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, list):
                return to_string_list(parsed)
        return [value] if value else []
    if isinstance(value, list | tuple):
        items = [to_text(v) for v in value]
        return list(dict.fromkeys(i for i in items if i))
    text = to_text(value)
    return [text] if text else []


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def parse_json_text(raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, bytes | str):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw if isinstance(raw, str) else None
    return raw
