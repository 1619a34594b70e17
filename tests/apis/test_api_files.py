"""File serving and file tokens: `/api/files/{collection}/{recordId}/{filename}`, `/api/files/token`.

Files are put in the blob store directly and referenced from records written through the
model-level save, so these scenarios do not depend on multipart uploads. Expected headers,
sizes and statuses were taken from PocketBase 0.40.6 serving the same files.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from typing import Any

import httpx2
import pytest
import pytest_asyncio
from PIL import Image
from s3_service import s3_config, s3_endpoint, settings_section

from satchel.core.app import App
from satchel.core.auth.tokens import TYPE_FILE, issue_record_token
from satchel.core.files import thumbs
from satchel.core.records.model import Record
from satchel.ports.blobs import one_chunk
from satchel.testing import client_for, running_app, superuser_token
from satchel.testing import postgres as pg_testing
from satchel.tools import tokens
from satchel.tools.ids import random_id
from tests.apis.helpers import create_collection, create_user, error, login

__all__ = ["s3_config", "s3_endpoint"]  # fixtures for the S3 variant

NOT_FOUND = error(404, "The requested resource wasn't found.")
CSP = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"

PNG_NAME = "photo_a1b2c3d4e5.png"
JPG_NAME = "shot_a1b2c3d4e5.jpg"
WEBP_NAME = "pic_a1b2c3d4e5.webp"
TXT_NAME = "notes_a1b2c3d4e5.txt"
SVG_NAME = "logo_a1b2c3d4e5.svg"
HTML_NAME = "page_a1b2c3d4e5.html"
BROKEN_NAME = "broken_a1b2c3d4e5.png"
SECRET_NAME = "secret_a1b2c3d4e5.png"
OPEN_NAME = "open_a1b2c3d4e5.png"

THUMBS = ["50x50", "40x0", "0x30", "60x20t", "60x20b", "60x20f", "300x300f"]


def image(fmt: str, size: tuple[int, int] = (200, 100)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        return img.size


PNG = image("PNG")
TXT = b"hello world\n" * 10


async def put_record(app: App, collection: str, values: dict[str, Any], files: dict[str, bytes]) -> Record:
    """A record holding file names, with the files' bytes stored where uploads put them."""
    c = app.collections.get(collection)
    assert c is not None
    record = Record(c, {f.name: f.zero() for f in c.fields})
    record.data.update(values)
    record.set("id", random_id())
    async with app.db.transaction() as tx:
        await app.records.save_record(record, tx)
    store = app.storages.files()
    for name, data in files.items():
        await store.write(f"{c.id}/{record.id}/{name}", one_chunk(data))
    return record


async def seed_docs(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> Record:
    await create_collection(
        client,
        su_headers,
        {
            "name": "docs",
            "type": "base",
            "viewRule": "",
            "fields": [
                {"name": "f", "type": "file", "maxSelect": 10, "thumbs": THUMBS},
                {"name": "other", "type": "file", "maxSelect": 1},
            ],
        },
    )
    files = {
        PNG_NAME: PNG,
        JPG_NAME: image("JPEG"),
        WEBP_NAME: image("WEBP"),
        TXT_NAME: TXT,
        SVG_NAME: b'<svg xmlns="http://www.w3.org/2000/svg"></svg>',
        HTML_NAME: b"<html><body>x</body></html>",
        BROKEN_NAME: PNG[:60],
    }
    return await put_record(app, "docs", {"f": list(files)}, files)


@pytest.fixture
async def docs(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> Record:
    """A record of its own, for the tests that change or add files (rewrites, thumbs)."""
    return await seed_docs(app, client, su_headers)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_docs(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[httpx2.AsyncClient, Record]]:
    """One record seeded once for the tests that only read its originals (lookups, types, ranges,
    revalidation): seeding per test was most of their time, on both passes."""
    data_dir = tmp_path_factory.mktemp("files") / "pb_data"
    async with running_app(data_dir) as app:
        if pg_testing.enabled():
            pg_testing.hold(data_dir)
        async with client_for(app) as client:
            yield client, await seed_docs(app, client, {"Authorization": await superuser_token(app, client)})
    if pg_testing.enabled():
        pg_testing.release(data_dir)
        await pg_testing.drop_schemas()


def url(record: Record, name: str, collection: str = "docs") -> str:
    return f"/api/files/{collection}/{record.id}/{name}"


# ------------------------------------------------------------------- lookups


@pytest.mark.asyncio(loop_scope="module")
async def test_unknown_collection_record_or_file_is_404(shared_docs: tuple[httpx2.AsyncClient, Record]) -> None:
    client, docs = shared_docs
    r = await client.get(f"/api/files/missing/{docs.id}/{PNG_NAME}")
    assert (r.status_code, r.json()) == (404, error(404, "Missing or invalid collection context."))
    for path in (
        f"/api/files/docs/nosuchrecord123/{PNG_NAME}",
        f"/api/files/docs/{docs.id}/unknown_name.png",
        f"/api/files/docs/{docs.id}/{PNG_NAME[:-1]}",
    ):
        r = await client.get(path)
        assert (r.status_code, r.json()) == (404, NOT_FOUND), path
    r = await client.head(f"/api/files/docs/{docs.id}/unknown_name.png")
    assert r.status_code == 404


async def test_a_name_held_by_the_record_but_missing_from_the_store_is_404(
    app: App, client: httpx2.AsyncClient, docs: Record
) -> None:
    await app.storages.files().delete(f"{docs.collection_id}/{docs.id}/{PNG_NAME}")
    r = await client.get(url(docs, PNG_NAME))
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


# ------------------------------------------------------------------ originals


@pytest.mark.asyncio(loop_scope="module")
async def test_serves_an_image_inline_with_pocketbase_headers(shared_docs: tuple[httpx2.AsyncClient, Record]) -> None:
    client, docs = shared_docs
    r = await client.get(url(docs, PNG_NAME))
    assert r.status_code == 200
    assert r.content == PNG
    h = r.headers
    assert h["content-type"] == "image/png"
    assert h["content-disposition"] == f'inline; filename="{PNG_NAME}"'
    assert h["content-security-policy"] == CSP
    assert h["x-content-type-options"] == "nosniff"
    assert h["cache-control"] == "max-age=2592000, stale-while-revalidate=86400"
    assert h["accept-ranges"] == "bytes"
    assert h["content-length"] == str(len(PNG))
    assert h["etag"].startswith('"') and h["last-modified"].endswith(" GMT")


@pytest.mark.asyncio(loop_scope="module")
async def test_collection_may_be_named_by_id(shared_docs: tuple[httpx2.AsyncClient, Record]) -> None:
    client, docs = shared_docs
    r = await client.get(url(docs, PNG_NAME, docs.collection_id))
    assert r.status_code == 200 and r.content == PNG


@pytest.mark.asyncio(loop_scope="module")
async def test_head_sends_the_headers_only(shared_docs: tuple[httpx2.AsyncClient, Record]) -> None:
    client, docs = shared_docs
    r = await client.head(url(docs, PNG_NAME))
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len(PNG)) and r.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("name", "content_type", "disposition"),
    [
        (JPG_NAME, "image/jpeg", "inline"),
        (WEBP_NAME, "image/webp", "inline"),
        (TXT_NAME, "text/plain; charset=utf-8", "attachment"),
        (SVG_NAME, "image/svg+xml", "attachment"),
        (HTML_NAME, "text/html; charset=utf-8", "attachment"),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_type_and_disposition_follow_the_content(
    shared_docs: tuple[httpx2.AsyncClient, Record], name: str, content_type: str, disposition: str
) -> None:
    client, docs = shared_docs
    r = await client.get(url(docs, name))
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.headers["content-disposition"] == f'{disposition}; filename="{name}"'
    assert r.headers["content-security-policy"] == CSP


@pytest.mark.parametrize(("value", "disposition"), [("1", "attachment"), ("true", "attachment"), ("0", "inline")])
@pytest.mark.asyncio(loop_scope="module")
async def test_download_forces_an_attachment(
    shared_docs: tuple[httpx2.AsyncClient, Record], value: str, disposition: str
) -> None:
    client, docs = shared_docs
    r = await client.get(url(docs, PNG_NAME), params={"download": value})
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-disposition"] == f'{disposition}; filename="{PNG_NAME}"'


# --------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 10),
        ("bytes=10-", 10, len(PNG)),
        ("bytes=-5", len(PNG) - 5, len(PNG)),
        ("bytes=5-99999", 5, len(PNG)),
    ],
)
@pytest.mark.asyncio(loop_scope="module")
async def test_single_range_is_206(
    shared_docs: tuple[httpx2.AsyncClient, Record], header: str, start: int, end: int
) -> None:
    client, docs = shared_docs
    r = await client.get(url(docs, PNG_NAME), headers={"Range": header})
    assert r.status_code == 206
    assert r.content == PNG[start:end]
    assert r.headers["content-range"] == f"bytes {start}-{end - 1}/{len(PNG)}"
    assert r.headers["content-length"] == str(end - start)


@pytest.mark.asyncio(loop_scope="module")
async def test_range_past_the_end_is_416(shared_docs: tuple[httpx2.AsyncClient, Record]) -> None:
    client, docs = shared_docs
    r = await client.get(url(docs, PNG_NAME), headers={"Range": f"bytes={len(PNG)}-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(PNG)}"
    assert r.json() == error(416, "Requested range not satisfiable.")


@pytest.mark.parametrize("header", [b"bytes=abc", b"items=0-1", b"bytes=9-3", b"bytes=-", b"bytes=\xb2-", b"bytes= - "])
@pytest.mark.asyncio(loop_scope="module")
async def test_malformed_range_is_416(shared_docs: tuple[httpx2.AsyncClient, Record], header: bytes) -> None:
    client, docs = shared_docs
    r = await client.get(url(docs, PNG_NAME), headers={"Range": header})
    assert r.status_code == 416 and "content-range" not in r.headers


@pytest.mark.asyncio(loop_scope="module")
async def test_huge_range_numbers_are_past_the_end(shared_docs: tuple[httpx2.AsyncClient, Record]) -> None:
    client, docs = shared_docs
    r = await client.get(url(docs, PNG_NAME), headers={"Range": "bytes=" + "9" * 5000 + "-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(PNG)}"
    r = await client.get(url(docs, PNG_NAME), headers={"Range": "bytes=3-" + "9" * 5000})
    assert r.status_code == 206 and r.content == PNG[3:]
    r = await client.get(url(docs, PNG_NAME), headers={"Range": "bytes=-" + "9" * 5000})
    assert r.status_code == 206 and r.content == PNG


@pytest.mark.asyncio(loop_scope="module")
async def test_several_ranges_get_the_whole_file(shared_docs: tuple[httpx2.AsyncClient, Record]) -> None:
    client, docs = shared_docs
    r = await client.get(url(docs, PNG_NAME), headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 200 and r.content == PNG


@pytest.mark.asyncio(loop_scope="module")
async def test_if_range_of_another_version_gets_the_whole_file(shared_docs: tuple[httpx2.AsyncClient, Record]) -> None:
    client, docs = shared_docs
    etag = (await client.head(url(docs, PNG_NAME))).headers["etag"]
    r = await client.get(url(docs, PNG_NAME), headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert r.status_code == 200 and r.content == PNG
    r = await client.get(url(docs, PNG_NAME), headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status_code == 206 and r.content == PNG[:10]


# --------------------------------------------------------------- revalidation


@pytest.mark.asyncio(loop_scope="module")
async def test_etag_and_last_modified_revalidate(shared_docs: tuple[httpx2.AsyncClient, Record]) -> None:
    client, docs = shared_docs
    first = await client.get(url(docs, PNG_NAME))
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    r = await client.get(url(docs, PNG_NAME), headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b""
    assert r.headers["etag"] == etag and "content-type" not in r.headers
    r = await client.get(url(docs, PNG_NAME), headers={"If-None-Match": '"stale"'})
    assert r.status_code == 200 and r.content == PNG
    r = await client.get(url(docs, PNG_NAME), headers={"If-Modified-Since": modified})
    assert r.status_code == 304
    earlier = formatdate(time.time() - 86400 * 365, usegmt=True)
    r = await client.get(url(docs, PNG_NAME), headers={"If-Modified-Since": earlier})
    assert r.status_code == 200 and r.content == PNG


async def test_a_rewritten_file_gets_a_new_etag(app: App, client: httpx2.AsyncClient, docs: Record) -> None:
    etag = (await client.head(url(docs, TXT_NAME))).headers["etag"]
    await app.storages.files().write(f"{docs.collection_id}/{docs.id}/{TXT_NAME}", one_chunk(TXT + b"more"))
    r = await client.get(url(docs, TXT_NAME), headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.content == TXT + b"more"


async def test_the_type_follows_a_rewritten_file(app: App, client: httpx2.AsyncClient, docs: Record) -> None:
    assert (await client.get(url(docs, PNG_NAME))).headers["content-type"] == "image/png"
    await app.storages.files().write(f"{docs.collection_id}/{docs.id}/{PNG_NAME}", one_chunk(TXT))
    r = await client.get(url(docs, PNG_NAME))
    assert r.content == TXT and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="{PNG_NAME}"'


# --------------------------------------------------------------------- thumbs


def thumb_key(record: Record, thumb: str, name: str) -> str:
    return f"{record.collection_id}/{record.id}/thumbs_{name}/{thumb}_{name}"


async def test_default_thumb_is_generated_once_and_then_read_from_the_store(
    app: App, client: httpx2.AsyncClient, docs: Record
) -> None:
    store = app.storages.files()
    key = thumb_key(docs, "100x100", PNG_NAME)
    assert not await store.exists(key)
    r = await client.get(url(docs, PNG_NAME), params={"thumb": "100x100"})
    assert r.status_code == 200
    assert size_of(r.content) == (100, 100)
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == f'inline; filename="100x100_{PNG_NAME}"'
    stored = await store.stat(key)
    again = await client.get(url(docs, PNG_NAME), params={"thumb": "100x100"})
    assert again.status_code == 200 and again.content == r.content
    assert await store.stat(key) == stored  # same mtime: served from the store, not regenerated


@pytest.mark.parametrize(
    ("thumb", "size"),
    [
        ("50x50", (50, 50)),
        ("40x0", (40, 20)),
        ("0x30", (60, 30)),
        ("60x20t", (60, 20)),
        ("60x20b", (60, 20)),
        ("60x20f", (40, 20)),
        ("300x300f", (200, 100)),
    ],
)
async def test_each_thumb_mode_gives_pocketbase_sizes(
    client: httpx2.AsyncClient, docs: Record, thumb: str, size: tuple[int, int]
) -> None:
    for name in (PNG_NAME, JPG_NAME, WEBP_NAME):
        r = await client.get(url(docs, name), params={"thumb": thumb})
        assert r.status_code == 200
        assert r.headers["content-disposition"] == f'inline; filename="{thumb}_{name}"'
        assert size_of(r.content) == size, (name, thumb)


async def test_thumb_keeps_jpeg_and_turns_webp_into_png(client: httpx2.AsyncClient, docs: Record) -> None:
    r = await client.get(url(docs, JPG_NAME), params={"thumb": "50x50"})
    assert r.headers["content-type"] == "image/jpeg" and r.content[:3] == b"\xff\xd8\xff"
    r = await client.get(url(docs, WEBP_NAME), params={"thumb": "50x50"})
    assert r.headers["content-type"] == "image/png" and r.content[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("thumb", ["70x70", "0x0", "abc", "100x100x"])
async def test_thumb_not_listed_serves_the_original(
    app: App, client: httpx2.AsyncClient, docs: Record, thumb: str
) -> None:
    r = await client.get(url(docs, PNG_NAME), params={"thumb": thumb})
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-disposition"] == f'inline; filename="{PNG_NAME}"'
    assert await app.storages.files().list(f"{docs.collection_id}/{docs.id}/thumbs_{PNG_NAME}/") == []


@pytest.mark.parametrize("name", [TXT_NAME, SVG_NAME])
async def test_thumb_of_a_non_image_serves_the_original(
    app: App, client: httpx2.AsyncClient, docs: Record, name: str
) -> None:
    r = await client.get(url(docs, name), params={"thumb": "100x100"})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert not await app.storages.files().exists(thumb_key(docs, "100x100", name))


async def test_thumb_of_a_broken_image_serves_the_original(app: App, client: httpx2.AsyncClient, docs: Record) -> None:
    r = await client.get(url(docs, BROKEN_NAME), params={"thumb": "100x100"})
    assert r.status_code == 200 and r.content == PNG[:60]
    assert not await app.storages.files().exists(thumb_key(docs, "100x100", BROKEN_NAME))


async def test_concurrent_first_requests_share_one_generation(
    app: App, client: httpx2.AsyncClient, docs: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = thumbs.make_thumb

    def counting(data: bytes, size: thumbs.ThumbSize, original_type: str, max_pixels: int = 10**9) -> bytes:
        calls.append(original_type)
        return real(data, size, original_type, max_pixels)

    monkeypatch.setattr(thumbs, "make_thumb", counting)
    responses = await asyncio.gather(*(client.get(url(docs, PNG_NAME), params={"thumb": "50x50"}) for _ in range(6)))
    assert [r.status_code for r in responses] == [200] * 6
    assert len({r.content for r in responses}) == 1 and size_of(responses[0].content) == (50, 50)
    assert calls == ["image/png"]
    stored = await app.storages.files().stat(thumb_key(docs, "50x50", PNG_NAME))
    assert stored.size == len(responses[0].content)


async def test_thumb_ranges_and_revalidation_apply_to_the_thumb(client: httpx2.AsyncClient, docs: Record) -> None:
    full = await client.get(url(docs, PNG_NAME), params={"thumb": "50x50"})
    r = await client.get(url(docs, PNG_NAME), params={"thumb": "50x50"}, headers={"Range": "bytes=0-3"})
    assert r.status_code == 206 and r.content == full.content[:4]
    r = await client.get(
        url(docs, PNG_NAME), params={"thumb": "50x50"}, headers={"If-None-Match": full.headers["etag"]}
    )
    assert r.status_code == 304


# ------------------------------------------------------------ view collections


async def test_view_collection_serves_the_source_records_file(
    client: httpx2.AsyncClient, su_headers: dict[str, str], docs: Record
) -> None:
    await create_collection(
        client, su_headers, {"name": "docs_view", "type": "view", "viewRule": "", "viewQuery": "select id, f from docs"}
    )
    r = await client.get(url(docs, PNG_NAME, "docs_view"), params={"thumb": "50x50"})
    assert r.status_code == 200 and size_of(r.content) == (50, 50)
    r = await client.get(url(docs, TXT_NAME, "docs_view"))
    assert r.status_code == 200 and r.content == TXT


# ------------------------------------------------------------ protected files


@pytest.fixture
async def secrets(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> dict[str, Any]:
    await create_collection(
        client,
        su_headers,
        {
            "name": "secrets",
            "type": "base",
            "viewRule": "owner = @request.auth.id && @request.context = 'protectedFile'",
            "fields": [
                {"name": "owner", "type": "text"},
                {"name": "p", "type": "file", "maxSelect": 1, "protected": True},
                {"name": "o", "type": "file", "maxSelect": 1},
            ],
        },
    )
    alice = await create_user(client, "alice@example.com")
    await create_user(client, "bob@example.com")
    record = await put_record(
        app, "secrets", {"owner": alice["id"], "p": SECRET_NAME, "o": OPEN_NAME}, {SECRET_NAME: PNG, OPEN_NAME: PNG}
    )
    return {
        "record": record,
        "alice": alice,
        "alice_h": await login(client, "alice@example.com"),
        "bob_h": await login(client, "bob@example.com"),
    }


async def file_token(client: httpx2.AsyncClient, headers: dict[str, str]) -> str:
    r = await client.post("/api/files/token", headers=headers)
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


async def test_protected_file_needs_a_file_token_the_view_rule_accepts(
    client: httpx2.AsyncClient, secrets: dict[str, Any], su_headers: dict[str, str]
) -> None:
    path = url(secrets["record"], SECRET_NAME, "secrets")
    alice_token = await file_token(client, secrets["alice_h"])
    refused = {
        "no token": {},
        "auth header only": {"headers": secrets["alice_h"]},
        "auth token as file token": {"params": {"token": secrets["alice_h"]["Authorization"]}},
        "garbage token": {"params": {"token": "abc"}},
        "other user's token": {"params": {"token": await file_token(client, secrets["bob_h"])}},
    }
    for label, kwargs in refused.items():
        r = await client.get(path, **kwargs)
        assert (r.status_code, r.json()) == (404, NOT_FOUND), label
    r = await client.get(path, params={"token": alice_token})
    assert r.status_code == 200 and r.content == PNG
    # the file token decides, not the Authorization header
    r = await client.get(path, params={"token": alice_token}, headers=secrets["bob_h"])
    assert r.status_code == 200
    r = await client.get(path, params={"token": alice_token, "thumb": "100x100"})
    assert r.status_code == 200 and size_of(r.content) == (100, 100)
    r = await client.get(path, params={"token": await file_token(client, su_headers)})
    assert r.status_code == 200 and r.content == PNG


async def test_unprotected_field_of_the_same_record_is_public(
    client: httpx2.AsyncClient, secrets: dict[str, Any]
) -> None:
    r = await client.get(url(secrets["record"], OPEN_NAME, "secrets"))
    assert r.status_code == 200 and r.content == PNG


async def test_expired_file_token_is_refused(app: App, client: httpx2.AsyncClient, secrets: dict[str, Any]) -> None:
    users = app.collections.get("users")
    assert users is not None
    alice = await app.records.get_by_id(users, secrets["alice"]["id"])
    assert alice is not None
    path = url(secrets["record"], SECRET_NAME, "secrets")
    expired = issue_record_token(app.secret, alice, TYPE_FILE, exp=int(time.time()) - 5)
    r = await client.get(path, params={"token": expired})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    valid = issue_record_token(app.secret, alice, TYPE_FILE)
    assert (await client.get(path, params={"token": valid})).status_code == 200


async def test_password_change_revokes_file_tokens(client: httpx2.AsyncClient, secrets: dict[str, Any]) -> None:
    path = url(secrets["record"], SECRET_NAME, "secrets")
    token = await file_token(client, secrets["alice_h"])
    assert (await client.get(path, params={"token": token})).status_code == 200
    r = await client.patch(
        f"/api/collections/users/records/{secrets['alice']['id']}",
        json={"oldPassword": "password-123", "password": "password-456", "passwordConfirm": "password-456"},
        headers=secrets["alice_h"],
    )
    assert r.status_code == 200, r.text
    r = await client.get(path, params={"token": token})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


async def test_superuser_file_token_outside_superuser_ips_is_a_guest(
    app: App, client: httpx2.AsyncClient, secrets: dict[str, Any], su_headers: dict[str, str]
) -> None:
    path = url(secrets["record"], SECRET_NAME, "secrets")
    token = await file_token(client, su_headers)
    await app.settings.patch({"superuserIPs": ["10.9.8.7/32"]})
    r = await client.get(path, params={"token": token})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


async def test_protected_file_with_a_public_view_rule_needs_no_token(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await create_collection(
        client,
        su_headers,
        {
            "name": "public_protected",
            "type": "base",
            "viewRule": "",
            "fields": [{"name": "p", "type": "file", "maxSelect": 1, "protected": True}],
        },
    )
    record = await put_record(app, "public_protected", {"p": SECRET_NAME}, {SECRET_NAME: PNG})
    r = await client.get(url(record, SECRET_NAME, "public_protected"))
    assert r.status_code == 200 and r.content == PNG


# ----------------------------------------------------------------- file token


async def test_file_token_requires_auth(client: httpx2.AsyncClient) -> None:
    r = await client.post("/api/files/token")
    assert (r.status_code, r.json()) == (401, error(401, "The request requires valid record authorization token."))


async def test_file_token_for_users_and_superusers(
    client: httpx2.AsyncClient, secrets: dict[str, Any], su_headers: dict[str, str]
) -> None:
    before = time.time()
    claims = tokens.parse_unverified(await file_token(client, secrets["alice_h"]))
    assert claims is not None
    assert claims["type"] == "file" and claims["id"] == secrets["alice"]["id"]
    assert claims["collectionId"] == "_pb_users_auth_"
    assert before + 179 <= claims["exp"] <= time.time() + 181  # the collection's fileToken duration
    su_claims = tokens.parse_unverified(await file_token(client, su_headers))
    assert su_claims is not None and su_claims["type"] == "file" and su_claims["collectionId"] == "pbc_3142635823"


# ------------------------------------------------------ through uploads, local and S3


@pytest.fixture(params=["local", "s3"])
async def store_kind(request: pytest.FixtureRequest, app: App) -> str:
    if request.param == "s3":
        config = request.getfixturevalue("s3_config")
        await app.settings.patch({"s3": settings_section(config)})
    return str(request.param)


async def test_uploaded_files_are_served_from_either_store(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str], store_kind: str
) -> None:
    await create_collection(
        client,
        su_headers,
        {"name": "uploads", "type": "base", "viewRule": "", "fields": [{"name": "f", "type": "file", "maxSelect": 2}]},
    )
    r = await client.post(
        "/api/collections/uploads/records",
        files=[("f", ("photo.png", PNG, "image/png")), ("f", ("notes.txt", TXT, "text/plain"))],
        headers=su_headers,
    )
    assert r.status_code == 200, r.text
    record = r.json()
    png_name, txt_name = record["f"]
    base = f"/api/files/uploads/{record['id']}"

    r = await client.get(f"{base}/{png_name}")
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == f'inline; filename="{png_name}"'
    r = await client.get(f"{base}/{txt_name}")
    assert r.status_code == 200 and r.content == TXT
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="{txt_name}"'

    r = await client.get(f"{base}/{png_name}", headers={"Range": "bytes=8-15"})
    assert r.status_code == 206 and r.content == PNG[8:16]
    assert r.headers["content-range"] == f"bytes 8-15/{len(PNG)}"

    r = await client.get(f"{base}/{png_name}", params={"thumb": "100x100"})
    assert r.status_code == 200 and size_of(r.content) == (100, 100)
    assert r.headers["content-type"] == "image/png"
    key = f"{record['collectionId']}/{record['id']}/thumbs_{png_name}/100x100_{png_name}"
    stored = await app.storages.files().stat(key)
    again = await client.get(f"{base}/{png_name}", params={"thumb": "100x100"})
    assert again.content == r.content and await app.storages.files().stat(key) == stored
    assert again.headers["etag"] == r.headers["etag"]

    # removing the file from the record makes it (and its thumbs) unreachable
    r = await client.patch(
        f"/api/collections/uploads/records/{record['id']}", json={"f-": [png_name]}, headers=su_headers
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"{base}/{png_name}", params={"thumb": "100x100"})
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    assert not await app.storages.files().exists(key)
