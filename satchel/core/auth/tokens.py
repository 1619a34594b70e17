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
TYPE_VERIFICATION = "verification"
TYPE_PASSWORD_RESET = "passwordReset"  # noqa: S105 - a token type name
TYPE_EMAIL_CHANGE = "emailChange"

DURATION_OPTION = {
    TYPE_AUTH: "authToken",
    TYPE_FILE: "fileToken",
    TYPE_VERIFICATION: "verificationToken",
    TYPE_PASSWORD_RESET: "passwordResetToken",
    TYPE_EMAIL_CHANGE: "emailChangeToken",
}
"""Token type -> the auth option holding its lifetime (PocketBase's names)."""


@functools.lru_cache(maxsize=256)
def collection_secret(app_secret: str, collection_id: str, purpose: str = TYPE_AUTH) -> str:
    """One secret per collection and token type: a reset token can never pass as an auth token."""
    return hmac.new(app_secret.encode(), f"{purpose}:{collection_id}".encode(), hashlib.sha256).hexdigest()


def signing_key(app_secret: str, record: Record, purpose: str = TYPE_AUTH) -> str:
    return str(record.get("tokenKey", "")) + collection_secret(app_secret, record.collection_id, purpose)


def issue_record_token(app_secret: str, record: Record, purpose: str, **claims: Any) -> str:
    """A token of type `purpose` for `record` (verification, passwordReset, emailChange, file).

    Signed with the record's tokenKey, so a password change (which rotates it) voids every
    outstanding one: that is what makes reset and change tokens single-use in effect.
    """
    body: dict[str, Any] = {"collectionId": record.collection_id, "id": record.id, "type": purpose, **claims}
    option = record.collection.auth.get(DURATION_OPTION[purpose], {})
    return tokens.sign(body, signing_key(app_secret, record, purpose), int(option.get("duration", 1800)))


def verify_record_token(app_secret: str, token: str, record: Record, purpose: str) -> dict[str, Any] | None:
    """Verified claims when `token` is an unexpired `purpose` token for `record`."""
    claims = tokens.verify(token, signing_key(app_secret, record, purpose))
    if claims is None or claims.get("type") != purpose or claims.get("id") != record.id:
        return None
    return claims


def token_record_ref(token: str, purpose: str) -> tuple[str, str] | None:
    """(collection id, record id) from a `purpose` token's unverified claims, to look the record up."""
    claims = tokens.parse_unverified(token)
    if not claims or claims.get("type") != purpose:
        return None
    collection_id, record_id = claims.get("collectionId"), claims.get("id")
    if not isinstance(collection_id, str) or not isinstance(record_id, str):
        return None
    return collection_id, record_id


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
