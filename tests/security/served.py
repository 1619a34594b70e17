"""A real `satchel serve` subprocess in its own process group, for the tests that need sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

BOOT_TIMEOUT_S = 60.0
EMAIL = "admin@example.com"
PASSWORD = "Admin12345!"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for key in [k for k in env if k.startswith("SATCHEL_")]:
        del env[key]
    return env


def upsert_superuser(data_dir: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "satchel", "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data_dir)],
        env=_env(),
        check=True,
        capture_output=True,
        timeout=BOOT_TIMEOUT_S,
    )


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
            return bool(r.status == 200)
    except (OSError, urllib.error.URLError):
        return False


class Server:
    def __init__(self, data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.data_dir.parent / f"serve-{self.port}.log").open("ab") as log:  # the child keeps its copy
            self.proc = self._spawn(log)
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while not _healthy(self.base):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"satchel serve did not start: {self.log_text()[-2000:]}")
            time.sleep(0.1)

    def _spawn(self, log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "satchel",
                "serve",
                "--http",
                f"127.0.0.1:{self.port}",
                "--dir",
                str(self.data_dir),
                *list(self.args),
            ],
            env=_env(),
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group: the workers go with it
        )

    def log_text(self) -> str:
        path = self.data_dir.parent / f"serve-{self.port}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the main process and every worker) and wait for the main one."""
        if self.proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None


@contextmanager
def served(data_dir: Path, *args: str) -> Iterator[Server]:
    server = Server(data_dir, *args)
    server.start()
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)
