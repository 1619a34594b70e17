"""Which blob store holds uploaded files and which holds backups, as the runtime settings say.

PocketBase keeps both on the local disk unless its `s3` (files) or `backups.s3` (archives)
section is enabled; settings are editable live, so the store is looked up on every use and
rebuilt only when its section changed. Adapters are built by a factory that wiring injects
(core never imports an adapter).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from satchel.ports.blobs import BlobStore, S3Config

if TYPE_CHECKING:
    from satchel.core.app import App

STORAGE_DIR = "storage"
BACKUPS_DIR = "backups"

BlobStoreFactory = Callable[[Path, S3Config | None], BlobStore]
"""`(local root, S3 settings or None)` to a store: S3 when given, else the directory."""


def s3_config(section: dict[str, Any]) -> S3Config | None:
    """The S3 settings of one section, or None when that section is disabled."""
    if not section.get("enabled"):
        return None
    return S3Config(
        bucket=str(section.get("bucket", "")),
        region=str(section.get("region", "")),
        endpoint=str(section.get("endpoint", "")),
        access_key=str(section.get("accessKey", "")),
        secret=str(section.get("secret", "")),
        force_path_style=bool(section.get("forcePathStyle", False)),
    )


class Storages:
    def __init__(self, app: App, factory: BlobStoreFactory) -> None:
        self._app = app
        self._factory = factory
        self._stores: dict[str, tuple[S3Config | None, BlobStore]] = {}
        self._retired: list[BlobStore] = []

    def files(self) -> BlobStore:
        """Uploaded record files and their thumbnails (`<collectionId>/<recordId>/...`)."""
        return self._get("files", STORAGE_DIR, self._app.settings.current["s3"])

    def backups(self) -> BlobStore:
        """Backup archives (`<name>.zip` at the root of the store)."""
        return self._get("backups", BACKUPS_DIR, self._app.settings.current["backups"]["s3"])

    def build(self, section: dict[str, Any], local_dir: str = STORAGE_DIR) -> BlobStore:
        """A fresh store for a settings section that may not be saved yet (the S3 connection test)."""
        return self._factory(self._app.config.data_dir / local_dir, s3_config(section))

    def _get(self, name: str, local_dir: str, section: dict[str, Any]) -> BlobStore:
        config = s3_config(section)
        cached = self._stores.get(name)
        if cached is not None and cached[0] == config:
            return cached[1]
        if cached is not None:
            # a request may still be streaming from it: closed with the app, not now
            self._retired.append(cached[1])
        store = self._factory(self._app.config.data_dir / local_dir, config)
        self._stores[name] = (config, store)
        return store

    async def close(self) -> None:
        stores = [store for _, store in self._stores.values()] + self._retired
        self._stores.clear()
        self._retired.clear()
        for store in stores:
            await store.close()
