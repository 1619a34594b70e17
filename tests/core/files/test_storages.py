"""Which blob store the runtime settings choose (wiring's factory + core's Storages), against moto."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from s3_service import settings_section

from satchel.adapters.blobs.local import LocalBlobStore
from satchel.adapters.blobs.s3 import S3BlobStore
from satchel.core.app import App
from satchel.core.files.storages import BACKUPS_DIR, STORAGE_DIR, Storages, s3_config
from satchel.ports.blobs import BlobInfo, BlobStore, S3Config, one_chunk, read_all
from satchel.testing import running_app
from satchel.wiring import blob_store


class ClosingSpy:
    """A real store that remembers being closed (Storages must close every store it built)."""

    def __init__(self, inner: BlobStore, closed: list[BlobStore]) -> None:
        self.inner = inner
        self._closed = closed

    async def write(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str = "", max_size: int | None = None
    ) -> BlobInfo:
        return await self.inner.write(key, chunks, content_type=content_type, max_size=max_size)

    async def stat(self, key: str) -> BlobInfo:
        return await self.inner.stat(key)

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self.inner.read(key, start, end)

    async def exists(self, key: str) -> bool:
        return await self.inner.exists(key)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def delete_prefix(self, prefix: str) -> int:
        return await self.inner.delete_prefix(prefix)

    async def list(self, prefix: str = "") -> list[BlobInfo]:
        return await self.inner.list(prefix)

    async def close(self) -> None:
        self._closed.append(self.inner)
        await self.inner.close()


def test_factory_builds_local_or_s3(tmp_path: Path, s3_config: S3Config) -> None:
    local = blob_store(tmp_path, None)
    assert isinstance(local, LocalBlobStore)
    assert local.root == tmp_path
    remote = blob_store(tmp_path, s3_config)
    assert isinstance(remote, S3BlobStore)
    assert remote.config == s3_config


def test_disabled_section_is_local() -> None:
    assert s3_config({"enabled": False, "bucket": "b"}) is None
    config = s3_config(
        {"enabled": True, "bucket": "b", "region": "r", "endpoint": "e", "accessKey": "k", "secret": "s"}
    )
    assert config == S3Config(bucket="b", region="r", endpoint="e", access_key="k", secret="s")


async def test_local_by_default(app: App) -> None:
    files, backups = app.storages.files(), app.storages.backups()
    assert isinstance(files, LocalBlobStore)
    assert isinstance(backups, LocalBlobStore)
    assert files.root == app.config.data_dir / STORAGE_DIR
    assert backups.root == app.config.data_dir / BACKUPS_DIR
    assert app.storages.files() is files  # one store while the settings stay the same
    await files.write("c/r/a.txt", one_chunk(b"file"))
    await backups.write("b.zip", one_chunk(b"zip"))
    assert (app.config.data_dir / "storage" / "c" / "r" / "a.txt").read_bytes() == b"file"
    assert (app.config.data_dir / "backups" / "b.zip").read_bytes() == b"zip"


async def test_settings_switch_files_to_s3_and_back(app: App, s3_config: S3Config) -> None:
    local = app.storages.files()
    await local.write("c/r/local.txt", one_chunk(b"on disk"))

    await app.settings.patch({"s3": settings_section(s3_config)})
    remote = app.storages.files()
    assert isinstance(remote, S3BlobStore)
    assert remote.config == s3_config
    assert isinstance(app.storages.backups(), LocalBlobStore)  # its own section, still disabled
    await remote.write("c/r/remote.txt", one_chunk(b"in the bucket"))
    assert not await remote.exists("c/r/local.txt")

    other = S3BlobStore(s3_config)  # the object really is in the bucket
    try:
        assert await read_all(other, "c/r/remote.txt") == b"in the bucket"
    finally:
        await other.close()

    await app.settings.patch({"s3": {"enabled": False}})
    back = app.storages.files()
    assert isinstance(back, LocalBlobStore)
    assert await read_all(back, "c/r/local.txt") == b"on disk"
    assert not await back.exists("c/r/remote.txt")


async def test_backups_section_switches_backups_only(app: App, s3_config: S3Config) -> None:
    await app.settings.patch({"backups": {"s3": settings_section(s3_config)}})
    assert isinstance(app.storages.backups(), S3BlobStore)
    assert isinstance(app.storages.files(), LocalBlobStore)


async def test_build_makes_a_fresh_store_for_a_section(app: App, s3_config: S3Config) -> None:
    built = app.storages.build(settings_section(s3_config))
    try:
        assert isinstance(built, S3BlobStore)
        assert built is not app.storages.files()
    finally:
        await built.close()
    local = app.storages.build({"enabled": False}, BACKUPS_DIR)
    assert isinstance(local, LocalBlobStore)
    assert local.root == app.config.data_dir / BACKUPS_DIR


async def test_replaced_and_current_stores_are_closed_with_the_app(tmp_path: Path, s3_config: S3Config) -> None:
    closed: list[BlobStore] = []
    async with running_app(tmp_path / "pb_data") as app:
        app.storages = Storages(app, lambda root, s3: ClosingSpy(blob_store(root, s3), closed))
        first = app.storages.files()
        await first.write("a", one_chunk(b"1"))
        await app.settings.patch({"s3": settings_section(s3_config)})
        second = app.storages.files()
        await second.write("a", one_chunk(b"2"))
        backups = app.storages.backups()
        assert closed == []  # the replaced store may still be streaming a response
    assert isinstance(first, ClosingSpy)
    assert isinstance(second, ClosingSpy)
    assert isinstance(backups, ClosingSpy)
    assert sorted(map(id, closed)) == sorted(map(id, [first.inner, second.inner, backups.inner]))
    assert isinstance(second.inner, S3BlobStore)
