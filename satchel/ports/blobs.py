"""The BlobStore port: named byte objects (uploaded files, thumbnails, backup archives).

Keys are `/`-separated relative paths (`<collectionId>/<recordId>/<name>`, `backups/<name>`);
adapters refuse anything else, so a key can never climb out of its root. Writes are atomic: a
reader sees the whole object or nothing, and a write that fails (or exceeds `max_size`) leaves
nothing behind. Bodies move as async byte chunks so that no adapter needs a whole file in memory.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol

KEY_PART = re.compile(r"^[A-Za-z0-9_.@+=,-]+$", re.ASCII)
MAX_KEY_LENGTH = 1000


class BlobError(Exception):
    """The backend is unreachable or refused the operation."""


class BlobNotFoundError(BlobError):
    """No object under that key."""


class BlobTooLargeError(BlobError):
    """A write went past its `max_size`; nothing was stored."""

    def __init__(self, max_size: int) -> None:
        super().__init__(f"larger than {max_size} bytes")
        self.max_size = max_size


class InvalidKeyError(BlobError, ValueError):
    """The key is not a plain relative path (empty parts, `..`, odd characters, too long)."""


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size: int
    modified: float
    """Seconds since the epoch (UTC) of the last write."""
    content_type: str = ""


def check_key(key: str) -> str:
    """`key` itself when it is a safe relative path; InvalidKeyError otherwise (adapters call it)."""
    parts = key.split("/")
    if not key or len(key) > MAX_KEY_LENGTH or any(p in ("", ".", "..") or not KEY_PART.match(p) for p in parts):
        raise InvalidKeyError(f"invalid blob key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A listing/deletion prefix: "" (everything) or a safe key ending in `/`."""
    if prefix and (not prefix.endswith("/") or check_key(prefix[:-1]) != prefix[:-1]):
        raise InvalidKeyError(f"invalid blob prefix: {prefix!r}")
    return prefix


@dataclass(frozen=True, slots=True)
class S3Config:
    """PocketBase's `s3` settings section (for files or for backups)."""

    bucket: str
    region: str
    endpoint: str
    access_key: str
    secret: str
    force_path_style: bool = False

    def __repr__(self) -> str:  # the secret never reaches a log line
        return f"S3Config(bucket={self.bucket!r}, endpoint={self.endpoint!r}, region={self.region!r})"


class BlobStore(Protocol):
    async def write(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "", max_size: int | None = None
    ) -> BlobInfo:
        """Store the concatenated chunks under `key`, replacing any previous object atomically.

        Raises BlobTooLargeError (and stores nothing) once more than `max_size` bytes arrive.
        """
        ...

    async def stat(self, key: str) -> BlobInfo:
        """Size and modification time; BlobNotFoundError when absent."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes in `[start, end)` (to the end when `end` is None) as chunks.

        BlobNotFoundError surfaces on the first iteration when the key is absent.
        """
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove one object; a missing key is not an error (deletes are retried after crashes)."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with `prefix` (which ends in `/`); returns how many."""
        ...

    async def list(self, prefix: str = "") -> list[BlobInfo]:
        """Objects under `prefix` (recursively), sorted by key."""
        ...

    async def close(self) -> None: ...


async def read_all(store: BlobStore, key: str) -> bytes:
    """A whole object in memory: only for small ones (thumbnail sources, tests)."""
    return b"".join([chunk async for chunk in store.read(key)])


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    """Bytes already in memory as the chunk stream `write` takes."""
    yield data
