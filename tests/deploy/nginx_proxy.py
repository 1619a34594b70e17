"""nginx from the shipped deploy/nginx files, run under a throwaway prefix on loopback.

The files are used as shipped except for what only the host decides: the listen ports (free loopback
ports here) and the upstream addresses (the local nodes instead of the compose service names). Shared
by the proxy tests in tests/deploy and the multi-node tests in tests/multinode.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import re
import shutil
import signal
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.apis.test_api_realtime import free_port
from tests.deploy.deploy_tools import DEPLOY, tool

NGINX = DEPLOY / "nginx"
LISTEN_HTTP = "listen 80;"
LISTEN_HTTPS = "listen 443 ssl http2;"
UPSTREAM_SERVER = re.compile(r"(server\s+)satchel-\d+:8090")


def nginx() -> str:
    return tool("nginx", "apt-get install nginx (.ci/run installs it)", Path("/usr/sbin/nginx"))


def write_cert(tls: Path) -> Path:
    """A self-signed certificate for localhost and 127.0.0.1, as nginx expects it under tls/."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tls.mkdir(parents=True, exist_ok=True)
    (tls / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tls / "privkey.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return tls / "fullchain.pem"


@dataclass
class Prefix:
    root: Path
    http_port: int
    https_port: int
    cert: Path

    def command(self, *args: str) -> list[str]:
        conf = self.root / "nginx.conf"
        return [
            nginx(),
            "-p",
            str(self.root),
            "-c",
            str(conf),
            "-e",
            "stderr",
            "-g",
            f"pid {self.root}/nginx.pid;",
            *args,
        ]


def prepare(root: Path, upstreams: list[str]) -> Prefix:
    """The shipped files under a throwaway prefix, on free ports, proxying to `upstreams`."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(NGINX / "nginx.conf", root / "nginx.conf")
    http_port, https_port = free_port(), free_port()
    server = (NGINX / "satchel.conf").read_text()
    assert server.count(LISTEN_HTTP) == 1 and server.count(LISTEN_HTTPS) == 1
    server = server.replace(LISTEN_HTTP, f"listen 127.0.0.1:{http_port};")
    server = server.replace(LISTEN_HTTPS, f"listen 127.0.0.1:{https_port} ssl http2;")
    (root / "satchel.conf").write_text(server)
    targets = iter(upstreams)
    upstream, count = UPSTREAM_SERVER.subn(lambda m: m.group(1) + next(targets), (NGINX / "upstream.conf").read_text())
    assert count == len(upstreams) == 2, "upstream.conf lists the two compose nodes"
    (root / "upstream.conf").write_text(upstream)
    return Prefix(root, http_port, https_port, write_cert(root / "tls"))


@dataclass
class Proxy:
    prefix: Prefix
    proc: subprocess.Popen[bytes]
    tls: ssl.SSLContext

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.prefix.https_port}"

    def client(self, **options: object) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(base_url=self.url, verify=self.tls, timeout=10, **options)  # type: ignore[arg-type]


def stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def start_proxy(prefix: Prefix, log: Path | None = None) -> Proxy:
    """nginx in the foreground on `prefix`, answering /api/health; its access and error logs go to
    `log` (discarded without one). The caller stops it with `stop(proxy.proc)`."""
    with contextlib.ExitStack() as files:
        out = files.enter_context(log.open("ab")) if log is not None else subprocess.DEVNULL
        proc = subprocess.Popen(prefix.command("-g", "daemon off;"), stdout=out, stderr=out, start_new_session=True)
    tls = ssl.create_default_context(cafile=str(prefix.cert))
    running = Proxy(prefix, proc, tls)
    try:
        for _ in range(100):  # 10 s at most; nginx starts in milliseconds
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {proc.returncode}")
            with contextlib.suppress(httpx2.TransportError):
                if httpx2.get(running.url + "/api/health", verify=tls, timeout=1).status_code == 200:
                    return running
            time.sleep(0.1)
        raise RuntimeError("nginx did not answer")
    except BaseException:
        stop(proc)
        raise
