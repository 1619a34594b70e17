"""AutodateField against PocketBase 0.40.6."""

from __future__ import annotations

from typing import Any

from satchel.core.collections.model import Collection
from satchel.core.fields.autodate import AutodateField
from satchel.core.fields.base import OptionsContext, ValueContext
from satchel.tools.sql import ir

PB_CREATED = {
    "hidden": False, "id": "autodate2990389176", "name": "created", "onCreate": True, "onUpdate": False,
    "presentable": False, "system": False, "type": "autodate",
}  # fmt: skip
PB_UPDATED = {**PB_CREATED, "id": "autodate3332085495", "name": "updated", "onUpdate": True}
NOW = "2030-01-02 03:04:05.678Z"


def ctx(original: dict[str, Any] | None = None) -> ValueContext:
    async def existing_ids(collection_id: str, ids: list[str]) -> set[str]:
        return set()

    return ValueContext(
        collection=Collection(id="c1", name="c"), data={}, original=original, existing_ids=existing_ids, now=NOW
    )


def opts(field: AutodateField, old: AutodateField | None = None) -> OptionsContext:
    c = Collection(id="c1", name="c", fields=[field])
    old_c = Collection(id="c1", name="c", fields=[old]) if old is not None else None
    return OptionsContext(collection=c, old=old_c, find_collection=lambda _: None)


def test_to_json_matches_pocketbase_without_required_or_help() -> None:
    assert AutodateField.from_json(PB_CREATED).to_json() == PB_CREATED
    assert AutodateField.from_json(PB_UPDATED).to_json() == PB_UPDATED
    assert "required" not in AutodateField(name="x").to_json()


def test_coerce_and_storage() -> None:
    field = AutodateField(name="created")
    assert field.column() == ir.ColumnDef("created", "TEXT", default="")
    assert field.coerce("2024-01-01") == "2024-01-01 00:00:00.000Z"
    assert field.coerce("junk") == ""
    assert field.from_db(field.to_db(NOW)) == NOW
    assert field.from_db(None) == ""


def test_before_save_stamps() -> None:
    created = AutodateField(name="created", on_create=True, on_update=False)
    updated = AutodateField(name="updated", on_create=True, on_update=True)
    update_only = AutodateField(name="touched", on_create=False, on_update=True)
    assert created.before_save("", ctx()) == NOW
    assert updated.before_save("", ctx()) == NOW
    assert update_only.before_save("", ctx()) == ""
    old = {"created": "2020-01-01 00:00:00.000Z", "updated": "2020-01-01 00:00:00.000Z", "touched": ""}
    # on update a client-supplied value never sticks: the stored one is kept or now is stamped
    assert created.before_save("2099-01-01 00:00:00.000Z", ctx(old)) == "2020-01-01 00:00:00.000Z"
    assert updated.before_save("2020-01-01 00:00:00.000Z", ctx(old)) == NOW
    assert update_only.before_save("", ctx(old)) == NOW


async def test_validate_never_fails() -> None:
    assert await AutodateField(name="created").validate("junk", ctx()) is None


def test_options() -> None:
    ok = AutodateField(name="created")
    assert ok.validate_options(opts(ok)) == {}
    neither = AutodateField(name="x", on_create=False, on_update=False)
    message = {"code": "validation_required", "message": "Either onCreate or onUpdate must be enabled."}
    assert {k: v.to_json() for k, v in neither.validate_options(opts(neither)).items()} == {  # type: ignore[union-attr]
        "onCreate": message,
        "onUpdate": message,
    }
    old = AutodateField(id="a1", name="created", system=True, on_create=True, on_update=False)
    changed = AutodateField(id="a1", name="created", system=True, on_create=True, on_update=True)
    errors = changed.validate_options(opts(changed, old))
    assert {k: v.to_json() for k, v in errors.items()} == {  # type: ignore[union-attr]
        "onUpdate": {"code": "validation_values_mismatch", "message": "Values don't match."},
    }
    changed.system = False
    assert changed.validate_options(opts(changed, old)) == {}
