"""The generic OpenID Connect provider (`oidc`, `oidc2`, `oidc3`), with discovery.

Configured as PocketBase's: `authURL`, `tokenURL`, optional `userInfoURL`, and `extra.jwksURL`
and `extra.issuers`. Satchel adds discovery: with `extra.issuer` set, whatever is not configured
comes from `{issuer}/.well-known/openid-configuration` (whose `issuer` must be the configured one),
and the issuer becomes the one accepted.

The user comes from the userinfo endpoint when there is one, else from the id token's claims.
An id token in the token answer is always checked when a JWKS is known (a forged one fails the
sign-in even when userinfo is used), and its `sub` must then be the userinfo `sub`.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from satchel.core.auth.oauth2 import id_token
from satchel.core.auth.oauth2.http import ProviderError, ProviderHTTP
from satchel.core.auth.oauth2.provider import AuthUser, Provider, TokenSet, text, truthy

WELL_KNOWN = "/.well-known/openid-configuration"
DISCOVERY_TTL_S = 600.0

_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


async def discover(http: ProviderHTTP, issuer: str) -> dict[str, Any]:
    """The issuer's discovery document (cached for a while per issuer)."""
    cached = _discovered.get(issuer)
    if cached is not None and time.monotonic() - cached[0] < DISCOVERY_TTL_S:
        return cached[1]
    url = issuer.rstrip("/") + WELL_KNOWN
    doc = await http.get_json(url)
    if not isinstance(doc, dict) or doc.get("issuer") != issuer:
        raise ProviderError(f"{url} does not describe the issuer {issuer}")
    _discovered[issuer] = (time.monotonic(), doc)
    return doc


class OIDC(Provider):
    display = "OIDC"
    default_scopes: ClassVar[tuple[str, ...]] = ("openid", "email", "profile")
    uses_nonce: ClassVar[bool] = True

    def __init__(self, config: Any, http: ProviderHTTP) -> None:
        super().__init__(config, http)
        self.jwks_url = _string(config.extra.get("jwksURL"))
        self.issuers = config.extra_strings("issuers")
        self.issuer = _string(config.extra.get("issuer"))

    async def prepare(self) -> None:
        if not self.issuer:
            return
        doc = await discover(self.http, self.issuer)
        self.auth_url = self.auth_url or _string(doc.get("authorization_endpoint"))
        self.token_url = self.token_url or _string(doc.get("token_endpoint"))
        self.user_info_url = self.user_info_url or _string(doc.get("userinfo_endpoint"))
        self.jwks_url = self.jwks_url or _string(doc.get("jwks_uri"))
        self.issuers = self.issuers or [self.issuer]

    async def claims(self, token: TokenSet) -> dict[str, Any]:
        return await id_token.verify(
            self.http,
            token.id_token,
            audience=self.config.client_id,
            jwks_url=self.jwks_url,
            issuers=self.issuers,
            nonce=self.nonce,
        )

    async def raw_user(self, token: TokenSet) -> dict[str, Any]:
        claims = await self.claims(token) if token.id_token and self.jwks_url else None
        if not self.user_info_url:
            return claims if claims is not None else await self.claims(token)
        raw = await super().raw_user(token)
        if claims is not None and claims.get("sub") != raw.get("sub"):
            raise ProviderError("the userinfo sub is not the id_token sub")
        return raw

    def map_user(self, raw: dict[str, Any]) -> AuthUser:
        return AuthUser(
            id=text(raw, "sub"),
            name=text(raw, "name"),
            username=text(raw, "preferred_username"),
            avatar_url=text(raw, "picture"),
            email=text(raw, "email") if truthy(raw.get("email_verified")) else "",
        )


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""
