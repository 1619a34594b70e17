"""Uploads through the records service, below HTTP: streams of unknown size, hooks that change
the value, and saves that fail inside a transaction that still commits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from satchel.core.app import App
from satchel.core.errors import ValidationError
from satchel.core.files.sniff import SNIFF_LENGTH
from satchel.core.files.uploads import Upload
from satchel.core.hooks import RecordEvent
from satchel.core.records.model import Record
from satchel.core.records.upsert import Access, load_body
from satchel.core.rules.request_info import RequestInfo
from satchel.ports.database import IntegrityError
from tests.apis.helpers import create_collection

DOCS = {
    "name": "docs",
    "type": "base",
    "createRule": "",
    "fields": [
        {"name": "uniq", "type": "text"},
        {"name": "one", "type": "file", "maxSelect": 1, "maxSize": SNIFF_LENGTH * 2},
        {"name": "many", "type": "file", "maxSelect": 5},
    ],
    "indexes": ["CREATE UNIQUE INDEX idx_docs_uniq ON docs (uniq) WHERE uniq != ''"],
}


@pytest.fixture
async def docs(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> dict:
    return await create_collection(client, su_headers, DOCS)


async def keys(app: App, prefix: str) -> list[str]:
    return [info.key for info in await app.storages.files().list(prefix)]


async def test_a_stream_of_unknown_size_is_cut_off_at_the_limit(app: App, docs: dict) -> None:
    sent: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for _ in range(100):  # 100 x 4 KiB, far past the 16 KiB limit
            sent.append(1)
            yield b"x" * 4096

    upload = await Upload.open("stream.bin", endless)
    assert upload.size is None
    with pytest.raises(ValidationError) as info:
        await app.records.create("docs", {"one": upload}, RequestInfo(method="POST"))
    assert info.value.message == "Failed to create record."
    err = info.value.data["one"]
    assert err["code"] == "validation_file_size_limit" and err["params"]["maxSize"] == SNIFF_LENGTH * 2
    assert await keys(app, f"{docs['id']}/") == []
    assert len(sent) < 50  # the head, then a pass the store stopped mid-stream (not all 100 chunks)


async def test_hooks_decide_the_final_value_and_only_it_is_stored(app: App, docs: dict) -> None:
    async def drop_first(e: RecordEvent) -> None:
        names = e.record.get("many")
        e.record.set("many", names[1:])
        await e.next()

    app.hooks.on_record_create.bind(drop_first)
    first = await Upload.from_bytes(b"1", "first.txt")
    second = await Upload.from_bytes(b"2", "second.txt")
    out = await app.records.create("docs", {"many": [first, second]}, RequestInfo(method="POST"))
    assert out["many"] == [second.name]
    assert await keys(app, f"{docs['id']}/") == [f"{docs['id']}/{out['id']}/{second.name}"]


async def test_a_failed_save_inside_a_committed_transaction_leaves_no_file(app: App, docs: dict) -> None:
    await app.records.create("docs", {"uniq": "taken"}, RequestInfo(method="POST"))
    collection = app.records.collection("docs")
    record = Record(collection, {f.name: f.zero() for f in collection.fields})
    load_body(record, {"uniq": "taken", "one": await Upload.from_bytes(b"x", "x.txt")}, Access.SUPERUSER)
    record.set("id", "abcdefghijklmno")
    async with app.db.transaction() as tx:
        with pytest.raises(IntegrityError):
            await app.records.save_record(record, tx)
        # the caller carries on and commits without the row
    assert await keys(app, f"{docs['id']}/") == []


async def test_a_replaced_file_survives_when_its_savepoint_is_undone(app: App, docs: dict) -> None:
    out = await app.records.create(
        "docs", {"one": await Upload.from_bytes(b"old", "old.txt")}, RequestInfo(method="POST")
    )
    old_key = f"{docs['id']}/{out['id']}/{out['one']}"
    collection = app.records.collection("docs")
    record = await app.records.get_by_id(collection, out["id"])
    assert record is not None
    load_body(record, {"one": await Upload.from_bytes(b"new", "new.txt")}, Access.SUPERUSER)
    async with app.db.transaction():
        with pytest.raises(RuntimeError):
            async with app.db.transaction() as tx:
                await app.records.save_record(record, tx)
                raise RuntimeError("a later step of the same savepoint fails")
    # the outer transaction committed, but not the update: the old file stays, the new one is gone
    assert await keys(app, f"{docs['id']}/") == [old_key]
