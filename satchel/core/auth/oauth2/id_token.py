"""ID token checks: signature against the provider's JWKS, issuer, audience, expiry, nonce.

PocketBase checks the audience and `iat` with five minutes' leeway, the issuer when configured
(`extra.issuers`) and the signature when a JWKS URL is known; Satchel also requires `exp` (and
`nonce` when one was sent), and only asymmetric algorithms: a JWKS holds public keys, and an
HMAC token "signed" with one of them must not pass.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from satchel.core.auth.oauth2.http import ProviderError, ProviderHTTP
from satchel.tools.tokens import parse_unverified

if TYPE_CHECKING:  # joserfc (and the cryptography it loads: ~9 MB) is imported on the first id token
    from joserfc.jwk import KeySet

LEEWAY_S = 300
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
JWKS_TTL_S = 600.0

_jwks: dict[str, tuple[float, KeySet]] = {}
"""Key sets by URL; refetched after the TTL or once when a token names a key the set lacks."""


class IdTokenError(ProviderError):
    """The id token is malformed, forged, expired or meant for someone else."""


async def key_set(http: ProviderHTTP, url: str, *, refresh: bool = False) -> KeySet:
    cached = _jwks.get(url)
    if cached is not None and not refresh and time.monotonic() - cached[0] < JWKS_TTL_S:
        return cached[1]
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    data = await http.get_json(url)
    try:
        keys = KeySet.import_key_set(data)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ProviderError(f"{url} is not a JWK set") from exc
    _jwks[url] = (time.monotonic(), keys)
    return keys


async def verify(
    http: ProviderHTTP,
    id_token: str,
    *,
    audience: str,
    jwks_url: str = "",
    issuers: Sequence[str] = (),
    nonce: str | None = None,
    require_exp: bool = True,
) -> dict[str, Any]:
    """The token's claims once every check passed (signature first, when there is a key set)."""
    if not id_token:
        raise IdTokenError("empty id_token")
    claims = await _signed_claims(http, id_token, jwks_url) if jwks_url else _unverified_claims(id_token)
    check_claims(claims, audience=audience, issuers=issuers, nonce=nonce, require_exp=require_exp)
    return claims


async def _signed_claims(http: ProviderHTTP, id_token: str, jwks_url: str) -> dict[str, Any]:
    from joserfc import jwt
    from joserfc.errors import JoseError

    for refresh in (False, True):
        keys = await key_set(http, jwks_url, refresh=refresh)
        try:
            return dict(jwt.decode(id_token, keys, algorithms=ALGORITHMS).claims)
        except JoseError as exc:
            unknown_key = "key" in type(exc).__name__.lower() and not refresh
            if not unknown_key:
                raise IdTokenError(f"id_token signature check failed: {exc.error}") from exc
        except (ValueError, TypeError) as exc:
            raise IdTokenError("malformed id_token") from exc
    raise IdTokenError("id_token signed with an unknown key")  # pragma: no cover - the loop returns or raises


def _unverified_claims(id_token: str) -> dict[str, Any]:
    """Claims of a token whose signature cannot be checked (no JWKS URL configured, as PocketBase allows)."""
    claims = parse_unverified(id_token, check_times=False)
    if claims is None:
        raise IdTokenError("malformed id_token")
    return claims


def check_claims(
    claims: dict[str, Any],
    *,
    audience: str,
    issuers: Sequence[str] = (),
    nonce: str | None = None,
    require_exp: bool = True,
    now: float | None = None,
) -> None:
    at = time.time() if now is None else now
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(a, str) and _equal(a, audience) for a in audiences):
        raise IdTokenError("id_token audience mismatch")
    if issuers:
        iss = claims.get("iss")
        if not isinstance(iss, str) or not any(_equal(iss, i) for i in issuers):
            raise IdTokenError("id_token issuer mismatch")
    exp = claims.get("exp")
    if exp is None and require_exp:
        raise IdTokenError("id_token without exp")
    if exp is not None and (not _number(exp) or at > float(exp) + LEEWAY_S):
        raise IdTokenError("id_token expired")
    iat = claims.get("iat")
    if iat is not None and (not _number(iat) or float(iat) > at + LEEWAY_S):
        raise IdTokenError("id_token issued in the future")
    nbf = claims.get("nbf")
    if nbf is not None and (not _number(nbf) or float(nbf) > at + LEEWAY_S):
        raise IdTokenError("id_token not valid yet")
    if nonce is not None:
        got = claims.get("nonce")
        if not isinstance(got, str) or not _equal(got, nonce):
            raise IdTokenError("id_token nonce mismatch")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
