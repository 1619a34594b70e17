"""The `JSON` scalar: json fields' values as they are stored (any JSON value), in and out."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLScalarType, ValueNode, value_from_ast_untyped


def _identity(value: Any) -> Any:
    return value


def _literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    return value_from_ast_untyped(node, variables)


JSONScalar = GraphQLScalarType(
    "JSON",
    description="Any JSON value (json fields), passed through as stored.",
    serialize=_identity,
    parse_value=_identity,
    parse_literal=_literal,
)
