"""Every field type: JSON options round trip, coercion, validation codes, storage, modifiers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import Field, FieldOptionsError, OptionsContext, ValueContext
from satchel.core.fields.registry import FIELD_TYPES, field_from_json

REFERENCE = Path(__file__).parents[2] / "data" / "pocketbase-0.40.6-collections.json"


def f(type_: str, **options: Any) -> Field:
    return field_from_json({"type": type_, "name": "x", "id": f"{type_}1", **options})


def ctx(existing: set[str] | None = None, original: dict[str, Any] | None = None) -> ValueContext:
    async def existing_ids(_: str, ids: list[str]) -> set[str]:
        return {i for i in ids if i in (existing or set())}

    return ValueContext(collection=Collection(id="c", name="c"), data={}, original=original, existing_ids=existing_ids)


async def code(field: Field, value: Any, **kw: Any) -> str | None:
    err = await field.validate(field.coerce(value), ctx(**kw))
    return err.code if err else None


def test_registry_has_every_pocketbase_type() -> None:
    assert set(FIELD_TYPES) == {"text", "editor", "number", "bool", "email", "url", "date", "autodate", "select",
                                "json", "relation", "file", "password", "geoPoint"}


def test_system_fields_round_trip_pocketbase_json() -> None:
    for c in json.loads(REFERENCE.read_text())["items"]:
        for data in c["fields"]:
            assert field_from_json(data).to_json() == data


def test_option_keys_match_pocketbase() -> None:
    assert set(f("relation").to_json()) == {"cascadeDelete", "collectionId", "help", "hidden", "id", "maxSelect",
                                            "minSelect", "name", "presentable", "required", "system", "type"}
    assert set(f("autodate").to_json()) == {"hidden", "id", "name", "onCreate", "onUpdate", "presentable", "system",
                                            "type"}
    assert f("number").to_json()["min"] is None


@pytest.mark.parametrize("data", [{"type": "nope"}, {}, {"type": "text", "min": "abc"}, {"type": "select", "values": "a"},
                                  {"type": "bool", "required": "yes"}])
def test_bad_option_json_is_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(FieldOptionsError):
        field_from_json(data)


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (f("text"), 12, "12"), (f("text"), 1.5, "1.5"), (f("text"), None, ""), (f("text"), True, "true"),
        (f("number"), "12", 12), (f("number"), "1.5", 1.5), (f("number"), "x", 0), (f("number"), True, 1),
        (f("bool"), "true", True), (f("bool"), "0", False), (f("bool"), 1, True),
        (f("select", values=["a", "b"]), ["a", "b"], "b"),
        (f("select", values=["a", "b"], maxSelect=2), "a", ["a"]),
        (f("select", values=["a", "b"], maxSelect=2), ["b", "a", "b"], ["b", "a"]),
        (f("relation", maxSelect=3), '["x","y"]', ["x", "y"]),
        (f("json"), '{"a":1}', {"a": 1}), (f("json"), "not json", "not json"), (f("json"), [1], [1]),
        (f("date"), "2024-01-02", "2024-01-02 00:00:00.000Z"), (f("date"), "2024-01-02T03:04:05.6+01:00",
                                                                  "2024-01-02 02:04:05.600Z"),
        (f("date"), "garbage", ""), (f("geoPoint"), {"lon": "1.5", "lat": 2}, {"lon": 1.5, "lat": 2}),
        (f("email"), " a@b.co ", "a@b.co"),
    ],
)
def test_coerce(field: Field, raw: Any, expected: Any) -> None:
    assert field.coerce(raw) == expected


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (f("text", required=True), "", "validation_required"),
        (f("text", min=3), "ab", "validation_min_text_constraint"),
        (f("text", max=3), "abcd", "validation_max_text_constraint"),
        (f("text", pattern="^[a-z]+$"), "AB", "validation_invalid_format"),
        (f("text", pattern="^[a-z]+$"), "ab", None),
        (f("text"), "x" * 5001, "validation_max_text_constraint"),
        (f("editor", maxSize=3), "abcd", "validation_content_size_limit"),
        (f("number", required=True), 0, "validation_required"),
        (f("number", onlyInt=True), 1.5, "validation_only_int_constraint"),
        (f("number", min=1), 0.5, "validation_min_number_constraint"),
        (f("number", max=1), 2, "validation_max_number_constraint"),
        (f("bool", required=True), False, "validation_required"),
        (f("email"), "nope", "validation_is_email"),
        (f("email", onlyDomains=["ok.com"]), "a@bad.com", "validation_email_domain_not_allowed"),
        (f("email", exceptDomains=["bad.com"]), "a@bad.com", "validation_email_domain_not_allowed"),
        (f("email"), "a@ok.com", None),
        (f("url"), "not a url", "validation_invalid_url"),
        (f("url", onlyDomains=["ok.com"]), "https://bad.com/x", "validation_url_domain_not_allowed"),
        (f("url"), "https://example.com/a?b=c", None),
        (f("date", min="2020-01-01"), "2019-12-31", "validation_min_greater_equal_than_required"),
        (f("date", max="2020-01-01"), "2020-01-02", "validation_max_less_equal_than_required"),
        (f("select", values=["a"]), "c", "validation_invalid_value"),
        (f("select", values=["a", "b"], maxSelect=2, required=True), [], "validation_required"),
        (f("json", maxSize=5), {"long": "value"}, "validation_json_size_limit"),
        (f("json", required=True), {}, "validation_required"),
        (f("geoPoint"), {"lon": 500, "lat": 0}, "validation_invalid_longitude"),
        (f("geoPoint"), {"lon": 0, "lat": 91}, "validation_invalid_latitude"),
        (f("file", maxSelect=1), ["a.png"], None),
    ],
)
async def test_validate(field: Field, value: Any, expected: str | None) -> None:
    assert await code(field, value) == expected


async def test_relation_validation_checks_existence_and_counts() -> None:
    rel = f("relation", collectionId="c", maxSelect=2, minSelect=1)
    assert await code(rel, ["a", "b"], existing={"a", "b"}) is None
    assert await code(rel, ["a", "zzz"], existing={"a"}) == "validation_missing_rel_records"
    assert await code(rel, ["a", "b", "c"], existing={"a", "b", "c"}) in ("validation_too_many_values",)
    assert await code(f("relation", collectionId="c", required=True), "") == "validation_required"


def test_password_validates_plaintext() -> None:
    pw = f("password", min=8)
    assert pw.validate_plain("short").code == "validation_min_text_constraint"  # type: ignore[union-attr]
    assert pw.validate_plain("long-enough") is None


@pytest.mark.parametrize(
    ("field", "current", "modifier", "operand", "expected"),
    [
        (f("number"), 5, "append", 2, 7), (f("number"), 5, "remove", "1.5", 3.5),
        (f("select", values=["a", "b", "c"], maxSelect=3), ["a"], "append", ["b", "a"], ["a", "b"]),
        (f("select", values=["a", "b", "c"], maxSelect=3), ["a"], "prepend", "c", ["c", "a"]),
        (f("relation", maxSelect=5), ["a", "b"], "remove", "a", ["b"]),
        (f("relation"), "a", "remove", "a", ""),
        (f("text"), "x", "append", "y", "x"),
    ],
)
def test_modifiers(field: Field, current: Any, modifier: str, operand: Any, expected: Any) -> None:
    assert field.modify(current, modifier, operand) == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (f("select", values=["a", "b"], maxSelect=2), ["a", "b"]), (f("json"), {"a": [1, None]}), (f("json"), None),
        (f("bool"), True), (f("number"), 2.5), (f("geoPoint"), {"lon": 1, "lat": 2}), (f("relation"), "abc"),
    ],
)
def test_storage_round_trip(field: Field, value: Any) -> None:
    assert field.from_db(field.to_db(value)) == value


def test_columns() -> None:
    assert f("select", values=["a"], maxSelect=2).column().type == "JSON"
    assert f("select", values=["a"]).column().default == ""
    assert f("json").column().not_null is False
    assert f("text", primaryKey=True).column().primary_key is True
    assert f("number").column().type == "NUMERIC"


def test_autodate_and_autogenerate_fill_values() -> None:
    created = f("autodate", onCreate=True, onUpdate=False)
    updated = f("autodate", onCreate=True, onUpdate=True)
    new = ctx()
    assert created.before_save("", new) == new.now == updated.before_save("", new)
    old = ctx(original={"x": "2020-01-01 00:00:00.000Z"})
    assert created.before_save("", old) == "2020-01-01 00:00:00.000Z"
    assert updated.before_save("", old) == old.now
    gen = f("text", autogeneratePattern="[a-z]{4}-[0-9]{2}")
    value = gen.before_save("", new)
    assert len(value) == 7 and value[4] == "-" and value[:4].isalpha() and value[5:].isdigit()


def test_option_validation() -> None:
    c = Collection(id="c", name="c")
    octx = OptionsContext(collection=c, old=None, find_collection=lambda _: None)
    assert "values" in f("select").validate_options(octx)
    assert "collectionId" in f("relation", collectionId="missing").validate_options(octx)
    assert f("relation", collectionId="c").validate_options(octx) == {}  # a self relation
    assert "max" in f("number", min=5, max=1).validate_options(octx)
    assert "pattern" in f("text", pattern="(").validate_options(octx)
    assert "onlyDomains" in f("email", onlyDomains=["a"], exceptDomains=["b"]).validate_options(octx)


def test_system_collections_match_pocketbase() -> None:
    """Satchel's bootstrap collections equal PocketBase's, key for key (ids, fields, rules, indexes, options)."""
    from satchel.core.collections.system import system_collections

    ours = {c.name: c.to_json() for c in system_collections()}
    for ref in json.loads(REFERENCE.read_text())["items"]:
        mine = {k: v for k, v in ours[ref["name"]].items() if k not in ("created", "updated")}
        assert mine == ref, ref["name"]
