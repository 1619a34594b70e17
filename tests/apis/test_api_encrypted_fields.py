"""Encrypted record fields through the REST API: callers see plaintext, the table holds none,
equality filters work through the blind index and every other use is a clear 400."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.core.app import App
from satchel.testing import client_for, running_app, superuser_token
from satchel.tools.keyring import stored_key_id
from satchel.tools.secretbox import key_id_of
from satchel.tools.sql import ir
from tests.apis.helpers import create_collection, create_user, login

KEY = bytes(range(32))

NOTES = {
    "name": "notes",
    "type": "base",
    "listRule": "",
    "viewRule": "",
    "createRule": "",
    "updateRule": "",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "ssn", "type": "text", "encrypted": True, "pattern": "^[0-9-]*$"},
        {"name": "diary", "type": "editor", "encrypted": True},
        {"name": "profile", "type": "json", "encrypted": True},
    ],
}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    async with running_app(tmp_path / "pb_data", encryption_key=KEY) as a:
        yield a


@pytest.fixture
async def su(app: App, client: httpx2.AsyncClient) -> dict[str, str]:
    return {"Authorization": await superuser_token(app, client)}


async def _raw_rows(app: App, table: str) -> list[dict[str, Any]]:
    return await app.db.executor().fetch_all(ir.Select((ir.Star(table),), ir.Table(table)))


async def _notes(client: httpx2.AsyncClient, su: dict[str, str]) -> dict[str, Any]:
    return await create_collection(client, su, NOTES)


async def test_reads_show_plaintext_and_the_table_holds_none(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await _notes(client, su)
    body = {"title": "t", "ssn": "123-45-6789", "diary": "<p>dear diary</p>", "profile": {"blood": "AB+"}}
    r = await client.post("/api/collections/notes/records", json=body)
    assert r.status_code == 200, r.text
    created = r.json()
    assert {k: created[k] for k in body} == body
    assert "ssn__bidx" not in created
    r = await client.get(f"/api/collections/notes/records/{created['id']}")
    assert {k: r.json()[k] for k in body} == body and "ssn__bidx" not in r.json()
    (row,) = await _raw_rows(app, "notes")
    stored = str(row)
    for secret in ("123-45-6789", "dear diary", "AB+", "blood"):
        assert secret not in stored
    assert row["title"] == "t" and '"$encrypted"' in str(row["ssn"]) and len(str(row["ssn__bidx"])) == 32


async def test_validation_runs_on_the_plaintext(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await _notes(client, su)
    r = await client.post("/api/collections/notes/records", json={"ssn": "not a number"})
    assert r.status_code == 400
    assert r.json()["data"]["ssn"]["code"] == "validation_invalid_format"


async def test_update_re_encrypts_and_empty_stays_empty(
    app: App, client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await _notes(client, su)
    created = (await client.post("/api/collections/notes/records", json={"ssn": "1"})).json()
    first = (await _raw_rows(app, "notes"))[0]["ssn"]
    r = await client.patch(f"/api/collections/notes/records/{created['id']}", json={"ssn": "2", "diary": ""})
    assert r.status_code == 200 and r.json()["ssn"] == "2" and r.json()["diary"] == ""
    (row,) = await _raw_rows(app, "notes")
    assert row["ssn"] != first and stored_key_id(row["ssn"]) == key_id_of(KEY)
    assert row["diary"] == "" and row["diary__bidx"] == ""


async def test_equality_filters_use_the_blind_index(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    await _notes(client, su)
    for ssn, profile in (("1", {"a": 1}), ("2", "x"), ("2", 5), ("", None)):
        r = await client.post("/api/collections/notes/records", json={"ssn": ssn, "profile": profile})
        assert r.status_code == 200, r.text

    async def ssns(flt: str) -> list[Any]:
        r = await client.get("/api/collections/notes/records", params={"filter": flt, "sort": "@rowid"})
        assert r.status_code == 200, r.text
        return [(i["ssn"], i["profile"]) for i in r.json()["items"]]

    assert await ssns('ssn = "2"') == [("2", "x"), ("2", 5)]
    assert await ssns('ssn != "2"') == [("1", {"a": 1}), ("", None)]
    assert await ssns('ssn = ""') == [("", None)]
    assert await ssns('ssn = "3"') == []
    assert await ssns('profile = "x"') == [("2", "x")]
    assert await ssns("profile = 5") == [("2", 5)]
    assert await ssns("profile = null") == [("", None)]
    assert await ssns('ssn = "1" || ssn = "2" && profile = 5') == [("1", {"a": 1}), ("2", 5)]


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"filter": 'ssn ~ "1"'}, "the operator ~ would need the plaintext"),
        ({"filter": 'ssn !~ "1"'}, "the operator !~"),
        ({"filter": 'ssn > "1"'}, "the operator >"),
        ({"filter": "ssn = title"}, "not with another field"),
        ({"filter": "ssn = diary"}, "two encrypted fields"),
        ({"filter": 'ssn:lower = "a"'}, "the :lower modifier"),
        ({"filter": "profile.a = 1"}, "a path into its value"),
        ({"sort": "ssn"}, "cannot be sorted"),
        ({"sort": "-diary"}, "cannot be sorted"),
    ],
)
async def test_other_uses_are_a_clear_400(
    client: httpx2.AsyncClient, su: dict[str, str], params: dict[str, str], why: str
) -> None:
    await _notes(client, su)
    r = await client.get("/api/collections/notes/records", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["status"] == 400 and "is encrypted" in r.json()["message"] and why in r.json()["message"]


async def test_a_rule_compares_an_encrypted_field_with_the_request(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    await create_collection(
        client,
        su,
        {
            **NOTES,
            "listRule": "ssn = @request.headers.x_ssn",
            "createRule": 'ssn != "000"',
        },
    )
    assert (await client.post("/api/collections/notes/records", json={"ssn": "000"})).status_code == 400
    assert (await client.post("/api/collections/notes/records", json={"ssn": "111"})).status_code == 200
    mine = await client.get("/api/collections/notes/records", headers={"x-ssn": "111"})
    other = await client.get("/api/collections/notes/records", headers={"x-ssn": "222"})
    assert [i["ssn"] for i in mine.json()["items"]] == ["111"] and other.json()["items"] == []


async def test_an_encrypted_field_of_the_signed_in_user_is_matched(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    r = await client.get("/api/collections/users", headers=su)
    users = r.json()
    users["fields"].append({"name": "team", "type": "text", "encrypted": True})
    assert (await client.patch("/api/collections/users", json={"fields": users["fields"]}, headers=su)).is_success
    await create_collection(client, su, {**NOTES, "listRule": "title = @request.auth.team"})
    await create_user(client, "a@example.com", team="red")
    for title in ("red", "blue"):
        assert (await client.post("/api/collections/notes/records", json={"title": title})).status_code == 200
    r = await client.get("/api/collections/notes/records", headers=await login(client, "a@example.com"))
    assert r.status_code == 400 and "not with another field" in r.json()["message"]
    await client.patch("/api/collections/notes", json={"listRule": "@request.auth.team = 'red'"}, headers=su)
    r = await client.get("/api/collections/notes/records", headers=await login(client, "a@example.com"))
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    r = await client.get("/api/collections/notes/records")
    assert r.status_code == 200 and r.json()["items"] == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"indexes": ["CREATE UNIQUE INDEX idx_ssn ON notes (ssn)"]}, ("fields", "2", "encrypted")),
        ({"search": {"fields": ["title", "diary"]}}, ("fields", "3", "encrypted")),
    ],
)
async def test_settings_that_cannot_work_are_refused(
    client: httpx2.AsyncClient, su: dict[str, str], change: dict[str, Any], path: tuple[str, ...]
) -> None:
    r = await client.post("/api/collections", json={**NOTES, **change}, headers=su)
    assert r.status_code == 400, r.text
    node: Any = r.json()["data"]
    for key in path:
        node = node[key]
    assert node["code"] == "validation_encrypted_unsupported"


async def test_the_option_is_only_in_the_json_of_encrypted_fields(
    client: httpx2.AsyncClient, su: dict[str, str]
) -> None:
    fields = {f["name"]: f for f in (await _notes(client, su))["fields"]}
    assert fields["ssn"]["encrypted"] is True and "encrypted" not in fields["title"]


async def test_without_a_key_fields_cannot_be_encrypted(tmp_path: Path) -> None:
    async with running_app(tmp_path / "plain") as app, client_for(app) as client:
        su = {"Authorization": await superuser_token(app, client)}
        r = await client.post("/api/collections", json=NOTES, headers=su)
        assert r.status_code == 400
        problem = r.json()["data"]["fields"]["2"]["encrypted"]
        assert problem["code"] == "validation_encrypted_unsupported" and "SATCHEL_ENCRYPTION_KEY" in problem["message"]


async def test_a_rule_that_cannot_work_is_refused_when_saved(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    r = await client.post("/api/collections", json={**NOTES, "listRule": 'ssn ~ "1"'}, headers=su)
    assert r.status_code == 400
    problem = r.json()["data"]["listRule"]
    assert (
        problem["code"] == "validation_invalid_rule" and "the operator ~ would need the plaintext" in problem["message"]
    )


async def test_the_dashboard_rule_check_knows_encrypted_fields(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    url = "/api/collections/meta/rule-check"
    for rule, status in (('ssn = "1"', 204), ('ssn ~ "1"', 400)):
        r = await client.post(url, json={"collection": NOTES, "rule": rule}, headers=su)  # an unsaved draft
        assert r.status_code == status, (rule, r.text)
    await _notes(client, su)
    r = await client.post(url, json={"collection": "notes", "rule": "ssn > 1"}, headers=su)
    assert r.status_code == 400 and "the operator > would need the plaintext" in r.json()["data"]["rule"]["message"]


async def test_through_a_multiple_relation_any_and_every_item(client: httpx2.AsyncClient, su: dict[str, str]) -> None:
    notes = await _notes(client, su)
    await create_collection(
        client,
        su,
        {
            "name": "folders",
            "listRule": "",
            "fields": [
                {"name": "label", "type": "text"},
                {"name": "notes", "type": "relation", "collectionId": notes["id"], "maxSelect": 5},
            ],
        },
    )
    ids = {}
    for ssn in ("1", "2"):
        ids[ssn] = (await client.post("/api/collections/notes/records", json={"ssn": ssn})).json()["id"]
    for label, members in (("only-1", ["1"]), ("mixed", ["1", "2"]), ("only-2", ["2"])):
        body = {"label": label, "notes": [ids[m] for m in members]}
        assert (await client.post("/api/collections/folders/records", json=body, headers=su)).status_code == 200

    async def labels(flt: str) -> list[str]:
        r = await client.get("/api/collections/folders/records", params={"filter": flt, "sort": "label"})
        assert r.status_code == 200, r.text
        return [i["label"] for i in r.json()["items"]]

    assert await labels('notes.ssn ?= "1"') == ["mixed", "only-1"]
    assert await labels('notes.ssn = "1"') == ["only-1"]
    assert await labels('notes.ssn ?!= "1"') == ["mixed", "only-2"]
    assert await labels('notes.ssn != "1"') == ["only-2"]
