"""The metrics plugin in one process: what `/metrics` exports after real requests, and who may read it.

The app is the real one (in-process ASGI client, whose peer address is 127.0.0.1); the exposition is
parsed with prometheus_client's own parser, so label values are compared exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from satchel.config import BootConfig, ConfigError
from satchel.core.app import App
from satchel.core.errors import BadRequestError
from satchel.core.hooks import RecordRequestEvent
from satchel.plugins import metrics
from satchel.plugins.metrics.access import parse_allow_list
from satchel.plugins.metrics.instruments import METRIC_NAMES
from satchel.testing import client_for, running_app, superuser_token
from tests.apis.helpers import POSTS, create_collection

TOKEN = "s3cret-scrape-token"


@asynccontextmanager
async def metered(tmp_path: Path, **config: Any) -> AsyncIterator[tuple[App, httpx2.AsyncClient]]:
    async with running_app(tmp_path / "pb_data") as app:
        plugin = metrics.register(app, BootConfig(metrics=True, **config))
        try:
            async with client_for(app) as client:
                yield app, client
        finally:
            plugin.close()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def families(text: str) -> set[str]:
    """Family names (a counter's without its `_total`), including families with no sample yet."""
    return {family.name for family in text_string_to_metric_families(text)}


async def scrape(client: httpx2.AsyncClient, **headers: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


async def test_requests_are_counted_by_route_template_and_status_never_by_raw_path(tmp_path: Path) -> None:
    async with metered(tmp_path) as (_, client):
        for i in range(3):
            assert (await client.get(f"/api/collections/nope/records/id{i}")).status_code == 404
        assert (await client.get("/api/health")).status_code == 200
        assert (await client.get("/no/such/path/at/all")).status_code == 404
        assert (await client.request("BREW", "/api/health")).status_code == 405
        found = await scrape(client)
    record_route = "/api/collections/{collection}/records/{id}"
    assert value(found, "satchel_http_requests_total", method="GET", route=record_route, status="404") == 3
    assert value(found, "satchel_http_requests_total", method="GET", route="/api/health", status="200") == 1
    assert value(found, "satchel_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value(found, "satchel_http_requests_total", method="OTHER", route="/api/health", status="405") == 1
    hist = "satchel_http_request_duration_seconds_count"
    assert value(found, hist, method="GET", route=record_route, status="404") == 3
    routes = {dict(labels).get("route") for name, labels in found if name == "satchel_http_requests_total"}
    assert not any(r and "id0" in r for r in routes)


async def test_database_rules_hooks_and_process_metrics_after_traffic(tmp_path: Path) -> None:
    async with metered(tmp_path) as (app, client):
        su = {"Authorization": await superuser_token(app, client)}
        await create_collection(client, su, POSTS)

        async def refuse(e: RecordRequestEvent) -> None:
            raise BadRequestError("Refused by a hook.")

        app.hooks.on_record_create_request.bind(refuse)
        r = await client.post("/api/collections/posts/records", headers=su, json={"title": "x"})
        assert r.status_code == 400, r.text
        r = await client.get("/api/collections/posts/records", params={"filter": "title = 'unique-filter-1'"})
        assert r.status_code == 200, r.text
        found = await scrape(client)
        r = await client.get("/metrics")
        text = r.text
    system = "sqlite" if app.db.dialect == "sqlite" else "postgresql"
    assert value(found, "satchel_db_query_duration_seconds_count", system=system, operation="SELECT") > 0
    assert value(found, "satchel_db_query_duration_seconds_count", system=system, operation="INSERT") > 0
    assert value(found, "satchel_rule_compile_duration_seconds_count") >= 1
    assert value(found, "satchel_hook_errors_total", hook="on_record_create_request", failed_in="handler") == 1
    assert value(found, "satchel_hook_duration_seconds_count", hook="on_record_create_request") == 1
    assert value(found, "process_resident_memory_bytes") > 0
    assert value(found, "satchel_workers") == 1
    assert r.status_code == 200
    assert {n.removesuffix("_total") for n in METRIC_NAMES} <= families(text)


async def test_rate_limit_rejections_are_counted_by_rule(tmp_path: Path) -> None:
    async with metered(tmp_path) as (app, client):
        su = {"Authorization": await superuser_token(app, client)}
        rule = {"label": "/api/health", "audience": "", "duration": 60, "maxRequests": 1}
        r = await client.patch("/api/settings", json={"rateLimits": {"enabled": True, "rules": [rule]}}, headers=su)
        assert r.status_code == 200, r.text
        codes = [(await client.get("/api/health")).status_code for _ in range(3)]
        assert codes == [200, 429, 429]
        found = await scrape(client, Authorization=su["Authorization"])
    assert value(found, "satchel_ratelimit_rejections_total", rule="/api/health") == 2
    assert value(found, "satchel_http_requests_total", method="GET", route="unmatched", status="429") == 2


async def test_realtime_connections_are_a_gauge(tmp_path: Path) -> None:
    async with metered(tmp_path) as (app, client):
        first = await app.realtime.join("127.0.0.1")
        await app.realtime.join("127.0.0.1")
        assert value(await scrape(client), "satchel_realtime_connections") == 2
        app.realtime.disconnect(first.id)
        assert value(await scrape(client), "satchel_realtime_connections") == 1


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The address the in-process transport reports for the caller (127.0.0.1 unless changed)."""
    address = ["127.0.0.1"]
    original = httpx2.ASGITransport.__init__

    def init(self: httpx2.ASGITransport, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **{**kwargs, "client": (address[0], 40000)})

    monkeypatch.setattr(httpx2.ASGITransport, "__init__", init)
    yield address


UNAUTHORIZED = {"data": {}, "message": "The request requires a valid metrics token.", "status": 401}
FORBIDDEN = {"data": {}, "message": "You are not allowed to perform this request.", "status": 403}


async def test_a_token_is_required_when_configured(tmp_path: Path) -> None:
    async with metered(tmp_path, metrics_token=TOKEN) as (_, client):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            r = await client.get("/metrics", headers=headers)
            assert (r.status_code, r.json()) == (401, UNAUTHORIZED)
            assert r.headers["www-authenticate"] == "Bearer"
            assert TOKEN not in r.text
        found = await scrape(client, Authorization=f"Bearer {TOKEN}")
    assert value(found, "satchel_http_requests_total", method="GET", route="/metrics", status="401") == 3


async def test_without_token_or_allow_list_only_loopback_may_scrape(tmp_path: Path, peer: list[str]) -> None:
    peer[0] = "203.0.113.9"
    async with metered(tmp_path) as (_, client):
        r = await client.get("/metrics")
        assert (r.status_code, r.json()) == (403, FORBIDDEN)


@pytest.mark.parametrize(
    ("address", "configured", "sent", "status"),
    [
        ("10.1.2.3", "", "", 200),  # in a listed network
        ("192.168.0.7", "", "", 200),  # a listed address
        ("192.168.0.8", "", "", 403),
        ("::ffff:10.9.9.9", "", "", 200),  # an IPv4-mapped IPv6 peer is matched as IPv4
        ("10.1.2.3", TOKEN, TOKEN, 200),  # both configured: both must pass
        ("10.1.2.3", TOKEN, "wrong", 401),
        ("203.0.113.9", TOKEN, TOKEN, 403),
    ],
)
async def test_allow_list_and_token_both_apply(
    tmp_path: Path, peer: list[str], address: str, configured: str, sent: str, status: int
) -> None:
    peer[0] = address
    async with metered(tmp_path, metrics_allow="10.0.0.0/8, 192.168.0.7", metrics_token=configured) as (_, client):
        r = await client.get("/metrics", headers={"Authorization": f"Bearer {sent}"} if sent else {})
        assert r.status_code == status, r.text
        if status != 200:
            assert r.json() == (UNAUTHORIZED if status == 401 else FORBIDDEN)


def test_a_malformed_allow_list_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="SATCHEL_METRICS_ALLOW: 'not-an-ip'"):
        parse_allow_list("10.0.0.0/8, not-an-ip")
