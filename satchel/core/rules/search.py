"""The `search(...)` filter function: full-text search over a collection's search index.

`search('words') = true` searches every indexed field, `search(title, 'words') = true` one of
them; `= false` / `!= true` negate. PocketBase rejects any function but `geoDistance` and
`strftime` and accepts `search(...)` nowhere, so no valid PocketBase filter changes meaning.
The text may also be a `@request.*` value (`search(@request.query.q) = true` in a rule). It is
only ever a bound value; `satchel.tools.textsearch` reads it as search words, so any text gives
an answer (an empty one matches nothing) and only a misuse of the function itself is a 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from satchel.core.collections.search import search_fields
from satchel.tools.filter import ast
from satchel.tools.sql import ir
from satchel.tools.textsearch import index_name

if TYPE_CHECKING:
    from satchel.core.rules.resolver import Resolver

NAME = "search"


def is_search(node: ast.Comparison) -> bool:
    return any(isinstance(o, ast.Call) and o.name == NAME for o in (node.left, node.right))


def condition(resolver: Resolver, node: ast.Comparison) -> ir.Expr:
    """The SQL condition of a comparison with a `search(...)` call on one side."""
    from satchel.core.rules.resolver import FilterError

    call, other = (node.left, node.right) if isinstance(node.left, ast.Call) else (node.right, node.left)
    assert isinstance(call, ast.Call)
    boolean = isinstance(other, ast.Identifier) and other.name.lower() in ("true", "false")
    if node.op not in ("=", "!=") or not boolean:
        raise FilterError("[search] must be compared with = or != to true or false")
    assert isinstance(other, ast.Identifier)
    coll = resolver.collection
    indexed = search_fields(coll)
    if not indexed:
        raise FilterError(f"[search] collection {coll.name!r} has no search index")
    args = call.args
    if len(args) not in (1, 2):
        raise FilterError(f"[search] expected 1 or 2 arguments, got {len(args)}")
    columns = indexed
    if len(args) == 2:
        field = args[0]
        if not isinstance(field, ast.Identifier) or field.name not in indexed:
            raise FilterError("[search] the first of two arguments must be an indexed field")
        columns = (field.name,)
    for name in columns:
        f = coll.field(name)
        if f is not None:
            resolver._check_hidden(f)
    expr = _visible(resolver, columns, indexed, _text(resolver, args[-1]))
    positive = (node.op == "=") == (other.name.lower() == "true")
    return expr if positive else ir.Not(expr)


def _text(resolver: Resolver, arg: ast.Operand) -> str:
    from satchel.core.rules.resolver import FilterError

    if isinstance(arg, ast.Text):
        return arg.value
    if isinstance(arg, ast.Identifier) and arg.name.startswith("@request."):
        value = resolver._token(arg).expr
        if isinstance(value, ir.Param):
            return value.value if isinstance(value.value, str) else str(value.value)
        return ""  # an unset request value: nothing to look for
    raise FilterError("[search] the search text must be a quoted string or a @request.* value")


def _visible(resolver: Resolver, columns: tuple[str, ...], indexed: tuple[str, ...], text: str) -> ir.Expr:
    """The search, minus what a client may not see: an auth record's hidden email."""
    coll = resolver.collection
    table = resolver._base_alias
    index = index_name(coll.id) if resolver.stored else None

    def over(cols: tuple[str, ...]) -> ir.Expr:
        return ir.TextSearch(table, cols, text, index, indexed)

    expr = over(columns)
    if not (coll.is_auth and "email" in columns and not resolver.allow_hidden):
        return expr
    shown = ir.eq(ir.col(table, "emailVisibility"), ir.Raw("1"))
    rest = tuple(c for c in columns if c != "email")
    return ir.Binary("AND", expr, ir.Binary("OR", shown, over(rest)) if rest else shown)
