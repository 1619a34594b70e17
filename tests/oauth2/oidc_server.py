"""A real OpenID provider (the npm package oidc-provider) on loopback, and a browserless sign-in.

`oidc_provider` (session scope) starts `provider/server.mjs` once; `authorize` follows the
provider's redirects with a cookie jar, as a browser would, and returns the code it hands to the
redirect URI. Without node (or `npm ci` in tests/oauth2/provider) the tests skip locally and fail
under CI=true, like the conformance tests.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import pytest
from required_service import unavailable

PROVIDER_DIR = Path(__file__).parent / "provider"
CLIENT_ID = "satchel-test"
CLIENT_SECRET = "satchel-test-secret"
REDIRECT_URI = "http://satchel.test/api/oauth2-redirect"
"""Registered with the provider; the in-process test client's own redirect endpoint."""
START_TIMEOUT_S = 30.0




@dataclass(frozen=True)
class OIDCProvider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_uri: str = REDIRECT_URI

    def entry(self, name: str = "oidc", **overrides: object) -> dict[str, object]:
        """A collection `oauth2.providers` entry for this provider (discovery by issuer)."""
        entry: dict[str, object] = {
            "name": name,
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "extra": {"issuer": self.issuer},
        }
        entry.update(overrides)
        return entry


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OIDCProvider]:
    node = shutil.which("node")
    if node is None:
        unavailable("`node` is not on PATH (Node 20 runs the test OpenID provider)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        unavailable(f"the test OpenID provider's dependencies are missing: run `npm ci` in {PROVIDER_DIR}")
    assert node is not None
    proc = subprocess.Popen(
        [node, "server.mjs", CLIENT_ID, CLIENT_SECRET, REDIRECT_URI],
        cwd=PROVIDER_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT_S)
        line = proc.stdout.readline() if ready else b""
        if not line:
            pytest.fail("the test OpenID provider did not start", pytrace=False)
        yield OIDCProvider(issuer=json.loads(line)["issuer"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


async def authorize(auth_url: str, login_hint: str, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    """Follow the authorization URL (from auth-methods, `redirect_uri=` appended) to the redirect's query."""
    url = f"{auth_url}{redirect_uri}&login_hint={login_hint}"
    async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as browser:
        for _ in range(10):
            response = await browser.get(url)
            location = response.headers.get("location")
            if location is None:
                raise AssertionError(f"the provider stopped at {url}: {response.status_code} {response.text[:300]}")
            url = urljoin(url, location)
            if url.startswith(redirect_uri):
                return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    raise AssertionError("too many redirects")
