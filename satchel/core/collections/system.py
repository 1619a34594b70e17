"""Definitions of the collections every instance starts with, as PocketBase creates them.

Ids, field ids, rules and indexes match PocketBase so that data, tokens and SDK code move
between the two unchanged.
"""

from __future__ import annotations

from typing import Any

from satchel.core.collections.model import SUPERUSERS, SUPERUSERS_ID, USERS_ID, Collection, default_auth_options
from satchel.core.fields.base import Field
from satchel.core.fields.registry import field_from_json
from satchel.tools.ids import collection_id, field_id

OWNER_RULE = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId"


def _f(type_: str, name: str, **options: Any) -> Field:
    return field_from_json({"type": type_, "name": name, "id": field_id(type_, name), **options})


def id_field() -> Field:
    return _f(
        "text",
        "id",
        system=True,
        required=True,
        primaryKey=True,
        min=15,
        max=15,
        pattern="^[a-z0-9]+$",
        autogeneratePattern="[a-z0-9]{15}",
    )


def timestamps(*, system: bool = False) -> list[Field]:
    return [
        _f("autodate", "created", onCreate=True, onUpdate=False, system=system),
        _f("autodate", "updated", onCreate=True, onUpdate=True, system=system),
    ]


def auth_system_fields() -> list[Field]:
    return [
        _f("password", "password", system=True, hidden=True, required=True, min=8),
        _f(
            "text",
            "tokenKey",
            system=True,
            hidden=True,
            required=True,
            min=30,
            max=60,
            autogeneratePattern="[a-zA-Z0-9]{50}",
        ),
        _f("email", "email", system=True, required=True),
        _f("bool", "emailVisibility", system=True),
        _f("bool", "verified", system=True),
    ]


def auth_indexes(cid: str, name: str) -> list[str]:
    return [
        f"CREATE UNIQUE INDEX `idx_tokenKey_{cid}` ON `{name}` (`tokenKey`)",
        f"CREATE UNIQUE INDEX `idx_email_{cid}` ON `{name}` (`email`) WHERE `email` != ''",
    ]


def _ref_collection(name: str, extra: list[Field], indexes: list[str]) -> Collection:
    cid = collection_id("base", name)
    return Collection(
        id=cid,
        name=name,
        type="base",
        system=True,
        fields=[
            id_field(),
            _f("text", "collectionRef", system=True, required=True),
            _f("text", "recordRef", system=True, required=True),
            *extra,
            *timestamps(system=True),
        ],
        indexes=indexes,
        listRule=OWNER_RULE,
        viewRule=OWNER_RULE,
        deleteRule=OWNER_RULE if name in ("_externalAuths", "_authOrigins") else None,
    )


def system_collections() -> list[Collection]:
    mfas = _ref_collection(
        "_mfas",
        [_f("text", "method", system=True, required=True)],
        ["CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (collectionRef,recordRef)"],
    )
    otps = _ref_collection(
        "_otps",
        [
            _f("password", "password", system=True, hidden=True, required=True, cost=8),
            _f("text", "sentTo", system=True, hidden=True),
        ],
        ["CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (collectionRef, recordRef)"],
    )
    external = _ref_collection(
        "_externalAuths",
        [_f("text", "provider", system=True, required=True), _f("text", "providerId", system=True, required=True)],
        [
            "CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` "
            "(collectionRef, recordRef, provider)",
            "CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` "
            "(collectionRef, provider, providerId)",
        ],
    )
    origins = _ref_collection(
        "_authOrigins",
        [_f("text", "fingerprint", system=True, required=True)],
        [
            "CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` "
            "(collectionRef, recordRef, fingerprint)"
        ],
    )
    superusers = Collection(
        id=SUPERUSERS_ID,
        name=SUPERUSERS,
        type="auth",
        system=True,
        fields=[id_field(), *auth_system_fields(), *timestamps(system=True)],
        indexes=auth_indexes(SUPERUSERS_ID, SUPERUSERS),
        auth=default_auth_options(SUPERUSERS),
    )
    users_auth = default_auth_options("users")
    users_auth["oauth2"]["mappedFields"].update({"name": "name", "avatarURL": "avatar"})
    users = Collection(
        id=USERS_ID,
        name="users",
        type="auth",
        fields=[
            id_field(),
            *auth_system_fields(),
            _f("text", "name", max=255),
            _f(
                "file",
                "avatar",
                maxSelect=1,
                mimeTypes=["image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"],
            ),
            *timestamps(),
        ],
        indexes=auth_indexes(USERS_ID, "users"),
        listRule="id = @request.auth.id",
        viewRule="id = @request.auth.id",
        createRule="",
        updateRule="id = @request.auth.id",
        deleteRule="id = @request.auth.id",
        auth=users_auth,
    )
    return [mfas, otps, external, origins, superusers, users]
