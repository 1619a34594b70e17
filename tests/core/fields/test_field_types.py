"""Field types against PocketBase's own JSON (the per-type behaviour is in test_fields_<type>.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from satchel.core.fields.base import Field, FieldOptionsError
from satchel.core.fields.registry import FIELD_TYPES, field_from_json

REFERENCE = Path(__file__).parents[2] / "data" / "pocketbase-0.40.6-collections.json"


def f(type_: str, **options: Any) -> Field:
    return field_from_json({"type": type_, "name": "x", "id": f"{type_}1", **options})


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


def test_system_collections_match_pocketbase() -> None:
    """Satchel's bootstrap collections equal PocketBase's, key for key (ids, fields, rules, indexes, options)."""
    from satchel.core.collections.system import system_collections

    ours = {c.name: c.to_json() for c in system_collections()}
    for ref in json.loads(REFERENCE.read_text())["items"]:
        mine = {k: v for k, v in ours[ref["name"]].items() if k not in ("created", "updated")}
        assert mine == ref, ref["name"]
