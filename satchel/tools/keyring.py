"""The encryption keys of one deployment: the current key, which seals, and older ones, which still open.

A rotation cannot rewrite every stored value at the same instant (records are re-encrypted row by
row while servers keep running), so readers must accept any key a value names by its id; writers
always use the current key. Settings secrets, record fields and blind indexes all resolve their
keys here, so one `SATCHEL_ENCRYPTION_KEY` (plus `SATCHEL_ENCRYPTION_KEYS_OLD` during a rotation)
configures everything.

Blind indexes (equality search over encrypted fields) are HMAC-SHA256 under a key derived with
HKDF from each ring key and the place the value lives: never the encryption key itself, and a
different key per field, so equal values in two fields do not share an index.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from satchel.tools.jsonutil import JSONDecodeError, dumps, loads
from satchel.tools.secretbox import SEALED_KEY, SealedValueError, SecretBox, is_sealed, sealed_key_id

BLIND_INDEX_INFO = b"satchel blind index v1\x00"
BLIND_INDEX_HEX = 32
"""Hex digits kept of each HMAC (128 bits): plenty against collisions, half the storage."""
_SEALED_TEXT_PREFIX = '{"' + SEALED_KEY + '"'


class KeyRing:
    """The current key (None: values are stored in clear) and older keys kept for opening."""

    def __init__(self, current: bytes = b"", old: Sequence[bytes] = ()) -> None:
        self.current = SecretBox(current) if current else None
        self._raw: dict[str, bytes] = {}
        self._boxes: dict[str, SecretBox] = {}
        for key in ([current] if current else []) + [k for k in old if k]:
            box = SecretBox(key)
            if box.key_id not in self._boxes:
                self._boxes[box.key_id] = box
                self._raw[box.key_id] = key

    def __repr__(self) -> str:
        return f"KeyRing(current={self.key_id!r}, keys={list(self._boxes)!r})"

    def __deepcopy__(self, memo: dict[int, Any]) -> KeyRing:
        return self  # shared, never copied along with the collections that point at it

    @property
    def key_id(self) -> str:
        """The id of the current key ("" when there is none)."""
        return self.current.key_id if self.current is not None else ""

    @property
    def key_ids(self) -> list[str]:
        """Every key id of the ring, the current one first."""
        return list(self._boxes)

    def box(self, key_id: str) -> SecretBox | None:
        return self._boxes.get(key_id)

    def derive(self, key_id: str, salt: bytes, info: bytes, length: int) -> bytes:
        """A key for another use (backup archives) from one ring key, by HKDF-SHA256: the ring key
        itself never leaves the ring, and a distinct `info` keeps each use's keys apart."""
        raw = self._raw.get(key_id)
        if raw is None:
            raise SealedValueError(f"no key {key_id or '(current)'} to derive from", key_id)
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(raw)

    # ------------------------------------------------------------ single values
    def seal(self, plaintext: str, label: str) -> dict[str, str]:
        if self.current is None:
            raise SealedValueError(f"{label}: no encryption key is configured")
        return self.current.seal(plaintext, label)

    def open(self, sealed: Any, label: str) -> str:
        """Open with whichever ring key sealed the value (SealedValueError names the key when absent)."""
        key_id = sealed_key_id(sealed)
        if not key_id:
            raise SealedValueError(f"{label}: not a sealed value of a known format")
        box = self._boxes.get(key_id)
        if box is None:
            raise SealedValueError(f"{label}: sealed with the key {key_id}, which is not configured", key_id)
        return box.open(sealed, label)

    # ---------------------------------------------------- values kept as text
    def seal_text(self, plaintext: str, label: str) -> str:
        """A sealed value as the JSON text stored in a column (valid JSON, so jsonb columns take it)."""
        return dumps(self.seal(plaintext, label)).decode()

    def open_text(self, stored: Any, label: str) -> str:
        return self.open(parse_sealed(stored), label)

    # ---------------------------------------------------------- blind indexes
    def blind_index(self, value: str, context: str, key_id: str = "") -> str:
        """The blind index of `value` at `context` under one ring key (the current one by default);
        "" for the empty value, so empty values need no key and a new column's default matches."""
        if value == "":
            return ""
        raw = self._raw.get(key_id or self.key_id)
        if raw is None:
            raise SealedValueError(f"{context}: no key {key_id or '(current)'} to compute a blind index with")
        digest = hmac.new(_index_key(raw, context), value.encode(), hashlib.sha256).hexdigest()
        return digest[:BLIND_INDEX_HEX]

    def blind_indexes(self, value: str, context: str) -> tuple[str, ...]:
        """The index under every ring key (current first): a search matches rows not yet rotated."""
        if value == "":
            return ("",)
        return tuple(self.blind_index(value, context, key_id) for key_id in self._boxes)


@functools.lru_cache(maxsize=4096)
def _index_key(master: bytes, context: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=BLIND_INDEX_INFO + context.encode())
    return hkdf.derive(master)


def parse_sealed(stored: Any) -> Any:
    """A stored column value as a sealed object when it is one (JSON text or decoded jsonb), else None."""
    if isinstance(stored, bytes):
        stored = stored.decode(errors="replace")
    if isinstance(stored, str) and stored.startswith(_SEALED_TEXT_PREFIX):
        try:
            stored = loads(stored)
        except JSONDecodeError:
            return None
    return stored if is_sealed(stored) else None


def stored_key_id(stored: Any) -> str:
    """The key id a stored column value was sealed with ("" when it is not sealed)."""
    return sealed_key_id(parse_sealed(stored))
