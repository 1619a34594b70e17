"""Parser from filter tokens to the AST, mirroring fexpr's state machine and PocketBase's limits.

Each group is a flat list of comparisons and sub-groups, each carrying the join operator that
preceded it. PocketBase renders that list as flat SQL (`a OR b AND c`), so the tree built here
gives `&&` precedence over `||`, left-associative within each operator.

fexpr quirks kept for parity (PocketBase accepts these, so Satchel must as well):
- a parenthesised group may appear where any token is expected; it discards a half-written
  comparison before it (`a = (b = 1)` means just `b = 1`), and with no operator before it, it
  joins with the most recent operator, `&&` at the start (`(a = 1)(b = 1)` means `a = 1 && b = 1`).

Parsing is a loop with an explicit stack, so depth never touches Python's recursion limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from satchel.tools import probes
from satchel.tools.filter import ast
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.lexer import MAX_DEPTH, Token, tokenize

MAX_LENGTH = 3500
MAX_EXPRESSIONS = 200

_OPERAND_KINDS = frozenset(["ident", "number", "text", "func"])

# Steps of the per-group state machine.
_LEFT, _SIGN, _RIGHT, _JOIN = range(4)


@dataclass
class _Group:
    items: list[tuple[ast.JoinOp, ast.Node]] = field(default_factory=list)
    step: int = _LEFT
    join: ast.JoinOp = "&&"
    left: ast.Operand | None = None
    op: ast.SignOp | None = None
    pos: int = 0


def parse(
    text: str, *, max_length: int = MAX_LENGTH, max_expressions: int = MAX_EXPRESSIONS, max_depth: int = MAX_DEPTH
) -> ast.Node:
    """Parse a filter, rule or similar expression; raises FilterSyntaxError (only) for bad input.

    `max_length` counts UTF-8 bytes, as PocketBase does.
    """
    if not isinstance(text, str):
        raise FilterSyntaxError(f"filter must be a string, not {type(text).__name__}")
    if len(text) > max_length or len(text.encode("utf-8", "surrogatepass")) > max_length:
        raise FilterSyntaxError(f"filter is too long (max {max_length} bytes)")
    return _parse_cached(text, max_expressions, max_depth)


@lru_cache(maxsize=1024)
def _parse_cached(text: str, max_expressions: int, max_depth: int) -> ast.Node:
    # The AST is frozen, so handing the same tree to every caller is safe.
    with probes.probe("rule.compile", {"filter.length": len(text)}):
        return _Parser(tokenize(text, max_depth=max_depth), max_expressions).run()


class _Parser:
    def __init__(self, tokens: list[Token], max_expressions: int) -> None:
        self.tokens = tokens
        self.i = 0
        self.count = 0
        self.max_expressions = max_expressions

    def next(self) -> Token:
        if self.i >= len(self.tokens):
            raise FilterSyntaxError("unexpected end of filter")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def run(self) -> ast.Node:
        stack = [_Group()]
        while self.i < len(self.tokens):
            tok = self.next()
            if tok.kind == "lparen":
                stack.append(_Group(pos=tok.pos))
            elif tok.kind == "rparen":
                if len(stack) < 2:
                    raise FilterSyntaxError("unexpected ')'", tok.pos)
                inner = _finish(stack.pop(), "group")
                outer = stack[-1]
                outer.items.append((outer.join, inner))
                outer.step = _JOIN
            else:
                self.step(stack[-1], tok)
        if len(stack) != 1:
            raise FilterSyntaxError("unbalanced parentheses", stack[-1].pos)
        return _finish(stack[0], "filter")

    def step(self, group: _Group, tok: Token) -> None:
        if group.step == _LEFT:
            group.left = self.operand(tok, "left operand")
            group.step = _SIGN
        elif group.step == _SIGN:
            if tok.kind != "sign":
                raise FilterSyntaxError(f"expected a sign operator, got {tok.value!r}", tok.pos)
            group.op = tok.value  # type: ignore[assignment]  # the lexer only emits SIGN_OPS
            group.step = _RIGHT
        elif group.step == _RIGHT:
            right = self.operand(tok, "right operand")
            assert group.left is not None and group.op is not None
            self.count += 1
            if self.count > self.max_expressions:
                raise FilterSyntaxError(f"too many expressions (max {self.max_expressions})", tok.pos)
            group.items.append((group.join, ast.Comparison(group.left, group.op, right)))
            group.step = _JOIN
        else:
            if tok.kind != "join":
                raise FilterSyntaxError(f"expected && or ||, got {tok.value!r}", tok.pos)
            group.join = "||" if tok.value == "||" else "&&"
            group.step = _LEFT

    def operand(self, tok: Token, what: str) -> ast.Operand:
        if tok.kind == "ident":
            return ast.Identifier(tok.value)
        if tok.kind == "text":
            return ast.Text(tok.value)
        if tok.kind == "number":
            return ast.Number(float(tok.value), tok.value)
        if tok.kind == "func":
            return self.call(tok)
        raise FilterSyntaxError(f"expected a {what} (identifier, function, text or number), got {tok.value!r}", tok.pos)

    def call(self, name: Token) -> ast.Call:
        # Calls nest at most MAX_CALL_DEPTH deep (the lexer enforces it), so recursion is bounded.
        args: list[ast.Operand] = []
        while (tok := self.next()).kind != "rparen":
            if tok.kind != "comma":
                args.append(self.operand(tok, "function argument"))
        return ast.Call(name.value, tuple(args))


def _finish(group: _Group, what: str) -> ast.Node:
    if group.step != _JOIN:
        if not group.items and group.step == _LEFT:
            raise FilterSyntaxError(f"empty {what} expression", group.pos)
        raise FilterSyntaxError(f"invalid or incomplete {what} expression", group.pos)
    return _combine(group.items)


def _combine(items: list[tuple[ast.JoinOp, ast.Node]]) -> ast.Node:
    """Fold one group's items with `&&` binding tighter than `||` (the first item's join is moot)."""
    disjuncts: list[ast.Node] = []
    current = items[0][1]
    for join, node in items[1:]:
        if join == "&&":
            current = ast.Join("&&", current, node)
        else:
            disjuncts.append(current)
            current = node
    disjuncts.append(current)
    result = disjuncts[0]
    for node in disjuncts[1:]:
        result = ast.Join("||", result, node)
    return result
