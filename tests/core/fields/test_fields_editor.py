"""EditorField against PocketBase 0.40.6."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext
from satchel.core.fields.editor import DEFAULT_MAX_SIZE, EditorField
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_EDITOR = {
    "convertURLs": True, "help": "", "hidden": False, "id": "editor327952476", "maxSize": 100, "name": "ed",
    "presentable": False, "required": False, "system": False, "type": "editor",
}  # fmt: skip


def opts(field: EditorField) -> OptionsContext:
    return OptionsContext(
        collection=Collection(id="c1", name="c", fields=[field]), old=None, find_collection=lambda _: None
    )


def test_to_json_matches_pocketbase() -> None:
    field = EditorField.from_json(PB_EDITOR)
    assert isinstance(field, EditorField)
    assert (field.max_size, field.convert_urls) == (100, True)
    assert field.to_json() == PB_EDITOR


@pytest.mark.parametrize(
    ("raw", "expected"), [("<p>x</p>", "<p>x</p>"), (None, ""), (5, "5"), (True, "true"), ([1], "")]
)
def test_coerce(raw: Any, expected: str) -> None:
    assert EditorField(name="e").coerce(raw) == expected


def test_column_and_storage() -> None:
    field = EditorField(name="e")
    assert field.column() == ir.ColumnDef("e", "TEXT", default="")
    assert field.from_db(field.to_db("<b>ü</b>")) == "<b>ü</b>"
    assert field.from_db(None) == ""
    assert field.zero() == ""


async def test_validate() -> None:
    assert await EditorField(name="e").validate("", ctx()) is None
    err = await EditorField(name="e", required=True).validate("", ctx())
    assert err is not None and err.code == "validation_required"
    err = await EditorField(name="e", max_size=3).validate("äb", ctx())  # 3 bytes: fits
    assert err is None
    err = await EditorField(name="e", max_size=3).validate("äbc", ctx())  # 4 bytes
    assert err is not None and err.to_json() == {
        "code": "validation_content_size_limit", "message": "The maximum allowed content size is 3 bytes.",
        "params": {"maxSize": 3},
    }  # fmt: skip
    err = await EditorField(name="e").validate("x" * (DEFAULT_MAX_SIZE + 1), ctx())
    assert err is not None and err.params == {"maxSize": 5 << 20}


def test_options() -> None:
    ok = EditorField(name="e", max_size=10)
    assert ok.validate_options(opts(ok)) == {}
    bad = EditorField(name="e", max_size=-1)
    assert bad.validate_options(opts(bad))["maxSize"].to_json() == {  # type: ignore[union-attr]
        "code": "validation_min_greater_equal_than_required", "message": "Must be no less than 0.",
        "params": {"threshold": 0},
    }  # fmt: skip
