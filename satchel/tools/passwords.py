"""Password hashing: argon2id for new hashes, bcrypt hashes (e.g. imported from PocketBase) still verify.

Verification never raises: a stored hash is data, and a corrupt one must read as "wrong password",
not as a server error. Hashing is CPU-bound; async callers should run it in a worker thread.
"""

from __future__ import annotations

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

DEFAULT_TIME_COST = RFC_9106_LOW_MEMORY.time_cost
DEFAULT_MEMORY_COST = RFC_9106_LOW_MEMORY.memory_cost  # KiB
DEFAULT_PARALLELISM = RFC_9106_LOW_MEMORY.parallelism
BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_BCRYPT_MAX_BYTES = 72  # bcrypt ignores the rest; the bcrypt package refuses it instead

hasher = PasswordHasher(time_cost=DEFAULT_TIME_COST, memory_cost=DEFAULT_MEMORY_COST, parallelism=DEFAULT_PARALLELISM)
_dummy: str | None = None


def configure(
    time_cost: int = DEFAULT_TIME_COST, memory_cost: int = DEFAULT_MEMORY_COST, parallelism: int = DEFAULT_PARALLELISM
) -> None:
    """Set the argon2 cost of new hashes (tests use the cheapest valid one to stay fast).

    Hashes made with other parameters keep verifying; `needs_rehash` reports them as outdated.
    """
    global hasher, _dummy
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy = None


def dummy_hash() -> str:
    """A hash with the current cost, to verify against when there is no real one (unknown user).

    Verifying it costs what verifying a real password costs, so response times do not tell
    whether an account exists. Made on first use, after `configure`: a hash made at import time
    would carry the default cost (64 MiB, t=3), not the configured one, and its timing would
    differ from real accounts' (and every process would peak 64 MiB higher at start).
    """
    global _dummy
    if _dummy is None:
        _dummy = hash_password("satchel-timing-equaliser")
    return _dummy


def hash_password(password: str) -> str:
    return hasher.hash(password)


def is_bcrypt(hashed: str) -> bool:
    return hashed.startswith(BCRYPT_PREFIXES)


def verify_password(hashed: str, password: str) -> bool:
    if not isinstance(hashed, str) or not isinstance(password, str) or not hashed:
        return False
    if is_bcrypt(hashed):
        try:
            return bcrypt.checkpw(password.encode()[:_BCRYPT_MAX_BYTES], hashed.encode())
        except (ValueError, TypeError):
            return False
    try:
        return hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError, ValueError, TypeError):
        return False


def needs_rehash(hashed: str) -> bool:
    """True when `hashed` is not argon2id with the current parameters (bcrypt, old cost, garbage)."""
    if not isinstance(hashed, str) or is_bcrypt(hashed):
        return True
    try:
        return hasher.check_needs_rehash(hashed)
    except (InvalidHashError, ValueError, TypeError):
        return True
