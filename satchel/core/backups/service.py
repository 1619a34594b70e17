"""Backups: create, list, upload, download, delete and restore, one operation at a time.

PocketBase allows one backup or restore at once per process; Satchel's workers share a data
directory, so the guard is a lock file there as well as a flag here. Archives live in the backups
store (`<data_dir>/backups` or the `backups.s3` bucket). Every step that can fail on what a client
sent (a name, an upload, an archive to restore) fails before anything is written or replaced.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from satchel.core.backups import names
from satchel.core.backups.archive import ArchiveError, Progress, chunks_of, extract, write_archive
from satchel.core.backups.encryption import (
    MAGIC,
    RING_HEADER_SIZE,
    DecryptionError,
    Decryptor,
    encrypt,
    header_key_id,
    is_encrypted,
)
from satchel.core.backups.restore import (
    SYSTEM_TABLES,
    mark_restored,
    read_marker,
    reload_state,
    replace_data,
)
from satchel.core.backups.schedule import AutoBackups
from satchel.core.backups.secrets_check import check_backup_secrets
from satchel.core.errors import BadRequestError, FieldError, NotFoundError, ValidationError, required
from satchel.core.files.storages import s3_config
from satchel.core.hooks import BackupEvent
from satchel.ports.blobs import BlobError, BlobInfo, BlobNotFoundError, BlobStore
from satchel.ports.database import DatabaseError, InvalidCopyError
from satchel.tools.file_lock import FileLock

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.backups")

CREATE_BUSY = "Try again later - another backup/restore process has already been started"
RESTORE_BUSY = "Try again later - another backup/restore process has already been started."
VALIDATION_FAILED = "An error occurred while validating the submitted data."
NAME_TAKEN = "The backup file name is invalid or already exists."
ZIP_TYPE = "application/zip"
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
LOCK_FILE = ".backup.lock"
WORK_DIR = ".backups_tmp"
"""Scratch space inside the data directory, so that extracted data moves into place by rename."""


@dataclass(frozen=True, slots=True)
class Backup:
    key: str
    size: int
    modified: float


class BackupsService:
    def __init__(self, app: App) -> None:
        self.app = app
        self._active: str | None = None
        self._lock = FileLock(app.config.data_dir / LOCK_FILE)
        self._restore_seen: str | None = None
        self.scheduler = AutoBackups(app, self)
        app.sync_listeners.append(self.on_sync)

    @property
    def store(self) -> BlobStore:
        return self.app.storages.backups()

    # ------------------------------------------------------------------ one at a time
    def active(self) -> str | None:
        """Name of the backup being created or restored, here or by a sibling process."""
        return self._active if self._active is not None else self._lock.holder_note()

    @asynccontextmanager
    async def _operation(self, name: str, busy: str) -> AsyncIterator[Path]:
        """Hold the guard for `name`; yields a fresh scratch directory, removed afterwards."""
        if self._active is not None or not self._lock.try_acquire(name):
            raise BadRequestError(busy)
        self._active = name
        root = self.app.config.data_dir / WORK_DIR
        try:
            # we hold the lock: anything left in the scratch space is from a crashed operation
            await asyncio.to_thread(shutil.rmtree, root, True)
            await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
            work = Path(await asyncio.to_thread(tempfile.mkdtemp, dir=root))
            try:
                yield work
            finally:
                await asyncio.to_thread(shutil.rmtree, work, True)
        finally:
            self._active = None
            self._lock.release()

    # ------------------------------------------------------------------ listing and files
    async def list(self) -> list[Backup]:
        try:
            infos = await self.store.list("")
        except BlobError as exc:
            raise BadRequestError("Failed to retrieve backup items.") from exc
        return [Backup(i.key, i.size, i.modified) for i in infos if "/" not in i.key]

    async def key_id(self, key: str) -> str:
        """The ring key id an archive was encrypted with, from its header ("" for a zip, a
        passphrase archive or one that cannot be read)."""
        if not names.is_key(key):
            return ""
        head = b""
        chunks = self.store.read(key)
        try:
            async for chunk in chunks:
                head += chunk
                if len(head) >= RING_HEADER_SIZE:
                    break
        except BlobError:
            return ""
        finally:
            if isinstance(chunks, AsyncGenerator):
                await chunks.aclose()  # stop reading (and release the file or connection) now
        return header_key_id(head)

    async def stat(self, key: str) -> BlobInfo:
        """The archive's info, for a download from `store`; NotFoundError when there is none."""
        if not names.is_key(key):
            raise NotFoundError()
        try:
            return await self.store.stat(key)
        except BlobNotFoundError as exc:
            raise NotFoundError() from exc

    async def delete(self, key: str) -> None:
        if key and self.active() == key:
            raise BadRequestError("The backup is currently being used and cannot be deleted.")
        if not names.is_key(key) or not await self.store.exists(key):
            raise BadRequestError("Invalid or already deleted backup file.")
        await self.store.delete(key)

    async def _exists(self, name: str) -> bool:
        try:
            return await self.store.exists(name)
        except BlobError:
            return True  # PocketBase: "invalid or already exists" when the store cannot tell

    # ------------------------------------------------------------------ create
    async def create(self, name: str = "", *, passphrase: str | None = None, progress: Progress | None = None) -> str:
        """Archive the database and the local files under `name` (generated when empty); the name.

        `passphrase` (None: the configured one) encrypts the archive; without one, a current key
        of the key ring does.
        """
        if self.active() is not None:
            raise BadRequestError(CREATE_BUSY)
        if name:
            error = names.name_error(name)
            if error is None and await self._exists(name):
                error = FieldError("validation_backup_name_exists", NAME_TAKEN)
            if error is not None:
                raise ValidationError(VALIDATION_FAILED, {"name": error})
        name = name or names.generate(self.app.settings.current["meta"]["appName"])
        await self.create_unchecked(name, passphrase=passphrase, progress=progress)
        return name

    async def create_unchecked(
        self, name: str, *, passphrase: str | None = None, progress: Progress | None = None
    ) -> None:
        """Create an archive under a name Satchel generated (automatic backups: `@auto_...`)."""
        secret = self.app.config.backup_passphrase if passphrase is None else passphrase

        async def archive(_: BackupEvent) -> None:
            await self._archive(name, secret, progress)

        await self.app.hooks.on_backup_create.trigger(BackupEvent(name=name), archive)

    async def _archive(self, name: str, secret: str, progress: Progress | None) -> None:
        async with self._operation(name, CREATE_BUSY) as work:
            path = work / "archive.zip"
            files = self.app.storages.files() if s3_config(self.app.settings.current["s3"]) is None else None
            try:
                await write_archive(self.app.db, files, path, progress)
                chunks = chunks_of(path)
                sealed = secret or self.app.keys.current is not None
                stream = encrypt(chunks, secret, self.app.keys) if sealed else chunks
                await self.store.write(name, stream, content_type=ZIP_TYPE)
            except (DatabaseError, BlobError, OSError) as exc:
                log.error("backup %s failed: %s", name, exc)
                raise BadRequestError("Failed to create backup.") from exc

    # ------------------------------------------------------------------ upload
    async def upload(self, filename: str | None, chunks: AsyncIterator[bytes] | None) -> str:
        """Store an uploaded archive under its own (base) name; the name."""
        if filename is None or chunks is None:
            raise ValidationError(VALIDATION_FAILED, {"file": required()})
        name = names.upload_name(filename)
        head = b""
        async for chunk in chunks:
            head += chunk
            if len(head) >= len(MAGIC):
                break
        if not (head.startswith(ZIP_SIGNATURES) or is_encrypted(head)):
            message = f'"{name[:300]}" mime type must be one of: {ZIP_TYPE}.'
            raise ValidationError(VALIDATION_FAILED, {"file": FieldError("validation_invalid_mime_type", message)})
        if not names.is_key(name):
            message = "The file name may only use letters, digits and . _ - @ + = ,"
            raise ValidationError(VALIDATION_FAILED, {"file": FieldError("validation_invalid_file_name", message)})
        if await self._exists(name):
            exists = FieldError("validation_backup_name_exists", "Backup file with the specified name already exists.")
            raise ValidationError(VALIDATION_FAILED, {"file": exists})
        try:
            await self.store.write(name, _prepend(head, chunks), content_type=ZIP_TYPE)
        except BlobError as exc:
            raise BadRequestError("Failed to upload backup.") from exc
        return name

    # ------------------------------------------------------------------ restore
    async def restore(self, key: str, *, passphrase: str | None = None, progress: Progress | None = None) -> None:
        """Replace the database and the local files with the archive's, then reload every process.

        The archive is fetched, decrypted, extracted and checked first: one that is not a sound
        backup is refused with nothing touched.
        """
        if self.active() is not None:
            raise BadRequestError(RESTORE_BUSY)
        secret = self.app.config.backup_passphrase if passphrase is None else passphrase

        async def replace(_: BackupEvent) -> None:
            await self._restore(key, secret, progress)

        await self.app.hooks.on_backup_restore.trigger(BackupEvent(name=key), replace)

    async def _restore(self, key: str, secret: str, progress: Progress | None) -> None:
        async with self._operation(key, RESTORE_BUSY) as work:
            if not names.is_key(key) or not await self._exists_strict(key):
                raise BadRequestError("Missing or invalid backup file.")
            try:
                archive = await self._fetch(key, work / "archive.zip", secret)
                db_file = await asyncio.to_thread(extract, archive, work / "data")
                await self.app.db.check_copy(db_file, SYSTEM_TABLES)
                await check_backup_secrets(self.app, db_file)
            except (ArchiveError, DecryptionError) as exc:
                raise BadRequestError(str(exc)) from exc
            except InvalidCopyError as exc:
                raise BadRequestError(f"The backup's database cannot be restored: {exc}.") from exc
            try:
                await replace_data(self.app, work / "data", progress)
            except DatabaseError as exc:
                log.error("restore of %s failed: %s", key, exc)
                raise BadRequestError("Failed to restore the backup: the data was left as it was.") from exc
            self._restore_seen = await mark_restored(self.app)
            await reload_state(self.app, restoring=True)

    async def _exists_strict(self, key: str) -> bool:
        try:
            return await self.store.exists(key)
        except BlobError:
            return False

    async def _fetch(self, key: str, dest: Path, passphrase: str) -> Path:
        """Copy the archive to `dest`, decrypting it on the way when it is encrypted."""
        decryptor: Decryptor | None = None
        head = b""
        decided = False
        with dest.open("wb") as out:
            try:
                async for chunk in self.store.read(key):
                    if not decided:
                        head += chunk
                        if len(head) < len(MAGIC):
                            continue
                        decided, chunk = True, head
                        decryptor = Decryptor(passphrase, self.app.keys) if is_encrypted(head) else None
                    data = chunk if decryptor is None else await decryptor.feed(chunk)
                    await asyncio.to_thread(out.write, data)
            except BlobError as exc:
                raise ArchiveError("The backup file cannot be read from the backups storage.") from exc
            if not decided:
                await asyncio.to_thread(out.write, head)  # shorter than the magic: the zip check refuses it
        if decryptor is not None:
            decryptor.finish()
        return dest

    # ------------------------------------------------------------------ server lifecycle
    async def start(self) -> None:
        """Server start: remember the last restore (a later one reloads this process), run the schedule."""
        self._restore_seen = await read_marker(self.app)
        self.scheduler.start()

    async def close(self) -> None:
        await self.scheduler.stop()

    async def on_sync(self) -> None:
        """A sibling changed collections or settings: if it restored a backup, reload as it did."""
        marker = await read_marker(self.app)
        if self._restore_seen is not None and marker != self._restore_seen:
            await reload_state(self.app, restoring=False)
        self._restore_seen = marker


async def _prepend(head: bytes, rest: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in rest:
        yield chunk
