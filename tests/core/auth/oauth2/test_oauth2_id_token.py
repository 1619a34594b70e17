"""ID token checks: tokens signed here with joserfc, the JWKS served by a real loopback HTTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from satchel.core.auth.oauth2 import id_token
from satchel.core.auth.oauth2.http import ProviderHTTP
from satchel.core.auth.oauth2.id_token import IdTokenError, check_claims, verify

KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1"})
ISSUER = "https://idp.example"


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    body = json.dumps({"keys": [KEY.as_dict(private=False)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    server.shutdown()
    server.server_close()
    id_token._jwks.clear()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": "cid", "sub": "u1", "iat": now, "exp": now + 300, **overrides}


def sign(payload: dict[str, Any], key: Any = KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "k1"}, payload, key)


async def check(token: str, jwks_url: str, **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"audience": "cid", "jwks_url": jwks_url, "issuers": [ISSUER], **kwargs}
    return await verify(ProviderHTTP(timeout=5), token, **options)


async def test_a_good_token_passes(jwks_url: str) -> None:
    assert (await check(sign(claims()), jwks_url))["sub"] == "u1"
    assert (await check(sign(claims(nonce="n1")), jwks_url, nonce="n1"))["sub"] == "u1"


@pytest.mark.parametrize(
    ("token", "kwargs", "reason"),
    [
        (lambda: sign(claims(), OTHER), {}, "signature"),
        (lambda: sign(claims())[:-4] + "AAAA", {}, "signature"),
        (lambda: sign(claims(aud="someone-else")), {}, "audience"),
        (lambda: sign(claims(aud=["x", "y"])), {}, "audience"),
        (lambda: sign(claims(iss="https://evil.example")), {}, "issuer"),
        (lambda: sign(claims(exp=int(time.time()) - 3600)), {}, "expired"),
        (lambda: sign({k: v for k, v in claims().items() if k != "exp"}), {}, "exp"),
        (lambda: sign(claims(iat=int(time.time()) + 3600)), {}, "future"),
        (lambda: sign(claims(nonce="n1")), {"nonce": "n2"}, "nonce"),
        (lambda: sign(claims()), {"nonce": "n1"}, "nonce"),
        (lambda: sign(claims(), OctKey.import_key(b"k" * 32), "HS256"), {}, "signature"),
        (lambda: "not.a.jwt", {}, "signature|malformed"),
        (lambda: "", {}, "empty"),
    ],
)
async def test_bad_tokens_are_refused(jwks_url: str, token: Any, kwargs: dict[str, Any], reason: str) -> None:
    with pytest.raises(IdTokenError, match=reason):
        await check(token(), jwks_url, **kwargs)


def test_an_audience_list_containing_the_client_passes() -> None:
    check_claims(claims(aud=["other", "cid"]), audience="cid", issuers=[ISSUER])


def test_five_minutes_of_leeway() -> None:
    now = time.time()
    check_claims(claims(exp=int(now) - 200), audience="cid", now=now)
    with pytest.raises(IdTokenError, match="expired"):
        check_claims(claims(exp=int(now) - 400), audience="cid", now=now)
