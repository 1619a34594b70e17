"""The BlobStore port's contract, run against every backend: a local directory and a real S3 (moto).

Besides what the port promises to readers, each backend reports its leftovers (temp files and
empty directories on disk, unfinished multipart uploads on S3), so "stores nothing" is checked
where a broken adapter would actually leave something behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiobotocore.session import get_session

from satchel.adapters.blobs.local import LocalBlobStore
from satchel.adapters.blobs.s3 import PART_SIZE, S3BlobStore
from satchel.ports.blobs import (
    BlobError,
    BlobNotFoundError,
    BlobStore,
    BlobTooLargeError,
    InvalidKeyError,
    S3Config,
    one_chunk,
    read_all,
)

MiB = 1 << 20


@dataclass
class Backend:
    name: str
    store: BlobStore
    leftovers: Callable[[], Awaitable[list[str]]]
    """Anything stored that is not an object: temp files, empty directories, pending multipart uploads."""
    etag: Callable[[str], Awaitable[str]]
    """The object's ETag on S3 ("" locally): a multipart upload's ends in `-<parts>`."""


def _local_backend(root: Path) -> Backend:
    async def leftovers() -> list[str]:
        found: list[str] = []
        for directory, dirs, files in os.walk(root):
            found += [os.path.join(directory, f) for f in files if "~" in f]
            found += [os.path.join(directory, d) for d in dirs if not os.listdir(os.path.join(directory, d))]
        return found

    async def etag(key: str) -> str:
        return ""

    return Backend("local", LocalBlobStore(root), leftovers, etag)


_SESSION = get_session()


def _s3_client(config: S3Config):  # type: ignore[no-untyped-def]
    return _SESSION.create_client(
        "s3",
        region_name=config.region,
        endpoint_url=config.endpoint,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret,
    )


def _s3_backend(config: S3Config) -> Backend:
    async def leftovers() -> list[str]:
        async with _s3_client(config) as client:
            uploads = await client.list_multipart_uploads(Bucket=config.bucket)
        return [u["Key"] for u in uploads.get("Uploads", [])]

    async def etag(key: str) -> str:
        async with _s3_client(config) as client:
            head = await client.head_object(Bucket=config.bucket, Key=key)
        return str(head["ETag"]).strip('"')

    return Backend("s3", S3BlobStore(config), leftovers, etag)


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "local":
        b = _local_backend(tmp_path / "storage")
    else:
        b = _s3_backend(request.getfixturevalue("s3_config"))
    yield b
    await b.store.close()


def _data(size: int, seed: int = 0) -> bytes:
    """Bytes whose every position is distinguishable, so a wrong offset cannot go unnoticed."""
    block = hashlib.sha256(str(seed).encode()).digest() * 8  # 256 bytes
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += bytes((b + counter) % 256 for b in block)
        counter += 1
    return bytes(out[:size])


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _failing(parts: int, part_size: int) -> AsyncIterator[bytes]:
    for _ in range(parts):
        yield b"x" * part_size
    raise RuntimeError("the client went away")


async def _read(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


async def test_write_read_round_trip(backend: Backend) -> None:
    store = backend.store
    data = _data(300_000)
    info = await store.write("c1/r1/file.bin", _chunks(data, 7_000), content_type="application/octet-stream")
    assert (info.key, info.size) == ("c1/r1/file.bin", len(data))
    assert await read_all(store, "c1/r1/file.bin") == data
    stat = await store.stat("c1/r1/file.bin")
    assert stat.size == len(data)
    assert stat.modified > 0
    if backend.name == "s3":
        assert stat.content_type == "application/octet-stream"
    empty = await store.write("c1/r1/empty.txt", _chunks(b"", 1))
    assert empty.size == 0
    assert await read_all(store, "c1/r1/empty.txt") == b""
    assert (await store.stat("c1/r1/empty.txt")).size == 0


async def test_keys_with_every_allowed_character(backend: Backend) -> None:
    key = "A-z_0.9/name@host+tag=v,1.txt"
    await backend.store.write(key, one_chunk(b"odd"))
    assert await read_all(backend.store, key) == b"odd"
    assert [i.key for i in await backend.store.list()] == [key]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, slice(0, None)),
        (100, None, slice(100, None)),
        (100, 200, slice(100, 200)),
        (70_000, 140_001, slice(70_000, 140_001)),  # spans read chunks
        (50, 50, slice(0, 0)),  # empty range
        (60, 50, slice(0, 0)),  # end before start
        (150_000, 10**9, slice(150_000, None)),  # end past the size
        (200_000, None, slice(0, 0)),  # start at the size
        (10**9, None, slice(0, 0)),  # start past the size
        (0, 1, slice(0, 1)),
        (199_999, 200_000, slice(199_999, 200_000)),  # the last byte
    ],
)
async def test_ranged_reads(backend: Backend, start: int, end: int | None, expected: slice) -> None:
    data = _data(200_000, seed=1)
    await backend.store.write("ranged", one_chunk(data))
    assert await _read(backend.store, "ranged", start, end) == data[expected]


async def test_ranged_read_of_an_empty_object(backend: Backend) -> None:
    await backend.store.write("empty", one_chunk(b""))
    assert await _read(backend.store, "empty", 0, 10) == b""
    assert await _read(backend.store, "empty", 5) == b""


async def test_negative_range_is_refused(backend: Backend) -> None:
    await backend.store.write("neg", one_chunk(b"abc"))
    with pytest.raises(ValueError, match="negative"):
        backend.store.read("neg", -1)


async def test_stat_and_exists(backend: Backend) -> None:
    store = backend.store
    assert not await store.exists("a/b.txt")
    await store.write("a/b.txt", one_chunk(b"12345"))
    assert await store.exists("a/b.txt")
    assert (await store.stat("a/b.txt")).size == 5
    assert not await store.exists("a")  # a "directory" is not an object
    assert not await store.exists("a/b.txt2")
    with pytest.raises(BlobNotFoundError):
        await store.stat("a")


async def test_missing_keys(backend: Backend) -> None:
    store = backend.store
    with pytest.raises(BlobNotFoundError):
        await store.stat("no/such.txt")
    for start, end in [(0, None), (5, 10), (3, 3)]:
        with pytest.raises(BlobNotFoundError):
            await _read(store, "no/such.txt", start, end)
    assert await store.list("no/") == []


async def test_replace_is_atomic_for_readers(backend: Backend) -> None:
    store = backend.store
    old, new = b"a" * 400_000, b"b" * 400_000
    await store.write("f/obj", one_chunk(old))

    # a writer halfway through its stream: readers still get the old object, whole
    halfway, go_on = asyncio.Event(), asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield new[:200_000]
        halfway.set()
        await go_on.wait()
        yield new[200_000:]

    writing = asyncio.create_task(store.write("f/obj", slow()))
    await halfway.wait()
    assert await read_all(store, "f/obj") == old
    assert (await store.stat("f/obj")).size == len(old)

    # a reader that started before the replace finishes with the version it started on
    reader = store.read("f/obj")
    first = await anext(reader)
    go_on.set()
    await writing
    rest = b"".join([chunk async for chunk in reader])
    assert first + rest == old
    assert await read_all(store, "f/obj") == new
    assert await backend.leftovers() == []


@pytest.mark.parametrize("size", ["small", "multipart"])
async def test_max_size_overflow_stores_nothing(backend: Backend, size: str) -> None:
    store = backend.store
    await store.write("k/kept", one_chunk(b"previous"))
    limit, chunk, chunks = (10, 4, 4) if size == "small" else (PART_SIZE + MiB // 2, MiB, PART_SIZE // MiB + 1)
    body = _chunks(b"y" * chunk * chunks, chunk)
    with pytest.raises(BlobTooLargeError) as caught:
        await store.write("k/kept", body, max_size=limit)
    assert caught.value.max_size == limit
    with pytest.raises(BlobTooLargeError):
        await store.write("k/new", _chunks(b"y" * chunk * chunks, chunk), max_size=limit)
    assert await read_all(store, "k/kept") == b"previous"
    assert not await store.exists("k/new")
    assert [i.key for i in await store.list()] == ["k/kept"]
    assert await backend.leftovers() == []
    # exactly at the limit is allowed
    assert (await store.write("k/exact", one_chunk(b"z" * 10), max_size=10)).size == 10


@pytest.mark.parametrize("parts", [2, PART_SIZE // MiB + 1])
async def test_failing_stream_stores_nothing(backend: Backend, parts: int) -> None:
    store = backend.store
    await store.write("k/kept", one_chunk(b"previous"))
    for key in ("k/kept", "k/new", "deep/er/new"):
        with pytest.raises(RuntimeError, match="went away"):
            await store.write(key, _failing(parts, MiB))
    assert await read_all(store, "k/kept") == b"previous"
    assert not await store.exists("k/new")
    assert [i.key for i in await store.list()] == ["k/kept"]
    assert await backend.leftovers() == []


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "", "a/../b", "a/./b", "a/", "x y", "a\\b", "é", "a" * 1001])
async def test_invalid_keys_are_refused(backend: Backend, key: str) -> None:
    store = backend.store
    with pytest.raises(InvalidKeyError):
        await store.write(key, one_chunk(b"nope"))
    with pytest.raises(InvalidKeyError):
        await store.stat(key)
    with pytest.raises(InvalidKeyError):
        await store.exists(key)
    with pytest.raises(InvalidKeyError):
        await _read(store, key)
    with pytest.raises(InvalidKeyError):
        await store.delete(key)
    assert await store.list() == []
    assert await backend.leftovers() == []


@pytest.mark.parametrize("prefix", ["a", "../", "/a/", "a//", "a/../", "./"])
async def test_invalid_prefixes_are_refused(backend: Backend, prefix: str) -> None:
    await backend.store.write("a/b", one_chunk(b"1"))
    with pytest.raises(InvalidKeyError):
        await backend.store.delete_prefix(prefix)
    with pytest.raises(InvalidKeyError):
        await backend.store.list(prefix)
    assert await backend.store.exists("a/b")


async def test_delete_is_idempotent(backend: Backend) -> None:
    store = backend.store
    await store.write("c/r/f.txt", one_chunk(b"1"))
    await store.write("c/other.txt", one_chunk(b"2"))
    await store.delete("c/r/f.txt")
    assert not await store.exists("c/r/f.txt")
    await store.delete("c/r/f.txt")
    await store.delete("never/was.txt")
    assert [i.key for i in await store.list()] == ["c/other.txt"]
    assert await backend.leftovers() == []  # the emptied directory is gone too


async def test_delete_prefix_removes_only_that_prefix(backend: Backend) -> None:
    store = backend.store
    keys = [
        "c1/r1/a.txt",
        "c1/r1/b.txt",
        "c1/r1/thumbs_a.txt/100x100_a.txt",
        "c1/r10/x.txt",
        "c1/r2/y",
        "c1/r1.txt",
        "c2/r1/z",
    ]
    for key in keys:
        await store.write(key, one_chunk(key.encode()))
    assert await store.delete_prefix("c1/r1/") == 3
    assert [i.key for i in await store.list()] == ["c1/r1.txt", "c1/r10/x.txt", "c1/r2/y", "c2/r1/z"]
    assert await store.delete_prefix("c1/r1/") == 0
    assert await store.delete_prefix("c9/") == 0
    assert await backend.leftovers() == []
    assert await store.delete_prefix("c1/") == 3
    assert [i.key for i in await store.list()] == ["c2/r1/z"]
    assert await read_all(store, "c2/r1/z") == b"c2/r1/z"
    assert await store.delete_prefix("") == 1
    assert await store.list() == []
    assert await backend.leftovers() == []


async def test_delete_prefix_over_a_thousand_keys(backend: Backend) -> None:
    store = backend.store
    sem = asyncio.Semaphore(32)

    async def put(i: int) -> None:
        async with sem:
            await store.write(f"many/{i:04d}", one_chunk(b"."))

    await asyncio.gather(*(put(i) for i in range(1005)))
    await store.write("manyx/keep", one_chunk(b"k"))
    listed = await store.list("many/")
    assert len(listed) == 1005
    assert listed[0].key == "many/0000" and listed[-1].key == "many/1004"
    assert await store.delete_prefix("many/") == 1005
    assert [i.key for i in await store.list()] == ["manyx/keep"]


async def test_list_is_recursive_and_sorted(backend: Backend) -> None:
    store = backend.store
    keys = ["b/2", "a/z/deep.txt", "b/10", "a/a", "top.txt", "b/1/x", "A/upper"]
    for i, key in enumerate(keys):
        await store.write(key, one_chunk(b"x" * i))
    listed = await store.list()
    assert [i.key for i in listed] == sorted(keys)
    assert {i.key: i.size for i in listed} == {k: i for i, k in enumerate(keys)}
    assert [i.key for i in await store.list("b/")] == ["b/1/x", "b/10", "b/2"]
    assert [i.key for i in await store.list("a/z/")] == ["a/z/deep.txt"]
    assert await store.list("c/") == []
    assert await store.list("top.txt/") == []


async def test_twenty_mebibyte_stream(backend: Backend) -> None:
    store = backend.store
    size, chunk = 20 * MiB, 256 << 10
    digest = hashlib.sha256()

    async def generated() -> AsyncIterator[bytes]:
        for i in range(size // chunk):
            piece = i.to_bytes(4, "big") * (chunk // 4)
            digest.update(piece)
            yield piece

    info = await store.write("big/archive.zip", generated(), content_type="application/zip", max_size=size)
    assert info.size == size
    assert (await store.stat("big/archive.zip")).size == size
    read_digest = hashlib.sha256()
    total = 0
    async for piece in store.read("big/archive.zip"):
        read_digest.update(piece)
        total += len(piece)
    assert total == size
    assert read_digest.hexdigest() == digest.hexdigest()
    if backend.name == "s3":
        parts = -(-size // PART_SIZE)
        assert (await backend.etag("big/archive.zip")).endswith(f"-{parts}")
    middle = await _read(store, "big/archive.zip", 10 * MiB, 10 * MiB + 8)
    index = (10 * MiB) // chunk
    assert middle == index.to_bytes(4, "big") * 2
    assert await backend.leftovers() == []


async def test_local_listing_skips_temp_and_foreign_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    await store.write("c/r/a.txt", one_chunk(b"a"))
    (tmp_path / "c" / "r" / "~inflight.tmp").write_bytes(b"partial")
    (tmp_path / "c" / "r" / "has space.txt").write_bytes(b"foreign")
    assert [i.key for i in await store.list()] == ["c/r/a.txt"]
    assert await store.delete_prefix("c/") == 1
    assert (tmp_path / "c" / "r" / "~inflight.tmp").exists()  # a writer in flight keeps its file


async def test_local_key_over_a_file_is_a_blob_error(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    await store.write("a", one_chunk(b"file"))
    with pytest.raises(BlobError):
        await store.write("a/b", one_chunk(b"under a file"))
    assert await read_all(store, "a") == b"file"
    assert await store.list() == [await store.stat("a")]


def _closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_s3_unreachable_endpoint_is_a_blob_error() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    config = S3Config(bucket="b", region="us-east-1", endpoint=endpoint, access_key="k", secret="s3cr3t-value")
    store = S3BlobStore(config)
    try:
        with pytest.raises(BlobError) as caught:
            await store.write("x", one_chunk(b"1"))
        assert "s3cr3t-value" not in str(caught.value)
        with pytest.raises(BlobError) as caught:
            await _read(store, "x")
        assert not isinstance(caught.value, BlobNotFoundError)
    finally:
        await store.close()


async def test_s3_missing_bucket_is_a_blob_error(s3_config: S3Config) -> None:
    config = S3Config(
        bucket="satchel-no-such-bucket",
        region=s3_config.region,
        endpoint=s3_config.endpoint,
        access_key=s3_config.access_key,
        secret=s3_config.secret,
        force_path_style=True,
    )
    store = S3BlobStore(config)
    try:
        with pytest.raises(BlobError) as caught:
            await store.write("x", one_chunk(b"1"))
        assert not isinstance(caught.value, BlobNotFoundError)
        assert "NoSuchBucket" in str(caught.value)
        assert s3_config.secret not in str(caught.value)
        with pytest.raises(BlobError):
            await store.list()
    finally:
        await store.close()
