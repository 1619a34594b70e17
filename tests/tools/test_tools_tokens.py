"""HS256 tokens: PocketBase-shaped output, strict verification that never raises."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from satchel.tools import tokens

K1, K2 = "k1" * 20, "k2" * 20


def _segments(token: str) -> tuple[bytes, bytes]:
    head, body, _ = token.split(".")
    return base64.urlsafe_b64decode(head + "=="), base64.urlsafe_b64decode(body + "==")


def _forge(header: dict[str, object], claims: dict[str, object], key: str) -> str:
    def enc(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing = enc(json.dumps(header).encode()) + "." + enc(json.dumps(claims).encode())
    sig = hmac.new(key.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + enc(sig)


def test_sign_matches_pocketbase_shape() -> None:
    claims = {"type": "auth", "id": "r1", "refreshable": True, "collectionId": "pbc_1"}
    before = int(time.time())
    t = tokens.sign(claims, K1, 3600)
    head, body = _segments(t)
    assert head == b'{"alg":"HS256","typ":"JWT"}'
    assert body.startswith(b'{"collectionId":"pbc_1","exp":')
    assert body.endswith(b',"id":"r1","refreshable":true,"type":"auth"}')
    exp = json.loads(body)["exp"]
    assert isinstance(exp, int) and before + 3600 <= exp <= int(time.time()) + 3600
    # independently checkable with PyJWT
    assert jwt.decode(t, K1, algorithms=["HS256"])["id"] == "r1"


def test_given_exp_wins() -> None:
    t = tokens.sign({"id": "a", "exp": 4102444800}, K1, 10)
    claims = tokens.verify(t, K1)
    assert claims is not None and claims["exp"] == 4102444800


def test_verify() -> None:
    t = tokens.sign({"id": "a", "type": "auth"}, K1, 60)
    claims = tokens.verify(t, K1)
    assert claims == {"exp": claims["exp"] if claims else 0, "id": "a", "type": "auth"}
    assert tokens.verify(t, K2) is None
    assert tokens.verify(t[:-2] + ("AA" if not t.endswith("AA") else "BB"), K1) is None
    assert tokens.verify(tokens.sign({"id": "a"}, K1, -10), K1) is None


def test_short_keys_work_without_warnings() -> None:
    t = tokens.sign({"id": "a"}, "k", 60)  # pytest turns warnings into errors
    assert tokens.verify(t, "k") is not None


@pytest.mark.parametrize(
    ("header", "claims", "ok"),
    [
        ({"alg": "HS256", "typ": "JWT"}, {"id": "a", "exp": 4102444800}, True),
        ({"alg": "HS256", "typ": "JWT"}, {"id": "a"}, False),  # no exp
        ({"alg": "HS256", "typ": "JWT"}, {"id": "a", "exp": "4102444800"}, False),
        ({"alg": "HS256", "typ": "JWT"}, {"id": "a", "exp": True}, False),
        ({"alg": "HS256", "typ": "JWT"}, {"id": "a", "exp": 4102444800, "nbf": 4102444000}, False),
        ({"alg": "HS384", "typ": "JWT"}, {"id": "a", "exp": 4102444800}, False),
        ({"alg": "none", "typ": "JWT"}, {"id": "a", "exp": 4102444800}, False),
    ],
)
def test_verify_forged(header: dict[str, object], claims: dict[str, object], ok: bool) -> None:
    assert (tokens.verify(_forge(header, claims, K1), K1) is not None) is ok


def test_non_object_payload() -> None:
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    for body in (b"[1,2]", b"null", b"not json"):
        signing = head + "." + base64.urlsafe_b64encode(body).rstrip(b"=").decode()
        sig = base64.urlsafe_b64encode(hmac.new(K1.encode(), signing.encode(), hashlib.sha256).digest())
        token = signing + "." + sig.rstrip(b"=").decode()
        assert tokens.verify(token, K1) is None
        assert tokens.parse_unverified(token) is None


def test_parse_unverified() -> None:
    t = tokens.sign({"id": "a", "type": "auth"}, K1, 60)
    claims = tokens.parse_unverified(t)
    assert claims is not None and claims["type"] == "auth"
    forged = _forge({"alg": "HS256", "typ": "JWT"}, {"id": "b", "exp": 4102444800}, "other-key")
    assert tokens.parse_unverified(forged) == {"id": "b", "exp": 4102444800}
    expired = tokens.sign({"id": "a"}, K1, -10)
    assert tokens.parse_unverified(expired) is None  # as PocketBase's ParseUnverifiedJWT
    assert tokens.parse_unverified(expired, check_times=False) is not None
    future_iat = _forge({"alg": "HS256"}, {"id": "a", "iat": 4102444800}, K1)
    assert tokens.parse_unverified(future_iat) is None


@pytest.mark.parametrize("junk", ["", "x", "not.a.jwt", "a.b", "a.b.c.d", "....", "Bearer x.y.z", "é.é.é"])
def test_junk_never_raises(junk: str) -> None:
    assert tokens.parse_unverified(junk) is None
    assert tokens.verify(junk, K1) is None


def test_wrong_types_never_raise() -> None:
    assert tokens.parse_unverified(None) is None  # type: ignore[arg-type]
    assert tokens.verify(None, K1) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("  Bearer abc  ", "abc"),
        ("abc", "abc"),
        ("Bearer ", "Bearer"),  # too short to carry a token: left as is (then fails to parse)
        ("", ""),
        ("Bearerabc", "Bearerabc"),
        ("Token abc", "Token abc"),
    ],
)
def test_strip_bearer(raw: str, expected: str) -> None:
    assert tokens.strip_bearer(raw) == expected


def test_pyjwt_tokens_verify_here_and_ours_there() -> None:
    """The codec is a hand-written subset of JWS: PyJWT is the reference in both directions."""
    theirs = jwt.encode({"id": "x", "exp": 4102444800, "type": "auth"}, K1, algorithm="HS256")
    assert tokens.verify(theirs, K1) == {"id": "x", "exp": 4102444800, "type": "auth"}
    assert tokens.verify(theirs, K2) is None
    ours = tokens.sign({"id": "é", "n": 1.5, "list": [1, "a"]}, K2, 60)
    assert jwt.decode(ours, K2, algorithms=["HS256"])["id"] == "é"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(ours, K1, algorithms=["HS256"])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + ".",
        lambda t: t.replace(".", "..", 1),
        lambda t: "!" + t,
        lambda t: t[:-1] + "+",
        lambda t: t[:-1] + "=",
        lambda t: t.rsplit(".", 1)[0] + ".",
        lambda t: t.rsplit(".", 1)[0] + "." + "A" * 5,
        lambda t: "é" + t,
        lambda t: t * 300,
        lambda t: "",
        lambda t: "a.b",
    ],
)
def test_malformed_tokens_are_rejected_like_pyjwt(mangle: object) -> None:
    good = tokens.sign({"id": "a", "type": "auth"}, K1, 60)
    bad = mangle(good)  # type: ignore[operator]
    assert tokens.verify(bad, K1) is None
    with pytest.raises((jwt.PyJWTError, ValueError)):
        jwt.decode(bad, K1, algorithms=["HS256"])
