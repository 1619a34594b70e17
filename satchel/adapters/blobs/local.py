"""BlobStore on a local directory (PocketBase's default `pb_data/storage` and `pb_data/backups`).

A write goes to a temp file beside its target and is renamed over it once complete and synced,
so readers see the old bytes or the new ones, never a mix, and a crash leaves at most a temp
file that listings ignore. Temp names contain `~`, which no key may, so they can never collide
with an object. File I/O runs in worker threads: uploads and backup archives can be large.
"""

from __future__ import annotations

import asyncio
import errno
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from satchel.ports.blobs import (
    BlobError,
    BlobInfo,
    BlobNotFoundError,
    BlobTooLargeError,
    check_key,
    check_prefix,
)

READ_CHUNK = 64 << 10
WRITE_BUFFER = 1 << 20
"""Bytes gathered before one write call: fewer thread hops than one per (often tiny) chunk."""
TEMP_MARK = "~"
_MISSING = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR)


@contextmanager
def _os_errors(action: str) -> Iterator[None]:
    """OSError as BlobError; the message names the failure, not the host's directory layout."""
    try:
        yield
    except OSError as exc:
        raise BlobError(f"local storage: failed to {action}: {exc.strerror or type(exc).__name__}") from exc


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def write(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "", max_size: int | None = None
    ) -> BlobInfo:
        path = self._path(key)
        with _os_errors("write"):
            fd, tmp = await asyncio.to_thread(self._open_temp, path.parent)
        file = os.fdopen(fd, "wb")
        try:
            size = await _copy(chunks, file, max_size)
            with _os_errors("write"):
                await asyncio.to_thread(_sync_close, file)
                await asyncio.to_thread(os.replace, tmp, path)
                st = await asyncio.to_thread(path.stat)
        except BaseException:
            await asyncio.to_thread(self._discard, file, tmp)
            raise
        return BlobInfo(key=key, size=size, modified=st.st_mtime, content_type=content_type)

    def _open_temp(self, directory: Path) -> tuple[int, str]:
        # a concurrent delete may prune the directory between mkdir and mkstemp: try again then
        for _ in range(5):
            directory.mkdir(parents=True, exist_ok=True)
            try:
                return tempfile.mkstemp(prefix=TEMP_MARK, suffix=".tmp", dir=directory)
            except FileNotFoundError:
                continue
        raise FileNotFoundError(errno.ENOENT, "directory vanished while writing")

    def _discard(self, file: BinaryIO, tmp: str) -> None:
        file.close()
        with suppress(OSError):
            os.unlink(tmp)
        self._prune(Path(tmp).parent)

    def _prune(self, directory: Path) -> None:
        """Remove empty directories from `directory` up to (not including) the root."""
        root = self.root
        while directory != root and root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    async def stat(self, key: str) -> BlobInfo:
        path = self._path(key)
        try:
            st = await asyncio.to_thread(path.stat)
        except OSError as exc:
            if exc.errno in _MISSING:
                raise BlobNotFoundError(key) from exc
            raise BlobError(f"local storage: failed to stat: {exc.strerror}") from exc
        if not path.is_file():
            raise BlobNotFoundError(key)
        return BlobInfo(key=key, size=st.st_size, modified=st.st_mtime)

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        if start < 0 or (end is not None and end < 0):
            raise ValueError("a byte range cannot be negative")
        return self._read(key, self._path(key), start, end)

    async def _read(self, key: str, path: Path, start: int, end: int | None) -> AsyncIterator[bytes]:
        try:
            file = await asyncio.to_thread(open, path, "rb")
        except OSError as exc:
            if exc.errno in _MISSING:
                raise BlobNotFoundError(key) from exc
            raise BlobError(f"local storage: failed to read: {exc.strerror}") from exc
        try:
            with _os_errors("read"):
                await asyncio.to_thread(file.seek, start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                with _os_errors("read"):
                    chunk = await asyncio.to_thread(file.read, size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            file.close()

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except BlobNotFoundError:
            return False
        return True

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with _os_errors("delete"):
            await asyncio.to_thread(self._delete_file, path)

    def _delete_file(self, path: Path) -> None:
        try:
            path.unlink()
        except OSError as exc:
            if exc.errno not in _MISSING:
                raise
            return
        self._prune(path.parent)

    async def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix)
        with _os_errors("delete"):
            return await asyncio.to_thread(self._delete_tree, prefix)

    def _delete_tree(self, prefix: str) -> int:
        top = self.root / prefix
        count = 0
        for info in self._scan(prefix):
            try:
                (self.root / info.key).unlink()
            except FileNotFoundError:
                continue
            count += 1
        if top.is_dir():
            for directory, subdirs, _ in os.walk(top, topdown=False):
                for name in subdirs:
                    with suppress(OSError):
                        os.rmdir(os.path.join(directory, name))
            self._prune(top)
        return count

    def _scan(self, prefix: str) -> list[BlobInfo]:
        """Every object under `prefix`: in-flight temp files and names no key could have are skipped."""
        top = self.root / prefix
        if not top.is_dir():
            return []
        found: list[BlobInfo] = []
        for directory, _, files in os.walk(top):
            rel = os.path.relpath(directory, self.root)
            for name in files:
                key = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                if TEMP_MARK in name or not _valid_key(key):
                    continue
                try:
                    st = os.stat(os.path.join(directory, name))
                except FileNotFoundError:
                    continue
                found.append(BlobInfo(key=key, size=st.st_size, modified=st.st_mtime))
        found.sort(key=lambda info: info.key)
        return found

    async def list(self, prefix: str = "") -> list[BlobInfo]:
        check_prefix(prefix)
        with _os_errors("list"):
            return await asyncio.to_thread(self._scan, prefix)

    async def close(self) -> None:
        """Nothing to release: every operation opens and closes its own files."""


def _valid_key(key: str) -> bool:
    try:
        check_key(key)
    except BlobError:
        return False
    return True


async def _copy(chunks: AsyncIterable[bytes], file: BinaryIO, max_size: int | None) -> int:
    size = 0
    pending = bytearray()
    async for chunk in chunks:
        size += len(chunk)
        if max_size is not None and size > max_size:
            raise BlobTooLargeError(max_size)
        pending += chunk
        if len(pending) >= WRITE_BUFFER:
            with _os_errors("write"):
                await asyncio.to_thread(file.write, bytes(pending))
            pending.clear()
    if pending:
        with _os_errors("write"):
            await asyncio.to_thread(file.write, bytes(pending))
    return size


def _sync_close(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()
