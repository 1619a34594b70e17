"""Crash safety: `satchel serve --workers 2` under concurrent writers is SIGKILLed (the whole process
group, mid-stream); after a restart every acknowledged write is there and SQLite's integrity check
passes on both database files."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import httpx2
import pytest

from tests.security.served import EMAIL, PASSWORD, Server, upsert_superuser

WRITERS = 8
KILL_AFTER = 150
"""Acknowledged writes before the kill (the writers keep going: the kill lands mid-stream)."""


async def _writer(base: str, n: int, acked: list[str], enough: asyncio.Event) -> None:
    async with httpx2.AsyncClient(base_url=base, timeout=30) as http:
        i = 0
        while True:
            i += 1
            try:
                r = await http.post(
                    "/api/collections/events/records", json={"writer": n, "seq": i, "payload": "x" * 500}
                )
            except httpx2.TransportError:
                return  # the server is gone
            if r.status_code == 200:
                acked.append(r.json()["id"])  # acknowledged: it must survive
                if len(acked) >= KILL_AFTER:
                    enough.set()
            else:
                assert r.status_code in (429, 503), r.text


def _integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


@pytest.mark.sqlite_only("checks the SQLite files after a crash")
async def test_sigkill_mid_stream_loses_no_acknowledged_write(tmp_path: Path) -> None:
    data = tmp_path / "pb"
    upsert_superuser(data)
    server = Server(data, "--workers", "2")
    await asyncio.to_thread(server.start)
    try:
        async with httpx2.AsyncClient(base_url=server.base, timeout=30) as http:
            r = await http.post(
                "/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD}
            )
            su = {"Authorization": r.json()["token"]}
            r = await http.post(
                "/api/collections",
                json={
                    "name": "events",
                    "type": "base",
                    "createRule": "",
                    "listRule": "",
                    "viewRule": "",
                    "fields": [
                        {"name": "writer", "type": "number"},
                        {"name": "seq", "type": "number"},
                        {"name": "payload", "type": "text"},
                    ],
                },
                headers=su,
            )
            assert r.status_code == 200, r.text
        acked: list[str] = []
        enough = asyncio.Event()
        writers = [asyncio.create_task(_writer(server.base, n, acked, enough)) for n in range(WRITERS)]
        await asyncio.wait_for(enough.wait(), 120)
        server.kill(signal.SIGKILL)  # every process of the group, no chance to flush or checkpoint
        await asyncio.wait_for(asyncio.gather(*writers), 60)
    finally:
        server.kill(signal.SIGKILL)
    assert len(acked) >= KILL_AFTER

    for name in ("data.db", "auxiliary.db"):
        assert _integrity(data / name) == "ok", name
    server = Server(data, "--workers", "2")
    await asyncio.to_thread(server.start)
    try:
        async with httpx2.AsyncClient(base_url=server.base, timeout=30) as http:
            found: set[str] = set()
            page = 1
            while True:
                r = await http.get(
                    "/api/collections/events/records", params={"page": page, "perPage": 500, "fields": "id"}
                )
                assert r.status_code == 200, r.text
                found |= {item["id"] for item in r.json()["items"]}
                if page >= r.json()["totalPages"]:
                    break
                page += 1
        missing = set(acked) - found
        assert not missing, f"{len(missing)} acknowledged writes lost"
    finally:
        server.kill(signal.SIGTERM)
    for name in ("data.db", "auxiliary.db"):
        assert _integrity(data / name) == "ok", name
