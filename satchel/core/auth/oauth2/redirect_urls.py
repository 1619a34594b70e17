"""Which `redirectURL`s a sign-in may name: Satchel's allow-list (PocketBase has none).

The provider checks the redirect URL against what its client registered; this is a second,
local check so that a misconfigured provider client cannot be used to bounce codes elsewhere.
Allowed are:

- any URL on the origin of the app URL setting (`meta.appURL`), where the app itself lives;
- this server's own `/api/oauth2-redirect` on the host the request came to (what the JS SDK's
  popup flow sends);
- the provider entry's `extra.redirectURLs`: each entry is an exact URL (custom schemes for
  native apps too), or an origin (`https://app.example.com`) allowing every path on it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from satchel.core.auth.oauth2.config import ProviderConfig
from satchel.core.rules.request_info import RequestInfo

REDIRECT_PATH = "/api/oauth2-redirect"


def _origin(url: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname.lower() + ("" if port in (None, default) else f":{port}")
    return parts.scheme, host


def _is_origin_only(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.path in ("", "/") and not parts.query and not parts.fragment


def allowed(redirect_url: str, config: ProviderConfig, app_url: str, request: RequestInfo) -> bool:
    if redirect_url in config.extra_strings("redirectURLs"):
        return True
    origin = _origin(redirect_url)
    if origin is None:
        return False
    if origin == _origin(app_url):
        return True
    host = request.headers.get("host", "").lower()
    parts = urlsplit(redirect_url)
    if (
        host
        and origin[1] in (host, host.removesuffix(":80"), host.removesuffix(":443"))
        and (parts.path == REDIRECT_PATH and not parts.query)
    ):
        return True
    return any(_is_origin_only(e) and _origin(e) == origin for e in config.extra_strings("redirectURLs"))
