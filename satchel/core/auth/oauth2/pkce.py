"""PKCE (RFC 7636) with the S256 method, as PocketBase generates it for `auth-methods`."""

from __future__ import annotations

import base64
import hashlib

from satchel.tools.ids import random_string

METHOD = "S256"
VERIFIER_LENGTH = 43
"""The shortest verifier RFC 7636 allows; PocketBase's choice too."""


def new_verifier() -> str:
    return random_string(VERIFIER_LENGTH)


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def nonce(verifier: str) -> str:
    """The OIDC nonce bound to a PKCE verifier, so the server stays stateless.

    `auth-methods` puts it in the authorization URL; at `auth-with-oauth2` the client hands back
    the verifier and the id token must carry this same value, so an id token issued for another
    sign-in (replayed or injected) is refused. Only the client ever held the verifier.
    """
    digest = hashlib.sha256(b"satchel-oidc-nonce:" + verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
