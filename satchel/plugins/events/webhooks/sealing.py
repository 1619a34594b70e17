"""Webhook signing secrets at rest: sealed with the key ring, as the settings secrets are.

Whoever reads a webhook's secret can sign events its receiver trusts, so a database dump or a
backup must not hand it out. The stored value is the settings secrets' envelope
(`{"$encrypted": "v1.<key id>...."}`, as JSON text in the TEXT column) bound to the webhook's id,
so a sealed secret copied onto another webhook does not open. Without a key the secret is stored
in clear, as settings secrets are, and a sealed one then cannot be used: at start that stops the
server (`SecretsKeyError`, naming the key and the fix); met later (a sibling started with another
key, a restored backup) it fails that webhook's deliveries with the reason instead of signing
with something else. Rows written in clear before keep signing and are sealed on their next save
or by `satchel keys rotate`; any ring key opens, so `SATCHEL_ENCRYPTION_KEYS_OLD` covers a rotation.
"""

from __future__ import annotations

from typing import Any

from satchel.core.secrets_at_rest import KEY_HINT
from satchel.tools.keyring import KeyRing, parse_sealed
from satchel.tools.secretbox import SealedValueError, sealed_key_id


def label(hook_id: str) -> str:
    """What a sealed secret is bound to (the GCM associated data)."""
    return f"webhooks.{hook_id}.secret"


def seal(keys: KeyRing, hook_id: str, secret: str) -> str:
    """The column value for `secret`: sealed with the current key, or in clear without one."""
    if keys.current is None or not secret:
        return secret
    return keys.seal_text(secret, label(hook_id))


def looks_sealed(value: Any) -> bool:
    """Whether a value would be read back as a sealed secret (so it cannot be stored in clear)."""
    return parse_sealed(value) is not None


def open_stored(keys: KeyRing, hook_id: str, stored: Any) -> tuple[str, str]:
    """(the secret, "") from a column value, or ("", why it cannot be used): never raises, so one
    unreadable webhook does not stop the others."""
    sealed = parse_sealed(stored)
    if sealed is None:
        return ("" if stored is None else str(stored)), ""
    key_id = sealed_key_id(sealed)
    where = f"The secret of the webhook {hook_id!r} is encrypted with the key {key_id or '(unknown)'}"
    if keys.current is None:
        return "", f"{where} and no encryption key is configured: {KEY_HINT} to that key."
    if key_id and keys.box(key_id) is None:
        return "", (
            f"{where}, which is not configured (configured: {', '.join(keys.key_ids)}): {KEY_HINT} to that key, "
            "or list it in SATCHEL_ENCRYPTION_KEYS_OLD while a rotation runs."
        )
    try:
        return keys.open(sealed, label(hook_id)), ""
    except SealedValueError:
        return "", f"{where}, which does not decrypt it (damaged, or copied from another webhook)."
