"""TextField against PocketBase 0.40.6 (codes/messages captured from the real server)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import OptionsContext, ValueContext
from satchel.core.fields.text import TextField, cast_string, compile_go_regex, go_match, regex_error
from satchel.tools.sql import ir

PB_TEXT = {
    "autogeneratePattern": "a[0-9]{3}", "help": "", "hidden": False, "id": "text1843675174", "max": 10, "min": 2,
    "name": "t", "pattern": "^a", "presentable": False, "primaryKey": False, "required": False, "system": False,
    "type": "text",
}  # fmt: skip


def ctx(original: dict[str, Any] | None = None, existing: set[str] | None = None) -> ValueContext:
    async def existing_ids(collection_id: str, ids: list[str]) -> set[str]:
        return {i for i in ids if i in (existing or set())}

    return ValueContext(collection=Collection(id="c1", name="c"), data={}, original=original, existing_ids=existing_ids)


def opts(field: TextField, *others: TextField) -> OptionsContext:
    c = Collection(id="c1", name="c", fields=[field, *others])
    return OptionsContext(collection=c, old=None, find_collection=lambda _: None)


PB_ID = {
    "autogeneratePattern": "[a-z0-9]{15}", "help": "", "hidden": False, "id": "text3208210256", "max": 15, "min": 15,
    "name": "id", "pattern": "^[a-z0-9]+$", "presentable": False, "primaryKey": True, "required": True,
    "system": True, "type": "text",
}  # fmt: skip


def pb_id_field() -> TextField:
    field = TextField.from_json(PB_ID)
    assert isinstance(field, TextField)
    return field


def test_to_json_matches_pocketbase() -> None:
    field = TextField.from_json(PB_TEXT)
    assert isinstance(field, TextField)
    assert (field.min, field.max, field.pattern, field.autogenerate_pattern) == (2, 10, "^a", "a[0-9]{3}")
    assert field.to_json() == PB_TEXT
    assert list(field.to_json()) == sorted(PB_TEXT)


def test_system_id_field_round_trips() -> None:
    assert pb_id_field().to_json() == PB_ID


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""), ("abc", "abc"), (" x ", " x "), (True, "true"), (False, "false"), (12, "12"), (1.5, "1.5"),
        (1e21, "1000000000000000000000"), (1e-7, "0.0000001"), (-0.0, "-0"), (2**60, "1152921504606847000"),
        ([1, 2], ""), ({"a": 1}, ""),
    ],
)  # fmt: skip
def test_coerce_like_go_cast(raw: Any, expected: str) -> None:
    assert TextField(name="t").coerce(raw) == expected
    assert cast_string(raw) == expected


def test_column_and_storage() -> None:
    assert TextField(name="t").column() == ir.ColumnDef("t", "TEXT", default="")
    assert pb_id_field().column() == ir.ColumnDef("id", "TEXT", primary_key=True)
    field = TextField(name="t")
    assert field.to_db("héllo") == "héllo"
    assert field.from_db(field.to_db("héllo")) == "héllo"
    assert field.from_db(None) == ""
    assert field.from_db(5) == "5"
    assert field.zero() == ""
    assert field.modify("a", "append", "b") == "a"  # no modifiers for text


async def code(field: TextField, value: Any, **kw: Any) -> tuple[str, str, dict[str, Any]] | None:
    err = await field.validate(value, ctx(**kw))
    return None if err is None else (err.code, err.message, err.params)


async def test_validate_plain_paths() -> None:
    assert await code(TextField(name="t"), "") is None
    assert await code(TextField(name="t", required=True), "") == ("validation_required", "Cannot be blank.", {})
    assert await code(TextField(name="t", min=3), "ab") == (
        "validation_min_text_constraint", "Must be at least 3 character(s).", {"min": 3},
    )  # fmt: skip
    assert await code(TextField(name="t", min=3), "äöü") is None  # characters, not bytes
    assert await code(TextField(name="t", max=2), "abc") == (
        "validation_max_text_constraint", "Must be no more than 2 character(s).", {"max": 2},
    )  # fmt: skip
    assert await code(TextField(name="t"), "x" * 5001) == (
        "validation_max_text_constraint", "Must be no more than 5000 character(s).", {"max": 5000},
    )  # fmt: skip
    assert await code(TextField(name="t"), "x" * 5000) is None
    assert await code(TextField(name="t", pattern="b"), "abc") is None  # search, not full match
    assert await code(TextField(name="t", pattern="^b"), "abc") == (
        "validation_invalid_format", "Invalid value format.", {},
    )  # fmt: skip


async def test_primary_key_rules() -> None:
    pk = pb_id_field()
    assert await code(pk, "") == ("validation_required", "Cannot be blank.", {})
    assert await code(pk, "abcdefghijklmno") is None
    assert (await code(pk, "ABCDEFGHIJKLMNO") or ("",))[0] == "validation_invalid_format"
    assert (await code(pk, "short") or ("",))[0] == "validation_min_text_constraint"
    changed = await code(pk, "abcdefghijklmnp", original={"id": "abcdefghijklmno"})
    assert changed == ("validation_pk_change", "The record primary key cannot be changed.", {})
    # a stored id is trusted even when it breaks today's rules
    assert await code(pk, "UPPER", original={"id": "UPPER"}) is None


async def test_custom_pk_pattern_extra_checks() -> None:
    pk = TextField(name="id", primary_key=True, required=True, pattern="^.+$")
    assert await code(pk, "a.b") == (
        "validation_forbidden_pk_character", "'.' is not a valid primary key character.", {"ch": "."},
    )  # fmt: skip
    assert await code(pk, "a b") == (
        "validation_forbidden_pk_character", "' ' is not a valid primary key character.", {"ch": " "},
    )  # fmt: skip
    assert await code(pk, "con") == (
        "validation_reserved_pk", "The primary key 'CON' is reserved and cannot be used.", {"reserved": "CON"},
    )  # fmt: skip
    assert await code(pk, "conx") is None
    assert await code(pk, "taken", existing={"taken"}) == (
        "validation_pk_invalid", "The record primary key is invalid or already exists.", {},
    )  # fmt: skip
    # the default pattern skips both the extra checks and the duplicate probe
    assert await code(pb_id_field(), "abcdefghijklmno", existing={"abcdefghijklmno"}) is None


def test_before_save_autogenerates_only_on_create() -> None:
    field = TextField(name="slug", autogenerate_pattern="[a-z0-9]{15}")
    value = field.before_save("", ctx())
    assert re.fullmatch("[a-z0-9]{15}", value)
    assert field.before_save("given", ctx()) == "given"
    assert field.before_save("", ctx(original={"slug": ""})) == ""
    assert TextField(name="t").before_save("", ctx()) == ""


def test_options_valid_for_pocketbase_id() -> None:
    pk = pb_id_field()
    assert pk.validate_options(opts(pk)) == {}
    plain = TextField.from_json(PB_TEXT)
    assert isinstance(plain, TextField)
    assert plain.validate_options(opts(plain)) == {}


def test_options_errors() -> None:
    f = TextField(name="t", min=-1, max=3, pattern="(", autogenerate_pattern="")
    errors = f.validate_options(opts(f))
    assert {k: v.to_json() for k, v in errors.items() if not isinstance(v, dict)} == {
        "min": {"code": "validation_min_greater_equal_than_required", "message": "Must be no less than 0.",
                "params": {"threshold": 0}},
        "pattern": {"code": "validation_invalid_regex", "message": "Error parsing regexp: missing closing ): `(`."},
    }  # fmt: skip
    f = TextField(name="t", min=5, max=3)
    assert f.validate_options(opts(f))["max"].to_json() == {  # type: ignore[union-attr]
        "code": "validation_min_greater_equal_than_required", "message": "Must be no less than 5.",
        "params": {"threshold": 5},
    }  # fmt: skip
    f = TextField(name="t", max=2**53)
    assert f.validate_options(opts(f))["max"].code == "validation_max_less_equal_than_required"  # type: ignore[union-attr]


def test_primary_key_option_rules() -> None:
    bad = TextField(name="key", primary_key=True, hidden=True)
    errors = bad.validate_options(opts(bad))
    assert {k: v.code for k, v in errors.items()} == {  # type: ignore[union-attr]
        "name": "validation_in_invalid",
        "pattern": "validation_required",
        "hidden": "validation_empty",
        "required": "validation_required",
    }
    assert errors["name"].message == 'The primary key must be named "id".'  # type: ignore[union-attr]
    pk, other = pb_id_field(), TextField(name="id2", primary_key=True, required=True, pattern="x")
    assert pk.validate_options(opts(pk, other))["primaryKey"].code == "validation_unsupported_composite_pk"  # type: ignore[union-attr]


def test_autogenerate_pattern_options() -> None:
    f = TextField(name="t", autogenerate_pattern="[a-z]{3}", max=2)
    err = f.validate_options(opts(f))["autogeneratePattern"]
    assert err.code == "validation_invalid_autogenerate_pattern_value"  # type: ignore[union-attr]
    assert re.fullmatch(r'The provided autogenerate pattern could produce invalid field values, ex\.: "[a-z]{3}"\.',
                        err.message)  # type: ignore[union-attr]  # fmt: skip
    f = TextField(name="t", autogenerate_pattern="^x")
    assert f.validate_options(opts(f))["autogeneratePattern"].code == "validation_invalid_autogenerate_pattern"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a**", "invalid nested repetition operator: `**`"),
        ("*a", "missing argument to repetition operator: `*`"),
        ("\\q", "invalid escape sequence: `\\q`"),
        ("(?=a)", "invalid or unsupported Perl syntax: `(?=`"),
        ("a{2,1}", "invalid repeat count: `{2,1}`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("x)", "unexpected ): `x)`"),
        ("a\\", "trailing backslash at end of expression: ``"),
        ("(", "missing closing ): `(`"),
        ("[", "missing closing ]: `[`"),
        ("(a)\\1", "invalid escape sequence: `\\1`"),
    ],
)
def test_regex_errors_use_go_messages(pattern: str, message: str) -> None:
    assert compile_go_regex(pattern) == message
    err = regex_error(pattern)
    assert err is not None
    assert err.message == f"Error parsing regexp: {message}."


def test_go_regex_semantics() -> None:
    assert regex_error("") is None
    assert go_match("^ab$", "ab")
    assert not go_match("^ab$", "ab\n")  # Go's $ is end of text
    assert go_match("(?m)^ab$", "ab\nx")
    assert go_match("ab\\z", "xab")
    assert not go_match("\\d", "٣")  # Go's \d is ASCII-only
    assert go_match("[$]", "$")
    assert not go_match("(", "(")  # an invalid pattern never matches
