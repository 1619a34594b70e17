"""Multi-factor authentication as PocketBase does it: two different methods, an `_mfas` row between.

With `mfa.enabled` and the record passing `mfa.rule` (empty: everyone), the first successful
sign-in by any method is not answered with a token: an `_mfas` row remembers the method and the
client gets 401 `{"mfaId": ...}`. A second sign-in by a *different* method that carries that
`mfaId` (query or body) spends the row and gets the token. All methods are equal and need no
pairing, as in PocketBase; authenticator apps (TOTP) are one more method here, and a record with
an active authenticator always needs a second factor, whatever the rule says (its owner opted in).

The check runs inside the auth hook, just before answering, so every flow that ends in
`AuthService.respond` (password, OTP, OAuth2, TOTP) gets it; refresh and impersonation never do.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from satchel.core.auth import refs, totp_store
from satchel.core.collections.model import Collection
from satchel.core.errors import BadRequestError, UnauthorizedError
from satchel.core.records.model import Record
from satchel.core.rules.request_info import (
    CONTEXT_DEFAULT,
    CONTEXT_OAUTH2,
    CONTEXT_OTP,
    CONTEXT_PASSWORD,
    RequestInfo,
)
from satchel.core.rules.resolver import FilterError
from satchel.ports.database import DatabaseError

if TYPE_CHECKING:
    from satchel.core.app import App

METHOD_PASSWORD = "password"  # noqa: S105 - a method name
METHOD_OTP = "otp"
METHOD_OAUTH2 = "oauth2"
METHOD_TOTP = "totp"
CONTEXT_TOTP = "totp"
NO_MFA_METHODS = ("", "refresh", "impersonate")
"""Token answers that are not a sign-in (PocketBase passes no method for them)."""
METHOD_CONTEXT = {
    METHOD_PASSWORD: CONTEXT_PASSWORD,
    METHOD_OTP: CONTEXT_OTP,
    METHOD_OAUTH2: CONTEXT_OAUTH2,
    METHOD_TOTP: CONTEXT_TOTP,
}
"""`@request.context` while the MFA rule is checked, as PocketBase sets it per auth flow."""

INVALID_SESSION = "Invalid or expired MFA session."
FOREIGN_SESSION = "Invalid MFA session."
SAME_METHOD = "A different authentication method is required."
READ_ERROR = "Failed to read MFA Id."
RULE_ERROR = "Failed to authenticate."


class MFARequiredError(UnauthorizedError):
    """The first factor passed; the API answers 401 `{"mfaId": ...}` (PocketBase's shape, not an error body)."""

    def __init__(self, mfa_id: str) -> None:
        super().__init__("A second authentication method is required.")
        self.mfa_id = mfa_id


def enabled(collection: Collection) -> bool:
    return bool(collection.auth.get("mfa", {}).get("enabled"))


def duration(collection: Collection) -> int:
    return int(collection.auth.get("mfa", {}).get("duration") or 0)


def requested_id(request: RequestInfo) -> str:
    """The `mfaId` the client sent: query parameter first, then the body (as PocketBase reads it)."""
    value = request.query.get("mfaId")
    if isinstance(value, str) and value:
        return value
    body_value = request.body.get("mfaId")
    if body_value is None:
        return ""
    if not isinstance(body_value, str):
        raise BadRequestError(READ_ERROR)
    return body_value


async def wants_mfa(app: App, record: Record, method: str, request: RequestInfo) -> bool:
    if not enabled(record.collection) or method in NO_MFA_METHODS:
        return False
    rule = record.collection.auth.get("mfa", {}).get("rule") or ""
    if not rule or await totp_store.is_active(app, record):
        return True
    if request.context == CONTEXT_DEFAULT:
        request = replace(request, context=METHOD_CONTEXT.get(method, CONTEXT_DEFAULT))
    try:
        return await app.records.matches_rule(record.collection, record.id, rule, request)
    except (FilterError, DatabaseError) as exc:
        # as PocketBase: a rule that cannot run refuses the sign-in rather than skipping the factor
        raise BadRequestError(RULE_ERROR) from exc


async def session(app: App, mfa_id: str, collection: Collection) -> Record:
    """The unexpired `_mfas` row `mfa_id` (expired under `collection`'s duration: deleted, refused)."""
    row = await refs.find(app, refs.MFAS, mfa_id) if mfa_id else None
    if row is None:
        raise BadRequestError(INVALID_SESSION)
    if refs.has_expired(row, duration(collection)):
        await refs.delete(app, [row])
        raise BadRequestError(INVALID_SESSION)
    return row


async def check(app: App, record: Record, method: str, request: RequestInfo) -> None:
    """Let the sign-in through, or raise: MFARequiredError after a first factor, 400 on a bad second."""
    if not await wants_mfa(app, record, method, request):
        return
    mfa_id = requested_id(request)
    if not mfa_id:
        row = await refs.create(app, refs.MFAS, record, method=method)
        raise MFARequiredError(row.id)
    row = await session(app, mfa_id, record.collection)
    if row.get("recordRef") != record.id or row.get("collectionRef") != record.collection_id:
        raise BadRequestError(FOREIGN_SESSION)
    if row.get("method") == method:
        raise BadRequestError(SAME_METHOD)
    await refs.delete(app, [row])
