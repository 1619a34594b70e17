"""Password authentication, token refresh, impersonation and the auth-methods listing."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from satchel.core.auth import auth_rule, mfa, origins, refs, totp
from satchel.core.auth.email_flows import auth_collection
from satchel.core.auth.login_guard import LoginGuard
from satchel.core.auth.oauth2.service import OAuth2Service
from satchel.core.auth.tokens import issue_auth_token, token_subject, verify_auth_token
from satchel.core.collections.model import Collection
from satchel.core.errors import (
    BadRequestError,
    ErrorTree,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
    required,
)
from satchel.core.hooks import RecordAuthEvent
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.rules.request_info import CONTEXT_PASSWORD, RequestInfo
from satchel.tools.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from satchel.tools.sql import ir
from satchel.tools.tokens import parse_unverified

if TYPE_CHECKING:
    from satchel.core.app import App

FAILED = "Failed to authenticate."


class AuthService:
    def __init__(self, app: App) -> None:
        self.app = app
        self.guard = LoginGuard(app)
        """Failed-login counts per identity and IP; `begin` before checking any secret."""
        self.oauth2 = OAuth2Service(app)
        """OAuth2 sign-in; its `http` reaches the providers (tests and wiring may replace it)."""
        refs.register(app)  # MFA sessions, OTPs, origins and provider links go with their record
        totp.register(app)

    def _auth_collection(self, id_or_name: str) -> Collection:
        return auth_collection(self.app, id_or_name)

    # ----------------------------------------------------------------- tokens
    async def record_from_token(self, token: str) -> Record | None:
        """The auth record a valid token belongs to (None for invalid, expired or revoked tokens)."""
        subject = token_subject(token, self.app.collections)
        if subject is None:
            return None
        collection = self.app.collections.get(subject[0])
        if collection is None:
            return None
        record = await storage.fetch_by_id(self.app.db.executor(), collection, subject[1])
        if record is None or verify_auth_token(self.app.secret, token, record) is None:
            return None
        return record

    async def respond(
        self,
        record: Record,
        request: RequestInfo,
        method: str,
        *,
        token: str | None = None,
        meta: dict[str, Any] | None = None,
        expand: str = "",
    ) -> dict[str, Any]:
        """Build `{token, record}` through the auth hook (which may add data or veto)."""
        event = RecordAuthEvent(
            collection=record.collection,
            request=request,
            record=record,
            token=token or issue_auth_token(self.app.secret, record),
            method=method,
            meta=meta or {},
        )
        result: dict[str, Any] = {}

        async def final(e: RecordAuthEvent) -> None:
            await mfa.check(self.app, e.record, e.method, request)  # 401 {mfaId} until a 2nd method passes
            as_self = RequestInfo(auth=e.record, method=request.method, context=request.context)
            if request.is_superuser:
                as_self = request
            exported = (await self.app.records.export([e.record], as_self, expand))[0]
            # as in PocketBase: once any MFA step is passed, just before answering
            await origins.track(self.app, e.record, e.method, request.ip, request.headers.get("user_agent", ""))
            out: dict[str, Any] = {"record": exported, "token": e.token}
            if e.meta:
                out["meta"] = e.meta
            result.update(out)

        await self.app.hooks.on_record_auth_request.trigger(event, final)
        return result

    # --------------------------------------------------------------- password
    async def auth_with_password(
        self, id_or_name: str, body: dict[str, Any], request: RequestInfo, expand: str = ""
    ) -> dict[str, Any]:
        collection = self._auth_collection(id_or_name)
        password_auth = collection.auth.get("passwordAuth", {})
        if not password_auth.get("enabled", False):
            raise BadRequestError("The collection is not configured to allow password authentication.")
        identity = body.get("identity", "")
        password = body.get("password", "")
        identity_field = body.get("identityField", "")
        errors: ErrorTree = {}
        if not isinstance(identity, str) or not identity:
            errors["identity"] = required()
        if not isinstance(password, str) or not password:
            errors["password"] = required()
        if errors:
            raise ValidationError("An error occurred while validating the submitted data.", errors)
        fields = collection.identity_fields
        if identity_field:
            if identity_field not in fields:
                raise ValidationError(
                    "An error occurred while validating the submitted data.",
                    {"identityField": required()},
                )
            fields = [identity_field]
        attempt = await self.guard.begin(collection.id, str(identity), request.ip)  # 429 once over the limit
        record = await self._find_by_identity(collection, fields, str(identity))
        stored_hash = str(record.get("password", "")) if record is not None else dummy_hash()
        valid = verify_password(stored_hash, str(password))
        if record is None or not valid:
            await attempt.failed()
            raise BadRequestError(FAILED)
        await attempt.succeeded()
        # the authRule sees the request as it came (`@request.auth` is the caller, usually a
        # guest), and a failing rule is a 403 after the password was found right, as in PocketBase
        await auth_rule.require(self.app, record, replace(request, context=CONTEXT_PASSWORD))
        if needs_rehash(stored_hash):
            await self._rehash(record, str(password))
        return await self.respond(record, request, "password", expand=expand)

    async def _find_by_identity(self, collection: Collection, fields: list[str], identity: str) -> Record | None:
        ex = self.app.db.executor()
        for name in fields:
            field = collection.field(name)
            if field is None:
                continue
            column = ir.col(collection.name, name)
            cond: ir.Expr = (
                ir.eq(ir.Func("LOWER", (column,)), ir.Func("LOWER", (ir.Param(identity),)))
                if field.type == "email"
                else ir.eq(column, ir.Param(identity))
            )
            row = await ex.fetch_one(
                ir.Select((ir.Star(collection.name),), ir.Table(collection.name), where=cond, limit=1)
            )
            if row is not None:
                return storage.record_from_row(collection, row)
        return None

    async def _rehash(self, record: Record, password: str) -> None:
        """Upgrade a legacy (bcrypt) or weaker hash in place; tokenKey stays, so tokens stay valid."""
        async with self.app.db.transaction() as tx:
            await tx.execute(
                ir.Update(
                    record.collection.name,
                    {"password": ir.Param(hash_password(password))},
                    ir.eq(ir.col("id"), ir.Param(record.id)),
                )
            )

    # ---------------------------------------------------------------- refresh
    async def auth_refresh(self, id_or_name: str, request: RequestInfo, token: str, expand: str = "") -> dict[str, Any]:
        collection = self._auth_collection(id_or_name)
        if request.auth is None:
            raise UnauthorizedError()
        if request.auth.collection_id != collection.id:
            raise ForbiddenError("The request requires valid auth record of the current collection.")
        claims = _claims(token)
        if not claims.get("refreshable", False):
            # a non-refreshable (impersonation) token is answered with itself, as PocketBase does
            return await self.respond(request.auth, request, "refresh", token=token, expand=expand)
        return await self.respond(request.auth, request, "refresh", expand=expand)

    # ------------------------------------------------------------ impersonate
    async def impersonate(
        self, id_or_name: str, record_id: str, body: dict[str, Any], request: RequestInfo, expand: str = ""
    ) -> dict[str, Any]:
        collection = self._auth_collection(id_or_name)
        if request.auth is None:
            raise UnauthorizedError()
        if not request.is_superuser:
            raise ForbiddenError("The authorized record is not allowed to perform this action.")
        duration = body.get("duration", 0)
        if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
            raise ValidationError(
                "An error occurred while validating the submitted data.",
                {"duration": required()},
            )
        record = await storage.fetch_by_id(self.app.db.executor(), collection, record_id)
        if record is None:
            raise NotFoundError()
        token = issue_auth_token(self.app.secret, record, duration=int(duration), refreshable=False)
        return await self.respond(record, request, "impersonate", token=token, expand=expand)

    # ----------------------------------------------------------- auth-methods
    async def auth_methods(self, id_or_name: str) -> dict[str, Any]:
        collection = self._auth_collection(id_or_name)
        pa = collection.auth.get("passwordAuth", {})
        oauth2 = collection.auth.get("oauth2", {})
        mfa = collection.auth.get("mfa", {})
        otp = collection.auth.get("otp", {})
        identity = list(pa.get("identityFields", []))
        # as PocketBase: listed only when enabled (each with a fresh state and PKCE pair)
        providers = await self.oauth2.providers(collection) if oauth2.get("enabled") else []
        return {
            "password": {"identityFields": identity, "enabled": bool(pa.get("enabled"))},
            "oauth2": {"providers": providers, "enabled": bool(oauth2.get("enabled"))},
            "mfa": {
                "enabled": bool(mfa.get("enabled")),
                "duration": int(mfa.get("duration", 0)) if mfa.get("enabled") else 0,
            },
            "otp": {
                "enabled": bool(otp.get("enabled")),
                "duration": int(otp.get("duration", 0)) if otp.get("enabled") else 0,
            },
            # legacy keys kept by PocketBase for older SDKs
            "authProviders": [{**p, "logo": ""} for p in providers],
            "usernamePassword": bool(pa.get("enabled")) and "username" in identity,
            "emailPassword": bool(pa.get("enabled")) and "email" in identity,
        }


def _claims(token: str) -> dict[str, Any]:
    return parse_unverified(token) or {}
