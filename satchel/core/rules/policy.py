"""The one access policy: what a request may list, view, create, update or delete.

Every API (REST, realtime, batch, and later GraphQL/gRPC) asks here. A rule is `None`
(superusers only), `""` (everyone) or a filter expression that must match the record.
Compiled rule ASTs are cached by the parser; the SQL tree is cheap to rebuild per request.
"""

from __future__ import annotations

from collections.abc import Callable

from satchel.core.collections.model import Collection
from satchel.core.errors import ForbiddenError
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.resolver import FilterError, Resolver
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse
from satchel.tools.sql import ir

SUPERUSERS_ONLY = "Only superusers can perform this action."

Finder = Callable[[str], Collection | None]


class RuleDenied(Exception):
    """The rule is null and the caller is not a superuser."""


def rule_condition(collection: Collection, rule: str | None, request: RequestInfo, find: Finder) -> ir.Expr | None:
    """SQL condition a record must meet under `rule`, or None when every record passes.

    Raises ForbiddenError when the rule is null (superusers only) and the caller is not one.
    Superusers bypass every rule.
    """
    if request.is_superuser:
        return None
    if rule is None:
        raise ForbiddenError(SUPERUSERS_ONLY)
    if rule.strip() == "":
        return None
    return compile_rule(collection, rule, request, find)


def _resolve(
    collection: Collection, rule: str, request: RequestInfo, find: Finder, *, stored: bool = True
) -> tuple[Resolver, ir.Expr]:
    try:
        node = parse(rule)
    except FilterSyntaxError as exc:
        raise FilterError(f"Invalid rule: {exc}") from exc
    resolver = Resolver(collection, find, request, allow_hidden=True, stored=stored)
    return resolver, resolver.where(node)


def compile_rule(collection: Collection, rule: str, request: RequestInfo, find: Finder) -> ir.Expr:
    """Rules are written by superusers and may use hidden fields, `@request.*` and `@collection.*`."""
    resolver, expr = _resolve(collection, rule, request, find)
    return resolver.standalone(expr)


def rule_probe(
    collection: Collection,
    rule: str,
    request: RequestInfo,
    find: Finder,
    source: ir.Source | Callable[[], ir.Source],
) -> ir.Select:
    """`SELECT 1 FROM source ... WHERE rule`: evaluates a rule on rows that are not stored (yet).

    A rule that only reads the request (`@request.auth.id != ""`) needs no row at all: it is
    evaluated without a FROM clause, and a `source` given as a callable is never built.
    """
    resolver, expr = _resolve(collection, rule, request, find, stored=False)
    if not resolver.joins and not ir.reads_rows(expr):
        return ir.Select((ir.Raw("1"),), where=expr, limit=1)
    rows = source() if callable(source) else source
    return ir.Select((ir.Raw("1"),), rows, joins=tuple(resolver.joins.values()), where=expr, limit=1)


def check_rule_syntax(collection: Collection, rule: str, find: Finder) -> str | None:
    """Validate a rule at collection save time; returns an error message or None."""
    if rule.strip() == "":
        return None
    try:
        node = parse(rule)
        Resolver(collection, find, RequestInfo(), allow_hidden=True).where(node)
    except (FilterSyntaxError, FilterError) as exc:
        return str(exc) or "Invalid rule."
    return None
