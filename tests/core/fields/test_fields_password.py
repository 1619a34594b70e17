"""PasswordField against PocketBase 0.40.6 (messages captured from the real server)."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext
from satchel.core.fields.password import PasswordField
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_USERS_PASSWORD = {
    "cost": 0, "help": "", "hidden": True, "id": "password901924565", "max": 0, "min": 8, "name": "password",
    "pattern": "", "presentable": False, "required": True, "system": True, "type": "password",
}  # fmt: skip
PB_OTP_PASSWORD = {**PB_USERS_PASSWORD, "cost": 8, "min": 0}


def opts(field: PasswordField) -> OptionsContext:
    return OptionsContext(
        collection=Collection(id="c1", name="c", fields=[field]), old=None, find_collection=lambda _: None
    )


@pytest.mark.parametrize("data", [PB_USERS_PASSWORD, PB_OTP_PASSWORD])
def test_to_json_matches_pocketbase(data: dict[str, Any]) -> None:
    assert PasswordField.from_json(data).to_json() == data


def test_hash_value_and_storage() -> None:
    field = PasswordField(name="password")
    assert field.column() == ir.ColumnDef("password", "TEXT", default="")
    assert field.zero() == ""
    hashed = "$2a$10$abcdefghijklmnopqrstuv"
    assert field.coerce(hashed) == hashed
    assert field.from_db(field.to_db(hashed)) == hashed
    assert field.from_db(None) == ""


def plain(field: PasswordField, text: str) -> dict[str, Any] | None:
    err = field.validate_plain(text)
    return None if err is None else err.to_json()


def test_validate_plain() -> None:
    users = PasswordField(name="password", min=8, required=True)
    assert plain(users, "") is None  # "no new password" is the service's concern
    assert plain(users, "short") == {
        "code": "validation_min_text_constraint",
        "message": "Must be at least 8 character(s).",
    }
    assert plain(users, "long enough") is None
    assert plain(users, "x" * 71) is None
    assert plain(users, "x" * 72) == {
        "code": "validation_max_text_constraint",
        "message": "Must be less than 71 character(s).",
    }
    assert plain(users, "x" * 73) == {"code": "validation_invalid_value", "message": "Invalid value."}  # bcrypt limit
    assert plain(users, "ü" * 37) == {"code": "validation_invalid_value", "message": "Invalid value."}  # 74 bytes
    assert plain(PasswordField(name="p", max=10), "x" * 11) == {
        "code": "validation_max_text_constraint", "message": "Must be less than 10 character(s).",
    }  # fmt: skip
    assert plain(PasswordField(name="p", pattern="[0-9]"), "abcdef") == {
        "code": "validation_invalid_format", "message": "Invalid value format.",
    }  # fmt: skip
    assert plain(PasswordField(name="p", pattern="[0-9]"), "abc1ef") is None


async def test_validate_checks_only_the_hash_presence() -> None:
    required = PasswordField(name="password", required=True)
    err = await required.validate("", ctx())
    assert err is not None and err.code == "validation_required"
    assert await required.validate("$2a$10$hash", ctx()) is None
    assert await PasswordField(name="p").validate("", ctx()) is None


def test_options() -> None:
    ok = PasswordField.from_json(PB_USERS_PASSWORD)
    assert isinstance(ok, PasswordField)
    assert ok.validate_options(opts(ok)) == {}
    bad = PasswordField(name="p", min=80, max=5, cost=2, pattern="[")
    errors = bad.validate_options(opts(bad))
    assert {k: v.to_json() for k, v in errors.items()} == {  # type: ignore[union-attr]
        "min": {"code": "validation_max_less_equal_than_required", "message": "Must be no greater than 71.",
                "params": {"threshold": 71}},
        "max": {"code": "validation_min_greater_equal_than_required", "message": "Must be no less than 80.",
                "params": {"threshold": 80}},
        "cost": {"code": "validation_min_greater_equal_than_required", "message": "Must be no less than 4.",
                 "params": {"threshold": 4}},
        "pattern": {"code": "validation_invalid_regex", "message": "Error parsing regexp: missing closing ]: `[`."},
    }  # fmt: skip
    high = PasswordField(name="p", cost=32)
    assert high.validate_options(opts(high))["cost"].code == "validation_max_less_equal_than_required"  # type: ignore[union-attr]
