"""Filter parser: the AST for accepted filters, rejection of the rest, precedence, quirks and limits."""

from __future__ import annotations

import pytest

from satchel.tools.filter import FilterSyntaxError, parse
from satchel.tools.filter.ast import Call, Comparison, Identifier, Join, Node, Number, Operand, Text


def cmp(left: Operand, op: str, right: Operand) -> Comparison:
    return Comparison(left, op, right)  # type: ignore[arg-type]


def ident(name: str) -> Identifier:
    return Identifier(name)


def num(raw: str) -> Number:
    return Number(float(raw), raw)


A, B, C, D = (cmp(ident(n), "=", num("1")) for n in "abcd")


def AND(left: Node, right: Node) -> Join:
    return Join("&&", left, right)


def OR(left: Node, right: Node) -> Join:
    return Join("||", left, right)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1", cmp(ident("a"), "=", num("1"))),
        ("a=1", cmp(ident("a"), "=", num("1"))),
        ("a.b:lower ~ 'x'", cmp(ident("a.b:lower"), "~", Text("x"))),
        ('title != "it\\"s"', cmp(ident("title"), "!=", Text('it"s'))),
        ("n >= -1.5", cmp(ident("n"), ">=", Number(-1.5, "-1.5"))),
        ("n < -.5", cmp(ident("n"), "<", Number(-0.5, "-.5"))),
        ("n <= 007", cmp(ident("n"), "<=", Number(7.0, "007"))),
        ("@request.auth.id ?= author", cmp(ident("@request.auth.id"), "?=", ident("author"))),
        ("@collection.users:alias.name = 'x'", cmp(ident("@collection.users:alias.name"), "=", Text("x"))),
        ("tags:each ?!~ 'x'", cmp(ident("tags:each"), "?!~", Text("x"))),
        ("a=null", cmp(ident("a"), "=", ident("null"))),
        ("verified = true", cmp(ident("verified"), "=", ident("true"))),
        ("created > @now", cmp(ident("created"), ">", ident("@now"))),
        ("1 = 1", cmp(num("1"), "=", num("1"))),
        ("'a' = \"a\"", cmp(Text("a"), "=", Text("a"))),
        ("  a  <  b  // trailing comment", cmp(ident("a"), "<", ident("b"))),
        ("a = // note\n1", cmp(ident("a"), "=", num("1"))),
        ("\n\ta\n=\n1\n", cmp(ident("a"), "=", num("1"))),
        ("'é💥' = x", cmp(Text("é💥"), "=", ident("x"))),
        ("x = 'a\\\\'", cmp(ident("x"), "=", Text("a\\"))),
        ("x = 'line\\nbreak\\t'", cmp(ident("x"), "=", Text("line\nbreak\t"))),
        ("x = '\\d+'", cmp(ident("x"), "=", Text("\\d+"))),
        ("x = '('", cmp(ident("x"), "=", Text("("))),
        (
            "geoDistance(lon, lat, 1.5, 2) < 5",
            cmp(Call("geoDistance", (ident("lon"), ident("lat"), num("1.5"), num("2"))), "<", num("5")),
        ),
        ("strftime('%Y', created) = '2024'", cmp(Call("strftime", (Text("%Y"), ident("created"))), "=", Text("2024"))),
        (
            "strftime( '%Y' , created , ) = '2024'",
            cmp(Call("strftime", (Text("%Y"), ident("created"))), "=", Text("2024")),
        ),
        ("f() = g(h(i(-1)))", cmp(Call("f", ()), "=", Call("g", (Call("h", (Call("i", (num("-1"),)),)),)))),
        ("a.b.c:fn(true) ?> 1", cmp(Call("a.b.c:fn", (ident("true"),)), "?>", num("1"))),
        ("f(1 // one\n, 'x' // two\n) != a", cmp(Call("f", (num("1"), Text("x"))), "!=", ident("a"))),
        *[
            (f"a {op} 1", cmp(ident("a"), op, num("1")))
            for op in ["=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?!=", "?>", "?>=", "?<", "?<=", "?~", "?!~"]
        ],
        *[(f"a{op}1", cmp(ident("a"), op, num("1"))) for op in ["=", "!=", ">=", "<=", "!~", "?!=", "?<=", "?!~"]],
    ],
)
def test_comparisons(text: str, expected: Comparison) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1 && b = 1", AND(A, B)),
        ("a = 1 || b = 1", OR(A, B)),
        ("a=1&&b=1||c=1", OR(AND(A, B), C)),
        ("a = 1 || b = 1 && c = 1", OR(A, AND(B, C))),
        ("a = 1 && b = 1 || c = 1 && d = 1", OR(AND(A, B), AND(C, D))),
        ("a = 1 || b = 1 || c = 1", OR(OR(A, B), C)),
        ("a = 1 && b = 1 && c = 1", AND(AND(A, B), C)),
        ("(a = 1 || b = 1) && c = 1", AND(OR(A, B), C)),
        ("a = 1 && (b = 1 || c = 1)", AND(A, OR(B, C))),
        ("a = 1 && (b = 1 || (c = 1 && d = 1))", AND(A, OR(B, AND(C, D)))),
        ("((a = 1))", A),
        ("( a = 1 )", A),
        ("// lead\n(a = 1)\n// end", A),
        ("(a = 1 // note )", A),
        ("(a = 1 // ()\n)", A),
        ("a = 1 &&\n// between\nb = 1", AND(A, B)),
        ("(f(a) = 1)", cmp(Call("f", (ident("a"),)), "=", num("1"))),
        ("(a = ')')", cmp(ident("a"), "=", Text(")"))),
        ("(a = '\\'(')", cmp(ident("a"), "=", Text("'("))),
        # fexpr quirks that PocketBase 0.40.6 accepts (verified against the binary):
        ("(a = 1)(b = 1)", AND(A, B)),  # juxtaposed groups join with the last operator, && at first
        ("(a = 1) (b = 1)", AND(A, B)),
        ("c = 1 || (a = 1)(b = 1)", OR(OR(C, A), B)),
        ("x = (a = 1)", A),  # a group drops the half-written comparison before it
        ("x (a = 1)", A),
        ("x = 1 && y (a = 1)", AND(cmp(ident("x"), "=", num("1")), A)),
        ("(a = 1)\x00 junk )(", A),  # NUL where a token would start ends the filter
        ("a\x00 = 1", A),
    ],
)
def test_joins_groups_and_precedence(text: str, expected: Node) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("// only a comment", "empty"),
        ("()", "empty group"),
        ("(a = 1) && ()", "empty group"),
        ("a", "incomplete"),
        ("a =", "incomplete"),
        ("a = 1 &&", "incomplete"),
        ("a = 1 ||", "incomplete"),
        ("a = // comment", "incomplete"),
        ("(a)", "incomplete group"),
        ("a = (1)", "incomplete group"),
        ("a b", "expected a sign operator"),
        ("a = 1 2", "expected && or ||"),
        ("a = 1 b = 2", "expected && or ||"),
        ("a = 1 'x'", "expected && or ||"),
        ("(a = 1) = 2", "expected && or ||"),
        ("(a = 1) b = 1", "expected && or ||"),
        ("= 1", "expected a left operand"),
        ("&& a = 1", "expected a left operand"),
        ("a = 1 && && b = 1", "expected a left operand"),
        ("a = 1 && ||", "expected a left operand"),
        ("a = =", "expected a right operand"),
        ("a = &&", "expected a right operand"),
        ("a == 1", "invalid sign"),
        ("a <> 1", "invalid sign"),
        ("a = 1 & b = 2", "invalid join"),
        ("(a = 1", "missing 1 closing"),
        ("((a = 1)", "missing 1 closing"),
        ("a = 1)", "unexpected character"),
        ("(a = 1))", "unexpected character"),
        ("a = 'x", "unterminated"),
        ("a = 1.2.3", "unexpected character"),
        ("a = \x00", "incomplete"),
        ("\x00a = 1", "empty"),
        ("f(a = 1", "expected a comma"),
        ("f(1) = g(h(i(j(1))))", "nest too deeply"),
        ("é = 1", "unexpected character"),
        ("a = 1 /", "invalid comment"),
        ("a\r= 1", "unexpected character"),
    ],
)
def test_rejected_filters(text: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError, match=message):
        parse(text)


def test_length_limit_counts_utf8_bytes_like_pocketbase() -> None:
    fits = "a = '" + "e" * 3494 + "'"
    assert len(fits) == 3500
    assert parse(fits) == cmp(ident("a"), "=", Text("e" * 3494))
    with pytest.raises(FilterSyntaxError, match="too long"):
        parse(fits + " ")
    wide = "a = '" + "é" * 1760 + "'"  # 1767 characters, 3527 bytes
    with pytest.raises(FilterSyntaxError, match="too long"):
        parse(wide)
    assert parse(wide, max_length=4000) == cmp(ident("a"), "=", Text("é" * 1760))
    with pytest.raises(FilterSyntaxError, match="too long"):
        parse("a = 1", max_length=4)
    with pytest.raises(FilterSyntaxError, match="too long"):
        parse("(" * 100_000)


def test_expression_limit_counts_every_comparison() -> None:
    parse(" && ".join(["a = 1"] * 200))
    with pytest.raises(FilterSyntaxError, match="too many expressions"):
        parse(" && ".join(["a = 1"] * 201))
    nested = "(a=1 || a=1) && (a=1 || (a=1 || a=1)) && (a=1)"  # six comparisons
    parse(nested, max_expressions=6)
    with pytest.raises(FilterSyntaxError, match="too many expressions"):
        parse(nested, max_expressions=5)


def test_depth_limit() -> None:
    deepest = "(" * 20 + "a = 1" + ")" * 20
    assert parse(deepest) == A
    with pytest.raises(FilterSyntaxError, match="too deep"):
        parse("(" * 21 + "a = 1" + ")" * 21)
    assert parse("(((a = 1)))", max_depth=3) == A
    with pytest.raises(FilterSyntaxError, match="too deep"):
        parse("(((a = 1)))", max_depth=2)
    # function parentheses are not groups
    assert parse("(f(g(h(1))) = 1)", max_depth=1) == cmp(
        Call("f", (Call("g", (Call("h", (num("1"),)),)),)), "=", num("1")
    )
    # far beyond Python's recursion limit, when a caller allows it
    assert parse("(" * 5000 + "a = 1" + ")" * 5000, max_length=20_000, max_depth=5000) == A


def test_results_are_cached_and_shared() -> None:
    first = parse("cached = 'yes' && other = 1")
    assert parse("cached = 'yes' && other = 1") is first
    assert parse("cached = 'yes' && other = 1", max_expressions=2) == first
    with pytest.raises(FilterSyntaxError):
        parse("cached = 'yes' && other = 1", max_expressions=1)


def test_error_carries_the_position() -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse("a = 1 && b c")
    assert caught.value.pos == 11
    assert "position 11" in str(caught.value)


def test_non_string_input_is_a_filter_syntax_error() -> None:
    with pytest.raises(FilterSyntaxError):
        parse(None)  # type: ignore[arg-type]


# Accept/reject verdicts of the real PocketBase 0.40.6 (list endpoint, `?filter=`, parse errors told apart
# from field-resolution errors by the --dev log), recorded once with a throwaway script.
# fmt: off
PB_ACCEPTS = [
    'id = 1', 'id=1', 'id = -1', 'id = -.5', "id = 'x'", 'id = "x"', "id = 'it\\'s'", 'id = "it\\"s"',
    "id = 'a\\\\'", "id = 'a\\\\' || id = 'b'", "id = ''", 'id = ""', "id = 'é💥'", 'id = 1 // c', '// c\nid = 1',
    'id = // c\n1', 'id = 1 //', 'id = 1 //\n', "id = 1 && email = 'a'", '(id = 1)', '((id = 1))',
    'id = (email = 1)', 'id (email = 1)', '(id = 1)(email = 1)', '(id = 1) (email = 1)',
    'id = 1 || (email = 1)(id = 2)', '(id = 1 // c )', "id = 1 // it's", "(id = ')')", "(id = '(')", "(id = '\\'')",
    '(id = "\\"")', "(id = 'a\\\\')", "id = 'x'\x00 junk", 'id\x00= 1', 'id \x00= 1', '(id = 1)\x00 junk',
    '// c\x00id = 1', "@request.auth.id = ''", '@request.auth.id != id', '@request..auth.id = 1',
    "email:lower = 'a'", '1 = 1', "'a' = 'a'", 'true = true', 'null = id', '@now > created', 'id ?= 1', 'id ?!= 1',
    'id ?> 1', 'id ?>= 1', 'id ?< 1', 'id ?<= 1', 'id ?~ 1', 'id ?!~ 1', 'id ~ 1', 'id !~ 1', 'id > 1', 'id >= 1',
    'id < 1', 'id <= 1', 'id != 1', "strftime('%Y', created) = '2024'", "strftime( '%Y' , created ) = '2024'",
    "strftime('%Y', created,) = '2024'", "strftime('%Y' // c\n, created) = '2024'",
    "strftime('%Y', created\x00) = '2024'", "strftime('%Y', created \x00) = '2024'", 'geoDistance(1, 2, 3, 4) < 5',
    'geoDistance(1,2,3,4)<5', 'geoDistance(1, 2, 3, -4.5) < 5',
    "strftime('%Y', strftime('%Y', strftime('%Y', created))) = 1", "(strftime('%Y', created) = '2024')",
    "strftime('%Y', created // )\n) = '2024'", "strftime('%Y', created)= 1 && id = 1", 'id = 1\t&&\nemail = 2',
    'id = 1 && (email = 1 || (id = 2 && (email = 3)))', '(id = 1 && email = 2) || id = 3 && email = 4', 'id = 01',
    'id=1&&email=2', 'id=1||email=2', 'id =\'x\'&&email= "y"', "id = 'x' // c\n && email = 1", "id = 'a\\\\\\'b'",
    "id = 'a\\nb'", "id = 'a\\\\b'", 'id = "a\\\'b"', "id = 'a\\\\\\\\'", "id = 'a\\\\\\\\\\'x'", '(id = 1 // ()\n)',
    '((id = 1) // x\n)', "(id = 'a' // 'b'\n)", "strftime('%Y', created) = '2024' // (",
    "(strftime('%Y', created) = '2024') // )", "strftime('%Y',strftime('%Y',strftime('%Y',created))) = 1",
    "(strftime('%Y', strftime('%Y', strftime('%Y', created))) = 1)", "strftime('%Y'\t,\ncreated) = 1",
    "strftime('%Y', created, ) = 1", 'strftime() = 1', 'strftime( ) = 1', 'strftime(//x\n) = 1',
    "strftime('%Y', @now) = 1", "strftime('%Y', -1) = 1", 'strftime(\'%Y\', "a\\"") = 1', 'id = 1 \x00',
    'id = 1\x00', 'id = 1 &&\x00 email = 1', 'id =\x00 1', 'id\x00 = 1', "id = 'x'\x00", '// c\x00 id = 1',
    'id = 1 // c\x00 && email = 1', '(id = 1)\x00', '(id = 1)\x00junk', "strftime('%Y', created \x00) = 1",
    "strftime('%Y', 1\x00) = 1", 'id =\t1', 'id =\n1', 'id = 1\n', '\n\n id = 1 \t\n', "id = 'é' && email ~ '💥'",
    'id = 1 // é\n', "(id = 'é')", 'id = 1 || email = 2 && created > 3', '(id = 1 || email = 2) && created > 3',
    'id = 1 (email = 2)', 'id = 1 || email = 2 (created > 3)', 'id = 1 &&\n// c\nemail = 2',
    'id = 1 && email = 2 // c\n', '(\nid = 1\n)', '( id = 1 )', '(id = 1 (email = 2))', 'id = ((email = 2))',
    '(id = 1) || (email = 2) && (created = 3)', '#x = 1', '_a = 1', '__ = 1', 'a:b:c = 1', 'id.:x = 1',
    'id=1&&email=2||created=3', '((id = 1) (email = 2))',
]

PB_REJECTS = [
    'id = .5', 'id = 1.', 'id = 1.2.3', 'id = --1', 'id = 1-2', 'id = -', "id = 'a", 'id = "a\'', 'é = 1', 'id = é',
    'id\r= 1', 'id =\r1', 'id\x0c= 1', 'id\x0b= 1', 'id = 1 / c', '// only', '   ', 'id', 'id =', '= 1', 'id 1',
    'id = 1 2', 'id == 1', 'id =! 1', 'id <> 1', 'id => 1', 'id ! 1', 'id !== 1', "id = 1 & email = 'a'",
    "id = 1 &&& email = 'a'", "id = 1 &| email = 'a'", 'id = 1 ||', '&& id = 1', 'id = 1 && && email = 1', '()',
    '(())', '( )', '(id = 1', 'id = 1)', '(id = 1))', '(id = 1) email = 1', '(id = 1) = 2', '(id = 1) &&',
    'id = 1 && ()', '(id = 1 // )\n)', "(id = 1 // it's\n)", 'id = 1 \x00 junk', 'id = 1\x00 junk', '\x00',
    '(id = 1\x00)', "id = 'a\x00b'", '@ = 1', '_ = 1', '# = 1', 'id. = 1', 'id: = 1', 'id@x = 1', 'id ?? 1',
    'id ?!! 1', "strftime(,'%Y') = 1", "strftime('%Y',, created) = 1", "strftime('%Y' created) = 1",
    "strftime ('%Y') = 1", "strftime('%Y' // c ) = 1", "strftime(\x00'%Y') = 1", "strftime('%Y', (created)) = 1",
    'geoDistance(1, 2, 3, 4 < 5', "strftime('%Y', strftime('%Y', strftime('%Y', strftime('%Y')))) = 1",
    "(strftime('%Y', created // )\n) = '2024')", '_(1) = 1', 'a.(1) = 1', '@(1) = 1', "strftime('%Y', a.(1)) = 1",
    'id = 1,', 'id = [1]', '{id = 1}', 'id = `x`', 'id = 1e5', 'id = 0x10', 'id = 1_000', 'id = +1', "id = 'a' 'b'",
    '(id = 1 // (\n)', '(id = 1 // )(\n)', "(id = 'a' // '\n)",
    "strftime('%Y', strftime('%Y', strftime('%Y', strftime('%Y', created)))) = 1", "strftime('%Y' / created) = 1",
    "strftime('%Y', created,,) = 1", "strftime('%Y', -) = 1", "strftime('%Y', 1.) = 1", "strftime('%Y', _) = 1",
    "strftime('%Y', id.) = 1", "strftime('%Y', 'a) = 1", "id = 1 && strftime('%Y', created)", '\x00id = 1',
    "id = 'x' \x00 &&", "strftime('%Y'\x00) = 1", "strftime('%Y',\x00 created) = 1", "strftime\x00('%Y') = 1",
    'id = -\x001', 'id = 1\x002', 'id =\r\n1', 'id = 1 && // c', 'id = 1 // c\n&&', 'id (email = 2) = 3',
    'id = (email = 2) = 3', '#= 1', '@#x = 1', '@. = 1', '@: = 1', 'id = 1:', 'id = a.b.', 'id=1 & & email=2',
    'id=1 ||| email=2', 'id ?=? 1', 'id ?~~ 1', 'id ~? 1', 'id !? 1', 'id <= = 1', 'id = 1 =', 'id = = 1', '1',
    "'x'", "strftime('%Y')", '()()', '(id=1)()', 'id = 1 && (())',
]
# fmt: on


@pytest.mark.parametrize("text", PB_ACCEPTS)
def test_accepted_like_pocketbase(text: str) -> None:
    assert isinstance(parse(text), Comparison | Join)


@pytest.mark.parametrize("text", PB_REJECTS)
def test_rejected_like_pocketbase(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse(text)
