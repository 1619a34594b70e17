"""JSON through orjson with one error type, plus a nesting-depth guard for untrusted input."""

from __future__ import annotations

from typing import Any

import orjson

MAX_DEPTH = 64


class JSONDecodeError(ValueError):
    """Any input that is not acceptable JSON (syntax, encoding, type, depth)."""


class JSONDepthError(JSONDecodeError):
    pass


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON; non-string dict keys are stringified. Raises TypeError for unsupported values."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    try:
        return orjson.loads(data)
    except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise JSONDecodeError(str(exc)) from exc


def depth(obj: Any) -> int:
    """Nesting depth of lists/dicts (a scalar is 0, `[]` is 1); iterative so it cannot overflow the stack."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children)
    return deepest


def check_depth(obj: Any, limit: int = MAX_DEPTH) -> None:
    """Reject values nested deeper than `limit`, before recursive code (rules, SQL) walks them."""
    if depth(obj) > limit:
        raise JSONDepthError(f"JSON value nested deeper than {limit} levels")
