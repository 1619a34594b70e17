"""Private Redis and NATS servers for a multi-node run, started and stopped with it.

The machine's shared Redis and NATS also serve other work (tests, other runs): Satchel's realtime
subjects and rate-limit keys have fixed names, so two clusters on one NATS server would deliver each
other's events. A private server on a free port per run keeps the run isolated, needs no clean-up of
keys, and lets the harness measure what the broker and the cache cost.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench.servers import ServerError, free_port

READY_TIMEOUT_S = 15.0
_SBIN = (Path("/usr/sbin"), Path("/usr/local/sbin"), Path("/usr/local/bin"), Path("/usr/bin"))


def find_tool(name: str, hint: str) -> str:
    found = shutil.which(name) or next((str(d / name) for d in _SBIN if (d / name).is_file()), None)
    if found is None:
        raise ServerError(f"{name} is not installed; {hint}")
    return found


@dataclass
class Service:
    """One helper process in its own session, so that stopping it also ends any child it forked."""

    name: str
    url: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log_tail(self, limit: int = 2000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return text[-limit:]


def _wait_port(service: Service, greeting: bytes, probe: bytes = b"") -> None:
    """Ready once the port answers the protocol's first words (Redis: +PONG to PING; NATS: its INFO line)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not service.alive():
            break
        try:
            with socket.create_connection(("127.0.0.1", service.port), timeout=1) as s:
                if probe:
                    s.sendall(probe)
                if s.recv(64).startswith(greeting):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    service.stop()
    raise ServerError(f"{service.name} did not start on port {service.port}:\n{service.log_tail()}")


def _start(name: str, cmd: list[str], port: int, url: str, root: Path) -> Service:
    root.mkdir(parents=True, exist_ok=True)
    log_path = root / f"{name}.log"
    with log_path.open("ab") as log:
        # argv built here from a located binary and a free port, no shell
        proc = subprocess.Popen(  # noqa: S603
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True
        )
    return Service(name, url, port, proc, log_path)


def start_redis(root: Path) -> Service:
    """redis-server without persistence: counters only, nothing worth writing to disk."""
    exe = find_tool("redis-server", "apt-get install redis-server")
    port = free_port()
    cmd = [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(root)]
    service = _start("redis", cmd, port, f"redis://127.0.0.1:{port}/0", root)
    _wait_port(service, b"+PONG", b"PING\r\n")
    return service


def start_nats(root: Path) -> Service:
    """nats-server with core subjects only: Satchel's NATS broker uses no JetStream."""
    exe = find_tool("nats-server", "apt-get install nats-server (or download it from nats.io)")
    port = free_port()
    cmd = [exe, "-a", "127.0.0.1", "-p", str(port)]
    service = _start("nats", cmd, port, f"nats://127.0.0.1:{port}", root)
    _wait_port(service, b"INFO ")
    return service
