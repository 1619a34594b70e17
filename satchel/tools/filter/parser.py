"""Parser from tokens to the filter AST, with PocketBase's limits.

`&&` binds tighter than `||` (PocketBase emits flat SQL, so SQL precedence applies); explicit
parentheses nest. Parsing is iterative over groups with an explicit depth limit, so hostile
nesting is rejected with a FilterSyntaxError instead of exhausting the Python stack.
"""

from __future__ import annotations

from functools import lru_cache

from satchel.tools.filter import ast
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.lexer import Token, tokenize

MAX_LENGTH = 3500
MAX_EXPRESSIONS = 200
MAX_DEPTH = 20
MAX_FUNC_ARGS = 10


class _Parser:
    def __init__(self, tokens: list[Token], max_expressions: int, max_depth: int) -> None:
        self.tokens = tokens
        self.i = 0
        self.count = 0
        self.max_expressions = max_expressions
        self.max_depth = max_depth

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise FilterSyntaxError("unexpected end of filter")
        self.i += 1
        return tok

    def parse(self) -> ast.Node:
        node = self.expression(0)
        tok = self.peek()
        if tok is not None:
            raise FilterSyntaxError(f"unexpected {tok.value!r} at {tok.pos}")
        return node

    def expression(self, depth: int) -> ast.Node:
        node = self.conjunction(depth)
        while (tok := self.peek()) is not None and tok.kind == "join" and tok.value == "||":
            self.i += 1
            node = ast.Join("||", node, self.conjunction(depth))
        return node

    def conjunction(self, depth: int) -> ast.Node:
        node = self.factor(depth)
        while (tok := self.peek()) is not None and tok.kind == "join" and tok.value == "&&":
            self.i += 1
            node = ast.Join("&&", node, self.factor(depth))
        return node

    def factor(self, depth: int) -> ast.Node:
        tok = self.peek()
        if tok is not None and tok.kind == "lparen":
            if depth + 1 > self.max_depth:
                raise FilterSyntaxError("filter nesting is too deep")
            self.i += 1
            node = self.expression(depth + 1)
            close = self.take()
            if close.kind != "rparen":
                raise FilterSyntaxError(f"expected ')' at {close.pos}")
            return node
        return self.comparison()

    def comparison(self) -> ast.Comparison:
        left = self.operand(0)
        sign = self.take()
        if sign.kind != "sign":
            raise FilterSyntaxError(f"expected an operator at {sign.pos}, got {sign.value!r}")
        right = self.operand(0)
        self.count += 1
        if self.count > self.max_expressions:
            raise FilterSyntaxError(f"too many expressions (max {self.max_expressions})")
        return ast.Comparison(left, sign.value, right)  # type: ignore[arg-type]

    def operand(self, depth: int) -> ast.Operand:
        tok = self.take()
        if tok.kind == "ident":
            return ast.Identifier(tok.value)
        if tok.kind == "text":
            return ast.Text(tok.value)
        if tok.kind == "number":
            return ast.Number(float(tok.value), tok.value)
        if tok.kind == "func":
            return self.call(tok, depth)
        raise FilterSyntaxError(f"expected an operand at {tok.pos}, got {tok.value!r}")

    def call(self, name: Token, depth: int) -> ast.Call:
        if depth + 1 > self.max_depth:
            raise FilterSyntaxError("function nesting is too deep")
        self.take()  # "("
        args: list[ast.Operand] = []
        tok = self.peek()
        if tok is not None and tok.kind == "rparen":
            self.i += 1
            return ast.Call(name.value, ())
        while True:
            args.append(self.operand(depth + 1))
            if len(args) > MAX_FUNC_ARGS:
                raise FilterSyntaxError("too many function arguments")
            sep = self.take()
            if sep.kind == "rparen":
                return ast.Call(name.value, tuple(args))
            if sep.kind != "comma":
                raise FilterSyntaxError(f"expected ',' or ')' at {sep.pos}")


@lru_cache(maxsize=1024)
def _parse_cached(text: str, max_length: int, max_expressions: int, max_depth: int) -> ast.Node:
    if len(text) > max_length:
        raise FilterSyntaxError(f"filter is too long (max {max_length} characters)")
    tokens = tokenize(text)
    if not tokens:
        raise FilterSyntaxError("empty filter")
    return _Parser(tokens, max_expressions, max_depth).parse()


def parse(
    text: str, *, max_length: int = MAX_LENGTH, max_expressions: int = MAX_EXPRESSIONS, max_depth: int = MAX_DEPTH
) -> ast.Node:
    """Parse a filter or rule; raises FilterSyntaxError (only) for any bad input."""
    return _parse_cached(text, max_length, max_expressions, max_depth)
