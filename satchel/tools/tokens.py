"""HS256 JSON Web Tokens (PyJWT); verification never raises."""

from __future__ import annotations

import time
from typing import Any

import jwt


def sign(claims: dict[str, Any], secret: str, duration_seconds: int) -> str:
    payload = dict(claims)
    payload["exp"] = int(time.time()) + int(duration_seconds)
    return jwt.encode(dict(sorted(payload.items())), secret, algorithm="HS256")


def parse_unverified(token: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def verify(token: str, secret: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def strip_bearer(value: str) -> str:
    value = value.strip()
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return value
