"""Authenticator apps (TOTP, RFC 6238) as a second factor: beyond PocketBase.

An auth record enrols for itself: it gets a secret, its `otpauth://` URI and a QR code, and the
app stays pending until a current code proves it was set up; that activates it and hands out ten
single-use recovery codes, shown once. From then on the record is asked for a second factor at
every sign-in (when the collection has MFA enabled, whatever `mfa.rule` says) and may answer it
with `auth-with-totp` {mfaId, code}, a current code or a recovery code. Disabling needs a current
code, a recovery code or the account password.

Codes are SHA-1, six digits, 30-second steps (what every authenticator app defaults to), accepted
one step either side for clock drift. A code is good once: its time step is recorded and any code
of that step or an earlier one is refused afterwards. Every check of a code or password counts
against the login guard (per record and per client address), like password sign-ins.

The secret is sealed at rest with the key ring (`totp_store`). One that the configured keys do not
open (a backup or a sibling under another key) cannot check codes: such a code is answered with a
400 saying so, never judged wrong, while recovery codes and the account password still work, so
the record can sign in and disable the app. The operator's details (which key) go to the log.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyotp

from satchel.core.auth import auth_rule, form_input, mfa, totp_store
from satchel.core.auth.email_flows import auth_collection
from satchel.core.auth.totp_store import Totp
from satchel.core.collections.model import Collection
from satchel.core.errors import (
    BadRequestError,
    ErrorTree,
    FieldError,
    ForbiddenError,
    UnauthorizedError,
    ValidationError,
    required,
)
from satchel.core.hooks import CollectionEvent, RecordEvent
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.rules.request_info import RequestInfo
from satchel.tools.ids import random_string
from satchel.tools.passwords import verify_password

if TYPE_CHECKING:
    from satchel.core.app import App

PERIOD_S = 30
DIGITS = 6
DRIFT_STEPS = 1
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""No 0/o, 1/l/i: codes get typed from paper."""
RECOVERY_LENGTH = 16
"""16 characters of a 31-letter alphabet: 79 random bits, so a plain SHA-256 digest is safe to store."""
MAX_CODE = 64
MAX_PASSWORD = 255

WRONG_COLLECTION = "The request requires valid auth record of the current collection."
MFA_DISABLED = "The collection is not configured to allow MFA authentication."
ALREADY_ENABLED = "An authenticator app is already enabled; disable it before enrolling another."
NOT_PENDING = "There is no authenticator app waiting to be verified."
NOT_ENABLED = "No authenticator app is enabled."
INVALID_CODE = "Invalid or expired authenticator code."
CODE_ERROR = FieldError("validation_invalid_code", INVALID_CODE)
PASSWORD_ERROR = FieldError("validation_invalid_password", "Missing or invalid auth record password.")
KEY_MISSING = (
    "The authenticator app cannot check codes: its secret is encrypted with a key this server is not configured "
    "with. Use a recovery code (or the password to disable it), or ask an administrator to configure the key."
)
PENDING_UNUSABLE = (
    "The authenticator app waiting to be verified cannot check codes: its secret is encrypted with a key this "
    "server is not configured with. Enrol again."
)

log = logging.getLogger("satchel.auth.totp")


def _unusable(state: Totp, message: str) -> BadRequestError:
    """The client's answer when the secret cannot be opened; the operator learns which key from the log."""
    log.error("authenticator app secret unusable: %s", state.secret_error, extra={"totp": state.id})
    return BadRequestError(message)


# ------------------------------------------------------------------------------------- codes
def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step (within the drift allowance) whose code `code` is, or None."""
    code = code.replace(" ", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_S)
    current = int(now // PERIOD_S)
    found: int | None = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * PERIOD_S), code) and found is None:
            found = step
    return found


def _normalize_recovery(code: str) -> str:
    return code.replace("-", "").replace(" ", "").lower()


def recovery_digest(code: str) -> str:
    return hashlib.sha256(_normalize_recovery(code).encode()).hexdigest()


def new_recovery_codes() -> list[str]:
    codes = [random_string(RECOVERY_LENGTH, RECOVERY_ALPHABET) for _ in range(RECOVERY_CODES)]
    return ["-".join(c[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)) for c in codes]


async def _spend(app: App, state: Totp, code: str, now: float, *, recovery: bool = True) -> bool:
    """Use `code` (current TOTP code, or an unused recovery code of an active app); False if it is not good.

    Raises BadRequestError when `code` is not a recovery code and the secret cannot be opened.
    """
    is_recovery = recovery and state.active and len(_normalize_recovery(code)) == RECOVERY_LENGTH
    if state.secret_error and not is_recovery:
        raise _unusable(state, KEY_MISSING)
    step = None if state.secret_error else matching_step(state.secret, code, now)
    if step is not None:
        return await totp_store.spend_step(app, state, step)
    if not is_recovery:
        return False
    digest = recovery_digest(code)
    matched = [d for d in state.recovery_codes if hmac.compare_digest(d, digest)]
    if not matched:
        return False
    left = [d for d in state.recovery_codes if d != matched[0]]
    return await totp_store.replace_recovery_codes(app, state, state.recovery_codes, left)


def _qr_svg(uri: str) -> str:
    out = io.BytesIO()
    import segno  # only at enrolment: not worth a megabyte in every worker from the start

    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False)
    return out.getvalue().decode()


# ------------------------------------------------------------------------------ who may act
def _own_record(app: App, id_or_name: str, request: RequestInfo, *, need_mfa: bool) -> Record:
    """The signed-in record, which must belong to the collection in the path (it acts for itself)."""
    if request.auth is None:
        raise UnauthorizedError()
    collection = app.collections.get(id_or_name)
    if collection is None or collection.id != request.auth.collection_id:
        raise ForbiddenError(WRONG_COLLECTION)
    if need_mfa and not mfa.enabled(collection):
        raise ForbiddenError(MFA_DISABLED)
    return request.auth


def _code(body: dict[str, Any]) -> str:
    (code,) = form_input.strings(body, "code")
    errors: ErrorTree = {}
    form_input.check_length(errors, "code", code, MAX_CODE)
    form_input.raise_errors(errors)
    return code


# ----------------------------------------------------------------------------------- flows
async def status(app: App, id_or_name: str, request: RequestInfo) -> dict[str, Any]:
    record = _own_record(app, id_or_name, request, need_mfa=False)
    state = await totp_store.get(app, record)
    return {
        "enabled": state is not None and state.active,
        "pending": state is not None and not state.active,
        "recoveryCodesLeft": len(state.recovery_codes) if state is not None and state.active else 0,
    }


async def enroll(app: App, id_or_name: str, request: RequestInfo) -> dict[str, str]:
    record = _own_record(app, id_or_name, request, need_mfa=True)
    state = await totp_store.get(app, record)
    if state is not None and state.active:
        raise BadRequestError(ALREADY_ENABLED)
    secret = pyotp.random_base32()
    await totp_store.save_pending(app, record, secret)
    account = str(record.get("email") or record.get("username") or record.id)
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_S).provisioning_uri(
        name=account, issuer_name=app.settings.current["meta"]["appName"]
    )
    return {"secret": secret, "uri": uri, "qrCode": _qr_svg(uri)}


async def verify(
    app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo, now: float | None = None
) -> dict[str, list[str]]:
    record = _own_record(app, id_or_name, request, need_mfa=True)
    code = _code(body)
    state = await totp_store.get(app, record)
    if state is None:
        raise BadRequestError(NOT_PENDING)
    if state.active:
        raise BadRequestError(ALREADY_ENABLED)
    if state.secret_error:
        raise _unusable(state, PENDING_UNUSABLE)
    attempt = await app.auth.guard.begin(record.collection_id, f"totp:{record.id}", request.ip)
    step = matching_step(state.secret, code, time.time() if now is None else now)
    if step is None:
        await attempt.failed()
        raise ValidationError(form_input.INVALID, {"code": CODE_ERROR})
    codes = new_recovery_codes()
    if not await totp_store.activate(app, state, step, [recovery_digest(c) for c in codes]):
        raise BadRequestError(ALREADY_ENABLED)  # a concurrent verify got there first
    await attempt.succeeded()
    return {"recoveryCodes": codes}


async def regenerate_recovery_codes(
    app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo, now: float | None = None
) -> dict[str, list[str]]:
    """Ten fresh codes for ten old ones; needs a current authenticator code (not a recovery code)."""
    record = _own_record(app, id_or_name, request, need_mfa=False)
    code = _code(body)
    state = await totp_store.get(app, record)
    if state is None or not state.active:
        raise BadRequestError(NOT_ENABLED)
    attempt = await app.auth.guard.begin(record.collection_id, f"totp:{record.id}", request.ip)
    if not await _spend(app, state, code, time.time() if now is None else now, recovery=False):
        await attempt.failed()
        raise ValidationError(form_input.INVALID, {"code": CODE_ERROR})
    await attempt.succeeded()
    codes = new_recovery_codes()
    digests = [recovery_digest(c) for c in codes]
    if not await totp_store.replace_recovery_codes(app, state, state.recovery_codes, digests):
        raise BadRequestError(NOT_ENABLED)  # disabled or regenerated concurrently
    return {"recoveryCodes": codes}


async def disable(
    app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo, now: float | None = None
) -> None:
    record = _own_record(app, id_or_name, request, need_mfa=False)
    code, password = form_input.strings(body, "code", "password")
    if not code and not password:
        raise ValidationError(form_input.INVALID, {"code": required(), "password": required()})
    errors: ErrorTree = {}
    if len(code) > MAX_CODE:
        errors["code"] = form_input.length_error(1, MAX_CODE)
    if len(password) > MAX_PASSWORD:
        errors["password"] = form_input.length_error(1, MAX_PASSWORD)
    form_input.raise_errors(errors)
    state = await totp_store.get(app, record)
    if state is None:
        raise BadRequestError(NOT_ENABLED)
    attempt = await app.auth.guard.begin(record.collection_id, f"totp:{record.id}", request.ip)
    if password:
        stored = await storage.fetch_by_id(app.db.executor(), record.collection, record.id)
        proved = stored is not None and verify_password(str(stored.get("password", "")), password)
        failure: ErrorTree = {"password": PASSWORD_ERROR}
    else:
        proved = await _spend(app, state, code, time.time() if now is None else now)
        failure = {"code": CODE_ERROR}
    if not proved:
        await attempt.failed()
        raise ValidationError(form_input.INVALID, failure)
    await attempt.succeeded()
    await totp_store.delete(app, record)


async def auth_with_totp(
    app: App,
    id_or_name: str,
    body: dict[str, Any],
    request: RequestInfo,
    expand: str = "",
    now: float | None = None,
) -> dict[str, Any]:
    """The second factor: `mfaId` from the first sign-in plus a current or recovery code."""
    collection = _mfa_collection(app, id_or_name)
    mfa_id = mfa.requested_id(request)
    (code,) = form_input.strings(body, "code")
    errors: ErrorTree = {}
    form_input.check_length(errors, "mfaId", mfa_id, 255)
    form_input.check_length(errors, "code", code, MAX_CODE)
    form_input.raise_errors(errors)
    session = await mfa.session(app, mfa_id, collection)
    record = None
    if session.get("collectionRef") == collection.id:
        record = await storage.fetch_by_id(app.db.executor(), collection, str(session.get("recordRef", "")))
    if record is None:
        raise BadRequestError(mfa.INVALID_SESSION)
    attempt = await app.auth.guard.begin(collection.id, f"totp:{record.id}", request.ip)
    state = await totp_store.get(app, record)
    if state is None or not state.active or not await _spend(app, state, code, time.time() if now is None else now):
        await attempt.failed()
        raise BadRequestError(INVALID_CODE)
    await attempt.succeeded()
    request = replace(request, context=mfa.CONTEXT_TOTP)
    await auth_rule.require(app, record, request)
    return await app.auth.respond(record, request, mfa.METHOD_TOTP, expand=expand)


def _mfa_collection(app: App, id_or_name: str) -> Collection:
    collection = auth_collection(app, id_or_name)
    if not mfa.enabled(collection):
        raise ForbiddenError(MFA_DISABLED)
    return collection


def register(app: App) -> None:
    """An authenticator app goes with its record and its collection; a backup is checked for
    secrets the keys do not open (`App.sealed_columns`)."""
    if totp_store.SECRET not in app.sealed_columns:
        app.sealed_columns.append(totp_store.SECRET)

    async def on_delete(e: RecordEvent) -> None:
        await e.next()
        if e.record.collection.is_auth:
            await totp_store.delete(app, e.record, app.db.writer())

    async def on_collection_delete(e: CollectionEvent) -> None:
        await e.next()
        if e.collection.is_auth:
            await totp_store.delete_of_collection(app, e.collection.id)

    app.hooks.on_record_delete.bind(on_delete, id="satchel:totps")
    app.hooks.on_collection_delete.bind(on_collection_delete, id="satchel:totps")
