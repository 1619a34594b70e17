"""AES-256-GCM for single secret values kept at rest (settings passwords, OAuth2 client secrets).

A sealed value is a JSON object `{"$encrypted": "v1.<key id>.<base64url(nonce | ciphertext | tag)>"}`
rather than a string: a secret is always a string, so a stored value is unambiguously either a
plaintext secret (written without a key, or by PocketBase) or a sealed one, and never mistaken for
the other. The key id (an HMAC of a fixed label under the key, 8 bytes) names which key sealed a
value without revealing anything of it, so a wrong key is reported as such, not as damage.
Each value is bound to where it lives (`label`, the GCM associated data): a sealed SMTP password
copied into the S3 secret does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import string
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED_KEY = "$encrypted"
VERSION = "v1"
KEY_SIZE = 32
NONCE_SIZE = 12
KEY_ID_LABEL = b"satchel secretbox key id v1"


class KeyFormatError(ValueError):
    """The configured key is not 32 bytes in one of the accepted spellings (the key is never quoted)."""


class SealedValueError(Exception):
    """A sealed value cannot be opened; the message names the key ids involved, never a secret."""

    def __init__(self, message: str, key_id: str = "") -> None:
        super().__init__(message)
        self.key_id = key_id
        """The id of the key that sealed the value, when the value was readable enough to tell."""


def parse_key(text: str) -> bytes:
    """32 bytes from 64 hex digits, 44 characters of base64, or 32 characters used as they are
    (PocketBase's `PB_ENCRYPTION_KEY` format, so one key can serve both)."""
    text = text.strip()
    if len(text) == 2 * KEY_SIZE and all(c in string.hexdigits for c in text):
        return bytes.fromhex(text)
    if len(text) == 44 and text.endswith("="):
        try:
            raw = base64.b64decode(text, altchars=b"-_" if ("-" in text or "_" in text) else None, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == KEY_SIZE:
            return raw
    raw = text.encode()
    if len(raw) == KEY_SIZE:
        return raw
    raise KeyFormatError(
        f"an encryption key must be 64 hex digits, base64 of 32 bytes or 32 characters (got {len(text)} characters)"
    )


def new_key() -> str:
    """A fresh key in the hex spelling (what `satchel settings new-key` prints)."""
    return os.urandom(KEY_SIZE).hex()


def key_id_of(key: bytes) -> str:
    return hmac.new(key, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(SEALED_KEY), str)


def sealed_key_id(value: Any) -> str:
    """The id of the key that sealed `value` ("" when it is not a readable sealed value)."""
    if not is_sealed(value):
        return ""
    parts = value[SEALED_KEY].split(".")
    return parts[1] if len(parts) == 3 and parts[0] == VERSION else ""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise KeyFormatError(f"an encryption key must be {KEY_SIZE} bytes")
        self._aead = AESGCM(key)
        self.key_id = key_id_of(key)

    def __repr__(self) -> str:
        return f"SecretBox(key_id={self.key_id!r})"

    def seal(self, plaintext: str, label: str) -> dict[str, str]:
        nonce = os.urandom(NONCE_SIZE)
        body = nonce + self._aead.encrypt(nonce, plaintext.encode(), label.encode())
        token = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return {SEALED_KEY: f"{VERSION}.{self.key_id}.{token}"}

    def open_pocketbase(self, text: str) -> bytes:
        """A value PocketBase encrypted with this key (`security.Encrypt`: base64 of nonce,
        ciphertext and tag, nothing bound to it): its whole settings blob under `PB_ENCRYPTION_KEY`."""
        try:
            body = base64.b64decode(text.strip(), validate=True)
            return self._aead.decrypt(body[:NONCE_SIZE], body[NONCE_SIZE:], None)
        except (binascii.Error, ValueError, InvalidTag) as exc:
            raise SealedValueError("not encrypted with the configured key") from exc

    def open(self, sealed: Any, label: str) -> str:
        key_id = sealed_key_id(sealed)
        if not key_id:
            raise SealedValueError(f"{label}: not a sealed value of a known format")
        if key_id != self.key_id:
            raise SealedValueError(
                f"{label}: sealed with the key {key_id}, but the configured key is {self.key_id}", key_id
            )
        token = sealed[SEALED_KEY].rsplit(".", 1)[1]
        try:
            body = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            plain = self._aead.decrypt(body[:NONCE_SIZE], body[NONCE_SIZE:], label.encode())
            return plain.decode()
        except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError) as exc:
            raise SealedValueError(f"{label}: the sealed value is damaged or was moved from elsewhere", key_id) from exc
