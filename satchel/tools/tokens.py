"""HS256 JSON Web Tokens; verification and parsing never raise.

Tokens are byte-compatible with PocketBase's: `{"alg":"HS256","typ":"JWT"}` header and a compact
payload with keys in sorted order (Go serialises its claims map sorted), so a token is the same
whichever server issued it.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from jwt.algorithms import HMACAlgorithm
from jwt.api_jws import PyJWS
from jwt.exceptions import PyJWTError

ALGORITHM = "HS256"


class _HS256(HMACAlgorithm):
    """HS256 without PyJWT's short-key warning: key strength is the caller's policy, as in PocketBase."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)

    def check_key_length(self, key: bytes) -> str | None:
        return None


_jws = PyJWS(algorithms=[])
_jws.register_algorithm(ALGORITHM, _HS256())


def sign(claims: dict[str, Any], secret: str, duration_seconds: int) -> str:
    """A signed token expiring `duration_seconds` from now (an `exp` in `claims` wins, as in PocketBase)."""
    payload: dict[str, Any] = {"exp": int(time.time() + duration_seconds), **claims}
    body = json.dumps(dict(sorted(payload.items())), separators=(",", ":"), ensure_ascii=False)
    return _jws.encode(body.encode(), secret, algorithm=ALGORITHM)


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


def _claims(payload: bytes) -> dict[str, Any] | None:
    try:
        claims = json.loads(payload)
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def parse_unverified(token: str, *, check_times: bool = True) -> dict[str, Any] | None:
    """Claims without checking the signature; None if `token` is not a JWT with an object payload.

    Like PocketBase, expired or not-yet-valid tokens (`exp`, `nbf`, `iat`) are rejected even here,
    unless `check_times` is off.
    """
    try:
        payload = _jws.decode_complete(token, options={"verify_signature": False})["payload"]
    except (PyJWTError, ValueError, TypeError):
        return None
    claims = _claims(payload)
    if claims is None or (check_times and not _times_ok(claims, check_iat=True)):
        return None
    return claims


def verify(token: str, secret: str) -> dict[str, Any] | None:
    """Claims when `token` is signed with `secret` (HS256 only) and carries an unexpired `exp`."""
    try:
        payload = _jws.decode(token, secret, algorithms=[ALGORITHM])
    except (PyJWTError, ValueError, TypeError):
        return None
    claims = _claims(payload)
    if claims is None or "exp" not in claims or not _times_ok(claims, check_iat=False):
        return None
    return claims


def strip_bearer(header_value: str) -> str:
    """The token in an Authorization header; the `Bearer ` scheme is optional, as in PocketBase."""
    value = header_value.strip()
    if len(value) > 7 and value[:7].lower() == "bearer ":
        return value[7:]
    return value
