"""File fields through the records API: multipart uploads, modifiers, validation, and the blob
store kept in step with every create, update, delete, rollback and batch.

Expected names, codes and messages were probed against PocketBase 0.40.6.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx2
import pytest
from s3_service import settings_section

from satchel.core.app import App
from satchel.core.hooks import RecordEvent
from satchel.ports.blobs import one_chunk, read_all
from tests.apis.helpers import create_collection

RANDOM = r"[a-z0-9]{10}"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
RECORDS = "/api/collections/docs/records"

DOCS = {
    "name": "docs",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "updateRule": "",
    "deleteRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "uniq", "type": "text"},
        {"name": "one", "type": "file", "maxSelect": 1, "maxSize": 100},
        {"name": "many", "type": "file", "maxSelect": 3, "maxSize": 1000, "mimeTypes": ["image/png", "text/plain"]},
    ],
    "indexes": ["CREATE UNIQUE INDEX idx_docs_uniq ON docs (uniq) WHERE uniq != ''"],
}

Part = tuple[str, tuple[str, bytes, str]]


def txt(key: str, filename: str, data: bytes = b"hello") -> Part:
    return (key, (filename, data, "text/plain"))


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, app: App) -> str:
    """Every scenario on the data directory and on S3 (a moto server on loopback)."""
    if request.param == "s3":
        await app.settings.patch({"s3": settings_section(request.getfixturevalue("s3_config"))})
    assert type(app.storages.files()).__name__ == ("S3BlobStore" if request.param == "s3" else "LocalBlobStore")
    return str(request.param)


@pytest.fixture
async def docs(client: httpx2.AsyncClient, su_headers: dict[str, str], backend: str) -> dict[str, Any]:
    return await create_collection(client, su_headers, DOCS)


async def stored(app: App, prefix: str) -> dict[str, bytes]:
    """Every object under `prefix` (a collection's or a record's folder), by key below it."""
    store = app.storages.files()
    return {info.key[len(prefix) :]: await read_all(store, info.key) for info in await store.list(prefix)}


async def files_of(app: App, record: dict[str, Any]) -> dict[str, bytes]:
    return await stored(app, f"{record['collectionId']}/{record['id']}/")


async def create(client: httpx2.AsyncClient, files: list[Part], **data: Any) -> httpx2.Response:
    return await client.post(RECORDS, data=data, files=files)


async def test_create_with_single_and_multiple_files(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    seen: list[tuple[Any, Any]] = []

    async def spy(e: RecordEvent) -> None:
        seen.append((e.record.get("one"), e.record.get("many")))
        await e.next()

    app.hooks.on_record_create.bind(spy)
    r = await create(
        client,
        [txt("one", "Hello World.TXT", b"hi"), txt("many", "notes.txt", b"aaa"), ("many", ("b.png", PNG, "image/png"))],
        title="first",
    )
    assert r.status_code == 200, r.text
    rec = r.json()
    assert re.fullmatch(rf"hello_world_{RANDOM}\.TXT", rec["one"])
    assert len(rec["many"]) == 2
    assert re.fullmatch(rf"notes_{RANDOM}\.txt", rec["many"][0])
    assert re.fullmatch(rf"b{RANDOM}_{RANDOM}\.png", rec["many"][1])
    # hooks see the stored names, a single name for a single-file field, as PocketBase exports them
    assert seen == [(rec["one"], rec["many"])]
    assert await files_of(app, rec) == {rec["one"]: b"hi", rec["many"][0]: b"aaa", rec["many"][1]: PNG}
    r = await client.get(f"{RECORDS}/{rec['id']}")
    assert r.json()["one"] == rec["one"] and r.json()["many"] == rec["many"]


async def test_update_replace_keeps_named_files_and_deletes_the_rest_with_thumbs(
    client: httpx2.AsyncClient, app: App, docs: dict
) -> None:
    rec = (await create(client, [txt("many", "a.txt", b"A"), txt("many", "b.txt", b"B")])).json()
    a, b = rec["many"]
    store = app.storages.files()
    thumb = f"{docs['id']}/{rec['id']}/thumbs_{b}/100x100_{b}"
    await store.write(thumb, one_chunk(b"thumb"))
    # the plain key: the names sent with it are kept, the new file follows them, the rest goes
    r = await client.patch(f"{RECORDS}/{rec['id']}", data={"many": a}, files=[txt("many", "c.txt", b"C")])
    assert r.status_code == 200, r.text
    many = r.json()["many"]
    assert many[0] == a and len(many) == 2 and re.fullmatch(rf"c{RANDOM}_{RANDOM}\.txt", many[1])
    assert await files_of(app, rec) == {a: b"A", many[1]: b"C"}  # b and its thumbnail are gone
    # files alone under the plain key replace everything
    r = await client.patch(f"{RECORDS}/{rec['id']}", files=[txt("many", "d.txt", b"D")])
    assert r.status_code == 200, r.text
    (d,) = r.json()["many"]
    assert await files_of(app, rec) == {d: b"D"}


async def test_append_prepend_and_remove_modifiers(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    rec = (await create(client, [txt("many", "a.txt", b"A")])).json()
    (a,) = rec["many"]
    r = await client.patch(f"{RECORDS}/{rec['id']}", files=[txt("many+", "b.txt", b"B")])
    assert r.status_code == 200, r.text
    assert r.json()["many"][0] == a
    b = r.json()["many"][1]
    r = await client.patch(f"{RECORDS}/{rec['id']}", files=[txt("+many", "c.txt", b"C")])
    c = r.json()["many"][0]
    assert r.json()["many"] == [c, a, b]
    # remove one name and append another file in the same request
    r = await client.patch(f"{RECORDS}/{rec['id']}", data={"many-": a}, files=[txt("many+", "d.txt", b"D")])
    assert r.status_code == 200, r.text
    d = r.json()["many"][2]
    assert r.json()["many"] == [c, b, d]
    assert await files_of(app, rec) == {b: b"B", c: b"C", d: b"D"}
    # a JSON remove
    r = await client.patch(f"{RECORDS}/{rec['id']}", json={"many-": [b, c]})
    assert r.json()["many"] == [d]
    assert await files_of(app, rec) == {d: b"D"}


async def test_single_file_field_keeps_the_last_upload_only(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    rec = (await create(client, [txt("one", "x1.txt", b"1"), txt("one", "x2.txt", b"2")])).json()
    assert re.fullmatch(rf"x2{RANDOM}_{RANDOM}\.txt", rec["one"])
    assert await files_of(app, rec) == {rec["one"]: b"2"}
    # `one+` on a single-file field: the new file wins and the old one is deleted
    r = await client.patch(f"{RECORDS}/{rec['id']}", files=[txt("one+", "y.txt", b"y")])
    assert r.status_code == 200, r.text
    assert await files_of(app, rec) == {r.json()["one"]: b"y"}


async def test_json_payload_mixed_with_files(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    rec = (await create(client, [txt("many", "a.txt", b"A"), txt("many", "b.txt", b"B")])).json()
    a, _ = rec["many"]
    payload = json.dumps({"title": "from payload", "many": [a]})
    r = await client.patch(
        f"{RECORDS}/{rec['id']}", data={"@jsonPayload": payload, "title": "plain"}, files=[txt("many", "e.txt")]
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["title"] == "from payload"  # the payload is merged over the plain values
    assert out["many"][0] == a and len(out["many"]) == 2
    assert set(await files_of(app, rec)) == set(out["many"])


async def test_json_update_keeps_existing_names_and_refuses_unknown_ones(
    client: httpx2.AsyncClient, app: App, docs: dict
) -> None:
    rec = (await create(client, [txt("many", "a.txt", b"A"), txt("many", "b.txt", b"B")])).json()
    a, b = rec["many"]
    r = await client.patch(f"{RECORDS}/{rec['id']}", json={"many": [a, "bogus.txt"]})
    assert r.status_code == 400
    assert r.json() == {
        "status": 400,
        "message": "Failed to update record.",
        "data": {
            "many": {
                "code": "validation_invalid_file",
                "message": "Invalid new files: [bogus.txt].",
                "params": {"invalidFiles": ["bogus.txt"]},
            }
        },
    }
    assert await files_of(app, rec) == {a: b"A", b: b"B"}
    r = await client.patch(f"{RECORDS}/{rec['id']}", json={"many": [b]})
    assert r.status_code == 200 and r.json()["many"] == [b]
    assert await files_of(app, rec) == {b: b"B"}


async def test_oversize_file_is_refused_and_nothing_changes(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    r = await create(client, [txt("one", "big.bin", b"x" * 101), txt("many", "ok.txt")], title="t")
    assert r.status_code == 400
    assert r.json() == {
        "status": 400,
        "message": "Failed to create record.",
        "data": {
            "one": {
                "code": "validation_file_size_limit",
                "message": "Failed to upload big.bin - the maximum allowed file size is 100 bytes.",
                "params": {"file": "big.bin", "maxSize": 100},
            }
        },
    }
    assert await stored(app, f"{docs['id']}/") == {}
    rec = (await create(client, [txt("one", "small.txt", b"s")], title="before")).json()
    r = await client.patch(f"{RECORDS}/{rec['id']}", data={"title": "after"}, files=[txt("one", "big.bin", b"x" * 101)])
    assert r.status_code == 400 and r.json()["data"]["one"]["code"] == "validation_file_size_limit"
    again = (await client.get(f"{RECORDS}/{rec['id']}")).json()
    assert again["title"] == "before" and again["one"] == rec["one"]
    assert await stored(app, f"{docs['id']}/") == {f"{rec['id']}/{rec['one']}": b"s"}


async def test_wrong_mime_type_is_judged_by_content(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    # a PDF that claims to be a PNG
    r = await create(client, [("many", ("fake.png", b"%PDF-1.4 hello", "image/png"))])
    assert r.status_code == 400
    err = r.json()["data"]["many"]
    assert err["code"] == "validation_invalid_mime_type" and "params" not in err
    assert re.fullmatch(rf'"fake_{RANDOM}\.png" mime type must be one of: image/png, text/plain\.', err["message"])
    # a real PNG without extension passes and is named after its type
    r = await create(client, [("many", ("picture", PNG, "application/octet-stream"))])
    assert r.status_code == 200, r.text
    assert re.fullmatch(rf"picture_{RANDOM}\.png", r.json()["many"][0])
    assert len(await stored(app, f"{docs['id']}/")) == 1


async def test_too_many_files(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    r = await create(client, [txt("many", f"f{i}.txt") for i in range(4)])
    assert r.status_code == 400
    assert r.json()["data"] == {
        "many": {
            "code": "validation_too_many_files",
            "message": "The maximum allowed files is 3.",
            "params": {"maxSelect": 3},
        }
    }
    assert await stored(app, f"{docs['id']}/") == {}


async def test_required_file_field(client: httpx2.AsyncClient, su_headers: dict[str, str], app: App) -> None:
    await create_collection(
        client,
        su_headers,
        {
            "name": "forms",
            "type": "base",
            "createRule": "",
            "fields": [{"name": "doc", "type": "file", "required": True}],
        },
    )
    r = await client.post("/api/collections/forms/records", json={})
    assert r.status_code == 400
    assert r.json()["data"] == {"doc": {"code": "validation_required", "message": "Cannot be blank."}}
    r = await client.post("/api/collections/forms/records", files=[txt("doc", "d.txt")])
    assert r.status_code == 200 and r.json()["doc"]


async def test_files_under_other_keys_and_nameless_parts(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    # a file under a non-file field is ignored, as PocketBase never reads it
    r = await create(client, [txt("title", "t.txt"), txt("many-", "m.txt")])
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "" and r.json()["many"] == []
    # a part without a file name is a plain value: here an unknown file name
    r = await create(client, [("one", ("", b"data", "text/plain"))])
    assert r.status_code == 400
    assert r.json()["data"]["one"]["code"] == "validation_invalid_file"
    assert r.json()["data"]["one"]["params"] == {"invalidFiles": ["data"]}
    assert await stored(app, f"{docs['id']}/") == {}


async def test_record_delete_removes_its_folder(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    keep = (await create(client, [txt("one", "keep.txt")])).json()
    rec = (await create(client, [txt("one", "a.txt"), txt("many", "b.txt")])).json()
    await app.storages.files().write(f"{docs['id']}/{rec['id']}/thumbs_x/1x1_x", one_chunk(b"t"))
    r = await client.delete(f"{RECORDS}/{rec['id']}")
    assert r.status_code == 204
    assert await files_of(app, rec) == {}
    assert list(await files_of(app, keep)) == [keep["one"]]


async def test_a_failing_unique_constraint_leaves_no_orphan(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    first = (await create(client, [], uniq="u1")).json()
    r = await create(client, [txt("many", "orphan.txt")], uniq="u1")
    assert r.status_code == 400
    assert r.json()["data"] == {"uniq": {"code": "validation_not_unique", "message": "Value must be unique."}}
    assert await stored(app, f"{docs['id']}/") == {}
    # on update too: the new upload is removed and the old file stays
    rec = (await create(client, [txt("one", "old.txt", b"old")])).json()
    r = await client.patch(f"{RECORDS}/{rec['id']}", data={"uniq": "u1"}, files=[txt("one", "new.txt", b"new")])
    assert r.status_code == 400
    assert await files_of(app, rec) == {rec["one"]: b"old"}
    assert first["uniq"] == "u1"


async def test_cascade_delete_removes_the_referencing_records_files(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App, docs: dict
) -> None:
    attachments = await create_collection(
        client,
        su_headers,
        {
            "name": "attachments",
            "type": "base",
            "createRule": "",
            "fields": [
                {"name": "doc", "type": "relation", "collectionId": docs["id"], "cascadeDelete": True, "maxSelect": 1},
                {"name": "file", "type": "file"},
            ],
        },
    )
    doc = (await create(client, [txt("one", "doc.txt")])).json()
    r = await client.post(
        "/api/collections/attachments/records", data={"doc": doc["id"]}, files=[txt("file", "att.txt", b"att")]
    )
    assert r.status_code == 200, r.text
    att = r.json()
    assert await files_of(app, att) == {att["file"]: b"att"}
    assert (await client.delete(f"{RECORDS}/{doc['id']}")).status_code == 204
    assert await stored(app, f"{attachments['id']}/") == {}
    assert await stored(app, f"{docs['id']}/") == {}


async def test_collection_delete_removes_its_folder(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App, docs: dict
) -> None:
    await create(client, [txt("one", "a.txt")])
    await create(client, [txt("many", "b.txt")])
    assert len(await stored(app, f"{docs['id']}/")) == 2
    r = await client.delete(f"/api/collections/{docs['id']}", headers=su_headers)
    assert r.status_code == 204
    assert await stored(app, f"{docs['id']}/") == {}


async def test_batch_uploads_and_rollback(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App, docs: dict
) -> None:
    await app.settings.patch({"batch": {"enabled": True, "maxRequests": 50, "timeout": 3, "maxBodySize": 0}})
    payload = {
        "requests": [
            {"method": "POST", "url": RECORDS, "body": {"title": "bt", "many": ["ignored.txt"]}},
            {"method": "POST", "url": RECORDS, "body": {"title": "bt2"}},
        ]
    }
    r = await client.post(
        "/api/batch",
        data={"@jsonPayload": json.dumps(payload)},
        files=[txt("requests.0.many", "batch.txt", b"0"), txt("requests[1].one", "b1.txt", b"1")],
    )
    assert r.status_code == 200, r.text
    first, second = (item["body"] for item in r.json())
    # PocketBase re-sends batch files under their stored names: two random parts
    assert re.fullmatch(rf"batch_{RANDOM}_{RANDOM}\.txt", first["many"][0]) and len(first["many"]) == 1
    assert re.fullmatch(rf"b1{RANDOM}_{RANDOM}_{RANDOM}\.txt", second["one"])
    assert await files_of(app, first) == {first["many"][0]: b"0"}
    assert await files_of(app, second) == {second["one"]: b"1"}

    # the second request fails: the first one's upload, already stored, is removed with the rollback
    before = await stored(app, f"{docs['id']}/")
    payload = {
        "requests": [
            {"method": "POST", "url": RECORDS, "body": {"uniq": "b"}},
            {"method": "POST", "url": RECORDS, "body": {"uniq": "b"}},
        ]
    }
    r = await client.post(
        "/api/batch",
        data={"@jsonPayload": json.dumps(payload)},
        files=[txt("requests.0.many", "kept.txt"), txt("requests.1.many", "orphan.txt")],
    )
    assert r.status_code == 400
    assert r.json()["data"]["requests"]["1"]["code"] == "batch_request_failed"
    assert await stored(app, f"{docs['id']}/") == before


async def test_names_sent_as_a_json_array_text_beside_files(client: httpx2.AsyncClient, app: App, docs: dict) -> None:
    rec = (await create(client, [txt("many", "a.txt", b"A"), txt("many", "b.txt", b"B")])).json()
    a, b = rec["many"]
    r = await client.patch(f"{RECORDS}/{rec['id']}", data={"many": json.dumps([b, a])}, files=[txt("many", "c.txt")])
    assert r.status_code == 200, r.text
    assert r.json()["many"][:2] == [b, a] and len(r.json()["many"]) == 3


async def test_a_large_upload_spooled_to_disk(client: httpx2.AsyncClient, su_headers: dict[str, str], app: App) -> None:
    await create_collection(
        client,
        su_headers,
        {
            "name": "big",
            "type": "base",
            "createRule": "",
            "fields": [{"name": "f", "type": "file", "maxSize": 4 << 20}],
        },
    )
    data = bytes(range(256)) * (12 << 10)  # 3 MiB: past Starlette's in-memory spool
    r = await client.post("/api/collections/big/records", files=[("f", ("blob.bin", data, "application/octet-stream"))])
    assert r.status_code == 200, r.text
    assert await files_of(app, r.json()) == {r.json()["f"]: data}
    r = await client.post("/api/collections/big/records", files=[("f", ("blob.bin", data + data, "x/y"))])
    assert r.status_code == 400 and r.json()["data"]["f"]["code"] == "validation_file_size_limit"


async def test_other_endpoints_never_see_file_parts(client: httpx2.AsyncClient) -> None:
    r = await client.post(
        "/api/collections/users/auth-with-password",
        data={"password": "whatever-123"},
        files=[txt("identity", "me.txt", b"alice@example.com")],
    )
    assert r.status_code == 400
    assert r.json()["data"]["identity"]["code"] == "validation_required"


async def test_a_failed_delete_after_commit_is_logged_not_returned(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App, caplog: pytest.LogCaptureFixture
) -> None:
    docs = await create_collection(client, su_headers, DOCS)
    rec = (await create(client, [txt("one", "a.txt")])).json()
    # the files store now points at a port nobody listens on: the delete after commit cannot run
    secret = "not-to-be-logged-0123456789"
    unreachable = {
        "enabled": True,
        "bucket": "b",
        "region": "us-east-1",
        "endpoint": "http://127.0.0.1:9",
        "accessKey": "key",
        "secret": secret,
        "forcePathStyle": True,
    }
    await app.settings.patch({"s3": unreachable})
    with caplog.at_level(logging.WARNING):
        r = await client.delete(f"{RECORDS}/{rec['id']}")
    assert r.status_code == 204
    assert (await client.get(f"{RECORDS}/{rec['id']}")).status_code == 404
    assert f"could not delete the stored files under {docs['id']}/{rec['id']}/" in caplog.text
    assert secret not in caplog.text
