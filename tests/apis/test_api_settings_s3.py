"""`POST /api/settings/test/s3` against a real S3 (moto), and the `s3` / `backups.s3` settings rules.

Expected messages and field codes are PocketBase v0.40's, checked against the real binary.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx2
import pytest
from s3_service import settings_section

from satchel.adapters.blobs.s3 import S3BlobStore
from satchel.ports.blobs import S3Config
from tests.apis.helpers import create_user, error, login

URL = "/api/settings/test/s3"
FAILED = "Failed to test the S3 filesystem."
NOT_ENABLED = f"{FAILED} Raw error: \nS3 storage filesystem is not enabled."
BLANK = {"code": "validation_required", "message": "Cannot be blank."}


def _patch_for(filesystem: str, section: dict[str, Any]) -> dict[str, Any]:
    return {"backups": {"s3": section}} if filesystem == "backups" else {"s3": section}


async def _bucket_keys(config: S3Config) -> list[str]:
    store = S3BlobStore(config)
    try:
        return [info.key for info in await store.list()]
    finally:
        await store.close()


@pytest.mark.parametrize("filesystem", ["storage", "backups"])
async def test_enabled_s3_passes_and_leaves_nothing(
    client: httpx2.AsyncClient, su_headers: dict[str, str], s3_config: S3Config, filesystem: str
) -> None:
    r = await client.patch(
        "/api/settings", json=_patch_for(filesystem, settings_section(s3_config)), headers=su_headers
    )
    assert r.status_code == 200, r.text
    r = await client.post(URL, json={"filesystem": filesystem}, headers=su_headers)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert await _bucket_keys(s3_config) == []  # the test object was written, then deleted


@pytest.mark.parametrize("filesystem", ["storage", "backups"])
async def test_not_enabled(
    client: httpx2.AsyncClient, su_headers: dict[str, str], s3_config: S3Config, filesystem: str
) -> None:
    other = "backups" if filesystem == "storage" else "storage"  # enabling the other section does not count
    r = await client.patch("/api/settings", json=_patch_for(other, settings_section(s3_config)), headers=su_headers)
    assert r.status_code == 200, r.text
    r = await client.post(URL, json={"filesystem": filesystem}, headers=su_headers)
    assert r.json() == error(400, NOT_ENABLED)


async def test_input_errors(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.post(URL, json={}, headers=su_headers)
    assert r.json() == error(400, FAILED, {"filesystem": BLANK})
    r = await client.post(URL, json={"filesystem": ""}, headers=su_headers)
    assert r.json() == error(400, FAILED, {"filesystem": BLANK})
    r = await client.post(URL, json={"filesystem": "files"}, headers=su_headers)
    invalid = {"code": "validation_in_invalid", "message": "Must be a valid value."}
    assert r.json() == error(400, FAILED, {"filesystem": invalid})
    load_error = error(400, "An error occurred while loading the submitted data.")
    for body in ({"filesystem": 5}, {"filesystem": ["storage"]}):
        r = await client.post(URL, json=body, headers=su_headers)
        assert r.json() == load_error
    r = await client.post(URL, content=b"{not json", headers={**su_headers, "content-type": "application/json"})
    assert r.status_code == 400


async def test_missing_bucket_is_a_400_with_the_raw_error(
    client: httpx2.AsyncClient, su_headers: dict[str, str], s3_config: S3Config
) -> None:
    section = {**settings_section(s3_config), "bucket": "satchel-missing-bucket"}
    assert (await client.patch("/api/settings", json={"s3": section}, headers=su_headers)).status_code == 200
    r = await client.post(URL, json={"filesystem": "storage"}, headers=su_headers)
    assert r.status_code == 400
    body = r.json()
    assert body["data"] == {}
    assert body["message"].startswith(f"{FAILED} Raw error: \nfailed to upload a test file: ")
    assert "NoSuchBucket" in body["message"]
    assert s3_config.secret not in r.text


async def test_unreachable_endpoint_is_a_400_without_the_secret(
    client: httpx2.AsyncClient, su_headers: dict[str, str], s3_config: S3Config
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    section = {**settings_section(s3_config), "endpoint": f"http://127.0.0.1:{port}"}
    assert (
        await client.patch("/api/settings", json={"backups": {"s3": section}}, headers=su_headers)
    ).status_code == 200
    r = await client.post(URL, json={"filesystem": "backups"}, headers=su_headers)
    assert r.status_code == 400
    assert r.json()["message"].startswith(f"{FAILED} Raw error: \nfailed to upload a test file: ")
    assert f"127.0.0.1:{port}" in r.json()["message"]
    assert s3_config.secret not in r.text


async def test_only_superusers(client: httpx2.AsyncClient, s3_config: S3Config) -> None:
    r = await client.post(URL, json={"filesystem": "storage"})
    assert r.json() == error(401, "The request requires valid record authorization token.")
    await create_user(client, "u@example.com")
    r = await client.post(URL, json={"filesystem": "storage"}, headers=await login(client, "u@example.com"))
    assert r.json() == error(403, "The authorized record is not allowed to perform this action.")


async def test_enabled_sections_require_every_field(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    all_blank = {key: BLANK for key in ("accessKey", "bucket", "endpoint", "region", "secret")}
    r = await client.patch("/api/settings", json={"backups": {"s3": {"enabled": True}}}, headers=su_headers)
    assert r.json() == error(400, "An error occurred while saving the new settings.", {"backups": {"s3": all_blank}})
    r = await client.patch("/api/settings", json={"s3": {"enabled": True, "endpoint": "not a url"}}, headers=su_headers)
    bad_url = {"code": "validation_is_url", "message": "Must be a valid URL."}
    expected = {**all_blank, "endpoint": bad_url}
    assert r.json() == error(400, "An error occurred while saving the new settings.", {"s3": expected})
    # a malformed endpoint is refused even while the section is off
    r = await client.patch("/api/settings", json={"s3": {"endpoint": "not a url"}}, headers=su_headers)
    assert r.json() == error(400, "An error occurred while saving the new settings.", {"s3": {"endpoint": bad_url}})
    r = await client.get("/api/settings", headers=su_headers)
    assert r.json()["s3"]["enabled"] is False and r.json()["backups"]["s3"]["enabled"] is False  # nothing saved


async def test_endpoint_without_scheme_and_kept_secret(
    client: httpx2.AsyncClient, su_headers: dict[str, str], s3_config: S3Config
) -> None:
    section = {**settings_section(s3_config), "endpoint": "s3.example.com"}
    r = await client.patch("/api/settings", json={"s3": section}, headers=su_headers)
    assert r.status_code == 200, r.text
    assert "secret" not in r.json()["s3"]
    assert s3_config.secret not in r.text
    # the stored secret stays when a later patch (as from the admin UI) leaves it out
    r = await client.patch("/api/settings", json={"s3": {"endpoint": s3_config.endpoint}}, headers=su_headers)
    assert r.status_code == 200, r.text
    assert s3_config.secret not in (await client.get("/api/settings", headers=su_headers)).text
    assert (await client.post(URL, json={"filesystem": "storage"}, headers=su_headers)).status_code == 204
    r = await client.patch("/api/settings", json={"s3": {"secret": ""}}, headers=su_headers)
    assert r.json() == error(400, "An error occurred while saving the new settings.", {"s3": {"secret": BLANK}})
