"""RelationField against PocketBase 0.40.6."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext, ValueContext
from satchel.core.fields.relation import RelationField
from satchel.tools.sql import ir

PB_RELATION = {
    "cascadeDelete": True, "collectionId": "pbc_2109205374", "help": "", "hidden": False, "id": "relation1812594589",
    "maxSelect": 3, "minSelect": 1, "name": "r", "presentable": False, "required": False, "system": False,
    "type": "relation",
}  # fmt: skip
TEAMS = Collection(id="pbc_teams", name="teams")
REPORT = Collection(id="pbc_report", name="report", type="view")


def ctx(existing: set[str]) -> ValueContext:
    async def existing_ids(collection_id: str, ids: list[str]) -> set[str]:
        assert collection_id == "pbc_teams"
        return {i for i in ids if i in existing}

    return ValueContext(collection=Collection(id="c1", name="c"), data={}, original=None, existing_ids=existing_ids)


def opts(field: RelationField, *, view: bool = False, old: Collection | None = None) -> OptionsContext:
    c = Collection(id="c1", name="c", fields=[field], type="view" if view else "base")
    known = {x.id: x for x in (TEAMS, REPORT)} | {x.name: x for x in (TEAMS, REPORT)}
    return OptionsContext(collection=c, old=old, find_collection=known.get)


def test_to_json_matches_pocketbase() -> None:
    field = RelationField.from_json(PB_RELATION)
    assert isinstance(field, RelationField)
    assert (field.collection_id, field.cascade_delete, field.min_select, field.max_select) == (
        "pbc_2109205374", True, 1, 3,
    )  # fmt: skip
    assert field.to_json() == PB_RELATION


def test_value_shape_follows_max_select() -> None:
    one, many = RelationField(name="r"), RelationField(name="r", max_select=5)
    assert not one.is_multiple and many.is_multiple
    assert one.column() == ir.ColumnDef("r", "TEXT", default="")
    assert many.column() == ir.ColumnDef("r", "JSON", default="[]")
    assert one.coerce(["a", "b"]) == "b"
    assert many.coerce("a") == ["a"]
    assert many.from_db(many.to_db(["x", "y"])) == ["x", "y"]
    assert many.from_db("x") == ["x"]
    assert one.from_db(None) == ""
    assert many.modify(["a"], "append", ["b"]) == ["a", "b"]
    assert many.modify(["a"], "prepend", "b") == ["b", "a"]
    assert many.modify(["a", "b"], "remove", "a") == ["b"]


async def err(field: RelationField, value: Any, existing: set[str] | None = None) -> dict[str, Any] | None:
    e = await field.validate(value, ctx(existing or set()))
    return None if e is None else e.to_json()


async def test_validate() -> None:
    field = RelationField(name="r", collection_id="pbc_teams", max_select=3)
    assert await err(field, []) is None
    field.required = True
    assert await err(field, []) == {"code": "validation_required", "message": "Cannot be blank."}
    assert await err(field, ["a", "b"], {"a", "b"}) is None
    assert await err(field, ["a", "x"], {"a"}) == {
        "code": "validation_missing_rel_records", "message": "Failed to find all relation records with the provided ids.",
    }  # fmt: skip
    assert await err(field, ["a", "b", "c", "d"], {"a", "b", "c", "d"}) == {
        "code": "validation_too_many_values", "message": "Select no more than 3.", "params": {"maxSelect": 3},
    }  # fmt: skip
    field.min_select = 2
    assert await err(field, ["a"], {"a"}) == {
        "code": "validation_not_enough_values", "message": "Select at least 2.", "params": {"minSelect": 2},
    }  # fmt: skip
    single = RelationField(name="r", collection_id="pbc_teams", max_select=0)
    assert await err(single, ["a", "b"], {"a", "b"}) == {
        "code": "validation_too_many_values", "message": "Select no more than 1.", "params": {"maxSelect": 1},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"collection_id": "pbc_teams"}, {}),
        ({"collection_id": ""}, {"collectionId": "validation_required"}),
        ({"collection_id": "pbc_missing"}, {"collectionId": "validation_field_relation_missing_collection"}),
        ({"collection_id": "pbc_report"}, {"collectionId": "validation_relation_field_non_view_base_collection"}),
        ({"collection_id": "pbc_teams", "min_select": -1}, {"minSelect": "validation_min_greater_equal_than_required"}),
        ({"collection_id": "pbc_teams", "min_select": 2, "max_select": 1},
         {"maxSelect": "validation_min_greater_equal_than_required"}),
        ({"collection_id": "pbc_teams", "min_select": 2, "max_select": 0}, {"maxSelect": "validation_required"}),
        ({"collection_id": "pbc_teams", "max_select": 0}, {}),
    ],
)  # fmt: skip
def test_options(options: dict[str, Any], expected: dict[str, str]) -> None:
    field = RelationField(name="r", **options)
    errors = field.validate_options(opts(field))
    assert {k: v.code for k, v in errors.items()} == expected  # type: ignore[union-attr]


def test_options_messages_and_special_cases() -> None:
    field = RelationField(name="r", collection_id="pbc_teams", min_select=2, max_select=1)
    assert field.validate_options(opts(field))["maxSelect"].to_json() == {  # type: ignore[union-attr]
        "code": "validation_min_greater_equal_than_required", "message": "Must be no less than 2.",
        "params": {"threshold": 2},
    }  # fmt: skip
    to_view = RelationField(name="r", collection_id="pbc_report")
    assert to_view.validate_options(opts(to_view, view=True)) == {}  # views may relate to views
    itself = RelationField(name="parent", collection_id="c1")
    assert itself.validate_options(opts(itself)) == {}
    by_name = RelationField(name="r", collection_id="teams")
    assert by_name.validate_options(opts(by_name)) == {}
    assert by_name.collection_id == "pbc_teams"  # Satchel's leniency: names resolve to ids
    old = Collection(id="c1", name="c", fields=[RelationField(id="f1", name="r", collection_id="pbc_other")])
    moved = RelationField(id="f1", name="r", collection_id="pbc_teams")
    assert moved.validate_options(opts(moved, old=old))["collectionId"].to_json() == {  # type: ignore[union-attr]
        "code": "validation_field_relation_change", "message": "The relation collection cannot be changed.",
    }  # fmt: skip
