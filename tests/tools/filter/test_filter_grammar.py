"""The filter lexer and parser: accepted forms, precedence, and rejection of everything else."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from satchel.tools.filter import FilterSyntaxError, parse
from satchel.tools.filter.ast import Call, Comparison, Identifier, Join, Number, Text
from satchel.tools.filter.lexer import tokenize


def cmp(left: object, op: str, right: object) -> Comparison:
    return Comparison(left, op, right)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1", cmp(Identifier("a"), "=", Number(1.0, "1"))),
        ("a.b:lower ~ 'x'", cmp(Identifier("a.b:lower"), "~", Text("x"))),
        ('title != "it\\"s"', cmp(Identifier("title"), "!=", Text('it"s'))),
        ("n >= -1.5", cmp(Identifier("n"), ">=", Number(-1.5, "-1.5"))),
        ("@request.auth.id ?= author", cmp(Identifier("@request.auth.id"), "?=", Identifier("author"))),
        ("tags ?!~ 'x'", cmp(Identifier("tags"), "?!~", Text("x"))),
        ("a=null", cmp(Identifier("a"), "=", Identifier("null"))),
        ("  a  <  b  // trailing comment", cmp(Identifier("a"), "<", Identifier("b"))),
        ("'é💥' = x", cmp(Text("é💥"), "=", Identifier("x"))),
        (
            "geoDistance(lon, lat, 1, 2) < 5",
            cmp(Call("geoDistance", (Identifier("lon"), Identifier("lat"), Number(1, "1"), Number(2, "2"))), "<",
                Number(5, "5")),
        ),
        ("strftime('%Y', created) = '2024'",
         cmp(Call("strftime", (Text("%Y"), Identifier("created"))), "=", Text("2024"))),
    ],
)
def test_valid_comparisons(text: str, expected: Comparison) -> None:
    assert parse(text) == expected


def test_and_binds_tighter_than_or_and_parens_nest() -> None:
    a, b, c = (cmp(Identifier(n), "=", Number(1, "1")) for n in "abc")
    assert parse("a = 1 || b = 1 && c = 1") == Join("||", a, Join("&&", b, c))
    assert parse("(a = 1 || b = 1) && c = 1") == Join("&&", Join("||", a, b), c)
    assert parse("a = 1 && b = 1 && c = 1") == Join("&&", Join("&&", a, b), c)
    assert parse("// lead\n(a = 1)\n// end") == a


@pytest.mark.parametrize(
    "text",
    ["", "   ", "// only a comment", "a", "a =", "= 1", "a = 1 &&", "(a = 1", "a = 1)", "a b", "a == 1", "a = 'x",
     "a = 1.2.3", "a = \x00", "&& a = 1", "a = (1)", "f(a = 1", "a = 1 & b = 2", "a = 1 || || b = 2"],
)
def test_invalid_filters(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse(text)


def test_limits() -> None:
    with pytest.raises(FilterSyntaxError, match="too long"):
        parse("a = 1 && " * 400 + "a = 1")
    with pytest.raises(FilterSyntaxError, match="too many"):
        parse(" && ".join(["a = 1"] * 201))
    parse(" && ".join(["a = 1"] * 200))
    with pytest.raises(FilterSyntaxError, match="deep"):
        parse("(" * 25 + "a = 1" + ")" * 25)
    with pytest.raises(FilterSyntaxError):
        parse("(" * 3000, max_length=10_000)
    with pytest.raises(FilterSyntaxError, match="too long"):
        parse("(" * 100_000)


def test_tokens_keep_positions() -> None:
    toks = tokenize("a >= 'x'")
    assert [(t.kind, t.value, t.pos) for t in toks] == [("ident", "a", 0), ("sign", ">=", 2), ("text", "x", 5)]


@given(st.text(max_size=200))
def test_any_text_parses_or_raises_filter_syntax_error(text: str) -> None:
    with contextlib.suppress(FilterSyntaxError):
        parse(text)


@given(st.lists(st.sampled_from(["(", ")", "a", "=", "1", "&&", "||", "'", '"', "\\", "?=", "f(", ",", "//", "\n"]),
                max_size=60))
def test_token_soup_parses_or_raises_filter_syntax_error(parts: list[str]) -> None:
    with contextlib.suppress(FilterSyntaxError):
        parse(" ".join(parts))
