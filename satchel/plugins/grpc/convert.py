"""Record JSON to and from `google.protobuf.Struct`.

A Struct number is a double: whole numbers coming in are made ints again (a JSON client sending
`3` means 3, not 3.0), and integers beyond 2**53 cannot travel exactly either way.
"""

from __future__ import annotations

from typing import Any

import orjson
from google.protobuf import struct_pb2

from satchel.apis.request import LOAD_ERROR, MAX_JSON_DEPTH
from satchel.core.errors import BadRequestError

_EXACT = 1 << 53


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    """A service's JSON result as a Struct (through orjson, so values render exactly as REST's)."""
    out = struct_pb2.Struct()
    out.update(orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)))
    return out


def from_struct(value: struct_pb2.Struct) -> dict[str, Any]:
    """A request's Struct as the body dict REST would have parsed from JSON; too deep is a 400 (at
    the depth REST refuses, the body itself being level 1)."""
    return {key: _plain(item, 2) for key, item in value.fields.items()}


def _plain(value: struct_pb2.Value, depth: int) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise BadRequestError(LOAD_ERROR)
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return {k: _plain(v, depth + 1) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_plain(v, depth + 1) for v in value.list_value.values]
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) <= _EXACT else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None
