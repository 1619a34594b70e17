"""orjson wrapper: one error type and the nesting-depth guard."""

from __future__ import annotations

import pytest

from satchel.tools.jsonutil import MAX_DEPTH, JSONDecodeError, JSONDepthError, check_depth, depth, dumps, loads


def test_dumps_compact_and_non_str_keys() -> None:
    assert dumps({"a": [1, 2.5, None, True], "é": "ü"}) == '{"a":[1,2.5,null,true],"é":"ü"}'.encode()
    assert dumps({1: "x", None: "y"}) == b'{"1":"x","null":"y"}'


def test_dumps_unsupported_raises_type_error() -> None:
    with pytest.raises(TypeError):
        dumps({"x": object()})


@pytest.mark.parametrize("data", [b'{"a":1}', '{"a":1}', bytearray(b'{"a":1}'), memoryview(b'{"a":1}')])
def test_loads_inputs(data: bytes | str) -> None:
    assert loads(data) == {"a": 1}


@pytest.mark.parametrize("bad", [b"", "", b"{", "[1,]", b"\xff\xfe", "NaN", "{'a': 1}", "1 2", None, 123])
def test_loads_errors_are_one_type(bad: object) -> None:
    with pytest.raises(JSONDecodeError) as info:
        loads(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def nested(levels: int) -> object:
    value: object = 1
    for i in range(levels):
        value = [value] if i % 2 else {"k": value}
    return value


def test_depth() -> None:
    assert depth(1) == 0 and depth("x") == 0
    assert depth([]) == 1 and depth({}) == 1
    assert depth({"a": [1, {"b": []}], "c": 2}) == 4
    assert depth(nested(10)) == 10
    assert depth(nested(100_000)) == 100_000  # iterative: no RecursionError


def test_check_depth() -> None:
    check_depth(nested(MAX_DEPTH))
    with pytest.raises(JSONDepthError):
        check_depth(nested(MAX_DEPTH + 1))
    with pytest.raises(JSONDecodeError):
        check_depth(nested(3), limit=2)
    check_depth(nested(2), limit=2)
