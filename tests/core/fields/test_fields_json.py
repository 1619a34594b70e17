"""JSONField against PocketBase 0.40.6."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext
from satchel.core.fields.json import DEFAULT_MAX_SIZE, JSONField
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_JSON = {
    "help": "", "hidden": True, "id": "json2137352139", "maxSize": 2048, "name": "j", "presentable": False,
    "required": False, "system": False, "type": "json",
}  # fmt: skip


def test_to_json_matches_pocketbase() -> None:
    assert JSONField.from_json(PB_JSON).to_json() == PB_JSON


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""), ("null", None), ("true", True), ("false", False), ("123", 123), ("-1.5", -1.5), (" 123", " 123"),
        ("abc", "abc"), ('"q"', "q"), ("[1,2]", [1, 2]), ('{"a":1}', {"a": 1}), ("{bad", "{bad"), ("1x", "1x"),
        (None, None), (5, 5), (1.0, 1), ([1, "a"], [1, "a"]), (b'{"b":1}', {"b": 1}),
    ],
)  # fmt: skip
def test_coerce(raw: Any, expected: Any) -> None:
    value = JSONField(name="j").coerce(raw)
    assert value == expected
    assert type(value) is type(expected)


def test_coerce_objects_like_go_maps() -> None:
    value = JSONField(name="j").coerce({"b": 1, "a": [1.0, 2.5, 12345678901234567890]})
    assert value == {"a": [1, 2.5, 12345678901234567890.0], "b": 1}
    assert list(value) == ["a", "b"]  # Go's maps encode sorted


def test_column_and_storage() -> None:
    field = JSONField(name="j")
    assert field.column() == ir.ColumnDef("j", "JSON", not_null=False)
    assert field.zero() is None
    for value in ({"a": [1, {"b": None}]}, [1, 2], "text", 0, True, ""):
        assert field.from_db(field.to_db(value)) == value
    assert field.to_db(None) is None
    assert field.from_db(None) is None
    assert field.from_db("not json") == "not json"  # legacy text does not raise
    assert field.from_db(b"[1]") == [1]


async def err(field: JSONField, value: Any) -> dict[str, Any] | None:
    e = await field.validate(value, ctx())
    return None if e is None else e.to_json()


async def test_validate() -> None:
    required = JSONField(name="j", required=True)
    empties: tuple[Any, ...] = (None, "", [], {})
    for empty in empties:
        assert await err(required, empty) == {"code": "validation_required", "message": "Cannot be blank."}
        assert await err(JSONField(name="j"), empty) is None
    for present in (0, False, [0], {"a": None}, "x"):
        assert await err(required, present) is None
    assert await err(JSONField(name="j", max_size=5), [1, 2]) is None  # `[1,2]` is 5 bytes
    assert await err(JSONField(name="j", max_size=5), [1, 20]) == {
        "code": "validation_json_size_limit", "message": "The maximum allowed JSON size is 5 bytes.",
        "params": {"maxSize": 5},
    }  # fmt: skip
    big = await err(JSONField(name="j"), "x" * DEFAULT_MAX_SIZE)
    assert big is not None and big["params"] == {"maxSize": 1 << 20}
    assert await err(JSONField(name="j"), {1, 2}) == {
        "code": "validation_invalid_json",
        "message": "Must be a valid json value.",
    }


def test_options() -> None:
    field = JSONField(name="j", max_size=-5)
    c = Collection(id="c1", name="c", fields=[field])
    errors = field.validate_options(OptionsContext(collection=c, old=None, find_collection=lambda _: None))
    assert errors["maxSize"].code == "validation_min_greater_equal_than_required"  # type: ignore[union-attr]
    field.max_size = 0
    assert field.validate_options(OptionsContext(collection=c, old=None, find_collection=lambda _: None)) == {}
