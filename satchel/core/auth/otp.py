"""One-time passwords by email, as PocketBase: `request-otp` mails a code, `auth-with-otp` spends it.

The request answers `{"otpId": ...}` whether or not an account has the address (a well-formed but
unused id otherwise) after the same amount of work (one password hash), and mails in the
background, so neither the answer nor its timing tells an account exists. The code is stored
hashed in `_otps` with `sentTo`, the address it is mailed to; if the mail fails the OTP is
deleted. More than nine unexpired OTPs for one record and the last one is handed out again
without a mail (PocketBase's flood guard; off in dev mode).

Spending checks, in PocketBase's order: the OTP exists, belongs to the collection and has not
expired; the record exists; five attempts per record and client in three minutes; the code. Each
failure is the same 400, and an unknown id costs the same hash check as a wrong code. A spent OTP
is deleted before the auth answer (so it is single-use even when MFA then asks for more), and
when it went to the record's own email the record becomes verified; without MFA its password is
then replaced by a random one, PocketBase's guard against accounts pre-registered by an attacker.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from satchel.core import mails
from satchel.core.auth import auth_rule, form_input, mfa, refs
from satchel.core.auth.email_flows import auth_collection, find_by_email, rotate_token_key
from satchel.core.collections.model import Collection
from satchel.core.errors import (
    BadRequestError,
    ErrorTree,
    FieldError,
    ForbiddenError,
    SatchelError,
    TooManyRequestsError,
)
from satchel.core.fields.email import is_email
from satchel.core.hooks import RecordAuthWithOTPEvent, RecordOTPRequestEvent
from satchel.core.ratelimit.limiter import cache_unavailable
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.records.upsert import PasswordInput, validate_fields
from satchel.core.rules.request_info import CONTEXT_OTP, RequestInfo
from satchel.ports.cache import CacheError
from satchel.ports.database import DatabaseError
from satchel.ports.mailer import MailError
from satchel.tools.ids import random_id, random_string
from satchel.tools.passwords import dummy_hash, hash_password, verify_password

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.auth.otp")

DISABLED = "The collection is not configured to allow OTP authentication."
INVALID_OTP = "Invalid or expired OTP."
TOO_MANY_ATTEMPTS = "Too many attempts, please try again later with a new OTP."
TEMPLATE = ("otp", "emailTemplate")
DIGITS = "1234567890"
MAX_RECENT = 9
"""More unexpired OTPs than this for one record and the newest is reused, unmailed."""
ATTEMPTS, ATTEMPTS_WINDOW_S = 5, 180.0
"""PocketBase's fixed limit on codes tried per record and client: digits are easy to guess."""
MAX_EMAIL, MAX_ID, MAX_PASSWORD = 255, 255, 71
_sending: set[asyncio.Task[None]] = set()


def _otp_collection(app: App, id_or_name: str) -> Collection:
    collection = auth_collection(app, id_or_name)
    if not collection.auth.get("otp", {}).get("enabled", False):
        raise ForbiddenError(DISABLED)
    return collection


def otp_duration(collection: Collection) -> int:
    """How long an OTP of `collection` is valid, in seconds."""
    return _options(collection)[1]


def _options(collection: Collection) -> tuple[int, int]:
    """(code length, lifetime in seconds) from the collection's `otp` options."""
    otp = collection.auth.get("otp", {})
    return int(otp.get("length") or 8), int(otp.get("duration") or 180)


# ------------------------------------------------------------------------------------ request
async def request_otp(app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo) -> dict[str, str]:
    collection = _otp_collection(app, id_or_name)
    (email,) = form_input.strings(body, "email")
    errors: ErrorTree = {}
    form_input.check_length(errors, "email", email, MAX_EMAIL)
    if not errors and not is_email(email):
        errors["email"] = FieldError("validation_is_email", "Must be a valid email address.")
    form_input.raise_errors(errors)
    record = await find_by_email(app, collection, email)
    length, _ = _options(collection)
    event = RecordOTPRequestEvent(
        collection=collection, request=request, record=record, password=random_string(length, DIGITS)
    )
    result: dict[str, str] = {}

    async def final(e: RecordOTPRequestEvent) -> None:
        if e.record is None:
            hash_password(e.password)  # what a real request costs, so the timing tells nothing
            result["otpId"] = random_id()
            return
        result["otpId"] = await _issue(app, e.record, e.password)

    await app.hooks.on_record_request_otp_request.trigger(event, final)
    # a handler that stopped the chain issued nothing: answer as for an unknown address
    return result or {"otpId": random_id()}


async def _issue(app: App, record: Record, password: str) -> str:
    """A new OTP for `record`, mailed in the background (or the newest one again, under a flood)."""
    _, duration = _options(record.collection)
    if not app.config.dev:
        existing = await refs.find_all(app, refs.OTPS, record)
        if sum(1 for o in existing if not refs.has_expired(o, duration)) > MAX_RECENT:
            log.warning("too many OTP requests for %s %s: reusing the last issued", record.collection_name, record.id)
            return existing[0].id
    # sentTo is set now rather than after delivery (PocketBase): the same end state, since a failed
    # mail deletes the OTP, without a window where a fast client spends it before sentTo lands
    sent_to = str(record.get("email", ""))
    otp = await refs.create(app, refs.OTPS, record, password=password, sentTo=sent_to)  # hashed by the field
    task = asyncio.ensure_future(_mail(app, record, otp, password))
    _sending.add(task)
    task.add_done_callback(_sending.discard)
    return otp.id


async def _mail(app: App, record: Record, otp: Record, password: str) -> None:
    try:
        await mails.send_record_mail(app, record, TEMPLATE, OTP=password, OTP_ID=otp.id)
    except MailError as exc:
        log.error("OTP mail to %s %s failed: %s", record.collection_name, record.id, exc)
        try:
            await refs.delete(app, [otp])
        except DatabaseError as db_exc:
            log.error("failed to delete the undelivered OTP %s: %s", otp.id, db_exc)


async def settle() -> None:
    """Wait for the OTP mails still being sent (tests, and a clean shutdown)."""
    if _sending:
        await asyncio.gather(*_sending, return_exceptions=True)


# ---------------------------------------------------------------------------------------- auth
async def auth_with_otp(
    app: App, id_or_name: str, body: dict[str, Any], request: RequestInfo, expand: str = ""
) -> dict[str, Any]:
    collection = _otp_collection(app, id_or_name)
    otp_id, password = form_input.strings(body, "otpId", "password")
    errors: ErrorTree = {}
    form_input.check_length(errors, "otpId", otp_id, MAX_ID)
    form_input.check_length(errors, "password", password, MAX_PASSWORD)
    form_input.raise_errors(errors)
    request = replace(request, context=CONTEXT_OTP)
    otp, record = await _find_unexpired(app, collection, otp_id)
    if otp is None or record is None:
        verify_password(dummy_hash(), password)  # an unknown id costs what a wrong code does
        raise BadRequestError(INVALID_OTP)
    await _count_attempt(app, record, request.ip)
    await _count_guess(app, otp, _options(collection)[1])
    if not verify_password(str(otp.get("password", "")), password):
        raise BadRequestError(INVALID_OTP)
    event = RecordAuthWithOTPEvent(collection=collection, request=request, record=record, otp=otp)
    result: dict[str, Any] = {}

    async def final(e: RecordAuthWithOTPEvent) -> None:
        target = e.record or record
        await _spend(app, e.otp or otp, target, request)
        await auth_rule.require(app, target, request)
        result.update(await app.auth.respond(target, request, mfa.METHOD_OTP, expand=expand))

    await app.hooks.on_record_auth_with_otp_request.trigger(event, final)
    return result


async def _find_unexpired(app: App, collection: Collection, otp_id: str) -> tuple[Record | None, Record | None]:
    otp = await refs.find(app, refs.OTPS, otp_id)
    if otp is None or otp.get("collectionRef") != collection.id or refs.has_expired(otp, _options(collection)[1]):
        return None, None
    record = await storage.fetch_by_id(app.db.executor(), collection, str(otp.get("recordRef", "")))
    return otp, record


async def _count_attempt(app: App, record: Record, ip: str) -> None:
    try:
        window = await app.cache.hit(f"otp:attempts:{record.collection_id}:{record.id}|{ip}", ATTEMPTS_WINDOW_S)
    except CacheError as exc:
        cache_unavailable(exc)
        return
    if window.count > ATTEMPTS:
        raise TooManyRequestsError(TOO_MANY_ATTEMPTS)


async def _count_guess(app: App, otp: Record, lifetime: int) -> None:
    """Cap the attempts on one OTP from every address together (beyond PocketBase).

    The per-record count is per client address: an attacker spreading guesses over many addresses
    would get `ATTEMPTS` guesses from each. Past `ATTEMPTS` on this otpId, whoever makes them, the
    OTP is burned (deleted): the user asks for a new one.
    """
    try:
        window = await app.cache.hit(f"otp:guesses:{otp.id}", float(lifetime))
    except CacheError as exc:
        cache_unavailable(exc)
        return
    if window.count > ATTEMPTS:
        try:
            await refs.delete(app, [otp])
        except DatabaseError as exc:
            log.error("failed to delete the OTP %s after too many attempts: %s", otp.id, exc)
        raise TooManyRequestsError(TOO_MANY_ATTEMPTS)


async def _spend(app: App, otp: Record, record: Record, request: RequestInfo) -> None:
    """Delete the OTP, and mark the record verified when the code went to its own address."""
    try:
        await refs.delete(app, [otp])
    except DatabaseError as exc:  # as PocketBase: logged, the sign-in goes on
        log.error("failed to delete the used OTP %s: %s", otp.id, exc)
    sent_to = str(otp.get("sentTo", ""))
    if record.get("verified") or not sent_to or record.get("email") != sent_to:
        return
    record.set("verified", True)
    if not mfa.enabled(record.collection):
        record.set("password", hash_password(random_string(30)))
        rotate_token_key(record)
    try:
        async with app.db.transaction() as tx:
            await validate_fields(record, app.records.value_context(record, tx), PasswordInput())
            await app.records.save_record(record, tx, request)
    except (SatchelError, DatabaseError) as exc:
        log.error("failed to save the verified state of %s %s: %s", record.collection_name, record.id, exc)
