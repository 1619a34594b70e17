"""A real `satchel serve --https ... --http ...` on loopback, certificate from a CA made by the test.

Clients are real (httpx2, Python's ssl, the openssl binary). Old-protocol and weak-cipher clients
are first shown to connect to a permissive Python TLS server, so their refusal by Satchel means
the server said no, not that the client could not speak.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from required_service import unavailable
from transit_ca import LOOPBACK_NAMES, Leaf, TestCA

BOOT_TIMEOUT_S = 60.0
HSTS = "max-age=63072000; includeSubDomains"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    https_port: int
    http_port: int
    ca: TestCA
    leaf: Leaf | None
    data_dir: Path
    log: Path

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def _serve(tmp: Path, ca: TestCA, *tls_args: str, leaf: Leaf | None = None) -> Served:
    https_port, http_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATCHEL_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    log = tmp / "serve.log"
    data_dir = tmp / "data"
    command = [
        sys.executable, "-m", "satchel", "serve", "--dir", str(data_dir),
        "--https", f"127.0.0.1:{https_port}", "--http", f"127.0.0.1:{http_port}", *tls_args,
    ]  # fmt: skip
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(proc, https_port, http_port, ca, leaf, data_dir, log)
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while not (_accepting(https_port) and _accepting(http_port)):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(served)
            raise AssertionError(f"satchel serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return served


def _stop(served: Served) -> int:
    if served.proc.poll() is None:
        served.proc.send_signal(signal.SIGINT)
        try:
            served.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(served.proc.pid, signal.SIGKILL)
            served.proc.wait()
    return served.proc.returncode


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("https")
    ca = TestCA(tmp / "ca")
    leaf = ca.issue("server")
    s = _serve(tmp, ca, "--tls-cert", str(leaf.cert_file), "--tls-key", str(leaf.key_file), leaf=leaf)
    try:
        yield s
    finally:
        _stop(s)


def _handshake(port: int, ctx: ssl.SSLContext, host: str = "127.0.0.1") -> tuple[str, str, bytes]:
    """(protocol, cipher, peer certificate DER) of one TLS handshake; ssl.SSLError when refused."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        cipher = tls.cipher()
        peer = tls.getpeercert(binary_form=True)
        assert cipher is not None and peer is not None
        return str(tls.version()), cipher[0], peer


def _legacy_client(version: ssl.TLSVersion, ca: TestCA, ciphers: str = "ALL:@SECLEVEL=0") -> ssl.SSLContext:
    """A client that speaks only `version` (and, at security level 0, every cipher OpenSSL has)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=ca.pem.decode())
    ctx.set_ciphers(ciphers)
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: that is the point of these clients
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


class PermissiveServer:
    """A Python TLS server that accepts anything OpenSSL can do: the control for the legacy clients."""

    def __init__(self, leaf: Leaf) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(leaf.cert_file, leaf.key_file)
        self.ctx.set_ciphers("ALL:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.ctx.minimum_version = ssl.TLSVersion.TLSv1
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def permissive(served: Served) -> Iterator[PermissiveServer]:
    assert served.leaf is not None
    server = PermissiveServer(served.leaf)
    try:
        yield server
    finally:
        server.close()


def test_https_serves_the_configured_certificate_and_hsts(served: Served) -> None:
    with httpx2.Client(verify=served.ca.client_context()) as client:
        r = client.get(f"{served.https}/api/health")
    assert r.status_code == 200 and r.json()["message"] == "API is healthy."
    assert r.headers.get_list("strict-transport-security") == [HSTS]
    assert served.leaf is not None
    _, _, peer = _handshake(served.https_port, served.ca.client_context())
    leaf_der = ssl.PEM_cert_to_DER_cert(
        served.leaf.chain_pem.decode().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    )
    assert peer == leaf_der


def test_hsts_on_every_https_response_including_errors(served: Served) -> None:
    with httpx2.Client(verify=served.ca.client_context()) as client:
        missing = client.get(f"{served.https}/api/collections/nope/records")
        preflight = client.options(f"{served.https}/api/health", headers={"Origin": "https://app.example"})
    assert missing.status_code == 404 and missing.headers["strict-transport-security"] == HSTS
    assert preflight.status_code == 204 and preflight.headers["strict-transport-security"] == HSTS


def test_a_client_that_does_not_trust_the_ca_cannot_connect(served: Served, tmp_path: Path) -> None:
    stranger = TestCA(tmp_path / "other", name="Some other CA")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(served.https_port, stranger.client_context())


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/api/collections/posts/records?filter=title%3D%27a%20b%27&page=2"),
        ("POST", "/api/collections/users/auth-with-password"),
        ("GET", "/_/"),
        ("GET", "/"),
    ],
)
def test_plain_http_redirects_to_the_same_path_and_query_with_308(served: Served, method: str, target: str) -> None:
    with httpx2.Client() as client:
        r = client.request(method, f"{served.http}{target}", json={"a": 1} if method == "POST" else None)
    assert r.status_code == 308
    assert r.headers["location"] == f"{served.https}{target}"
    assert "strict-transport-security" not in r.headers


def test_the_redirect_keeps_the_host_the_client_asked_for(served: Served) -> None:
    with httpx2.Client() as client:
        r = client.get(f"http://localhost:{served.http_port}/api/health/x?y=1")
    assert r.headers["location"] == f"https://localhost:{served.https_port}/api/health/x?y=1"


def test_following_the_redirect_reaches_https(served: Served) -> None:
    with httpx2.Client(verify=served.ca.client_context(), follow_redirects=True) as client:
        r = client.get(f"{served.http}/api/collections/nope/records?x=1")
    assert str(r.url) == f"{served.https}/api/collections/nope/records?x=1"
    assert r.status_code == 404 and r.headers["strict-transport-security"] == HSTS
    assert [h.status_code for h in r.history] == [308]


def test_health_stays_answerable_over_plain_http(served: Served) -> None:
    with httpx2.Client() as client:
        r = client.get(f"{served.http}/api/health")
    assert r.status_code == 200
    assert r.json() == {"message": "API is healthy.", "code": 200, "data": {}}
    assert "strict-transport-security" not in r.headers and "location" not in r.headers


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls_1_0_and_1_1_clients_are_refused(
    served: Served, permissive: PermissiveServer, version: ssl.TLSVersion
) -> None:
    protocol, _, _ = _handshake(permissive.port, _legacy_client(version, served.ca))
    assert (
        protocol == {ssl.TLSVersion.TLSv1: "TLSv1", ssl.TLSVersion.TLSv1_1: "TLSv1.1"}[version]
    )  # the client speaks it
    with pytest.raises(ssl.SSLError):
        _handshake(served.https_port, _legacy_client(version, served.ca))


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256"])
def test_tls_1_2_cbc_ciphers_are_refused(served: Served, permissive: PermissiveServer, cipher: str) -> None:
    _, negotiated, _ = _handshake(permissive.port, _legacy_client(ssl.TLSVersion.TLSv1_2, served.ca, cipher))
    assert negotiated == cipher  # the client can use it
    with pytest.raises(ssl.SSLError):
        _handshake(served.https_port, _legacy_client(ssl.TLSVersion.TLSv1_2, served.ca, cipher))


def test_tls_1_2_with_an_aead_cipher_and_tls_1_3_are_accepted(served: Served) -> None:
    ctx12 = _legacy_client(ssl.TLSVersion.TLSv1_2, served.ca, "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert _handshake(served.https_port, ctx12)[:2] == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")
    ctx13 = served.ca.client_context()
    ctx13.minimum_version = ssl.TLSVersion.TLSv1_3
    assert _handshake(served.https_port, ctx13, host="localhost")[0] == "TLSv1.3"


def test_openssl_s_client_tls1_1_is_refused_and_tls1_2_accepted(served: Served) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl binary")  # the Python clients above cover the same ground

    def s_client(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{served.https_port}", "-CAfile", str(served.ca.ca_file), *flags],
            input="", capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    old = s_client("-tls1_1", "-cipher", "ALL:@SECLEVEL=0")
    assert old.returncode != 0 and "alert" in old.stderr.lower()
    good = s_client("-tls1_2", "-verify_return_error")
    assert good.returncode == 0 and "Verify return code: 0 (ok)" in good.stdout and "TLSv1.2" in good.stdout


def test_self_signed_development_certificate_end_to_end(tmp_path: Path) -> None:
    ca = TestCA(tmp_path / "unused-ca")  # not trusted by anything here: the dev cert is self-signed
    s = _serve(tmp_path, ca, "--tls-self-signed")
    try:
        dev_cert = s.data_dir / "tls" / "dev-cert.pem"
        trusting_dev = ssl.create_default_context(cafile=str(dev_cert))
        for host in LOOPBACK_NAMES[:2]:
            with httpx2.Client(verify=trusting_dev) as client:
                r = client.get(f"https://{host}:{s.https_port}/api/health")
            assert r.status_code == 200 and r.headers["strict-transport-security"] == HSTS
    finally:
        code = _stop(s)
    assert code == 0
    log = s.log.read_text()
    assert "self-signed" in log and "Never use it in production" in log
    assert f"https://127.0.0.1:{s.https_port}/_/#/pbinstal/" in log  # the first-superuser link points at HTTPS
    # stopping `serve` stopped the redirecting listener with it
    assert not _accepting(s.http_port) and not _accepting(s.https_port)


def test_node_fetch_trusting_the_ca(served: Served) -> None:
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed", "install Node.js to run the fetch check")
    assert node is not None
    script = (
        "fetch(process.argv[1]).then(async r => console.log(JSON.stringify("
        "{status: r.status, hsts: r.headers.get('strict-transport-security'), body: await r.json()})))"
        ".catch(e => { console.error(String(e.cause || e)); process.exit(1) })"
    )
    url = f"{served.https}/api/health"
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(served.ca.ca_file)}
    ok = subprocess.run([node, "-e", script, url], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {
        "status": 200,
        "hsts": HSTS,
        "body": {"message": "API is healthy.", "code": 200, "data": {}},
    }
    env.pop("NODE_EXTRA_CA_CERTS")
    refused = subprocess.run([node, "-e", script, url], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "certificate" in refused.stderr.lower()


def test_realtime_stream_over_https(served: Served) -> None:
    with (
        httpx2.Client(verify=served.ca.client_context(), timeout=30) as client,
        client.stream("GET", f"{served.https}/api/realtime") as stream,
    ):
        assert stream.status_code == 200 and stream.headers["strict-transport-security"] == HSTS
        lines = stream.iter_lines()
        first = [next(lines) for _ in range(3)]
    client_id = first[0].removeprefix("id:")
    assert (
        first == [f"id:{client_id}", "event:PB_CONNECT", f'data:{{"clientId":"{client_id}"}}'] and len(client_id) == 40
    )
