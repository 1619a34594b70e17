"""Errors as GraphQL errors, carrying what REST would have answered.

A domain error from core (validation, not found, forbidden...) keeps its safe message and gets
`extensions: {code: <REST status>, data: <REST's per-field codes>}`, so clients read the same
`validation_*` codes as from REST. Anything else is logged with its cause and shown as the same
safe message REST shows, code 500. Errors of the GraphQL language itself (syntax, validation) pass
through as graphql-core words them, with code 400.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from satchel.apis.errors import INTERNAL_MESSAGE, STATUS_BY_KIND
from satchel.core.errors import SatchelError

log = logging.getLogger("satchel.graphql")


def request_error(message: str, status: int = 400) -> dict[str, Any]:
    """A formatted error for a request that never reached execution (a malformed HTTP body)."""
    return {"message": message, "extensions": {"code": status, "data": {}}}


def mapped(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, SatchelError):
        extensions = {"code": STATUS_BY_KIND.get(original.kind, 400), "data": original.data}
        return _like(error, original.message, extensions)
    if original is not None and not isinstance(original, GraphQLError):
        log.error("GraphQL resolver failed at %s", error.path, exc_info=original)
        return _like(error, INTERNAL_MESSAGE, {"code": 500, "data": {}})
    if error.extensions and "code" in error.extensions:
        return error
    return _like(error, error.message, {**(error.extensions or {}), "code": 400})


def _like(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    """`error` (same locations and path) with another message and extensions."""
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path, extensions=extensions)


def formatted(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    return [dict(mapped(e).formatted) for e in errors]
