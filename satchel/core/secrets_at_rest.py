"""Which stored values are secrets, and sealing them on the way to the database and back.

Only the secret values are encrypted (SMTP password, S3 secrets, OAuth2 client secrets), not the
whole settings document as PocketBase does with `PB_ENCRYPTION_KEY`: the OAuth2 client secrets
live in each collection's options, which a whole-document scheme leaves in clear; the rest of the
settings stays readable to `migrate-data` (it checks `s3.enabled`), to support and to SQL; and
the stored shape stays PocketBase's, with a secret's string replaced by `{"$encrypted": ...}`.

In memory, secrets are always in clear (the mailer and the S3 client need them); the API layer
never shows them. Without a key they are stored in clear, as PocketBase does. A sealed value that
cannot be opened stops the load with `SecretsKeyError`, which names the fix: nothing is reset.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from satchel.tools.jsonutil import JSONDecodeError, loads
from satchel.tools.keyring import KeyRing
from satchel.tools.secretbox import SealedValueError, SecretBox, is_sealed, sealed_key_id

SETTINGS_SECRET_PATHS: tuple[tuple[str, ...], ...] = (
    ("smtp", "password"),
    ("s3", "secret"),
    ("backups", "s3", "secret"),
)
"""Settings values never shown to clients and sealed at rest."""
PROVIDER_SECRET = "clientSecret"  # noqa: S105 - the option's name, not a secret
KEY_HINT = "set SATCHEL_ENCRYPTION_KEY (or --encryption-key-file / SATCHEL_ENCRYPTION_KEY_FILE)"


class SecretsKeyError(Exception):
    """Stored secrets cannot be opened with the configured key (or none is configured).

    Raised at start-up (and on a reload) before anything is changed; the message names the key
    ids and the fix, never a secret.
    """


def _node(doc: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = doc
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _settings_slots(doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(container, key, label) of each secret slot present in a settings document."""
    for path in SETTINGS_SECRET_PATHS:
        node = _node(doc, path)
        if node is not None and path[-1] in node:
            yield node, path[-1], "settings." + ".".join(path)


def _provider_slots(auth: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, str]]:
    oauth2 = auth.get("oauth2")
    providers = oauth2.get("providers") if isinstance(oauth2, dict) else None
    for entry in providers if isinstance(providers, list) else []:
        if isinstance(entry, dict) and PROVIDER_SECRET in entry:
            yield entry, PROVIDER_SECRET, f"oauth2.{entry.get('name', '')}.{PROVIDER_SECRET}"


def has_provider_secrets(auth: dict[str, Any]) -> bool:
    """Whether an auth collection's options hold any OAuth2 client secret (sealed or not)."""
    return any(node[key] for node, key, _ in _provider_slots(auth))


class Secrets:
    """The app's key (or none) applied to settings documents and collection auth options."""

    def __init__(self, box: SecretBox | None = None, *, ring: KeyRing | None = None) -> None:
        self.box = box
        self.ring = ring
        """Older keys (`SATCHEL_ENCRYPTION_KEYS_OLD`) that still open what they sealed before a rotation."""
        self.clear_seen = False
        """Whether a load met a non-empty secret stored in clear (sealed at start when a key is set)."""
        self.old_key_seen = False
        """Whether a load opened a secret with an older key (`satchel keys rotate` re-seals it)."""

    @property
    def key_id(self) -> str:
        return self.box.key_id if self.box is not None else ""

    # ------------------------------------------------------------------ writing
    def _seal(self, slots: Iterator[tuple[dict[str, Any], str, str]]) -> None:
        box = self.box
        if box is None:
            return
        for node, key, label in slots:
            value = node[key]
            if isinstance(value, str) and value:
                node[key] = box.seal(value, label)

    def seal_settings(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(doc)
        self._seal(_settings_slots(out))
        return out

    def seal_auth(self, auth: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(auth)
        self._seal(_provider_slots(out))
        return out

    # ------------------------------------------------------------------ reading
    def _open(self, slots: Iterator[tuple[dict[str, Any], str, str]], where: str) -> None:
        for node, key, label in slots:
            value = node[key]
            if is_sealed(value):
                node[key] = self._open_one(value, label, where)
            elif isinstance(value, str) and value:
                self.clear_seen = True

    def _open_one(self, value: Any, label: str, where: str) -> str:
        if self.box is None:
            raise SecretsKeyError(
                f"{where} hold secrets encrypted with the key {sealed_key_id(value) or '(unknown)'}, and no "
                f"encryption key is configured: {KEY_HINT} to that key. Nothing was changed."
            )
        older = self.ring.box(sealed_key_id(value)) if self.ring is not None else None
        box = self.box if older is None or older.key_id == self.box.key_id else older
        try:
            opened = box.open(value, label)
            self.old_key_seen = self.old_key_seen or box is not self.box
            return opened
        except SealedValueError as exc:
            if exc.key_id and exc.key_id != self.box.key_id:
                raise SecretsKeyError(
                    f"{where} hold secrets encrypted with the key {exc.key_id}, but the configured key is "
                    f"{self.box.key_id}: {KEY_HINT} to the key they were encrypted with (to change keys, "
                    "use `satchel settings rotate-key`). Nothing was changed."
                ) from exc
            raise SecretsKeyError(
                f"{where}: a stored secret cannot be decrypted ({exc}). Nothing was changed."
            ) from exc

    def open_settings(self, stored: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(stored)
        self._open(_settings_slots(out), "The settings")
        return out

    def open_pocketbase_settings(self, raw: str) -> Any:
        """PocketBase's settings row encrypted as a whole (`PB_ENCRYPTION_KEY`, e.g. a `pb_data`
        moved with `migrate-data`), decoded; saved again per value at start (`clear_seen`)."""
        where = "The settings are encrypted as a whole, as PocketBase does with PB_ENCRYPTION_KEY"
        if self.box is None:
            raise SecretsKeyError(f"{where}, and no encryption key is configured: {KEY_HINT} to that key.")
        try:
            decoded = loads(self.box.open_pocketbase(raw))
        except (SealedValueError, JSONDecodeError, UnicodeDecodeError) as exc:
            raise SecretsKeyError(
                f"{where}, and the configured key does not decrypt them: {KEY_HINT} to the PB_ENCRYPTION_KEY "
                "they were encrypted with. Nothing was changed."
            ) from exc
        self.clear_seen = True
        return decoded

    def open_auth(self, auth: dict[str, Any], collection: str) -> dict[str, Any]:
        out = copy.deepcopy(auth)
        self._open(_provider_slots(out), f"The OAuth2 providers of the collection {collection!r}")
        return out
