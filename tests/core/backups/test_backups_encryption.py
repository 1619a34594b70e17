"""Encrypted archives: round trips, and every way a damaged, cut or foreign stream is caught."""

from __future__ import annotations

import os
import struct
from collections.abc import AsyncIterator

import pytest

from satchel.core.backups.encryption import (
    CHUNK,
    HEADER_SIZE,
    MAGIC,
    DecryptionError,
    Decryptor,
    WrongPassphraseError,
    encrypt,
    is_encrypted,
)

PASS = "correct horse battery staple"


async def _chunks(data: bytes, size: int = 10_000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _encrypt(data: bytes, passphrase: str = PASS) -> bytes:
    return b"".join([c async for c in encrypt(_chunks(data), passphrase)])


async def _decrypt(blob: bytes, passphrase: str = PASS, piece: int = 7_777) -> bytes:
    d = Decryptor(passphrase)
    out = [await d.feed(blob[i : i + piece]) for i in range(0, len(blob), piece)]
    d.finish()
    return b"".join(out)


def _records(blob: bytes) -> list[bytes]:
    """The framed records after the header (length prefix included)."""
    out, offset = [], HEADER_SIZE
    while offset < len(blob):
        (length,) = struct.unpack_from(">I", blob, offset)
        out.append(blob[offset : offset + 4 + length])
        offset += 4 + length
    return out


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 123])
async def test_round_trip(size: int) -> None:
    data = os.urandom(size)
    blob = await _encrypt(data)
    assert is_encrypted(blob) and blob.startswith(MAGIC)
    assert size < 16 or data not in blob  # a short string may turn up in random bytes by chance
    assert await _decrypt(blob) == data
    assert await _decrypt(blob, piece=1) == data


async def test_same_data_and_passphrase_never_give_the_same_bytes() -> None:
    assert await _encrypt(b"x" * 100) != await _encrypt(b"x" * 100)


async def test_wrong_passphrase_is_told_apart() -> None:
    blob = await _encrypt(b"secret data")
    with pytest.raises(WrongPassphraseError, match="passphrase is wrong"):
        await _decrypt(blob, "not it")


async def test_truncation_is_detected_at_any_point() -> None:
    blob = await _encrypt(os.urandom(2 * CHUNK + 10))
    records = _records(blob)
    assert len(records) == 3
    cuts = [
        HEADER_SIZE - 1,  # inside the header
        HEADER_SIZE,  # no record at all
        HEADER_SIZE + len(records[0]),  # whole records, final one missing
        HEADER_SIZE + len(records[0]) + len(records[1]),
        len(blob) - 1,  # inside the final record
    ]
    for cut in cuts:
        with pytest.raises(DecryptionError, match="truncated"):
            await _decrypt(blob[:cut])


async def test_tampering_reordering_and_trailing_data_are_refused() -> None:
    blob = await _encrypt(os.urandom(3 * CHUNK))
    header, records = blob[:HEADER_SIZE], _records(blob)
    flipped = bytearray(blob)
    flipped[HEADER_SIZE + 100] ^= 1
    with pytest.raises(DecryptionError, match="authentication"):
        await _decrypt(bytes(flipped))
    swapped = header + records[1] + records[0] + b"".join(records[2:])
    with pytest.raises(DecryptionError, match="authentication"):
        await _decrypt(swapped)
    dropped = header + records[0] + b"".join(records[2:])  # a middle record removed
    with pytest.raises(DecryptionError, match="authentication"):
        await _decrypt(dropped)
    with pytest.raises(DecryptionError, match="after its end"):
        await _decrypt(blob + records[-1])
    other = await _encrypt(os.urandom(3 * CHUNK))
    spliced = header + records[0] + _records(other)[1] + b"".join(records[2:])
    with pytest.raises(DecryptionError, match="authentication"):
        await _decrypt(spliced)


async def test_header_edits_are_refused() -> None:
    blob = bytearray(await _encrypt(b"data"))
    cost = len(MAGIC)
    blob[cost] = 40  # an absurd scrypt cost must not be attempted
    with pytest.raises(DecryptionError, match="header"):
        await _decrypt(bytes(blob))
    with pytest.raises(DecryptionError, match="not encrypted"):
        await _decrypt(b"PK\x03\x04" + bytes(HEADER_SIZE))


async def test_a_huge_record_length_is_refused_before_buffering() -> None:
    blob = await _encrypt(b"data")
    forged = blob[:HEADER_SIZE] + struct.pack(">I", 1 << 30) + b"x" * 10
    with pytest.raises(DecryptionError, match="record length"):
        await _decrypt(forged)
