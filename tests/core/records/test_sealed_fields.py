"""Encrypted record fields in the records core, on SQLite and PostgreSQL (SATCHEL_TEST_DB=postgres):
the stored row read with the database's own driver holds no plaintext, an envelope moved to another
record or field does not open, turning encryption on and off rewrites existing rows, renames keep
the blind index, and a server without the key (or with another one) does not start."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from satchel.core.app import App
from satchel.core.records import storage
from satchel.core.records.model import Record
from satchel.core.records.sealed_fields import SealedFieldError
from satchel.core.records.service import ListParams
from satchel.core.rules.request_info import RequestInfo
from satchel.core.secrets_at_rest import SecretsKeyError
from satchel.testing import postgres as pg_testing
from satchel.testing import running_app
from satchel.tools.keyring import stored_key_id
from satchel.tools.secretbox import key_id_of
from satchel.tools.sql import ir

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


async def _raw_rows(data: Path, table: str) -> list[dict[str, Any]]:
    """The table as the database's own driver returns it, not through Satchel."""
    if pg_testing.enabled():
        import asyncpg

        conn = await asyncpg.connect(pg_testing.base_url())
        try:
            schema = pg_testing.schema_for(data)
            rows = await conn.fetch(f'SELECT * FROM "{schema}"."{table}"')
            return [dict(r) for r in rows]
        finally:
            await conn.close()
    conn = sqlite3.connect(data / "data.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f'SELECT * FROM "{table}"')]
    finally:
        conn.close()


async def _collection(app: App, *fields: dict[str, Any]) -> None:
    await app.collections_service.create({"name": "people", "fields": [{"name": "name", "type": "text"}, *fields]})


async def _create(app: App, **values: Any) -> str:
    record = await app.records.create("people", values, _superuser(app))
    return str(record["id"])


def _superuser(app: App) -> RequestInfo:
    """A request made by a superuser (rules do not apply): what these tests exercise is storage."""
    superusers = app.collections.get("_superusers")
    assert superusers is not None
    return RequestInfo(auth=Record(superusers, {"id": "su", "email": "su@example.com"}))


def _params(flt: str) -> ListParams:
    return ListParams(filter=flt, sort="@rowid")


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    async with running_app(tmp_path / "pb_data", encryption_key=KEY) as a:
        yield a


async def test_the_stored_row_holds_no_plaintext(app: App, tmp_path: Path) -> None:
    await _collection(
        app, {"name": "ssn", "type": "text", "encrypted": True}, {"name": "doc", "type": "json", "encrypted": True}
    )
    await _create(app, name="Ann", ssn="078-05-1120", doc={"diagnosis": "confidential-thing"})
    (row,) = await _raw_rows(tmp_path / "pb_data", "people")
    dumped = repr(row)
    assert "078-05-1120" not in dumped and "confidential-thing" not in dumped and "diagnosis" not in dumped
    assert row["name"] == "Ann"
    assert stored_key_id(row["ssn"]) == key_id_of(KEY) and stored_key_id(row["doc"]) == key_id_of(KEY)
    assert len(row["ssn__bidx"]) == 32 and row["ssn__bidx"] != row["doc__bidx"]


async def test_an_envelope_copied_elsewhere_does_not_open(app: App) -> None:
    await _collection(
        app, {"name": "ssn", "type": "text", "encrypted": True}, {"name": "note", "type": "text", "encrypted": True}
    )
    ann = await _create(app, name="Ann", ssn="111", note="n")
    bob = await _create(app, name="Bob", ssn="222", note="m")
    people = app.collections.get("people")
    assert people is not None
    ex = app.db.executor()
    sealed = await ex.fetch_value(
        ir.Select((ir.col("ssn"),), ir.Table("people"), where=ir.eq(ir.col("id"), ir.Param(ann)))
    )

    async def put(record_id: str, name: str, value: Any) -> None:
        async with app.db.transaction() as tx:
            await tx.execute(ir.Update("people", {name: ir.Param(value)}, ir.eq(ir.col("id"), ir.Param(record_id))))

    # into another record's same field
    await put(bob, "ssn", sealed)
    with pytest.raises(SealedFieldError, match="damaged or was moved"):
        await storage.fetch_by_id(ex, people, bob)
    # into another field of the same record
    await put(ann, "note", sealed)
    with pytest.raises(SealedFieldError, match="damaged or was moved"):
        await storage.fetch_by_id(ex, people, ann)
    # where it belongs, it opens
    await put(ann, "note", "")
    record = await storage.fetch_by_id(ex, people, ann)
    assert record is not None and record.get("ssn") == "111"


async def test_turning_encryption_on_and_off_rewrites_the_rows(app: App, tmp_path: Path) -> None:
    await _collection(app, {"name": "ssn", "type": "text"})
    ids = [await _create(app, name=n, ssn=s) for n, s in (("Ann", "ssn 111"), ("Bob", ""), ("Cy", "ssn 333"))]
    data = (await app.collections_service.get("people")).to_json()
    data["fields"][2]["encrypted"] = True
    await app.collections_service.update("people", {"fields": data["fields"]})
    rows = {r["id"]: r for r in await _raw_rows(tmp_path / "pb_data", "people")}
    assert "ssn 111" not in repr(rows) and "ssn 333" not in repr(rows)
    assert rows[ids[1]]["ssn"] == "" and rows[ids[1]]["ssn__bidx"] == ""
    listed = await app.records.list("people", _superuser(app), _params('ssn = "ssn 333"'))
    assert [i["name"] for i in listed["items"]] == ["Cy"]

    data["fields"][2]["encrypted"] = False
    await app.collections_service.update("people", {"fields": data["fields"]})
    rows = {r["id"]: r for r in await _raw_rows(tmp_path / "pb_data", "people")}
    assert [rows[i]["ssn"] for i in ids] == ["ssn 111", "", "ssn 333"] and "ssn__bidx" not in rows[ids[0]]


async def test_a_renamed_field_keeps_its_values_and_index(app: App, tmp_path: Path) -> None:
    await _collection(app, {"name": "ssn", "type": "text", "encrypted": True})
    await _create(app, name="Ann", ssn="111")
    data = (await app.collections_service.get("people")).to_json()
    data["fields"][2]["name"] = "tax_id"
    await app.collections_service.update("people", {"fields": data["fields"]})
    (row,) = await _raw_rows(tmp_path / "pb_data", "people")
    assert "tax_id__bidx" in row and "ssn__bidx" not in row
    listed = await app.records.list("people", _superuser(app), _params('tax_id = "111"'))
    assert [i["tax_id"] for i in listed["items"]] == ["111"]
    data["fields"].pop(2)
    await app.collections_service.update("people", {"fields": data["fields"]})
    (row,) = await _raw_rows(tmp_path / "pb_data", "people")
    assert set(row) - {"$rowid"} == {"id", "name"}  # PostgreSQL tables have a rowid column of their own


async def test_no_key_or_another_key_does_not_start(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    async with running_app(data, encryption_key=KEY) as app:
        await _collection(app, {"name": "ssn", "type": "text", "encrypted": True})
        await _create(app, name="Ann", ssn="111")
    with pytest.raises(SecretsKeyError, match="has encrypted fields \\(ssn\\) and no encryption key is configured"):
        async with running_app(data):
            pass
    with pytest.raises(SecretsKeyError, match=f"encrypted with the key {key_id_of(KEY)}, which is not configured"):
        async with running_app(data, encryption_key=OTHER):
            pass
    async with running_app(data, encryption_key=OTHER, old_encryption_keys=(KEY,)) as app:
        listed = await app.records.list("people", _superuser(app), _params('ssn = "111"'))
        assert [i["ssn"] for i in listed["items"]] == ["111"]
        await _create(app, name="Bob", ssn="222")  # written under the current key
    rows = {r["name"]: r for r in await _raw_rows(data, "people")}
    assert stored_key_id(rows["Ann"]["ssn"]) == key_id_of(KEY)
    assert stored_key_id(rows["Bob"]["ssn"]) == key_id_of(OTHER)


async def test_a_value_written_in_clear_around_satchel_is_refused(app: App) -> None:
    await _collection(app, {"name": "ssn", "type": "text", "encrypted": True})
    ann = await _create(app, name="Ann", ssn="ssn 1")
    async with app.db.transaction() as tx:
        await tx.execute(ir.Update("people", {"ssn": ir.Param("injected")}, ir.eq(ir.col("id"), ir.Param(ann))))
    people = app.collections.get("people")
    assert people is not None
    with pytest.raises(SealedFieldError, match="a value stored in clear"):
        await storage.fetch_by_id(app.db.executor(), people, ann)


async def test_renamed_and_toggled_in_one_change(app: App, tmp_path: Path) -> None:
    await _collection(app, {"name": "ssn", "type": "text", "encrypted": True})
    await _create(app, name="Ann", ssn="ssn 1")
    data = (await app.collections_service.get("people")).to_json()
    data["fields"][2].update(name="tax_id", encrypted=False)
    await app.collections_service.update("people", {"fields": data["fields"]})
    (row,) = await _raw_rows(tmp_path / "pb_data", "people")
    assert row["tax_id"] == "ssn 1" and set(row) - {"$rowid"} == {"id", "name", "tax_id"}
    data["fields"][2].update(name="ssn", encrypted=True)
    await app.collections_service.update("people", {"fields": data["fields"]})
    (row,) = await _raw_rows(tmp_path / "pb_data", "people")
    assert stored_key_id(row["ssn"]) == key_id_of(KEY) and row["ssn__bidx"] and "tax_id" not in row
