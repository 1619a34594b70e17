"""Syntax tree of PocketBase's filter language.

The tree is deliberately dumb: it records what the user wrote (identifier paths, literals, operators)
and leaves every meaning (which column, which join, null tolerance, any-vs-all) to the resolver in
`satchel.core.rules`, so that one parser serves filters, rules, realtime options and sort keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as TypingLiteral

# Sign operators exactly as PocketBase spells them. The `?` forms are the "any of" variants
# for multi-valued operands; the plain forms require every value to match.
SignOp = TypingLiteral[
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "~",
    "!~",
    "?=",
    "?!=",
    "?>",
    "?>=",
    "?<",
    "?<=",
    "?~",
    "?!~",
]
SIGN_OPS: frozenset[str] = frozenset(
    ["=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?!=", "?>", "?>=", "?<", "?<=", "?~", "?!~"]
)

JoinOp = TypingLiteral["&&", "||"]


@dataclass(frozen=True, slots=True)
class Text:
    """A quoted string literal, escapes already resolved."""

    value: str


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal; `raw` keeps the user's spelling for error messages."""

    value: float
    raw: str


@dataclass(frozen=True, slots=True)
class Identifier:
    """A bare identifier such as `author.name:lower`, `@request.auth.id`, `true`, `null` or `@now`.

    `true`, `false` and `null` are identifiers in PocketBase's grammar too; the resolver gives
    them their meaning. `name` is the identifier exactly as written (with modifiers).
    """

    name: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function call such as `geoDistance(a, b, c, d)` or `strftime('%Y', created)`."""

    name: str
    args: tuple[Operand, ...]


Operand = Text | Number | Identifier | Call


@dataclass(frozen=True, slots=True)
class Comparison:
    left: Operand
    op: SignOp
    right: Operand


@dataclass(frozen=True, slots=True)
class Join:
    """`left && right` or `left || right`.

    PocketBase emits one level's groups as a flat SQL `a OR b AND c`, so SQL precedence applies:
    `&&` binds tighter than `||`. The parser builds that precedence into the tree (left-assoc
    within each operator) and nests explicit parentheses as written.
    """

    op: JoinOp
    left: Node
    right: Node


Node = Comparison | Join
