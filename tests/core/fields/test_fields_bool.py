"""BoolField against PocketBase 0.40.6."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.fields.bool import BoolField, cast_bool
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_BOOL = {
    "help": "", "hidden": False, "id": "bool256245529", "name": "verified", "presentable": False, "required": False,
    "system": True, "type": "bool",
}  # fmt: skip


def test_to_json_matches_pocketbase() -> None:
    assert BoolField.from_json(PB_BOOL).to_json() == PB_BOOL
    assert set(BoolField(name="b").to_json()) == set(PB_BOOL)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True), (False, False), (None, False), (1, True), (0, False), (0.5, True), ("true", True), ("T", True),
        ("TRUE", True), ("True", True), ("1", True), ("t", True), ("false", False), ("on", False), ("yes", False),
        (" true", False), ("TrUe", False), ("", False), ([True], False), ({}, False),
    ],
)  # fmt: skip
def test_coerce_like_go_parse_bool(raw: Any, expected: bool) -> None:
    assert BoolField(name="b").coerce(raw) is expected
    assert cast_bool(raw) is expected


def test_column_and_storage() -> None:
    field = BoolField(name="b")
    assert field.column() == ir.ColumnDef("b", "BOOLEAN", default=False)
    assert field.zero() is False
    assert field.to_db(True) == 1 and field.to_db(False) == 0
    assert field.from_db(field.to_db(True)) is True
    assert field.from_db(field.to_db(False)) is False
    assert field.from_db(None) is False
    assert field.from_db("1") is True


async def test_validate() -> None:
    assert await BoolField(name="b").validate(False, ctx()) is None
    err = await BoolField(name="b", required=True).validate(False, ctx())
    assert err is not None and err.to_json() == {"code": "validation_required", "message": "Cannot be blank."}
    assert await BoolField(name="b", required=True).validate(True, ctx()) is None
