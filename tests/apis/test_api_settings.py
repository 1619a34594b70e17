"""`GET/PATCH /api/settings`: PocketBase's shape without secrets, secrets kept across patches,
every section's validation with PocketBase's field codes, and a change seen by a sibling process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.adapters.broker.memory import MemoryBroker, MemoryBus
from satchel.core.app import App
from satchel.core.params import get_param
from satchel.core.settings import SETTINGS_KEY
from satchel.testing import client_for, database_url_for, superuser_token
from satchel.wiring import build_app
from tests.apis.helpers import error

SAVE_FAILED = "An error occurred while saving the new settings."
LOAD_FAILED = "An error occurred while loading the submitted data."
BLANK = {"code": "validation_required", "message": "Cannot be blank."}
BAD_IP = {"code": "validation_invlaid_ip_or_subnet", "message": "Invalid IP or CIDR subnet."}
S3 = {"bucket": "b", "region": "r", "endpoint": "https://s3.example.com", "accessKey": "ak"}
PASSWORD = "pa55-word-never-shown"


def below(threshold: int) -> dict[str, Any]:
    message = f"Must be no less than {threshold}."
    return {
        "code": "validation_min_greater_equal_than_required",
        "message": message,
        "params": {"threshold": threshold},
    }


async def patch(client: httpx2.AsyncClient, su: dict[str, str], body: Any) -> httpx2.Response:
    return await client.patch("/api/settings", json=body, headers=su)


async def test_get_has_pocketbase_shape_and_never_a_secret(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App
) -> None:
    r = await patch(
        client,
        su_headers,
        {"smtp": {"password": PASSWORD}, "s3": {**S3, "secret": PASSWORD}, "backups": {"s3": {"secret": PASSWORD}}},
    )
    assert r.status_code == 200, r.text
    for response in (r, await client.get("/api/settings", headers=su_headers)):
        body = response.json()
        assert PASSWORD not in response.text
        assert set(body) == {
            "superuserIPs", "smtp", "backups", "s3", "meta", "rateLimits", "trustedProxy", "batch", "logs"
        }  # fmt: skip
        # PocketBase's MarshalJSON blanks them and its `omitempty` tags leave the keys out
        assert set(body["smtp"]) == {"enabled", "port", "host", "username", "authMethod", "tls", "localName"}
        s3_keys = {"enabled", "bucket", "region", "endpoint", "accessKey", "forcePathStyle"}
        assert set(body["s3"]) == set(body["backups"]["s3"]) == s3_keys
    assert app.settings.current["smtp"]["password"] == PASSWORD


async def test_get_and_patch_need_a_superuser(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/api/settings")).status_code == 401
    assert (await client.patch("/api/settings", json={})).status_code == 401


async def test_an_omitted_or_null_secret_keeps_the_stored_one_and_empty_clears_it(
    client: httpx2.AsyncClient, su_headers: dict[str, str], app: App
) -> None:
    assert (await patch(client, su_headers, {"smtp": {"password": PASSWORD}})).status_code == 200
    r = await patch(client, su_headers, {"smtp": {"host": "mail.example.com"}})
    assert r.status_code == 200 and app.settings.current["smtp"]["password"] == PASSWORD
    r = await patch(client, su_headers, {"smtp": {"password": None, "username": "u"}})
    assert r.status_code == 200 and app.settings.current["smtp"]["password"] == PASSWORD
    # the admin UI sends back what GET gave (no secret at all): nothing is lost
    shown = (await client.get("/api/settings", headers=su_headers)).json()
    assert (await patch(client, su_headers, shown)).status_code == 200
    assert app.settings.current["smtp"]["password"] == PASSWORD
    # PocketBase's admin UI clears a password with "" (an SMTP server without auth)
    r = await patch(client, su_headers, {"smtp": {"password": ""}})
    assert r.status_code == 200 and app.settings.current["smtp"]["password"] == ""


async def test_meta_is_validated_as_pocketbase(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await patch(
        client,
        su_headers,
        {
            "meta": {
                "appName": "",
                "appURL": "not a url",
                "senderName": "x" * 256,
                "senderAddress": "nope",
                "accentColor": "#12",
            }
        },
    )
    assert r.status_code == 400
    assert r.json() == error(
        400,
        SAVE_FAILED,
        {
            "meta": {
                "appName": BLANK,
                "appURL": {"code": "validation_is_url", "message": "Must be a valid URL."},
                "senderName": {
                    "code": "validation_length_out_of_range",
                    "message": "The length must be between 1 and 255.",
                    "params": {"max": 255, "min": 1},
                },
                "senderAddress": {"code": "validation_is_email", "message": "Must be a valid email address."},
                "accentColor": {
                    "code": "validation_length_invalid",
                    "message": "The length must be exactly 7.",
                    "params": {"max": 7, "min": 7},
                },
            }
        },
    )
    r = await patch(client, su_headers, {"meta": {"accentColor": "#12345g", "appURL": "", "senderAddress": ""}})
    assert r.json()["data"] == {
        "meta": {
            "accentColor": {"code": "validation_is_hex_color", "message": "Must be a valid hexadecimal color code."},
            "appURL": BLANK,
            "senderAddress": BLANK,
        }
    }
    ok = {"appName": "  My app ", "appURL": "https://example.com", "accentColor": "#ABCDEF", "senderName": "Me"}
    r = await patch(client, su_headers, {"meta": ok})
    assert r.status_code == 200 and r.json()["meta"]["accentColor"] == "#ABCDEF"


async def test_batch_and_logs_bounds(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await patch(client, su_headers, {"batch": {"maxRequests": -1, "timeout": -2, "maxBodySize": -3}})
    expected = {"maxRequests": below(0), "timeout": below(0), "maxBodySize": below(0)}
    assert r.json() == error(400, SAVE_FAILED, {"batch": expected})
    r = await patch(client, su_headers, {"batch": {"enabled": True, "maxRequests": 0, "timeout": -1}})
    assert r.json()["data"] == {"batch": {"maxRequests": BLANK, "timeout": below(0)}}
    r = await patch(client, su_headers, {"logs": {"maxDays": -1}})
    assert r.json()["data"] == {"logs": {"maxDays": below(0)}}


async def test_numbers_are_decoded_as_go_ints(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    """PocketBase decodes these into Go ints: a fraction, an exponent or a value past int64 is a load
    error, never a 500 (a value past 64 bits could not even be stored)."""
    for body in (
        {"logs": {"maxDays": 1.5}},
        {"logs": {"maxDays": 5.0}},
        {"logs": {"maxDays": 99999999999999999999999}},
        {"logs": {"maxDays": 1 << 63}},
        {"batch": {"enabled": True, "timeout": 1e30}},
        {"smtp": {"port": 1e30}},
        {"backups": {"cronMaxKeep": -(1 << 63) - 1}},
    ):
        r = await patch(client, su_headers, body)
        assert r.json() == error(400, LOAD_FAILED), body
    r = await patch(client, su_headers, {"batch": {"maxBodySize": (1 << 63) - 1}})
    assert r.status_code == 200 and r.json()["batch"]["maxBodySize"] == (1 << 63) - 1


async def test_a_null_section_is_its_zero_value(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    """As PocketBase answers (checked against its binary): not a load error, not "keep"."""
    r = await patch(client, su_headers, {"logs": None, "trustedProxy": None, "rateLimits": None})
    assert r.status_code == 200
    body = r.json()
    assert body["logs"] == {"maxDays": 0, "minLevel": 0, "logIP": False, "logAuthId": False, "maxDataSize": 0}
    assert body["trustedProxy"] == {"headers": [], "useLeftmostIP": False}
    assert body["rateLimits"] == {"rules": [], "excludedIPs": [], "enabled": False}
    r = await patch(client, su_headers, {"meta": None})
    assert r.json() == error(
        400, SAVE_FAILED, {"meta": {key: BLANK for key in ("appName", "appURL", "senderName", "senderAddress")}}
    )


async def test_logs_bounds_as_pocketbase(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    safe = (1 << 53) - 1
    r = await patch(client, su_headers, {"logs": {"maxDays": safe + 1, "minLevel": safe + 1, "maxDataSize": -1}})
    above = {"code": "validation_max_less_equal_than_required", "message": f"Must be no greater than {safe}.",
             "params": {"threshold": safe}}
    assert r.json() == error(400, SAVE_FAILED, {"logs": {"maxDays": above, "minLevel": above, "maxDataSize": below(0)}})
    r = await patch(client, su_headers, {"logs": {"maxDays": safe, "minLevel": -safe - 1, "maxDataSize": safe}})
    assert r.status_code == 200


async def test_superuser_ips_and_trusted_proxy(client: httpx2.AsyncClient, su_headers: dict[str, str]) -> None:
    r = await patch(client, su_headers, {"superuserIPs": ["", "10.0.0.0/8", "nope", "1.2.3.4/33"]})
    assert r.json() == error(400, SAVE_FAILED, {"superuserIPs": {"0": BLANK, "2": BAD_IP, "3": BAD_IP}})
    for body in ({"superuserIPs": [1]}, {"trustedProxy": {"headers": [None]}}, {"rateLimits": {"excludedIPs": [{}]}}):
        r = await patch(client, su_headers, body)
        assert r.json() == error(400, LOAD_FAILED), body
    r = await patch(client, su_headers, {"trustedProxy": {"headers": ["X-Real-IP"], "useLeftmostIP": True}})
    assert r.status_code == 200 and r.json()["trustedProxy"] == {"headers": ["X-Real-IP"], "useLeftmostIP": True}
    assert (await client.get("/api/health")).status_code == 200


async def test_a_refused_patch_writes_nothing(client: httpx2.AsyncClient, su_headers: dict[str, str], app: App) -> None:
    before = await get_param(app.db.executor(), SETTINGS_KEY)
    r = await patch(client, su_headers, {"smtp": {"password": "new"}, "meta": {"appName": ""}})
    assert r.status_code == 400
    assert await get_param(app.db.executor(), SETTINGS_KEY) == before
    assert app.settings.current["smtp"]["password"] == ""


@pytest.fixture
async def siblings(tmp_path: Path) -> AsyncIterator[tuple[App, App]]:
    """Two processes' apps on one data directory and database, with the settings key."""
    data = tmp_path / "pb_data"
    bus, apps = MemoryBus(), []
    url = await database_url_for(data)
    for _ in range(2):
        app = build_app(data, broker=MemoryBroker(bus), db_url=url, encryption_key=b"k" * 32)
        app.schema.poll_interval = 3600.0  # only the change signal and the broadcast tell
        await app.bootstrap()
        apps.append(app)
    yield apps[0], apps[1]
    for app in apps:
        await app.realtime.close()
        await app.close()


async def test_a_sibling_sees_a_patch_without_restart(siblings: tuple[App, App]) -> None:
    a, b = siblings
    async with client_for(a) as http_a, client_for(b) as http_b:
        su = {"Authorization": await superuser_token(a, http_a)}
        r = await http_a.patch(
            "/api/settings", json={"meta": {"appName": "Renamed"}, "smtp": {"password": PASSWORD}}, headers=su
        )
        assert r.status_code == 200, r.text
        r = await http_b.get("/api/settings", headers=su)
        assert r.status_code == 200 and r.json()["meta"]["appName"] == "Renamed"
    assert b.settings.current["smtp"]["password"] == PASSWORD  # opened with the key on reload
    assert PASSWORD not in str(await get_param(b.db.executor(), SETTINGS_KEY))
