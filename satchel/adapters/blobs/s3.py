"""BlobStore on S3-compatible object storage (AWS, MinIO, R2, ...) through aiobotocore.

Writes stream: up to one part is buffered, so a small object costs one PutObject and a large one
becomes a multipart upload that is aborted on any failure (S3 stores nothing until it completes,
so a failed or oversized write never replaces the previous object). Driver errors become port
errors here; messages are S3's own, with the secret scrubbed in case a driver ever echoes it.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import BotoCoreError, ClientError

from satchel.ports.blobs import (
    BlobError,
    BlobInfo,
    BlobNotFoundError,
    BlobTooLargeError,
    S3Config,
    check_key,
    check_prefix,
)
from satchel.tools import probes
from satchel.tools.tls_trust import extra_ca_file

if TYPE_CHECKING:
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

PART_SIZE = 8 << 20
"""Bytes per multipart part (S3 wants at least 5 MiB for every part but the last)."""
READ_CHUNK = 64 << 10
DELETE_BATCH = 1000
"""DeleteObjects' limit of keys per request."""
_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_DRIVER_ERRORS = (BotoCoreError, aiohttp.ClientError, OSError, TimeoutError, ValueError)
"""What the client raises for an unreachable endpoint, a bad URL or a dropped connection."""


def endpoint_url(endpoint: str) -> str | None:
    """PocketBase takes the endpoint with or without its scheme (https when omitted)."""
    endpoint = endpoint.strip().rstrip("/")
    if not endpoint:
        return None
    if not endpoint.startswith(("http://", "https://")):
        endpoint = "https://" + endpoint
    return endpoint


class S3BlobStore:
    def __init__(self, config: S3Config, *, part_size: int = PART_SIZE) -> None:
        self.config = config
        self.part_size = part_size
        self._client: S3Client | None = None
        self._stack = AsyncExitStack()
        self._lock = asyncio.Lock()

    async def _s3(self) -> S3Client:
        """The one client of this store, opened on first use (settings may name an S3 never used)."""
        client = self._client
        if client is None:
            async with self._lock:
                client = self._client
                if client is None:
                    try:
                        client = await self._stack.enter_async_context(self._create())
                    except _DRIVER_ERRORS as exc:  # a malformed endpoint URL, unreadable models
                        raise BlobError(self._scrub(str(exc) or type(exc).__name__)) from exc
                    _observe_calls(client, self.config.bucket)
                    self._client = client
        return client

    def _create(self) -> ClientCreatorContext[S3Client]:
        c = self.config
        trust: dict[str, Any] = {"http_session_cls": _PrivateCaSession} if extra_ca_file() else {}
        config = AioConfig(
            **trust,
            s3={"addressing_style": "path" if c.force_path_style else "virtual"},
            retries={"max_attempts": 2, "mode": "standard"},  # one retry: a dead endpoint fails fast
            connect_timeout=10,
            read_timeout=60,
            # the newer default checksums (aws-chunked CRC trailers) are not understood by every
            # S3-compatible service; send them only where S3 demands one (DeleteObjects)
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            warm_up_loader_caches=True,  # the service model is read from disk in a thread
        )
        return _session().create_client(
            "s3",
            region_name=c.region or "us-east-1",
            endpoint_url=endpoint_url(c.endpoint),
            aws_access_key_id=c.access_key,
            aws_secret_access_key=c.secret,
            config=config,
        )

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            raise self._translate(exc, key) from exc
        except _DRIVER_ERRORS as exc:
            raise BlobError(self._scrub(str(exc) or type(exc).__name__)) from exc

    def _translate(self, exc: ClientError, key: str) -> BlobError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in _NOT_FOUND:
            return BlobNotFoundError(key)
        return BlobError(self._scrub(str(exc)))

    def _scrub(self, message: str) -> str:
        secret = self.config.secret
        return message.replace(secret, "***") if secret else message

    async def write(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "", max_size: int | None = None
    ) -> BlobInfo:
        check_key(key)
        client = await self._s3()
        upload = _Upload(self, client, key, content_type)
        size = 0
        pending = bytearray()
        try:
            async for chunk in chunks:
                size += len(chunk)
                if max_size is not None and size > max_size:
                    raise BlobTooLargeError(max_size)
                pending += chunk
                while len(pending) >= self.part_size:
                    await upload.part(bytes(pending[: self.part_size]))
                    del pending[: self.part_size]
            await upload.finish(bytes(pending))
        except BaseException:
            await upload.abort()
            raise
        return BlobInfo(key=key, size=size, modified=time.time(), content_type=content_type)

    async def stat(self, key: str) -> BlobInfo:
        check_key(key)
        client = await self._s3()
        with self._errors(key):
            head = await client.head_object(Bucket=self.config.bucket, Key=key)
        return BlobInfo(
            key=key,
            size=head["ContentLength"],
            modified=head["LastModified"].timestamp(),
            content_type=head.get("ContentType", ""),
        )

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        check_key(key)
        if start < 0 or (end is not None and end < 0):
            raise ValueError("a byte range cannot be negative")
        return self._read(key, start, end)

    async def _read(self, key: str, start: int, end: int | None) -> AsyncIterator[bytes]:
        if end is not None and end <= start:
            await self.stat(key)  # nothing to send, but a missing key is still an error
            return
        client = await self._s3()
        ranged: dict[str, Any] = (
            {} if start == 0 and end is None else {"Range": f"bytes={start}-{'' if end is None else end - 1}"}
        )
        with self._errors(key):
            try:
                response = await client.get_object(Bucket=self.config.bucket, Key=key, **ranged)
            except ClientError as exc:
                if not _range_unsatisfiable(exc):
                    raise
                await self.stat(key)  # `start` is at or past the end: an empty body
                return
        async with response["Body"] as body:
            while True:
                with self._errors(key):
                    chunk = await body.read(READ_CHUNK)
                if not chunk:
                    return
                yield chunk

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except BlobNotFoundError:
            return False
        return True

    async def delete(self, key: str) -> None:
        check_key(key)
        client = await self._s3()
        with self._errors(key):
            await client.delete_object(Bucket=self.config.bucket, Key=key)

    async def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix)
        client = await self._s3()
        count = 0
        # every key under the prefix goes, even names this store would not create (console
        # "folder" markers): the prefix is being removed as a whole
        async for page in self._pages(prefix):
            keys = [obj["Key"] for obj in page]
            for i in range(0, len(keys), DELETE_BATCH):
                batch = keys[i : i + DELETE_BATCH]
                with self._errors(prefix):
                    result = await client.delete_objects(
                        Bucket=self.config.bucket,
                        Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                    )
                failed = result.get("Errors", [])
                if failed:
                    first = failed[0]
                    raise BlobError(f"S3 refused to delete {first.get('Key', '')!r}: {first.get('Code', '')}")
                count += len(batch)
        return count

    async def _pages(self, prefix: str) -> AsyncIterator[list[Any]]:
        client = await self._s3()
        token: str | None = None
        while True:
            more: dict[str, Any] = {"ContinuationToken": token} if token else {}
            with self._errors(prefix):
                page = await client.list_objects_v2(Bucket=self.config.bucket, Prefix=prefix, **more)
            yield list(page.get("Contents", []))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    async def list(self, prefix: str = "") -> list[BlobInfo]:
        check_prefix(prefix)
        found: list[BlobInfo] = []
        async for page in self._pages(prefix):
            for obj in page:
                key = obj["Key"]
                if _valid_key(key):
                    found.append(BlobInfo(key=key, size=obj["Size"], modified=obj["LastModified"].timestamp()))
        found.sort(key=lambda info: info.key)
        return found

    async def close(self) -> None:
        self._client = None
        await self._stack.aclose()


class _Upload:
    """One write: a single PutObject, or a multipart upload once a full part has arrived."""

    def __init__(self, store: S3BlobStore, client: S3Client, key: str, content_type: str) -> None:
        self.store = store
        self.client = client
        self.key = key
        self.extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
        self.upload_id: str | None = None
        self.parts: list[CompletedPartTypeDef] = []

    @property
    def bucket(self) -> str:
        return self.store.config.bucket

    async def part(self, data: bytes) -> None:
        with self.store._errors(self.key):
            if self.upload_id is None:
                created = await self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, **self.extra)
                self.upload_id = created["UploadId"]
            number = len(self.parts) + 1
            uploaded = await self.client.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data
            )
        self.parts.append({"ETag": uploaded["ETag"], "PartNumber": number})

    async def finish(self, rest: bytes) -> None:
        if self.upload_id is None:
            with self.store._errors(self.key):
                await self.client.put_object(Bucket=self.bucket, Key=self.key, Body=rest, **self.extra)
            return
        if rest:
            await self.part(rest)
        with self.store._errors(self.key):
            await self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
            )
        self.upload_id = None

    async def abort(self) -> None:
        """Drop the uploaded parts (best effort: the bucket's lifecycle rules catch what this misses)."""
        if self.upload_id is None:
            return
        upload_id, self.upload_id = self.upload_id, None
        try:
            await self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
        except (ClientError, *_DRIVER_ERRORS):
            pass


_PROBE_START = "satchel_probe_start"
_PROBE_OPERATION = "satchel_probe_operation"


def _observe_calls(client: S3Client, bucket: str) -> None:
    """Report every API call as an `s3.request` probe through botocore's call events.

    One registration covers every operation (and the retries inside a call) without wrapping
    each call site; with no probe listener the handlers cost a flag check per call.
    """

    def before(context: dict[str, Any], model: Any, **_: Any) -> None:
        if probes.active:
            context[_PROBE_START] = time.perf_counter_ns()
            context[_PROBE_OPERATION] = model.name

    def after(context: dict[str, Any], model: Any, http_response: Any, **_: Any) -> None:
        start = context.pop(_PROBE_START, None)
        if start is not None:
            attrs = {"s3.operation": model.name, "s3.bucket": bucket, "http.status_code": http_response.status_code}
            probes.emit("s3.request", start, time.perf_counter_ns(), attrs)

    def failed(context: dict[str, Any], exception: BaseException, **_: Any) -> None:
        start = context.pop(_PROBE_START, None)
        if start is not None:
            attrs = {"s3.operation": context.get(_PROBE_OPERATION, ""), "s3.bucket": bucket}
            probes.emit("s3.request", start, time.perf_counter_ns(), attrs, exception)

    events = client.meta.events
    events.register("before-call.s3", before)
    events.register("after-call.s3", after)
    events.register("after-call-error.s3", failed)


@functools.cache
def _session() -> AioSession:
    """One session for every store: it caches the parsed service model (~0.5 s to load each time)."""
    return get_session()


def _range_unsatisfiable(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") == "InvalidRange" or status == 416


def _valid_key(key: str) -> bool:
    try:
        check_key(key)
    except BlobError:
        return False
    return True


class _PrivateCaSession(AIOHTTPSession):
    """aiobotocore's HTTP session, whose verifying context also trusts SATCHEL_CA_FILE: botocore's own
    `verify=PATH` (or AWS_CA_BUNDLE) would replace the public roots instead of adding to them.
    Verification itself stays aiobotocore's (`verify=True`: certifi's roots, host names checked)."""

    def _get_ssl_context(self) -> ssl.SSLContext:
        ctx: ssl.SSLContext = super()._get_ssl_context()  # type: ignore[misc]  # private in the stubs
        ctx.load_verify_locations(cafile=extra_ca_file())
        return ctx
