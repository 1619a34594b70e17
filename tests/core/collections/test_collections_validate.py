"""Validation errors with PocketBase's codes, messages and precedence (checked against PocketBase 0.40.6)."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.app import App
from satchel.core.errors import ValidationError


async def errors_of(app: App, op: str, data: dict[str, Any], target: str = "") -> dict[str, Any]:
    svc = app.collections_service
    with pytest.raises(ValidationError) as exc:
        await (svc.create(data) if op == "create" else svc.update(target, data))
    expected = "Failed to create collection." if op == "create" else "Failed to update collection."
    assert exc.value.message == expected
    return exc.value.data


def e(code: str, message: str, **params: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **({"params": params} if params else {})}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"name": "a" * 256}, {"name": e("validation_length_out_of_range", "The length must be between 1 and 255.", max=255, min=1)}),
        ({"name": "a b", "id": "x y"}, {"id": e("validation_match_invalid", "Must be in a valid format."), "name": e("validation_match_invalid", "Must be in a valid format.")}),
        ({"name": "a_via_b"}, {"name": e("validation_found_via", 'The value cannot contain "_via_".')}),
        ({"name": "USERS"}, {"name": e("validation_collection_name_exists", "Collection name must be unique (case insensitive).")}),
        ({"name": "_pb_users_auth_"}, {"name": e("validation_collection_name_id_duplicate", "The name must not match an existing collection id.")}),
        ({"name": "_params"}, {"name": e("validation_collection_name_invalid", "The name shouldn't match with an existing internal table.")}),
        ({"name": "x", "type": "foo"}, {"type": e("validation_in_invalid", "Must be a valid value.")}),
        ({"name": ""}, {"name": e("validation_required", "Cannot be blank.")}),
        ({"name": "x", "id": "_pb_users_auth_"}, {"id": e("validation_invalid_or_existing_id", "The model id is invalid or already exists.")}),
    ],
)  # fmt: skip
async def test_collection_level_errors(app: App, data: dict[str, Any], expected: dict[str, Any]) -> None:
    assert await errors_of(app, "create", data) == expected


async def test_field_errors(app: App) -> None:
    await app.collections_service.create({"name": "posts"})
    fields: list[dict[str, Any]] = [
        {"name": "id", "type": "text"},
        {"name": "expand", "type": "text"},
        {"name": "1a", "type": "text"},
        {"name": "", "type": "text"},
        {"name": "collectionId", "type": "text"},
        {"name": "a-b", "type": "text"},
        {"name": "h", "type": "text", "help": "x" * 301},
    ]
    assert await errors_of(app, "update", {"fields": fields}, "posts") == {
        "fields": {
            "1": {"name": e("validation_not_in_invalid", "Must not be in list.")},
            "3": {"name": e("validation_required", "Cannot be blank.")},
            "4": {"name": e("validation_not_in_invalid", "Must not be in list.")},
            "5": {"name": e("validation_match_invalid", "Must be in a valid format.")},
            "6": {"help": e("validation_length_out_of_range", "The length must be between 1 and 300.", max=300, min=1)},
        }
    }
    dup = [{"name": "id", "type": "text"}, {"name": "x", "type": "text"}, {"name": "X", "type": "text"}]
    assert await errors_of(app, "update", {"fields": dup}, "posts") == {
        "fields": {
            "2": {"name": e("validation_duplicated_field_name", "Duplicated or invalid field name X.", fieldName="X")}
        }
    }


async def test_auth_field_rules(app: App) -> None:
    await app.collections_service.create({"name": "members", "type": "auth"})
    data: dict[str, Any] = {"fields": [{"name": "id", "type": "text"}, {"name": "passwordConfirm", "type": "text"}]}
    assert await errors_of(app, "update", data, "members") == {
        "fields": {"1": {"name": e("validation_reserved_field_name", "The field name is reserved and cannot be used.")}}
    }
    # a same-named field of another type takes the system field's place: a system field is gone
    data = {"fields": [{"name": "id", "type": "text"}, {"name": "password", "type": "text"}]}
    assert await errors_of(app, "update", data, "members") == {
        "fields": e("validation_system_field_change", "System fields cannot be deleted or renamed.")
    }
    assert await errors_of(app, "update", {"passwordAuth": {"identityFields": ["nope"]}}, "members") == {
        "passwordAuth": {
            "identityFields": e("validation_missing_field", "Invalid or missing field nope.", fieldName="nope")
        }
    }
    assert await errors_of(app, "update", {"mfa": {"enabled": True}}, "members") == {
        "mfa": {"enabled": e("validation_mfa_not_enough_auths", "MFA requires at least 2 auth methods to be enabled.")}
    }
    data = {
        "otp": {"enabled": True, "duration": 5, "length": 2},
        "authToken": {"duration": 0},
        "manageRule": "",
    }
    assert await errors_of(app, "update", data, "members") == {
        "authToken": {"duration": e("validation_required", "Cannot be blank.")},
        "manageRule": e("validation_nil_or_not_empty_required", "Cannot be blank."),
        "otp": {
            "duration": e("validation_min_greater_equal_than_required", "Must be no less than 10.", threshold=10),
            "length": e("validation_min_greater_equal_than_required", "Must be no less than 4.", threshold=4),
        },
    }


async def test_system_collections_are_protected(app: App) -> None:
    assert await errors_of(app, "update", {"listRule": "", "name": "su"}, "_superusers") == {
        "name": e("validation_collection_system_name_change", "System collection name cannot be changed."),
        "listRule": e("validation_collection_system_rule_change", "System collection API rule cannot be changed."),
    }
    errors = await errors_of(app, "update", {"system": False, "type": "base", "id": "other"}, "users")
    assert errors == {
        "id": e("validation_values_mismatch", "Values don't match."),
        "type": e("validation_collection_type_change", "Collection type cannot be changed."),
    }
    assert (await errors_of(app, "update", {"system": True}, "users"))["system"]["code"] == (
        "validation_collection_system_flag_change"
    )


async def test_rules_go_through_the_rule_checker(app: App) -> None:
    seen: list[str] = []

    def checker(_: Any, rule: str) -> str | None:
        seen.append(rule)
        return "boom" if "bad" in rule else None

    app.collections_service.check_rule = checker
    errors = await errors_of(app, "create", {"name": "p", "listRule": "bad", "viewRule": "ok", "createRule": ""})
    assert errors == {"listRule": e("validation_invalid_rule", "Invalid rule. Raw error: boom.")}
    assert seen == ["bad", "ok"]


@pytest.mark.parametrize(
    ("indexes", "expected"),
    [
        (["nope"], {"0": e("validation_invalid_index_expression", "Invalid CREATE INDEX expression.")}),
        (["create index i1 on p (t)", "create index I1 on p (id)"], {"1": e("validation_duplicated_index_name", "The index name already exists.")}),
        (["create index i1 on p (t)", "create index i2 on p (`t`)"], {"1": e("validation_duplicated_index_definition", "The index definition already exists.")}),
        (["create index idx_email__pb_users_auth_ on p (t)"], {"0": e("validation_existing_index_name", "The index name is already used in users collection.", usedTableName="users")}),
    ],
)  # fmt: skip
async def test_index_errors(app: App, indexes: list[str], expected: dict[str, Any]) -> None:
    data = {"name": "p", "fields": [{"name": "t", "type": "text"}], "indexes": indexes}
    assert await errors_of(app, "create", data) == {"indexes": expected}


async def test_auth_unique_indexes_are_required_and_kept(app: App) -> None:
    svc = app.collections_service
    # missing required unique indexes are re-added before validation (as PocketBase)
    users = await svc.update("users", {"indexes": ["CREATE INDEX `x` ON `users` (`email`)"]})
    assert users.indexes == [
        "CREATE INDEX `x` ON `users` (`email`)",
        "CREATE UNIQUE INDEX `idx_tokenKey__pb_users_auth_` ON `users` (`tokenKey`)",
        "CREATE UNIQUE INDEX `idx_email__pb_users_auth_` ON `users` (`email`) WHERE `email` != ''",
    ]
    # another unique index over email replaces the system one (WHERE does not matter)
    users = await svc.update("users", {"indexes": ["CREATE UNIQUE INDEX `x` ON `users` (`email`)"]})
    assert users.indexes == [
        "CREATE UNIQUE INDEX `x` ON `users` (`email`)",
        "CREATE UNIQUE INDEX `idx_tokenKey__pb_users_auth_` ON `users` (`tokenKey`)",
    ]
    # a composite unique index is not a single-column one: the system email index comes back
    composite = "CREATE UNIQUE INDEX `y` ON `users` (`email`, `name`)"
    users = await svc.update("users", {"indexes": [composite, users.indexes[1]]})
    assert users.indexes[0] == composite and users.indexes[2].startswith("CREATE UNIQUE INDEX `idx_email_")
    # unique indexes over system fields cannot be dropped
    assert await errors_of(app, "update", {"indexes": []}, "_externalAuths") == {
        "indexes": e(
            "validation_invalid_unique_system_field_index",
            "Unique index definition on system fields (collectionRef) is invalid or missing.",
            fieldName="collectionRef",
        )
    }
