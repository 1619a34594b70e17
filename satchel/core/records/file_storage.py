"""Record files in the blob store, kept in step with the database writes.

PocketBase's order: new uploads are written inside the save (after validation, before the row
is written) so that a committed row never names a missing file; if the write is undone they are
deleted again. Files a committed change dropped, and the folders of deleted records and
collections, are deleted only after the commit, so a rollback never loses a file. A deletion
that fails then is logged and left behind: the write it follows has already succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from satchel.core.errors import ValidationError
from satchel.core.fields.file import FileField
from satchel.core.fields.select import unique_strings
from satchel.core.records.file_values import new_uploads, too_large
from satchel.core.records.model import Record
from satchel.ports.blobs import BlobError, BlobStore, BlobTooLargeError
from satchel.ports.database import Executor

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger(__name__)


def record_prefix(record: Record) -> str:
    return f"{record.collection.id}/{record.id}/"


def file_key(record: Record, name: str) -> str:
    return record_prefix(record) + name


def thumbs_prefix(record: Record, name: str) -> str:
    return f"{record_prefix(record)}thumbs_{name}/"


def file_fields(record: Record) -> list[FileField]:
    return [f for f in record.collection.fields if isinstance(f, FileField)]


def _problem(exc: BaseException) -> str:
    """What a log line may say about a storage failure: the adapter's message, never its config."""
    return f"{type(exc).__name__}: {exc}"


class _Written:
    """Keys stored by one save, deleted at most once if that save does not stand."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.keys: list[str] = []

    async def undo(self) -> None:
        keys, self.keys = self.keys, []
        for key in reversed(keys):
            try:
                await self.store.delete(key)
            except BlobError as exc:
                log.warning("could not remove the upload %s of a write that was undone (%s)", key, _problem(exc))


async def store_uploads(app: App, record: Record, tx: Executor) -> _Written | None:
    """Write the record's new uploads; None when there are none.

    Oversized content (when its size was not known up front) is a validation error of its field;
    any storage failure leaves nothing of this save behind.
    """
    pending = [(field, upload) for field in file_fields(record) for upload in new_uploads(record, field)]
    if not pending:
        return None
    written = _Written(app.storages.files())
    tx.on_rollback(written.undo)
    for field, upload in pending:
        key = file_key(record, upload.name)
        try:
            await written.store.write(
                key, upload.chunks(), content_type=upload.sniffed.mime, max_size=field.effective_max_size
            )
        except BlobTooLargeError as exc:
            await written.undo()
            raise ValidationError(None, {field.name: too_large(field, upload.filename)}) from exc
        except BlobError as exc:
            await written.undo()
            log.error("could not store an upload for %s (%s)", record_prefix(record), _problem(exc))
            raise ValidationError(None, {}) from exc
        written.keys.append(key)
    return written


def after_commit(tx: Executor, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` after the outermost commit, unless the savepoint it was asked in is undone
    first (a nested save that failed while its caller went on): a file is never deleted for a
    change that did not happen."""
    undone = False

    async def mark_undone() -> None:
        nonlocal undone
        undone = True

    async def run() -> None:
        if not undone:
            await action()

    tx.on_rollback(mark_undone)
    tx.on_commit(run)


def replaced_names(record: Record) -> list[str]:
    """Stored names the record had before this save and no longer has."""
    original = record.original or {}
    gone: list[str] = []
    for field in file_fields(record):
        kept = set(unique_strings(record.get(field.name)))
        gone.extend(n for n in unique_strings(original.get(field.name)) if n not in kept)
    return gone


async def delete_files(app: App, record: Record, names: list[str]) -> None:
    """Remove files and their thumbnails after a commit; failures are logged, never raised."""
    if not names:
        return
    store = app.storages.files()
    for name in names:
        if not name or "/" in name or "\\" in name:
            continue  # not a plain stored name: nothing of this record's to delete
        try:
            await store.delete(file_key(record, name))
            await store.delete_prefix(thumbs_prefix(record, name))
        except (BlobError, ValueError) as exc:
            log.warning("could not delete the replaced file %s%s (%s)", record_prefix(record), name, _problem(exc))


async def delete_prefix(app: App, prefix: str) -> None:
    """Remove a deleted record's or collection's folder after the commit; failures are logged."""
    try:
        await app.storages.files().delete_prefix(prefix)
    except (BlobError, ValueError) as exc:
        log.warning("could not delete the stored files under %s (%s)", prefix, _problem(exc))


def has_files(record: Record) -> bool:
    return bool(file_fields(record))
