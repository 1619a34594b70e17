"""Record JSON to and from `google.protobuf.Struct`."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from google.protobuf import struct_pb2

from satchel.apis.request import MAX_JSON_DEPTH, parse_json_object
from satchel.core.errors import BadRequestError
from satchel.plugins.grpc.convert import from_struct, to_struct


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def test_whole_numbers_come_back_as_ints_and_everything_else_as_sent() -> None:
    sent = {"n": 3, "f": 2.5, "big": 2**60, "s": "x", "b": False, "none": None, "list": [1, {"k": [True]}]}
    got = from_struct(struct(sent))
    assert got == {**sent, "big": float(2**60)}
    assert type(got["n"]) is int and type(got["list"][0]) is int and type(got["f"]) is float
    assert type(got["big"]) is float  # beyond 2**53 a double is not an exact integer: left as it came


def test_results_render_as_json_first() -> None:
    out = to_struct({"id": "a", "count": 2, "tags": ["x"], 1: "non-string key"})
    assert out["id"] == "a" and out["count"] == 2.0 and list(out["tags"]) == ["x"] and out["1"] == "non-string key"


def nested(levels: int) -> dict[str, Any]:
    """A body whose innermost object is at depth `levels` (the body itself is depth 1)."""
    body: dict[str, Any] = {}
    node = body
    for _ in range(levels - 1):
        node["a"] = {}
        node = node["a"]
    return body


def test_nesting_is_refused_where_rest_refuses_it() -> None:
    assert from_struct(struct(nested(MAX_JSON_DEPTH))) == nested(MAX_JSON_DEPTH)
    with pytest.raises(BadRequestError):
        from_struct(struct(nested(MAX_JSON_DEPTH + 1)))
    assert parse_json_object(orjson.dumps(nested(MAX_JSON_DEPTH))) == nested(MAX_JSON_DEPTH)
    with pytest.raises(BadRequestError):
        parse_json_object(orjson.dumps(nested(MAX_JSON_DEPTH + 1)))
