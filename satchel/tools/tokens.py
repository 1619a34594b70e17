"""HS256 JSON Web Tokens; verification and parsing never raise.

Tokens are byte-compatible with PocketBase's: `{"alg":"HS256","typ":"JWT"}` header and a compact
payload with keys in sorted order (Go serialises its claims map sorted), so a token is the same
whichever server issued it.

Why not PyJWT on this path: every authenticated request parses a token and checks its signature,
and PyJWT's per-character segment validation (three parses per request) was ~40% of an
auth-refresh under cProfile; replacing it took the in-process request from 636 to 222 us.
Compact HS256 is one HMAC-SHA256 from the standard library, so
the codec here is a strict, small subset: only HS256, strict base64url, object payloads. The
tests check every token against PyJWT in both directions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import time
from typing import Any, NamedTuple

import orjson

ALGORITHM = "HS256"
_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
_SEGMENT = re.compile(rb"[A-Za-z0-9_-]*")
_MAX_TOKEN = 8192


class _Parsed(NamedTuple):
    signing_input: bytes
    claims: dict[str, Any]
    signature: bytes


def _b64encode(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _b64decode(segment: bytes) -> bytes | None:
    if len(segment) % 4 == 1 or _SEGMENT.fullmatch(segment) is None:
        return None
    try:
        return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _parse(token: str) -> _Parsed | None:
    """The three segments decoded; None unless the header says HS256 and the payload is an object."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or not token.isascii():
        return None
    raw = token.encode()
    parts = raw.split(b".")
    if len(parts) != 3:
        return None
    head, body, sig = (_b64decode(p) for p in parts)
    if head is None or body is None or sig is None:
        return None
    try:
        header, claims = orjson.loads(head), orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM or not isinstance(claims, dict):
        return None
    return _Parsed(parts[0] + b"." + parts[1], claims, sig)


def _mac(secret: str, signing_input: bytes) -> bytes:
    return hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()


def sign(claims: dict[str, Any], secret: str, duration_seconds: int) -> str:
    """A signed token expiring `duration_seconds` from now (an `exp` in `claims` wins, as in PocketBase)."""
    payload: dict[str, Any] = {"exp": int(time.time() + duration_seconds), **claims}
    signing_input = _HEADER + b"." + _b64encode(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
    return (signing_input + b"." + _b64encode(_mac(secret, signing_input))).decode()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _times_ok(claims: dict[str, Any], *, check_iat: bool) -> bool:
    now = time.time()
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if exp is not None and not (_is_number(exp) and now < exp):
        return False
    if nbf is not None and not (_is_number(nbf) and now >= nbf):
        return False
    return not (check_iat and iat is not None and not (_is_number(iat) and now >= iat))


def parse_unverified(token: str, *, check_times: bool = True) -> dict[str, Any] | None:
    """Claims without checking the signature; None if `token` is not a JWT with an object payload.

    Like PocketBase, expired or not-yet-valid tokens (`exp`, `nbf`, `iat`) are rejected even here,
    unless `check_times` is off.
    """
    parsed = _parse(token)
    if parsed is None or (check_times and not _times_ok(parsed.claims, check_iat=True)):
        return None
    return parsed.claims


def verify(token: str, secret: str) -> dict[str, Any] | None:
    """Claims when `token` is signed with `secret` (HS256 only) and carries an unexpired `exp`."""
    parsed = _parse(token)
    if parsed is None or not hmac.compare_digest(_mac(secret, parsed.signing_input), parsed.signature):
        return None
    claims = parsed.claims
    if "exp" not in claims or not _times_ok(claims, check_iat=False):
        return None
    return claims


def strip_bearer(header_value: str) -> str:
    """The token in an Authorization header; the `Bearer ` scheme is optional, as in PocketBase."""
    value = header_value.strip()
    if len(value) > 7 and value[:7].lower() == "bearer ":
        return value[7:]
    return value
