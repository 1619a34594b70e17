"""`satchel serve` processes on loopback, for the tests that put nginx (or the container probe) in front."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.apis.test_api_realtime import free_port, healthy


@dataclass
class Node:
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        # granian's worker is a child process: end the whole session the test started
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


LOCAL_BROKER = ("--broker-url", "local:")
"""Two nodes on one data directory meet over the local: broker, as nodes on PostgreSQL meet over
Redis or NATS: enough to show that a subscription call may land on the node without the stream."""


def start_node(data: Path, options: Sequence[str] = LOCAL_BROKER, log: Path | None = None) -> Node:
    """`satchel serve` on a free port with `options` added (the database, cache and broker flags),
    its output in `log` (discarded without one)."""
    port = free_port()
    cmd = [sys.executable, "-m", "satchel.cli.main", "serve", "--http", f"127.0.0.1:{port}", "--dir", str(data)]
    with contextlib.ExitStack() as files:
        out = files.enter_context(log.open("ab")) if log is not None else subprocess.DEVNULL
        proc = subprocess.Popen([*cmd, *options], stdout=out, stderr=out, start_new_session=True)
    node = Node(proc, port)
    if not healthy(node.url, proc):
        node.stop()
        raise RuntimeError("satchel serve did not start")
    return node
