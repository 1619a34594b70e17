"""Property tests: any string parses or raises FilterSyntaxError, and rendered trees parse back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from satchel.tools.filter import FilterSyntaxError, parse, tokenize
from satchel.tools.filter import lexer as lexer_module
from satchel.tools.filter.ast import SIGN_OPS, Call, Comparison, Identifier, Join, Node, Number, Operand, Text

SOUP = [
    "(",
    ")",
    "a",
    "=",
    "1",
    "-",
    ".",
    "&&",
    "||",
    "'",
    '"',
    "\\",
    "?=",
    "!~",
    "f(",
    ",",
    "//",
    "\n",
    "\x00",
    "é",
    "@",
    "#x",
    ":",
    "()",
    "'x'",
    "\r",
    "\t",
    " ",
]


def _parses_or_syntax_error(text: str, **limits: int) -> None:
    try:
        node = parse(text, **limits)
    except FilterSyntaxError:
        return
    assert isinstance(node, Comparison | Join)


@given(st.text(max_size=300))
def test_any_text_parses_or_raises_filter_syntax_error(text: str) -> None:
    _parses_or_syntax_error(text)


@given(st.lists(st.sampled_from(SOUP), max_size=80), st.sampled_from(["", " "]))
def test_token_soup_parses_or_raises_filter_syntax_error(parts: list[str], sep: str) -> None:
    _parses_or_syntax_error(sep.join(parts))


@settings(max_examples=30)
@given(
    st.integers(0, 4000),
    st.integers(0, 4000),
    st.sampled_from(["a = 1", "", "f(g(h(1)))=1", "'('", "// (\n"]),
    st.integers(1, 5000),
)
def test_huge_nesting_never_escapes_as_another_error(opens: int, closes: int, middle: str, depth: int) -> None:
    text = "(" * opens + middle + ")" * closes
    _parses_or_syntax_error(text, max_length=10_000, max_depth=depth)


class _Rescanning(lexer_module._Lexer):
    """The lexer without its memo of nested group extents: the plain fexpr procedure."""

    def group_end(self, pos: int, end: int) -> int:
        self.group_ends.clear()
        return super().group_end(pos, end)


def _tokens_or_error(lexer: lexer_module._Lexer) -> list[lexer_module.Token] | str:
    try:
        return lexer.run()
    except FilterSyntaxError as exc:
        return str(exc)


@given(
    st.lists(
        st.sampled_from(["(", ")", "((", "))", "'", '"', "//", "\n", "a=1", "&&", " ", "\\", "f(a)", "')'"]),
        max_size=40,
    )
)
def test_remembered_group_extents_match_a_fresh_scan(parts: list[str]) -> None:
    text = "".join(parts)
    assert _tokens_or_error(lexer_module._Lexer(text, 50)) == _tokens_or_error(_Rescanning(text, 50))


# --- rendering random trees and parsing them back -------------------------------------------------

_identifiers = st.from_regex(r"[A-Za-z@_#][A-Za-z0-9_.:]{0,12}", fullmatch=True).filter(
    lambda s: s[-1] not in ".:" and s not in ("@", "_", "#")
)
_numbers = st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,4})?|-\.[0-9]{1,4}", fullmatch=True).map(
    lambda raw: Number(float(raw), raw)
)
_texts = st.text(st.characters(blacklist_characters="\x00"), max_size=20).map(Text)


def _calls(depth: int) -> st.SearchStrategy[Call]:
    args: st.SearchStrategy[Operand] = st.one_of(_identifiers.map(Identifier), _numbers, _texts)
    if depth > 1:
        args = st.one_of(args, _calls(depth - 1))
    return st.builds(Call, _identifiers, st.lists(args, max_size=4).map(tuple))


_operands: st.SearchStrategy[Operand] = st.one_of(_identifiers.map(Identifier), _numbers, _texts, _calls(3))
_comparisons = st.builds(Comparison, _operands, st.sampled_from(sorted(SIGN_OPS)), _operands)
_trees: st.SearchStrategy[Node] = st.recursive(
    _comparisons,
    lambda children: st.builds(Join, st.sampled_from(["&&", "||"]), children, children),
    max_leaves=12,
)


def _render_operand(operand: Operand, quote: str) -> str:
    if isinstance(operand, Text):
        return quote + operand.value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote
    if isinstance(operand, Number):
        return operand.raw
    if isinstance(operand, Identifier):
        return operand.name
    return operand.name + "(" + ", ".join(_render_operand(a, quote) for a in operand.args) + ")"


def _render(node: Node, space: str, quote: str) -> str:
    if isinstance(node, Comparison):
        return space.join([_render_operand(node.left, quote), node.op, _render_operand(node.right, quote)])
    left, right = _render(node.left, space, quote), _render(node.right, space, quote)
    if isinstance(node.left, Join) and node.op == "&&" and node.left.op == "||":
        left = f"({left})"
    if isinstance(node.right, Join) and not (node.op == "||" and node.right.op == "&&"):
        right = f"({space}{right}{space})"
    return f"{left}{space}{node.op}{space}{right}"


@given(_trees, st.sampled_from([" ", "\n", "\t", " // note\n", "  "]), st.sampled_from(["'", '"']))
def test_rendered_trees_parse_back(tree: Node, space: str, quote: str) -> None:
    text = _render(tree, space, quote)
    assert parse(text, max_length=1_000_000) == tree


@given(_texts, st.sampled_from(["'", '"']))
def test_text_escaping_round_trips(text: Text, quote: str) -> None:
    rendered = _render_operand(text, quote)
    assert tokenize(rendered) == [lexer_module.Token("text", text.value, 0)]
    assert parse(f"(a = {rendered}) && b = 1", max_length=1_000_000) == Join(
        "&&", Comparison(Identifier("a"), "=", text), Comparison(Identifier("b"), "=", Number(1.0, "1"))
    )
