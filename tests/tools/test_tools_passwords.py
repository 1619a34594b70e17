"""Password hashing: argon2id new hashes, bcrypt legacy hashes, never raising on bad input."""

from __future__ import annotations

from collections.abc import Iterator

import bcrypt
import pytest

from satchel.tools import passwords


@pytest.fixture(autouse=True)
def cheap_hasher() -> Iterator[None]:
    old = passwords.hasher
    passwords.configure(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords.hasher = old


def test_argon2_round_trip() -> None:
    h = passwords.hash_password("secret-1")
    assert h.startswith("$argon2id$") and "m=8,t=1,p=1" in h
    assert passwords.verify_password(h, "secret-1")
    assert not passwords.verify_password(h, "secret-2")
    assert not passwords.verify_password(h, "")
    assert passwords.hash_password("secret-1") != h  # salted
    assert not passwords.needs_rehash(h)


def test_unicode_and_long_passwords() -> None:
    for pw in ("pässwörd ✓", "x" * 1000, ""):
        h = passwords.hash_password(pw)
        assert passwords.verify_password(h, pw)
        assert not passwords.verify_password(h, pw + "!")


def test_outdated_argon2_params_need_rehash_but_verify() -> None:
    old = passwords.hash_password("pw")
    passwords.configure(time_cost=2, memory_cost=16, parallelism=1)
    assert passwords.needs_rehash(old)
    assert passwords.verify_password(old, "pw")
    assert not passwords.needs_rehash(passwords.hash_password("pw"))


def test_defaults_are_production_strength() -> None:
    passwords.configure()
    assert passwords.hasher.memory_cost >= 19456 and passwords.hasher.time_cost >= 2


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$", "$2y$"])
def test_bcrypt_hashes_verify(prefix: str) -> None:
    legacy = bcrypt.hashpw(b"secret-1", bcrypt.gensalt(rounds=4)).decode()
    legacy = prefix + legacy[4:]
    assert passwords.verify_password(legacy, "secret-1")
    assert not passwords.verify_password(legacy, "secret-2")
    assert passwords.needs_rehash(legacy)


def test_bcrypt_only_considers_72_bytes() -> None:
    long_pw = "a" * 72
    legacy = bcrypt.hashpw(long_pw.encode(), bcrypt.gensalt(rounds=4)).decode()
    assert passwords.verify_password(legacy, long_pw)
    assert passwords.verify_password(legacy, long_pw + "ignored by bcrypt")  # as PocketBase's Go bcrypt does
    assert not passwords.verify_password(legacy, "a" * 71)
    assert passwords.verify_password(legacy, "x" * 200) is False


@pytest.mark.parametrize(
    "broken",
    [
        "",
        "plain",
        "$2b$garbage",
        "$2b$04$short",
        "$2x$04$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
        "$argon2id$nope",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$",
        "$argon2i$v=19$m=x,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
        "\x00",
    ],
)
def test_malformed_hashes_never_raise(broken: str) -> None:
    assert passwords.verify_password(broken, "secret-1") is False
    assert passwords.needs_rehash(broken) is True


def test_wrong_types_never_raise() -> None:
    h = passwords.hash_password("pw")
    assert passwords.verify_password(None, "pw") is False  # type: ignore[arg-type]
    assert passwords.verify_password(h, None) is False  # type: ignore[arg-type]
    assert passwords.needs_rehash(None) is True  # type: ignore[arg-type]
