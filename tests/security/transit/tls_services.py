"""Throwaway TLS-only servers on free loopback ports: redis-server, nats-server, a PostgreSQL cluster.

Each is started from the binary on the machine with a certificate from the test's CA, serves TLS
only (no plain port), and is stopped and removed when the test ends. A missing binary skips
locally and fails under CI (tests/required_service.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from required_service import unavailable
from transit_ca import Leaf

START_TIMEOUT_S = 60.0
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str, path: Path | None = None) -> str:
    found = str(path) if path is not None and path.exists() else shutil.which(name)
    if not found:
        unavailable(f"{name} is not installed", f"install {name} to run the TLS tests against it")
    assert found is not None
    return found


def _wait_accepting(port: int, proc: subprocess.Popen[bytes] | None, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise AssertionError(f"server on {port} did not start:\n{log.read_text() if log.exists() else ''}")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def redis_tls(leaf: Leaf, ca_file: Path, workdir: Path) -> Iterator[int]:
    """A redis-server speaking TLS only; yields its port."""
    binary = _binary("redis-server")
    port, log = free_port(), workdir / "redis.log"
    command = [
        binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
        "--tls-cert-file", str(leaf.cert_file), "--tls-key-file", str(leaf.key_file),
        "--tls-ca-cert-file", str(ca_file), "--tls-auth-clients", "no",
        "--save", "", "--appendonly", "no", "--dir", str(workdir), "--logfile", str(log),
    ]  # fmt: skip
    proc = subprocess.Popen(command)
    try:
        _wait_accepting(port, proc, log)
        yield port
    finally:
        _stop(proc)


@contextmanager
def nats_tls(leaf: Leaf, workdir: Path) -> Iterator[int]:
    """A nats-server requiring TLS; yields its port."""
    binary = _binary("nats-server")
    port, log = free_port(), workdir / "nats.log"
    command = [
        binary, "-a", "127.0.0.1", "-p", str(port), "--tls", "--tlscert", str(leaf.cert_file),
        "--tlskey", str(leaf.key_file), "-l", str(log), "-m", "0",
    ]  # fmt: skip
    proc = subprocess.Popen(command)
    try:
        _wait_accepting(port, proc, log)
        yield port
    finally:
        _stop(proc)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` user when the tests run as root."""
    if os.geteuid() != 0:
        return command
    return [_binary("runuser"), "-u", "postgres", "--", *command]


@contextmanager
def postgres_tls(leaf: Leaf) -> Iterator[int]:
    """A fresh cluster (trust auth) accepting only TLS connections on 127.0.0.1 and ::1; yields its port.

    Lives in its own temp directory outside pytest's (which only root may enter), owned by the user
    the server runs as.
    """
    initdb, pg_ctl = _binary("initdb", PG_BIN / "initdb"), _binary("pg_ctl", PG_BIN / "pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="satchel-pg-tls-"))
    data, log, port = root / "data", root / "server.log", free_port()
    try:
        for src, name in ((leaf.cert_file, "server.crt"), (leaf.key_file, "server.key")):
            shutil.copy(src, root / name)
            (root / name).chmod(0o600)
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            for name in ("server.crt", "server.key"):
                shutil.chown(root / name, "postgres")
        subprocess.run(
            _as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True, timeout=START_TIMEOUT_S,
        )  # fmt: skip
        # no plain TCP at all
        (data / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n")
        options = (
            f"-c port={port} -c listen_addresses=127.0.0.1,::1 -c unix_socket_directories={root} -c ssl=on "
            f"-c ssl_cert_file={root / 'server.crt'} -c ssl_key_file={root / 'server.key'} -c fsync=off"
        )
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]),
            check=True, capture_output=True, timeout=START_TIMEOUT_S,
        )  # fmt: skip
        try:
            _wait_accepting(port, None, log)
            yield port
        finally:
            subprocess.run(
                _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True, timeout=START_TIMEOUT_S,
            )  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def rabbitmq_tls(leaf: Leaf) -> Iterator[int]:
    """A throwaway RabbitMQ node with a TLS listener only (no plain AMQP port); yields its port.

    Its own node name, distribution port, data and log folders, in a temp directory the `rabbitmq`
    user (which rabbitmq-server switches to when started as root) can read.
    """
    binary = _binary("rabbitmq-server", Path("/usr/sbin/rabbitmq-server"))
    root = Path(tempfile.mkdtemp(prefix="satchel-rabbitmq-tls-"))
    port, dist_port = free_port(), free_port()
    try:
        cert, key = root / "cert.pem", root / "key.pem"
        shutil.copy(leaf.cert_file, cert)
        shutil.copy(leaf.key_file, key)
        (root / "rabbitmq.conf").write_text(
            "listeners.tcp = none\n"
            f"listeners.ssl.default = 127.0.0.1:{port}\n"
            f"ssl_options.certfile = {cert}\nssl_options.keyfile = {key}\n"
            "ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n"
        )
        (root / "env.conf").write_text("")
        (root / "plugins").write_text("")
        if os.geteuid() == 0:
            for path in (root, *root.iterdir()):
                shutil.chown(path, "rabbitmq")
        env = {
            **os.environ,
            "RABBITMQ_CONF_ENV_FILE": str(root / "env.conf"),
            "RABBITMQ_NODENAME": f"satchel-tls-{port}@localhost",
            "RABBITMQ_DIST_PORT": str(dist_port),
            "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
            "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(root / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_PID_FILE": str(root / "node.pid"),
        }
        log = root / "server.out"
        with log.open("wb") as out:
            proc = subprocess.Popen([binary], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_accepting(port, proc, log)
            yield port
        finally:
            # as root, the wrapper starts the node through `su` in a session of its own, which stopping
            # the wrapper does not reach: stop the Erlang VM by the pid it wrote, and wait for it to go
            _stop_pid(root / "node.pid")
            _stop(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _stop_pid(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + START_TIMEOUT_S
    sig: int = signal.SIGTERM
    while True:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        sig = signal.SIGKILL if time.monotonic() > deadline else 0  # 0: only probe until it has gone
        time.sleep(0.1)
