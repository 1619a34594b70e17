"""API keys for server-to-server use (beyond PocketBase).

A key belongs to one auth record and acts as that record (`@request.auth.*` in rules), narrowed to
its scopes: record actions per collection. Keys are created by a superuser (for any auth record)
or by a record for itself; the full key (`sk_<prefix>_<secret>`) is answered once and only its
keyed hash is stored.

Why HMAC-SHA256 with a key derived from the app secret and not argon2: the secret part is 43
random alphanumerics (256 bits), so there is nothing to brute-force and a slow hash would only
slow every key-authenticated request; the HMAC key means a leaked table alone cannot even confirm
a guessed key. Rotating the app secret therefore voids every key, as it voids every token.

Keys are independent of the owner's password and tokenKey: a password change does not revoke
them (revoking is one DELETE); deleting the owner, or its collection, deletes its keys.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from satchel.core.auth import api_key_store as store
from satchel.core.auth.api_key_input import parse_key_input
from satchel.core.errors import BadRequestError, ErrorTree, FieldError, ForbiddenError, NotFoundError, ValidationError
from satchel.core.hooks import CollectionEvent, RecordEvent
from satchel.core.records import storage
from satchel.core.records.fields_param import parse_fields, select_list_fields
from satchel.core.records.model import Record
from satchel.core.records.service import ListParams
from satchel.core.rules.request_info import RequestInfo
from satchel.core.rules.resolver import FilterError, Resolver
from satchel.core.rules.scopes import ACTIONS, ANY, Scopes
from satchel.ports.database import DatabaseError, IntegrityError
from satchel.tools.datetime import now_str
from satchel.tools.filter.errors import FilterSyntaxError
from satchel.tools.filter.parser import parse
from satchel.tools.ids import DEFAULT_ALPHABET, ID_ALPHABET, random_id, random_string
from satchel.tools.sql import ir

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.auth.api_keys")

KEY_PREFIX = "sk_"
PREFIX_CHARS = 12
"""Random characters of the public prefix (62 bits: unique in practice, and checked by an index)."""
SECRET_CHARS = 43
"""Alphanumeric characters of the secret: 43 * log2(62) > 256 bits."""
KEY_LENGTH = len(KEY_PREFIX) + PREFIX_CHARS + 1 + SECRET_CHARS
TOUCH_INTERVAL = 60.0
"""Seconds between two `lastUsed` writes for one key in one process."""
MAX_KEYS_PER_OWNER = 100
INVALID_DATA = "An error occurred while validating the submitted data."
NOT_YOURS = "Only superusers can manage API keys of other records."
_PREFIX_ALPHABET = frozenset(ID_ALPHABET)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What authenticating with a key yields besides its owner: its id and compiled scopes."""

    id: str
    scopes: Scopes


@functools.lru_cache(maxsize=4)
def _hash_key(app_secret: str) -> bytes:
    return hmac.new(app_secret.encode(), b"apiKey", hashlib.sha256).digest()


def hash_key(app_secret: str, key: str) -> str:
    """The stored form of a full key (prefix included, so neither half is reusable alone)."""
    return hmac.new(_hash_key(app_secret), key.encode(), hashlib.sha256).hexdigest()


def key_prefix(key: str) -> str | None:
    """The lookup prefix (`sk_` + 12 characters) of a well-formed key, else None."""
    if len(key) != KEY_LENGTH or not key.startswith(KEY_PREFIX) or key[-SECRET_CHARS - 1] != "_":
        return None
    prefix = key[: len(KEY_PREFIX) + PREFIX_CHARS]
    if not _PREFIX_ALPHABET.issuperset(prefix[len(KEY_PREFIX) :]):
        return None
    return prefix


def new_key() -> tuple[str, str]:
    """(prefix, full key)."""
    prefix = KEY_PREFIX + random_id(PREFIX_CHARS)
    return prefix, f"{prefix}_{random_string(SECRET_CHARS, DEFAULT_ALPHABET)}"


def compile_scopes(scopes: tuple[store.StoredScope, ...]) -> Scopes:
    every = frozenset(ACTIONS)
    out: dict[str, frozenset[str]] = {}
    for s in scopes:
        out[s.collection] = every if ANY in s.actions else out.get(s.collection, frozenset()) | set(s.actions)
    return out


class ApiKeysService:
    """Managing keys (for the REST endpoints) and resolving them (for the auth middleware).

    Also keeps keys in step with their owners through the model hooks bound here.
    """

    def __init__(self, app: App, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.clock = clock
        """Monotonic seconds; tests replace it to step past the `lastUsed` throttle."""
        self._touched: dict[str, float] = {}
        app.hooks.on_record_delete.bind(self._on_record_delete, id="satchel:api-keys")
        app.hooks.on_collection_delete.bind(self._on_collection_delete, id="satchel:api-keys")

    # ------------------------------------------------------------ authenticate
    async def authenticate(self, key: str) -> tuple[ApiKey, Record] | None:
        """The key and its owner, or None for a malformed, unknown, tampered or expired key."""
        prefix = key_prefix(key)
        if prefix is None:
            return None
        digest = hash_key(self.app.secret, key)
        ex = self.app.db.executor()
        row = await store.by_prefix(ex, prefix)
        if row is None or not hmac.compare_digest(row.hash, digest):
            return None
        if row.expires and row.expires <= now_str():  # one wire format: text order is time order
            return None
        collection = self.app.collections.get(row.collection_ref)
        if collection is None or not collection.is_auth:
            return None
        owner = await storage.fetch_by_id(ex, collection, row.record_ref)
        if owner is None:
            return None
        return ApiKey(row.id, compile_scopes(row.scopes)), owner

    async def touch(self, key: ApiKey) -> None:
        """Record that `key` was used: at most one write per key per `TOUCH_INTERVAL` here."""
        now = self.clock()
        last = self._touched.get(key.id)
        if last is not None and now - last < TOUCH_INTERVAL:
            return
        self._touched[key.id] = now
        try:
            await store.set_last_used(self.app.db.writer(), key.id, now_str())
        except DatabaseError as exc:  # bookkeeping must never fail the request it follows
            log.warning("lastUsed of API key %s not recorded: %s", key.id, exc)

    # ------------------------------------------------------------------ manage
    async def create(self, caller: Record, body: dict[str, Any]) -> dict[str, Any]:
        """A new key; the answer carries the full key (`key`), which is never shown again."""
        values, errors = parse_key_input(body, self.app.collections.get, partial=False)
        owner = await self._owner(caller, body, errors)
        if errors or owner is None or values.name is None or values.scopes is None:
            raise ValidationError(INVALID_DATA, errors)
        prefix, key = new_key()
        now = now_str()
        row = store.KeyRow(
            id=random_id(),
            collection_ref=owner.collection_id,
            record_ref=owner.id,
            name=values.name,
            prefix=prefix,
            hash=hash_key(self.app.secret, key),
            scopes=values.scopes,
            expires=values.expires or "",
            last_used="",
            created=now,
            updated=now,
        )
        try:
            async with self.app.db.transaction() as tx:
                if await store.count(tx, store.owned_by(row.collection_ref, row.record_ref)) >= MAX_KEYS_PER_OWNER:
                    raise BadRequestError(f"A record can have at most {MAX_KEYS_PER_OWNER} API keys.")
                await store.insert(tx, row)
        except IntegrityError as exc:  # a prefix collision: 62 random bits make it a curiosity
            raise BadRequestError("Failed to create the API key, please try again.") from exc
        return {**row.to_json(), "key": key}

    async def _owner(self, caller: Record, body: dict[str, Any], errors: ErrorTree) -> Record | None:
        """The caller itself unless a superuser names another auth record (`collectionRef`, `recordRef`)."""
        collection_ref, record_ref = body.get("collectionRef"), body.get("recordRef")
        if not collection_ref and not record_ref:
            return caller
        collection = self.app.collections.get(collection_ref) if isinstance(collection_ref, str) else None
        if not caller.is_superuser:
            if collection is not None and collection.id == caller.collection_id and record_ref == caller.id:
                return caller
            raise ForbiddenError(NOT_YOURS)
        if collection is None or not collection.is_auth:
            errors["collectionRef"] = FieldError("validation_unknown_collection", "Missing or invalid auth collection.")
            return None
        owner = None
        if isinstance(record_ref, str) and record_ref:
            owner = await storage.fetch_by_id(self.app.db.executor(), collection, record_ref)
        if owner is None:
            errors["recordRef"] = FieldError("validation_missing_record", "Missing or invalid auth record.")
        return owner

    def _visible(self, caller: Record) -> ir.Expr | None:
        """Superusers see every key, anyone else only its own."""
        return None if caller.is_superuser else store.owned_by(caller.collection_id, caller.id)

    async def _get(self, caller: Record, key_id: str) -> store.KeyRow:
        row = await store.by_id(self.app.db.executor(), key_id, self._visible(caller)) if key_id else None
        if row is None:  # someone else's key is as unknown as a missing one
            raise NotFoundError()
        return row

    async def view(self, caller: Record, key_id: str) -> dict[str, Any]:
        return (await self._get(caller, key_id)).to_json()

    async def list(self, caller: Record, query: dict[str, str], request: RequestInfo) -> dict[str, Any]:
        """PocketBase's list shape, with `page`, `perPage`, `filter`, `sort`, `skipTotal` and `fields`."""
        params = ListParams.from_query(query)
        resolver = Resolver(store.META, lambda _: None, request, allow_hidden=True)
        try:
            where = resolver.where(parse(params.filter)) if params.filter.strip() else None
            order = resolver.order_by(params.sort) if params.sort.strip() else ()
        except (FilterSyntaxError, FilterError) as exc:
            raise BadRequestError("Invalid filter or sort.") from exc
        where = ir.and_all([c for c in (self._visible(caller), where) if c is not None])
        ex = self.app.db.executor()
        total = -1 if params.skip_total else await store.count(ex, where)
        rows = await store.page(ex, where, order, params.per_page, (params.page - 1) * params.per_page)
        result = {
            "items": [r.to_json() for r in rows],
            "page": params.page,
            "perPage": params.per_page,
            "totalItems": total,
            "totalPages": -1 if total < 0 else (total + params.per_page - 1) // params.per_page,
        }
        return select_list_fields(result, parse_fields(params.fields))

    async def update(self, caller: Record, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Rename, re-scope or change the expiry; the owner and the secret never change."""
        row = await self._get(caller, key_id)
        values, errors = parse_key_input(body, self.app.collections.get, partial=True)
        if errors:
            raise ValidationError(INVALID_DATA, errors)
        row = replace(
            row,
            name=row.name if values.name is None else values.name,
            scopes=row.scopes if values.scopes is None else values.scopes,
            expires=row.expires if values.expires is None else values.expires,
            updated=now_str(),
        )
        async with self.app.db.transaction() as tx:
            await store.update(tx, row)
        return row.to_json()

    async def revoke(self, caller: Record, key_id: str) -> None:
        row = await self._get(caller, key_id)
        async with self.app.db.transaction() as tx:
            await store.delete(tx, ir.eq(ir.col(store.TABLE, "id"), ir.Param(row.id)))
        self._touched.pop(row.id, None)

    # ------------------------------------------------------------------ hooks
    async def _on_record_delete(self, e: RecordEvent) -> None:
        await e.next()
        if e.record.collection.is_auth:  # inside the delete's transaction: gone together or not at all
            await store.delete(self.app.db.writer(), store.owned_by(e.record.collection_id, e.record.id))

    async def _on_collection_delete(self, e: CollectionEvent) -> None:
        await e.next()
        if e.collection.is_auth:
            await store.delete(self.app.db.writer(), store.owned_by(e.collection.id))
