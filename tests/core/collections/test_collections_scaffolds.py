"""The scaffolds document, PocketBase's field-list `add` rules and Go-style JSON binding."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.collections.scaffolds import add_field, bind, new_collection, prepare_for_save, scaffolds
from satchel.core.errors import BadRequestError
from satchel.core.fields.base import Field
from satchel.core.fields.registry import field_from_json

REFERENCE = Path(__file__).parents[2] / "data" / "pocketbase-0.40.6-scaffolds.json"


def _suffix_free(doc: dict[str, object]) -> str:
    return re.sub(r"`idx_(tokenKey|email)_[a-z0-9]{10}`", r"`idx_\1_X`", json.dumps(doc, sort_keys=True))


def test_scaffolds_match_pocketbase_with_fresh_suffixes() -> None:
    ours, ref = scaffolds(), json.loads(REFERENCE.read_text())
    assert _suffix_free(ours) == _suffix_free(ref)
    again = scaffolds()
    assert ours["auth"]["indexes"] != again["auth"]["indexes"]  # a new random suffix each time
    assert all(doc["id"] == "" for doc in ours.values())


def test_add_field_semantics() -> None:
    fields: list[Field] = []
    add_field(fields, field_from_json({"type": "text", "name": "title"}))
    assert fields[0].id == "text724990059"
    # same name without id: replaces in place and keeps the id
    add_field(fields, field_from_json({"type": "number", "name": "title"}))
    assert len(fields) == 1 and fields[0].type == "number" and fields[0].id == "text724990059"
    # explicit id: replaces that field, else appends
    add_field(fields, field_from_json({"type": "bool", "name": "flag", "id": "text724990059"}))
    assert [(f.name, f.type) for f in fields] == [("flag", "bool")]
    add_field(fields, field_from_json({"type": "bool", "name": "other", "id": "x"}))
    assert [f.id for f in fields] == ["text724990059", "x"]
    # a derived id already taken gets a numeric suffix
    taken = [field_from_json({"type": "text", "name": "a", "id": "text724990059"})]
    add_field(taken, field_from_json({"type": "text", "name": "title"}))
    assert taken[1].id == "text7249900592"


def test_bind_follows_go_json_decoding() -> None:
    c = new_collection("auth", "members")
    bind(c, {"authToken": {"duration": 10}, "otp": None, "manageRule": None, "listRule": "", "extra": 1, "name": None})
    assert c.auth["authToken"] == {"duration": 10} and c.auth["otp"]["length"] == 8
    assert c.listRule == "" and c.name == "members" and c.auth["manageRule"] is None
    bind(c, {"oauth2": {"mappedFields": {"name": "nick"}}, "passwordAuth": {"identityFields": None}})
    assert c.auth["oauth2"]["mappedFields"] == {"id": "", "name": "nick", "username": "", "avatarURL": ""}
    assert c.auth["passwordAuth"] == {"enabled": True, "identityFields": []}
    prepare_for_save(c)
    assert c.auth["oauth2"]["mappedFields"]["name"] == ""  # unknown field names are dropped
    bad: dict[str, Any]
    for bad in ({"id": 1}, {"system": "yes"}, {"fields": [1]}, {"authAlert": []}, {"mfa": {"duration": "x"}}):
        with pytest.raises(BadRequestError):
            bind(c, bad)


def test_prepare_for_save_reasserts_system_fields_and_index_tables() -> None:
    c = Collection(id="pbc_1", name="people", type="auth")
    c.fields = [field_from_json({"type": "text", "name": "id", "hidden": True, "pattern": "", "primaryKey": False})]
    c.indexes = ["create index idx_n on old_name (id)"]
    prepare_for_save(c)
    assert [f.name for f in c.fields] == ["id", "password", "tokenKey", "email", "emailVisibility", "verified"]
    pk = c.fields[0].to_json()
    assert (pk["primaryKey"], pk["hidden"], pk["required"], pk["system"], pk["pattern"]) == (
        True,
        False,
        True,
        True,
        "^[a-z0-9]+$",
    )
    assert c.indexes == [
        "CREATE INDEX `idx_n` ON `people` (`id`)",
        "CREATE UNIQUE INDEX `idx_tokenKey_pbc_1` ON `people` (`tokenKey`)",
        "CREATE UNIQUE INDEX `idx_email_pbc_1` ON `people` (`email`) WHERE `email` != ''",
    ]
