"""API-key scopes: which record actions on which collections a key-authenticated request may take.

Scopes narrow, never widen: a request inside its key's scopes still goes through the collection's
API rules as the key's owner. The check lives with the access policy, called by the records
service for each action and by expand for each related collection, so every API that drives the
service (REST, batch, and later GraphQL and gRPC) is covered by the same few calls.
"""

from __future__ import annotations

from collections.abc import Mapping

from satchel.core.collections.model import Collection
from satchel.core.errors import ForbiddenError
from satchel.core.rules.request_info import RequestInfo

ACTIONS = ("list", "view", "create", "update", "delete")
ANY = "*"
OUT_OF_SCOPE = "The API key is not allowed to perform this action."

Scopes = Mapping[str, frozenset[str]]
"""Collection id (or `*`) -> allowed actions (`*` already expanded to every action)."""

_NONE: frozenset[str] = frozenset()


def in_scope(scopes: Scopes, collection: Collection, action: str) -> bool:
    return action in scopes.get(collection.id, _NONE) or action in scopes.get(ANY, _NONE)


def require_scope(request: RequestInfo, collection: Collection, action: str) -> None:
    """403 when an API key authenticated `request` and its scopes leave out `action` on `collection`."""
    if request.scopes is not None and not in_scope(request.scopes, collection, action):
        raise ForbiddenError(OUT_OF_SCOPE)
