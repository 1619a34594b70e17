"""DateField against PocketBase 0.40.6 (messages captured from the real server)."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext
from satchel.core.fields.date import DateField
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_DATE = {
    "help": "", "hidden": False, "id": "date2564639436", "max": "", "min": "2024-01-01 00:00:00.000Z", "name": "d",
    "presentable": False, "required": False, "system": False, "type": "date",
}  # fmt: skip


def test_to_json_matches_pocketbase() -> None:
    assert DateField.from_json(PB_DATE).to_json() == PB_DATE


def test_from_json_normalises_bounds() -> None:
    field = DateField.from_json({"name": "d", "min": "2024-01-01", "max": "bad"})
    assert isinstance(field, DateField)
    assert (field.min, field.max) == ("2024-01-01 00:00:00.000Z", "")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-06 07:08:09.123Z", "2024-05-06 07:08:09.123Z"), ("2024-05-06", "2024-05-06 00:00:00.000Z"),
        ("2024-05-06T07:08:09Z", "2024-05-06 07:08:09.000Z"), ("garbage", ""), ("", ""), (None, ""),
        (1700000000, ""), (True, ""), ([1], ""),
    ],
)  # fmt: skip
def test_coerce(raw: Any, expected: str) -> None:
    assert DateField(name="d").coerce(raw) == expected


def test_column_and_storage() -> None:
    field = DateField(name="d")
    assert field.column() == ir.ColumnDef("d", "TEXT", default="")
    assert field.zero() == ""
    value = "2024-05-06 07:08:09.123Z"
    assert field.from_db(field.to_db(value)) == value
    assert field.from_db(None) == ""
    assert field.from_db("not a date") == ""


async def err(field: DateField, value: Any) -> dict[str, Any] | None:
    e = await field.validate(value, ctx())
    return None if e is None else e.to_json()


async def test_validate() -> None:
    assert await err(DateField(name="d"), "") is None
    assert await err(DateField(name="d", required=True), "") == {
        "code": "validation_required",
        "message": "Cannot be blank.",
    }
    bounded = DateField(name="d", min="2024-01-01 00:00:00.000Z", max="2025-01-01 10:00:00.000Z")
    assert await err(bounded, "2020-01-01 00:00:00.000Z") == {
        "code": "validation_min_greater_equal_than_required",
        "message": "Must be no less than 2024-01-01 00:00:00 +0000 UTC.",
        "params": {"threshold": "2024-01-01T00:00:00Z"},
    }
    assert await err(bounded, "2026-01-01 00:00:00.000Z") == {
        "code": "validation_max_less_equal_than_required",
        "message": "Must be no greater than 2025-01-01 10:00:00 +0000 UTC.",
        "params": {"threshold": "2025-01-01T10:00:00Z"},
    }
    assert await err(bounded, "2024-06-01 00:00:00.000Z") is None
    assert await err(bounded, "2024-01-01 00:00:00.000Z") is None  # bounds are inclusive


def test_options_accept_any_pair() -> None:
    # PocketBase's range check of min/max is ineffective, so a max before min saves
    field = DateField(name="d", min="2024-01-01 00:00:00.000Z", max="2023-01-01 00:00:00.000Z")
    c = Collection(id="c1", name="c", fields=[field])
    assert field.validate_options(OptionsContext(collection=c, old=None, find_collection=lambda _: None)) == {}
