"""The HTTPS boot options, the development certificate, HSTS in-process and the redirect app alone."""

from __future__ import annotations

import datetime
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import granian
import httpx2
import pytest
from click.testing import CliRunner
from cryptography import x509
from transit_ca import TestCA

from satchel.apis import https_redirect
from satchel.apis.https_redirect import redirect_app
from satchel.apis.middleware import front
from satchel.apis.server import create_app
from satchel.cli.main import main
from satchel.config import BootConfig, ConfigError
from satchel.core.app import App
from satchel.tools.dev_certificate import RENEW_BEFORE, VALID_DAYS, ensure_dev_certificate

HSTS = "max-age=63072000; includeSubDomains"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SATCHEL_* variable from outside, and none `serve` exports survives the test."""
    for key in BootConfig().to_env():
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What granian would be started with (the real server runs in test_https_serving)."""
    calls: list[dict[str, Any]] = []

    class Recording:
        def __init__(self, target: str, **options: Any) -> None:
            calls.append(options)

        def serve(self) -> None:
            pass

    monkeypatch.setattr(granian, "Granian", Recording)
    return calls


def _serve(tmp_path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["serve", "--dir", str(tmp_path / "d"), *args])


def test_https_alone_has_no_plain_http_listener() -> None:
    cfg = BootConfig.from_env(https="127.0.0.1:8443", tls_self_signed=True)
    assert cfg.http == "" and cfg.https == "127.0.0.1:8443"


def test_http_given_with_https_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BootConfig.from_env(http="0.0.0.0:80", https=":443", tls_self_signed=True).http == "0.0.0.0:80"
    monkeypatch.setenv("SATCHEL_HTTP", "127.0.0.1:8080")
    assert BootConfig.from_env(https=":443", tls_self_signed=True).http == "127.0.0.1:8080"


def test_without_https_http_keeps_its_default() -> None:
    assert BootConfig.from_env().http == "127.0.0.1:8090"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"https": "127.0.0.1:8443"}, "--https needs --tls-cert and --tls-key"),
        ({"https": "127.0.0.1:8443", "tls_cert": "c.pem"}, "--https needs --tls-cert and --tls-key"),
        ({"tls_cert": "c.pem", "tls_key": "k.pem"}, "need --https HOST:PORT"),
        ({"tls_self_signed": True}, "need --https HOST:PORT"),
        ({"https": ":8443", "tls_self_signed": True, "tls_cert": "c.pem"}, "both set"),
        ({"https": "nowhere", "tls_self_signed": True}, "--https expects HOST:PORT"),
        ({"https": "127.0.0.1:8443", "http": "127.0.0.1:8443", "tls_self_signed": True}, "different ports"),
        ({"https": ":8443", "tls_self_signed": True, "tls_min_version": "1.1"}, "--tls-min-version expects 1.2 or 1.3"),
    ],
)
def test_inconsistent_tls_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BootConfig.from_env(**options)


def test_serve_refuses_bad_options_with_a_usage_error(tmp_path: Path, started: list[dict[str, Any]]) -> None:
    result = _serve(tmp_path, "--https", "127.0.0.1:8443")
    assert result.exit_code == 2 and "--https needs --tls-cert and --tls-key" in result.output
    missing = _serve(tmp_path, "--https", "127.0.0.1:8443", "--tls-cert", "no.pem", "--tls-key", "no-key.pem")
    assert missing.exit_code == 2 and "'no.pem' is not a readable file" in missing.output
    assert started == []


def test_serve_refuses_files_that_are_not_a_certificate_and_its_key(
    tmp_path: Path, started: list[dict[str, Any]]
) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("y")
    result = _serve(tmp_path, "--https", "127.0.0.1:8443", "--tls-cert", str(cert), "--tls-key", str(key))
    assert result.exit_code == 2 and "are not a PEM certificate and its key" in result.output
    assert started == []


def test_serve_passes_the_certificate_and_tls_1_2_minimum_to_granian(
    tmp_path: Path, started: list[dict[str, Any]]
) -> None:
    leaf = TestCA(tmp_path / "ca").issue("server")
    cert, key = leaf.cert_file, leaf.key_file
    result = _serve(tmp_path, "--https", "127.0.0.1:8443", "--tls-cert", str(cert), "--tls-key", str(key))
    assert result.exit_code == 0, result.output
    [options] = started
    assert (options["address"], options["port"]) == ("127.0.0.1", 8443)
    assert (options["ssl_cert"], options["ssl_key"]) == (cert.resolve(), key.resolve())
    assert str(options["ssl_protocol_min"]) == "tls1.2"
    assert "Server started at https://127.0.0.1:8443" in result.output


def test_tls_min_version_1_3(tmp_path: Path, started: list[dict[str, Any]]) -> None:
    result = _serve(tmp_path, "--https", "127.0.0.1:8443", "--tls-self-signed", "--tls-min-version", "1.3")
    assert result.exit_code == 0, result.output
    assert str(started[0]["ssl_protocol_min"]) == "tls1.3"


def test_self_signed_is_made_once_warned_about_and_reused(tmp_path: Path, started: list[dict[str, Any]]) -> None:
    first = _serve(tmp_path, "--https", "127.0.0.2:8443", "--tls-self-signed")
    assert first.exit_code == 0, first.output
    assert "Never use it in production" in first.output
    cert_file, key_file = tmp_path / "d" / "tls" / "dev-cert.pem", tmp_path / "d" / "tls" / "dev-key.pem"
    assert started[0]["ssl_cert"] == cert_file.resolve() and started[0]["ssl_key"] == key_file.resolve()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost"}
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1", "127.0.0.2"}
    pem = cert_file.read_bytes()
    second = _serve(tmp_path, "--https", "127.0.0.2:8443", "--tls-self-signed")
    assert second.exit_code == 0 and "Never use it in production" in second.output
    assert cert_file.read_bytes() == pem


def test_dev_certificate_is_renewed_near_its_end_and_for_a_new_host(tmp_path: Path) -> None:
    start = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    made = ensure_dev_certificate(tmp_path, "0.0.0.0", now=start)
    assert made.created
    assert not ensure_dev_certificate(tmp_path, "::", now=start).created  # unspecified: loopback names suffice
    later = start + datetime.timedelta(days=VALID_DAYS) - RENEW_BEFORE + datetime.timedelta(hours=1)
    assert ensure_dev_certificate(tmp_path, "0.0.0.0", now=later).created
    assert ensure_dev_certificate(tmp_path, "dev.example", now=later).created
    cert = x509.load_pem_x509_certificate(made.cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "dev.example" in san.get_values_for_type(x509.DNSName)


# ------------------------------------------------------------------------------------------- HSTS in-process


@pytest.fixture
async def asgi(app: App) -> AsyncIterator[Any]:
    yield create_app(app)


async def _health(asgi: Any, base: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=asgi), base_url=base) as client:
        return await client.get("/api/health", headers=headers)


async def test_hsts_only_over_https(asgi: Any) -> None:
    assert (await _health(asgi, "https://satchel.test")).headers["strict-transport-security"] == HSTS
    assert "strict-transport-security" not in (await _health(asgi, "http://satchel.test")).headers


async def test_forwarded_proto_counts_only_behind_a_declared_proxy(app: App, asgi: Any) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "strict-transport-security" not in (await _health(asgi, "http://satchel.test", forwarded)).headers
    await app.settings.patch({"trustedProxy": {"headers": ["X-Forwarded-For"], "useLeftmostIP": False}})
    assert (await _health(asgi, "http://satchel.test", forwarded)).headers["strict-transport-security"] == HSTS
    # the proxy appends what it saw after what the client claimed: its value counts
    spoofed = {"X-Forwarded-Proto": "https, http"}
    assert "strict-transport-security" not in (await _health(asgi, "http://satchel.test", spoofed)).headers


# ------------------------------------------------------------------------------------------- redirect app alone


async def _redirect(app: Any, path: str, host: str | None) -> httpx2.Response:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://ignored") as client:
        request = client.build_request("GET", path)
        if host is None:
            del request.headers["host"]
        else:
            request.headers["host"] = host
        return await client.send(request)


@pytest.mark.parametrize(
    ("https", "host", "location"),
    [
        (("0.0.0.0", 443), "example.com", "https://example.com/a?b=1"),
        (("0.0.0.0", 443), "example.com:80", "https://example.com/a?b=1"),
        (("0.0.0.0", 8443), "[::1]:8080", "https://[::1]:8443/a?b=1"),
        (("::1", 8443), None, "https://[::1]:8443/a?b=1"),
        (("10.0.0.5", 443), "evil.example\r\nX: y", "https://10.0.0.5/a?b=1"),
        (("10.0.0.5", 443), "bad host", "https://10.0.0.5/a?b=1"),
    ],
)
async def test_redirect_location(https: tuple[str, int], host: str | None, location: str) -> None:
    r = await _redirect(redirect_app(*https), "/a?b=1", host)
    assert r.status_code == 308 and r.headers["location"] == location


async def test_health_over_http_reports_whether_https_accepts() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        up = await _redirect(redirect_app("127.0.0.1", port), "/api/health", "x")
    assert up.status_code == 200 and up.json()["message"] == "API is healthy."
    down = await _redirect(redirect_app("127.0.0.1", port), "/api/health", "x")  # closed now
    assert down.status_code == 503 and down.json()["code"] == 503


async def test_the_redirecting_listener_sends_the_security_headers_too() -> None:
    """docs/security.md: security headers on every response, the plain-HTTP listener's included."""
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        for r in (
            await _redirect(redirect_app("127.0.0.1", port), "/a?b=1", "example.com"),
            await _redirect(redirect_app("127.0.0.1", port), "/api/health", "example.com"),
        ):
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
            assert "strict-transport-security" not in r.headers  # never over plain HTTP
    assert (*front.SECURITY_HEADERS, front.API_CSP) == https_redirect.SECURITY_HEADERS  # the main listener's
