"""`?fields=` modifiers are parsed as PocketBase 0.40 parses them (tools/picker): what it refuses with
a 400 is refused here too, rather than silently dropping the field. Each case was checked against the
real `pocketbase` binary (same query on both servers)."""

from __future__ import annotations

import pytest

from satchel.core.errors import BadRequestError
from satchel.core.records.fields_param import apply_fields, parse_fields

RECORD = {"id": "a1", "title": "hello world, again"}


@pytest.mark.parametrize(
    "raw",
    [
        "title:excerpt(abc)",  # not a number: max 0
        "title:excerpt(0)",
        "title:excerpt(-1)",  # PocketBase fails while cutting the text (400)
        "title:excerpt()",
        "title:excerpt",
        "title:excerpt(5,true,1)",  # too many arguments
        "title:EXCERPT(5)",  # modifier names are case-sensitive
        "title:foo(5)",
        "title:",
        "title:a:b",
        "title:excerpt(1e1)",
        "title:excerpt(99999999999999999999)",  # overflows: max 0
        "id,*:excerpt(0)",
    ],
)
def test_a_modifier_pocketbase_refuses_is_a_400(raw: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse_fields(raw)
    assert caught.value.message == "Something went wrong while processing your request."
    assert caught.value.data == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("title:excerpt(5)", {"title": "hello"}),
        ("title:excerpt(5,true)", {"title": "hello..."}),
        ("title:excerpt( 5 , true )", {"title": "hello..."}),  # spaces separate arguments
        ("title:excerpt(5.0)", {"title": "hello"}),  # Go's cast: a zero decimal part is dropped
        ("title:excerpt(05)", {"title": "hello"}),  # base prefixes: octal
        ("title:excerpt(0x5)", {"title": "hello"}),
        ("title:excerpt(+5)", {"title": "hello"}),
        ("title:excerpt(5,x)", {"title": "hello"}),  # not a boolean: false
        ("title:excerpt(5,T)", {"title": "hello..."}),
        ("title:excerpt(5,)", {"title": "hello"}),  # empty arguments are skipped
        ("title:excerpt(,5)", {"title": "hello"}),
        ("title:excerpt(5)x", {"title": "hello"}),  # `x` is a second argument: false
        ("id,:excerpt(5)", {"id": "a1"}),
    ],
)
def test_modifiers_pocketbase_accepts(raw: str, expected: dict[str, str]) -> None:
    assert apply_fields(RECORD, parse_fields(raw)) == expected


def test_realtime_keeps_the_lenient_reading() -> None:
    """Subscription options are read once per event, not per request: a bad modifier there drops the
    field rather than failing every delivery."""
    assert apply_fields(RECORD, parse_fields("id,title:excerpt(0)", strict=False)) == {"id": "a1"}
