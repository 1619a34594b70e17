"""Private broker instances a test starts, restarts and stops (never the shared servers).

Each listens on a free loopback port and keeps its data in the test's temporary directory, so a
restart mid-stream disturbs nobody else. A missing binary skips locally and fails under CI=true.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from required_service import unavailable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, deadline: float = 30.0) -> None:
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {deadline}s")


def pause(pid: int) -> None:
    """SIGSTOP: the kernel still accepts connections and bytes, nothing answers (a hung broker).
    Returns once every thread is stopped (the signal is asynchronous)."""
    os.kill(pid, signal.SIGSTOP)
    until = time.monotonic() + 10
    while time.monotonic() < until:
        states = [
            (task / "stat").read_text().rsplit(")", 1)[1].split()[0] for task in Path(f"/proc/{pid}/task").iterdir()
        ]
        if all(state in ("T", "t") for state in states):
            return
        time.sleep(0.01)
    raise TimeoutError(f"process {pid} did not stop")


def resume(pid: int) -> None:
    os.kill(pid, signal.SIGCONT)


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        unavailable(f"{binary} is not installed", f"apt-get install -y {binary}")
    return str(path)


class ProcessBroker:
    """A broker that is one process: a restart is SIGTERM (a clean shutdown), then the same command."""

    def __init__(self, argv: list[str], port: int, log: Path) -> None:
        self.argv = argv
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)
        wait_listening(self.port)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)

    def restart(self, down_for: float) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not running")
        return self.process.pid


def private_nats(tmp: Path) -> ProcessBroker:
    port = free_port()
    argv = [require("nats-server"), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp / "nats")]
    return ProcessBroker(argv, port, tmp / "nats.log")


def private_redis(tmp: Path) -> ProcessBroker:
    port = free_port()
    (tmp / "redis").mkdir()
    argv = [
        require("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp / "redis"),
        "--appendonly", "yes", "--save", "", "--daemonize", "no",
    ]  # fmt: skip
    return ProcessBroker(argv, port, tmp / "redis.log")


class PrivateRabbit:
    """A RabbitMQ node of its own (name, ports, data, cookie); a restart is `stop_app` + `start_app`,
    which closes every connection and recovers durable queues and persistent messages from disk."""

    def __init__(self, tmp: Path) -> None:
        server = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
        if not server.exists():
            server = Path(require("rabbitmq-server"))
        self.server = server
        self.ctl = server.with_name("rabbitmqctl")
        self.home = tmp / "rabbit"
        self.home.mkdir()
        (self.home / "plugins").write_text("[].\n")
        self.port = free_port()
        self.node = f"satchel-test-{uuid.uuid4().hex[:8]}@localhost"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_PID_FILE": str(self.home / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.home / "advanced.config"),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def _ctl(self, *args: str) -> None:
        # the CLI must not inherit the node's ports: it would try to take the distribution port itself
        env = {"PATH": self.env["PATH"], "HOME": str(self.home)}
        subprocess.run(
            [str(self.ctl), "-n", self.node, *args], env=env, cwd=self.home, check=True, capture_output=True, timeout=90
        )

    def start(self) -> None:
        with (self.home / "server.log").open("ab") as out:
            self.process = subprocess.Popen(
                [str(self.server)], env=self.env, cwd=self.home, stdout=out, stderr=subprocess.STDOUT
            )
        self._ctl("wait", str(self.home / "pid"), "--timeout", "60")
        wait_listening(self.port)

    def restart(self, down_for: float) -> None:
        self._ctl("stop_app")
        time.sleep(down_for)
        self._ctl("start_app")
        wait_listening(self.port)

    def pid(self) -> int:
        """The Erlang VM's (the start script may be a shell around it)."""
        return int((self.home / "pid").read_text().strip())

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            self._ctl("stop")
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(30)
