"""The archive layout PocketBase uses: a zip of `data.db` and the `storage/` tree of uploaded files.

Creating one: the database comes from an online snapshot (the server keeps writing meanwhile)
and the files are streamed from the files store, so nothing is read from the data directory
that could be half-written, and what is not data (backups, temp files, realtime sockets, the
schema signal) is never picked up. Files are included only while they are stored locally: files
on S3 are the bucket's to keep, as in PocketBase.

Reading one: only `data.db` and `storage/<key>` entries are taken (a PocketBase archive's
`auxiliary.db` and other entries are ignored), each name is checked as a storage key so an entry
can never land outside its directory, and CRCs are verified while extracting.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import zipfile
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO

from satchel.ports.blobs import BlobNotFoundError, BlobStore, InvalidKeyError, check_key
from satchel.ports.database import Database

DB_ENTRY = "data.db"
STORAGE_ENTRY = "storage/"
COPY_CHUNK = 1 << 20

Progress = Callable[[str, int, int], None]
"""`(phase, done, total)`: phases "database" (pages) and "files" (files); may be called from a thread."""


class ArchiveError(Exception):
    """The archive is unreadable or not a backup; the message is safe to show."""


async def write_archive(db: Database, files: BlobStore | None, dest: Path, progress: Progress | None = None) -> None:
    """Create the zip at `dest` (its directory is scratch space for the database snapshot)."""
    snapshot = dest.with_name(dest.name + ".db")
    await db.snapshot(snapshot, None if progress is None else (lambda done, total: progress("database", done, total)))
    try:
        archive = zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        try:
            await asyncio.to_thread(archive.write, snapshot, DB_ENTRY)
            if files is not None:
                await _add_files(archive, files, progress)
        finally:
            await asyncio.to_thread(archive.close)
    finally:
        snapshot.unlink(missing_ok=True)


async def _add_files(archive: zipfile.ZipFile, files: BlobStore, progress: Progress | None) -> None:
    listing = await files.list("")
    for done, info in enumerate(listing, start=1):
        chunks = files.read(info.key)
        try:
            first = await anext(chunks, b"")
        except BlobNotFoundError:
            continue  # deleted since the listing: it is not part of the data any more
        entry = zipfile.ZipInfo(STORAGE_ENTRY + info.key, time.gmtime(info.modified)[:6])
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.file_size = info.size
        member = archive.open(entry, "w", force_zip64=True)
        try:
            await asyncio.to_thread(member.write, first)
            async for chunk in chunks:
                await asyncio.to_thread(member.write, chunk)
        finally:
            await asyncio.to_thread(member.close)
        if progress is not None:
            progress("files", done, len(listing))


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ArchiveError("The backup file is not a valid zip archive (damaged or truncated).") from exc


def _members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    """(entry, relative destination path) for every entry a restore takes."""
    out: list[tuple[zipfile.ZipInfo, str]] = []
    for entry in archive.infolist():
        name = entry.filename
        if name == DB_ENTRY:
            out.append((entry, DB_ENTRY))
        elif name.startswith(STORAGE_ENTRY) and not entry.is_dir():
            try:
                key = check_key(name[len(STORAGE_ENTRY) :])
            except InvalidKeyError as exc:
                raise ArchiveError(f"The backup archive has an unsafe entry name ({name[:100]!r}).") from exc
            out.append((entry, STORAGE_ENTRY + key))
    if not any(rel == DB_ENTRY for _, rel in out):
        raise ArchiveError("The backup archive has no data.db: it is not a backup.")
    return out


def extract(path: Path, dest: Path) -> Path:
    """Extract the database and the storage tree of the zip at `path` into `dest`; the database path.

    Blocking (run it in a thread). Raises ArchiveError for anything but a sound backup archive,
    or when the disk cannot hold the extracted data.
    """
    with _open(path) as archive:
        members = _members(archive)
        needed = sum(entry.file_size for entry, _ in members)
        dest.mkdir(parents=True, exist_ok=True)
        if needed > shutil.disk_usage(dest).free:
            raise ArchiveError("Not enough free disk space to extract the backup.")
        for entry, rel in members:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(entry) as source, target.open("wb") as out:
                    _copy(source, out, entry.file_size)
            except (zipfile.BadZipFile, EOFError, zlib.error, ValueError, NotImplementedError, RuntimeError) as exc:
                raise ArchiveError(f"The backup archive is damaged ({entry.filename[:100]!r} cannot be read).") from exc
    return dest / DB_ENTRY


def _copy(source: IO[bytes], out: IO[bytes], declared: int) -> None:
    written = 0
    while chunk := source.read(COPY_CHUNK):
        written += len(chunk)
        if written > declared:  # the declared size was checked against the free space
            raise ArchiveError("The backup archive is damaged (an entry is larger than declared).")
        out.write(chunk)


async def chunks_of(path: Path) -> AsyncIterator[bytes]:
    """A local file as the chunk stream `BlobStore.write` takes."""
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, COPY_CHUNK):
            yield chunk
