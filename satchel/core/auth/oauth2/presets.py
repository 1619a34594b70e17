"""The providers PocketBase ships that Satchel presets: endpoints, scopes and user mapping.

Each `map_user` reads the provider's user payload the way PocketBase's tools/auth does, and
sets `email` only where the provider says it verified the address (so an unverified address
never links to, or verifies, an existing account).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from satchel.core.auth.oauth2 import id_token
from satchel.core.auth.oauth2.http import ProviderError
from satchel.core.auth.oauth2.oidc import OIDC
from satchel.core.auth.oauth2.provider import AuthUser, Provider, TokenSet, text, truthy


class Google(Provider):
    display = "Google"
    default_auth_url = "https://accounts.google.com/o/oauth2/v2/auth"
    default_token_url = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
    default_user_info_url = "https://www.googleapis.com/oauth2/v3/userinfo"
    default_scopes: ClassVar[tuple[str, ...]] = (
        "https://www.googleapis.com/auth/userinfo.profile",
        "https://www.googleapis.com/auth/userinfo.email",
    )

    def map_user(self, raw: dict[str, Any]) -> AuthUser:
        return AuthUser(
            id=text(raw, "sub"),
            name=text(raw, "name"),
            avatar_url=text(raw, "picture"),
            email=text(raw, "email") if raw.get("email_verified") is True else "",
        )


class GitHub(Provider):
    display = "GitHub"
    default_auth_url = "https://github.com/login/oauth/authorize"
    default_token_url = "https://github.com/login/oauth/access_token"  # noqa: S105 - a URL
    default_user_info_url = "https://api.github.com/user"
    default_scopes: ClassVar[tuple[str, ...]] = ("read:user", "user:email")

    def map_user(self, raw: dict[str, Any]) -> AuthUser:
        return AuthUser(
            id=text(raw, "id"), name=text(raw, "name"), username=text(raw, "login"), avatar_url=text(raw, "avatar_url")
        )

    async def fetch_user(self, token: TokenSet) -> AuthUser:
        user = await super().fetch_user(token)
        user.email = await self._verified_primary_email(token)
        return user

    async def _verified_primary_email(self, token: TokenSet) -> str:
        """The primary address when GitHub verified it; none when the token may not read emails."""
        try:
            emails = await self.http.get_json(
                self.user_info_url + "/emails", {"Authorization": f"Bearer {token.access_token}"}
            )
        except ProviderError as exc:
            if exc.status in (401, 403, 404):
                return ""
            raise
        return primary_verified_email(emails)


def primary_verified_email(emails: Any) -> str:
    for e in emails if isinstance(emails, list) else []:
        if isinstance(e, dict) and e.get("verified") is True and e.get("primary") is True:
            return text(e, "email")
    return ""


class GitLab(Provider):
    display = "GitLab"
    default_auth_url = "https://gitlab.com/oauth/authorize"
    default_token_url = "https://gitlab.com/oauth/token"  # noqa: S105 - a URL
    default_user_info_url = "https://gitlab.com/api/v4/user"
    default_scopes: ClassVar[tuple[str, ...]] = ("read_user",)

    def map_user(self, raw: dict[str, Any]) -> AuthUser:
        return AuthUser(
            id=text(raw, "id"),
            name=text(raw, "name"),
            username=text(raw, "username"),
            avatar_url=text(raw, "avatar_url"),
            email=text(raw, "email") if _is_rfc3339(text(raw, "confirmed_at")) else "",
        )


def _is_rfc3339(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


class Microsoft(Provider):
    """Azure AD's `common` tenant; `authURL`/`tokenURL` select another. The email is Graph's `mail`."""

    display = "Microsoft"
    default_auth_url = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    default_token_url = "https://login.microsoftonline.com/common/oauth2/v2.0/token"  # noqa: S105 - a URL
    default_user_info_url = "https://graph.microsoft.com/v1.0/me"
    default_scopes: ClassVar[tuple[str, ...]] = ("User.Read",)

    def map_user(self, raw: dict[str, Any]) -> AuthUser:
        return AuthUser(id=text(raw, "id"), name=text(raw, "displayName"), email=text(raw, "mail"))


class Apple(Provider):
    """Sign in with Apple: no userinfo endpoint, the user is the id token (always signature-checked)."""

    display = "Apple"
    default_auth_url = "https://appleid.apple.com/auth/authorize"
    default_token_url = "https://appleid.apple.com/auth/token"  # noqa: S105 - a URL
    default_scopes: ClassVar[tuple[str, ...]] = ("name", "email")
    extra_auth_params: ClassVar[dict[str, str]] = {"response_mode": "form_post"}
    uses_nonce: ClassVar[bool] = True
    issuer = "https://appleid.apple.com"
    jwks_url = "https://appleid.apple.com/auth/keys"

    async def raw_user(self, token: TokenSet) -> dict[str, Any]:
        return await id_token.verify(
            self.http,
            token.id_token,
            audience=self.config.client_id,
            jwks_url=self.jwks_url,
            issuers=[self.issuer],
            nonce=self.nonce,
        )

    def map_user(self, raw: dict[str, Any]) -> AuthUser:
        return AuthUser(
            id=text(raw, "sub"),
            name=text(raw, "name"),
            email=text(raw, "email") if truthy(raw.get("email_verified")) else "",
        )


class Discord(Provider):
    display = "Discord"
    default_auth_url = "https://discord.com/api/oauth2/authorize"
    default_token_url = "https://discord.com/api/oauth2/token"  # noqa: S105 - a URL
    default_user_info_url = "https://discord.com/api/users/@me"
    default_scopes: ClassVar[tuple[str, ...]] = ("identify", "email")

    def map_user(self, raw: dict[str, Any]) -> AuthUser:
        user_id, avatar = text(raw, "id"), text(raw, "avatar")
        name = text(raw, "global_name")
        if not name:
            name = text(raw, "username")
            discriminator = text(raw, "discriminator")
            if discriminator and discriminator != "0":
                name += "#" + discriminator
        return AuthUser(
            id=user_id,
            name=name,
            username=text(raw, "username"),
            avatar_url=f"https://cdn.discordapp.com/avatars/{user_id}/{avatar}.png" if avatar else "",
            email=text(raw, "email") if raw.get("verified") is True else "",
        )


PRESETS: dict[str, type[Provider]] = {
    "apple": Apple,
    "google": Google,
    "microsoft": Microsoft,
    "github": GitHub,
    "gitlab": GitLab,
    "discord": Discord,
    "oidc": OIDC,
    "oidc2": OIDC,
    "oidc3": OIDC,
}
"""Provider names Satchel knows; any other name in a collection's options is refused."""
