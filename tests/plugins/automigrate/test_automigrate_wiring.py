"""`satchel serve --dev` turns automigrate on (writing where `--migrations-dir` says); without --dev it is off."""

from __future__ import annotations

from pathlib import Path

from satchel.config import BootConfig
from satchel.core.app import App
from satchel.core.collections.model import Collection
from satchel.core.hooks import CollectionEvent
from satchel.wiring import build_asgi


def built(tmp_path: Path, dev: bool) -> App:
    config = BootConfig(dir=tmp_path / "data", dev=dev, migrations_dir=str(tmp_path / "mig"))
    app: App = build_asgi(config).state.satchel
    return app


def lengths(app: App) -> list[int]:
    hooks = (app.hooks.on_collection_create, app.hooks.on_collection_update, app.hooks.on_collection_delete)
    return [h.length() for h in hooks]


async def test_dev_binds_the_collection_hooks(tmp_path: Path) -> None:
    plain = lengths(built(tmp_path / "plain", dev=False))
    app = built(tmp_path, dev=True)
    assert [n - m for n, m in zip(lengths(app), plain, strict=True)] == [1, 1, 1]

    async def saved(e: CollectionEvent) -> None:
        pass

    await app.hooks.on_collection_create.trigger(
        CollectionEvent(collection=Collection(id="pbc_1", name="notes")), saved
    )
    (file,) = (tmp_path / "mig").iterdir()
    assert file.name.endswith("_created_notes.py")
    await app.db.close()


async def test_without_dev_nothing_is_bound(tmp_path: Path) -> None:
    app = built(tmp_path, dev=False)
    await app.hooks.on_collection_create.trigger(CollectionEvent(collection=Collection(id="pbc_1", name="notes")))
    assert not (tmp_path / "mig").exists()
    await app.db.close()


def test_the_default_folder_is_next_to_the_data_dir(tmp_path: Path) -> None:
    assert BootConfig(dir=tmp_path / "data").migrations_folder == tmp_path.resolve() / "satchel_migrations"
    assert BootConfig(dir=tmp_path / "data", migrations_dir="m").migrations_folder == Path("m").resolve()
