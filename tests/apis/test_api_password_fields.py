"""Password fields outside an auth record's own `password`: stored hashed, never exported (PocketBase 0.40.6, probed)."""

from __future__ import annotations

import httpx2

from satchel.core.app import App
from satchel.tools.passwords import verify_password
from satchel.tools.sql import ir


async def _stored(app: App, record_id: str) -> str:
    row = await app.db.executor().fetch_one(
        ir.Select((ir.col("secret"),), ir.Table("vault"), where=ir.eq(ir.col("id"), ir.Param(record_id)))
    )
    assert row is not None
    return str(row["secret"])


async def test_a_password_field_is_hashed_and_exported_empty_to_everyone(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    fields = [{"name": "secret", "type": "password", "min": 8, "required": True}, {"name": "label", "type": "text"}]
    open_rules = {"listRule": "", "viewRule": "", "createRule": "", "updateRule": ""}
    r = await client.post("/api/collections", json={"name": "vault", "fields": fields, **open_rules}, headers=su_headers)
    assert r.status_code == 200, r.text

    r = await client.post("/api/collections/vault/records", json={"secret": "correct horse", "label": "a"})
    assert r.status_code == 200 and r.json()["secret"] == ""
    record_id = r.json()["id"]
    first_hash = await _stored(app, record_id)
    assert first_hash != "correct horse" and verify_password(first_hash, "correct horse")
    for headers in ({}, su_headers):  # superusers do not see it either
        listed = (await client.get("/api/collections/vault/records", headers=headers)).json()["items"]
        assert [item["secret"] for item in listed] == [""]

    # sending back what was read ("") or leaving it out keeps the secret
    for body in ({"secret": "", "label": "b"}, {"label": "c"}):
        r = await client.patch(f"/api/collections/vault/records/{record_id}", json=body)
        assert r.status_code == 200, r.text
        assert await _stored(app, record_id) == first_hash
    r = await client.patch(f"/api/collections/vault/records/{record_id}", json={"secret": "battery staple"})
    assert r.status_code == 200
    assert verify_password(await _stored(app, record_id), "battery staple")

    # the field's own constraints apply to the plaintext, and `required` to the stored value
    r = await client.post("/api/collections/vault/records", json={"secret": "short"})
    assert r.status_code == 400 and r.json()["data"]["secret"]["code"] == "validation_min_text_constraint"
    r = await client.post("/api/collections/vault/records", json={"label": "no secret"})
    assert r.status_code == 400 and r.json()["data"]["secret"]["code"] == "validation_required"
    r = await client.post("/api/collections/vault/records", json={"secret": 12345678})  # cast to text first
    assert r.status_code == 200 and verify_password(await _stored(app, r.json()["id"]), "12345678")
