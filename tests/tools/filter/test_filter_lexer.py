"""Filter tokenizer: token kinds, values and positions, and the inputs fexpr's scanner refuses."""

from __future__ import annotations

import pytest

from satchel.tools.filter import FilterSyntaxError, Token, tokenize


def kinds_values(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.value) for t in tokenize(text)]


def test_tokens_keep_character_positions() -> None:
    assert tokenize("a >= 'x'") == [Token("ident", "a", 0), Token("sign", ">=", 2), Token("text", "x", 5)]
    # positions count characters, not UTF-8 bytes
    assert tokenize("'é' = b")[1:] == [Token("sign", "=", 4), Token("ident", "b", 6)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # identifiers: letters, digits, _ . : after a letter or one of @ _ #
        ("a", [("ident", "a")]),
        ("@request.auth.id", [("ident", "@request.auth.id")]),
        ("author.name:lower", [("ident", "author.name:lower")]),
        ("@collection.users:alias.name", [("ident", "@collection.users:alias.name")]),
        ("tags:each", [("ident", "tags:each")]),
        ("_a1", [("ident", "_a1")]),
        ("#x", [("ident", "#x")]),
        ("a..b", [("ident", "a..b")]),
        ("a@b", [("ident", "a"), ("ident", "@b")]),  # @ only starts an identifier
        ("1a", [("number", "1"), ("ident", "a")]),
        ("true false null @now", [("ident", "true"), ("ident", "false"), ("ident", "null"), ("ident", "@now")]),
        # numbers: optional leading minus, one dot, no exponent
        ("1", [("number", "1")]),
        ("-1", [("number", "-1")]),
        ("1.5", [("number", "1.5")]),
        ("-0.5", [("number", "-0.5")]),
        ("-.5", [("number", "-.5")]),
        ("007", [("number", "007")]),
        ("1-2", [("number", "1"), ("number", "-2")]),
        # every sign operator, as one maximal run
        *[(op, [("sign", op)]) for op in ["=", "!=", ">", ">=", "<", "<=", "~", "!~"]],
        *[(op, [("sign", op)]) for op in ["?=", "?!=", "?>", "?>=", "?<", "?<=", "?~", "?!~"]],
        ("a!=-1", [("ident", "a"), ("sign", "!="), ("number", "-1")]),
        ("&& ||", [("join", "&&"), ("join", "||")]),
        # quoted text
        ("'x'", [("text", "x")]),
        ('"x"', [("text", "x")]),
        ("''", [("text", "")]),
        ("\"mixed 'quotes'\"", [("text", "mixed 'quotes'")]),
        ("'é💥\u2028'", [("text", "é💥\u2028")]),
        ("'a\nb\tc\rd'", [("text", "a\nb\tc\rd")]),  # raw control characters are kept
        # escapes as PocketBase 0.40.6 decodes them (checked against the binary)
        (r"'it\'s'", [("text", "it's")]),
        (r'"it\"s"', [("text", 'it"s')]),
        (r'"it\'s"', [("text", "it's")]),
        (r"'say \"hi\"'", [("text", 'say "hi"')]),
        (r"'a\\'", [("text", "a\\")]),
        (r"'a\\\'b'", [("text", "a\\'b")]),
        (r"'\\\\'", [("text", "\\\\")]),
        (r"'\n\r\t'", [("text", "\n\r\t")]),
        (r"'\a\b\f\v\0\x41\u0041\z\%\é'", [("text", r"\a\b\f\v\0\x41\u0041\z\%\é")]),
        ("'\\\n'", [("text", "\\\n")]),
        # groups and calls
        ("(a)", [("lparen", "("), ("ident", "a"), ("rparen", ")")]),
        ("f()", [("func", "f"), ("rparen", ")")]),
        (
            "geoDistance(lon, lat, 1.5, 2)",
            [
                ("func", "geoDistance"),
                ("ident", "lon"),
                ("comma", ","),
                ("ident", "lat"),
                ("comma", ","),
                ("number", "1.5"),
                ("comma", ","),
                ("number", "2"),
                ("rparen", ")"),
            ],
        ),
        ("f(a,)", [("func", "f"), ("ident", "a"), ("comma", ","), ("rparen", ")")]),
        (
            "f( 'x' // c\n , g(1))",
            [
                ("func", "f"),
                ("text", "x"),
                ("comma", ","),
                ("func", "g"),
                ("number", "1"),
                ("rparen", ")"),
                ("rparen", ")"),
            ],
        ),
        ("f (a)", [("ident", "f"), ("lparen", "("), ("ident", "a"), ("rparen", ")")]),
        # whitespace and comments vanish
        (" \t\n a // c ) ( 'x\n b", [("ident", "a"), ("ident", "b")]),
        ("// only", []),
        ("", []),
    ],
)
def test_token_streams(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds_values(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00 = 1", [("ident", "a"), ("sign", "="), ("number", "1")]),  # NUL ending a run is swallowed
        ("a \x00= 1", [("ident", "a"), ("sign", "="), ("number", "1")]),
        ("a =\x00 1", [("ident", "a"), ("sign", "="), ("number", "1")]),
        ("1\x002", [("number", "1"), ("number", "2")]),
        ("// c\x00a", [("ident", "a")]),
        ("'x'\x00 junk", [("text", "x")]),  # NUL where a token would start ends the filter
        ("(a)\x00 junk", [("lparen", "("), ("ident", "a"), ("rparen", ")")]),
        ("\x00 junk", []),
        ("f(a\x00)", [("func", "f"), ("ident", "a"), ("rparen", ")")]),
        ("f(a \x00)", [("func", "f"), ("ident", "a"), ("rparen", ")")]),
    ],
)
def test_nul_follows_gos_end_marker_rules(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds_values(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("é", "unexpected character"),
        ("\r", "unexpected character"),
        ("\f", "unexpected character"),
        ("\xa0", "unexpected character"),
        (")", "unexpected character"),
        (",", "unexpected character"),
        (".5", "unexpected character"),
        ("+1", "unexpected character"),
        ("`x`", "unexpected character"),
        ("[a]", "unexpected character"),
        ("a / b", "invalid comment"),
        ("/", "invalid comment"),
        ("-", "invalid number"),
        ("1.", "invalid number"),
        ("-.", "invalid number"),
        ("1.2.3", "unexpected character"),
        ("--1", "invalid number"),
        ("==", "invalid sign"),
        ("=!", "invalid sign"),
        ("<>", "invalid sign"),
        ("=>", "invalid sign"),
        ("!", "invalid sign"),
        ("?", "invalid sign"),
        ("??=", "invalid sign"),
        ("&", "invalid join"),
        ("&&&", "invalid join"),
        ("&|", "invalid join"),
        ("@", "invalid identifier"),
        ("_", "invalid identifier"),
        ("#", "invalid identifier"),
        ("a.", "invalid identifier"),
        ("a:", "invalid identifier"),
        ("'x", "unterminated"),
        ("'x\"", "unterminated"),
        ("'a\\'", "unterminated"),
        ("'\\", "unterminated"),
        ("'a\x00b'", "unterminated"),
        ("'a\\\x00'", "unterminated"),
        ("(", "missing 1 closing"),
        ("((a)", "missing 1 closing"),
        ("(a\x00)", "missing 1 closing"),
        ("(a = ')'", "missing 1 closing"),
        ("(a // it's\n)", "unterminated"),  # the group scan does not know comments
        ("f(", "missing its closing"),
        ("f(a", "missing its closing"),
        ("f(a // )", "missing its closing"),
        ("f(\x00)", "missing its closing"),
        ("f(,a)", "unexpected comma"),
        ("f(a,,b)", "unexpected comma"),
        ("f(a b)", "expected a comma"),
        ("f(g(1)x)", "expected a comma"),
        ("f((a))", "unsupported character"),
        ("f(= 1)", "unsupported character"),
        ("f(a = 1)", "expected a comma"),
        ("f(a / b)", "invalid comment"),
        ("_(1)", "invalid function name"),
        ("a.(1)", "invalid function name"),
        ("@(1)", "invalid function name"),
        ("f(g(h(i(1))))", "nest too deeply"),
        ("f(_)", "invalid identifier"),
        ("f(1.)", "invalid number"),
    ],
)
def test_rejected_tokens(text: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError, match=message):
        tokenize(text)


def test_three_levels_of_calls_are_allowed() -> None:
    assert [t.kind for t in tokenize("f(g(h(1)))")] == ["func", "func", "func", "number", "rparen", "rparen", "rparen"]


def test_group_extent_counts_parens_inside_comments() -> None:
    # `)` in a comment closes the group; the `(` in the comment must then be balanced.
    assert kinds_values("(a // )") == [("lparen", "("), ("ident", "a"), ("rparen", ")")]
    with pytest.raises(FilterSyntaxError):
        tokenize("(a // )\n)")
    assert kinds_values("(a // ()\n)") == [("lparen", "("), ("ident", "a"), ("rparen", ")")]
    with pytest.raises(FilterSyntaxError):
        tokenize("(a // (\n))")  # inside, the comment ends at the newline and leaves a stray `)`


def test_errors_report_the_position() -> None:
    with pytest.raises(FilterSyntaxError, match=r"position 4") as caught:
        tokenize("a = é")
    assert caught.value.pos == 4
    assert isinstance(caught.value, ValueError)


def test_depth_limit_applies_to_groups_only() -> None:
    assert len(tokenize("((a))", max_depth=2)) == 5
    with pytest.raises(FilterSyntaxError, match="too deep"):
        tokenize("(((a)))", max_depth=2)
    assert len(tokenize("(f(g(1)))", max_depth=1)) == 7
