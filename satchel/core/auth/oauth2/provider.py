"""The provider base: the authorization URL, the code-for-token exchange and the user lookup.

A provider is a preset (endpoints, scopes, how its user payload maps to an `AuthUser`) with a
collection's `ProviderConfig` laid over it, as PocketBase's InitProvider does: every non-empty
configured value replaces the preset's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from satchel.core.auth.oauth2 import pkce
from satchel.core.auth.oauth2.config import ProviderConfig
from satchel.core.auth.oauth2.http import ProviderError, ProviderHTTP
from satchel.tools.datetime import format_dt


@dataclass(slots=True)
class TokenSet:
    """The token endpoint's answer."""

    access_token: str
    refresh_token: str = ""
    expiry: datetime | None = None
    id_token: str = ""


@dataclass(slots=True)
class AuthUser:
    """The provider's account, as PocketBase's auth.AuthUser (`email` only when the provider verified it)."""

    id: str
    name: str = ""
    username: str = ""
    email: str = ""
    avatar_url: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    access_token: str = ""
    refresh_token: str = ""
    expiry: datetime | None = None

    def meta(self, is_new: bool) -> dict[str, Any]:
        """The `meta` of the auth answer, keys and order as PocketBase writes them."""
        return {
            "expiry": format_dt(self.expiry) if self.expiry is not None else "",
            "rawUser": self.raw,
            "id": self.id,
            "name": self.name,
            "username": self.username,
            "avatarURL": self.avatar_url,
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "email": self.email,
            "avatarUrl": self.avatar_url,  # PocketBase's deprecated spelling, still sent
            "isNew": is_new,
        }


def text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return ""


def truthy(value: Any) -> bool:
    """spf13/cast's ToBool, which PocketBase applies to `email_verified` (a bool or a string)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true")
    return value is True or (isinstance(value, int | float) and value != 0)


class Provider:
    """A preset; subclasses set the class attributes and `map_user`, and override fetching as needed."""

    display: ClassVar[str] = ""
    default_auth_url: ClassVar[str] = ""
    default_token_url: ClassVar[str] = ""
    default_user_info_url: ClassVar[str] = ""
    default_scopes: ClassVar[tuple[str, ...]] = ()
    uses_nonce: ClassVar[bool] = False
    """Id-token providers: `auth-methods` sends a nonce derived from the PKCE verifier (`pkce.nonce`)."""
    default_pkce: ClassVar[bool] = True
    extra_auth_params: ClassVar[dict[str, str]] = {}

    def __init__(self, config: ProviderConfig, http: ProviderHTTP) -> None:
        self.config = config
        self.http = http
        self.name = config.name
        self.display_name = config.display_name or self.display or config.name
        self.auth_url = config.auth_url or self.default_auth_url
        self.token_url = config.token_url or self.default_token_url
        self.user_info_url = config.user_info_url or self.default_user_info_url
        self.scopes = list(self.default_scopes)
        self.pkce = self.default_pkce if config.pkce is None else config.pkce
        self.nonce: str | None = None
        """The nonce the id token must carry (set by `exchange` for providers that use one)."""

    async def prepare(self) -> None:
        """Resolve anything the endpoints need from the network (OIDC discovery); nothing by default."""

    # ---------------------------------------------------------------- authorize
    def build_auth_url(self, state: str, challenge: str = "", challenge_method: str = "", nonce: str = "") -> str:
        """The authorization URL without `redirect_uri` (sorted keys, as Go's oauth2 writes them)."""
        params = {"client_id": self.config.client_id, "response_type": "code", "state": state, **self.extra_auth_params}
        if nonce:
            params["nonce"] = nonce
        if self.scopes:
            params["scope"] = " ".join(self.scopes)
        if challenge:
            params["code_challenge"] = challenge
            params["code_challenge_method"] = challenge_method
        query = urlencode(sorted(params.items()))
        return self.auth_url + ("&" if "?" in self.auth_url else "?") + query

    # ----------------------------------------------------------------- exchange
    async def exchange(self, code: str, redirect_url: str, verifier: str = "") -> TokenSet:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_url,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
        }
        if self.pkce and verifier:
            form["code_verifier"] = verifier
            if self.uses_nonce:
                self.nonce = pkce.nonce(verifier)
        data = await self.http.post_form(self.token_url, form)
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
            raise ProviderError(f"{self.token_url} answered without an access_token")
        expires_in = data.get("expires_in")
        expiry = None
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
            expiry = datetime.now(UTC) + timedelta(seconds=float(expires_in))
        return TokenSet(
            access_token=data["access_token"],
            refresh_token=text(data, "refresh_token"),
            expiry=expiry,
            id_token=text(data, "id_token"),
        )

    # --------------------------------------------------------------------- user
    async def raw_user(self, token: TokenSet) -> dict[str, Any]:
        data = await self.http.get_json(self.user_info_url, {"Authorization": f"Bearer {token.access_token}"})
        if not isinstance(data, dict):
            raise ProviderError(f"{self.user_info_url} answered something that is not an object")
        return data

    def map_user(self, raw: dict[str, Any]) -> AuthUser:
        raise NotImplementedError

    async def fetch_user(self, token: TokenSet) -> AuthUser:
        raw = await self.raw_user(token)
        user = self.map_user(raw)
        if not user.id:
            raise ProviderError(f"{self.name} returned a user without an id")
        user.raw = raw
        user.access_token = token.access_token
        user.refresh_token = token.refresh_token
        user.expiry = token.expiry
        return user
