"""A real S3-compatible server for the tests (never a mock of the client): moto in server mode.

One `moto.server` process on a free loopback port serves the whole test session (started on first
use, stopped at the end); every test gets a bucket of its own, so tests never see each other's
objects. Register the fixtures in a conftest with `from s3_service import s3_endpoint, s3_config`.
Moto accepts any credentials, so tests of refused access use a missing bucket or a closed port.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from required_service import unavailable

from satchel.ports.blobs import S3Config

ACCESS_KEY = "satchel-test-key"
SECRET = "satchel-test-secret-do-not-echo"
REGION = "us-east-1"
STARTUP_WAIT = 30.0


class MotoServer:
    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint = ""

    def start(self) -> str:
        if self.process is not None:
            return self.endpoint
        if importlib.util.find_spec("moto.server") is None or importlib.util.find_spec("flask") is None:
            unavailable("moto[server] is not installed", "pip install -e '.[test]'")
        port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_WAIT
        while not _answers(self.endpoint):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail("moto server did not start", pytrace=False)
            time.sleep(0.1)
        return self.endpoint

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_SERVER = MotoServer()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def create_bucket(endpoint: str, name: str = "") -> str:
    """A new empty bucket (moto takes an unsigned CreateBucket); returns its name."""
    name = name or f"satchel-{uuid.uuid4().hex[:20]}"
    request = urllib.request.Request(f"{endpoint}/{name}", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"CreateBucket answered {response.status}")
    return name


def config_for(endpoint: str, bucket: str) -> S3Config:
    return S3Config(
        bucket=bucket, region=REGION, endpoint=endpoint, access_key=ACCESS_KEY, secret=SECRET, force_path_style=True
    )


def settings_section(config: S3Config, *, enabled: bool = True) -> dict[str, Any]:
    """The runtime settings' `s3` (or `backups.s3`) section pointing at `config`."""
    return {
        "enabled": enabled,
        "bucket": config.bucket,
        "region": config.region,
        "endpoint": config.endpoint,
        "accessKey": config.access_key,
        "secret": config.secret,
        "forcePathStyle": config.force_path_style,
    }


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The moto server's URL (one process for the session, however many conftests import this)."""
    yield _SERVER.start()
    _SERVER.stop()


@pytest.fixture
def s3_config(s3_endpoint: str) -> S3Config:
    """Credentials and a fresh, empty bucket on the moto server."""
    return config_for(s3_endpoint, create_bucket(s3_endpoint))
