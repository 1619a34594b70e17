"""The redirect URL allow-list (Satchel's own; PocketBase checks nothing)."""

from __future__ import annotations

import pytest

from satchel.core.auth.oauth2.config import ProviderConfig
from satchel.core.auth.oauth2.redirect_urls import allowed
from satchel.core.rules.request_info import RequestInfo

APP_URL = "https://app.example.com"
REQUEST = RequestInfo(headers={"host": "api.example.com"})
CONFIG = ProviderConfig(
    name="google",
    extra={"redirectURLs": ["com.example.app:/oauth", "https://partner.example", "http://localhost:5173/cb"]},
)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://app.example.com/auth/done", True),  # the app URL's origin, any path
        ("https://app.example.com:443/x", True),
        ("http://app.example.com/x", False),  # another scheme is another origin
        ("https://app.example.com.evil.io/x", False),
        ("https://api.example.com/api/oauth2-redirect", True),  # this server's own redirect endpoint
        ("http://api.example.com/api/oauth2-redirect", True),
        ("https://api.example.com/api/oauth2-redirect?x=1", False),
        ("https://api.example.com/other", False),
        ("com.example.app:/oauth", True),  # exact entries, custom schemes included
        ("com.example.app:/oauth2", False),
        ("https://partner.example/any/path", True),  # an origin entry
        ("http://localhost:5173/cb", True),
        ("http://localhost:5173/cb/other", False),
        ("javascript:alert(1)", False),
        ("https://user@evil.io/", False),
        ("not a url", False),
    ],
)
def test_allow_list(url: str, ok: bool) -> None:
    assert allowed(url, CONFIG, APP_URL, REQUEST) is ok
