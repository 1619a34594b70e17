"""AES-256-GCM sealing of single values: key spellings, round trips, and every way opening fails."""

from __future__ import annotations

import base64
import os

import pytest

from satchel.tools.secretbox import (
    SEALED_KEY,
    KeyFormatError,
    SealedValueError,
    SecretBox,
    is_sealed,
    key_id_of,
    new_key,
    parse_key,
    sealed_key_id,
)

RAW = bytes(range(32))


@pytest.mark.parametrize(
    "text",
    [RAW.hex(), RAW.hex().upper(), base64.b64encode(RAW).decode(), base64.urlsafe_b64encode(RAW).decode()],
)
def test_a_key_is_read_from_hex_and_base64(text: str) -> None:
    assert parse_key(f"  {text}\n") == RAW


def test_a_32_character_key_is_used_as_pocketbase_does() -> None:
    assert parse_key("0123456789abcdefghijklmnopqrstuv") == b"0123456789abcdefghijklmnopqrstuv"


@pytest.mark.parametrize("text", ["short", "x" * 31, "x" * 33, "é" * 32, "=" * 44, "g" * 64])
def test_a_key_of_another_length_is_refused_without_quoting_it(text: str) -> None:
    with pytest.raises(KeyFormatError) as info:
        parse_key(text)
    assert text not in str(info.value)
    assert f"got {len(text)} characters" in str(info.value)


def test_new_keys_are_random_and_parse() -> None:
    a, b = new_key(), new_key()
    assert a != b and len(parse_key(a)) == 32


def test_seal_and_open() -> None:
    box = SecretBox(RAW)
    sealed = box.seal("hunter2", "settings.smtp.password")
    assert is_sealed(sealed) and "hunter2" not in sealed[SEALED_KEY]
    assert sealed != box.seal("hunter2", "settings.smtp.password")  # a fresh nonce every time
    assert sealed_key_id(sealed) == box.key_id == key_id_of(RAW)
    assert box.open(sealed, "settings.smtp.password") == "hunter2"
    assert box.open(box.seal("ünïcødé", "x"), "x") == "ünïcødé"


def test_another_key_is_named_not_tried() -> None:
    sealed = SecretBox(RAW).seal("hunter2", "label")
    other = SecretBox(os.urandom(32))
    with pytest.raises(SealedValueError) as info:
        other.open(sealed, "label")
    assert info.value.key_id == key_id_of(RAW)
    assert key_id_of(RAW) in str(info.value) and other.key_id in str(info.value)


def test_a_value_moved_to_another_place_does_not_open() -> None:
    box = SecretBox(RAW)
    sealed = box.seal("hunter2", "settings.smtp.password")
    with pytest.raises(SealedValueError, match="damaged or was moved"):
        box.open(sealed, "settings.s3.secret")


def test_a_tampered_value_does_not_open() -> None:
    box = SecretBox(RAW)
    token = box.seal("hunter2", "label")[SEALED_KEY]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(SealedValueError):
        box.open({SEALED_KEY: flipped}, "label")
    with pytest.raises(SealedValueError, match="known format"):
        box.open({SEALED_KEY: "v9.x.y"}, "label")
    assert not is_sealed("plain") and not is_sealed({SEALED_KEY: 1}) and not is_sealed({SEALED_KEY: "a", "b": "c"})


def test_the_key_never_shows_in_the_repr() -> None:
    assert RAW.hex() not in repr(SecretBox(RAW))
    with pytest.raises(KeyFormatError):
        SecretBox(b"short")
