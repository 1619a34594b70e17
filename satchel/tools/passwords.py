"""Password hashing: argon2id for new hashes; bcrypt hashes (e.g. imported from PocketBase) verify."""

from __future__ import annotations

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


def configure(*, time_cost: int = 2, memory_cost: int = 19456, parallelism: int = 1) -> None:
    """Set argon2 cost; tests use the cheapest valid parameters to stay fast."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _is_bcrypt(hashed: str) -> bool:
    return hashed.startswith(("$2a$", "$2b$", "$2y$"))


def verify_password(hashed: str, password: str) -> bool:
    """Never raises: a malformed hash simply does not verify."""
    if not hashed or not isinstance(password, str):
        return False
    if _is_bcrypt(hashed):
        try:
            return bcrypt.checkpw(password.encode()[:72], hashed.encode())
        except ValueError:
            return False
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    if _is_bcrypt(hashed):
        return True
    try:
        return _hasher.check_needs_rehash(hashed)
    except (InvalidHashError, ValueError):
        return True
