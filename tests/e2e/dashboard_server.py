"""A real `satchel serve` for the browser tests, started through the command line as a user would."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conformance.servers import free_port

BOOT_TIMEOUT_S = 60.0
SETUP_LINK = re.compile(r"http://\S+/_/#/pbinstal/\S+")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def setup_link(self) -> str | None:
        found = SETUP_LINK.search(self.log())
        return found.group(0) if found else None

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def api(self, method: str, path: str, body: Any = None, token: str = "") -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if token:
            headers["Authorization"] = token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def sign_in(self, email: str, password: str) -> str:
        result = self.api("POST", "/api/collections/_superusers/auth-with-password", {"identity": email, "password": password})
        return str(result["token"])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATCHEL_")}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def upsert_superuser(data_dir: Path, email: str, password: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "satchel", "superuser", "upsert", email, password, "--dir", str(data_dir)],
        check=True, env=_env(), capture_output=True, timeout=120,
    )


def start(data_dir: Path, env: dict[str, str] | None = None) -> Server:
    """`env`: extra `SATCHEL_*` boot options for this server (the caller's own are never inherited)."""
    port = free_port()
    log_path = data_dir.parent / f"serve-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "satchel", "serve", "--dir", str(data_dir), "--http", f"127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, env={**_env(), **(env or {})}, start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log_path)
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("satchel serve exited:\n" + server.log())
        try:
            with urllib.request.urlopen(server.url + "/api/health", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("satchel serve did not become healthy:\n" + server.log())
