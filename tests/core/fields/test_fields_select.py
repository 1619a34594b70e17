"""SelectField (and the list behaviour relation/file share) against PocketBase 0.40.6."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext
from satchel.core.fields.select import SelectField, unique_strings
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_SELECT = {
    "help": "", "hidden": False, "id": "select453955339", "maxSelect": 2, "name": "s", "presentable": True,
    "required": False, "system": False, "type": "select", "values": ["a", "b", "c"],
}  # fmt: skip


def opts(field: SelectField) -> OptionsContext:
    return OptionsContext(
        collection=Collection(id="c1", name="c", fields=[field]), old=None, find_collection=lambda _: None
    )


def single() -> SelectField:
    return SelectField(name="s", values=["a", "b", "c"])


def multi() -> SelectField:
    return SelectField(name="s", values=["a", "b", "c"], max_select=3)


def test_to_json_matches_pocketbase() -> None:
    field = SelectField.from_json(PB_SELECT)
    assert isinstance(field, SelectField) and field.is_multiple
    assert field.to_json() == PB_SELECT
    assert not SelectField(name="s", max_select=1).is_multiple
    assert not SelectField(name="s", max_select=0).is_multiple


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, []), ("", []), ("a", ["a"]), (["a", "b", "a", ""], ["a", "b"]), ('["b","a"]', ["b", "a"]),
        (' ["b"] ', ["b"]), ('["a",null]', ["a"]), ("[1,2]", ["[1,2]"]), ("a[b", ["a[b"]), ([1, True, None, 2.5], ["1", "true", "2.5"]),
        (["a", ["x"]], []), ({"a": 1}, []), (5, ["5"]), (("x", "y"), ["x", "y"]),
    ],
)  # fmt: skip
def test_unique_strings_like_pocketbase(raw: Any, expected: list[str]) -> None:
    assert unique_strings(raw) == expected


def test_coerce_single_keeps_the_last() -> None:
    assert single().coerce(["a", "b"]) == "b"
    assert single().coerce(["b", "", "b"]) == "b"
    assert single().coerce([]) == ""
    assert multi().coerce("a") == ["a"]
    assert multi().coerce(["c", "a", "c"]) == ["c", "a"]


def test_columns() -> None:
    assert single().column() == ir.ColumnDef("s", "TEXT", default="")
    assert multi().column() == ir.ColumnDef("s", "JSON", default="[]")
    assert single().zero() == "" and multi().zero() == []


def test_storage_round_trip_and_legacy_values() -> None:
    assert multi().to_db(["a", "b"]) == '["a","b"]'
    assert multi().from_db(multi().to_db(["a", "b"])) == ["a", "b"]
    assert single().from_db(single().to_db("a")) == "a"
    assert multi().from_db("a") == ["a"]  # a single value left in a multi column
    assert multi().from_db("[broken") == ["[broken"]
    assert multi().from_db(None) == []
    assert multi().from_db(b'["x"]') == ["x"]
    assert single().from_db('["a","b"]') == "b"  # a list left in a single column


@pytest.mark.parametrize(
    ("current", "modifier", "operand", "expected"),
    [
        (["a"], "append", "b", ["a", "b"]), (["a"], "append", ["b", "a"], ["a", "b"]),
        (["a"], "prepend", ["c", "b"], ["c", "b", "a"]), (["a", "b", "c"], "remove", ["a", "c"], ["b"]),
        (["a", "b"], "remove", "b", ["a"]), ([], "append", '["a","b"]', ["a", "b"]), (["a"], "unknown", "b", ["a"]),
    ],
)  # fmt: skip
def test_modifiers(current: Any, modifier: str, operand: Any, expected: Any) -> None:
    assert multi().modify(current, modifier, operand) == expected


def test_modifiers_on_single() -> None:
    assert single().modify("a", "append", "b") == "b"
    assert single().modify("a", "prepend", "b") == "a"
    assert single().modify("a", "remove", "a") == ""


async def err(field: SelectField, value: Any) -> dict[str, Any] | None:
    e = await field.validate(value, ctx())
    return None if e is None else e.to_json()


async def test_validate() -> None:
    assert await err(single(), "") is None
    required = SelectField(name="s", values=["a"], required=True)
    assert await err(required, "") == {"code": "validation_required", "message": "Cannot be blank."}
    assert await err(SelectField(name="s", values=["a"], max_select=3, required=True), []) is not None
    assert await err(single(), "z") == {
        "code": "validation_invalid_value",
        "message": "Invalid value z.",
        "params": {"value": "z"},
    }
    assert await err(single(), "[1,2]") == {
        "code": "validation_invalid_value", "message": "Invalid value [1,2].", "params": {"value": "[1,2]"},
    }  # fmt: skip
    two = SelectField(name="s", values=["a", "b", "c"], max_select=2)
    assert await err(two, ["a", "b", "c"]) == {
        "code": "validation_too_many_values", "message": "Select no more than 2.", "params": {"maxSelect": 2},
    }  # fmt: skip
    assert await err(two, ["a", "b"]) is None
    assert await err(single(), ["a", "b"]) == {
        "code": "validation_too_many_values", "message": "Select no more than 1.", "params": {"maxSelect": 1},
    }  # fmt: skip


def test_options() -> None:
    ok = SelectField(name="s", values=["a", "b"], max_select=0)
    assert ok.validate_options(opts(ok)) == {}
    assert ok.max_select == 0  # kept as given, as PocketBase does
    empty = SelectField(name="s")
    assert empty.validate_options(opts(empty))["values"].code == "validation_required"  # type: ignore[union-attr]
    over = SelectField(name="s", values=["a"], max_select=2)
    assert over.validate_options(opts(over))["maxSelect"].to_json() == {  # type: ignore[union-attr]
        "code": "validation_max_less_equal_than_required", "message": "Must be no greater than 1.",
        "params": {"threshold": 1},
    }  # fmt: skip
    negative = SelectField(name="s", values=["a"], max_select=-1)
    assert negative.validate_options(opts(negative))["maxSelect"].code == "validation_min_greater_equal_than_required"  # type: ignore[union-attr]
