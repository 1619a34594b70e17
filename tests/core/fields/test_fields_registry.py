"""The field type registry and PocketBase's JSON of every type."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.fields.base import Field, FieldOptionsError
from satchel.core.fields.registry import FIELD_TYPES, field_from_json

POCKETBASE_TYPES = {
    "text", "editor", "number", "bool", "email", "url", "date", "autodate", "select", "json", "relation", "file",
    "password", "geoPoint",
}  # fmt: skip


def test_registry_has_exactly_pocketbase_types() -> None:
    assert set(FIELD_TYPES) == POCKETBASE_TYPES
    for name, cls in FIELD_TYPES.items():
        assert cls.type == name
        assert issubclass(cls, Field)


@pytest.mark.parametrize("type_", sorted(POCKETBASE_TYPES))
def test_every_type_round_trips_its_own_json(type_: str) -> None:
    field = field_from_json({"type": type_, "name": "x", "id": f"{type_}1"})
    assert isinstance(field, FIELD_TYPES[type_])
    data = field.to_json()
    assert data["type"] == type_
    assert field_from_json(data).to_json() == data
    assert list(data) == sorted(data)
    common = {"id", "name", "type", "system", "hidden", "presentable"}
    assert common <= set(data)
    assert ("required" in data) is (type_ != "autodate")


@pytest.mark.parametrize(
    "data",
    [{}, {"type": "nope"}, {"type": None}, {"type": 5}, {"type": "Text"}],
)
def test_unknown_or_missing_type(data: dict[str, Any]) -> None:
    with pytest.raises(FieldOptionsError) as exc:
        field_from_json(data)
    assert exc.value.errors["type"].code == "validation_invalid_value"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"type": "text", "min": "abc"}, "min"),
        ({"type": "text", "min": 1.5}, "min"),
        ({"type": "select", "values": "a"}, "values"),
        ({"type": "select", "values": [1]}, "values"),
        ({"type": "bool", "hidden": "yes"}, "hidden"),
        ({"type": "relation", "collectionId": 5}, "collectionId"),
        ({"type": "number", "min": "1"}, "min"),
    ],
)
def test_wrong_option_types_are_reported_by_wire_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(FieldOptionsError) as exc:
        field_from_json(data)
    assert set(exc.value.errors) == {key}


def test_lenient_defaults() -> None:
    field = field_from_json({"type": "text", "name": "t", "min": None, "unknown": 1, "max": 10.0})
    assert field.to_json()["min"] == 0 and field.to_json()["max"] == 10


def test_is_multiple() -> None:
    for type_ in ("select", "relation", "file"):
        assert not field_from_json({"type": type_, "maxSelect": 1}).is_multiple
        assert field_from_json({"type": type_, "maxSelect": 2}).is_multiple
    assert not field_from_json({"type": "json"}).is_multiple
