"""JSON through orjson with one error type."""

from __future__ import annotations

from typing import Any

import orjson


class JSONDecodeError(ValueError):
    pass


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JSONDecodeError(str(exc)) from exc
