"""Paths of one collection: record CRUD (read-only for views) and, for auth collections, every
auth flow PocketBase serves under `/api/collections/{name}/...`, with the collection's own record
shape in each answer (so a generated client gets typed records and a typed auth response).
"""

from __future__ import annotations

from satchel.apis.openapi import components as c
from satchel.apis.openapi.components import Operation, Paths, Schema
from satchel.apis.openapi.record_schemas import has_files, record_schema, write_body_schema
from satchel.core.collections.model import Collection

Schemas = dict[str, Schema]


def _rule_note(rule: str | None) -> str:
    if rule is None:
        return "Superusers only (the rule is locked)."
    if rule == "":
        return "Anyone (the rule is empty)."
    return f"Allowed when the rule matches: `{rule}`."


def _security(rule: str | None) -> list[dict[str, list[str]]]:
    return c.SECURED if rule is None else c.OPTIONAL_AUTH


def _params(names: tuple[str, ...]) -> list[Schema]:
    return [c.param_ref(n) for n in names]


def _write_body(collection: Collection, name: str) -> Schema:
    content: dict[str, Schema] = {c.JSON: {"schema": c.ref(name)}}
    if has_files(collection):
        content[c.MULTIPART] = {
            "schema": c.ref(name + "Multipart"),
            "encoding": {"@jsonPayload": {"contentType": c.JSON}},
        }
    return {"required": True, "content": content}


def record_components(collection: Collection, *, reveal_hidden: bool) -> Schemas:
    n = collection.name
    out: Schemas = {f"{n}Record": record_schema(collection, reveal_hidden=reveal_hidden)}
    if collection.is_view:
        return out
    for create, suffix in ((True, "Create"), (False, "Update")):
        out[f"{n}{suffix}"] = write_body_schema(collection, create=create, reveal_hidden=reveal_hidden)
        if has_files(collection):
            out[f"{n}{suffix}Multipart"] = write_body_schema(
                collection, create=create, multipart=True, reveal_hidden=reveal_hidden
            )
    if collection.is_auth:
        out[f"{n}AuthResponse"] = {
            "type": "object",
            "properties": {
                "token": {"type": "string"},
                "record": c.ref(f"{n}Record"),
                "meta": {"type": "object", "description": "OAuth2 only: the provider's user data."},
            },
            "additionalProperties": False,
        }
    return out


def record_paths(collection: Collection, *, superuser: bool) -> Paths:
    """CRUD operations; for a caller other than a superuser, only those whose rule is not locked."""
    n = collection.name
    tag = n
    record = c.ref(f"{n}Record")
    base = f"/api/collections/{n}/records"
    one = f"{base}/{{id}}"
    id_param = c.path_param("id", "The record id.")

    def allowed(rule: str | None) -> bool:
        return superuser or rule is not None

    listing: dict[str, Operation] = {}
    single: dict[str, Operation] = {}
    if allowed(collection.listRule):
        listing["get"] = c.operation(
            f"{n}.list",
            f"List {n} records",
            tag,
            ok=c.json_response(c.list_envelope(record)),
            parameters=_params(c.LIST_PARAMS),
            security=_security(collection.listRule),
            description=_rule_note(collection.listRule),
        )
    if allowed(collection.viewRule):
        single["get"] = c.operation(
            f"{n}.view",
            f"View a {n} record",
            tag,
            ok=c.json_response(record),
            parameters=[id_param, *_params(c.VIEW_PARAMS)],
            security=_security(collection.viewRule),
            description=_rule_note(collection.viewRule),
        )
    if not collection.is_view:
        if allowed(collection.createRule):
            listing["post"] = c.operation(
                f"{n}.create",
                f"Create a {n} record",
                tag,
                ok=c.json_response(record),
                parameters=_params(c.VIEW_PARAMS),
                body=_write_body(collection, f"{n}Create"),
                security=_security(collection.createRule),
                description=_rule_note(collection.createRule),
            )
        if allowed(collection.updateRule):
            single["patch"] = c.operation(
                f"{n}.update",
                f"Update a {n} record",
                tag,
                ok=c.json_response(record),
                parameters=[id_param, *_params(c.VIEW_PARAMS)],
                body=_write_body(collection, f"{n}Update"),
                security=_security(collection.updateRule),
                description=_rule_note(collection.updateRule),
            )
        if allowed(collection.deleteRule):
            single["delete"] = c.operation(
                f"{n}.delete",
                f"Delete a {n} record",
                tag,
                status="204",
                parameters=[id_param],
                security=_security(collection.deleteRule),
                description=_rule_note(collection.deleteRule),
            )
    out: Paths = {}
    if listing:
        out[base] = listing
    if single:
        out[one] = single
    return out


def _strings(
    *names: str, required: tuple[str, ...] | None = None, descriptions: dict[str, str] | None = None
) -> Schema:
    notes = descriptions or {}
    props = {k: {"type": "string", **({"description": notes[k]} if k in notes else {})} for k in names}
    return {"type": "object", "properties": props, "required": list(names if required is None else required)}


def _auth_answer(n: str) -> dict[str, Schema]:
    return {
        "401": {
            "description": "Wrong credentials (error shape), or a second factor is required (`mfaId`).",
            "content": {c.JSON: {"schema": {"oneOf": [c.ref("Error"), c.ref("MFARequired")]}}},
        }
    }


def auth_paths(collection: Collection, *, superuser: bool) -> Paths:
    """Every auth flow of an auth collection, `fields`/`expand` on each that answers a record."""
    n = collection.name
    tag = f"{n} auth"
    base = f"/api/collections/{n}"
    auth_ok = c.json_response(c.ref(f"{n}AuthResponse"))
    view = _params(c.VIEW_PARAMS)
    public = c.OPTIONAL_AUTH
    identity = ", ".join(f"`{f}`" for f in collection.identity_fields) or "`email`"

    def post(op: str, summary: str, body: Schema | None, **kw: object) -> dict[str, Operation]:
        return {"post": c.operation(f"{n}.{op}", summary, tag, body=None if body is None else c.json_body(body), **kw)}  # type: ignore[arg-type]

    paths: Paths = {
        f"{base}/auth-methods": {
            "get": c.operation(
                f"{n}.authMethods",
                "List the enabled auth methods",
                tag,
                ok=c.json_response(c.ref("AuthMethods")),
                parameters=[c.param_ref("fields")],
                security=public,
            )
        },
        f"{base}/auth-with-password": post(
            "authWithPassword",
            "Sign in with an identity and a password",
            _strings(
                "identity",
                "password",
                "identityField",
                required=("identity", "password"),
                descriptions={
                    "identity": f"The value of one of the identity fields: {identity}.",
                    "identityField": "Restrict the lookup to this identity field.",
                },
            ),
            ok=auth_ok,
            parameters=view,
            security=public,
            extra=_auth_answer(n),
        ),
        f"{base}/auth-refresh": post(
            "authRefresh",
            "Refresh the auth token of the signed-in record",
            None,
            ok=auth_ok,
            parameters=view,
        ),
        f"{base}/request-otp": post(
            "requestOtp",
            "Mail a one-time password",
            _strings("email"),
            ok=c.json_response({"type": "object", "properties": {"otpId": {"type": "string"}}, "required": ["otpId"]}),
            security=public,
        ),
        f"{base}/auth-with-otp": post(
            "authWithOtp",
            "Sign in with a one-time password",
            _strings("otpId", "password"),
            ok=auth_ok,
            parameters=view,
            security=public,
            extra=_auth_answer(n),
        ),
        f"{base}/auth-with-oauth2": post(
            "authWithOAuth2",
            "Sign in with an OAuth2 provider's code",
            {
                **_strings(
                    "provider", "code", "codeVerifier", "redirectURL", required=("provider", "code", "redirectURL")
                ),
                "properties": {
                    **_strings("provider", "code", "codeVerifier", "redirectURL")["properties"],
                    "createData": {"type": "object", "description": "Values for a record created on first sign-in."},
                },
            },
            ok=auth_ok,
            parameters=view,
            security=public,
            extra=_auth_answer(n),
        ),
        f"{base}/request-verification": post(
            "requestVerification", "Mail a verification link", _strings("email"), status="204", security=public
        ),
        f"{base}/confirm-verification": post(
            "confirmVerification",
            "Confirm an email with the mailed token",
            _strings("token"),
            status="204",
            security=public,
        ),
        f"{base}/request-password-reset": post(
            "requestPasswordReset", "Mail a password reset link", _strings("email"), status="204", security=public
        ),
        f"{base}/confirm-password-reset": post(
            "confirmPasswordReset",
            "Set a new password with the mailed token",
            _strings("token", "password", "passwordConfirm"),
            status="204",
            security=public,
        ),
        f"{base}/request-email-change": post(
            "requestEmailChange", "Mail a confirmation link to a new address", _strings("newEmail"), status="204"
        ),
        f"{base}/confirm-email-change": post(
            "confirmEmailChange",
            "Confirm the new address with the mailed token and the password",
            _strings("token", "password"),
            status="204",
            security=public,
        ),
        **_totp_paths(collection, tag, auth_ok, view),
    }
    if superuser:
        paths[f"{base}/impersonate/{{id}}"] = {
            "post": c.operation(
                f"{n}.impersonate",
                "Issue a token for another record (superusers only)",
                tag,
                ok=auth_ok,
                parameters=[c.path_param("id", "The record to act as."), *view],
                body=c.json_body(
                    {
                        "type": "object",
                        "properties": {
                            "duration": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "Token lifetime in seconds (0: the collection's).",
                            }
                        },
                    },
                    required=False,
                ),
            )
        }
    return paths


def _totp_paths(collection: Collection, tag: str, auth_ok: Schema, view: list[Schema]) -> Paths:
    """Authenticator apps (beyond PocketBase; docs/auth-totp.md)."""
    n = collection.name
    base = f"/api/collections/{n}"
    codes = c.json_response(
        {"type": "object", "properties": {"recoveryCodes": {"type": "array", "items": {"type": "string"}}}}
    )
    code = c.json_body(_strings("code"))
    return {
        f"{base}/totp": {
            "get": c.operation(
                f"{n}.totpStatus",
                "Authenticator app status of the signed-in record",
                tag,
                ok=c.json_response(
                    {
                        "type": "object",
                        "properties": {
                            "enabled": {"type": "boolean"},
                            "pending": {"type": "boolean"},
                            "recoveryCodesLeft": {"type": "integer"},
                        },
                    }
                ),
            )
        },
        f"{base}/totp/enroll": {
            "post": c.operation(
                f"{n}.totpEnroll",
                "Start enrolling an authenticator app",
                tag,
                ok=c.json_response(
                    {
                        "type": "object",
                        "properties": {
                            "secret": {"type": "string"},
                            "uri": {"type": "string"},
                            "qrCode": {"type": "string"},
                        },
                    }
                ),
            )
        },
        f"{base}/totp/verify": {
            "post": c.operation(f"{n}.totpVerify", "Finish enrolment with a first code", tag, ok=codes, body=code)
        },
        f"{base}/totp/recovery-codes": {
            "post": c.operation(f"{n}.totpRecoveryCodes", "Replace the recovery codes", tag, ok=codes, body=code)
        },
        f"{base}/totp/disable": {
            "post": c.operation(
                f"{n}.totpDisable",
                "Remove the authenticator app",
                tag,
                status="204",
                body=c.json_body(_strings("code", "password", required=())),
            )
        },
        f"{base}/auth-with-totp": {
            "post": c.operation(
                f"{n}.authWithTotp",
                "Complete an MFA sign-in with an authenticator code",
                tag,
                ok=auth_ok,
                parameters=view,
                body=c.json_body(_strings("mfaId", "code")),
                security=c.OPTIONAL_AUTH,
            )
        },
    }
