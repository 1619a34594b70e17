"""Running one GraphQL operation: the cached schema, parse, validate (with the limits), execute.

The schema is built from the collections on first use and rebuilt, lazily, on the first operation
after any collection changed (the registry's version moved): never on a request that does not need
it, and at most once per change.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    subscribe,
    validate,
)

from satchel.core.app import App
from satchel.plugins.graphql import limits
from satchel.plugins.graphql.context import Context
from satchel.plugins.graphql.errors import formatted
from satchel.plugins.graphql.schema import build_schema

MAX_TOKENS = 10_000
"""Tokens a document may have: parsing stops there (hostile documents cost no more than this)."""


@dataclass(frozen=True, slots=True)
class Options:
    max_depth: int = limits.DEFAULT_MAX_DEPTH
    max_complexity: int = limits.DEFAULT_MAX_COMPLEXITY


@dataclass(slots=True)
class Prepared:
    """A document that parsed and validated, and its operation's kind; or the errors why not."""

    document: DocumentNode | None
    operation: OperationType | None
    errors: list[dict[str, Any]]


class GraphQLService:
    def __init__(self, app: App, options: Options | None = None) -> None:
        self.app = app
        self.options = options or Options()
        self._schema: GraphQLSchema | None = None
        self._version = -1
        self._lock = asyncio.Lock()
        self.builds = 0
        """How many times the schema was built (tests check that it is rebuilt only on changes)."""

    def schema(self) -> GraphQLSchema:
        version = self.app.collections.version
        if self._schema is None or version != self._version:
            self._schema = build_schema(self.app.collections.all())
            self._version = version
            self.builds += 1
        return self._schema

    def prepare(self, query: str, variables: dict[str, Any], operation_name: str | None) -> Prepared:
        schema = self.schema()
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as exc:
            return Prepared(None, None, formatted([exc]))
        rules = [*specified_rules, *limits.rules(self.options.max_depth, self.options.max_complexity, variables)]
        errors = validate(schema, document, rules)
        if errors:
            return Prepared(None, None, formatted(errors))
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return Prepared(None, None, formatted([GraphQLError("Unknown or ambiguous operation name.")]))
        return Prepared(document, operation.operation, [])

    async def execute(
        self, ctx: Context, document: DocumentNode, variables: dict[str, Any], operation_name: str | None
    ) -> dict[str, Any]:
        result = execute(self.schema(), document, None, ctx, variables, operation_name)
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return response(result)

    async def subscribe(
        self, ctx: Context, document: DocumentNode, variables: dict[str, Any], operation_name: str | None
    ) -> AsyncIterator[ExecutionResult] | dict[str, Any]:
        """The stream of results, or a response with the errors that prevented it."""
        result = subscribe(self.schema(), document, None, ctx, variables, operation_name)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, ExecutionResult):
            return response(result)
        return result


def response(result: ExecutionResult) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if result.errors:
        out["errors"] = formatted(list(result.errors))
    out["data"] = result.data
    return out
