"""FileField (name metadata only) against PocketBase 0.40.6."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext
from satchel.core.fields.file import FileField
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_AVATAR = {
    "help": "", "hidden": False, "id": "file376926767", "maxSelect": 1, "maxSize": 0,
    "mimeTypes": ["image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"], "name": "avatar",
    "presentable": False, "protected": False, "required": False, "system": False, "thumbs": [], "type": "file",
}  # fmt: skip
PB_FILES = {
    "help": "", "hidden": False, "id": "file3309110367", "maxSelect": 5, "maxSize": 1000, "mimeTypes": ["image/png"],
    "name": "f", "presentable": False, "protected": True, "required": False, "system": False, "thumbs": ["100x100"],
    "type": "file",
}  # fmt: skip


def opts(field: FileField) -> OptionsContext:
    return OptionsContext(
        collection=Collection(id="c1", name="c", fields=[field]), old=None, find_collection=lambda _: None
    )


@pytest.mark.parametrize("data", [PB_AVATAR, PB_FILES])
def test_to_json_matches_pocketbase(data: dict[str, Any]) -> None:
    assert FileField.from_json(data).to_json() == data


def test_value_shape_and_storage() -> None:
    one, many = FileField(name="f"), FileField(name="f", max_select=3)
    assert one.column() == ir.ColumnDef("f", "TEXT", default="")
    assert many.column() == ir.ColumnDef("f", "JSON", default="[]")
    assert one.coerce(["a.png", "b.png"]) == "b.png"
    assert many.coerce(["a.png", "a.png"]) == ["a.png"]
    assert many.from_db(many.to_db(["a.png", "b.png"])) == ["a.png", "b.png"]
    assert many.from_db("a.png") == ["a.png"]
    assert one.from_db(one.to_db("a.png")) == "a.png"
    assert many.modify(["a.png"], "remove", ["a.png"]) == []
    assert one.effective_max_size == 5 << 20 and FileField(name="f", max_size=10).effective_max_size == 10
    assert one.effective_max_select == 1 and FileField(name="f", max_select=0).effective_max_select == 1


async def test_validate() -> None:
    assert await FileField(name="f").validate("", ctx()) is None
    err = await FileField(name="f", required=True).validate([], ctx())
    assert err is not None and err.code == "validation_required"
    err = await FileField(name="f", max_select=2).validate(["a", "b", "c"], ctx())
    assert err is not None and err.to_json() == {
        "code": "validation_too_many_files", "message": "The maximum allowed files is 2.", "params": {"maxSelect": 2},
    }  # fmt: skip
    assert await FileField(name="f", max_select=2).validate(["a", "b"], ctx()) is None


def test_options() -> None:
    ok = FileField(name="f", thumbs=["100x100", "0x50", "20x0t", "10x10b", "5x5f"])
    assert ok.validate_options(opts(ok)) == {}
    bad = FileField(name="f", max_select=-1, max_size=-1, thumbs=["0x0", "10x10x", "ok", "100x0f", "0x0t"])
    errors = bad.validate_options(opts(bad))
    assert errors["maxSelect"].to_json() == {  # type: ignore[union-attr]
        "code": "validation_min_greater_equal_than_required", "message": "Must be no less than 0.",
        "params": {"threshold": 0},
    }  # fmt: skip
    assert errors["maxSize"].code == "validation_min_greater_equal_than_required"  # type: ignore[union-attr]
    thumbs = errors["thumbs"]
    assert isinstance(thumbs, dict)
    assert {k: v.to_json() for k, v in thumbs.items()} == {  # type: ignore[union-attr]
        "0": {"code": "validation_not_in_invalid", "message": "Must not be in list."},
        "1": {"code": "validation_match_invalid", "message": "Must be in a valid format."},
        "2": {"code": "validation_match_invalid", "message": "Must be in a valid format."},
        "4": {"code": "validation_not_in_invalid", "message": "Must not be in list."},
    }
