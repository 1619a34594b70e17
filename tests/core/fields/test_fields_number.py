"""NumberField against PocketBase 0.40.6 (codes/messages captured from the real server)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from satchel.core.collections.model import Collection
from satchel.core.fields.base import FieldOptionsError, OptionsContext
from satchel.core.fields.number import NumberField, cast_float, clean_number, go_number
from satchel.tools.sql import ir
from tests.core.fields.helpers import ctx

PB_NUMBER = {
    "help": "", "hidden": False, "id": "number2013832146", "max": 10, "min": 1.5, "name": "n", "onlyInt": False,
    "presentable": False, "required": True, "system": False, "type": "number",
}  # fmt: skip


def opts(field: NumberField) -> OptionsContext:
    return OptionsContext(
        collection=Collection(id="c1", name="c", fields=[field]), old=None, find_collection=lambda _: None
    )


def test_to_json_matches_pocketbase() -> None:
    field = NumberField.from_json(PB_NUMBER)
    assert isinstance(field, NumberField)
    assert (field.min, field.max, field.required) == (1.5, 10, True)
    assert field.to_json() == PB_NUMBER
    assert NumberField(name="n").to_json()["min"] is None  # unset bounds are JSON null


@pytest.mark.parametrize("data", [{"min": "abc"}, {"max": True}, {"onlyInt": "yes"}, {"required": 1}])
def test_from_json_rejects_wrong_json_types(data: dict[str, Any]) -> None:
    with pytest.raises(FieldOptionsError) as exc:
        NumberField.from_json({"name": "n", **data})
    assert set(exc.value.errors) == set(data)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 0), (True, 1), (False, 0), (5, 5), (2.5, 2.5), (3.0, 3), ("12", 12), ("1.25", 1.25), ("", 0),
        (" 5", 0), ("abc", 0), ("1_000", 1000), ("0x1p4", 16), ("0x10", 0), ("1e400", 0), (".5", 0.5), ("5.", 5),
        ([1], 0), ({"a": 1}, 0),
    ],
)  # fmt: skip
def test_coerce_like_go_parse_float(raw: Any, expected: float) -> None:
    value = NumberField(name="n").coerce(raw)
    assert value == expected
    assert type(value) is type(expected)  # integral values stay ints so JSON shows `170`


def test_coerce_special_strings() -> None:
    assert math.isinf(cast_float("inf")) and math.isinf(cast_float("-Infinity"))
    assert math.isnan(cast_float("NaN"))
    assert cast_float(2**60) == float(2**60)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e6, "1e+06"), (2000000.5, "2.0000005e+06"), (123456, "123456"), (1234567, "1.234567e+06"), (0.5, "0.5"),
        (1e-5, "1e-05"), (0.0001, "0.0001"), (-3, "-3"), (1e21, "1e+21"), (0, "0"), (100, "100"),
    ],
)  # fmt: skip
def test_go_number_matches_go_percent_v(value: float, text: str) -> None:
    assert go_number(value) == text


def test_column_and_storage() -> None:
    field = NumberField(name="n")
    assert field.column() == ir.ColumnDef("n", "NUMERIC", default=0)
    assert field.zero() == 0
    for value in (0, 3, -2.5, 1e21):
        assert field.from_db(field.to_db(value)) == value
    assert field.from_db(None) == 0
    assert field.from_db("garbage") == 0
    assert field.from_db(4.0) == 4 and isinstance(field.from_db(4.0), int)
    assert clean_number(2.0**60) == 2.0**60  # beyond 2^53 integral floats stay floats


@pytest.mark.parametrize(
    ("current", "modifier", "operand", "expected"),
    [(5, "append", 2, 7), (5, "remove", 2, 3), (5, "append", "1.5", 6.5), (None, "append", 3, 3), (5, "prepend", 1, 5)],
)
def test_modifiers(current: Any, modifier: str, operand: Any, expected: Any) -> None:
    assert NumberField(name="n").modify(current, modifier, operand) == expected


async def err(field: NumberField, value: Any) -> dict[str, Any] | None:
    e = await field.validate(value, ctx())
    return None if e is None else e.to_json()


async def test_validate_paths() -> None:
    assert await err(NumberField(name="n"), 0) is None
    assert await err(NumberField(name="n", required=True), 0) == {
        "code": "validation_required",
        "message": "Cannot be blank.",
    }
    assert await err(NumberField(name="n", required=True, min=5), 0) == {
        "code": "validation_required", "message": "Cannot be blank.",
    }  # fmt: skip
    assert await err(NumberField(name="n", min=5), 0) is None  # zero skips the bounds
    assert await err(NumberField(name="n", min=1000000), 5) == {
        "code": "validation_min_number_constraint", "message": "Must be greater or equal than 1e+06.",
        "params": {"min": 1000000},
    }  # fmt: skip
    assert await err(NumberField(name="n", max=2000000.5), 3000000) == {
        "code": "validation_max_number_constraint", "message": "Must be less or equal than 2.0000005e+06.",
        "params": {"max": 2000000.5},
    }  # fmt: skip
    assert await err(NumberField(name="n", only_int=True), 1.5) == {
        "code": "validation_only_int_constraint", "message": "Decimal numbers are not allowed.",
    }  # fmt: skip
    assert await err(NumberField(name="n", only_int=True), 2.0) is None
    assert await err(NumberField(name="n"), math.inf) == {
        "code": "validation_not_a_number", "message": "The submitted number is not properly formatted.",
    }  # fmt: skip
    assert await err(NumberField(name="n", min=1, max=3), 2) is None


def test_options() -> None:
    ok = NumberField(name="n", min=1, max=3)
    assert ok.validate_options(opts(ok)) == {}
    swapped = NumberField(name="n", min=5, max=1.5)
    assert {k: v.to_json() for k, v in swapped.validate_options(opts(swapped)).items()} == {  # type: ignore[union-attr]
        "max": {"code": "validation_min_number_constraint", "message": "Must be greater or equal than 5.",
                "params": {"min": 5}},
    }  # fmt: skip
    decimal = NumberField(name="n", only_int=True, min=1.5, max=0)
    errors = decimal.validate_options(opts(decimal))
    assert {k: v.code for k, v in errors.items()} == {  # type: ignore[union-attr]
        "min": "validation_only_int_constraint",
        "max": "validation_min_number_constraint",
    }
