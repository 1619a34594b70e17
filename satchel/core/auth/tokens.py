"""Auth tokens: HS256 JWTs signed with the record's tokenKey plus a per-collection secret.

Because the record's own tokenKey is part of the key, rotating it (on password change)
revokes every token issued before; the collection secret (derived from the app secret)
lets an operator revoke a whole collection's tokens by rotating the app secret.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

from satchel.core.collections.registry import CollectionRegistry
from satchel.core.records.model import Record
from satchel.tools import tokens

TYPE_AUTH = "auth"
TYPE_FILE = "file"


@functools.lru_cache(maxsize=256)
def collection_secret(app_secret: str, collection_id: str) -> str:
    return hmac.new(app_secret.encode(), f"auth:{collection_id}".encode(), hashlib.sha256).hexdigest()


def signing_key(app_secret: str, record: Record) -> str:
    return str(record.get("tokenKey", "")) + collection_secret(app_secret, record.collection_id)


def issue_auth_token(app_secret: str, record: Record, *, duration: int | None = None, refreshable: bool = True) -> str:
    claims: dict[str, Any] = {
        "collectionId": record.collection_id,
        "id": record.id,
        "refreshable": refreshable,
        "type": TYPE_AUTH,
    }
    seconds = duration if duration and duration > 0 else record.collection.auth_token_duration
    return tokens.sign(claims, signing_key(app_secret, record), seconds)


def token_subject(token: str, registry: CollectionRegistry) -> tuple[str, str] | None:
    """(collection id, record id) from an auth token's unverified claims; None if it is not one."""
    claims = tokens.parse_unverified(token)
    if not claims or claims.get("type") != TYPE_AUTH:
        return None
    collection_id, record_id = claims.get("collectionId"), claims.get("id")
    if not isinstance(collection_id, str) or not isinstance(record_id, str):
        return None
    if registry.get(collection_id) is None:
        return None
    return collection_id, record_id


def verify_auth_token(app_secret: str, token: str, record: Record) -> dict[str, Any] | None:
    """Verified claims when `token` was signed for `record` and is unexpired."""
    claims = tokens.verify(token, signing_key(app_secret, record))
    if claims is None or claims.get("type") != TYPE_AUTH or claims.get("id") != record.id:
        return None
    return claims
