"""`auth-with-oauth2`: exchange the code, find or create the record, link it, answer with a token.

PocketBase's order and answers: the form is checked (a bad form is a 400 "loading" error with
field errors), the code is exchanged and the user fetched (each failure its own 400, never a
500: a provider that is down is the client's problem to retry), then the record is found by
its `_externalAuths` link, else it is the signed-in caller (linking a provider to an account),
else the record with the provider's *verified* email, else a new one from `createData` plus the
collection's `mappedFields` through the records service (createRule, validation, hooks); an
avatar mapped to a file field is downloaded into it first (`avatar`, best effort).

An existing record that was not verified gets a random password before it is linked (someone
may have registered the address before its owner: PocketBase's guard) and becomes verified when
its email is the provider's. The record's changes and the new link are one transaction; when a
new record cannot be linked it is deleted again, so a failed sign-in leaves nothing behind.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from satchel.core.auth import auth_rule, form_input, mfa, refs
from satchel.core.auth.email_flows import auth_collection, find_by_email, rotate_token_key
from satchel.core.auth.oauth2 import avatar, config, redirect_urls, registry
from satchel.core.auth.oauth2.http import ProviderError, ProviderHTTP
from satchel.core.auth.oauth2.provider import AuthUser
from satchel.core.collections.model import Collection
from satchel.core.errors import (
    BadRequestError,
    ErrorTree,
    FieldError,
    ForbiddenError,
    SatchelError,
    ValidationError,
    required,
)
from satchel.core.fields.file import FileField
from satchel.core.hooks import RecordAuthWithOAuth2Event
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.records.upsert import PasswordInput, validate_fields
from satchel.core.rules.request_info import CONTEXT_OAUTH2, RequestInfo
from satchel.ports.database import DatabaseError, Executor
from satchel.tools.ids import random_id, random_string
from satchel.tools.passwords import hash_password
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.auth.oauth2")

DISABLED = "The collection is not configured to allow OAuth2 authentication."
TOKEN_FAILED = "Failed to fetch OAuth2 token."  # noqa: S105 - a message
USER_FAILED = "Failed to fetch OAuth2 user."
FAILED = "Failed to authenticate."
RANDOM_PASSWORD_LENGTH = 30


def _form(collection: Collection, body: dict[str, Any]) -> tuple[str, str, str, str, dict[str, Any]]:
    name, code, verifier, redirect_url, legacy_url = form_input.strings(
        body, "provider", "code", "codeVerifier", "redirectURL", "redirectUrl"
    )
    create_data = body.get("createData")
    if create_data is not None and not isinstance(create_data, dict):
        raise BadRequestError(form_input.LOAD_ERROR)
    errors: ErrorTree = {}
    if not name:
        errors["provider"] = required()
    elif config.find(collection, name) is None or name not in registry.KNOWN:
        errors["provider"] = FieldError(
            "validation_invalid_provider", f"Provider with name {name} is missing or is not enabled.", {"name": name}
        )
    if not code:
        errors["code"] = required()
    if errors:
        raise ValidationError(form_input.LOAD_ERROR, errors)
    return name, code, verifier, redirect_url or legacy_url, dict(create_data or {})


async def auth_with_oauth2(
    app: App, http: ProviderHTTP, id_or_name: str, body: dict[str, Any], request: RequestInfo, expand: str = ""
) -> dict[str, Any]:
    collection = auth_collection(app, id_or_name)
    if not config.enabled(collection):
        raise ForbiddenError(DISABLED)
    name, code, verifier, redirect_url, create_data = _form(collection, body)
    provider_config = config.find(collection, name)
    provider = registry.build(provider_config, http) if provider_config is not None else None
    if provider_config is None or provider is None:
        raise BadRequestError(FAILED)
    app_url = str(app.settings.current["meta"]["appURL"])
    if redirect_url and not redirect_urls.allowed(redirect_url, provider_config, app_url, request):
        raise ValidationError(
            form_input.LOAD_ERROR,
            {"redirectURL": FieldError("validation_invalid_redirect_url", "The redirect URL is not allowed.")},
        )
    request = replace(request, context=CONTEXT_OAUTH2)
    try:
        await provider.prepare()
        token = await provider.exchange(code, redirect_url, verifier)
    except ProviderError as exc:
        log.info("OAuth2 %s token exchange for %s failed: %s", name, collection.name, exc)
        raise BadRequestError(TOKEN_FAILED) from exc
    try:
        user = await provider.fetch_user(token)
    except ProviderError as exc:
        log.info("OAuth2 %s user fetch for %s failed: %s", name, collection.name, exc)
        raise BadRequestError(USER_FAILED) from exc

    link = await find_link(app, collection, name, user.id)
    found = await _existing_record(app, collection, link, user, request)
    event = RecordAuthWithOAuth2Event(
        collection=collection,
        request=request,
        record=found,
        provider_name=name,
        oauth2_user=user,
        create_data=create_data,
        is_new_record=found is None,
    )
    result: dict[str, Any] = {}

    async def final(e: RecordAuthWithOAuth2Event) -> None:
        auth_user: AuthUser = e.oauth2_user
        record = e.record
        if record is None:
            record = await _create(app, http, collection, auth_user, e.create_data, request)
            await _link_new(app, record, name, auth_user, request)
        else:
            await _update_and_link(app, record, None if link is not None else name, auth_user, request)
        await auth_rule.require(app, record, request)
        meta = auth_user.meta(e.record is None)
        result.update(await app.auth.respond(record, request, mfa.METHOD_OAUTH2, meta=meta, expand=expand))

    await app.hooks.on_record_auth_with_oauth2_request.trigger(event, final)
    return result


# ------------------------------------------------------------------------------------ finding
async def find_link(app: App, collection: Collection, provider: str, provider_id: str) -> Record | None:
    table = refs.EXTERNAL_AUTHS
    links = refs.system_collection(app, table)
    cond = ir.Binary(
        "AND",
        ir.eq(ir.col(table, "collectionRef"), ir.Param(collection.id)),
        ir.Binary(
            "AND",
            ir.eq(ir.col(table, "provider"), ir.Param(provider)),
            ir.eq(ir.col(table, "providerId"), ir.Param(provider_id)),
        ),
    )
    row = await app.db.executor().fetch_one(ir.Select((ir.Star(table),), ir.Table(table), where=cond, limit=1))
    return storage.record_from_row(links, row) if row is not None else None


async def _existing_record(
    app: App, collection: Collection, link: Record | None, user: AuthUser, request: RequestInfo
) -> Record | None:
    if link is not None:
        record = await storage.fetch_by_id(app.db.executor(), collection, str(link.get("recordRef", "")))
        if record is None:  # a link outliving its record: refs deletes them together, so only by hand
            raise BadRequestError(FAILED)
        return record
    if request.auth is not None and request.auth.collection_id == collection.id:
        return request.auth
    if user.email:
        return await find_by_email(app, collection, user.email)
    return None


# ----------------------------------------------------------------------------------- creating
async def _create(
    app: App,
    http: ProviderHTTP,
    collection: Collection,
    user: AuthUser,
    create_data: dict[str, Any],
    request: RequestInfo,
) -> Record:
    if collection.is_superusers:
        raise BadRequestError(FAILED)  # superusers never sign up through a provider
    payload = dict(create_data)
    payload["email"] = user.email
    if not isinstance(payload.get("password"), str) or not payload.get("password"):
        payload["password"] = payload["passwordConfirm"] = random_string(RANDOM_PASSWORD_LENGTH)
    mapped = collection.auth.get("oauth2", {}).get("mappedFields") or {}
    for key, value in (("id", user.id), ("name", user.name)):
        target = mapped.get(key) or ""
        if target and target not in payload:
            payload[target] = value
    username_field = mapped.get("username") or ""
    if username_field and username_field not in payload and await _username_free(app, collection, username_field, user):
        payload[username_field] = user.username
    await _map_avatar(http, collection, mapped.get("avatarURL") or "", user, payload)
    created = await app.records.create(collection.name, payload, request)
    record = await storage.fetch_by_id(app.db.executor(), collection, str(created.get("id", "")))
    if record is None:  # a create hook removed it again
        raise BadRequestError(FAILED)
    return record


async def _map_avatar(
    http: ProviderHTTP, collection: Collection, field_name: str, user: AuthUser, payload: dict[str, Any]
) -> None:
    """PocketBase's avatar mapping: a file field gets the downloaded image (or stays empty when the
    download fails), any other field the URL itself; a value from `createData` wins."""
    field = collection.field(field_name) if field_name else None
    if field is None or field_name in payload or not user.avatar_url:
        return
    if not isinstance(field, FileField):
        payload[field_name] = user.avatar_url
        return
    upload = await avatar.avatar_upload(http, user.avatar_url, field, collection.name)
    if upload is not None:
        payload[field_name] = upload


async def _username_free(app: App, collection: Collection, field_name: str, user: AuthUser) -> bool:
    """PocketBase maps the provider's username only when it is not taken and is a text field."""
    field = collection.field(field_name)
    if field is None or field.type != "text" or not user.username:
        return False
    row = await app.db.executor().fetch_one(
        ir.Select(
            (ir.col(collection.name, "id"),),
            ir.Table(collection.name),
            where=ir.eq(ir.col(collection.name, field_name), ir.Param(user.username)),
            limit=1,
        )
    )
    return row is None


async def _link_new(app: App, record: Record, provider: str, user: AuthUser, request: RequestInfo) -> None:
    try:
        await _update_and_link(app, record, provider, user, request, created=True)
    except (SatchelError, DatabaseError):
        async with app.db.transaction() as tx:
            await app.records.delete_record(record, tx)
        raise


# ------------------------------------------------------------------------------------ linking
async def _update_and_link(
    app: App, record: Record, provider: str | None, user: AuthUser, request: RequestInfo, *, created: bool = False
) -> None:
    """Apply PocketBase's account fixes and save the new link (when `provider`), in one transaction."""
    changed = _verify(record, user, request) if not created else _verify_new(record, user)
    if not changed and provider is None:
        return
    try:
        async with app.db.transaction() as tx:
            if changed:
                await validate_fields(record, app.records.value_context(record, tx), PasswordInput())
                await app.records.save_record(record, tx, request)
            if provider is not None:
                await _save_link(app, record, provider, user.id, tx)
    except DatabaseError as exc:
        log.warning("OAuth2 link of %s %s failed: %s", record.collection_name, record.id, exc)
        raise BadRequestError(FAILED) from exc


def _verify_new(record: Record, user: AuthUser) -> bool:
    if record.get("email") == user.email and not record.get("verified"):
        record.set("verified", True)
        return True
    return False


def _verify(record: Record, user: AuthUser, request: RequestInfo) -> bool:
    changed = False
    signed_in = request.auth is not None and request.auth.id == record.id
    signed_in = signed_in and request.auth is not None and request.auth.collection_id == record.collection_id
    email = str(record.get("email") or "")
    if not signed_in and email and not record.get("verified"):
        # someone may have registered this address before its owner: their password must not survive
        record.set("password", hash_password(random_string(RANDOM_PASSWORD_LENGTH)))
        rotate_token_key(record)
        changed = True
    if not email and user.email:
        record.set("email", user.email)
        email, changed = user.email, True
    if not record.get("verified") and (not email or email == user.email):
        record.set("verified", True)
        changed = True
    return changed


async def _save_link(app: App, record: Record, provider: str, provider_id: str, tx: Executor) -> None:
    links = refs.system_collection(app, refs.EXTERNAL_AUTHS)
    row = Record(links, {f.name: f.zero() for f in links.fields})
    row.data.update(
        id=random_id(),
        collectionRef=record.collection_id,
        recordRef=record.id,
        provider=provider,
        providerId=provider_id,
    )
    await validate_fields(row, app.records.value_context(row, tx), PasswordInput())
    await app.records.save_record(row, tx)
