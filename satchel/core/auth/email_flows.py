"""Verification, password reset and email change of auth records: PocketBase's six email flows.

Each flow is a request that mails a token and a confirm that spends it. The requests that take
an address (verification, password reset) answer the same whether or not an account has it and
send in the background, so neither the answer nor its timing tells an account exists; a resend
guard in the Cache port (shared across processes when the cache is) keeps them from being used
to flood an inbox. Tokens are signed with the record's tokenKey plus a per-type secret, so a
confirm that changes the password or email rotates tokenKey and thereby voids the token it
spent, every other outstanding one and every auth token: single use without a token store.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from satchel.core import mails
from satchel.core.auth import form_input
from satchel.core.auth.tokens import (
    TYPE_EMAIL_CHANGE,
    TYPE_PASSWORD_RESET,
    TYPE_VERIFICATION,
    issue_record_token,
    token_record_ref,
    verify_record_token,
)
from satchel.core.collections.indexes import find_single_column_unique
from satchel.core.collections.model import Collection
from satchel.core.errors import (
    BadRequestError,
    ErrorTree,
    FieldError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
    required,
)
from satchel.core.fields.email import is_email
from satchel.core.hooks import RecordEmailChangeRequestEvent, RecordRequestEvent
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.records.upsert import PasswordInput, finalize_password, validate_fields
from satchel.core.rules.request_info import RequestInfo
from satchel.ports.cache import CacheError
from satchel.ports.database import IntegrityError
from satchel.ports.mailer import MailError
from satchel.tools import tokens
from satchel.tools.ids import random_string, random_string_by_regex
from satchel.tools.passwords import hash_password, verify_password
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.auth.email")
INVALID = form_input.INVALID
RESEND_GUARD_S = 120.0
"""PocketBase's two minutes between verification (or reset) mails to one record."""
MAX_EMAIL = 255
MAX_FORM_PASSWORD = 255
MAX_CONFIRM_PASSWORD = 100


# ----------------------------------------------------------------------------- shared pieces
def auth_collection(app: App, id_or_name: str) -> Collection:
    c = app.collections.get(id_or_name)
    if c is None:
        raise NotFoundError("Missing or invalid collection context.")
    if not c.is_auth:
        raise NotFoundError("Missing or invalid auth collection context.")
    return c


def _email_error(value: str) -> FieldError | None:
    if not value:
        return required()
    if len(value) > MAX_EMAIL:
        return form_input.length_error(1, MAX_EMAIL)
    if not is_email(value):
        return FieldError("validation_is_email", "Must be a valid email address.")
    return None


def _raise(errors: ErrorTree) -> None:
    if errors:
        raise ValidationError(INVALID, errors)


def _claim(token: str, name: str) -> str:
    # PocketBase reads these claims even from an expired token (its parser returns them with the
    # error), so an expired token reaches the signature check and is reported as invalid
    value = (tokens.parse_unverified(token, check_times=False) or {}).get(name)
    return value if isinstance(value, str) else ""


async def find_by_email(app: App, collection: Collection, email: str) -> Record | None:
    """The record with `email`: exact, or case-insensitive when the email index is COLLATE NOCASE."""
    index = find_single_column_unique(collection.indexes, "email")
    column: ir.Expr = ir.col(collection.name, "email")
    value: ir.Expr = ir.Param(email)
    if index is not None and index.columns[0].collate.upper() == "NOCASE":
        column, value = ir.Func("LOWER", (column,)), ir.Func("LOWER", (value,))
    row = await app.db.executor().fetch_one(
        ir.Select((ir.Star(collection.name),), ir.Table(collection.name), where=ir.eq(column, value), limit=1)
    )
    return storage.record_from_row(collection, row) if row is not None else None


async def find_by_token(app: App, token: str, purpose: str) -> Record | None:
    """The auth record a valid, unexpired `purpose` token was issued for."""
    ref = token_record_ref(token, purpose)
    if ref is None:
        return None
    collection = app.collections.get(ref[0])
    if collection is None or not collection.is_auth:
        return None
    record = await storage.fetch_by_id(app.db.executor(), collection, ref[1])
    if record is None or verify_record_token(app.secret, token, record, purpose) is None:
        return None
    return record


def rotate_token_key(record: Record) -> None:
    field = record.collection.field("tokenKey")
    pattern = getattr(field, "autogenerate_pattern", "") or "[a-zA-Z0-9]{50}"
    record.set("tokenKey", random_string_by_regex(pattern))


async def _save(app: App, record: Record, request: RequestInfo, message: str, password: str = "") -> None:
    """Validate and write like any record save (model hooks, autodates, realtime), in one transaction."""
    pw = PasswordInput(password=password, confirm=password, given=bool(password))
    try:
        async with app.db.transaction() as tx:
            await validate_fields(record, app.records.value_context(record, tx), pw)
            finalize_password(record, pw)
            await app.records.save_record(record, tx, request)
    except ValidationError as exc:
        raise ValidationError(message, exc.errors) from exc
    except IntegrityError as exc:
        column = exc.column if exc.column and record.collection.field(exc.column) else None
        errors: ErrorTree = {column: FieldError("validation_not_unique", "Value must be unique.")} if column else {}
        raise ValidationError(message, errors) from exc


def _guard_key(prefix: str, record: Record) -> str:
    return f"@limit{prefix}Email_{record.collection_id}{record.id}"


async def _record_for_email(app: App, collection: Collection, body: dict[str, Any]) -> Record | None:
    (email,) = form_input.strings(body, "email")
    error = _email_error(email)
    _raise({"email": error} if error else {})
    return await find_by_email(app, collection, email)


async def _guard(app: App, key: str) -> bool:
    """True when no mail of this kind went to this record in the last two minutes (and now one may).

    An unreachable cache fails open: a user locked out of resetting a password is worse than a
    few extra mails while Redis is down."""
    try:
        return await app.cache.add(key, b"1", RESEND_GUARD_S)
    except CacheError as exc:
        log.warning("resend guard not enforced: cache unavailable (%s)", exc)
        return True


async def _release(app: App, key: str) -> None:
    try:
        await app.cache.delete(key)
    except CacheError as exc:
        log.warning("resend guard %s left to expire: cache unavailable (%s)", key, exc)


# ------------------------------------------------------------------------------ verification
async def request_verification(app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo) -> None:
    collection = auth_collection(app, id_or_name)
    if collection.is_superusers:
        raise BadRequestError("All superusers are verified by default.")
    record = await _record_for_email(app, collection, body)
    if record is None:
        return
    key = _guard_key("Verification", record)
    if not record.get("verified") and not await _guard(app, key):
        return
    event = RecordRequestEvent(collection=collection, request=request, record=record)

    async def final(e: RecordRequestEvent) -> None:
        target = e.record or record
        if target.get("verified"):
            return
        token = issue_record_token(app.secret, target, TYPE_VERIFICATION, email=str(target.get("email", "")))
        mails.send_in_background(app, target, ("verificationTemplate",), TOKEN=token)

    try:
        await app.hooks.on_record_request_verification_request.trigger(event, final)
    except Exception:
        await _release(app, key)  # a handler refused: nothing was sent
        raise


async def confirm_verification(app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo) -> None:
    collection = auth_collection(app, id_or_name)
    if collection.is_superusers:
        raise BadRequestError("All superusers are verified by default.")
    (token,) = form_input.strings(body, "token")
    email = _claim(token, "email")
    record = await find_by_token(app, token, TYPE_VERIFICATION) if email else None
    error: FieldError | None
    if not token:
        error = required()
    elif not email:
        error = FieldError("validation_invalid_token_claims", "Missing email token claim.")
    else:
        error = _token_error(record, collection)
    if error is None and record is not None and record.get("email") != email:
        message = "The record email doesn't match with the requested token claims."
        error = FieldError("validation_token_email_mismatch", message)
    _raise({"token": error} if error else {})
    if record is None:  # only when the checks above let an invalid token through (they do not)
        raise BadRequestError("Invalid or expired verification token.")
    was_verified = bool(record.get("verified"))
    event = RecordRequestEvent(collection=collection, request=request, record=record)

    async def final(e: RecordRequestEvent) -> None:
        target = e.record or record
        if not was_verified:
            target.set("verified", True)
            if not target.collection.auth.get("passwordAuth", {}).get("enabled", False):
                # PocketBase's guard against pre-hijacking: a password set before the owner proved
                # the address must not survive into a later enabled password auth
                target.set("password", hash_password(random_string(30)))
                rotate_token_key(target)
            await _save(app, target, request, "An error occurred while saving the verified state.")
        await _release(app, _guard_key("Verification", target))

    await app.hooks.on_record_confirm_verification_request.trigger(event, final)


def _token_error(record: Record | None, collection: Collection) -> FieldError | None:
    if record is None:
        return FieldError("validation_invalid_token", "Invalid or expired token.")
    if record.collection_id != collection.id:
        return FieldError(
            "validation_token_collection_mismatch", "The provided token is for different auth collection."
        )
    return None


# ---------------------------------------------------------------------------- password reset
async def request_password_reset(app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo) -> None:
    collection = auth_collection(app, id_or_name)
    if not collection.auth.get("passwordAuth", {}).get("enabled", False):
        raise BadRequestError("The collection is not configured to allow password authentication.")
    record = await _record_for_email(app, collection, body)
    if record is None:
        return
    key = _guard_key("PasswordReset", record)
    if not await _guard(app, key):
        return
    event = RecordRequestEvent(collection=collection, request=request, record=record)

    async def final(e: RecordRequestEvent) -> None:
        target = e.record or record
        token = issue_record_token(app.secret, target, TYPE_PASSWORD_RESET, email=str(target.get("email", "")))
        mails.send_in_background(app, target, ("resetPasswordTemplate",), TOKEN=token)

    try:
        await app.hooks.on_record_request_password_reset_request.trigger(event, final)
    except Exception:
        await _release(app, key)
        raise


async def confirm_password_reset(app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo) -> None:
    collection = auth_collection(app, id_or_name)
    token, password, confirm = form_input.strings(body, "token", "password", "passwordConfirm")
    errors: ErrorTree = {}
    record = await find_by_token(app, token, TYPE_PASSWORD_RESET) if token else None
    token_error = _token_error(record, collection) if token else required()
    if token_error:
        errors["token"] = token_error
    field = collection.field("password")
    min_len = max(int(getattr(field, "min", 0) or 0), 1)
    if not password:
        errors["password"] = required()
    elif not min_len <= len(password) <= MAX_FORM_PASSWORD:
        errors["password"] = form_input.length_error(min_len, MAX_FORM_PASSWORD)  # the field's own limits apply on save
    if not confirm:
        errors["passwordConfirm"] = required()
    elif confirm != password:
        errors["passwordConfirm"] = FieldError("validation_values_mismatch", "Values don't match.")
    _raise(errors)
    if record is None:
        raise BadRequestError("Invalid or expired password reset token.")
    event = RecordRequestEvent(collection=collection, request=request, record=record)

    async def final(e: RecordRequestEvent) -> None:
        target = e.record or record
        if not target.get("verified") and target.get("email") == _claim(token, "email"):
            target.set("verified", True)  # the owner of the (unchanged) address just proved it
        await _save(app, target, request, "Failed to set new password.", password=password)
        await _release(app, _guard_key("PasswordReset", target))

    await app.hooks.on_record_confirm_password_reset_request.trigger(event, final)


# ------------------------------------------------------------------------------ email change
def _email_change_auth(app: App, id_or_name: str, request: RequestInfo) -> Record:
    """PocketBase's RequireSameCollectionContextAuth, which runs before the collection lookup."""
    if request.auth is None:
        raise UnauthorizedError()
    c = app.collections.get(id_or_name)
    if c is None or c.id != request.auth.collection_id:
        raise ForbiddenError(f"The request requires auth record from {request.auth.collection_name} collection.")
    return request.auth


async def request_email_change(app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo) -> None:
    record = _email_change_auth(app, id_or_name, request)
    collection = auth_collection(app, id_or_name)
    if collection.is_superusers:
        raise BadRequestError("All superusers can change their emails directly.")
    (new_email,) = form_input.strings(body, "newEmail")
    error = _email_error(new_email)
    if error is None and new_email == record.get("email"):
        error = FieldError("validation_not_in_invalid", "Must not be in list.")
    if error is None:
        found = await find_by_email(app, collection, new_email)
        if found is not None and found.id != record.id:
            error = FieldError("validation_invalid_new_email", "Invalid new email address.")
    _raise({"newEmail": error} if error else {})
    event = RecordEmailChangeRequestEvent(collection=collection, request=request, record=record, new_email=new_email)

    async def final(e: RecordEmailChangeRequestEvent) -> None:
        target = e.record or record
        token = issue_record_token(
            app.secret, target, TYPE_EMAIL_CHANGE, email=str(target.get("email", "")), newEmail=e.new_email
        )
        try:
            await mails.send_record_mail(app, target, ("confirmEmailChangeTemplate",), to=e.new_email, TOKEN=token)
        except MailError as exc:
            log.error("email change mail to record %s failed: %s", target.id, exc)
            raise BadRequestError("Failed to request email change.") from exc

    await app.hooks.on_record_request_email_change_request.trigger(event, final)


async def _parse_email_change(
    app: App, collection: Collection, token: str
) -> tuple[Record | None, str, FieldError | None]:
    """(record, new email, error): PocketBase's parseToken, whose error is that of the token field."""
    new_email = _claim(token, "newEmail")
    if not new_email:
        return None, "", FieldError("validation_invalid_token_payload", "Invalid token payload - newEmail must be set.")
    record = await find_by_token(app, token, TYPE_EMAIL_CHANGE)
    error = _token_error(record, collection)
    if error is not None:
        return None, "", error
    if await find_by_email(app, collection, new_email) is not None:
        return None, "", FieldError("validation_invalid_token_email", "The new email address is invalid.")
    return record, new_email, None


async def confirm_email_change(app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo) -> None:
    collection = auth_collection(app, id_or_name)
    if collection.is_superusers:
        raise BadRequestError("All superusers can change their emails directly.")
    token, password = form_input.strings(body, "token", "password")
    record, new_email, token_error = await _parse_email_change(app, collection, token)
    errors: ErrorTree = {}
    if not token:
        errors["token"] = required()
    elif token_error is not None:
        errors["token"] = token_error
    if not password:
        errors["password"] = required()
    elif len(password) > MAX_CONFIRM_PASSWORD:
        errors["password"] = form_input.length_error(1, MAX_CONFIRM_PASSWORD)
    elif record is None or not verify_password(str(record.get("password", "")), password):
        errors["password"] = FieldError("validation_invalid_password", "Missing or invalid auth record password.")
    _raise(errors)
    if record is None:  # a valid password implies the token named a record
        raise BadRequestError("Invalid or expired token.")
    event = RecordEmailChangeRequestEvent(collection=collection, request=request, record=record, new_email=new_email)

    async def final(e: RecordEmailChangeRequestEvent) -> None:
        target = e.record or record
        target.set("email", e.new_email)
        target.set("verified", True)
        rotate_token_key(target)  # as PocketBase does on any email change: old sessions end
        await _save(app, target, request, "Failed to confirm email change.")

    await app.hooks.on_record_confirm_email_change_request.trigger(event, final)
