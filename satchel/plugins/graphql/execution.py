"""Running one GraphQL operation: the cached schema, parse, validate (with the limits), execute.

The schema is built from the collections on first use and rebuilt, lazily, on the first operation
after any collection changed (the registry's version moved): never on a request that does not need
it, and at most once per change.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
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
    max_root_fields: int = limits.MAX_ROOT_FIELDS


@dataclass(slots=True)
class Prepared:
    """A document that parsed and validated against `schema`, and its operation's kind; or the
    errors why not."""

    schema: GraphQLSchema
    document: DocumentNode | None
    operation: OperationType | None
    errors: list[dict[str, Any]]
    root_fields: int = 0
    """The operation's root fields: each does the work of one REST request (the rate limiter
    counts them so)."""


MAX_CACHED_DOCUMENTS = 256
MAX_CACHED_LENGTH = 16 << 10
"""Documents longer than this are parsed and validated every time (clients repeat short ones)."""


class GraphQLService:
    def __init__(self, app: App, options: Options | None = None) -> None:
        self.app = app
        self.options = options or Options()
        self._schema: GraphQLSchema | None = None
        self._version = -1
        self._documents: OrderedDict[tuple[str, str | None], Prepared] = OrderedDict()
        """Documents parsed and validated (all but the complexity, which depends on variables), for
        the current schema: a client sends the same few documents again and again, and parsing plus
        the specified rules cost about as much as running a small query."""
        self.builds = 0
        """How many times the schema was built (tests check that it is rebuilt only on changes)."""

    def schema(self) -> GraphQLSchema:
        version = self.app.collections.version
        if self._schema is None or version != self._version:
            self._schema = build_schema(self.app.collections.all())
            self._version = version
            self._documents.clear()
            self.builds += 1
        return self._schema

    def prepare(self, query: str, variables: dict[str, Any], operation_name: str | None) -> Prepared:
        schema = self.schema()
        key = (query, operation_name)
        prepared = self._documents.get(key)
        if prepared is None:
            prepared = self._prepare(schema, query, operation_name)
            if len(query) <= MAX_CACHED_LENGTH:
                self._documents[key] = prepared
                if len(self._documents) > MAX_CACHED_DOCUMENTS:
                    self._documents.popitem(last=False)
        else:
            self._documents.move_to_end(key)
        if prepared.document is None:
            return prepared
        errors = limits.complexity_errors(schema, prepared.document, self.options.max_complexity, variables)
        if errors:
            return Prepared(schema, None, None, formatted(errors))
        return prepared

    def _prepare(self, schema: GraphQLSchema, query: str, operation_name: str | None) -> Prepared:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError as exc:
            return Prepared(schema, None, None, formatted([exc]))
        rules = [
            *specified_rules,
            limits.depth_rule(self.options.max_depth),
            limits.root_fields_rule(self.options.max_root_fields),
        ]
        errors = validate(schema, document, rules)
        if errors:
            return Prepared(schema, None, None, formatted(errors))
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return Prepared(schema, None, None, formatted([GraphQLError("Unknown or ambiguous operation name.")]))
        return Prepared(schema, document, operation.operation, [], limits.root_fields(schema, document, operation))

    async def execute(
        self, ctx: Context, prepared: Prepared, variables: dict[str, Any], operation_name: str | None
    ) -> dict[str, Any]:
        assert prepared.document is not None
        result = execute(prepared.schema, prepared.document, None, ctx, variables, operation_name)
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return response(result)

    async def subscribe(
        self, ctx: Context, prepared: Prepared, variables: dict[str, Any], operation_name: str | None
    ) -> AsyncIterator[ExecutionResult] | dict[str, Any]:
        """The stream of results, or a response with the errors that prevented it."""
        assert prepared.document is not None
        result = subscribe(prepared.schema, prepared.document, None, ctx, variables, operation_name)
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
