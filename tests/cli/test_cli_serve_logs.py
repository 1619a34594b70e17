"""Structured stdout of a real `satchel serve --workers 2`: one JSON line per request and per app log."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

BOOT_TIMEOUT_S = 60.0
EMAIL = "admin@example.com"
PASSWORD = "Admin12345!"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, Any, Any]:
    req = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read() or b"null")


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, headers_out, _ = _call(url, headers)
    return status, headers_out


def _lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_text().splitlines():
        if raw.startswith("{"):
            out.append(json.loads(raw))  # every JSON-looking line must parse
    return out


def _wait(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One server for the module: each test reads only the lines and log entries of its own requests."""
    tmp_path = tmp_path_factory.mktemp("serve-logs")
    port = _free_port()
    out = tmp_path / "stdout.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("SATCHEL_LOG_FORMAT", None)
    subprocess.run(
        [sys.executable, "-m", "satchel", "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(tmp_path / "d")],
        env=env,
        check=True,
        capture_output=True,
        timeout=BOOT_TIMEOUT_S,
    )
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "satchel",
                "serve",
                "--http",
                f"127.0.0.1:{port}",
                "--dir",
                str(tmp_path / "d"),
                "--workers",
                "2",
                "--log-requests",
            ],
            stdout=sink,
            stderr=subprocess.PIPE,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: proc.poll() is not None or _healthy(base), "the server")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        yield base, out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _healthy(base: str) -> bool:
    try:
        return _get(base + "/api/health")[0] == 200
    except OSError:
        return False


def test_json_lines_for_requests_and_app_logs(server: tuple[str, Path]) -> None:
    base, out = server
    status, headers = _get(base + "/api/collections/nope/records?token=secret-token&page=1", {"X-Request-Id": "it-1"})
    assert status == 404 and headers["x-request-id"] == "it-1"
    for i in range(10):
        _get(base + f"/api/collections/users/records/id{i}", {"Authorization": "Bearer not-a-token"})
    ours = ("/api/collections/{collection}/records", "/api/collections/{collection}/records/{id}")  # 11 requests
    _wait(lambda: sum(1 for x in _lines(out) if x.get("type") == "request" and x.get("route") in ours) >= 11, "lines")
    lines = _lines(out)
    text = out.read_text()
    assert "secret-token" not in text and "not-a-token" not in text
    [first] = [line for line in lines if line.get("requestId") == "it-1"]
    assert first["method"] == "GET" and first["status"] == 404 and first["level"] == "WARN"
    assert first["route"] == "/api/collections/{collection}/records"
    assert first["path"] == "/api/collections/nope/records" and first["ip"] == "127.0.0.1"
    assert isinstance(first["durationMs"], float) and first["time"].endswith("Z")
    assert "authId" not in first, "logAuthId is off by default"
    views = [line for line in lines if line.get("route") == "/api/collections/{collection}/records/{id}"]
    assert len(views) == 10 and len({v["requestId"] for v in views}) == 10
    ready = [line for line in lines if line.get("msg") == "worker ready"]
    assert len({line["pid"] for line in ready}) == 2, "one app log line per worker, as JSON"
    assert all(line["logger"] == "satchel.server" and line["level"] == "INFO" for line in ready)


def test_both_workers_write_the_auxiliary_database(server: tuple[str, Path]) -> None:
    base, out = server
    for i in range(20):  # spread over both workers by the kernel's accept balancing
        _get(base + "/api/health", {"X-Request-Id": f"aux-{i}"})
    login = json.dumps({"identity": EMAIL, "password": PASSWORD}).encode()
    _, _, auth = _call(
        base + "/api/collections/_superusers/auth-with-password", {"Content-Type": "application/json"}, login
    )
    headers = {"Authorization": auth["token"]}

    def logged() -> int:
        _, _, page = _call(
            base + "/api/logs?perPage=100&filter=" + urllib.parse.quote("data.requestId ~ 'aux-'"), headers
        )
        return int(page["totalItems"])

    _wait(lambda: logged() == 20, "20 entries in _logs (flushed within a second by each worker)")
    pids = {line["pid"] for line in _lines(out) if line.get("msg") == "worker ready"}
    assert len(pids) == 2
