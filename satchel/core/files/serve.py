"""Which stored object answers `GET /api/files/{collection}/{recordId}/{filename}`, and how.

PocketBase's rules, kept here so that every API serves files alike:
- the collection, the record and a file field holding `filename` must all exist (else 404);
- a protected field's files need the collection's viewRule to pass for the holder of the
  `?token=` file token (no token: a guest), with `@request.context` = "protectedFile"; a refusal
  is a 404 too, so the existence of a file is not revealed;
- `?thumb=` only applies to PNG/JPEG/GIF/WebP originals and to sizes the field lists (or the
  built-in 100x100); anything else, or a failed generation, quietly serves the original;
- only common media types are shown inline; everything else is an attachment (an uploaded HTML
  page must never run in the app's origin).
"""

from __future__ import annotations

import logging
import posixpath
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from satchel.core.auth.superusers import superuser_ip_allowed
from satchel.core.collections.model import Collection
from satchel.core.errors import NotFoundError
from satchel.core.fields.file import FileField
from satchel.core.files import thumbs
from satchel.core.files.sniff import SNIFF_LENGTH, sniff
from satchel.core.files.tokens import file_token_record
from satchel.core.files.view_files import source_record
from satchel.core.hooks import FileDownloadRequestEvent
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.rules.request_info import CONTEXT_PROTECTED_FILE, RequestInfo
from satchel.ports.blobs import BlobInfo, BlobNotFoundError, BlobStore, InvalidKeyError, one_chunk, read_all

if TYPE_CHECKING:
    from satchel.core.app import App

log = logging.getLogger("satchel.files")

MISSING_COLLECTION = "Missing or invalid collection context."

INLINE_TYPES = frozenset(
    {
        # image
        "image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp", "image/x-icon", "image/bmp",
        # video
        "video/webm", "video/mp4", "video/3gpp", "video/quicktime", "video/x-ms-wmv",
        # audio
        "audio/basic", "audio/aiff", "audio/mpeg", "audio/midi", "audio/mp3", "audio/wave",
        "audio/wav", "audio/x-wav", "audio/x-mpeg", "audio/x-m4a", "audio/aac",
        # document
        "application/pdf", "application/x-pdf",
    }
)  # fmt: skip
"""Served with `Content-Disposition: inline`; any other type is an attachment (PocketBase's list)."""

EXTENSION_TYPES = {
    ".svg": "image/svg+xml",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
"""Content types sent for these extensions whatever was sniffed at upload (browsers need them to
use the file; sniffers call an SVG `text/xml`). The disposition still follows the sniffed type."""


SNIFF_CACHE_SIZE = 4096
UNKNOWN_TYPES = frozenset({"binary/octet-stream", "application/octet-stream"})
"""What S3 reports for an object stored without a type: sniffed like a missing one."""


@dataclass(frozen=True, slots=True)
class ServedFile:
    store: BlobStore
    key: str
    name: str
    """The name the client sees (`<thumb>_<filename>` for a thumbnail)."""
    info: BlobInfo
    content_type: str
    """What the Content-Type header says."""
    real_type: str
    """What the bytes are (differs from `content_type` for the EXTENSION_TYPES)."""

    @property
    def inline(self) -> bool:
        """Whether the type is safe to show in the browser (before any `?download=`)."""
        return self.real_type in INLINE_TYPES


async def stored_type(store: BlobStore, key: str, info: BlobInfo) -> str:
    """The type recorded at upload; for stores that keep none (the local directory), sniffed
    from the first bytes as PocketBase sniffs uploads, so both stores serve the same type."""
    if info.content_type and info.content_type not in UNKNOWN_TYPES:
        return info.content_type
    head = b""
    async for chunk in store.read(key, 0, min(info.size, SNIFF_LENGTH)):
        head += chunk
    return sniff(head, complete=info.size <= SNIFF_LENGTH).mime


def served_file(store: BlobStore, key: str, name: str, info: BlobInfo, real_type: str) -> ServedFile:
    shown = EXTENSION_TYPES.get(posixpath.splitext(key)[1].lower(), real_type)
    return ServedFile(store, key, name, info, shown, real_type)


class SniffedTypes:
    """Types sniffed from stores that keep none, remembered per object version: without this a
    local file would be opened twice per request (once to sniff, once to send)."""

    def __init__(self, size: int = SNIFF_CACHE_SIZE) -> None:
        self._size = size
        self._types: OrderedDict[tuple[str, float, int], str] = OrderedDict()

    async def of(self, store: BlobStore, key: str, info: BlobInfo) -> str:
        if info.content_type and info.content_type not in UNKNOWN_TYPES:
            return info.content_type
        version = (key, info.modified, info.size)
        known = self._types.get(version)
        if known is None:
            known = self._types[version] = await stored_type(store, key, info)
            if len(self._types) > self._size:
                self._types.popitem(last=False)
        return known


def file_field_of(record: Record, filename: str) -> FileField | None:
    """The file field whose value holds `filename` (PocketBase's FindFileFieldByFile)."""
    for field in record.collection.fields:
        if not isinstance(field, FileField):
            continue
        value = record.get(field.name)
        names = value if isinstance(value, list) else [value]
        if filename in names:
            return field
    return None


class FileServer:
    def __init__(self, app: App) -> None:
        self.app = app
        self.thumbnailer = thumbs.Thumbnailer()
        self.types = SniffedTypes()

    async def open(
        self, collection_ref: str, record_id: str, filename: str, request: RequestInfo, *, token: str, thumb: str
    ) -> ServedFile:
        """The object to send; NotFoundError for anything missing or not allowed."""
        collection = self.app.collections.get(collection_ref)
        if collection is None:
            raise NotFoundError(MISSING_COLLECTION)
        if not record_id or not filename:
            raise NotFoundError()
        ex = self.app.db.executor()
        record = await storage.fetch_by_id(ex, collection, record_id)
        if record is None:
            raise NotFoundError()
        field = file_field_of(record, filename)
        if field is None:
            raise NotFoundError()
        if field.protected and not await self._may_view(record, request, token):
            raise NotFoundError()
        owner = record
        if collection.is_view:
            found = await source_record(ex, collection, field.name, filename, self.app.collections.get)
            if found is None:
                raise NotFoundError()
            owner = found
        store = self.app.storages.files()
        base = f"{owner.collection_id}/{owner.id}"
        try:
            key = f"{base}/{filename}"
            info = await store.stat(key)
        except (BlobNotFoundError, InvalidKeyError) as exc:
            raise NotFoundError() from exc
        served = served_file(store, key, filename, info, await self.types.of(store, key, info))
        if thumb and thumbs.allowed(thumb, field.thumbs) and served.real_type in thumbs.IMAGE_TYPES:
            served = await self._thumb(served, base, thumb) or served
        event = FileDownloadRequestEvent(
            collection=collection, record=record, field=field, request=request, served=served
        )
        await self.app.hooks.on_file_download_request.trigger(event, _sent_by_the_api)
        return event.served

    async def _may_view(self, record: Record, request: RequestInfo, token: str) -> bool:
        """The viewRule as the file token's holder (not the Authorization header's) sees it."""
        auth = await file_token_record(self.app, token)
        if auth is not None and auth.is_superuser and not superuser_ip_allowed(self.app.settings.current, request.ip):
            auth = None
        as_holder = replace(request, auth=auth, context=CONTEXT_PROTECTED_FILE, scopes=None)
        collection: Collection = record.collection
        return await self.app.records.matches_rule(collection, record.id, collection.viewRule, as_holder)

    async def _thumb(self, original: ServedFile, base: str, thumb: str) -> ServedFile | None:
        """The thumbnail (made and stored on first use); None to serve the original instead."""
        size = thumbs.parse_size(thumb)
        if size is None:
            return None
        name = f"{thumb}_{original.name}"
        store = original.store
        try:
            key = f"{base}/thumbs_{original.name}/{name}"
            try:
                return await self._served(store, key, name)
            except BlobNotFoundError:
                pass
            await self.thumbnailer.once(key, lambda: self._generate(original, key, size))
            return await self._served(store, key, name)
        except Exception as exc:  # any failure falls back to the original, as in PocketBase
            log.warning("serving the original: thumb %s of %s failed: %s", thumb, original.key, exc)
            return None

    async def _served(self, store: BlobStore, key: str, name: str) -> ServedFile:
        info = await store.stat(key)
        return served_file(store, key, name, info, await self.types.of(store, key, info))

    async def _generate(self, original: ServedFile, key: str, size: thumbs.ThumbSize) -> None:
        store = original.store
        if await store.exists(key):  # made by a request that finished just before this one started
            return
        if original.info.size > thumbs.MAX_SOURCE_BYTES:
            raise thumbs.ThumbError(f"source larger than {thumbs.MAX_SOURCE_BYTES} bytes")
        source_type = original.real_type
        data = await read_all(store, original.key)
        encoded = await self.thumbnailer.render(data, size, source_type)
        await store.write(key, one_chunk(encoded), content_type=thumbs.output_type(source_type))


async def _sent_by_the_api(_: FileDownloadRequestEvent) -> None:
    """The innermost handler: nothing to do here, the API layer streams `event.served`."""
