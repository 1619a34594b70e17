"""The key ring: the current key seals, every key opens what it sealed, blind indexes are keyed per
place and per key, and nothing about a key shows in errors or reprs."""

from __future__ import annotations

import copy
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from satchel.tools.keyring import KeyRing, parse_sealed, stored_key_id
from satchel.tools.secretbox import SealedValueError, key_id_of

A = bytes(range(32))
B = bytes(range(1, 33))


def test_the_current_key_seals_and_older_keys_still_open() -> None:
    old_ring = KeyRing(A)
    sealed_by_a = old_ring.seal_text("secret", "here")
    ring = KeyRing(B, [A])
    assert ring.key_id == key_id_of(B) and ring.key_ids == [key_id_of(B), key_id_of(A)]
    assert ring.open_text(sealed_by_a, "here") == "secret"
    sealed_by_b = ring.seal_text("secret", "here")
    assert stored_key_id(sealed_by_b) == key_id_of(B) and stored_key_id(sealed_by_a) == key_id_of(A)
    with pytest.raises(SealedValueError, match=f"sealed with the key {key_id_of(B)}, which is not configured"):
        old_ring.open_text(sealed_by_b, "here")


def test_a_value_opens_only_where_it_was_sealed() -> None:
    ring = KeyRing(A)
    with pytest.raises(SealedValueError, match="damaged or was moved"):
        ring.open_text(ring.seal_text("secret", "record.c.f.r1"), "record.c.f.r2")


def test_without_a_current_key_nothing_is_sealed() -> None:
    with pytest.raises(SealedValueError, match="no encryption key"):
        KeyRing(b"", [A]).seal("x", "here")


def test_blind_indexes_are_deterministic_per_place_and_per_key() -> None:
    ring = KeyRing(B, [A])
    index = ring.blind_index("x", "c.f")
    assert index == KeyRing(B).blind_index("x", "c.f") and len(index) == 32
    assert index != ring.blind_index("x", "c.g") and index != ring.blind_index("y", "c.f")
    assert ring.blind_indexes("x", "c.f") == (index, KeyRing(A).blind_index("x", "c.f"))
    assert ring.blind_index("", "c.f") == "" and ring.blind_indexes("", "c.f") == ("",)
    # not the HMAC under the encryption key itself: the index key is derived (HKDF)
    assert index != hmac.new(B, b"x", hashlib.sha256).hexdigest()[:32]


def test_stored_values_are_recognised_as_text_or_decoded_json() -> None:
    text = KeyRing(A).seal_text("v", "l")
    assert parse_sealed(text) == parse_sealed(text.encode()) and parse_sealed(text) is not None
    assert parse_sealed({"$encrypted": text.split('"')[3]}) is not None
    assert parse_sealed("plain") is None and parse_sealed('{"$encrypted": 1}') is None and stored_key_id("") == ""


def test_keys_never_show_and_the_ring_is_shared_not_copied() -> None:
    ring = KeyRing(A, [B])
    assert A.hex() not in repr(ring) and B.hex() not in repr(ring) and key_id_of(A) in repr(ring)
    assert copy.deepcopy({"ring": ring})["ring"] is ring


def test_derived_keys_are_hkdf_of_the_named_key_and_never_the_key_itself() -> None:
    ring = KeyRing(B, [A])
    salt = bytes(16)
    derived = ring.derive(key_id_of(A), salt, b"use one", 48)
    assert derived == HKDF(algorithm=hashes.SHA256(), length=48, salt=salt, info=b"use one").derive(A)
    assert A not in derived and B not in derived
    assert derived != ring.derive(key_id_of(A), salt, b"use two", 48)
    assert derived != ring.derive(key_id_of(A), b"\x01" * 16, b"use one", 48)
    assert derived != ring.derive(key_id_of(B), salt, b"use one", 48)
    with pytest.raises(SealedValueError) as caught:
        KeyRing(B).derive(key_id_of(A), salt, b"use one", 48)
    assert caught.value.key_id == key_id_of(A) and A.hex() not in str(caught.value)
