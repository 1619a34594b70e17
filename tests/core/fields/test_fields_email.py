"""EmailField against PocketBase 0.40.6 (accept/reject lists checked on the real server)."""

from __future__ import annotations

from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext
from satchel.core.fields.email import EmailField, is_email
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_EMAIL = {
    "exceptDomains": [], "help": "", "hidden": False, "id": "email3885137012", "name": "email", "onlyDomains": [],
    "presentable": False, "required": True, "system": True, "type": "email",
}  # fmt: skip


def opts(field: EmailField) -> OptionsContext:
    return OptionsContext(
        collection=Collection(id="c1", name="c", fields=[field]), old=None, find_collection=lambda _: None
    )


def test_to_json_matches_pocketbase() -> None:
    assert EmailField.from_json(PB_EMAIL).to_json() == PB_EMAIL


def test_coerce_does_not_trim() -> None:
    field = EmailField(name="e")
    assert field.coerce(" a@b.co ") == " a@b.co "
    assert field.coerce(None) == ""
    assert field.coerce(5) == "5"


def test_column_and_storage() -> None:
    field = EmailField(name="e")
    assert field.column() == ir.ColumnDef("e", "TEXT", default="")
    assert field.from_db(field.to_db("a@b.co")) == "a@b.co"
    assert field.from_db(None) == ""


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("a@b.co", True), ("A.B+c@Ex-ample.com", True), ("a@x.com.", True), ("a@x_y.com", True), ("a@1.com", True),
        ("ü@x.com", True), ("a@x.co-m", True), ("a@b", False), ("a..b@x.com", False), ("a@x..com", False),
        ("a@-x.com", False), ("a@x.c1", False), ("a@x.1c", False), (" a@b.co ", False), ("a@b.co\n", False),
        ("@b.co", False), ("a@", False),
    ],
)  # fmt: skip
def test_email_format(text: str, valid: bool) -> None:
    assert is_email(text) is valid


def test_email_format_is_linear_on_hostile_input() -> None:
    assert not is_email("a@" + "a." * 5000 + "-")
    assert not is_email("a" * 10000 + "@")


async def err(field: EmailField, value: Any) -> dict[str, Any] | None:
    e = await field.validate(value, ctx())
    return None if e is None else e.to_json()


async def test_validate() -> None:
    assert await err(EmailField(name="e"), "") is None
    assert await err(EmailField(name="e", required=True), "") == {
        "code": "validation_required",
        "message": "Cannot be blank.",
    }
    assert await err(EmailField(name="e"), "nope") == {
        "code": "validation_is_email", "message": "Must be a valid email address.",
    }  # fmt: skip
    denied = {"code": "validation_email_domain_not_allowed", "message": "Email domain is not allowed."}
    assert await err(EmailField(name="e", only_domains=["a.com"]), "x@b.com") == denied
    assert await err(EmailField(name="e", only_domains=["a.com"]), "x@a.com") is None
    assert await err(EmailField(name="e", except_domains=["x.com"]), "a@x.com") == denied
    assert await err(EmailField(name="e", except_domains=["x.com"]), "a@X.com") is None  # case-sensitive, as PocketBase


def test_options() -> None:
    ok = EmailField(name="e", only_domains=["a.com", "sub.b.org"])
    assert ok.validate_options(opts(ok)) == {}
    both = EmailField(name="e", only_domains=["a.com"], except_domains=["b.com"])
    blank = {"code": "validation_empty", "message": "Must be blank."}
    assert {k: v.to_json() for k, v in both.validate_options(opts(both)).items()} == {  # type: ignore[union-attr]
        "onlyDomains": blank,
        "exceptDomains": blank,
    }
    bad = EmailField(name="e", except_domains=["ok.com", "a..com", "http://x.com"])
    errors = bad.validate_options(opts(bad))
    assert set(errors["exceptDomains"]) == {"1", "2"}  # type: ignore[arg-type]
    assert errors["exceptDomains"]["1"].to_json() == {  # type: ignore[index,union-attr]
        "code": "validation_is_domain", "message": "Must be a valid domain.",
    }  # fmt: skip
