"""`/api/logs` as PocketBase serves it (shapes, errors, superusers only), Satchel's `DELETE /api/logs`,
and the request entries the request-log middleware leaves (settings.logs, X-Request-Id)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.apis.server import create_app
from satchel.core.app import App
from satchel.core.logs.model import ERROR, INFO
from satchel.testing import postgres as pg_testing
from satchel.testing import running_app, superuser_token
from tests.apis.helpers import POSTS, create_collection, create_user, error, login

ROUTES = [("GET", "/api/logs"), ("GET", "/api/logs/stats"), ("GET", "/api/logs/abc"), ("DELETE", "/api/logs")]
BAD_REQUEST = "Something went wrong while processing your request."


async def _entries(client: httpx2.AsyncClient, su: dict[str, str], filter_text: str = "") -> list[dict[str, Any]]:
    r = await client.get("/api/logs", params={"filter": filter_text, "perPage": 500}, headers=su)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_every_route_needs_a_superuser(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_user(client, "someone@example.com")
    user = await login(client, "someone@example.com")
    for method, url in ROUTES:
        r = await client.request(method, url)
        assert r.status_code == 401 and r.json()["data"] == {}, (method, url)
        r = await client.request(method, url, headers=user)
        assert r.json() == error(403, "The authorized record is not allowed to perform this action."), (method, url)
    assert len(await _entries(client, su_headers, "data.status >= 400")) == 2 * len(ROUTES)


async def test_list_shape_and_request_entries(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.get("/api/collections/nope/records?page=1&token=s3cret", headers={"User-Agent": "ua/1"})
    assert r.status_code == 404
    r = await client.get("/api/logs", params={"filter": "data.status = 404"}, headers=su_headers)
    body = r.json()
    assert (body["page"], body["perPage"], body["totalItems"], body["totalPages"]) == (1, 30, 1, 1)
    entry = body["items"][0]
    assert set(entry) == {"id", "created", "data", "message", "level"}
    assert entry["level"] == ERROR
    assert entry["message"] == "GET /api/collections/nope/records?page=1&token=***"
    data = entry["data"]
    assert data["type"] == "request" and data["status"] == 404 and data["method"] == "GET"
    assert data["url"] == "/api/collections/nope/records?page=1&token=***"
    assert data["error"] == "Missing collection context." and data["details"] == {}
    assert data["userAgent"] == "ua/1" and data["auth"] == "" and data["execTime"] >= 0
    assert "s3cret" not in r.text
    r = await client.get(f"/api/logs/{entry['id']}", headers=su_headers)
    assert r.status_code == 200 and r.json() == entry


async def test_failed_validation_keeps_its_field_codes(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await create_collection(client, su_headers, POSTS)
    r = await client.post("/api/collections/posts/records", json={"title": ""}, headers=su_headers)
    assert r.status_code == 400
    [entry] = await _entries(client, su_headers, "data.status = 400")
    assert entry["data"]["details"]["title"]["code"] == "validation_required"
    assert entry["data"]["auth"] == "_superusers"


async def test_successful_logs_api_calls_are_not_logged(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    for _ in range(3):
        await client.get("/api/logs", headers=su_headers)
        await client.get("/api/logs/stats", headers=su_headers)
    await client.get("/api/logs/missing", headers=su_headers)  # a failure is
    entries = await _entries(client, su_headers, "data.url ~ '/api/logs'")
    assert [e["data"]["url"] for e in entries] == ["/api/logs/missing"]


async def test_log_ip_and_auth_id_settings(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await app.settings.patch({"logs": {"logIP": False, "logAuthId": True}})
    await client.get("/api/health", headers=su_headers)
    [entry] = await _entries(client, su_headers, "data.url = '/api/health'")
    assert "userIP" not in entry["data"] and "remoteIP" not in entry["data"]
    assert entry["data"]["authId"] and entry["data"]["auth"] == "_superusers"


async def test_no_retention_no_request_logs(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    await app.settings.patch({"logs": {"maxDays": 0}})
    await client.get("/api/health")
    await client.get("/api/collections/nope/records")
    assert await _entries(client, su_headers, "data.url = '/api/health' || data.url ~ 'nope'") == []


async def test_min_level_drops_successful_requests(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    await app.settings.patch({"logs": {"minLevel": 4}})
    await client.get("/api/health")
    await client.get("/api/collections/nope/records")
    entries = await _entries(client, su_headers, "data.url = '/api/health' || data.url ~ 'nope'")
    assert [e["data"]["status"] for e in entries] == [404]


async def test_sort_filter_paging_and_fields(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    for i in range(5):
        app.logs.add(INFO if i % 2 else ERROR, f"m{i}", {"n": i})
    r = await client.get(
        "/api/logs", params={"filter": "message ~ 'm%'", "sort": "-data.n", "perPage": 2, "page": 2}, headers=su_headers
    )
    body = r.json()
    assert [i["message"] for i in body["items"]] == ["m2", "m1"] and body["totalItems"] == 5
    r = await client.get(
        "/api/logs", params={"filter": "level = 8 && message ~ 'm'", "fields": "message"}, headers=su_headers
    )
    assert r.json()["items"] == [{"message": "m0"}, {"message": "m2"}, {"message": "m4"}]
    r = await client.get("/api/logs", params={"skipTotal": 1, "filter": "message ~ 'm'"}, headers=su_headers)
    assert (r.json()["totalItems"], r.json()["totalPages"]) == (-1, -1)


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "bad("},
        {"filter": "nope = 1"},
        {"filter": "@request.auth.id = ''"},
        {"sort": "nope"},
        {"page": "x"},
        {"perPage": "99999999999999999999"},
    ],
)
async def test_bad_list_input_is_a_400(
    client: httpx2.AsyncClient, su_headers: dict[str, str], params: dict[str, str]
) -> None:
    r = await client.get("/api/logs", params=params, headers=su_headers)
    assert r.json() == error(400, BAD_REQUEST)


async def test_stats_and_its_errors(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    app.logs.add(ERROR, "a", {})
    app.logs.add(INFO, "b", {})
    r = await client.get("/api/logs/stats", params={"filter": "level = 8"}, headers=su_headers)
    [hour] = r.json()
    assert set(hour) == {"date", "total"} and hour["total"] == 1 and hour["date"].endswith(":00:00.000Z")
    r = await client.get("/api/logs/stats", params={"filter": "(("}, headers=su_headers)
    assert r.json() == error(400, "Invalid filter format.")


async def test_view_missing_is_a_404(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await client.get("/api/logs/missing", headers=su_headers)
    assert r.json() == error(404, "The requested resource wasn't found.")


async def test_delete_with_a_filter_then_all(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    for i in range(3):
        app.logs.add(INFO, f"d{i}", {"i": i})
    r = await client.delete("/api/logs", params={"filter": "data.i >= 1"}, headers=su_headers)
    assert r.status_code == 200 and r.json() == {"deleted": 2}
    assert [e["message"] for e in await _entries(client, su_headers, "data.i >= 0")] == ["d0"]
    r = await client.delete("/api/logs", params={"filter": "(("}, headers=su_headers)
    assert r.json() == error(400, BAD_REQUEST)
    assert len(await _entries(client, su_headers, "data.i >= 0")) == 1, "nothing deleted by a bad filter"
    r = await client.delete("/api/logs", headers=su_headers)
    assert r.status_code == 200 and r.json()["deleted"] >= 1


async def test_request_id_is_honoured_or_generated_and_echoed(
    client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    r = await client.get("/api/health", headers={"X-Request-Id": "trace-abc-123"})
    assert r.headers["x-request-id"] == "trace-abc-123"
    generated = (await client.get("/api/health")).headers["x-request-id"]
    assert len(generated) == 20 and generated != (await client.get("/api/health")).headers["x-request-id"]
    for bad in ("has space", "x" * 200):
        echoed = (await client.get("/api/health", headers={"X-Request-Id": bad})).headers["x-request-id"]
        assert echoed != bad and len(echoed) == 20
    entries = await _entries(client, su_headers, "data.requestId = 'trace-abc-123'")
    assert [e["data"]["url"] for e in entries] == ["/api/health"]


async def test_app_logs_reach_the_logs_table(app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    import logging

    from satchel.core.logs.handler import attach

    detach = attach(app.logs, None)
    try:
        logging.getLogger("myapp.jobs").warning("disk at %d%%", 91, extra={"disk": "/data"})
        logging.getLogger("myapp.jobs").debug("below minLevel")
        logging.getLogger("satchel.logs").error("the logs machinery itself is skipped")
    finally:
        detach()
    logging.getLogger("myapp.jobs").error("after detach: not kept")
    entries = await _entries(client, su_headers, "data.type = 'app'")
    assert [(e["message"], e["level"], e["data"]) for e in entries] == [
        ("disk at 91%", 4, {"type": "app", "logger": "myapp.jobs", "disk": "/data"})
    ]


async def test_an_unhandled_error_is_logged_without_its_text(tmp_path: Path) -> None:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def broken(request: Request) -> Response:
        raise RuntimeError("db password is hunter2")

    async with running_app(tmp_path / "d") as app:
        app.routes.append(Route("/api/broken", broken))
        transport = httpx2.ASGITransport(app=create_app(app), raise_app_exceptions=False)
        async with httpx2.AsyncClient(transport=transport, base_url="http://satchel.test") as client:
            su = {"Authorization": await superuser_token(app, client)}
            r = await client.get("/api/broken")
            assert r.status_code == 500
            [entry] = await _entries(client, su, "data.url = '/api/broken'")
    assert entry["level"] == ERROR and entry["data"]["status"] == 500
    assert entry["data"]["error"] == "RuntimeError (unhandled)"
    assert "hunter2" not in str(entry)


async def test_a_logs_collection_and_its_indexes_do_not_collide(
    app: App, client: httpx2.AsyncClient, su_headers: dict[str, str]
) -> None:
    """On PostgreSQL `_logs` shares the schema (and index names) with the collections."""
    logs = {
        "name": "logs",
        "type": "base",
        "fields": [{"name": "level", "type": "number"}, {"name": "created", "type": "autodate", "onCreate": True}],
        "indexes": ["CREATE INDEX idx_logs_created ON logs (created)", "CREATE INDEX idx_logs_level ON logs (level)"],
    }
    await create_collection(client, su_headers, logs)
    app.logs.add(INFO, "still written", {})
    assert [e["message"] for e in await _entries(client, su_headers, "message = 'still written'")] == ["still written"]
    r = await client.post("/api/collections", json={"name": "_logs", "type": "base"}, headers=su_headers)
    if pg_testing.enabled():  # the internal table is there: refused, never a clash
        assert r.json()["data"]["name"]["code"] == "validation_collection_name_invalid"
    else:  # another file: allowed, as in PocketBase
        assert r.status_code == 200, r.text
