"""The one outbound trust rule: which options each driver gets, and a broken SATCHEL_CA_FILE."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from transit_ca import TestCA

from satchel.config import BootConfig, ConfigError
from satchel.tools.tls_trust import TrustStoreError, client_context, postgres_ssl, redis_options


def test_client_context_verifies_and_refuses_old_protocols() -> None:
    ctx = client_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


def test_the_ca_file_adds_to_the_system_store(trust_ca: Path, ca: TestCA) -> None:
    with_ca = client_context().get_ca_certs()
    assert any(c.get("subject") == ((("commonName", "Satchel transit test CA"),),) for c in with_ca)


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_an_unreadable_ca_file_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("SATCHEL_CA_FILE", str(path))
    with pytest.raises(TrustStoreError, match=r"SATCHEL_CA_FILE: cannot load .*ca\.pem"):
        client_context()


def test_redis_gets_the_ca_only_for_rediss_urls_naming_none(trust_ca: Path) -> None:
    assert redis_options("rediss://cache:6380/0") == {"ssl_ca_certs": str(trust_ca)}
    assert redis_options("redis://cache:6379/0") == {}
    assert redis_options("rediss://cache:6380/0?ssl_ca_certs=/etc/other.pem") == {}


def test_redis_without_a_ca_file_is_left_to_its_verifying_defaults() -> None:
    assert redis_options("rediss://cache:6380/0") == {}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sslmode=verify-full", "hostname"),
        ("sslmode=verify-ca", "no-hostname"),
        ("sslmode=require", None),
        ("sslmode=verify-full&sslrootcert=/etc/pg-ca.pem", None),
        ("", None),
    ],
)
def test_postgres_gets_a_context_only_for_verifying_modes_without_a_root(
    trust_ca: Path, query: str, expected: str | None
) -> None:
    ctx = postgres_ssl(f"postgres://u:p@db:5432/app?{query}")
    if expected is None:
        assert ctx is None
    else:
        assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED
        assert ctx.check_hostname == (expected == "hostname")


def test_postgres_respects_pgsslrootcert(trust_ca: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGSSLROOTCERT", "/etc/pg-ca.pem")
    assert postgres_ssl("postgres://u:p@db:5432/app?sslmode=verify-full") is None


def test_a_bad_ca_file_stops_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCHEL_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="SATCHEL_CA_FILE: cannot load"):
        BootConfig.from_env()
