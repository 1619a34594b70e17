"""A collection's `oauth2.providers` entries, read into typed settings (PocketBase's OAuth2ProviderConfig).

Entries are validated when the collection is saved (`errors`); reading them here never fails.
`extra` is PocketBase's free-form map; Satchel reads `jwksURL`, `issuers`, `issuer` (OIDC
discovery) and `redirectURLs` (the redirect allow-list) from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from satchel.core.collections.model import Collection
from satchel.core.errors import ErrorTree, FieldError, required


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    auth_url: str = ""
    token_url: str = ""
    user_info_url: str = ""
    display_name: str = ""
    pkce: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_options(cls, entry: dict[str, Any]) -> ProviderConfig:
        def text(key: str) -> str:
            value = entry.get(key)
            return value if isinstance(value, str) else ""

        pkce = entry.get("pkce")
        extra = entry.get("extra")
        return cls(
            name=text("name"),
            client_id=text("clientId"),
            client_secret=text("clientSecret"),
            auth_url=text("authURL"),
            token_url=text("tokenURL"),
            user_info_url=text("userInfoURL"),
            display_name=text("displayName"),
            pkce=pkce if isinstance(pkce, bool) else None,
            extra=dict(extra) if isinstance(extra, dict) else {},
        )

    def extra_strings(self, key: str) -> list[str]:
        """`extra[key]` as a list of strings (a single string counts as one)."""
        value = self.extra.get(key)
        if isinstance(value, str):
            return [value] if value else []
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str) and v]
        return []


def enabled(collection: Collection) -> bool:
    return bool(collection.auth.get("oauth2", {}).get("enabled"))


def provider_configs(collection: Collection) -> list[ProviderConfig]:
    entries = collection.auth.get("oauth2", {}).get("providers") or []
    return [ProviderConfig.from_options(e) for e in entries if isinstance(e, dict)]


def find(collection: Collection, name: str) -> ProviderConfig | None:
    """The first entry named `name` (PocketBase's GetProviderConfig)."""
    return next((c for c in provider_configs(collection) if c.name == name), None)


def is_url(value: str) -> bool:
    """ozzo's is.URL closely enough: an http(s) URL with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def entry_errors(entry: Any, known: frozenset[str]) -> ErrorTree:
    """Field errors of one provider entry, as PocketBase's OAuth2ProviderConfig.Validate."""
    p: dict[str, Any] = entry if isinstance(entry, dict) else {}
    errors: ErrorTree = {}
    name = p.get("name")
    if not name or not isinstance(name, str):
        errors["name"] = required()
    elif name not in known:
        errors["name"] = FieldError(
            "validation_missing_provider", f"Invalid or missing provider with name {name}.", {"name": name}
        )
    for key in ("clientId", "clientSecret"):
        if not p.get(key):
            errors[key] = required()
    for key in ("authURL", "tokenURL", "userInfoURL"):
        value = p.get(key)
        if value and (not isinstance(value, str) or not is_url(value)):
            errors[key] = FieldError("validation_is_url", "Must be a valid URL.")
    return errors
