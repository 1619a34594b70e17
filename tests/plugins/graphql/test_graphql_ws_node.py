"""The npm `graphql-ws` client (protocol graphql-transport-ws) against `satchel serve`, GraphQL on by default.

A real server process on a free loopback port, started through the command line as a user would;
the client runs in node (tests/plugins/graphql/js, installed by `npm ci` in .ci/run).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.apis.helpers import POSTS
from tests.apis.test_api_realtime import healthy
from tests.conformance.servers import free_port
from tests.required_service import unavailable

JS_DIR = Path(__file__).parent / "js"
EMAIL, PASSWORD = "admin@example.com", "Admin12345!"
NODE_TIMEOUT_S = 120


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    data = tmp_path / "data"
    cli = [sys.executable, "-m", "satchel.cli.main"]
    subprocess.run([*cli, "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)], check=True, capture_output=True)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    env.pop("SATCHEL_GRAPHQL", None)  # on by default: nothing enables it here
    proc = subprocess.Popen(
        [*cli, "serve", "--http", f"127.0.0.1:{port}", "--dir", str(data)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not healthy(url, proc):
            pytest.fail("satchel serve did not start", pytrace=False)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_graphql_ws_client_subscriptions_mutations_and_auth(server: str) -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("`node` is not on PATH (Node 20 runs the graphql-ws client)")
    if not (JS_DIR / "node_modules" / "graphql-ws").is_dir():
        unavailable(f"the graphql-ws client is not installed: run `npm ci` in {JS_DIR}")
    assert node is not None
    with httpx2.Client(base_url=server, timeout=30) as http:
        r = http.post("/api/collections/_superusers/auth-with-password", json={"identity": EMAIL, "password": PASSWORD})
        su = {"Authorization": r.json()["token"]}
        assert http.post("/api/collections", json=POSTS, headers=su).status_code == 200
        user = {"email": "owner@example.com", "password": "password-123", "passwordConfirm": "password-123"}
        owner = http.post("/api/collections/users/records", json=user).json()
        r = http.post(
            "/api/collections/users/auth-with-password", json={"identity": user["email"], "password": user["password"]}
        )
        token = r.json()["token"]
    ws_url = server.replace("http://", "ws://") + "/api/graphql"
    done = subprocess.run(
        [node, "client.mjs", ws_url, token, owner["id"]], cwd=JS_DIR, capture_output=True, timeout=NODE_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert result["ended"] is True
    mail = "owner@example.com"
    assert result["owner"] == [
        ["create", "draft", mail],
        ["create", "open", mail],
        ["update", "open2", mail],
        ["delete", "draft", mail],
        ["create", "end", mail],
    ]
    # the guest's list rule hides drafts; users' view rule hides the author from her
    assert result["guest"] == [["create", "open", None], ["update", "open2", None], ["create", "end", None]]
    [invalid] = result["invalid"]
    assert invalid["extensions"]["code"] == 400
    assert invalid["extensions"]["data"]["title"]["code"] == "validation_required"
    assert result["bad"] == {"code": 4403, "reason": "Forbidden"}
    assert result["subscriptionErrors"] == [None, None]
