"""Encryption of backup archives: AES-256-GCM in authenticated chunks, keyed by a passphrase or the key ring.

An archive may sit in a bucket that more people can read than the database: with a passphrase or
an encryption key configured, it is stored encrypted. The format is a chunked AEAD stream (the
STREAM construction), with one of two headers:

    passphrase = MAGIC, scrypt cost (log2 N, r, p), 16-byte salt, 7-byte nonce prefix, 16-byte key check
    key ring   = RING_MAGIC, key id (16 hex digits), 16-byte salt, 7-byte nonce prefix, 16-byte key check
    record     = 4-byte big-endian length, then AES-GCM(chunk of at most 64 KiB) with its 16-byte tag

Each record's nonce is the prefix, its 4-byte index and a final-record flag, and the header is
the associated data of every record. So records cannot be reordered, dropped or taken from
another archive, a cut-off archive lacks its flagged final record and is refused, and the header
cannot be edited. The key check (key material beyond the AES key) tells a wrong passphrase apart
from a damaged archive. A passphrase key comes from scrypt with a random salt, so equal
passphrases never share a key. A key-ring key comes from HKDF-SHA256 over the ring key the header
names (its id, which reveals nothing of it), with a random salt and a label of its own: never the
ring key itself, and a fresh key per archive. Both headers have a fixed size and bounded fields,
so a crafted one can neither make a restore allocate without limit nor crash it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import struct
from collections.abc import AsyncIterable, AsyncIterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from satchel.tools.keyring import KeyRing

MAGIC = b"SATCHEL-BACKUP-AES256GCM\x00\x01"
"""First bytes of a passphrase-encrypted archive (a zip starts with `PK`)."""
RING_MAGIC = b"SATCHEL-BACKUP-AES256GCM\x00\x02"
"""First bytes of an archive encrypted with a key of the key ring (as long as MAGIC)."""
RING_INFO = b"satchel backup archive v1\x00"
"""HKDF label of archive keys: no other use of a ring key derives the same bytes."""
KEY_ID = 16
_HEX = frozenset(b"0123456789abcdef")
CHUNK = 64 << 10
TAG = 16
SALT = 16
PREFIX = 7
CHECK = 16
LOG2_N, R, P = 15, 8, 1
"""scrypt cost for new archives: 32 MiB and ~0.1 s per derivation."""
MAX_LOG2_N, MAX_R, MAX_P = 18, 16, 4
"""Bounds for a header's cost, so a crafted archive cannot make a restore allocate without limit."""
_COST = struct.Struct(">BBB")
_LENGTH = struct.Struct(">I")
HEADER_SIZE = len(MAGIC) + _COST.size + SALT + PREFIX + CHECK
RING_HEADER_SIZE = len(RING_MAGIC) + KEY_ID + SALT + PREFIX + CHECK


class DecryptionError(Exception):
    """The archive cannot be decrypted; the message is safe to show."""


class WrongPassphraseError(DecryptionError):
    pass


class MissingKeyError(DecryptionError):
    """The archive names a ring key this instance does not have."""

    def __init__(self, message: str, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id


def is_encrypted(head: bytes) -> bool:
    return head.startswith((MAGIC, RING_MAGIC))


def header_key_id(head: bytes) -> str:
    """The ring key id an archive's first bytes name ("" for a zip or a passphrase archive)."""
    if not head.startswith(RING_MAGIC):
        return ""
    raw = head[len(RING_MAGIC) : len(RING_MAGIC) + KEY_ID]
    return raw.decode() if len(raw) == KEY_ID and _HEX.issuperset(raw) else ""


def _derive_ring(ring: KeyRing, key_id: str, salt: bytes) -> tuple[bytes, bytes]:
    out = ring.derive(key_id, salt, RING_INFO, 48)
    return out[:32], out[32:]


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> tuple[bytes, bytes]:
    n = 1 << log2_n
    out = hashlib.scrypt(passphrase.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20), dklen=48)
    return out[:32], out[32:]


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if final else 0)


class _Sealer:
    def __init__(self, aead: AESGCM, header: bytes, prefix: bytes) -> None:
        self.header = header
        self._aead = aead
        self._prefix = prefix
        self._index = 0

    @staticmethod
    async def create(passphrase: str, ring: KeyRing | None) -> _Sealer:
        salt, prefix = os.urandom(SALT), os.urandom(PREFIX)
        if passphrase:
            key, check = await asyncio.to_thread(_derive, passphrase, salt, LOG2_N, R, P)
            return _Sealer(AESGCM(key), MAGIC + _COST.pack(LOG2_N, R, P) + salt + prefix + check, prefix)
        if ring is None or not ring.key_id:
            raise ValueError("encrypting an archive needs a passphrase or a current ring key")
        key, check = _derive_ring(ring, ring.key_id, salt)
        return _Sealer(AESGCM(key), RING_MAGIC + ring.key_id.encode() + salt + prefix + check, prefix)

    def seal(self, chunk: bytes, final: bool) -> bytes:
        if self._index >= 1 << 32:
            raise DecryptionError("archive too large to encrypt")
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, final), chunk, self.header)
        self._index += 1
        return _LENGTH.pack(len(sealed)) + sealed


async def encrypt(
    chunks: AsyncIterable[bytes], passphrase: str = "", ring: KeyRing | None = None
) -> AsyncIterator[bytes]:
    """The encrypted form of the concatenated `chunks`: with the passphrase when there is one
    (it takes precedence), else with a key derived from the ring's current key."""
    sealer = await _Sealer.create(passphrase, ring)
    yield sealer.header
    pending = b""
    async for chunk in chunks:
        pending += chunk
        while len(pending) > CHUNK:  # keep at least one byte back: the last record is flagged final
            yield sealer.seal(pending[:CHUNK], final=False)
            pending = pending[CHUNK:]
    yield sealer.seal(pending, final=True)


class Decryptor:
    """Incremental decryption: feed the archive's bytes in any pieces, then `finish`."""

    def __init__(self, passphrase: str = "", ring: KeyRing | None = None) -> None:
        self._passphrase = passphrase
        self._ring = ring
        self._buffer = bytearray()
        self._header = b""
        self._prefix = b""
        self._aead: AESGCM | None = None
        self._index = 0
        self._done = False

    async def feed(self, data: bytes) -> bytes:
        self._buffer += data
        if self._aead is None:
            if len(self._buffer) < len(MAGIC):
                return b""
            size = RING_HEADER_SIZE if self._buffer.startswith(RING_MAGIC) else HEADER_SIZE
            if len(self._buffer) < size:
                return b""
            self._aead = await self._open_header(bytes(self._buffer[:size]))
            del self._buffer[:size]
        return self._records(self._aead)

    def _records(self, aead: AESGCM) -> bytes:
        out: list[bytes] = []
        while len(self._buffer) >= _LENGTH.size:
            if self._done:
                raise DecryptionError("The backup archive has data after its end: it is damaged.")
            (length,) = _LENGTH.unpack_from(self._buffer)
            if not TAG <= length <= CHUNK + TAG:
                raise DecryptionError("The backup archive is damaged (bad record length).")
            if len(self._buffer) < _LENGTH.size + length:
                break
            record = bytes(self._buffer[_LENGTH.size : _LENGTH.size + length])
            del self._buffer[: _LENGTH.size + length]
            out.append(self._open(aead, record))
        return b"".join(out)

    def _open(self, aead: AESGCM, record: bytes) -> bytes:
        for final in (False, True):
            try:
                plain = aead.decrypt(_nonce(self._prefix, self._index, final), record, self._header)
            except InvalidTag:
                continue
            self._index += 1
            self._done = final
            return plain
        raise DecryptionError("The backup archive is damaged (a chunk failed authentication).")

    async def _open_header(self, header: bytes) -> AESGCM:
        if header.startswith(RING_MAGIC):
            return self._open_ring_header(header)
        if not header.startswith(MAGIC):
            raise DecryptionError("The backup archive is not encrypted with a Satchel passphrase or key.")
        if not self._passphrase:
            raise DecryptionError(
                "The backup is encrypted: set the backup passphrase (SATCHEL_BACKUP_PASSPHRASE) to restore it."
            )
        offset = len(MAGIC)
        log2_n, r, p = _COST.unpack_from(header, offset)
        offset += _COST.size
        salt = header[offset : offset + SALT]
        prefix = header[offset + SALT : offset + SALT + PREFIX]
        check = header[offset + SALT + PREFIX :]
        if not (10 <= log2_n <= MAX_LOG2_N and 1 <= r <= MAX_R and 1 <= p <= MAX_P):
            raise DecryptionError("The backup archive's encryption header is damaged.")
        key, expected = await asyncio.to_thread(_derive, self._passphrase, salt, log2_n, r, p)
        if not hmac.compare_digest(check, expected):
            raise WrongPassphraseError("The backup passphrase is wrong.")
        self._header, self._prefix = header, prefix
        return AESGCM(key)

    def _open_ring_header(self, header: bytes) -> AESGCM:
        key_id = header_key_id(header)
        if not key_id:
            raise DecryptionError("The backup archive's encryption header is damaged (bad key id).")
        if self._ring is None or self._ring.box(key_id) is None:
            have = ", ".join(self._ring.key_ids) if self._ring is not None and self._ring.key_ids else "none"
            raise MissingKeyError(
                f"The backup archive is encrypted with the key {key_id}, which is not configured "
                f"(configured keys: {have}); add it to SATCHEL_ENCRYPTION_KEYS_OLD to restore it. "
                "The backup was not restored.",
                key_id,
            )
        offset = len(RING_MAGIC) + KEY_ID
        salt = header[offset : offset + SALT]
        prefix = header[offset + SALT : offset + SALT + PREFIX]
        check = header[offset + SALT + PREFIX :]
        key, expected = _derive_ring(self._ring, key_id, salt)
        if not hmac.compare_digest(check, expected):
            raise DecryptionError("The backup archive's encryption header is damaged (the key check failed).")
        self._header, self._prefix = header, prefix
        return AESGCM(key)

    def finish(self) -> None:
        """Raise unless the whole archive, up to its final record, was fed."""
        if self._aead is None or not self._done or self._buffer:
            raise DecryptionError("The backup archive is truncated.")
