"""Archives encrypted with a key of the key ring: the header names the key, any ring key opens,
a missing key is named, and a crafted header or record is refused."""

from __future__ import annotations

import os
import struct
from collections.abc import AsyncIterator

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from satchel.core.backups.encryption import (
    CHUNK,
    KEY_ID,
    MAGIC,
    RING_HEADER_SIZE,
    RING_INFO,
    RING_MAGIC,
    DecryptionError,
    Decryptor,
    MissingKeyError,
    encrypt,
    header_key_id,
    is_encrypted,
)
from satchel.tools.keyring import KeyRing
from satchel.tools.secretbox import key_id_of

KEY = bytes.fromhex("41" * 32)
NEW = bytes.fromhex("42" * 32)
OTHER = bytes.fromhex("43" * 32)
SALT_AT = len(RING_MAGIC) + KEY_ID


def hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=48, salt=salt, info=info).derive(key)[:32]


async def _chunks(data: bytes, size: int = 10_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _encrypt(data: bytes, ring: KeyRing, passphrase: str = "") -> bytes:
    return b"".join([c async for c in encrypt(_chunks(data), passphrase, ring)])


async def _decrypt(blob: bytes, ring: KeyRing | None, passphrase: str = "", piece: int = 7_777) -> bytes:
    d = Decryptor(passphrase, ring)
    out = [await d.feed(blob[i : i + piece]) for i in range(0, len(blob), piece)]
    d.finish()
    return b"".join(out)


@pytest.mark.parametrize("size", [0, 1, CHUNK, 2 * CHUNK + 5])
async def test_round_trip_with_the_current_key(size: int) -> None:
    data = os.urandom(size)
    blob = await _encrypt(data, KeyRing(KEY))
    assert blob.startswith(RING_MAGIC) and not blob.startswith(MAGIC) and is_encrypted(blob)
    assert header_key_id(blob) == key_id_of(KEY)
    assert KEY not in blob and (size < 16 or data not in blob)
    assert await _decrypt(blob, KeyRing(KEY)) == data
    assert await _decrypt(blob, KeyRing(KEY), piece=1) == data


async def test_each_archive_has_its_own_key_never_the_ring_key() -> None:
    ring = KeyRing(KEY)
    one, two = await _encrypt(b"x" * 100, ring), await _encrypt(b"x" * 100, ring)
    assert one[:SALT_AT] == two[:SALT_AT] and one[SALT_AT:] != two[SALT_AT:]  # same key id, fresh salt
    salt, prefix = one[SALT_AT : SALT_AT + 16], one[SALT_AT + 16 : SALT_AT + 23]
    header, record = one[:RING_HEADER_SIZE], one[RING_HEADER_SIZE + 4 :]
    nonce = prefix + struct.pack(">IB", 0, 1)  # the first record is the final one
    # the archive key is HKDF(ring key, this archive's salt, the backup label), not the ring key
    derived = hkdf(KEY, salt, RING_INFO)
    assert AESGCM(derived).decrypt(nonce, record, header) == b"x" * 100
    for wrong in (
        KEY,
        hkdf(KEY, salt, b"satchel blind index v1\x00"),
        hkdf(KEY, two[SALT_AT : SALT_AT + 16], RING_INFO),
    ):
        with pytest.raises(InvalidTag):
            AESGCM(wrong).decrypt(nonce, record, header)


async def test_an_old_key_still_opens_after_a_rotation() -> None:
    data = os.urandom(CHUNK + 1)
    blob = await _encrypt(data, KeyRing(KEY))
    assert await _decrypt(blob, KeyRing(NEW, [KEY])) == data
    newer = await _encrypt(data, KeyRing(NEW, [KEY]))
    assert header_key_id(newer) == key_id_of(NEW)


async def test_a_key_the_ring_lacks_is_named() -> None:
    blob = await _encrypt(b"secret data", KeyRing(KEY))
    for ring in (KeyRing(NEW, [OTHER]), KeyRing(), None):
        with pytest.raises(MissingKeyError, match=key_id_of(KEY)) as caught:
            await _decrypt(blob, ring)
        assert caught.value.key_id == key_id_of(KEY)
    with pytest.raises(MissingKeyError, match=f"configured keys: {key_id_of(NEW)}, {key_id_of(OTHER)}"):
        await _decrypt(blob, KeyRing(NEW, [OTHER]))


async def test_a_passphrase_takes_precedence_and_each_kind_opens_with_its_own_secret() -> None:
    ring = KeyRing(KEY)
    blob = await _encrypt(b"data", ring, passphrase="pass")
    assert blob.startswith(MAGIC) and header_key_id(blob) == ""
    assert await _decrypt(blob, None, passphrase="pass") == b"data"
    with pytest.raises(DecryptionError, match="set the backup passphrase"):
        await _decrypt(blob, ring)
    ring_blob = await _encrypt(b"data", ring)
    assert await _decrypt(ring_blob, ring, passphrase="unrelated") == b"data"
    with pytest.raises(ValueError, match="passphrase or a current ring key"):
        await _encrypt(b"data", KeyRing())


async def test_crafted_headers_are_refused() -> None:
    blob = await _encrypt(b"data" * 1000, KeyRing(KEY))
    for key_id in (b"\xff" * KEY_ID, b"ABCDEF0123456789", b"../../etc/passwd"):
        forged = RING_MAGIC + key_id + blob[SALT_AT:]
        assert header_key_id(forged) == ""
        with pytest.raises(DecryptionError, match="bad key id"):
            await _decrypt(forged, KeyRing(KEY))
    salted = bytearray(blob)
    salted[SALT_AT] ^= 1
    with pytest.raises(DecryptionError, match="key check failed"):
        await _decrypt(bytes(salted), KeyRing(KEY))
    prefix = bytearray(blob)
    prefix[SALT_AT + 16] ^= 1  # the nonce prefix: not part of the key check, caught by every record
    with pytest.raises(DecryptionError, match="authentication"):
        await _decrypt(bytes(prefix), KeyRing(KEY))
    with pytest.raises(DecryptionError, match="truncated"):
        await _decrypt(blob[: RING_HEADER_SIZE - 1], KeyRing(KEY))


async def test_tampered_records_are_refused() -> None:
    blob = await _encrypt(os.urandom(2 * CHUNK), KeyRing(KEY))
    flipped = bytearray(blob)
    flipped[RING_HEADER_SIZE + 100] ^= 1
    with pytest.raises(DecryptionError, match="authentication"):
        await _decrypt(bytes(flipped), KeyRing(KEY))
    with pytest.raises(DecryptionError, match="truncated"):
        await _decrypt(blob[:-1], KeyRing(KEY))
